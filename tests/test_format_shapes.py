"""Files as users really have them (issue 22): single objects, pretty-printed JSON, NDJSON, sync
tools' envelopes, Excel workbooks, and a file that cannot be read at all.

Every JSON format reads one document or NDJSON, an API page, a single object and a sync tool's
envelope through one reader (``cjm_pipeline/ingest/jsondocs.py``); the tests feed each format the
shapes its vendor documents, built from the committed fixtures so that the events can be compared
with the page's own.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from cjm_pipeline.errors import InputDataError
from cjm_pipeline.ingest import jsondocs
from cjm_pipeline.ingest.records import Event, Reject
from formats import FIXTURES, events_of, load_sources, parse_file

CALLRAIL_PAGE = json.loads((FIXTURES / "callrail" / "calls.json").read_text("utf-8"))
CALLTOUCH_PAGE = json.loads((FIXTURES / "calltouch" / "api" / "calls_page1.json").read_text("utf-8"))
BITRIX_PAGE = json.loads((FIXTURES / "bitrix24" / "api" / "crm.deal.list_page1.json").read_text("utf-8"))
GA4_LINES = (FIXTURES / "ga4" / "events_20231005.json").read_text("utf-8").splitlines()


def _parses(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


GA4_GOOD = [line for line in GA4_LINES if _parses(line)]  # the fixture has a broken line on purpose


def ids(records) -> list[str]:
    return [e.event_id for e in events_of(records)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


# --------------------------------------------------------------------------- single objects


def test_callrail_single_call_object_loads_like_the_page_does(tmp_path):
    call = CALLRAIL_PAGE["calls"][0]
    single = write(tmp_path / "CAL8154748ae6bd4e278a7cddd38a662f4f.json", json.dumps(call, indent=2))
    records = parse_file("callrail", single)
    page = [e for e in events_of(parse_file("callrail", FIXTURES / "callrail" / "calls.json"))
            if e.event_id == ids(records)[0]]
    assert ids(records) == ["call:CAL8154748ae6bd4e278a7cddd38a662f4f"]
    assert (records[0].event_time, records[0].identifiers) == (page[0].event_time, page[0].identifiers)


def test_callrail_webhooks_saved_one_per_file_use_resource_id(tmp_path):
    # a post-call webhook body: the call object with the call's id as resource_id (and a legacy numeric id)
    body = {**CALLRAIL_PAGE["calls"][0], "id": 987654321, "resource_id": "CAL8154748ae6bd4e278a7cddd38a662f4f",
            "company_resource_id": "COM8154748ae6bd4e278a7cddd38a662f4f"}
    folder = tmp_path / "webhooks"
    write(folder / "post_call_1.json", json.dumps(body, indent=2))
    modified = dict(body, tags=["Sale", "Repeat"])  # the call-modified webhook of the same call
    write(folder / "call_modified_1.json", json.dumps(modified))
    loaded = load_sources(tmp_path, [{"name": "cr", "format": "callrail", "path": str(folder), "phone_region": "US"}])
    assert list(loaded.events.event_id) == ["cr:call:CAL8154748ae6bd4e278a7cddd38a662f4f"]
    acc = loaded.accounting.iloc[0]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (2, 1, 1, 0)


def test_bitrix24_crm_deal_get_is_one_deal(tmp_path):
    deal = BITRIX_PAGE["result"][0]
    path = write(tmp_path / "deal_37.json", json.dumps({"result": deal, "time": {"start": 1.0}}, ensure_ascii=False))
    records = parse_file("bitrix24", path)
    page = [e for e in parse_file("bitrix24", FIXTURES / "bitrix24" / "api" / "crm.deal.list_page1.json")
            if e.row == 1]
    assert [(e.event_id, e.event_time, e.properties) for e in events_of(records)] == [
        (e.event_id, e.event_time, e.properties) for e in page]


def test_amocrm_hubspot_and_calltouch_single_records(tmp_path):
    lead = json.loads((FIXTURES / "amocrm" / "api" / "leads.json").read_text("utf-8"))["_embedded"]["leads"][0]
    assert ids(parse_file("amocrm", write(tmp_path / "lead.json", json.dumps(lead, indent=4))))[:1] == [
        "lead:31000101:created"]
    deal = json.loads((FIXTURES / "hubspot" / "deals.json").read_text("utf-8"))["results"][0]
    assert ids(parse_file("hubspot", write(tmp_path / "deal.json", json.dumps(deal, indent=1))))[0] == (
        "deal:15678901234:created")
    call = CALLTOUCH_PAGE["records"][0]
    assert ids(parse_file("calltouch", write(tmp_path / "call.json", json.dumps(call, ensure_ascii=False)))) == [
        "call:523000101"]


# --------------------------------------------------------------------------- documents vs NDJSON


def test_a_pretty_printed_ga4_event_is_one_event_not_83_broken_lines(tmp_path):
    event = json.loads(GA4_LINES[2])
    pretty = json.dumps(event, indent=2)
    assert pretty.count("\n") > 50
    records = parse_file("ga4", write(tmp_path / "event.json", pretty))
    assert [type(r) for r in records] == [Event]
    assert records[0].event_id == parse_file("ga4", FIXTURES / "ga4" / "events_20231005.json")[2].event_id


def test_several_pretty_printed_objects_one_after_another(tmp_path):
    events = [json.loads(line) for line in GA4_LINES[:3]]
    text = "\n".join(json.dumps(e, indent=2) for e in events)
    records = parse_file("ga4", write(tmp_path / "events.json", text))
    assert [r.row for r in records] == [1, 2, 3] and all(isinstance(r, Event) for r in records)


def test_ndjson_with_a_broken_line_keeps_the_others_and_names_the_line(tmp_path):
    lines = GA4_LINES[:2] + ['{"event_name": "page_view", "event_params": [{'] + GA4_LINES[2:4]
    records = parse_file("ga4", write(tmp_path / "events.ndjson", "\n".join(lines) + "\n"))
    assert [type(r).__name__ for r in records] == ["Event", "Event", "Reject", "Event", "Event"]
    assert records[2].reason.startswith("not valid JSON at line 3")


def test_a_json_document_with_a_syntax_error_names_line_and_column(tmp_path):
    path = write(tmp_path / "calls.json", '{\n  "calls": [\n    {"id": "CAL1",}\n  ]\n}\n')
    with pytest.raises(InputDataError, match=r"calls\.json: not valid JSON: .* at line 3, column"):
        parse_file("callrail", path)


# --------------------------------------------------------------------------- sync tools' envelopes


def test_airbyte_envelopes_around_calls_and_deals(tmp_path):
    calls = CALLRAIL_PAGE["calls"][:2]
    protocol = [{"type": "RECORD", "record": {"stream": "calls", "data": c, "emitted_at": 1}} for c in calls]
    protocol.insert(1, {"type": "STATE", "state": {"data": {"calls": {"start_time": "2024-03-05"}}}})
    path = write(tmp_path / "airbyte.jsonl", "\n".join(json.dumps(m) for m in protocol))
    records = parse_file("callrail", path, phone_region="US")
    assert ids(records) == [f"call:{c['id']}" for c in calls] and [r.row for r in records] == [1, 2]
    raw = [{"_airbyte_raw_id": f"r{i}", "_airbyte_extracted_at": "2024-03-06T00:00:00Z",
            "_airbyte_data": json.dumps(c)} for i, c in enumerate(calls)]
    assert ids(parse_file("callrail", write(tmp_path / "raw.json", json.dumps(raw)), phone_region="US")) == ids(records)


def test_airbyte_hubspot_deal_keeps_its_id_and_associations(tmp_path):
    # Airbyte's deals stream: the deal under "data", associations as top-level id lists (issue 22: the
    # record was quarantined as "id: missing" and the companies were lost)
    deal = {"id": "15678901299", "properties": {"dealname": "Диван", "dealstage": "closedwon", "amount": "48000",
                                                 "createdate": "2024-03-01T07:00:00Z", "closedate": "2024-03-09T10:00:00Z",
                                                 "pipeline": "default"},
            "createdAt": "2024-03-01T07:00:00Z", "updatedAt": "2024-03-09T10:00:01Z", "archived": False,
            "contacts": ["501"], "companies": ["9001", "9002"]}
    path = write(tmp_path / "deals.jsonl", json.dumps({"stream": "deals", "data": deal, "emitted_at": 1}) + "\n"
                 + json.dumps({"stream": "deals", "data": {**deal, "id": "15678901300", "companies": []},
                               "emitted_at": 2}) + "\n")
    records = parse_file("hubspot", path)
    assert not [r for r in records if isinstance(r, Reject)]
    created = {e.event_id: e for e in events_of(records)}["deal:15678901299:created"]
    assert created.identifiers == [("crm_deal", "15678901299"), ("crm_contact", "501"), ("crm_company", "9001"),
                                   ("crm_company", "9002")]
    won = {e.event_id: e for e in events_of(records)}["deal:15678901299:stage:closedwon:1709978400"]
    assert (won.revenue, won.properties["from_snapshot"]) == ("48000", "1")


# --------------------------------------------------------------------------- streaming


def test_a_page_larger_than_the_whole_document_limit_is_streamed(tmp_path, monkeypatch):
    page = {"_page": 1, "_links": {"self": {"href": "x"}},
            "_embedded": {"leads": json.loads((FIXTURES / "amocrm" / "api" / "leads.json").read_text("utf-8"))[
                "_embedded"]["leads"] * 40}}
    path = write(tmp_path / "leads.json", json.dumps(page, ensure_ascii=False, indent=2))
    whole = parse_file("amocrm", path)
    monkeypatch.setattr(jsondocs, "WHOLE_LIMIT", 4096)
    assert path.stat().st_size > 50 * 4096
    streamed = parse_file("amocrm", path)
    assert [(type(r), r.row, getattr(r, "event_id", None)) for r in streamed] == [
        (type(r), r.row, getattr(r, "event_id", None)) for r in whole]


def test_a_top_level_array_is_read_element_by_element(tmp_path, monkeypatch):
    monkeypatch.setattr(jsondocs, "WHOLE_LIMIT", 1024)
    events = [json.loads(line) for line in GA4_GOOD] * 5
    path = write(tmp_path / "events.json", json.dumps(events))  # one line, a compact array
    records = parse_file("ga4", path)
    assert len(records) == len(events) and all(isinstance(r, Event) for r in records)


# --------------------------------------------------------------------------- Excel


def calltouch_workbook(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Журнал звонков"])
    ws.append(["Период: 05.03.2024 – 06.03.2024"])
    ws.append([])
    ws.append(["ID звонка", "Дата и время звонка", "Звонивший", "Куда звонили", "Длительность", "Статус",
               "Источник", "Канал", "utm_source", "utm_medium", "utm_campaign", "Уникальный", "Целевой", "Город",
               "Yandex Client ID"])
    ws.append([523000101, dt.datetime(2024, 3, 5, 14, 21, 7), 79161234567, 74951500101, dt.time(0, 1, 35),
               "Успешный", "yandex", "cpc", "yandex", "cpc", "brand_msk", "Да", "Да", "Москва", "1696470418123456789"])
    ws.append([523000102, dt.datetime(2024, 3, 6, 0, 20), "8 (903) 765-43-21", 74951500102, 0, "Пропущенный",
               "google", "organic", None, None, None, "Нет", "Нет", "Санкт-Петербург", None])
    ws.append([None, dt.datetime(2024, 3, 6, 9, 0), 79031112233, None, 12, "Успешный", None, None, None, None, None,
               None, None, None, None])
    wb.save(path)
    return path


def test_calltouch_xlsx_journal_reads_like_its_csv(tmp_path):
    records = parse_file("calltouch", calltouch_workbook(tmp_path / "calls_journal.xlsx"))
    calls = {e.event_id: e for e in events_of(records)}
    first = calls["call:523000101"]
    assert first.event_time == "2024-03-05 14:21:07"
    assert dict(first.identifiers)["phone"] == "79161234567"
    assert dict(first.identifiers)["ym_client_id"] == "1696470418123456789"
    assert (first.properties["duration_s"], first.properties["tracking_number"], first.channel) == (
        "95", "74951500101", "paid")
    assert calls["call:523000102"].event_time == "2024-03-06 00:20:00"
    assert [r.reason for r in records if isinstance(r, Reject)] == [
        "callId: missing (a call without an id cannot be told apart from its re-exports)"]


def test_calltouch_xlsx_end_to_end_in_the_account_zone(tmp_path):
    folder = tmp_path / "ct"
    folder.mkdir()
    calltouch_workbook(folder / "calls_journal.xlsx")
    loaded = load_sources(tmp_path, [{"name": "ct", "format": "calltouch", "path": str(folder)}],
                          timezone="Europe/Moscow")
    ts = dict(zip(loaded.events.event_id, loaded.events.event_ts.astype(str)))
    assert ts["ct:call:523000101"] == "2024-03-05 11:21:07"  # 14:21 Moscow
    assert "phone:+79161234567" in loaded.ids("ct:call:523000101")
    acc = loaded.accounting.iloc[0]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_quarantined) == (3, 2, 1)


def test_an_old_binary_xls_is_a_clear_error(tmp_path):
    path = tmp_path / "calls.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(InputDataError, match=r"calls\.xls: an Excel 97-2003 binary workbook .* \.xlsx or CSV"):
        parse_file("calltouch", path)


# --------------------------------------------------------------------------- unreadable files


def unreadable_setup(tmp_path: Path) -> list[dict]:
    ct = tmp_path / "calltouch"
    ct.mkdir()
    shutil.copy(FIXTURES / "calltouch" / "api" / "calls_page1.json", ct / "calls_page1.json")
    write(ct / "calls_page2.json", '{"page": 2, "records": [{"callId": 5230')  # cut off by a failed download
    return [{"name": "ct", "format": "calltouch", "path": str(ct), "on_unreadable_file": "quarantine"},
            {"name": "cr", "format": "callrail", "path": str(FIXTURES / "callrail" / "calls.json"),
             "phone_region": "US"}]


def test_unreadable_file_quarantined_the_others_load(tmp_path):
    loaded = load_sources(tmp_path, unreadable_setup(tmp_path))
    q = loaded.quarantine[loaded.quarantine.source == "ct"]
    assert list(zip(q.file.str.rsplit("/", n=1).str[-1], q.row_number)) == [("calls_page2.json", 0)]
    assert q.reason.iloc[0].startswith("unreadable file: not valid JSON")
    acc = loaded.accounting.set_index("source")
    # the file counts as one input row, quarantined: rows_in = loaded + duplicate + quarantined still holds
    assert acc.loc["ct", "rows_quarantined"] == 1 and acc.loc["ct", "files"] == 2
    assert acc.loc["ct", "rows_in"] == acc.loc["ct", "rows_loaded"] + acc.loc["ct", "rows_duplicate"] + 1
    assert acc.loc["cr", "rows_loaded"] > 0


def test_unreadable_file_stops_the_run_by_default_naming_the_file(tmp_path):
    sources = unreadable_setup(tmp_path)
    del sources[0]["on_unreadable_file"]
    with pytest.raises(InputDataError) as info:
        load_sources(tmp_path, sources)
    message = str(info.value)
    assert "\n" not in message and "calls_page2.json" in message and "source 'ct'" in message


def test_on_unreadable_file_is_checked_with_the_valid_values(tmp_path):
    from cjm_pipeline.config import config_from_dict
    from cjm_pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sources\[0\]\.on_unreadable_file: 'skip' \(valid: stop, quarantine\)"):
        config_from_dict({"sources": [{"name": "a", "format": "calltouch", "path": "x", "on_unreadable_file": "skip"}],
                          "stages": [{"name": "s", "rules": [{"event_type": "call"}]},
                                     {"name": "t", "rules": [{"event_type": "x"}]}]}, base_dir=tmp_path)


# --------------------------------------------------------------------------- encodings while streaming


def test_a_metrica_part_with_cp1251_bytes_after_the_sniffed_sample_is_a_clear_error(tmp_path):
    header = "ym:s:visitID\tym:s:dateTime\tym:s:clientID\tym:s:regionCity\n"
    lines = "".join(f"{7000000000000000000 + i}\t2025-10-09 10:00:00\t1696470418123456789\tMoscow\n"
                    for i in range(3000))
    path = tmp_path / "visits.tsv"
    path.write_bytes((header + lines).encode() + "7000000000000009999\t2025-10-09 10:00:00\t1\tМосква\n".encode("cp1251"))
    with pytest.raises(InputDataError, match=r"visits\.tsv: not valid utf-8 text .*after line \d+; set `encoding:`"):
        parse_file("metrica_visits", path)
    records = parse_file("metrica_visits", path, encoding="cp1251")
    assert len(records) == 3001 and records[-1].properties["region_city"] == "Москва"


def test_json_in_cp1251_and_utf16_is_read(tmp_path):
    call = {**CALLTOUCH_PAGE["records"][0], "city": "Москва"}
    for encoding, kw in (("cp1251", {}), ("utf-16", {}), ("cp1251", {"encoding": "cp1251"})):
        path = tmp_path / f"call_{encoding}.json"
        path.write_bytes(json.dumps(call, ensure_ascii=False, indent=2).encode(encoding))
        records = parse_file("calltouch", path, **kw)
        assert records[0].properties["city"] == "Москва", encoding
