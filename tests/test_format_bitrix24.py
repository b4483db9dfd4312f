"""Format ``bitrix24``: Bitrix24 CRM REST JSON (deals, stage history, contacts, leads, stage
names) and the deal list's UI export (CSV, HTML ".xls").

Fixtures (tests/fixtures/bitrix24/):

* ``api/crm.deal.list_page1.json``: page 1 of ``crm.deal.list`` (every value a string, times
  +03:00): deal 37 won (funnel 0, ``UF_CRM_1725280000`` = a 19-digit Metrica ClientID, lead 512,
  no company: ``COMPANY_ID`` "0"), deal 38 in the custom stage ``C14:UC_M3VGWL`` (created at
  00:30 MSK = 21:30 UTC the day before, company 7), deal 39 lost (``C14:LOSE``), deal 40 open;
* ``api/crm.deal.list_page2.json``: page 2, overlapping: deal 40 again with a later
  ``DATE_MODIFY`` and a new amount, deal 41 won with +02:00 times and ``CONTACT_IDS``, a deal
  without ``ID`` (row 3), deal 43 with an empty ``DATE_CREATE`` (row 4), deal 44 whose
  ``MOVED_TIME`` is ``31.09.2024 11:00:00`` (row 5, quarantined by staging);
* ``api/crm.stagehistory.list_deals.json``: ids as JSON numbers, times in UTC; deal 37
  NEW -> PREPARATION -> WON -> reopened (EXECUTING) -> WON (the second WON is deal 37's
  ``MOVED_TIME`` in the deal list); deal 38 created in funnel 0, moved to funnel 14
  (``TYPE_ID`` 5) and to ``C14:UC_M3VGWL`` (no ``CATEGORY_ID``: taken from the prefix; the same
  move as deal 38's ``MOVED_TIME``);
* ``api/crm.stagehistory.list_leads.json``: leads 512 (-> CONVERTED) and 513 (-> JUNK);
* ``api/crm.contact.list.json``: PHONE/EMAIL multifields, ``88001001020``, two phones in one
  contact, two numbers typed into one value, two e-mails;
* ``api/crm.lead.list.json``: leads 512 and 513 with their current status;
* ``api/crm.status.list.json``: lead statuses, sources, funnel 0 and funnel 14 stages, and one
  entry without a NAME (row 16);
* ``ui/DEAL_20240906_7a1c3b2d_66db5f0e8a2c4.csv``: the UI CSV export, UTF-8 with BOM, ``;``,
  Russian headers, ``19 999,99``, a quoted comment with ``;``, two phones in one cell, a
  company reception phone; row 4 has too few fields, row 5 no ID, row 6 the date 31.09.2024;
* ``ui/DEAL_20240902_5f7a2c1e_66d5f0a3c9e1b.xls``: the "Excel" export, an HTML table
  (``&nbsp;`` in amounts, two phones separated by ``<br>``);
* ``ui/deals_en.csv``: a CSV export of an English portal (``,``, English headers, am/pm times).
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from cjm_pipeline.config import SourceConfig
from cjm_pipeline.errors import InputDataError
from cjm_pipeline.ingest import registry as formats
from cjm_pipeline.ingest.crm import bitrix24
from cjm_pipeline.ingest.records import Event, Reference, Reject
from formats import FIXTURES, events_of, load_source, load_sources, parse_file

B24 = FIXTURES / "bitrix24"
API = B24 / "api"
UI = B24 / "ui"
PAGE1 = API / "crm.deal.list_page1.json"
PAGE2 = API / "crm.deal.list_page2.json"
HISTORY = API / "crm.stagehistory.list_deals.json"
LEAD_HISTORY = API / "crm.stagehistory.list_leads.json"
CONTACTS = API / "crm.contact.list.json"
LEADS = API / "crm.lead.list.json"
STATUSES = API / "crm.status.list.json"
UI_CSV = UI / "DEAL_20240906_7a1c3b2d_66db5f0e8a2c4.csv"
UI_XLS = UI / "DEAL_20240902_5f7a2c1e_66d5f0a3c9e1b.xls"
UI_EN = UI / "deals_en.csv"

YM_37 = "1696470418123456789"
ID_FIELDS = {"UF_CRM_1725280000": "ym_client_id", "Yandex ClientID": "ym_client_id"}


def parse(path, **options):
    return parse_file("bitrix24", path, options=options)


def by_id(records) -> dict[str, Event]:
    out = {}
    for e in events_of(records):
        assert e.event_id not in out, f"{e.event_id} yielded twice"
        out[e.event_id] = e
    return out


def rejects(records) -> dict[int, str]:
    return {r.row: r.reason for r in records if isinstance(r, Reject)}


# --------------------------------------------------------------------------- crm.deal.list


def test_deal_list_gives_a_created_and_a_current_stage_event_per_deal():
    records = parse(PAGE1, id_fields={"UF_CRM_1725280000": "ym_client_id"})
    assert [(r.row, r.part, r.event_type) for r in records] == [
        (n, part, t) for n in (1, 2, 3, 4) for part, t in ((0, "deal_created"), (1, "deal_stage_changed"))]
    ev = by_id(records)
    created = ev["deal:37:created"]
    assert created.event_time == "2024-09-02T18:37:18+03:00"
    assert created.updated_at == "2024-09-05T12:10:00+03:00"
    assert created.channel == "crm" and created.revenue is None
    assert (created.utm_source, created.utm_medium, created.utm_campaign) == ("yandex", "cpc", "kitchen_msk")
    # the linked contact and lead, the Metrica ClientID from the mapped UF field, exact; COMPANY_ID "0" is no company
    assert created.identifiers == [("crm_deal", "37"), ("crm_contact", "1024"), ("crm_lead", "512"),
                                   ("ym_client_id", YM_37)]
    p = created.properties
    assert {k: p[k] for k in ("category_id", "pipeline_id", "stage_id", "stage_semantic", "opportunity", "currency",
                              "source_id", "lead_id", "assigned_by_id", "closed", "begindate", "closedate",
                              "is_return_customer", "is_repeated_approach", "utm_content", "utm_term")} == {
        "category_id": "0", "pipeline_id": "0", "stage_id": "WON", "stage_semantic": "won", "opportunity": "19999.99",
        "currency": "RUB", "source_id": "WEB", "lead_id": "512", "assigned_by_id": "1", "closed": "1",
        "begindate": "2024-09-02", "closedate": "2024-09-09", "is_return_customer": "0", "is_repeated_approach": "0",
        "utm_content": "banner_1", "utm_term": "кухня на заказ"}
    assert p["UF_CRM_1725280000"] == YM_37 and p["UF_CRM_DELIVERY_CITY"] == "Москва"
    won = ev["deal:37:stage:WON:1725527400"]  # 2024-09-05T12:10:00+03:00 = 09:10:00 UTC
    assert (won.event_time, won.revenue, won.part) == ("2024-09-05T12:10:00+03:00", "19999.99", 1)
    assert won.properties["stage_semantic"] == "won" and won.properties["stage_id"] == "WON"
    assert won.identifiers == created.identifiers
    # a custom stage of funnel 14: open, no revenue; the company is linked
    moved = ev["deal:38:stage:C14:UC_M3VGWL:1725354300"]
    assert moved.revenue is None and moved.properties["category_id"] == "14"
    assert moved.properties["stage_semantic"] == "open"
    assert ("crm_company", "7") in moved.identifiers
    assert ev["deal:38:created"].properties["is_return_customer"] == "1"
    lost = ev["deal:39:stage:C14:LOSE:1725461100"]
    assert lost.properties["stage_semantic"] == "lost" and lost.revenue is None


def test_uf_fields_are_no_identifier_unless_mapped():
    created = by_id(parse(PAGE1))["deal:37:created"]
    assert [t for t, _ in created.identifiers] == ["crm_deal", "crm_contact", "crm_lead"]
    assert created.properties["UF_CRM_1725280000"] == YM_37


def test_deal_list_page2_rejects_missing_fields_and_keeps_bad_times_for_staging():
    records = parse(PAGE2)
    assert rejects(records) == {
        3: "ID: missing (a deal without an id cannot be told apart from its re-exports)",
        4: "DATE_CREATE: missing (the deal's creation time is its event time); its other events are loaded",
    }
    ev = by_id(records)
    # deal 43 has no DATE_CREATE: only its creation event is quarantined, its move to NEW loads (issue 22)
    assert [r.part for r in records if isinstance(r, Reject)] == [None, 0]
    assert "deal:43:created" not in ev and ev["deal:43:stage:NEW:1725604200"].row == 4
    # a time that is no date passes through unchanged: staging quarantines the record naming event_time
    assert ev["deal:44:stage:EXECUTING:31.09.2024 11:00:00"].event_time == "31.09.2024 11:00:00"
    deal41 = ev["deal:41:created"]
    assert deal41.event_time == "2024-09-02T18:37:18+02:00"
    # CONTACT_ID and CONTACT_IDS: each contact once
    assert deal41.identifiers == [("crm_deal", "41"), ("crm_contact", "1026"), ("crm_contact", "1027"),
                                  ("crm_company", "12")]
    won = ev["deal:41:stage:C14:WON:1725658800"]  # 23:40 +02:00 = 21:40 UTC
    assert won.revenue == "250000" and won.properties["category_id"] == "14"


def test_pages_saved_as_one_array_and_a_bare_list_read_like_the_pages(tmp_path):
    pages = [json.loads(PAGE1.read_text("utf-8")), json.loads(PAGE2.read_text("utf-8"))]
    array = tmp_path / "deals_all_pages.json"
    array.write_text(json.dumps(pages, ensure_ascii=False), "utf-8")
    records = parse(array)
    assert sorted({r.row for r in records}) == list(range(1, 10))  # 4 + 5 records, numbered across pages
    assert rejects(records) == {7: rejects(parse(PAGE2))[3], 8: rejects(parse(PAGE2))[4]}
    separate = [e.event_id for e in events_of(parse(PAGE1) + parse(PAGE2))]
    assert [e.event_id for e in events_of(records)] == separate
    bare = tmp_path / "deals_bare.json"
    bare.write_text(json.dumps(pages[0]["result"], ensure_ascii=False), "utf-8")
    assert [(e.row, e.event_id, e.properties) for e in events_of(parse(bare))] == [
        (e.row, e.event_id, e.properties) for e in events_of(parse(PAGE1))]


def test_one_response_per_line_with_a_broken_line(tmp_path):
    pages = [json.loads(PAGE1.read_text("utf-8")), json.loads(PAGE2.read_text("utf-8"))]
    path = tmp_path / "deals.ndjson"
    path.write_text(json.dumps(pages[0], ensure_ascii=False) + "\n" + '{"result": [{"ID": "90",\n'
                    + json.dumps(pages[1], ensure_ascii=False) + "\n", "utf-8")
    records = parse(path)
    assert sorted({r.row for r in records}) == list(range(1, 11))  # 4 records, a broken line, 5 records
    assert rejects(records)[5].startswith("not valid JSON at line 2")
    assert rejects(records)[8] == "ID: missing (a deal without an id cannot be told apart from its re-exports)"
    assert {e.event_id: e.row for e in events_of(records)}["deal:41:created"] == 7


def test_deal_without_moved_time_closes_at_its_last_change(tmp_path):
    deal = {"ID": "77", "STAGE_ID": "C2:WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "5000.00",
            "DATE_CREATE": "2024-09-01T10:00:00+03:00", "DATE_MODIFY": "2024-09-04T11:00:00+03:00"}
    open_deal = dict(deal, ID="78", STAGE_ID="C2:NEW", STAGE_SEMANTIC_ID="P")
    path = tmp_path / "deals.json"
    path.write_text(json.dumps({"result": [deal, open_deal], "total": 2}), "utf-8")
    ev = by_id(parse(path))
    assert sorted(ev) == ["deal:77:created", "deal:77:stage:C2:WON", "deal:78:created"]
    won = ev["deal:77:stage:C2:WON"]
    assert (won.event_time, won.revenue, won.properties["stage_time"]) == ("2024-09-04T11:00:00+03:00", "5000.00",
                                                                         "date_modify")
    assert won.properties["category_id"] == "2"  # from the C2: prefix


def test_stage_names_from_the_stages_option():
    ev = by_id(parse(PAGE1, stages={"C14:UC_M3VGWL": "Замер назначен"}))
    assert ev["deal:38:stage:C14:UC_M3VGWL:1725354300"].properties["stage_name"] == "Замер назначен"
    assert ev["deal:38:created"].properties["stage_name"] == "Замер назначен"
    assert "stage_name" not in ev["deal:37:created"].properties


# --------------------------------------------------------------------------- crm.stagehistory.list


def test_stage_history_rows_are_stage_changes_with_their_previous_stage():
    records = parse(HISTORY)
    assert [r.row for r in records] == list(range(1, 9)) and not rejects(records)
    got = [(e.row, e.event_id, e.properties.get("history_type"), e.properties.get("previous_stage_id"),
            e.properties["stage_semantic"]) for e in events_of(records)]
    assert got == [
        (1, "deal:37:stage:NEW:1725291438", "created", None, "open"),
        (2, "deal:37:stage:PREPARATION:1725346800", "moved", "NEW", "open"),
        (3, "deal:38:stage:NEW:1725312600", "created", None, "open"),
        (4, "deal:38:stage:C14:NEW:1725343200", "funnel_changed", "NEW", "open"),
        (5, "deal:38:stage:C14:UC_M3VGWL:1725354300", "moved", "C14:NEW", "open"),
        (6, "deal:37:stage:WON:1725436800", "final", "PREPARATION", "won"),
        (7, "deal:37:stage:EXECUTING:1725456600", "moved", "WON", "open"),  # reopened
        (8, "deal:37:stage:WON:1725527400", "final", "EXECUTING", "won"),
    ]
    ev = by_id(records)
    funnel = ev["deal:38:stage:C14:NEW:1725343200"].properties
    assert (funnel["category_id"], funnel["previous_category_id"], funnel["history_id"]) == ("14", "0", "96")
    # no CATEGORY_ID in the row: the funnel comes from the C14: prefix
    assert ev["deal:38:stage:C14:UC_M3VGWL:1725354300"].properties["category_id"] == "14"
    for e in ev.values():
        assert e.identifiers == [("crm_deal", e.event_id.split(":")[1])]
        assert e.event_type == "deal_stage_changed" and e.updated_at is None and e.revenue is None
    assert ev["deal:37:stage:WON:1725436800"].event_time == "2024-09-04T08:00:00+00:00"


def test_the_same_move_in_the_deal_list_and_the_history_has_one_event_id():
    listed = {e.event_id for e in events_of(parse(PAGE1)) if e.event_type == "deal_stage_changed"}
    history = {e.event_id for e in events_of(parse(HISTORY))}
    # 12:10:00+03:00 (deal list) and 09:10:00+00:00 (history) are one instant
    assert listed & history == {"deal:37:stage:WON:1725527400", "deal:38:stage:C14:UC_M3VGWL:1725354300"}


def test_lead_history_rows_are_lead_status_changes():
    ev = by_id(parse(LEAD_HISTORY))
    assert sorted(ev) == ["lead:512:status:CONVERTED:1725291430", "lead:512:status:IN_PROCESS:1725260700",
                          "lead:512:status:NEW:1725223812", "lead:513:status:JUNK:1725265200",
                          "lead:513:status:NEW:1725264000"]
    converted = ev["lead:512:status:CONVERTED:1725291430"]
    assert converted.event_type == "lead_status_changed"
    assert converted.identifiers == [("crm_lead", "512")]
    assert converted.properties == {"status_id": "CONVERTED", "stage_semantic": "won", "history_type": "final",
                                    "history_id": "64", "previous_status_id": "IN_PROCESS"}
    assert ev["lead:513:status:JUNK:1725265200"].properties["stage_semantic"] == "lost"
    assert "stage_id" not in converted.properties  # lead NEW is not deal stage NEW


def test_stage_history_rows_of_other_entities_and_without_owner_are_rejected(tmp_path):
    items = [{"ID": 1, "TYPE_ID": 1, "OWNER_ID": 5, "CREATED_TIME": "2024-09-02T10:00:00+03:00",
              "CATEGORY_ID": 8, "STAGE_SEMANTIC_ID": "P", "STAGE_ID": "DT1036_8:NEW"},
             {"ID": 2, "TYPE_ID": 2, "OWNER_ID": None, "CREATED_TIME": "2024-09-02T10:00:00+03:00",
              "STAGE_SEMANTIC_ID": "P", "STAGE_ID": "PREPARATION"}]
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"result": {"items": items}, "total": 2}), "utf-8")
    assert rejects(parse(path)) == {
        1: "STAGE_ID: 'DT1036_8:NEW' is a stage of entity type 1036 (a smart process or invoice); "
           "only deals (entityTypeId 2) and leads (1) are read",
        2: "OWNER_ID: missing (the deal or lead the move belongs to)",
    }


# --------------------------------------------------------------------------- contacts, leads, statuses


def test_contacts_carry_their_phones_and_emails():
    ev = by_id(parse(CONTACTS))
    anna = ev["contact:1024:created"]
    assert (anna.event_type, anna.event_time, anna.updated_at) == (
        "contact_created", "2024-09-02T18:37:05+03:00", "2024-09-02T18:40:00+03:00")
    assert anna.identifiers == [("crm_contact", "1024"), ("phone", "8 (916) 123-45-67"), ("phone", "88001001020"),
                                ("email", "Anna.Ivanova@Example.ru"), ("crm_lead", "512")]
    assert anna.properties["birthdate"] == "1988-04-17" and anna.properties["name"] == "Анна"
    assert "phone" not in anna.properties and "email" not in anna.properties
    assert ev["contact:1025:created"].identifiers == [
        ("crm_contact", "1025"), ("phone", "+7 903 765-43-21"), ("email", "petrov@example.com"),
        ("email", "p.petrov@mail.ru")]
    assert ev["contact:1025:created"].properties["company_id"] == "7"  # a company is a property of a contact
    assert ("phone", "8 916 555-12-34, 8 903 111-22-33") in ev["contact:1026:created"].identifiers


def test_lead_list_gives_lead_created_and_the_current_status():
    records = parse(LEADS, id_fields={"UF_CRM_1725280000": "ym_client_id"})
    ev = by_id(records)
    assert sorted(ev) == ["lead:512:created", "lead:512:status:CONVERTED:1725291430", "lead:513:created",
                          "lead:513:status:JUNK:1725265200"]
    lead = ev["lead:512:created"]
    assert lead.event_type == "lead_created" and lead.event_time == "2024-09-01T23:50:12+03:00"
    assert lead.identifiers == [("crm_lead", "512"), ("phone", "8 (916) 123-45-67"),
                                ("email", "anna.ivanova@example.ru"), ("crm_contact", "1024"), ("ym_client_id", YM_37)]
    assert lead.properties["date_closed"] == "2024-09-02"
    assert ev["lead:512:status:CONVERTED:1725291430"].properties["stage_semantic"] == "won"


def test_status_list_gives_reference_rows():
    records = parse(STATUSES)
    refs = [r for r in records if isinstance(r, Reference)]
    assert len(refs) == 15 and not events_of(records)
    got = {(r.kind, r.key): r.value for r in refs}
    assert got[("bitrix24_stage", "WON")] == "Сделка успешна"
    assert got[("bitrix24_stage", "C14:UC_M3VGWL")] == "Замер назначен"
    assert got[("bitrix24_lead_status", "NEW")] == "Не обработан"
    assert ("bitrix24_stage", "NEW") in got and got[("bitrix24_stage", "NEW")] == "Новая"
    assert got[("bitrix24_source", "WEB")] == "Веб-сайт"
    assert rejects(records) == {16: "NAME: missing (a crm.status.list entry needs ENTITY_ID, STATUS_ID and NAME)"}


# --------------------------------------------------------------------------- UI exports


def check_ui_csv(records):
    assert rejects(records) == {
        4: "expected 25 fields, got 9",
        5: "ID: missing (a deal without an id cannot be told apart from its re-exports)",
    }
    ev = by_id(records)
    assert sorted(ev) == ["deal:37:created", "deal:37:stage:Сделка успешна", "deal:38:created", "deal:39:created",
                          "deal:39:stage:Сделка провалена", "deal:44:created", "deal:45:created",
                          "deal:45:stage:Успешно реализовано"]
    d37 = ev["deal:37:created"]
    assert (d37.event_time, d37.updated_at) == ("2024-09-02 18:37:18", "2024-09-05 12:10:00")  # naive, source zone
    assert (d37.utm_source, d37.utm_medium, d37.utm_campaign) == ("yandex", "cpc", "kitchen_msk")
    assert d37.identifiers == [("crm_deal", "37"), ("phone", "8 (916) 123-45-67"),
                               ("email", "anna.ivanova@example.ru"), ("ym_client_id", YM_37)]
    p = d37.properties
    assert (p["stage_name"], p["stage_semantic"], p["opportunity"], p["title"], p["pipeline_name"]) == (
        "Сделка успешна", "won", "19 999,99", "Кухня на заказ — Иванова", "Общая")
    assert (p["begindate"], p["closedate"], p["utm_content"]) == ("2024-09-02", "2024-09-09", "banner_1")
    assert p["Комментарий"] == "Просила перезвонить после 18:00; договор подписан"  # unmapped column, quoted ';'
    won = ev["deal:37:stage:Сделка успешна"]
    assert (won.event_time, won.revenue, won.part) == ("2024-09-05 12:10:00", "19 999,99", 1)
    d38 = ev["deal:38:created"]
    assert d38.event_time == "2024-09-03 00:30:00" and d38.properties["stage_semantic"] == "open"
    assert ("phone", "+7 903 765-43-21, 8 916 555-12-34") in d38.identifiers
    # the company's reception number is kept as a property, never a customer identifier
    assert d38.properties["Компания: Рабочий телефон"] == "+7 (495) 123-45-67"
    assert all(v != "+7 (495) 123-45-67" for _, v in d38.identifiers)
    lost = ev["deal:39:stage:Сделка провалена"]
    assert lost.revenue is None and lost.properties["stage_semantic"] == "lost"
    assert ev["deal:45:stage:Успешно реализовано"].revenue == "1 250 000,50"
    assert ev["deal:44:created"].event_time == "31.09.2024 11:00:00"  # no such date: staging quarantines it


def test_ui_csv_utf8_bom_semicolon():
    check_ui_csv(parse(UI_CSV, id_fields=ID_FIELDS))


def test_ui_csv_cp1251(tmp_path):
    path = tmp_path / "DEAL_20240906_cp1251.csv"
    path.write_bytes(UI_CSV.read_bytes().decode("utf-8-sig").encode("cp1251"))
    check_ui_csv(parse(path, id_fields=ID_FIELDS))


def test_ui_html_xls_export():
    ev = by_id(parse(UI_XLS, id_fields=ID_FIELDS))
    assert sorted(ev) == ["deal:46:created", "deal:46:stage:Сделка успешна", "deal:47:created", "deal:48:created",
                          "deal:48:stage:Сделка провалена"]
    d46 = ev["deal:46:created"]
    assert d46.event_time == "2024-09-02 23:55:10" and d46.properties["title"] == "Кухня «Прованс» — Орлова"
    assert d46.identifiers == [("crm_deal", "46"), ("phone", "8 (916) 222-33-44\n8 (903) 444-55-66"),
                               ("email", "e.orlova@example.ru"), ("ym_client_id", "1696470418987654321")]
    assert ev["deal:46:stage:Сделка успешна"].revenue == "19\u00a0999,99"


def test_ui_stage_ids_from_the_stages_option():
    ev = by_id(parse(UI_CSV, stages={"C14:UC_M3VGWL": "Замер назначен", "WON": "Сделка успешна"}))
    assert ev["deal:38:created"].properties["stage_id"] == "C14:UC_M3VGWL"
    assert "deal:37:stage:WON" in ev  # the stage id when the name is known


def test_ui_english_headers():
    ev = by_id(parse(UI_EN, won_stages=["Deal won"]))
    assert sorted(ev) == ["deal:51:created", "deal:51:stage:Deal won", "deal:52:created"]
    d51 = ev["deal:51:created"]
    assert (d51.event_time, d51.updated_at) == ("2024-09-02 18:37:18", "2024-09-05 12:10:00")
    assert d51.identifiers == [("crm_deal", "51"), ("phone", "+1 415 555 0134"), ("email", "jane.smith@example.com")]
    assert ev["deal:51:stage:Deal won"].revenue == "2500.00"
    assert ev["deal:52:created"].event_time == "2024-09-03 00:30:00"


def test_ui_export_without_a_date_column_names_it(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("ID;Название сделки;Стадия сделки;Дата создани\n1;x;Новая;02.09.2024 10:00:00\n", "utf-8")
    with pytest.raises(InputDataError, match=r"'Дата создания' \(closest match: 'Дата создани'\)"):
        parse(path)


# --------------------------------------------------------------------------- detection and options


def test_kind_is_detected_and_can_be_forced(tmp_path):
    minimal = tmp_path / "deals_minimal.json"
    minimal.write_text(json.dumps({"result": [{"ID": "5", "TITLE": "x", "DATE_CREATE": "2024-09-02T10:00:00+03:00"}]}),
                       "utf-8")
    with pytest.raises(InputDataError, match="set options.kind"):
        parse(minimal)
    assert [e.event_id for e in events_of(parse(minimal, kind="deals"))] == ["deal:5:created"]
    with pytest.raises(InputDataError, match="options.kind: 'deal'"):
        parse(PAGE1, kind="deal")
    with pytest.raises(InputDataError, match="options.id_fields.UF_CRM_1: 'yandex'"):
        parse(PAGE1, id_fields={"UF_CRM_1": "yandex"})


def test_an_api_error_response_is_no_data(tmp_path):
    path = tmp_path / "error.json"
    path.write_text('{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}', "utf-8")
    with pytest.raises(InputDataError, match="API error response"):
        parse(path)


def test_format_is_registered_with_its_options():
    fmt = formats.registry()["bitrix24"]
    assert fmt.parse is bitrix24.parse and fmt.options["kind"] == "auto" and fmt.options["id_fields"] == {}
    assert fmt.options["won_stages"] == ["Сделка успешна", "Успешно реализовано"]
    src = SourceConfig("s", "bitrix24", str(PAGE1))
    assert any(isinstance(r, Event) for r in bitrix24.parse(PAGE1, src))


# --------------------------------------------------------------------------- end to end


def api_source(tmp_path, path=API, **kw):
    return load_source(tmp_path, "bitrix24", path, options={"id_fields": {"UF_CRM_1725280000": "ym_client_id"}}, **kw)


def test_end_to_end_api_folder(tmp_path):
    loaded = api_source(tmp_path)
    ev = loaded.events.set_index("event_id")
    assert ev.loc["src:deal:38:created", "event_ts"] == pd.Timestamp("2024-09-02 21:30:00")  # 00:30 MSK
    assert ev.loc["src:deal:41:created", "event_ts"] == pd.Timestamp("2024-09-02 16:37:18")  # 18:37:18 +02:00
    assert ev.loc["src:deal:41:stage:C14:WON:1725658800", "event_ts"] == pd.Timestamp("2024-09-06 21:40:00")
    assert ev.loc["src:lead:512:created", "event_ts"] == pd.Timestamp("2024-09-01 20:50:12")
    # the same move from the deal list and the stage history is one event, the deal list's (with the amount)
    won = ev.loc["src:deal:37:stage:WON:1725527400"]
    assert won.event_ts == pd.Timestamp("2024-09-05 09:10:00") and won.revenue == pytest.approx(19999.99)
    assert loaded.events.event_id.is_unique
    deal37 = sorted(i for i in ev.index if i.startswith("src:deal:37:"))
    assert deal37 == ["src:deal:37:created", "src:deal:37:stage:EXECUTING:1725456600",
                      "src:deal:37:stage:NEW:1725291438", "src:deal:37:stage:PREPARATION:1725346800",
                      "src:deal:37:stage:WON:1725436800", "src:deal:37:stage:WON:1725527400"]
    assert ev.loc["src:deal:37:stage:WON:1725436800", "revenue"] != ev.loc["src:deal:37:stage:WON:1725436800",
                                                                            "revenue"]  # NaN: the first win, reopened
    assert set(loaded.events.event_type) == {"deal_created", "deal_stage_changed", "contact_created", "lead_created",
                                             "lead_status_changed"}
    assert set(loaded.events.source_system) == {"bitrix24"}
    # stage names from crm.status.list in the same source
    assert dict(ev.loc["src:deal:38:stage:C14:UC_M3VGWL:1725354300", "properties"])["stage_name"] == "Замер назначен"
    assert dict(ev.loc["src:deal:37:created", "properties"])["stage_name"] == "Сделка успешна"
    # deal 40: page 2 (later DATE_MODIFY) wins over page 1
    assert dict(ev.loc["src:deal:40:created", "properties"])["opportunity"] == "125000.00"
    assert loaded.ids("src:deal:37:created") == {"crm_deal:37", "crm_contact:1024", "crm_lead:512",
                                                 f"ym_client_id:{YM_37}"}
    assert loaded.ids("src:contact:1024:created") == {"crm_contact:1024", "crm_lead:512", "phone:+79161234567",
                                                      "phone:+78001001020", "email:anna.ivanova@example.ru"}
    assert loaded.ids("src:contact:1026:created") == {"crm_contact:1026", "phone:+79165551234", "phone:+79031112233"}
    assert loaded.ids("src:deal:41:created") == {"crm_deal:41", "crm_contact:1026", "crm_contact:1027",
                                                 "crm_company:12"}
    q = loaded.quarantine
    assert [(f.split("/")[-1], n, reason) for f, n, reason in zip(q.file, q.row_number, q.reason)] == [
        ("crm.deal.list_page2.json", 3, "ID: missing (a deal without an id cannot be told apart from its re-exports)"),
        ("crm.deal.list_page2.json", 4, "DATE_CREATE: missing (the deal's creation time is its event time); its "
                                         "other events are loaded"),
        ("crm.deal.list_page2.json", 5, "event_time: cannot parse '31.09.2024 11:00:00' as a time"),
        ("crm.status.list.json", 16, "NAME: missing (a crm.status.list entry needs ENTITY_ID, STATUS_ID and NAME)"),
    ]
    assert not any(i.startswith("src:deal:44:") for i in ev.index)  # the whole record is quarantined
    acc = loaded.accounting.iloc[0]
    # 4 contacts + 9 deals + 2 leads + 8 + 5 history rows + 16 statuses, and deal 43's creation quarantined apart
    # from its loaded move (it counts as one more row in and one quarantined); duplicates: deal 40 of page 1, the
    # deal list's moves of deals 37 and 38 and the lead list's statuses of leads 512 and 513 seen in the history
    assert (acc.files, acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (7, 45, 36, 5, 4)
    assert "src:deal:43:stage:NEW:1725604200" in ev.index
    assert acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined


def test_end_to_end_loading_twice_changes_nothing(tmp_path):
    first = api_source(tmp_path)
    second = api_source(tmp_path)
    pd.testing.assert_frame_equal(first.events.drop(columns=["properties", "identifiers"]),
                                  second.events.drop(columns=["properties", "identifiers"]))
    assert [dict(p) for p in first.events.properties] == [dict(p) for p in second.events.properties]
    pd.testing.assert_frame_equal(first.identifiers, second.identifiers)
    pd.testing.assert_frame_equal(first.accounting, second.accounting)
    assert len(second.quarantine) == len(first.quarantine) == 4


def test_end_to_end_history_then_deal_list_adds_no_event(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(HISTORY, folder)
    before = load_sources(tmp_path, [{"name": "b24", "format": "bitrix24", "path": str(folder)}])
    assert len(before.events) == 8
    assert before.events.set_index("event_id").loc["b24:deal:37:stage:WON:1725527400", "revenue"] != \
        before.events.set_index("event_id").loc["b24:deal:37:stage:WON:1725527400", "revenue"]  # NaN
    shutil.copy(PAGE1, folder)
    after = load_sources(tmp_path, [{"name": "b24", "format": "bitrix24", "path": str(folder)}])
    # page 1: 4 created events + 4 current stages, two of which are moves already in the history
    assert len(after.events) == 8 + 4 + 2
    won = after.events.set_index("event_id").loc["b24:deal:37:stage:WON:1725527400"]
    assert won.revenue == pytest.approx(19999.99)
    # an overlapping re-export (page 2 repeats deal 40) adds no event for it
    shutil.copy(PAGE2, folder)
    again = load_sources(tmp_path, [{"name": "b24", "format": "bitrix24", "path": str(folder)}])
    assert sorted(i for i in again.events.event_id if i.startswith("b24:deal:40:")) == [
        "b24:deal:40:created", "b24:deal:40:stage:PREPARATION:1725433200"]
    acc = again.accounting.iloc[0]
    assert acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined


def test_end_to_end_ui_csv(tmp_path):
    loaded = load_source(tmp_path, "bitrix24", UI_CSV, options={"id_fields": ID_FIELDS})
    ev = loaded.events.set_index("event_id")
    assert ev.loc["src:deal:37:created", "event_ts"] == pd.Timestamp("2024-09-02 15:37:18")  # MSK -> UTC
    assert ev.loc["src:deal:38:created", "event_ts"] == pd.Timestamp("2024-09-02 21:30:00")
    assert ev.loc["src:deal:37:stage:Сделка успешна", "revenue"] == pytest.approx(19999.99)
    assert ev.loc["src:deal:45:stage:Успешно реализовано", "revenue"] == pytest.approx(1250000.50)
    assert loaded.ids("src:deal:38:created") == {"crm_deal:38", "phone:+79037654321", "phone:+79165551234",
                                                 "email:petrov@example.com", "ym_client_id:1712345678901234567"}
    assert not any(i == "phone:+74951234567" for i in loaded.identifiers.identifier)  # the company's number
    q = loaded.quarantine
    assert list(zip(q.row_number, q.reason)) == [
        (4, "expected 25 fields, got 9"),
        (5, "ID: missing (a deal without an id cannot be told apart from its re-exports)"),
        (6, "event_time: cannot parse '31.09.2024 11:00:00' as a time"),
    ]
    acc = loaded.accounting.iloc[0]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (7, 4, 0, 3)


def test_end_to_end_ui_html_xls(tmp_path):
    loaded = load_source(tmp_path, "bitrix24", UI_XLS, options={"id_fields": ID_FIELDS}, timezone="Europe/Moscow")
    ev = loaded.events.set_index("event_id")
    assert ev.loc["src:deal:46:created", "event_ts"] == pd.Timestamp("2024-09-02 20:55:10")
    assert ev.loc["src:deal:46:stage:Сделка успешна", "revenue"] == pytest.approx(19999.99)  # "19&nbsp;999,99"
    assert loaded.ids("src:deal:46:created") == {"crm_deal:46", "phone:+79162223344", "phone:+79034445566",
                                                 "email:e.orlova@example.ru", "ym_client_id:1696470418987654321"}
    acc = loaded.accounting.iloc[0]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (3, 3, 0, 0)
