"""Formats ``metrica_visits`` and ``metrica_hits``: Yandex Metrica Logs API TSV parts.

Fixtures (tests/fixtures/metrica/), counter 68971321 in Asia/Yekaterinburg (UTC+5):

* ``visits/visits_20251009-20251011_part0.tsv``: 12 lines, attribution ``last``
  (``ym:s:lastTrafficSource``, ``ym:s:lastUTM*``), 19-digit ids; line 1 two goals; line 2
  the same clientID two days later with a goal and a purchase whose coupon holds an escaped
  quote and a comma; line 3 three goals (one goal reached twice) crossing local midnight;
  line 4 a visit at 02:10 local = 21:10 UTC the day before; line 5 cut short (14 of 30
  fields); line 7 two purchases; line 8 goalsDateTime shorter than goalsID; line 10
  ``watchIDs`` ``[]``; line 12 a coupon array that never closes;
* ``visits_lastsign.tsv``: four of those visits re-exported with ``lastsign`` and
  ``cross_device_last_significant`` fields, no goalsDateTime, purchaseRevenue without
  purchaseID, and a new column (``ym:s:regionCountry``);
* ``visits_sample_1_5.tsv``: a two-line visits sample of a real Logs API download (the columns of
  ``docs/formats/metrica.md``), byte for byte
  (its second line has 13 fields for 12 headers);
* ``hits/hits_20251009_part0.tsv``: 6 hits exported before 2025-10-10 (no ``ym:pv:visitID``):
  page views, a link click, a download, a non-page-view hit, a title with ``\\'`` and ``\\t``;
* ``hits/hits_20251010-20251011_part0.tsv``: 7 hits with ``ym:pv:visitID`` and
  ``ym:pv:lastTrafficSource``, one with visitID ``0``, one split in two lines by a raw
  line break in its title.
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from cjm_pipeline.errors import InputDataError
from cjm_pipeline.ingest import registry as formats_module
from cjm_pipeline.ingest.web import metrica
from cjm_pipeline.ingest.web.metrica import ArrayError, parse_array
from cjm_pipeline.ingest.records import Event, Reject
from formats import FIXTURES, load_source, load_sources, parse_file

YM = FIXTURES / "metrica"
VISITS_DIR = YM / "visits"
VISITS = VISITS_DIR / "visits_20251009-20251011_part0.tsv"
LASTSIGN = YM / "visits_lastsign.tsv"
SAMPLE = YM / "visits_sample_1_5.tsv"
HITS_DIR = YM / "hits"
HITS_OLD = HITS_DIR / "hits_20251009_part0.tsv"
HITS_NEW = HITS_DIR / "hits_20251010-20251011_part0.tsv"
TZ = "Asia/Yekaterinburg"

A = "1696470418123456789"  # two visits, on 2025-10-09 and 2025-10-11
B = "1759912345987654321"
V1, V2, V3, V4 = "7234567890123456789", "7234567890123456790", "7234567890123456801", "7234567890123456812"
V6, V7, V9 = "7234567890123456834", "7234567890123456845", "7234567890123456867"

def by_id(records) -> dict[str, Event]:
    return {r.event_id: r for r in records if isinstance(r, Event)}


def rejects(records) -> dict[int, Reject]:
    return {r.row: r for r in records if isinstance(r, Reject)}


def visit_sources(**kw) -> list[dict]:
    return [{"name": "ym", "format": "metrica_visits", "path": str(VISITS_DIR), "timezone": TZ, **kw}]


def hit_sources() -> list[dict]:
    return [{"name": "ymh", "format": "metrica_hits", "path": str(HITS_DIR), "timezone": TZ}]


def props(loaded, event_id: str) -> dict:
    value = loaded.events.set_index("event_id").loc[event_id, "properties"]
    return dict(value)


def counts(loaded, source: str) -> tuple[int, int, int, int]:
    acc = loaded.accounting.set_index("source").loc[source]
    return int(acc.rows_in), int(acc.rows_loaded), int(acc.rows_duplicate), int(acc.rows_quarantined)


# --------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("text, expected", [
    ("[]", []),
    (None, []),
    ("", []),
    ("[312345678,312345679]", ["312345678", "312345679"]),
    ("[ 1 , 2 ]", ["1", "2"]),
    ("[4990.5,1200]", ["4990.5", "1200"]),
    ("['2025-10-09 21:59:00','2025-10-09 22:01:30']", ["2025-10-09 21:59:00", "2025-10-09 22:01:30"]),
    ("['TRX987']", ["TRX987"]),
    ("['','']", ["", ""]),
    # an escaped quote after the reader undid the TSV escape (raw: ['ОСЕНЬ\'25, -10%'])
    ("['ОСЕНЬ'25, -10%']", ["ОСЕНЬ'25, -10%"]),
    # escaped twice (raw \\\'): the backslash still escapes the quote
    (r"['it\'s','b']", ["it's", "b"]),
    ("['a,b','c']", ["a,b", "c"]),
    ("['say 'hi'']", ["say 'hi'"]),
    ("['a'','b']", ["a'", "b"]),
    ("['x', y','z']", ["x', y", "z"]),
    ("['a', 'b']", ["a", "b"]),
])
def test_parse_array(text, expected):
    assert parse_array(text) == expected


@pytest.mark.parametrize("text", [r"['PROMO\']", "['open", "[1,2", "1,2", "[1,,2]", "['a'b]", "[1,'a]"])
def test_parse_array_refuses_broken_text(text):
    with pytest.raises(ArrayError):
        parse_array(text)


# --------------------------------------------------------------------------- visits (parser)


def test_visit_event_fields_and_exact_ids():
    records = parse_file("metrica_visits", VISITS)
    ev = by_id(records)
    v = ev[f"visit:{V1}"]
    assert (v.row, v.part, v.event_type) == (1, 0, "visit")
    assert v.event_time == "2025-10-09 10:46:58"  # counter-local, naive
    assert v.identifiers == [("ym_client_id", A)]
    assert v.url == "https://example.ru/?utm_source=yandex&utm_medium=cpc&utm_campaign=brand&yclid=4815162342"
    assert (v.channel, v.utm_source, v.utm_medium, v.utm_campaign) == ("paid", "yandex", "cpc", "brand")
    assert v.properties["watch_ids"] == "[7234567890123400001,7234567890123400002,7234567890123400003]"
    expected = {"visit_id": V1, "counter_id": "68971321", "page_views": "3", "visit_duration_s": "184",
                "bounce": "0", "is_new_user": "1", "device_category": "1", "region_city": "Yekaterinburg",
                "attribution": "last", "traffic_source": "ad"}
    assert {k: v.properties[k] for k in expected} == expected
    # unmapped columns stay under their header (schema drift)
    assert v.properties["ym:s:browser"] == "chrome"
    assert v.properties["ym:s:dateTimeUTC"] == "2025-10-09 08:46:58"
    assert v.properties["ym:s:lastAdvEngine"] == "ya_direct"
    assert "ym:s:lastTrafficSource" not in v.properties and "ym:s:goalsID" not in v.properties

    # every 19-digit id in the file arrives as the same text
    raw = VISITS.read_text(encoding="utf-8")
    for e in ev.values():
        (_, client), = e.identifiers
        assert re.fullmatch(r"\d{19}", client) and client in raw
        assert re.fullmatch(r"\d{19}", e.properties["visit_id"]) and e.properties["visit_id"] in raw
    assert ev[f"visit:{V2}"].identifiers == [("ym_client_id", A)]
    assert ev["visit:7234567890123456856"].properties["watch_ids"] == "[]"


def test_visit_channels_and_utms():
    ev = by_id(parse_file("metrica_visits", VISITS))
    got = {vid: (ev[f"visit:{vid}"].channel, ev[f"visit:{vid}"].utm_source) for vid in
           (V1, V2, V3, V4, "7234567890123456823", V6, V7, "7234567890123456856", V9)}
    assert got == {V1: ("paid", "yandex"), V2: ("direct", None), V3: ("organic", None), V4: ("referral", None),
                   "7234567890123456823": ("social", "vk"), V6: ("paid", "google"), V7: ("email", "sendsay"),
                   "7234567890123456856": ("direct", None), V9: ("saved", None)}


def test_goals_follow_the_parallel_arrays_in_utc_plus_3():
    records = parse_file("metrica_visits", VISITS)
    row3 = [r for r in records if r.row == 3]
    assert [(r.part, r.event_type, r.event_id, r.event_time) for r in row3] == [
        (0, "visit", f"visit:{V3}", "2025-10-09 23:58:10"),
        (1, "goal", f"visit:{V3}:goal:312345678:1", "2025-10-09T21:59:00+03:00"),
        (2, "goal", f"visit:{V3}:goal:312345678:2", "2025-10-09T22:01:30+03:00"),
        (3, "goal", f"visit:{V3}:goal:312345680:1", "2025-10-09T22:03:45+03:00"),
    ]
    goal = row3[2]
    assert goal.properties == {"visit_id": V3, "counter_id": "68971321", "goal_id": "312345678", "goal_serial": "2",
                               "goal_price": "0"}
    assert goal.identifiers == [("ym_client_id", B)]
    assert goal.channel == "organic" and goal.url is None
    ev = by_id(records)
    assert ev[f"visit:{V1}:goal:312345679:1"].properties["goal_price"] == "500"
    assert ev[f"visit:{V1}:goal:312345679:1"].utm_campaign == "brand"
    assert ev[f"visit:{V4}:goal:312345679:1"].event_time == "2025-10-10T00:12:05+03:00"
    assert sum(1 for r in records if isinstance(r, Event) and r.event_type == "goal") == 8


def test_purchases_carry_revenue():
    records = parse_file("metrica_visits", VISITS)
    ev = by_id(records)
    p = ev[f"visit:{V2}:purchase:ORD-1045"]
    assert (p.row, p.part, p.event_type, p.revenue) == (2, 2, "purchase", "12300")
    assert p.event_time == "2025-10-11T07:05:10+03:00"
    assert p.properties == {"visit_id": V2, "counter_id": "68971321", "purchase_id": "ORD-1045",
                            "purchase_currency": "RUB", "purchase_coupon": "ОСЕНЬ'25, -10%"}
    assert p.identifiers == [("ym_client_id", A)]
    two = [(r.event_id, r.revenue, r.event_time) for r in records if r.row == 7 and r.event_type == "purchase"]
    assert two == [(f"visit:{V6}:purchase:ORD-1046", "4990.5", "2025-10-10T16:09:12+03:00"),
                   (f"visit:{V6}:purchase:ORD-1047", "1200", "2025-10-10T16:15:40+03:00")]
    assert sum(1 for r in records if isinstance(r, Event) and r.event_type == "purchase") == 3


def test_unreadable_lines_are_rejected_naming_the_problem():
    records = parse_file("metrica_visits", VISITS)
    rej = rejects(records)
    assert sorted(rej) == [5, 8, 12]
    assert rej[5].reason == "expected 30 tab-separated fields, got 14"
    assert rej[5].raw_text.startswith("7234567890123456878\t68971321\t")
    assert rej[8].reason.startswith("parallel arrays of different lengths:")
    assert "ym:s:goalsID has 2" in rej[8].reason and "ym:s:goalsDateTime has 1" in rej[8].reason
    assert rej[12].reason.startswith("ym:s:purchaseCoupon: cannot read the array")
    # a rejected line yields nothing else; every line is accounted for
    assert not [r for r in records if isinstance(r, Event) and r.row in rej]
    assert {r.row for r in records} == set(range(1, 13))


def test_attribution_auto_picks_the_model_in_the_file():
    ev = by_id(parse_file("metrica_visits", LASTSIGN))
    # lastsign is preferred over cross_device_last_significant
    v3 = ev[f"visit:{V3}"]
    assert (v3.channel, v3.utm_source, v3.properties["attribution"]) == ("organic", None, "lastsign")
    # the other model's fields stay as properties; a new column too
    assert v3.properties["ym:s:cross_device_last_significantTrafficSource"] == "ad"
    assert v3.properties["ym:s:regionCountry"] == "RU"
    assert "ym:s:lastsignTrafficSource" not in v3.properties
    assert ev[f"visit:{V2}"].channel == "paid"  # last significant click of A's direct visit: the ad
    # a file with only `last` fields reads those
    assert by_id(parse_file("metrica_visits", VISITS))[f"visit:{V1}"].properties["attribution"] == "last"


def test_attribution_option_picks_a_model():
    ev = by_id(parse_file("metrica_visits", LASTSIGN, options={"attribution": "cross_device_last_significant"}))
    v3 = ev[f"visit:{V3}"]
    assert (v3.channel, v3.utm_source, v3.utm_medium, v3.utm_campaign) == ("paid", "yandex", "cpc", "brand")
    assert v3.properties["attribution"] == "cross_device_last_significant"
    assert v3.properties["ym:s:lastsignTrafficSource"] == "organic"
    # the API's upper-case spelling works too
    assert by_id(parse_file("metrica_visits", LASTSIGN, options={"attribution": "LASTSIGN"}))[
        f"visit:{V3}"].channel == "organic"


def test_attribution_option_absent_from_the_file_is_an_error():
    with pytest.raises(InputDataError) as e:
        parse_file("metrica_visits", VISITS, options={"attribution": "lastsign"})
    msg = str(e.value)
    assert str(VISITS) in msg and "'lastsign'" in msg and "models in the file: last" in msg
    with pytest.raises(InputDataError, match="unknown model 'lastclick'"):
        parse_file("metrica_visits", VISITS, options={"attribution": "lastclick"})


def test_goals_without_times_use_the_visit_time_and_purchases_without_ids_their_position():
    ev = by_id(parse_file("metrica_visits", LASTSIGN))
    assert ev[f"visit:{V3}:goal:312345678:2"].event_time == "2025-10-09 23:58:10"
    p = ev[f"visit:{V2}:purchase:#1"]
    assert (p.revenue, p.event_time) == ("12300", "2025-10-11 09:00:00")
    assert not [e for e in ev if e.startswith(f"visit:{V9}:")]


def test_the_reference_sample_reads_and_its_malformed_second_line_is_rejected():
    records = parse_file("metrica_visits", SAMPLE)
    ev = by_id(records)
    assert list(ev) == [f"visit:{V1}", f"visit:{V1}:goal:312345678:1", f"visit:{V1}:goal:312345679:2"]
    assert ev[f"visit:{V1}:goal:312345679:2"].event_time == "2024-03-01T10:49:02+03:00"
    # UTMs without a model in their name are read with the `last` traffic source
    assert (ev[f"visit:{V1}"].channel, ev[f"visit:{V1}"].utm_campaign) == ("paid", "brand")
    assert "counter_id" not in ev[f"visit:{V1}:goal:312345678:1"].properties
    assert rejects(records)[2].reason == "expected 12 tab-separated fields, got 13"


def test_utms_come_from_the_start_url_when_the_file_has_no_utm_fields(tmp_path):
    lines = VISITS.read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    keep = [i for i, h in enumerate(header) if "UTM" not in h]
    path = tmp_path / "visits_no_utm.tsv"
    path.write_text("\n".join("\t".join(line.split("\t")[i] for i in keep) for line in lines[:2]) + "\n",
                    encoding="utf-8")
    v = by_id(parse_file("metrica_visits", path))[f"visit:{V1}"]
    assert (v.utm_source, v.utm_medium, v.utm_campaign, v.channel) == ("yandex", "cpc", "brand", "paid")


def test_an_empty_date_time_falls_back_to_the_utc_plus_3_one(tmp_path):
    lines = VISITS.read_text(encoding="utf-8").split("\n")
    path = tmp_path / "visits.tsv"
    path.write_text("\n".join([lines[0], lines[1].replace("\t2025-10-09 10:46:58\t", "\t\t", 1)]) + "\n",
                    encoding="utf-8")
    assert by_id(parse_file("metrica_visits", path))[f"visit:{V1}"].event_time == "2025-10-09T08:46:58+03:00"


def test_missing_required_columns_name_the_file_and_the_closest_match(tmp_path):
    path = tmp_path / "visits.tsv"
    path.write_text(VISITS.read_text(encoding="utf-8").replace("ym:s:clientID", "ym:s:clientId", 1), encoding="utf-8")
    with pytest.raises(InputDataError) as e:
        parse_file("metrica_visits", path)
    assert str(path) in str(e.value) and "'ym:s:clientID' (closest match: 'ym:s:clientId')" in str(e.value)
    with pytest.raises(InputDataError, match="ym:s:visitID"):
        parse_file("metrica_visits", HITS_OLD)
    with pytest.raises(InputDataError, match="ym:pv:watchID"):
        parse_file("metrica_hits", VISITS)


# --------------------------------------------------------------------------- hits (parser)


def test_hit_types_ids_and_properties():
    old = parse_file("metrica_hits", HITS_OLD)
    assert [(r.row, r.event_type, r.event_id) for r in old] == [
        (1, "page_view", "hit:7234567890123400001"), (2, "page_view", "hit:7234567890123400002"),
        (3, "link_click", "hit:7234567890123400003"), (4, "page_view", "hit:7234567890123500001"),
        (5, "file_download", "hit:7234567890123500002"), (6, "hit", "hit:7234567890123500003")]
    h = old[1]
    assert h.event_time == "2025-10-09 10:47:30"
    assert h.identifiers == [("ym_client_id", A)]
    assert h.url == "https://example.ru/catalog/sofas"
    assert h.properties["title"] == "Диван 'Осло'\tхит продаж"  # TSV escapes undone
    assert h.properties["watch_id"] == "7234567890123400002"
    assert h.properties["goals_id"] == "[312345678]"
    assert h.properties["ym:pv:browser"] == "chrome"
    assert "visit_id" not in h.properties  # exported before 2025-10-10: no ym:pv:visitID
    assert h.channel is None  # no traffic source, no UTM: the visit's channel applies in SQL
    landing = old[0]
    assert (landing.channel, landing.utm_source, landing.utm_campaign) == ("paid", "yandex", "brand")


def test_new_hits_carry_visit_ids_and_their_traffic_source():
    records = parse_file("metrica_hits", HITS_NEW)
    ev = by_id(records)
    assert ev["hit:7234567890123700001"].properties["visit_id"] == V4
    assert ev["hit:7234567890123700001"].channel == "referral"
    assert ev["hit:7234567890123700002"].channel is None
    assert ev["hit:7234567890123600001"].properties["visit_id"] is None  # visitID 0: no id
    assert ev["hit:7234567890124000001"].channel == "email"
    assert ev["hit:7234567890124000001"].utm_campaign == "october_digest"
    rej = rejects(records)
    assert sorted(rej) == [6, 7]
    assert rej[6].reason == "expected 19 tab-separated fields, got 8"
    assert ev["hit:7234567890124100001"].row == 8


# --------------------------------------------------------------------------- end to end


def test_load_visits_end_to_end(tmp_path):
    loaded = load_sources(tmp_path, visit_sources())
    ev = loaded.events.set_index("event_id")
    assert len(ev) == 20
    assert ev.event_type.value_counts().to_dict() == {"visit": 9, "goal": 8, "purchase": 3}
    assert set(ev.source_system) == {"metrica"}
    ts = ev.event_ts
    # counter-local visit times (UTC+5) and UTC+3 goal times, all in UTC
    assert ts[f"ym:visit:{V1}"] == pd.Timestamp("2025-10-09 05:46:58")
    assert ts[f"ym:visit:{V1}:goal:312345678:1"] == pd.Timestamp("2025-10-09 05:47:30")
    assert ts[f"ym:visit:{V3}"] == pd.Timestamp("2025-10-09 18:58:10")
    # 00:01:30 next day locally, still 2025-10-09 in UTC
    assert ts[f"ym:visit:{V3}:goal:312345678:2"] == pd.Timestamp("2025-10-09 19:01:30")
    # 02:10 local on the 10th is 21:10 UTC on the 9th; its goal is written 2025-10-10 00:12:05 (UTC+3)
    assert ts[f"ym:visit:{V4}"] == pd.Timestamp("2025-10-09 21:10:00")
    assert ts[f"ym:visit:{V4}:goal:312345679:1"] == pd.Timestamp("2025-10-09 21:12:05")
    assert ts[f"ym:visit:{V2}:purchase:ORD-1045"] == pd.Timestamp("2025-10-11 04:05:10")
    assert ev.revenue.sum() == pytest.approx(12300 + 4990.5 + 1200)
    assert ev.loc[f"ym:visit:{V6}:purchase:ORD-1046", "revenue"] == pytest.approx(4990.5)
    assert props(loaded, f"ym:visit:{V1}")["watch_ids"] == \
        "[7234567890123400001,7234567890123400002,7234567890123400003]"

    # the same cookie on two days: one identifier on both visits; 19 digits exact
    assert loaded.ids(f"ym:visit:{V1}") == {f"ym_client_id:{A}"}
    assert loaded.ids(f"ym:visit:{V2}") == {f"ym_client_id:{A}"}
    assert loaded.ids(f"ym:visit:{V3}:goal:312345680:1") == {f"ym_client_id:{B}"}
    assert set(loaded.identifiers.id_type) == {"ym_client_id"}
    assert all(re.fullmatch(r"ym_client_id:\d{19}", i) for i in loaded.identifiers.identifier)

    q = loaded.quarantine.set_index("row_number")
    assert sorted(q.index) == [5, 8, 12]
    assert set(q.file) == {str(VISITS)}
    assert q.loc[5, "reason"] == "expected 30 tab-separated fields, got 14"
    assert q.loc[8, "reason"].startswith("parallel arrays of different lengths: ym:s:goalsID has 2")
    assert q.loc[12, "reason"].startswith("ym:s:purchaseCoupon: cannot read the array")
    assert q.loc[12, "raw_text"].startswith("7234567890123456890\t")
    assert counts(loaded, "ym") == (12, 9, 0, 3)


def test_config_time_zone_applies_when_the_source_sets_none(tmp_path):
    loaded = load_source(tmp_path, "metrica_visits", VISITS, timezone=TZ, name="ym")
    ts = loaded.events.set_index("event_id").event_ts
    assert ts[f"ym:visit:{V3}"] == pd.Timestamp("2025-10-09 18:58:10")
    # goal times carry their own +03:00 whatever the zone
    assert ts[f"ym:visit:{V3}:goal:312345678:2"] == pd.Timestamp("2025-10-09 19:01:30")
    moscow = load_source(tmp_path / "msk", "metrica_visits", VISITS, name="ym")
    assert moscow.events.set_index("event_id").event_ts[f"ym:visit:{V3}"] == pd.Timestamp("2025-10-09 20:58:10")


def test_loading_the_same_folder_twice_changes_nothing(tmp_path):
    first = load_sources(tmp_path, visit_sources() + hit_sources())
    second = load_sources(tmp_path, visit_sources() + hit_sources())
    cols = ["event_id", "event_ts", "event_type", "channel", "revenue", "_load_id"]
    pd.testing.assert_frame_equal(first.events[cols], second.events[cols])
    pd.testing.assert_frame_equal(first.quarantine, second.quarantine)
    pd.testing.assert_frame_equal(first.accounting, second.accounting)
    assert counts(second, "ym") == (12, 9, 0, 3)
    assert counts(second, "ymh") == (14, 12, 0, 2)


def test_an_overlapping_re_export_adds_no_events(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(VISITS, folder / VISITS.name)
    first = load_sources(tmp_path, visit_sources(path=str(folder)))
    # the next day's request re-exports lines 2-4 (a new file: other bytes, same visits)
    lines = VISITS.read_text(encoding="utf-8").split("\n")
    (folder / "visits_20251010-20251012_part0.tsv").write_text("\n".join([lines[0], *lines[2:5]]) + "\n",
                                                              encoding="utf-8")
    second = load_sources(tmp_path, visit_sources(path=str(folder)))
    assert set(second.events.event_id) == set(first.events.event_id)
    assert len(second.events) == 20
    assert counts(second, "ym") == (15, 9, 3, 3)


def test_hits_join_their_visits_through_watch_ids_or_visit_id(tmp_path):
    loaded = load_sources(tmp_path, visit_sources() + hit_sources())
    ev = loaded.events.set_index("event_id")
    hits = ev[ev.source == "ymh"]
    assert hits.event_type.value_counts().to_dict() == {"page_view": 9, "link_click": 1, "file_download": 1,
                                                         "hit": 1}
    assert hits.loc["ymh:hit:7234567890123400001", "event_ts"] == pd.Timestamp("2025-10-09 05:46:58")
    # old hit, no ym:pv:visitID: found in V1's watchIDs, takes its channel and UTMs
    assert tuple(hits.loc["ymh:hit:7234567890123400002", ["channel", "utm_campaign"]]) == ("paid", "brand")
    assert hits.loc["ymh:hit:7234567890123500003", "channel"] == "organic"
    # visitID 0: found in V2's watchIDs
    assert hits.loc["ymh:hit:7234567890123600001", "channel"] == "direct"
    # new hit with visitID and an empty traffic source: its visit's
    assert hits.loc["ymh:hit:7234567890123700002", "channel"] == "referral"
    assert loaded.ids("ymh:hit:7234567890123400002") == {f"ym_client_id:{A}"}
    assert props(loaded, "ymh:hit:7234567890123700001")["visit_id"] == V4
    q = loaded.quarantine[loaded.quarantine.source == "ymh"]
    assert sorted(zip(q.file, q.row_number)) == [(str(HITS_NEW), 6), (str(HITS_NEW), 7)]
    assert counts(loaded, "ymh") == (14, 12, 0, 2)


def test_formats_are_registered_with_their_options():
    reg = formats_module.registry()
    assert reg["metrica_visits"].options == {"attribution": "auto"}
    assert reg["metrica_hits"].options == {}
    assert reg["metrica_visits"].parse is metrica.parse_visits
    assert ".tsv" in reg["metrica_hits"].suffixes
