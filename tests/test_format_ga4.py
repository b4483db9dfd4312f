"""Format ``ga4``: the GA4 BigQuery export (events_YYYYMMDD) as NDJSON, JSON array and Parquet.

Fixtures (tests/fixtures/ga4/):

* ``events_20231005.json``: the daily table as BigQuery writes NDJSON (INT64 as strings,
  NULLs omitted); 16 lines: 3 users, ``session_engaged`` as ``"1"`` (string_value) and as
  int_value, three events of one hit at the same microsecond, a login (user_id appears
  mid-session), a purchase with ecommerce and items, a page_view at 23:30 MSK (20:30 UTC),
  line 10 broken, line 12 an exact duplicate of line 9, line 15 without event_timestamp,
  line 16 without user_pseudo_id and user_id;
* ``events_intraday_20231005.json``: three of those events again, as the streaming export
  (the first without the traffic_source / session attribution records);
* ``events_20231005.parquet``: the 15 readable records of the daily file with native types.
"""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from cjm_pipeline.config import SourceConfig
from cjm_pipeline.errors import InputDataError
from cjm_pipeline.ingest import registry as ingest_formats
from cjm_pipeline.ingest.web import ga4
from cjm_pipeline.ingest.records import Event, Reject
from formats import FIXTURES, events_of, load_source, load_sources, parse_file

GA4 = FIXTURES / "ga4"
DAILY = GA4 / "events_20231005.json"
INTRADAY = GA4 / "events_intraday_20231005.json"
PARQUET = GA4 / "events_20231005.parquet"

U1, U2, U3 = "1234567890.1696470418", "987654321.1696537000", "555000111.1696400000"


def by_row(records) -> dict[int, Event | Reject]:
    out = {}
    for r in records:
        assert r.row not in out, f"row {r.row} yielded twice"
        out[r.row] = r
    return out


# --------------------------------------------------------------------------- parser level


def test_daily_ndjson_every_line_is_an_event_or_a_reject():
    rows = by_row(parse_file("ga4", DAILY))
    assert sorted(rows) == list(range(1, 17))
    assert all(r.part == 0 for r in rows.values() if isinstance(r, Event))
    rejects = {n: r for n, r in rows.items() if isinstance(r, Reject)}
    assert list(rejects) == [10]
    assert rejects[10].reason.startswith("not valid JSON")
    assert rejects[10].raw_text.startswith('{"event_date":"20231005","event_timestamp":"1696530000000000"')
    assert [rows[n].event_type for n in (1, 2, 3, 4, 5, 8, 11, 13, 14)] == [
        "first_visit", "session_start", "page_view", "scroll", "user_engagement", "page_view", "purchase",
        "generate_lead", "click"]


def test_event_time_is_the_microsecond_timestamp_and_ids_are_stable():
    rows = by_row(parse_file("ga4", DAILY))
    pv = rows[7]  # 23:30:00 MSK = 20:30:00 UTC
    assert pv.event_time == "1696537800123456"
    assert pv.event_id.startswith(f"event:{U2}:1696537800123456:page_view:p")
    # three events of one hit share the microsecond; the batch fields tell them apart
    assert {rows[n].event_time for n in (1, 2, 3)} == {"1696470418877027"}
    assert [rows[n].event_id for n in (1, 2, 3)] == [
        f"event:{U1}:1696470418877027:first_visit:b1696470418800.1.0",
        f"event:{U1}:1696470418877027:session_start:b1696470418800.1.1",
        f"event:{U1}:1696470418877027:page_view:b1696470418800.1.2",
    ]
    # an exact duplicate line gets the same id (dbt-ga4 dedups on the sorted params)
    assert rows[12].event_id == rows[9].event_id
    assert len({r.event_id for n, r in rows.items() if n not in (10, 12)}) == 14


def test_int64_as_strings_and_session_engaged_string_vs_int():
    rows = by_row(parse_file("ga4", DAILY))
    scroll, engagement, purchase = rows[4], rows[5], rows[11]
    assert scroll.properties["param.session_engaged"] == "1"  # string_value "1"
    assert engagement.properties["param.session_engaged"] == "1"  # int_value "1"
    assert scroll.properties["param.percent_scrolled"] == "90"
    assert engagement.properties["param.engagement_time_msec"] == "59123"
    assert purchase.properties["param.crm_lead_id"] == "1696470418123456789"  # > 2^53, exact
    assert purchase.properties["param.value"] == "12300.5"
    assert purchase.properties["ga_session_id"] == "1696470418"
    assert purchase.properties["ga_session_number"] == "1"
    assert purchase.properties["session_key"] == f"{U1}.1696470418"
    assert purchase.properties["user_property.customer_tier"] == "gold"


def test_user_id_appears_mid_session():
    rows = by_row(parse_file("ga4", DAILY))
    before, login, purchase = rows[5], rows[8], rows[11]
    assert before.identifiers == [("ga_client_id", U1)]
    assert login.identifiers == [("ga_client_id", U1), ("user_id", "100500")]
    assert purchase.identifiers == [("ga_client_id", U1), ("user_id", "100500")]
    assert before.properties["session_key"] == login.properties["session_key"] == purchase.properties["session_key"]


def test_page_and_context_properties():
    rows = by_row(parse_file("ga4", DAILY))
    pv = rows[7]
    assert pv.url == "https://shop.example.ru/blog/winter-tyres"
    assert pv.properties["page_location"] == pv.url
    assert pv.properties["page_title"] == "Зимние шины — как выбрать"
    assert pv.properties["page_referrer"] == "https://www.google.com/"
    assert pv.properties["event_date"] == "20231005"
    assert pv.properties["stream_id"] == "5874512369"
    assert pv.properties["platform"] == "WEB"
    assert pv.properties["device_category"] == "mobile"
    assert (pv.properties["geo_country"], pv.properties["geo_city"]) == ("Russia", "Yekaterinburg")


def test_purchase_revenue_transaction_and_items():
    rows = by_row(parse_file("ga4", DAILY))
    purchase, lead, pv = rows[11], rows[13], rows[3]
    assert purchase.revenue == "12300.5"
    assert purchase.properties["transaction_id"] == "T-0001"
    assert purchase.properties["items_count"] == "2"
    assert purchase.properties["item_quantity"] == "3"
    assert purchase.properties["currency"] == "RUB"
    # a lead's `value` param is no revenue; events without items have no item count
    assert lead.revenue is None and lead.properties["param.value"] == "1500"
    assert pv.revenue is None and "items_count" not in pv.properties and "transaction_id" not in pv.properties


def test_purchase_revenue_from_the_value_param_without_ecommerce():
    ev = ga4.record_event(1, {"event_name": "purchase", "event_timestamp": "1696470900500000", "user_pseudo_id": U1,
                              "event_params": [{"key": "value", "value": {"double_value": 990.5}},
                                               {"key": "transaction_id", "value": {"string_value": "T-9"}}],
                              "ecommerce": {"transaction_id": "(not set)"}})
    assert ev.revenue == "990.5"
    assert ev.properties["transaction_id"] == "T-9"


def test_three_levels_of_traffic_source():
    rows = by_row(parse_file("ga4", DAILY))
    # U1: event-scoped collected_traffic_source on the landing page_view; session-scoped on all
    landing, scroll = rows[3], rows[4]
    assert (landing.utm_source, landing.utm_medium, landing.utm_campaign) == ("google", "cpc", "autumn_sale")
    assert landing.properties["gclid"] == "Cj0KCQjw"
    assert landing.channel == "paid"
    assert (scroll.utm_source, scroll.utm_medium, scroll.utm_campaign) == ("google", "cpc", "autumn_sale")
    assert "gclid" not in scroll.properties
    assert (landing.properties["session_source"], landing.properties["session_medium"],
            landing.properties["session_campaign"]) == ("google", "cpc", "autumn_sale")
    # U2: no event-scoped source: the session's last click gives the utm values
    pv2 = rows[7]
    assert (pv2.utm_source, pv2.utm_medium, pv2.channel) == ("google", "organic", "organic")
    # U3: user-scoped first touch is direct; this session came from an e-mail (older export: params)
    pv3, click = rows[9], rows[14]
    assert (pv3.properties["first_user_source"], pv3.properties["first_user_medium"],
            pv3.properties["first_user_campaign"]) == ("(direct)", "(none)", "(direct)")
    assert (pv3.utm_source, pv3.utm_medium, pv3.utm_campaign, pv3.channel) == (
        "mailchimp", "email", "october_digest", "email")
    assert "session_source" not in pv3.properties
    # an event with no attribution of its own and no session record: nothing is invented
    assert (click.utm_source, click.utm_medium, click.channel) == (None, None, None)


def test_event_scope_wins_for_utm_session_medium_for_channel():
    record = {
        "event_name": "page_view", "event_timestamp": "1696470418877027", "user_pseudo_id": U1,
        "collected_traffic_source": {"manual_source": "yandex", "manual_medium": "cpc", "manual_campaign_name": "brand"},
        "session_traffic_source_last_click": {"manual_campaign": {"source": "google", "medium": "organic",
                                                                  "campaign_name": "(organic)"}},
    }
    ev = ga4.record_event(1, record)
    assert (ev.utm_source, ev.utm_medium, ev.utm_campaign) == ("yandex", "cpc", "brand")
    assert ev.channel == "organic"
    assert (ev.properties["session_source"], ev.properties["session_medium"]) == ("google", "organic")


def test_gclid_alone_is_google_cpc():
    ev = ga4.record_event(1, {"event_name": "page_view", "event_timestamp": "1696470418877027", "user_pseudo_id": U1,
                              "collected_traffic_source": {"gclid": "EAIaIQ", "manual_source": "(not set)"}})
    assert (ev.utm_source, ev.utm_medium, ev.channel, ev.properties["gclid"]) == ("google", "cpc", "paid", "EAIaIQ")


def test_records_without_time_or_identifier_are_still_emitted():
    rows = by_row(parse_file("ga4", DAILY))
    no_time, no_ids = rows[15], rows[16]
    assert isinstance(no_time, Event) and no_time.event_time is None and no_time.event_type == "view_item"
    assert isinstance(no_ids, Event) and no_ids.identifiers == [] and no_ids.event_time == "1696525000000000"


def test_malformed_event_params_is_a_reject_naming_the_field():
    out = ga4._convert(3, {"event_name": "x", "event_params": "ga_session_id=1"}, "raw line", intraday=False)
    assert isinstance(out, Reject) and out.row == 3 and out.reason.startswith("event_params:")
    assert isinstance(ga4._convert(4, ["not", "an", "object"], '["not"]', intraday=False), Reject)


def test_parquet_gives_the_same_events_as_json():
    json_events = events_of(parse_file("ga4", DAILY))
    parquet = parse_file("ga4", PARQUET)
    assert all(isinstance(r, Event) for r in parquet)
    assert [r.row for r in parquet] == list(range(1, 16))  # record index
    assert len(parquet) == len(json_events) == 15
    for j, p in zip(json_events, parquet):
        assert (p.event_id, p.event_time, p.event_type, p.identifiers, p.properties, p.revenue, p.utm_source,
                p.channel) == (j.event_id, j.event_time, j.event_type, j.identifiers, j.properties, j.revenue,
                               j.utm_source, j.channel)
    purchase = next(r for r in parquet if r.event_type == "purchase")
    assert purchase.event_time == "1696470900500000"  # native int64, exact
    assert purchase.properties["param.crm_lead_id"] == "1696470418123456789"


def test_json_array_and_gzipped_ndjson(tmp_path):
    lines = [ln for ln in DAILY.read_text(encoding="utf-8").splitlines() if ln.strip()]
    readable = [json.loads(ln) for n, ln in enumerate(lines, start=1) if n != 10]
    array = tmp_path / "events_20231005_array.json"
    array.write_text(json.dumps(readable, ensure_ascii=False, indent=2), encoding="utf-8-sig")
    gz = tmp_path / "events_20231005.json.gz"
    gz.write_bytes(gzip.compress(DAILY.read_bytes()))
    expected = [(e.event_id, e.properties) for e in events_of(parse_file("ga4", DAILY))]
    from_array = parse_file("ga4", array)
    assert [r.row for r in from_array] == list(range(1, 16))
    assert [(e.event_id, e.properties) for e in from_array] == expected
    from_gz = parse_file("ga4", gz)
    assert [(e.event_id, e.properties) for e in events_of(from_gz)] == expected
    assert [r.row for r in from_gz if isinstance(r, Reject)] == [10]


def test_intraday_file_is_recognised():
    assert all(e.updated_at is None for e in parse_file("ga4", INTRADAY))
    daily = by_row(parse_file("ga4", DAILY))
    assert daily[3].updated_at == "1696470418877"  # ms: the daily version outranks the intraday copy


def test_broken_parquet_file_names_the_file(tmp_path):
    bad = tmp_path / "events_20231005.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(InputDataError, match="Parquet"):
        list(ga4.parse(bad, SourceConfig(name="src", format="ga4", path=str(bad))))


def test_format_is_registered_without_options():
    fmt = ingest_formats.registry()["ga4"]
    assert fmt.options == {}
    assert ".parquet" in fmt.suffixes and ".json" in fmt.suffixes and ".csv" not in fmt.suffixes


# --------------------------------------------------------------------------- end to end


def props(loaded, event_id: str) -> dict:
    return dict(loaded.events.set_index("event_id").loc[event_id, "properties"])


def test_load_daily_file(tmp_path):
    loaded = load_source(tmp_path, "ga4", DAILY)
    ev = loaded.events.set_index("event_id")
    assert len(ev) == 12
    assert ev.source.unique().tolist() == ["src"]
    assert sorted(ev.event_type.value_counts().items()) == [
        ("click", 1), ("first_visit", 1), ("generate_lead", 1), ("page_view", 4), ("purchase", 1), ("scroll", 1),
        ("session_start", 2), ("user_engagement", 1)]
    late = f"src:event:{U2}:1696537800123456:page_view:p"
    late_id = next(i for i in ev.index if i.startswith(late))
    # µs UTC: not read in the config's Europe/Moscow zone
    assert ev.loc[late_id, "event_ts"] == pd.Timestamp("2023-10-05 20:30:00.123456")
    purchase_id = f"src:event:{U1}:1696470900500000:purchase:b1696470900400.5.0"
    assert ev.loc[purchase_id, "event_ts"] == pd.Timestamp("2023-10-05 01:55:00.5")
    assert ev.loc[purchase_id, "revenue"] == pytest.approx(12300.5)
    assert ev.loc[purchase_id, "channel"] == "paid"
    assert ev.loc[purchase_id, "utm_campaign"] == "autumn_sale"
    assert props(loaded, purchase_id)["param.crm_lead_id"] == "1696470418123456789"
    assert loaded.ids(purchase_id) == {f"ga_client_id:{U1}", "user_id:100500"}
    first = f"src:event:{U1}:1696470418877027:first_visit:b1696470418800.1.0"
    assert loaded.ids(first) == {f"ga_client_id:{U1}"}
    assert ev.loc[first, "event_ts"] == pd.Timestamp("2023-10-05 01:46:58.877027")
    assert f"ga_client_id:{U3}" in set(loaded.identifiers.identifier)

    q = loaded.quarantine.set_index("row_number")
    assert sorted(q.index) == [10, 15, 16]
    assert set(q.file) == {str(DAILY)}
    assert q.loc[10, "reason"].startswith("not valid JSON")
    assert q.loc[10, "raw_text"].startswith('{"event_date":"20231005"')
    assert q.loc[15, "reason"] == "event_time: empty"
    assert q.loc[16, "reason"].startswith("identifiers:")

    acc = loaded.accounting.set_index("source").loc["src"]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (16, 12, 1, 3)
    assert acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined


def test_overlapping_intraday_file_adds_no_events_and_the_daily_version_wins(tmp_path):
    daily_only = load_source(tmp_path / "a", "ga4", DAILY)
    both = load_source(tmp_path / "b", "ga4", str(GA4 / "events_*.json"))
    assert sorted(both.events.event_id) == sorted(daily_only.events.event_id)
    acc = both.accounting.set_index("source").loc["src"]
    assert (acc.files, acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (2, 19, 12, 4, 3)
    # the intraday copy (loaded later) lacks the attribution records; the daily version is kept
    landing = f"src:event:{U1}:1696470418877027:page_view:b1696470418800.1.2"
    row = both.events.set_index("event_id").loc[landing]
    assert row._file == str(DAILY)
    assert props(both, landing)["first_user_source"] == "google"
    assert props(both, landing)["session_medium"] == "cpc"


def test_daily_file_loaded_after_its_intraday_copy_replaces_it(tmp_path):
    first = load_source(tmp_path, "ga4", INTRADAY)
    assert len(first.events) == 3
    landing = f"src:event:{U1}:1696470418877027:page_view:b1696470418800.1.2"
    assert "first_user_source" not in props(first, landing)
    second = load_sources(tmp_path, [{"name": "src", "format": "ga4", "path": str(GA4 / "events_*.json")}])
    assert len(second.events) == 12
    assert props(second, landing)["first_user_source"] == "google"
    acc = second.accounting.set_index("source").loc["src"]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (19, 12, 4, 3)


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    first = load_source(tmp_path, "ga4", DAILY)
    second = load_source(tmp_path, "ga4", DAILY)
    pd.testing.assert_frame_equal(first.events, second.events)
    pd.testing.assert_frame_equal(first.identifiers, second.identifiers)
    pd.testing.assert_frame_equal(first.accounting, second.accounting)
    assert len(second.quarantine) == 3


def test_load_parquet_and_every_file_of_the_folder(tmp_path):
    parquet = load_source(tmp_path / "pq", "ga4", PARQUET)
    assert len(parquet.events) == 12
    q = parquet.quarantine.set_index("row_number")
    assert sorted(q.index) == [14, 15]  # no event_timestamp, no identifier
    assert set(q.file) == {str(PARQUET)}
    acc = parquet.accounting.set_index("source").loc["src"]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (15, 12, 1, 2)
    late = parquet.events[parquet.events.event_id.str.startswith(f"src:event:{U2}:1696537800123456:page_view:")]
    assert late.event_ts.tolist() == [pd.Timestamp("2023-10-05 20:30:00.123456")]

    folder = load_source(tmp_path / "all", "ga4", GA4)
    assert sorted(folder.events.event_id) == sorted(parquet.events.event_id)
    acc = folder.accounting.set_index("source").loc["src"]
    assert (acc.files, acc.rows_in, acc.rows_loaded, acc.rows_duplicate, acc.rows_quarantined) == (3, 34, 12, 17, 5)
