"""The journey map's measures (docs/semantics.md, "Journey map"): where an answer or a pain belongs,
the NPS arithmetic, invalid scores, and the forward rate against a plain-Python reference.

Each test builds its journeys with ``journeys_for`` (every step after ``events``), with a
``feedback:`` entry for ``nps`` events (score in ``properties.score``, comment in ``properties.text``)
and a ``pains:`` rule for ``err`` events, unless it says otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections import defaultdict

import pandas as pd
import pytest

from cjm_pipeline import journey_map
from cjm_pipeline.config import config_from_dict
from cjm_pipeline.errors import ConfigError
from journeys import journeys_for

FEEDBACK = {"feedback": [{"event_type": "nps", "score": "properties.score", "scale": "nps", "comment": "properties.text"}],
            "pains": [{"event_type": "err", "name": "payment error"}]}


def answers(r) -> dict[str, tuple[str, int]]:
    """event id -> (stage, stage_order) of every feedback answer."""
    t = r.table("map_events")
    t = t[t["rule_set"] == "feedback"]
    return {e: (s, int(o)) for e, s, o in zip(t["event_id"], t["stage"], t["stage_order"])}


# --------------------------------------------------------------------------- where an answer belongs


def test_an_answer_belongs_to_the_stage_of_the_visit_it_falls_in():
    r = journeys_for({
        "before": [("nps", "2025-01-01 09:00", {"score": "3"}), ("a", "2025-01-01 10:00")],
        "during": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:30", {"score": "8"}), ("b", "2025-01-01 11:00")],
        "after": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("nps", "2025-03-01 10:00", {"score": "9"})],
        "back": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("a", "2025-01-01 12:00"),
                 ("nps", "2025-01-01 12:05", {"score": "9"})],
    }, stages=["a", "b", "c"], sections=FEEDBACK)
    assert answers(r) == {
        "before-0000": ("(before first stage)", 0),  # no visit entered yet
        "during-0001": ("a", 1),
        "after-0002": ("b", 2),  # after the last visit: the customer is still in it
        "back-0003": ("a", 1),  # the visit it falls in, not the furthest stage
    }


def test_on_the_boundary_of_a_visit_the_event_order_decides():
    """At one instant staged events come before unstaged ones, so an answer at the instant a visit
    is entered falls in that visit; a staged answer falls in its own visit, even when a later
    stage's visit is entered at the same instant (it comes after it in the event order)."""
    stages = [{"name": "a", "rules": [{"event_type": "a"}]},
              {"name": "b", "rules": [{"event_type": "b"}, {"event_type": "nps", "properties.score": "10"}]},
              {"name": "c", "rules": [{"event_type": "c"}]}]
    r = journeys_for({
        "same": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 11:00", {"score": "7"}), ("b", "2025-01-01 11:00")],
        "staged": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 11:00"), ("nps", "2025-01-01 11:00", {"score": "10"})],
        "second": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:59:59", {"score": "7"}), ("b", "2025-01-01 11:00")],
    }, stage_rules=stages, sections=FEEDBACK)
    assert answers(r) == {"same-0001": ("b", 2), "staged-0002": ("b", 2), "second-0001": ("a", 1)}
    # the staged answer is still the stage's event (feedback never changes a stage) and in the funnel
    events = r.table("classified_events")
    assert events.set_index("event_id").loc["staged-0002", "stage"] == "b"


def test_an_entry_stage_overrides_the_timeline_and_pains_attach_the_same_way():
    sections = {"feedback": [{"event_type": "nps", "score": "properties.score", "scale": "nps", "stage": "c"}],
                "pains": [{"event_type": "err"}]}
    r = journeys_for({"c1": [("nps", "2025-01-01 09:00", {"score": "9"}), ("a", "2025-01-01 10:00"),
                             ("err", "2025-01-01 10:00"), ("err", "2025-01-01 09:59")]},
                     stages=["a", "b", "c"], sections=sections)
    t = r.table("map_events").set_index("event_id")
    assert t.loc["c1-0000", ["rule_set", "stage", "stage_order"]].tolist() == ["feedback", "c", 3]
    assert t.loc["c1-0002", ["rule_set", "stage"]].tolist() == ["pain", "a"]
    assert t.loc["c1-0003", ["rule_set", "stage"]].tolist() == ["pain", "(before first stage)"]


# --------------------------------------------------------------------------- NPS and scores


def test_nps_is_promoters_minus_detractors_in_percent_of_the_nps_answers():
    scores = ["10", "9", "9,5", "8", "7", "6", "0", "3"]  # 9,5: a decimal comma
    r = journeys_for({f"c{i}": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:30", {"score": s})]
                      for i, s in enumerate(scores)}, stages=["a", "b"], sections=FEEDBACK)
    row = r.table("stage_feedback").set_index("stage").loc["a"]
    values = [10, 9, 9.5, 8, 7, 6, 0, 3]
    assert (row["answers"], row["customers"], row["promoters"], row["passives"], row["detractors"]) == (8, 8, 3, 2, 3)
    assert row["nps"] == pytest.approx(100 * (3 - 3) / 8)
    assert row["mean_score"] == pytest.approx(sum(values) / 8)
    assert row["score_norm"] == pytest.approx(sum(values) / 80)
    assert row["negative_share"] == pytest.approx(3 / 8)  # 6, 0, 3: at most 6 on the nps scale
    assert row["scale"] == "nps" and row["feedback"] == "(all)"
    b = r.table("stage_feedback").set_index("stage").loc["b"]
    assert b["answers"] == 0 and pd.isna(b["nps"]) and pd.isna(b["mean_score"])


def test_several_entries_give_a_row_each_and_mixed_scales_no_mean():
    sections = {"feedback": [{"name": "NPS", "event_type": "nps", "score": "properties.score", "scale": "nps"},
                             {"name": "stars", "event_type": "review", "score": "properties.stars", "scale": "1-5",
                              "negative_max": 3}]}
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:10", {"score": "10"}),
               ("review", "2025-01-01 10:20", {"stars": "2"})],
        "c2": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:10", {"score": "4"}),
               ("review", "2025-01-01 10:20", {"stars": "5"}), ("review", "2025-01-01 10:30", {"stars": "3"})],
    }, stages=["a", "b"], sections=sections)
    t = r.table("stage_feedback")
    a = t[t["stage"] == "a"].set_index("feedback")
    assert list(a.index) == ["(all)", "NPS", "stars"]
    assert a.loc["NPS", "nps"] == 0 and a.loc["NPS", "mean_score"] == 7
    assert a.loc["stars", "mean_score"] == pytest.approx(10 / 3) and pd.isna(a.loc["stars", "nps"])
    assert a.loc["stars", "negative_share"] == pytest.approx(2 / 3)  # 2 and 3 (negative_max: 3)
    assert a.loc["(all)", "scale"] == "mixed" and pd.isna(a.loc["(all)", "mean_score"])
    assert a.loc["(all)", "answers"] == 5 and a.loc["(all)", "nps"] == 0  # over the nps-scale answers
    assert a.loc["(all)", "score_norm"] == pytest.approx((1 + 0.4 + 0.25 + 1 + 0.5) / 5)


def test_invalid_scores_are_kept_with_their_reason_and_warned_about():
    raw = {"abc": "score: not a number: 'abc'", "": "score: empty", "11": "score: 11 is off the scale nps (0-10)",
           "-1": "score: -1 is off the scale nps (0-10)", "nan": "score: nan is off the scale nps (0-10)",
           "1e3": "score: 1e3 is off the scale nps (0-10)"}
    journeys = {f"c{i}": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:30", {"score": s})]
                for i, s in enumerate(raw)}
    journeys["nothing"] = [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:30")]  # no score at all
    journeys["fine"] = [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:30", {"score": " 7 "})]
    r = journeys_for(journeys, stages=["a", "b"], sections=FEEDBACK)
    invalid = r.table("feedback_invalid").set_index("customer_id")
    expected = {f"c{i}": reason for i, reason in enumerate(raw.values())}
    expected["nothing"] = "score: empty"
    assert invalid["reason"].to_dict() == expected
    assert (invalid["feedback"] == "nps").all() and (invalid["stage"] == "a").all()
    row = r.table("stage_feedback").set_index("stage").loc["a"]
    assert (row["answers"], row["invalid"], row["mean_score"]) == (1, 7, 7.0)  # none dropped silently
    warnings = journey_map.run_warnings(r.con)
    assert len(warnings) == 1 and warnings[0].startswith("7 feedback answer(s) have no usable score")
    assert "feedback_invalid" in warnings[0]


def test_negative_comments_are_quoted_newest_first_and_masked():
    r = journeys_for({"c1": [("a", "2025-01-01 10:00"),
                             ("nps", "2025-01-01 10:10", {"score": "2", "text": "old"}),
                             ("nps", "2025-01-01 10:20", {"score": "9", "text": "great"}),
                             ("nps", "2025-01-01 10:30", {"score": "1", "text": "call me: 8 916 123-45-67"})]},
                     stages=["a", "b"], sections=FEEDBACK)
    raw = journey_map.read_map(r.con, mask=False)
    shown = journey_map.read_map(r.con)
    pick = lambda f: f[(f["section"] == "feelings") & (f["item"] == "comment")]["note"].tolist()  # noqa: E731
    assert pick(raw) == ["call me: 8 916 123-45-67", "old"]  # positive answers' comments are not quoted
    assert pick(shown) == ["call me: <phone>", "old"]


# --------------------------------------------------------------------------- forward rates against a reference


def _order(event):
    return event["ts"], event["stage_order"] if event["stage_order"] is not None else math.inf, event["id"]


def reference(journeys: dict[str, list[tuple]], stages: list[str], window_s: int):
    """Touchpoints and pains per stage, computed the plain way (docs/semantics.md, "Journey map")."""
    order = {s: i + 1 for i, s in enumerate(stages)}
    touch = defaultdict(lambda: {"events": 0, "customers": set(), "visits": set(), "forward": set()})
    stage_visits, hits, visitors = defaultdict(set), defaultdict(set), defaultdict(dict)
    for customer, raw in journeys.items():
        events = [{"id": f"{customer}-{i:04d}", "type": e[0], "ts": dt.datetime.fromisoformat(e[1]),
                   "channel": (e[2] if len(e) > 2 else {}).get("channel"), "stage_order": order.get(e[0])}
                  for i, e in enumerate(raw)]
        events.sort(key=_order)
        visits, placed = [], []
        for e in events:
            if e["stage_order"] is not None and (not visits or visits[-1]["stage"] != e["type"]):
                visits.append({"stage": e["type"], "entered": e["ts"]})
            placed.append((e, len(visits) - 1))
        for i, v in enumerate(visits):
            nxt = visits[i + 1] if i + 1 < len(visits) else None
            v["moved"] = bool(nxt and order[nxt["stage"]] > order[v["stage"]]
                              and (nxt["entered"] - v["entered"]).total_seconds() <= window_s)
            stage_visits[v["stage"]].add((customer, i, v["moved"]))
            visitors[v["stage"]][customer] = visitors[v["stage"]].get(customer, False) or v["moved"]
        for e, i in placed:
            if i < 0:
                if e["type"] == "err":
                    hits["(before first stage)"].add(customer)
                continue
            stage = visits[i]["stage"]
            key = (stage, f"{e['type']} · test · {e['channel'] or '(none)'}")
            touch[key]["events"] += 1
            touch[key]["customers"].add(customer)
            touch[key]["visits"].add((customer, i))
            if visits[i]["moved"]:
                touch[key]["forward"].add((customer, i))
            if e["type"] == "err":
                hits[stage].add(customer)
    last = stages[-1]
    rate = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    stage_rate = {s: None if s == last else rate([m for _, _, m in vs]) for s, vs in stage_visits.items()}
    touchpoints = {key: {"events": t["events"], "customers": len(t["customers"]), "visits": len(t["visits"]),
                         "share": len(t["customers"]) / len(visitors[key[0]]),
                         "forward_rate": None if key[0] == last else len(t["forward"]) / len(t["visits"]),
                         "stage_forward_rate": stage_rate[key[0]]}
                   for key, t in touch.items()}
    pains = {}
    for stage, who in hits.items():
        if stage not in visitors:  # before the first stage: no visitors, no rates
            pains[stage] = {"customers": len(who), "share": None, "hit": None, "not_hit": None}
            continue
        hit = [visitors[stage][c] for c in visitors[stage] if c in who]
        rest = [visitors[stage][c] for c in visitors[stage] if c not in who]
        pains[stage] = {"customers": len(who), "share": len(who) / len(visitors[stage]),
                        "hit": None if stage == last else rate(hit), "not_hit": None if stage == last else rate(rest)}
    return touchpoints, pains


def random_journeys(rng: random.Random, n: int) -> dict[str, list[tuple]]:
    kinds = [("a", None), ("b", None), ("c", None), ("x", "email"), ("x", "paid"), ("y", None), ("err", None)]
    out = {}
    for c in range(n):
        start = dt.datetime(2025, 1, 1) + dt.timedelta(hours=rng.randrange(48))
        events = []
        for _ in range(rng.randint(1, 9)):
            kind, channel = rng.choice(kinds)
            when = start + dt.timedelta(minutes=10 * rng.randrange(6 * 24 * 4))  # ties: 10-minute grid, 4 days
            events.append((kind, when.isoformat(sep=" "), {"channel": channel} if channel else {}))
        out[f"c{c:03d}"] = events
    return out


def _same(got, want) -> bool:
    if want is None:
        return got is None or pd.isna(got)
    return got == pytest.approx(want)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_rates_match_a_plain_python_reference(seed):
    rng = random.Random(seed)
    journeys = random_journeys(rng, 60)
    stages, window = ["a", "b", "c"], "1d"
    r = journeys_for(journeys, stages=stages, window=window, sections=FEEDBACK)
    want_touch, want_pains = reference(journeys, stages, 86400)
    got = r.table("stage_touchpoints")
    got = got[got["touchpoint"] != "(other)"]
    assert len(got) == len(want_touch) <= 6 * 3  # every touchpoint ranked (fewer than the top N per stage)
    for row in got.itertuples():
        want = want_touch[(row.stage, row.touchpoint)]
        assert (row.events, row.customers, row.visits) == (want["events"], want["customers"], want["visits"]), row
        assert _same(row.share, want["share"]) and _same(row.forward_rate, want["forward_rate"]), row
        assert _same(row.stage_forward_rate, want["stage_forward_rate"]), row
        assert _same(row.lift, None if want["forward_rate"] is None else want["forward_rate"] - want["stage_forward_rate"])
    pains = r.table("stage_pains")
    pains = pains[pains["kind"] == "pain"].set_index("stage")
    assert set(pains.index) == set(want_pains)
    for stage, want in want_pains.items():
        row = pains.loc[stage]
        assert row["pain"] == "payment error" and row["customers"] == want["customers"]
        assert _same(row["share"], want["share"])
        assert _same(row["forward_rate_hit"], want["hit"]) and _same(row["forward_rate_not_hit"], want["not_hit"])


def test_top_touchpoints_and_the_rest_as_other():
    journeys = {f"c{i}": [("a", "2025-01-01 10:00")] + [(f"t{k}", f"2025-01-01 10:{10 + k:02d}") for k in range(i % 14)]
                for i in range(30)}
    r = journeys_for(journeys, stages=["a", "b"], sections=FEEDBACK)
    t = r.table("stage_touchpoints").sort_values("rank")
    assert t["rank"].tolist() == list(range(1, 12)) and t["touchpoint"].iloc[-1] == "(other)"
    assert t["touchpoint"].iloc[0] == "a · test · (none)" and t["customers"].iloc[0] == 30
    other = t.iloc[-1]  # t9 .. t12 (t0 .. t8 and a are the top 10)
    assert other["customers"] == sum(1 for i in range(30) if i % 14 > 9)
    assert other["events"] == sum(max(0, i % 14 - 9) for i in range(30))


# --------------------------------------------------------------------------- the map table


def test_journey_map_has_every_section_per_stage_with_the_description():
    stages = [{"name": "a", "description": "first visit", "rules": [{"event_type": "a"}],
               "kpi": {"conversion_to_next_min": 0.5}},
              {"name": "b", "description": "a purchase", "rules": [{"event_type": "b"}]}]
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00", {"channel": "paid"}), ("nps", "2025-01-01 10:10", {"score": "3", "text": "slow"}),
               ("err", "2025-01-01 10:20"), ("b", "2025-01-01 11:00")],
        "c2": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:10", {"score": "10"})],
        "c3": [("page_view", "2025-01-01 14:00")],  # moves the data cutoff: both visits of a are complete
    }, stage_rules=stages, sections=FEEDBACK, window="2h")
    m = journey_map.read_map(r.con)
    a = m[m["stage"] == "a"]
    assert (a["description"] == "first visit").all()
    assert list(dict.fromkeys(a["section"])) == list(journey_map.SECTIONS)
    items = {(s, i): (c, sh, v) for s, i, c, sh, v in zip(a["section"], a["item"], a["customers"], a["share"], a["value"])}
    assert items[("feelings", "NPS")][2] == 0  # one promoter, one detractor
    assert items[("pains", "payment error")][:2] == (1, 0.5)
    assert items[("pains", "payment error")][2] == pytest.approx(1.0 - 0.0)  # lift: c1 moved on, c2 did not
    assert items[("kpis", "visitors")][0] == 2 and items[("kpis", "conversion to next")][2] == 0.5
    assert items[("kpis", "conversion_to_next_min")][2] == 0.5
    # next: the probabilities over a's complete visits, then the outlook (the chain: 1/2 reach b)
    assert items[("next", "b")] == (1, 0.5, 1.0) and items[("next", "(end)")] == (1, 0.5, 1.0)
    assert items[("next", "(reach goal)")][1:] == (0.5, 0.5)
    assert ("next", "(open now)") not in items  # nobody is in a at the cutoff: c1 is in b, c2's visit ended
    assert m[m["stage"] == "b"]["item"].isin(["(reach goal)", "(open now)"]).sum() == 0  # the goal has no outlook
    assert m.set_index(["stage", "section", "rank"]).index.is_unique


def test_map_config_errors_name_the_key_and_what_is_valid():
    base = {"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
            "stages": [{"name": "a", "rules": [{"event_type": "a"}]}, {"name": "b", "rules": [{"event_type": "b"}]}]}
    with pytest.raises(ConfigError) as e:
        config_from_dict({**base, "feedback": [{"event_type": "nps", "score": "score", "scale": "1-7"},
                                               {"event_type": "nps", "scor": "properties.s", "scale": "nps"},
                                               {"event_type": "nps", "score": "properties.s", "scale": "nps",
                                                "stage": "c", "negative_max": 11}],
                                  "pains": [{"name": "x"}, {"event_tpe": "err"}]})
    text = str(e.value)
    assert "feedback[0].score: 'score' is not a column; write the source's column holding the score as " \
           "properties.<column>" in text
    assert "feedback[0].scale: unknown scale '1-7'" in text and "(valid: nps, 1-5, 1-10, 0-100" in text
    assert "feedback[1].scor: unknown key; did you mean 'score'?" in text
    assert "feedback[2].stage: unknown stage 'c'" in text and "feedback[2].negative_max: 11 is off the scale nps" in text
    assert "pains[0]: no key to match events with" in text
    assert "pains[1].event_tpe: unknown key; did you mean 'event_type'?" in text


def test_the_map_is_written_as_html_csv_and_xlsx_with_stages_as_columns(tmp_path):
    import openpyxl

    stages = [{"name": "визит", "description": "первый визит", "rules": [{"event_type": "a"}],
               "kpi": {"conversion_to_next_min": 0.9}},
              {"name": "покупка", "rules": [{"event_type": "b"}]}]
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("nps", "2025-01-01 10:10", {"score": "2", "text": "пишите: ivan@mail.ru"}),
               ("b", "2025-01-01 11:00")],
        "c2": [("a", "2025-01-01 10:00"), ("err", "2025-01-01 10:05")],
    }, stage_rules=stages, sections=FEEDBACK)
    frame = journey_map.read_map(r.con)
    page = journey_map.write_map(frame, tmp_path / "map.html", lang="ru").read_text(encoding="utf-8")
    assert re.findall(r"<th data-stage='([^']+)'", page) == ["визит", "покупка"]
    assert re.findall(r"<tr data-row='([^']+)'", page)[:2] == ["description", "customers"]
    assert "первый визит" in page and "NPS −100" in page and "“пишите: &lt;email&gt;”" in page
    assert "background:hsl(0, 70%, 85%)" in page  # the lowest score is red
    assert "payment error — 50% посетителей" in page
    assert "конверсия в следующий ≥ 90,0% → 50,0%: не выполнен" in page
    book = openpyxl.load_workbook(journey_map.write_map(frame, tmp_path / "map.xlsx"))
    grid = book["Map"]
    assert [c.value for c in grid[1]] == [None, "визит", "покупка"]
    assert grid.cell(2, 2).value == "первый визит" and "payment error" in grid.cell(7, 2).value
    assert book["Data"].max_row == len(frame) + 1
    written = pd.read_csv(journey_map.write_map(frame, tmp_path / "map.csv"), encoding="utf-8-sig")
    assert written.shape == frame.shape and "ivan@mail.ru" not in written["note"].astype(str).str.cat()
    with pytest.raises(Exception, match="write the map as map.html, map.csv, map.xlsx"):
        journey_map.write_map(frame, tmp_path / "map.txt")
