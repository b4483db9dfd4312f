"""Call-tracking formats: ``calltouch``, ``comagic`` (CoMagic / UIS / CallGear) and ``callrail``.

Parser-level tests read the committed fixtures with the parse functions; end-to-end tests
run the pipeline on them (``tests/formats.py:load_source``) and check the loaded rows.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cjm_pipeline.config import SourceConfig
from cjm_pipeline.errors import InputDataError
from cjm_pipeline.ingest import parsing
from cjm_pipeline.ingest import registry as formats_module
from cjm_pipeline.ingest.calls import callrail, calltouch, comagic
from cjm_pipeline.ingest.calls import values as calltracking
from cjm_pipeline.ingest.records import Event, Reject
from formats import FIXTURES, load_source

CT = FIXTURES / "calltouch"
CM = FIXTURES / "comagic"
CR = FIXTURES / "callrail"

MODULES = ("calltouch", "comagic", "callrail")


def src_for(fmt: str, path: Path, **kw) -> SourceConfig:
    return SourceConfig(name=kw.pop("name", "src"), format=fmt, path=str(path), **kw)


def parse(module, path: Path, **kw) -> list:
    return list(module.parse(path, src_for(module.__name__.rsplit(".", 1)[1], path, **kw)))


def by_id(records) -> dict[str, Event]:
    return {r.event_id: r for r in records if isinstance(r, Event)}


def rejects(records) -> list[Reject]:
    return [r for r in records if isinstance(r, Reject)]


def id_types(event: Event) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t, v in event.identifiers:
        out.setdefault(t, []).append(v)
    return out


@pytest.fixture
def registered():
    """The format registry (the three call-tracking formats have parsers)."""
    assert set(MODULES) <= set(formats_module.PARSERS)
    return formats_module.registry()


def props(loaded, event_id: str) -> dict:
    value = loaded.events.loc[loaded.events.event_id == event_id, "properties"].iloc[0]
    return dict(value) if not isinstance(value, dict) else value


def ts(loaded, event_id: str) -> dt.datetime:
    return loaded.events.loc[loaded.events.event_id == event_id, "event_ts"].iloc[0].to_pydatetime()


def all_identifiers(loaded) -> set[str]:
    return set(loaded.identifiers.identifier)


def accounting(loaded) -> dict:
    row = loaded.accounting.iloc[0]
    return {k: int(row[k]) for k in ("rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined")}


# =========================================================================== shared helpers


def test_helpers_read_vendor_spellings():
    assert calltracking.seconds("00:01:35") == "95"
    assert calltracking.seconds(0) == "0"
    assert calltracking.flag("Да") == "1" and calltracking.flag("false") == "0" and calltracking.flag("") is None
    assert parsing.local_time("06/03/2024 00:20:15") == "2024-03-06 00:20:15"
    assert parsing.local_time("06/03/2024 00:20:15", "mdy") == "2024-06-03 00:20:15"
    assert parsing.local_time("25/03/2024 10:00:00", "mdy") == "2024-03-25 10:00:00"  # day > 12: day-first
    assert parsing.local_time("31/02/2024 10:00:00") == "31/02/2024 10:00:00"  # no such day: left for staging
    assert calltracking.call_channel("<не указано>", "<не указано>", "<не указано>") == "phone"
    assert calltracking.call_channel(None, "(none)") == "direct"
    assert calltracking.ga_client_id("GA1.2.555666777.1709500000") == "555666777.1709500000"


def test_registry_lists_the_three_formats(registered):
    assert {"calltouch", "comagic", "callrail"} <= set(registered)
    assert registered["calltouch"].options == {"slash_dates": "dmy"}
    assert registered["callrail"].options == {"slash_dates": "mdy"}
    assert registered["comagic"].options == {}


# =========================================================================== Calltouch: parser


def test_calltouch_api_page_events():
    recs = parse(calltouch, CT / "api" / "calls_page1.json")
    assert [r.row for r in recs] == [1, 2, 3, 4]
    ev = by_id(recs)
    assert set(ev) == {"call:523000101", "call:523000102", "call:523000103", "call:523000104"}
    assert all(e.event_type == "call" for e in ev.values())

    first = ev["call:523000101"]
    assert first.event_time == "1709637667"  # the unix `timestamp` wins over the local `date`
    ids = id_types(first)
    assert ids["phone"] == ["79161234567"]
    assert ids["ym_client_id"] == ["1696470418123456789"]
    assert ids["ga_client_id"] == ["1234567890.1696470418"]
    assert ids["calltracking_session"] == ["987654321"]
    assert ids["calltracking_client"] == ["4433221", "ct-caller-8c1d2f"]
    p = first.properties
    assert p["tracking_number"] == "74951500101" and p["redirect_number"] == "74957770011"
    assert p["answered"] == "1" and p["direction"] == "in"
    assert (p["duration_s"], p["wait_s"]) == ("95", "12")
    assert (p["unique_call"], p["target_call"], p["uniq_target_call"], p["callback_call"]) == ("1", "1", "1", "0")
    assert p["tags"] == "Заказ, Новый клиент"
    assert p["orders_completed_amount"] == "12300.5" and p["order_ids"] == "A-1001"
    assert first.revenue is None  # Calltouch orders are properties, not call revenue
    assert p["ct_global_id"] == "99887766" and p["sub_pool_name"] == "Яндекс.Директ"  # other fields, snake_case
    assert first.channel == "paid"
    assert (first.utm_source, first.utm_medium, first.utm_campaign) == ("yandex", "cpc", "brand_msk")
    assert first.url.startswith("https://shop.example.ru/catalog/divany/")
    # the numbers the caller dialled / was forwarded to are never identifiers
    assert all("74951500101" not in v and "74957770011" not in v for _, v in first.identifiers)


def test_calltouch_missed_call_unknown_source_and_19_digit_json_number():
    ev = by_id(parse(calltouch, CT / "api" / "calls_page1.json"))
    missed = ev["call:523000102"]
    assert missed.event_time == "2024-03-05 18:03:44"
    assert missed.properties["answered"] == "0"
    assert missed.properties["duration_s"] == "0" and missed.properties["wait_s"] == "28"
    assert missed.channel == "phone"  # every source field is <не указано>
    assert "source" not in missed.properties and missed.utm_source is None
    ids = id_types(missed)
    assert ids["phone"] == ["8 (916) 123-45-67"]  # raw; the writer normalises it
    assert ids["ym_client_id"] == ["1709123456789012345"]  # a JSON number > 2**53, every digit kept

    night = ev["call:523000103"]
    assert night.event_time == "2024-03-06 00:20:15"  # dd/mm/yyyy local -> naive ISO
    assert night.channel == "direct"
    assert id_types(night)["ga_client_id"] == ["555666777.1709500000"]  # _ga cookie prefix dropped


def test_calltouch_broken_records():
    recs = parse(calltouch, CT / "api" / "calls_page2.json")
    bad = rejects(recs)
    assert [(r.row, r.reason.split(":")[0]) for r in bad] == [(2, "callId")]
    assert '"callerNumber": "79261112233"' in bad[0].raw_text
    ev = by_id(recs)
    assert ev["call:523000106"].event_time == "31/02/2024 10:00:00"  # passed on: staging quarantines it
    callback = ev["call:523000107"]
    assert callback.properties["direction"] == "out" and callback.properties["callback_call"] == "1"
    assert callback.channel == "email"
    assert callback.properties["orders_planned_amount"] == "10500"
    assert callback.properties["orders_completed_amount"] == "2500"


def test_calltouch_pages_array_and_bare_list():
    recs = parse(calltouch, CT / "pages_array.json")
    assert [(r.row, r.event_id) for r in recs] == [(1, "call:523000201"), (2, "call:523000202")]
    assert recs[0].channel == "paid" and recs[1].channel == "phone"
    assert recs[1].properties["answered"] == "0"

    recs = parse(calltouch, CT / "bare_list.json")
    assert isinstance(recs[0], Event) and recs[0].event_id == "call:523000301"
    assert isinstance(recs[1], Reject) and recs[1].row == 2 and "JSON object" in recs[1].reason


def test_calltouch_ui_export_csv():
    recs = parse(calltouch, CT / "journal_export.csv")
    ev = by_id(recs)
    assert set(ev) == {"call:523000101", "call:523000102", "call:523000103"}
    ok = ev["call:523000101"]
    assert ok.event_time == "2024-03-05 14:21:07"  # dd.mm.yyyy -> ISO
    assert ok.properties["answered"] == "1" and ok.properties["status"] == "Успешный"
    assert (ok.properties["duration_s"], ok.properties["wait_s"]) == ("95", "12")
    assert ok.properties["tracking_number"] == "+7 (495) 150-01-01"
    assert ok.properties["Комментарий"] == "Клиент; просил счёт"  # unmapped column: its own header
    assert ok.properties["unique_call"] == "1" and ok.properties["target_call"] == "1"
    assert id_types(ok) == {"phone": ["+7 (916) 123-45-67"], "ym_client_id": ["1696470418123456789"]}
    assert ok.channel == "paid"
    missed = ev["call:523000102"]
    assert missed.event_time == "2024-03-05 18:03:44"
    assert missed.properties["answered"] == "0" and missed.channel == "phone"
    mangled = ev["call:523000103"]
    assert mangled.channel == "direct"
    # Excel turned the 19-digit ClientID into 1,70971E+18: no identifier, kept as a property
    assert id_types(mangled) == {"phone": ["+7 903 765-43-21"]}
    assert mangled.properties["ym_client_id_raw"] == "1,70971E+18"
    bad = rejects(recs)
    assert [r.row for r in bad] == [4, 5]
    assert bad[0].reason.startswith("callId: missing")
    assert '"Звонивший": "+7 926 111-22-33"' in bad[0].raw_text  # the row as in the file
    assert "expected 18 fields, got 5" in bad[1].reason


def test_calltouch_ui_export_cp1251(tmp_path):
    path = tmp_path / "journal_cp1251.csv"
    path.write_bytes((CT / "journal_export.csv").read_text(encoding="utf-8").encode("cp1251"))
    utf8 = parse(calltouch, CT / "journal_export.csv")
    cp1251 = parse(calltouch, path)
    assert [(type(r), getattr(r, "event_id", None)) for r in cp1251] == [(type(r), getattr(r, "event_id", None)) for r in utf8]
    assert by_id(cp1251)["call:523000102"].properties["status"] == "Пропущенный"
    assert by_id(cp1251) == by_id(utf8)


def test_calltouch_export_without_id_column(tmp_path):
    lines = (CT / "journal_export.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "no_id.csv"
    path.write_text("\n".join(line.split(";", 1)[1] for line in lines[:3]) + "\n", encoding="utf-8")
    with pytest.raises(InputDataError) as e:
        parse(calltouch, path)
    assert "'callId' / 'Номер звонка'" in str(e.value) and "Звонивший" in str(e.value)


def test_calltouch_slash_dates_option(tmp_path):
    with pytest.raises(InputDataError, match="slash_dates"):
        parse(calltouch, CT / "pages_array.json", options={"slash_dates": "ymd"})
    mdy = by_id(parse(calltouch, CT / "pages_array.json", options={"slash_dates": "mdy"}))
    assert mdy["call:523000201"].event_time == "2024-07-03 09:05:00"


# =========================================================================== CoMagic: parser


def test_comagic_jsonrpc_response():
    recs = parse(comagic, CM / "calls_report.json")
    ev = by_id(recs)
    assert set(ev) == {"call:871234501", "call:871234502", "call:871234503", "call:871234504"}
    first = ev["call:871234501"]
    assert first.event_time == "2024-03-05 14:21:07"
    assert id_types(first) == {
        "phone": ["79161234567"], "ym_client_id": ["1696470418123456789"], "ga_client_id": ["1234567890.1696470418"],
        "calltracking_visitor": ["2143658709"], "calltracking_session": ["7788990011"],
        "calltracking_client": ["1187001"],
    }
    p = first.properties
    assert p["tracking_number"] == "74951500201"
    assert p["person_id"] == "3301122"  # a property, not an identifier (its id space overlaps contact_id's)
    assert (p["answered"], p["direction"], p["duration_s"], p["wait_s"]) == ("1", "in", "95", "12")
    assert p["tags"] == "Продажа, Новый клиент"
    assert p["yclid"] == "7845612301234567890" and p["campaign_name"] == "Яндекс.Директ — бренд"
    assert first.revenue == "12300.5" and first.channel == "paid"

    lost = ev["call:871234502"]
    assert lost.properties["answered"] == "0" and lost.channel == "phone"
    assert lost.event_time == "2024-03-06 00:20:15"
    assert id_types(lost) == {"phone": ["79037654321"]}

    out = ev["call:871234503"]
    assert out.properties["direction"] == "out"
    assert out.channel == "organic"  # from eq_utm_medium when utm_medium is empty
    assert id_types(out)["ga_client_id"] == ["555666777.1709500000"]

    assert first.updated_at == "2024-03-05 14:25:00"  # the latest tag_change_time
    assert lost.updated_at is None
    assert ev["call:871234504"].event_time is None  # staging quarantines it: event_time empty
    bad = rejects(recs)
    assert [(r.row, r.reason.split(":")[0]) for r in bad] == [(5, "id")]


def test_comagic_csv_export():
    recs = parse(comagic, CM / "calls_report.csv")
    ev = by_id(recs)
    assert set(ev) == {"call:871234501", "call:871234510"}
    lost = ev["call:871234510"]
    assert lost.properties["answered"] == "0"
    assert id_types(lost) == {"phone": ["8 (926) 111-22-33"], "ym_client_id": ["1709733333444455556"],
                              "calltracking_visitor": ["2143650123"], "calltracking_session": ["7788990123"]}
    assert lost.channel == "direct"
    assert ev["call:871234501"].properties["visitor_city"] == "Москва"
    assert ev["call:871234501"].properties["tags"] == "Продажа, Новый клиент"


def test_comagic_error_response_is_an_input_error():
    with pytest.raises(InputDataError, match="Invalid or expired access token"):
        parse(comagic, CM / "error_response.json")


# =========================================================================== CallRail: parser


def test_callrail_api_json():
    recs = parse(callrail, CR / "calls.json")
    ev = by_id(recs)
    first = ev["call:CAL8154748ae6bd4e278a7cddd38a662f4f"]
    assert first.event_time == "2024-03-05T09:21:07.000-08:00"
    assert id_types(first) == {
        "phone": ["+14155550132"], "ga_client_id": ["1234567890.1696470418"],
        "calltracking_client": ["PER8154748ae6bd4e278a7cddd38a662f4f"],
        "calltracking_session": ["3d5c7b1a-2f4e-4c6d-9a8b-1e2f3a4b5c6d"],
    }
    p = first.properties
    assert (p["tracking_number"], p["business_number"]) == ("+14155550199", "+14155550100")
    assert (p["answered"], p["direction"], p["duration_s"], p["first_call"]) == ("1", "in", "148", "1")
    assert p["tags"] == "Existing Customer, Sale" and p["lead_status"] == "good_lead"
    assert p["value"] == "$1,250.00" and first.revenue == "1250.00"
    assert first.channel == "paid"

    missed = ev["call:CAL0a1b2c3d4e5f60718293a4b5c6d7e8f9"]
    assert (missed.properties["answered"], missed.properties["voicemail"]) == ("0", "1")
    assert missed.channel == "direct"  # source "Direct", no medium

    out = ev["call:CAL99aa88bb77cc66dd55ee44ff33001122"]
    assert out.properties["direction"] == "out" and out.properties["tags"] == "Follow-up"
    assert out.channel == "organic" and out.revenue == "80"

    assert ev["call:CALffeeddccbbaa99887766554433221100"].event_time is None
    assert [(r.row, r.reason.split(":")[0]) for r in rejects(recs)] == [(4, "id")]


def test_callrail_csv_export():
    ev = by_id(parse(callrail, CR / "calls.csv", phone_region="US"))
    later = ev["call:CAL5566778899aabbccddeeff0011223344"]
    assert later.event_time == "2024-03-06 14:15:00"  # mm/dd/yyyy 12-hour -> naive ISO
    assert id_types(later)["phone"] == ["(312) 555-7788"]
    assert later.properties["answered"] == "0"
    first = ev["call:CAL8154748ae6bd4e278a7cddd38a662f4f"]
    assert first.revenue == "1250.00" and first.properties["tags"] == "Existing Customer, Sale"


def test_callrail_ndjson_pages():
    recs = parse(callrail, CR / "ndjson" / "calls_pages.ndjson")
    assert [(r.row, getattr(r, "event_id", None)) for r in recs] == [
        (1, "call:CAL1000000000000000000000000000001"), (2, "call:CAL1000000000000000000000000000002"),
        (3, None), (4, "call:CAL1000000000000000000000000000004")]
    assert "not valid JSON" in recs[2].reason


# =========================================================================== end to end


def test_calltouch_end_to_end(tmp_path, registered):
    loaded = load_source(tmp_path, "calltouch", CT / "api", timezone="Europe/Moscow")
    ev = loaded.events
    assert sorted(ev.event_id) == ["src:call:523000101", "src:call:523000102", "src:call:523000103",
                                   "src:call:523000104", "src:call:523000107"]
    assert set(ev.event_type) == {"call"}
    assert ts(loaded, "src:call:523000101") == dt.datetime(2024, 3, 5, 11, 21, 7)
    # 00:20 MSK on 6 March is 21:20 UTC on 5 March
    assert ts(loaded, "src:call:523000103") == dt.datetime(2024, 3, 5, 21, 20, 15)
    assert ts(loaded, "src:call:523000102") == dt.datetime(2024, 3, 5, 15, 3, 44)

    assert "phone:+79161234567" in loaded.ids("src:call:523000101")
    assert "phone:+79161234567" in loaded.ids("src:call:523000102")  # written 8 (916) 123-45-67
    assert "ym_client_id:1709123456789012345" in loaded.ids("src:call:523000102")
    assert "ym_client_id:1696470418123456789" in loaded.ids("src:call:523000101")
    assert "ga_client_id:555666777.1709500000" in loaded.ids("src:call:523000103")
    assert "phone:+79261112233" in loaded.ids("src:call:523000107")
    everything = all_identifiers(loaded)
    assert not any(i.startswith("phone:+7495150010") or i == "phone:+74957770011" for i in everything)
    assert "calltracking_session:0" not in everything

    # the call in both pages is one event: Calltouch gives no modification time, so the first
    # loaded copy (page 1) stays and the page-2 copy counts as a duplicate
    overlap = loaded.events.loc[loaded.events.event_id == "src:call:523000104"]
    assert len(overlap) == 1 and overlap._file.iloc[0].endswith("calls_page1.json")
    assert props(loaded, "src:call:523000104")["target_call"] == "0"
    assert ev.loc[ev.event_id == "src:call:523000101", "channel"].iloc[0] == "paid"
    assert ev.loc[ev.event_id == "src:call:523000102", "channel"].iloc[0] == "phone"

    q = loaded.quarantine
    reasons = dict(zip(q.row_number, q.reason))
    assert len(q) == 2
    assert reasons[2].startswith("callId: missing")
    assert reasons[3] == "event_time: cannot parse '31/02/2024 10:00:00' as a time"
    assert accounting(loaded) == {"rows_in": 8, "rows_loaded": 5, "rows_duplicate": 1, "rows_quarantined": 2}


def test_calltouch_loading_twice_changes_nothing(tmp_path, registered):
    first = load_source(tmp_path, "calltouch", CT / "api")
    again = load_source(tmp_path, "calltouch", CT / "api")
    cols = ["event_id", "event_ts", "channel", "_load_id", "_row"]
    assert again.events[cols].equals(first.events[cols])
    assert set(again.identifiers.identifier) == set(first.identifiers.identifier)
    assert len(again.quarantine) == len(first.quarantine) == 2
    assert accounting(again) == accounting(first)


def test_calltouch_overlapping_reexport_adds_nothing(tmp_path, registered):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(CT / "api" / "calls_page1.json", folder / "calls_page1.json")
    first = load_source(tmp_path, "calltouch", folder)
    # the same calls again in a new file (a re-export with other bytes)
    (folder / "calls_reexport.json").write_text(
        (CT / "api" / "calls_page1.json").read_text(encoding="utf-8").replace('"page": 1', '"page": 1 '),
        encoding="utf-8")
    again = load_source(tmp_path, "calltouch", folder)
    assert sorted(again.events.event_id) == sorted(first.events.event_id)
    assert accounting(again) == {"rows_in": 8, "rows_loaded": 4, "rows_duplicate": 4, "rows_quarantined": 0}


def test_calltouch_ui_export_cp1251_end_to_end(tmp_path, registered):
    path = tmp_path / "journal.csv"
    path.write_bytes((CT / "journal_export.csv").read_text(encoding="utf-8").encode("cp1251"))
    loaded = load_source(tmp_path, "calltouch", path)
    assert sorted(loaded.events.event_id) == ["src:call:523000101", "src:call:523000102", "src:call:523000103"]
    assert ts(loaded, "src:call:523000103") == dt.datetime(2024, 3, 5, 21, 20, 15)
    assert loaded.ids("src:call:523000101") == {"phone:+79161234567", "ym_client_id:1696470418123456789"}
    assert loaded.ids("src:call:523000103") == {"phone:+79037654321"}  # not ym_client_id:1,70971E+18
    assert props(loaded, "src:call:523000102")["status"] == "Пропущенный"
    assert list(loaded.quarantine.row_number) == [4, 5]
    assert accounting(loaded) == {"rows_in": 5, "rows_loaded": 3, "rows_duplicate": 0, "rows_quarantined": 2}


def test_comagic_end_to_end(tmp_path, registered):
    loaded = load_source(tmp_path, "comagic", str(CM / "calls_report.*"), timezone="Europe/Moscow")
    assert sorted(loaded.events.event_id) == ["src:call:871234501", "src:call:871234502", "src:call:871234503",
                                               "src:call:871234510"]
    assert ts(loaded, "src:call:871234501") == dt.datetime(2024, 3, 5, 11, 21, 7)
    assert ts(loaded, "src:call:871234502") == dt.datetime(2024, 3, 5, 21, 20, 15)
    assert loaded.ids("src:call:871234501") == {
        "phone:+79161234567", "ym_client_id:1696470418123456789", "ga_client_id:1234567890.1696470418",
        "calltracking_visitor:2143658709", "calltracking_session:7788990011", "calltracking_client:1187001"}
    assert loaded.ids("src:call:871234510") >= {"phone:+79261112233", "ym_client_id:1709733333444455556"}
    assert not any(i.startswith("phone:+749515002") for i in all_identifiers(loaded))
    assert not any(i.endswith(":3301122") for i in all_identifiers(loaded))  # person_id
    rev = loaded.events.set_index("event_id").revenue
    assert rev["src:call:871234501"] == pytest.approx(12300.5)
    # in both files: the JSON copy knows when its tags were set (updated_at), the CSV copy
    # (loaded first: calls_report.csv sorts before .json) does not, so the JSON copy wins
    both = loaded.events.loc[loaded.events.event_id == "src:call:871234501"]
    assert both._file.iloc[0].endswith("calls_report.json")
    assert both.updated_ts.iloc[0] == pd.Timestamp("2024-03-05 11:25:00")
    assert props(loaded, "src:call:871234501")["call_source"] == "calltracking"
    reasons = sorted(loaded.quarantine.reason)
    assert reasons == ["event_time: empty", "id: missing (a call without an id cannot be told apart from its re-exports)"]
    # 5 JSON records + 2 CSV rows; call 871234501 is in both files
    assert accounting(loaded) == {"rows_in": 7, "rows_loaded": 4, "rows_duplicate": 1, "rows_quarantined": 2}


def test_callrail_end_to_end(tmp_path, registered):
    loaded = load_source(tmp_path, "callrail", str(CR / "calls.*"), timezone="America/Chicago", phone_region="US")
    ev = loaded.events
    assert sorted(ev.event_id) == sorted([
        "src:call:CAL8154748ae6bd4e278a7cddd38a662f4f", "src:call:CAL0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "src:call:CAL99aa88bb77cc66dd55ee44ff33001122", "src:call:CAL5566778899aabbccddeeff0011223344"])
    assert ts(loaded, "src:call:CAL8154748ae6bd4e278a7cddd38a662f4f") == dt.datetime(2024, 3, 5, 17, 21, 7)
    # 23:50 at -05:00 on 5 March is 04:50 UTC on 6 March
    assert ts(loaded, "src:call:CAL0a1b2c3d4e5f60718293a4b5c6d7e8f9") == dt.datetime(2024, 3, 6, 4, 50)
    # a naive CSV time is read in the source's zone (America/Chicago, UTC-6 in March before DST)
    assert ts(loaded, "src:call:CAL5566778899aabbccddeeff0011223344") == dt.datetime(2024, 3, 6, 20, 15)
    assert "phone:+13125557788" in loaded.ids("src:call:CAL5566778899aabbccddeeff0011223344")  # (312) 555-7788, US
    assert loaded.ids("src:call:CAL8154748ae6bd4e278a7cddd38a662f4f") >= {
        "phone:+14155550132", "ga_client_id:1234567890.1696470418",
        "calltracking_client:PER8154748ae6bd4e278a7cddd38a662f4f"}
    assert not any(i in all_identifiers(loaded) for i in ("phone:+14155550199", "phone:+14155550100", "phone:+14155550177"))
    rev = ev.set_index("event_id").revenue
    assert rev["src:call:CAL8154748ae6bd4e278a7cddd38a662f4f"] == pytest.approx(1250.0)
    assert sorted(loaded.quarantine.reason) == [
        "event_time: empty", "id: missing (a call without an id cannot be told apart from its re-exports)"]
    # 5 JSON records + 2 CSV rows; the first call is in both files
    assert accounting(loaded) == {"rows_in": 7, "rows_loaded": 4, "rows_duplicate": 1, "rows_quarantined": 2}
