"""CRM formats ``amocrm``, ``hubspot`` and ``salesforce``: parser level and end to end.

Fixtures:

* ``amocrm/api/``: one API v4 page each of leads (a won lead with a 19-digit ``_YM_UID``, a
  lead reopened after a win and then lost, whose ``ym_client_id`` is a JSON *number*, a lead
  created at 00:30 MSK = 21:30 UTC the day before, a lead without id, a lead without
  ``created_at``), contacts (two numbers in one phone value, an extension ``доб. 12``, a KZ
  number), events (status changes incl. 142 -> reopened -> 143, ``lead_added``, an
  ``incoming_call``, a status change without ``value_after``, a ``customer`` event) and
  pipelines (two pipelines, each with its own 142/143);
* ``amocrm/leads_bare_list.json``: a re-export as a bare list (lead 31000101 unchanged, lead
  31000103 with a new price and status); ``amocrm/leads_pages.ndjson``: pages one per line,
  the second line broken; ``amocrm/error_401.json``: an API error response;
* ``amocrm/leads_export.csv``: the UI export (UTF-8, ``;``; the tests re-encode it to cp1251),
  with a bad date, a row without ID and a row with an extra field;
* ``hubspot/``: deals API page (stage history, a custom pipeline, a closed deal without
  history, a deal without id), the pipelines response, an Airbyte deal property history CSV
  (overlapping the API's history, a deal only in the CSV with a reopened win, an epoch-ms
  timestamp, a broken timestamp, a row without dealId);
* ``salesforce/OpportunityHistory.csv`` (Data Loader style, all quoted; an amount-only change,
  an IsDeleted row, a broken CreatedDate, a row without OpportunityId, a short row) and
  ``OpportunityHistory_no_from.csv`` (no FromOpportunityStageName column, rows out of order).
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cjm_pipeline.errors import InputDataError
from cjm_pipeline.ingest.crm import amocrm
from cjm_pipeline.ingest.records import Event, Reference, Reject
from formats import FIXTURES, events_of, load_source, load_sources, parse_file

AMO = FIXTURES / "amocrm"
AMO_API = AMO / "api"
HUBSPOT = FIXTURES / "hubspot"
SF = FIXTURES / "salesforce"

YM_1 = "1696470418123456789"
YM_2 = "1709123456789012345"


def by_id(records) -> dict[str, Event]:
    out = {}
    for e in events_of(records):
        assert e.event_id not in out, f"{e.event_id} yielded twice"
        out[e.event_id] = e
    return out


def rejects(records) -> dict[int, Reject]:
    return {r.row: r for r in records if isinstance(r, Reject)}


def check_rows(records, expected_rows: int) -> None:
    """Every record 1..n yields events (parts 0, 1, ...), references, or exactly one reject."""
    rows: dict[int, list] = {}
    for r in records:
        rows.setdefault(r.row, []).append(r)
    assert sorted(rows) == list(range(1, expected_rows + 1))
    for n, recs in rows.items():
        kinds = {type(r) for r in recs}
        assert len(kinds) == 1, f"row {n} mixes {kinds}"
        if Reject in kinds:
            assert len(recs) == 1
        if Event in kinds:
            assert [e.part for e in recs] == list(range(len(recs)))


def accounting_adds_up(loaded) -> dict:
    acc = loaded.accounting.iloc[0]
    assert acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined
    return {k: int(acc[k]) for k in ("rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined")}


def ts(loaded, event_id: str) -> str:
    row = loaded.events.loc[loaded.events.event_id == event_id]
    assert len(row) == 1, f"{event_id}: {len(row)} rows"
    return str(row.event_ts.iloc[0])


def props(loaded, event_id: str) -> dict:
    row = loaded.events.loc[loaded.events.event_id == event_id]
    assert len(row) == 1, f"{event_id}: {len(row)} rows"
    return dict(row.properties.iloc[0])


# =========================================================================== amoCRM: parser level


def test_amo_leads_page_lead_created_and_closed_outcome():
    records = parse_file("amocrm", AMO_API / "leads.json")
    check_rows(records, 5)
    ev = by_id(records)
    won = ev["lead:31000101:created"]
    # revenue sits on the won event, not on the lead's creation (issue 22): the price is a property
    assert (won.event_time, won.event_type, won.updated_at, won.revenue, won.channel) == (
        "1709276818", "lead_created", "1709805600", None, "crm")
    assert won.properties["price"] == "289000"
    assert won.identifiers == [("crm_lead", "31000101"), ("crm_contact", "45000201"),
                               ("ym_client_id", YM_1), ("ga_client_id", "1234567890.1696470418")]
    assert (won.utm_source, won.utm_medium, won.utm_campaign) == ("yandex", "cpc", "brand_msk")
    assert won.properties["utm_content"] == "ad_17"
    assert won.properties["status"] == "won" and won.properties["status_id"] == "142"
    assert won.properties["pipeline_id"] == "7001"
    assert won.properties["closed_at"] == "2024-03-07T10:00:00Z"
    assert won.properties["tags"] == "сайт, VIP"
    assert won.properties["cf_Источник"] == "Сайт"
    # the outcome of a closed lead, so a leads-only export shows it
    outcome = ev["lead:31000101:status:142:1709805600"]
    assert (outcome.part, outcome.event_type, outcome.event_time) == (1, "deal_stage_changed", "1709805600")
    assert outcome.properties["stage_semantic"] == "won" and outcome.properties["stage_id"] == "142"
    assert outcome.revenue == "289000"
    lost = ev["lead:31000102:status:143:1709991900"]
    assert lost.properties["stage_semantic"] == "lost" and lost.properties["loss_reason"] == "Дорого"
    assert lost.revenue is None and ev["lead:31000102:created"].revenue is None
    # an open lead has no outcome event
    assert [e for e in ev if e.startswith("lead:31000103:status")] == []
    assert ev["lead:31000105:created"].event_time is None
    assert rejects(records)[4].reason.startswith("id: missing")


def test_amo_19_digit_client_id_given_as_a_json_number_stays_exact():
    ev = by_id(parse_file("amocrm", AMO_API / "leads.json"))
    assert ("ym_client_id", YM_2) in ev["lead:31000102:created"].identifiers


def test_amo_client_id_field_is_typed_by_its_value_and_roistat_is_a_property():
    lead = by_id(parse_file("amocrm", AMO_API / "leads.json"))["lead:31000103:created"]
    assert ("ga_client_id", "555000111.1696400000") in lead.identifiers
    assert not [i for i in lead.identifiers if i[0] == "ym_client_id"]
    assert ("crm_company", "61000001") in lead.identifiers
    assert lead.properties["roistat"] == "412345"
    assert amocrm.client_id_pair("client_id", YM_1) == ("ym_client_id", YM_1)


def test_amo_id_fields_option_adds_and_switches_off_fields():
    lead = by_id(parse_file("amocrm", AMO_API / "leads.json",
                            options={"id_fields": {"ROISTAT": "calltracking_session", "client_id": None}}))[
        "lead:31000103:created"]
    assert ("calltracking_session", "412345") in lead.identifiers
    assert not [i for i in lead.identifiers if i[0] == "ga_client_id"]
    assert lead.properties["cf_client_id"] == "GA1.2.555000111.1696400000"
    with pytest.raises(InputDataError, match="unknown identifier type 'cookie'"):
        parse_file("amocrm", AMO_API / "leads.json", options={"id_fields": {"ROISTAT": "cookie"}})


def test_amo_statuses_option_names_stages_at_parse_time():
    opts = {"statuses": {142: "Оплачено", "7100004": "КП отправлено", 143: "Отказ"}}
    ev = by_id(parse_file("amocrm", AMO_API / "events.json", options=opts))
    reopened = ev["lead:31000102:status:7100004:1709713200"]
    assert reopened.properties["stage_name"] == "КП отправлено"
    assert reopened.properties["previous_stage_name"] == "Оплачено"
    leads = by_id(parse_file("amocrm", AMO_API / "leads.json", options=opts))
    assert leads["lead:31000102:created"].properties["status_name"] == "Отказ"
    assert leads["lead:31000102:status:143:1709991900"].properties["stage_name"] == "Отказ"


def test_amo_contacts_carry_every_phone_value_email_and_linked_leads():
    records = parse_file("amocrm", AMO_API / "contacts.json")
    check_rows(records, 4)
    ev = by_id(records)
    ivan = ev["contact:45000201:created"]
    assert (ivan.event_time, ivan.event_type, ivan.updated_at) == ("1709276850", "contact_created", "1709276850")
    assert ivan.identifiers == [("crm_contact", "45000201"), ("phone", "8 (916) 123-45-67, +7 903 111-22-33"),
                                ("email", "Ivan.Petrov@Mail.ru"), ("crm_lead", "31000101")]
    olga = ev["contact:45000202:created"]
    assert [v for t, v in olga.identifiers if t == "phone"] == ["+7 (495) 123-45-67 доб. 12", "89265554433"]
    sergey = ev["contact:45000203:created"]
    assert ("crm_company", "61000001") in sergey.identifiers
    assert sergey.properties["cf_Должность"] == "Закупщик"
    assert ev["contact:45000204:created"].identifiers == [("crm_contact", "45000204"), ("crm_lead", "31000103")]


def test_amo_events_status_changes_and_the_reopened_deal():
    records = parse_file("amocrm", AMO_API / "events.json")
    check_rows(records, 11)
    ev = by_id(records)
    changes = sorted((e for e in ev.values() if e.event_type == "deal_stage_changed"
                      and ("crm_lead", "31000102") in e.identifiers),
                     key=lambda e: (int(e.event_time), e.properties["amo_event_id"]))
    assert [(e.properties["previous_stage_id"], e.properties["stage_id"], e.properties["stage_semantic"])
            for e in changes] == [("7100002", "142", "won"), ("142", "7100004", "open"), ("7100004", "143", "lost")]
    assert [e.event_id for e in changes] == ["lead:31000102:status:142:1709650800",
                                            "lead:31000102:status:7100004:1709713200",
                                            "lead:31000102:status:143:1709991900"]
    won = changes[0]
    assert won.properties["pipeline_id"] == "7001" and won.properties["previous_pipeline_id"] == "7001"
    assert won.properties["amo_event_id"] == "01hrbz1y2x3w4v5u6t7s8r9q0p"
    assert won.updated_at == "1709650800"
    # lead_added is the leads file's lead_created (same id)
    added = ev["lead:31000101:created"]
    assert (added.event_type, added.event_time, added.updated_at) == ("lead_created", "1709276818", None)
    call = ev["event:01hr7k8j9h0g1f2d3s4a5q6w7e"]
    assert (call.event_type, call.identifiers) == ("incoming_call", [("crm_contact", "45000202")])
    assert ev["event:01hrs4d5f6g7h8j9k0l1z2x3c4"].properties["value_after"] == '[{"responsible_user":{"id":8001002}}]'
    bad = rejects(records)
    assert bad[10].reason.startswith("value_after: no lead_status.id")
    assert bad[11].reason.startswith("entity_type: 'customer'")


def test_amo_pipelines_are_dictionary_entries():
    records = parse_file("amocrm", AMO_API / "pipelines.json")
    assert all(isinstance(r, Reference) for r in records)
    entries = {(r.row, r.kind, r.key): r.value for r in records}
    assert entries[(1, "amocrm_pipeline", "7001")] == "Продажи"
    assert entries[(1, "amocrm_status", "7001:142")] == "Успешно реализовано"
    assert entries[(1, "amocrm_status", "7001:7100004")] == "КП отправлено"
    assert entries[(2, "amocrm_status", "7002:143")] == "Закрыто и не реализовано"
    assert len(entries) == 12


def test_amo_bare_list_of_leads_and_ndjson_pages():
    ev = by_id(parse_file("amocrm", AMO / "leads_bare_list.json"))
    assert set(ev) == {"lead:31000101:created", "lead:31000101:status:142:1709805600", "lead:31000103:created"}
    assert ev["lead:31000103:created"].properties["price"] == "60000"
    records = parse_file("amocrm", AMO / "leads_pages.ndjson")
    check_rows(records, 3)
    assert rejects(records)[2].reason.startswith("not valid JSON")
    assert {e.event_id for e in events_of(records)} == {
        "lead:31000101:created", "lead:31000101:status:142:1709805600", "lead:31000103:created"}


def test_amo_api_error_response_is_an_input_error():
    with pytest.raises(InputDataError, match="API error response.*401 Unauthorized"):
        parse_file("amocrm", AMO / "error_401.json")


def test_amo_json_without_a_known_list_is_an_input_error(tmp_path):
    path = tmp_path / "companies.json"
    path.write_text('{"_page": 1, "_embedded": {"companies": [{"id": 61000001, "name": "ООО Ромашка"}]}}',
                    encoding="utf-8")
    with pytest.raises(InputDataError, match="no list of records found under _embedded.leads.*'_embedded'"):
        parse_file("amocrm", path)


def cp1251_export(tmp_path):
    path = tmp_path / "amocrm_export.csv"
    path.write_bytes((AMO / "leads_export.csv").read_text(encoding="utf-8").encode("cp1251"))
    return path


def test_amo_ui_export_in_cp1251_with_semicolons(tmp_path):
    records = parse_file("amocrm", cp1251_export(tmp_path), timezone="Europe/Moscow")
    assert [(r.row, r.event_id, r.event_time) for r in records if isinstance(r, Event)] == [
        (r.row, r.event_id, r.event_time) for r in parse_file("amocrm", AMO / "leads_export.csv",
                                                               timezone="Europe/Moscow") if isinstance(r, Event)]
    check_rows(records, 6)
    ev = by_id(records)
    won = ev["lead:31000101:created"]
    assert (won.event_type, won.event_time, won.revenue, won.updated_at) == (
        "lead_created", "2024-03-01 10:06:58", None, "2024-03-07 13:00:00")
    assert won.properties["price"] == "289 000"
    assert won.identifiers == [("crm_lead", "31000101"), ("phone", "8 (916) 123-45-67, +7 903 111-22-33"),
                               ("email", "Ivan.Petrov@Mail.ru"), ("ym_client_id", YM_1)]
    assert won.properties["status_name"] == "Успешно реализовано" and won.properties["pipeline_name"] == "Продажи"
    assert won.properties["Ответственный"] == "Анна Кузнецова"
    # the close's id holds its instant (13:00 Moscow = 10:00 UTC): the same id as the API's closed_at (issue 22)
    closed = ev["lead:31000101:status:142:1709805600"]
    assert (closed.event_time, closed.properties["stage_semantic"], closed.revenue) == (
        "2024-03-07 13:00:00", "won", "289 000")
    lost = ev["lead:31000102:status:143:1709991900"]
    assert lost.properties["stage_semantic"] == "lost"
    assert ev["lead:31000102:created"].properties["Примечание"] == 'Клиент: "дорого"; перезвонить в апреле'
    lead3 = ev["lead:31000103:created"]
    assert lead3.event_time == "2024-03-05 00:30:00"
    # a ClientID Excel turned into a float has lost its digits: a property, not an identifier
    assert not [i for i in lead3.identifiers if i[0] == "ym_client_id"]
    assert lead3.properties["ym_client_id"] == "1,70959E+18"
    assert [e for e in ev if e.startswith("lead:31000103:status")] == []
    assert ev["lead:31000110:created"].event_time == "31.02.2024 10:00:00"  # passed through: staging quarantines it
    bad = rejects(records)
    assert bad[5].reason.startswith("ID: empty")
    assert bad[6].reason == "expected 21 fields, got 22"


def test_amo_ui_export_without_a_required_column_names_the_closest(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("ID;Название сделки;Дата созд.\n1;x;01.03.2024 10:00:00\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="'Дата создания'.*closest match: 'Дата созд.'"):
        parse_file("amocrm", path)


# =========================================================================== amoCRM: end to end


def test_amo_api_folder_end_to_end(tmp_path):
    loaded = load_source(tmp_path, "amocrm", AMO_API)
    ev = loaded.events
    # the lead_created of the leads file and of the events file (lead_added) are one event,
    # the leads file's version (it has updated_at) wins
    assert (ev.event_id == "src:lead:31000101:created").sum() == 1
    created = props(loaded, "src:lead:31000101:created")
    assert created["price"] == "289000" and created["pipeline_name"] == "Продажи"
    assert ts(loaded, "src:lead:31000101:created") == "2024-03-01 07:06:58"
    assert ts(loaded, "src:lead:31000103:created") == "2024-03-04 21:30:00"  # 00:30 MSK on 5 March
    # the won outcome from the leads snapshot and the status-change event are one event: the event's version
    won = props(loaded, "src:lead:31000101:status:142:1709805600")
    assert won["amo_event_id"] == "01hrf3s9x8m3k2q7v6w5y4z3a2" and won["previous_stage_id"] == "7100003"
    # stage and pipeline names come from the pipelines file (raw_reference)
    assert won["stage_name"] == "Успешно реализовано" and won["pipeline_name"] == "Продажи"
    # the reopened deal in time order: won -> open -> lost
    lead2 = ev[(ev.event_type == "deal_stage_changed") & ev.event_id.str.startswith("src:lead:31000102:")]
    lead2 = lead2.sort_values(["event_ts", "event_id"])
    assert [p["stage_semantic"] for p in lead2.properties] == ["won", "open", "lost"]
    assert [p["stage_name"] for p in lead2.properties] == [
        "Успешно реализовано", "КП отправлено", "Закрыто и не реализовано"]
    assert [str(t) for t in lead2.event_ts] == ["2024-03-05 15:00:00", "2024-03-06 08:20:00", "2024-03-09 13:45:00"]
    # identifiers, normalised
    assert {"crm_lead:31000101", "crm_contact:45000201", f"ym_client_id:{YM_1}",
            "ga_client_id:1234567890.1696470418"} <= loaded.ids("src:lead:31000101:created")
    assert f"ym_client_id:{YM_2}" in loaded.ids("src:lead:31000102:created")
    assert {"phone:+79161234567", "phone:+79031112233", "email:ivan.petrov@mail.ru",
            "crm_lead:31000101"} <= loaded.ids("src:contact:45000201:created")
    assert {"phone:+74951234567", "phone:+79265554433"} <= loaded.ids("src:contact:45000202:created")
    assert "phone:+77012345678" in loaded.ids("src:contact:45000203:created")
    # quarantine: the lead without id, the lead without created_at, two unusable events
    q = {(r.file.rsplit("/", 1)[-1], r.row_number): r.reason for r in loaded.quarantine.itertuples()}
    assert set(q) == {("leads.json", 4), ("leads.json", 5), ("events.json", 10), ("events.json", 11)}
    assert q[("leads.json", 5)].startswith("event_time: empty")
    assert accounting_adds_up(loaded) == {"rows_in": 22, "rows_loaded": 16, "rows_duplicate": 2, "rows_quarantined": 4}


def test_amo_overlapping_reexport_adds_no_events_and_the_newer_version_wins(tmp_path):
    folder = tmp_path / "amo"
    shutil.copytree(AMO_API, folder)
    sources = [{"name": "amo", "format": "amocrm", "path": str(folder)}]
    first = load_sources(tmp_path, sources)
    shutil.copy(AMO / "leads_bare_list.json", folder / "leads_2024-03-12.json")
    second = load_sources(tmp_path, sources)
    assert sorted(second.events.event_id) == sorted(first.events.event_id)
    assert props(first, "amo:lead:31000103:created")["price"] == "54000"
    after = props(second, "amo:lead:31000103:created")
    assert (after["price"], after["status_id"]) == ("60000", "7100004")
    acc = accounting_adds_up(second)
    assert acc["rows_in"] == 24 and acc["rows_duplicate"] == 2 + 2  # + lead 31000101 again, + the old 31000103


def test_amo_ui_export_end_to_end_cp1251(tmp_path):
    loaded = load_source(tmp_path, "amocrm", cp1251_export(tmp_path))
    assert ts(loaded, "src:lead:31000101:created") == "2024-03-01 07:06:58"
    assert ts(loaded, "src:lead:31000101:status:142:1709805600") == "2024-03-07 10:00:00"
    assert ts(loaded, "src:lead:31000103:created") == "2024-03-04 21:30:00"
    won = loaded.events.set_index("event_id").revenue
    assert won["src:lead:31000101:status:142:1709805600"] == 289000 and pd.isna(won["src:lead:31000101:created"])
    assert {"phone:+79161234567", "phone:+79031112233", f"ym_client_id:{YM_1}",
            "email:ivan.petrov@mail.ru"} <= loaded.ids("src:lead:31000101:created")
    assert {"phone:+74951234567", "phone:+79265554433", f"ym_client_id:{YM_2}"} <= loaded.ids(
        "src:lead:31000102:created")
    q = {r.row_number: r.reason for r in loaded.quarantine.itertuples()}
    assert set(q) == {4, 5, 6}
    assert q[4].startswith("event_time: cannot parse '31.02.2024 10:00:00'")
    assert q[5].startswith("ID: empty") and q[6] == "expected 21 fields, got 22"
    assert accounting_adds_up(loaded) == {"rows_in": 6, "rows_loaded": 3, "rows_duplicate": 0, "rows_quarantined": 3}


# =========================================================================== HubSpot


def test_hubspot_deals_page():
    records = parse_file("hubspot", HUBSPOT / "deals.json", options={"lost_stages": ["closedlost", "123456790"]})
    check_rows(records, 4)
    ev = by_id(records)
    created = ev["deal:15678901234:created"]
    assert (created.event_type, created.event_time, created.updated_at, created.revenue) == (
        "deal_created", "2024-03-01T07:06:58.123Z", "2024-03-07T10:00:05.456Z", None)
    assert created.properties["amount"] == "125000.50"
    assert created.identifiers == [("crm_deal", "15678901234"), ("crm_contact", "501"), ("crm_contact", "502"),
                                   ("crm_company", "9001")]
    assert created.properties["dealname"] == "Внедрение CRM" and created.properties["status"] == "won"
    stages = [e for e in events_of(records) if e.event_type == "deal_stage_changed" and e.row == 1]
    assert [(e.event_id, e.properties.get("previous_stage_id"), e.properties["stage_semantic"]) for e in stages] == [
        ("deal:15678901234:stage:appointmentscheduled:1709276818", None, "open"),
        ("deal:15678901234:stage:qualifiedtobuy:1709370000", "appointmentscheduled", "open"),
        ("deal:15678901234:stage:closedwon:1709805600", "qualifiedtobuy", "won"),
    ]
    assert stages[1].properties["source_type"] == "AUTOMATION"
    assert all(("crm_contact", "501") in e.identifiers for e in stages)
    # custom pipeline: the pipeline in effect at each change; lost by the option
    custom = [e for e in events_of(records) if e.event_type == "deal_stage_changed" and e.row == 2]
    assert [(e.properties["pipeline_id"], e.properties["stage_id"], e.properties["stage_semantic"]) for e in custom] == [
        ("default", "appointmentscheduled", "open"), ("87654321", "123456789", "open"), ("87654321", "123456790", "lost")]
    # a closed deal without history: its outcome at closedate
    closed = ev["deal:15678901236:stage:closedlost:1710050400"]
    assert (closed.event_time, closed.properties["stage_semantic"], closed.properties["from_snapshot"]) == (
        "2024-03-10T06:00:00Z", "lost", "1")
    assert rejects(records)[4].reason.startswith("id: missing")


def test_hubspot_custom_stage_is_open_without_the_option():
    ev = by_id(parse_file("hubspot", HUBSPOT / "deals.json"))
    assert ev["deal:15678901235:stage:123456790:1709991900"].properties["stage_semantic"] == "open"


def test_hubspot_pipelines_are_dictionary_entries():
    entries = {(r.kind, r.key): r.value for r in parse_file("hubspot", HUBSPOT / "pipelines.json")}
    assert entries[("hubspot_pipeline", "87654321")] == "Опт"
    assert entries[("hubspot_stage", "default:closedwon")] == "Closed Won"
    assert entries[("hubspot_stage", "87654321:123456790")] == "Отказ"


def test_hubspot_property_history_csv():
    records = parse_file("hubspot", HUBSPOT / "deals_property_history.csv")
    check_rows(records, 13)
    rows = {r.row: r for r in records}
    assert (rows[1].event_type, rows[1].event_id) == ("deal_created", "deal:15678901234:created")
    assert rows[2].event_id == "deal:15678901234:stage:appointmentscheduled:1709276818"
    assert rows[2].properties["pipeline_id"] == "default"
    assert (rows[3].event_type, rows[3].properties["property"]) == ("deal_updated", "pipeline")
    assert (rows[5].event_type, rows[5].properties["value"]) == ("deal_updated", "125000.50")
    assert rows[7].properties["source_label"] == "Импорт: сделки, март"
    # the reopened win, rows out of time order: previous stages by time
    assert [(rows[n].properties["stage_id"], rows[n].properties.get("previous_stage_id"),
             rows[n].properties["stage_semantic"]) for n in (7, 8, 10, 9)] == [
        ("appointmentscheduled", None, "open"), ("closedwon", "appointmentscheduled", "won"),
        ("contractsent", "closedwon", "open"), ("closedlost", "contractsent", "lost")]
    assert rows[11].event_time == "1710230400000"
    assert rows[12].event_time == "вчера"
    assert rows[13].reason.startswith("dealId: empty")


def test_hubspot_end_to_end_api_and_history_give_one_event_per_change(tmp_path):
    # the files of this folder only (real/ holds the real samples, tested in test_format_zones.py)
    loaded = load_source(tmp_path, "hubspot", HUBSPOT / "*.*", options={"lost_stages": ["closedlost", "123456790"]})
    ev = loaded.events
    deal1 = ev[ev.event_id.str.startswith("src:deal:15678901234:stage:")]
    assert len(deal1) == 3
    assert ts(loaded, "src:deal:15678901234:stage:closedwon:1709805600") == "2024-03-07 10:00:00.789000"
    # the API version (newer updated_at) wins: it carries the contacts
    assert "crm_contact:501" in loaded.ids("src:deal:15678901234:stage:closedwon:1709805600")
    assert props(loaded, "src:deal:15678901234:created")["dealname"] == "Внедрение CRM"
    assert ts(loaded, "src:deal:15678901235:created") == "2024-03-04 21:30:00"
    assert ts(loaded, "src:deal:15678901237:property:hs_deal_stage_probability:1710230400") == "2024-03-12 08:00:00"
    deal7 = ev[ev.event_id.str.startswith("src:deal:15678901237:stage:")].sort_values("event_ts")
    assert [p["stage_semantic"] for p in deal7.properties] == ["open", "won", "open", "lost"]
    assert loaded.ids("src:deal:15678901234:created") >= {"crm_deal:15678901234", "crm_contact:502", "crm_company:9001"}
    q = {(r.file.rsplit("/", 1)[-1], r.row_number): r.reason for r in loaded.quarantine.itertuples()}
    assert set(q) == {("deals.json", 4), ("deals_property_history.csv", 12), ("deals_property_history.csv", 13)}
    assert q[("deals_property_history.csv", 12)].startswith("event_time: cannot parse 'вчера'")
    acc = accounting_adds_up(loaded)
    # deals 4 + pipelines 2 + history 13; duplicates: history rows 1, 2, 4, 6 (the API has them)
    assert acc == {"rows_in": 19, "rows_loaded": 12, "rows_duplicate": 4, "rows_quarantined": 3}


# =========================================================================== Salesforce


def test_salesforce_opportunity_history():
    records = parse_file("salesforce", SF / "OpportunityHistory.csv")
    check_rows(records, 10)
    rows: dict[int, list[Event]] = {}
    for e in events_of(records):
        rows.setdefault(e.row, []).append(e)
    first = rows[1]
    assert [(e.event_type, e.event_id) for e in first] == [
        ("deal_created", "deal:0065g00000AbCdEAAZ:created"), ("deal_stage_changed", "history:0085g00000HsT01AAF")]
    assert first[1].event_time == "2024-03-01T07:06:58.000+0000"
    assert first[1].identifiers == [("crm_deal", "0065g00000AbCdEAAZ")]
    assert first[1].properties["close_date"] == "2024-04-30"  # a date: a property, never the event time
    assert [(e.event_type, e.properties["stage_semantic"]) for n in (2, 3, 4) for e in rows[n]] == [
        ("deal_stage_changed", "open"), ("deal_updated", "open"), ("deal_stage_changed", "won")]
    assert rows[3][0].properties["amount"] == "125000.50" and rows[3][0].properties["prev_amount"] == "100000"
    won = rows[4][0]
    assert (won.revenue, won.properties["stage_name"], won.properties["previous_stage_id"]) == (
        "125000.50", "Closed Won", "Qualification")
    assert rows[6][0].properties["stage_semantic"] == "lost" and rows[6][0].revenue is None
    assert rows[7][0].properties["is_deleted"] == "1" and rows[1][1].properties["is_deleted"] == "0"
    assert rows[1][1].properties["Opportunity.Name"] == "Внедрение CRM"
    bad = rejects(records)
    assert bad[9].reason.startswith("OpportunityId: empty") and bad[10].reason == "expected 17 fields, got 16"


def test_salesforce_won_and_lost_stages_options():
    records = parse_file("salesforce", SF / "OpportunityHistory.csv",
                         options={"won_stages": ["Negotiation/Review"], "lost_stages": []})
    sem = {e.event_id: e.properties["stage_semantic"] for e in events_of(records) if e.event_type != "deal_created"}
    assert sem["history:0085g00000HsT07AAF"] == "won" and sem["history:0085g00000HsT04AAF"] == "open"
    assert sem["history:0085g00000HsT06AAF"] == "open"


def test_salesforce_without_from_stage_column_derives_the_previous_stage():
    records = parse_file("salesforce", SF / "OpportunityHistory_no_from.csv")
    ev = {e.row: e for e in events_of(records)}
    assert not [e for e in events_of(records) if e.event_type == "deal_created"]
    assert (ev[2].event_type, ev[2].properties.get("previous_stage_id")) == ("deal_stage_changed", None)
    assert (ev[3].event_type, ev[3].properties["previous_stage_id"]) == ("deal_updated", "Prospecting")
    assert (ev[1].event_type, ev[1].properties["previous_stage_id"], ev[1].revenue) == (
        "deal_stage_changed", "Prospecting", "90000")


def test_salesforce_end_to_end(tmp_path):
    loaded = load_source(tmp_path, "salesforce", SF / "OpportunityHistory.csv")
    assert ts(loaded, "src:history:0085g00000HsT01AAF") == "2024-03-01 07:06:58"
    assert ts(loaded, "src:deal:0065g00000AbCdEAAZ:created") == "2024-03-01 07:06:58"
    assert ts(loaded, "src:history:0085g00000HsT05AAF") == "2024-03-04 21:30:00"
    assert loaded.events.loc[loaded.events.event_id == "src:history:0085g00000HsT04AAF", "revenue"].iloc[0] == 125000.5
    assert loaded.ids("src:history:0085g00000HsT04AAF") == {"crm_deal:0065g00000AbCdEAAZ"}
    q = {r.row_number: r.reason for r in loaded.quarantine.itertuples()}
    assert set(q) == {8, 9, 10}
    assert q[8].startswith("event_time: cannot parse '2024-13-45T00:00:00.000+0000'")
    assert not (loaded.events.event_id == "src:deal:0065g00000QwErTAAZ:created").any()  # the whole record is out
    assert accounting_adds_up(loaded) == {"rows_in": 10, "rows_loaded": 7, "rows_duplicate": 0, "rows_quarantined": 3}


# =========================================================================== all three


@pytest.mark.parametrize("fmt, path", [
    ("amocrm", AMO_API), ("amocrm", AMO / "leads_export.csv"), ("hubspot", HUBSPOT),
    ("salesforce", SF / "OpportunityHistory.csv"),
])
def test_loading_the_same_files_twice_changes_nothing(tmp_path, fmt, path):
    sources = [{"name": "src", "format": fmt, "path": str(path)}]
    first = load_sources(tmp_path, sources)
    second = load_sources(tmp_path, sources)
    cols = ["event_id", "event_ts", "event_type", "revenue", "_load_id", "_row"]
    pd.testing.assert_frame_equal(first.events[cols], second.events[cols])
    assert list(first.events.properties.map(dict)) == list(second.events.properties.map(dict))
    pd.testing.assert_frame_equal(first.identifiers, second.identifiers)
    pd.testing.assert_frame_equal(first.accounting, second.accounting)
    assert len(first.quarantine) == len(second.quarantine)
