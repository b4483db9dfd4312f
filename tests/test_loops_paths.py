"""Loops (sql/outputs/loops.sql) and most common paths (sql/outputs/paths.sql).

Hand-worked journeys for every column, then seeded random journeys against a plain-Python
reference written from the definitions (docs/semantics.md, "Loops" and "Paths", and the SQL header comments), and
invariants tying the outputs to stage_transitions and stage_visits.

Definitions used by the reference:

* Visits: a customer's staged events in the total order (event_ts, stage_order, event_id),
  consecutive events of one stage collapsed; a visit is entered at its first event.
* Back-step j -> i: consecutive visits with order(i) < order(j). It is resolved when a later
  visit (after the visit of i) has order >= order(j); its return time is from entering the
  visit of i to entering the first such later visit.
* Converted: the customer reached the funnel's goal step (its last step) in order within the window:
  the one meaning of journeys.converted (here every journey fits the 90-day window, so it is the
  funnel's stages as a subsequence of the visits).
* Non-loopers of j: customers with a visit of j and no back-step out of j (to any stage).
* Paths: full = visit stages joined with '>'; collapsed = each stage once in order of first
  visit. Rank by customers desc then stage_path; the top `top_paths` are kept and the rest
  summed into one '(other)' row (only when there is a rest). Duration = last visit entry -
  first visit entry.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
import pytest

from cjm_pipeline import db
from cjm_pipeline.steps import BY_NAME
from journeys import journeys_for

LOOPS, PATHS = BY_NAME["loops"], BY_NAME["paths"]

LOOP_COLUMNS = ["from_stage", "from_order", "to_stage", "to_order", "customers", "occurrences", "share_of_visitors",
                "resolved_share", "median_return_s", "looper_conversion", "non_looper_conversion", "conversion_lift"]
PATH_COLUMNS = ["path_kind", "rank", "stage_path", "n_stages", "customers", "share", "converted", "conversion",
                "median_duration_s", "cumulative_share"]


@dataclass
class Built:
    loops: pd.DataFrame
    paths: pd.DataFrame
    back_transitions: int
    back_cells: set[tuple[str, str]]
    customers_with_visits: int


def build(journeys: dict[str, list[tuple]], stages: list[str], top_paths: int = 50, **funnel) -> Built:
    r = journeys_for(journeys, stages, **funnel)
    try:
        LOOPS.run(r.con, {"top_paths": top_paths})
        PATHS.run(r.con, {"top_paths": top_paths})
        return Built(
            loops=db.read_table(r.con, "loops", order_by=["from_order", "to_order"]),
            paths=db.read_table(r.con, "paths", order_by=["path_kind", "rank"]),
            back_transitions=db.scalar(r.con, "select count(*) from stage_transitions where kind = 'back'"),
            back_cells=set(db.execute(r.con, "select from_stage, to_stage from transitions where kind = 'back'")),
            customers_with_visits=db.scalar(r.con, "select count(distinct customer_id) from stage_visits"),
        )
    finally:
        r.con.close()


def nullable(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def rows(frame: pd.DataFrame) -> list[dict]:
    return [{k: nullable(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def assert_rows(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected):
        diff = {k: (a[k], v) for k, v in e.items() if not same(a[k], v)}
        assert not diff, f"row {e}: (sql, expected) differ in {diff}"


def t(hhmm: str) -> str:
    return f"2025-01-01 {hhmm}"


# ---------------------------------------------------------------------------------------
# Hand-worked loops
# ---------------------------------------------------------------------------------------

def test_loops_resolved_abandoned_two_loops_median_and_conversion():
    # stages a < b < c < d; d is the final stage.
    # p: a b a b c b a c d  back-steps: b->a at 12:00 (back to b at 12:30: 1800 s),
    #    c->b at 14:00 (back to c at 17:00: 10800 s), b->a at 15:00 (c at 17:00: 7200 s). converted
    # q: a b a              b->a at 13:00, abandoned. not converted
    # s: a b c d            no loop, converted
    # u: a c b              c->b at 12:00, abandoned (b is below c). not converted
    # w: a b                no loop, not converted
    journeys = {
        "p": [("a", t("10:00")), ("b", t("11:00")), ("a", t("12:00")), ("b", t("12:30")), ("c", t("13:00")),
              ("b", t("14:00")), ("a", t("15:00")), ("c", t("17:00")), ("d", t("18:00"))],
        "q": [("a", t("10:00")), ("b", t("11:00")), ("a", t("13:00"))],
        "s": [("a", t("10:00")), ("b", t("11:00")), ("c", t("12:00")), ("d", t("13:00"))],
        "u": [("a", t("10:00")), ("c", t("11:00")), ("b", t("12:00"))],
        "w": [("a", t("10:00")), ("b", t("11:00")), ("noise", t("12:00"))],
    }
    b = build(journeys, ["a", "b", "c", "d"])
    assert_rows(rows(b.loops), [
        # b visitors p q s u w; loopers p q (p twice); non-loopers s u w, of whom s converted
        {"from_stage": "b", "from_order": 2, "to_stage": "a", "to_order": 1, "customers": 2, "occurrences": 3,
         "share_of_visitors": 2 / 5, "resolved_share": 2 / 3, "median_return_s": 4500.0,
         "looper_conversion": 1 / 2, "non_looper_conversion": 1 / 3, "conversion_lift": 1 / 2 - 1 / 3},
        # c visitors p s u; loopers p u; non-looper s (converted)
        {"from_stage": "c", "from_order": 3, "to_stage": "b", "to_order": 2, "customers": 2, "occurrences": 2,
         "share_of_visitors": 2 / 3, "resolved_share": 1 / 2, "median_return_s": 10800.0,
         "looper_conversion": 1 / 2, "non_looper_conversion": 1.0, "conversion_lift": -1 / 2},
    ])
    assert b.loops["occurrences"].sum() == b.back_transitions == 5


def test_non_loopers_exclude_back_steps_out_of_j_to_any_stage():
    # m: a b c a (c->a), n: a b c b c d (c->b, resolved), o: a b c, k: a b c d.
    # Non-loopers of c are o and k only: n stepped back out of c too (to b), so it is excluded
    # from the c->a comparison group although it never made the c->a back-step.
    journeys = {
        "m": [("a", t("10:00")), ("b", t("10:01")), ("c", t("10:02")), ("a", t("10:03"))],
        "n": [("a", t("10:00")), ("b", t("10:01")), ("c", t("10:02")), ("b", t("10:03")), ("c", t("10:13")),
              ("d", t("10:14"))],
        "o": [("a", t("10:00")), ("b", t("10:01")), ("c", t("10:02"))],
        "k": [("a", t("10:00")), ("b", t("10:01")), ("c", t("10:02")), ("d", t("10:03"))],
    }
    b = build(journeys, ["a", "b", "c", "d"])
    assert_rows(rows(b.loops), [
        {"from_stage": "c", "to_stage": "a", "customers": 1, "occurrences": 1, "share_of_visitors": 1 / 4,
         "resolved_share": 0.0, "median_return_s": None, "looper_conversion": 0.0,
         "non_looper_conversion": 1 / 2, "conversion_lift": -1 / 2},
        {"from_stage": "c", "to_stage": "b", "customers": 1, "occurrences": 1, "share_of_visitors": 1 / 4,
         "resolved_share": 1.0, "median_return_s": 600.0, "looper_conversion": 1.0,
         "non_looper_conversion": 1 / 2, "conversion_lift": 1 / 2},
    ])


def test_loop_resolved_by_skipping_past_j_and_no_non_loopers():
    # z: a c b d: c->b at 10:02, resolved at 10:05 by d (order 4 >= 3) without visiting c again.
    # Every visitor of c looped, so there is no comparison group: non-looper conversion is null.
    # z visited d, the last stage, but never c after b: the funnel a > b > c > d stops at b, so z
    # has not converted (the one meaning: reaching the funnel's goal step in order).
    b = build({"z": [("a", t("10:00")), ("c", t("10:01")), ("b", t("10:02")), ("d", t("10:05"))]},
              ["a", "b", "c", "d"])
    assert_rows(rows(b.loops), [
        {"from_stage": "c", "to_stage": "b", "customers": 1, "occurrences": 1, "share_of_visitors": 1.0,
         "resolved_share": 1.0, "median_return_s": 180.0, "looper_conversion": 0.0,
         "non_looper_conversion": None, "conversion_lift": None},
    ])


def test_converted_in_loops_and_paths_is_reaching_the_funnels_goal_step():
    """The funnel b > c (from_stage b, to_stage c) of stages a, b, c, d: c1 converts without ever
    visiting d, the last configured stage; c2 visits d but not c after b; c3 steps back c -> b and
    converts. journeys, loops and paths agree on who converted."""
    journeys = {
        "c1": [("a", t("10:00")), ("b", t("11:00")), ("c", t("12:00"))],
        "c2": [("a", t("10:00")), ("c", t("10:30")), ("b", t("11:00")), ("d", t("12:00"))],
        "c3": [("b", t("10:00")), ("c", t("10:10")), ("b", t("10:20")), ("c", t("10:30"))],
    }
    r = journeys_for(journeys, ["a", "b", "c", "d"], funnel={"from_stage": "b", "to_stage": "c"})
    try:
        converted = dict(zip(r.journeys["customer_id"], r.journeys["converted"]))
        assert converted == {"c1": True, "c2": False, "c3": True}
        paths = r.table("paths").set_index(["path_kind", "stage_path"])
        assert paths.loc[("full", "a>b>c"), "converted"] == 1
        assert paths.loc[("full", "a>c>b>d"), "converted"] == 0  # visited d, the last stage: not converted
        assert paths.loc[("full", "b>c>b>c"), "converted"] == 1
        loops = r.table("loops").set_index(["from_stage", "to_stage"])
        # c -> b: c2 (not converted) and c3 (converted); non-loopers of c: c1 (converted)
        assert loops.loc[("c", "b"), "looper_conversion"] == 0.5
        assert loops.loc[("c", "b"), "non_looper_conversion"] == 1.0
    finally:
        r.con.close()


def test_no_back_steps_no_loop_rows():
    b = build({"x": [("a", t("10:00")), ("b", t("10:01"))], "y": [("b", t("10:00"))]}, ["a", "b"])
    assert b.loops.empty
    assert list(b.loops.columns) == LOOP_COLUMNS


# ---------------------------------------------------------------------------------------
# Hand-worked paths
# ---------------------------------------------------------------------------------------

PATH_JOURNEYS = {
    # full a>b>a>b>c, collapsed a>b>c, 3600 s, converted (c is final)
    "x": [("a", t("10:00")), ("a", t("10:05")), ("b", t("10:10")), ("a", t("10:20")), ("b", t("10:30")),
          ("c", t("11:00"))],
    # a>b>c, duration to the last visit's entry (12:00), not to its last event (13:00): 7200 s
    "y": [("a", t("10:00")), ("b", t("11:00")), ("c", t("12:00")), ("c", t("13:00"))],
    # a>b>c, 60 s
    "z": [("a", t("10:00:00")), ("b", t("10:00:30")), ("c", t("10:01:00"))],
    # full a>c>b>c, collapsed a>c>b (order of first entry), 1200 s, converted
    "w": [("a", t("10:00")), ("c", t("10:05")), ("b", t("10:10")), ("c", t("10:20"))],
    # b>a, 7200 s, not converted
    "v": [("b", t("10:00")), ("noise", t("11:00")), ("a", t("12:00"))],
    # no staged event: no path
    "n": [("noise", t("10:00"))],
}


def test_paths_top_and_other_rows():
    b = build(PATH_JOURNEYS, ["a", "b", "c"], top_paths=2)
    assert_rows(rows(b.paths), [
        {"path_kind": "collapsed", "rank": 1, "stage_path": "a>b>c", "n_stages": 3, "customers": 3, "share": 0.6,
         "converted": 3, "conversion": 1.0, "median_duration_s": 3600.0, "cumulative_share": 0.6},
        # a>c>b and b>a tie on 1 customer: stage_path breaks the tie
        {"path_kind": "collapsed", "rank": 2, "stage_path": "a>c>b", "n_stages": 3, "customers": 1, "share": 0.2,
         "converted": 1, "conversion": 1.0, "median_duration_s": 1200.0, "cumulative_share": 0.8},
        {"path_kind": "collapsed", "rank": 3, "stage_path": "(other)", "n_stages": None, "customers": 1,
         "share": 0.2, "converted": 0, "conversion": 0.0, "median_duration_s": 7200.0, "cumulative_share": 1.0},
        {"path_kind": "full", "rank": 1, "stage_path": "a>b>c", "n_stages": 3, "customers": 2, "share": 0.4,
         "converted": 2, "conversion": 1.0, "median_duration_s": 3630.0, "cumulative_share": 0.4},
        {"path_kind": "full", "rank": 2, "stage_path": "a>b>a>b>c", "n_stages": 5, "customers": 1, "share": 0.2,
         "converted": 1, "conversion": 1.0, "median_duration_s": 3600.0, "cumulative_share": 0.6},
        # the rest: w (a>c>b>c, converted, 1200 s) and v (b>a, 7200 s)
        {"path_kind": "full", "rank": 3, "stage_path": "(other)", "n_stages": None, "customers": 2, "share": 0.4,
         "converted": 1, "conversion": 0.5, "median_duration_s": 4200.0, "cumulative_share": 1.0},
    ])
    assert list(b.paths.columns) == PATH_COLUMNS


def test_paths_without_a_rest_have_no_other_row():
    b = build(PATH_JOURNEYS, ["a", "b", "c"], top_paths=50)
    full = b.paths[b.paths["path_kind"] == "full"]
    assert full["stage_path"].tolist() == ["a>b>c", "a>b>a>b>c", "a>c>b>c", "b>a"]
    assert full["rank"].tolist() == [1, 2, 3, 4]
    assert full["cumulative_share"].tolist() == pytest.approx([0.4, 0.6, 0.8, 1.0])
    assert b.paths[b.paths["path_kind"] == "collapsed"]["stage_path"].tolist() == ["a>b>c", "a>c>b", "b>a"]
    assert "(other)" not in b.paths["stage_path"].tolist()


def test_top_paths_zero_keeps_only_other():
    b = build(PATH_JOURNEYS, ["a", "b", "c"], top_paths=0)
    assert_rows(rows(b.paths), [
        {"path_kind": "collapsed", "rank": 1, "stage_path": "(other)", "customers": 5, "share": 1.0,
         "converted": 4, "conversion": 0.8, "median_duration_s": 3600.0, "cumulative_share": 1.0},
        {"path_kind": "full", "rank": 1, "stage_path": "(other)", "customers": 5, "share": 1.0,
         "converted": 4, "conversion": 0.8, "median_duration_s": 3600.0, "cumulative_share": 1.0},
    ])


# ---------------------------------------------------------------------------------------
# Plain-Python reference
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Visit:
    stage: str
    order: int
    entered_at: dt.datetime


def reference_visits(journeys: dict[str, list[tuple]], stages: list[str]) -> dict[str, list[Visit]]:
    order = {s: i for i, s in enumerate(stages, start=1)}
    out = {}
    for customer, events in journeys.items():
        staged = sorted(
            (dt.datetime.fromisoformat(when), order[etype], f"{customer}-{i:04d}", etype)
            for i, (etype, when) in enumerate(events) if etype in order
        )
        visits: list[Visit] = []
        for ts, o, _, stage in staged:
            if not visits or visits[-1].order != o:
                visits.append(Visit(stage, o, ts))
        if visits:
            out[customer] = visits
    return out


def reference_converted(vs: list[Visit], stages: list[str]) -> bool:
    """The funnel's goal reached in order: every stage, in config order, as a subsequence of the visits."""
    step = 0
    for v in vs:
        if step < len(stages) and v.stage == stages[step]:
            step += 1
    return step == len(stages)


def reference_loops(visits: dict[str, list[Visit]], stages: list[str]) -> list[dict]:
    converted = {c for c, vs in visits.items() if reference_converted(vs, stages)}
    occurrences = defaultdict(list)  # (j, i) -> [(customer, return_s or None)]
    backed_out = defaultdict(set)  # j -> customers with a back-step out of j
    for c, vs in visits.items():
        for k in range(1, len(vs)):
            j, i = vs[k - 1], vs[k]
            if i.order < j.order:
                back = next((v for v in vs[k + 1:] if v.order >= j.order), None)
                ret = (back.entered_at - i.entered_at).total_seconds() if back else None
                occurrences[(j.stage, i.stage)].append((c, ret))
                backed_out[j.stage].add(c)
    order = {s: i for i, s in enumerate(stages, start=1)}
    out = []
    for (j, i), occ in sorted(occurrences.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])):
        loopers = {c for c, _ in occ}
        visitors = {c for c, vs in visits.items() if any(v.stage == j for v in vs)}
        non_loopers = visitors - backed_out[j]
        returns = [r for _, r in occ if r is not None]
        looper_conv = len(loopers & converted) / len(loopers)
        non_looper_conv = len(non_loopers & converted) / len(non_loopers) if non_loopers else None
        out.append({
            "from_stage": j, "from_order": order[j], "to_stage": i, "to_order": order[i],
            "customers": len(loopers), "occurrences": len(occ),
            "share_of_visitors": len(loopers) / len(visitors),
            "resolved_share": len(returns) / len(occ),
            "median_return_s": statistics.median(returns) if returns else None,
            "looper_conversion": looper_conv,
            "non_looper_conversion": non_looper_conv,
            "conversion_lift": looper_conv - non_looper_conv if non_looper_conv is not None else None,
        })
    return out


def collapsed(vs: list[Visit]) -> list[str]:
    seen: list[str] = []
    for v in vs:
        if v.stage not in seen:
            seen.append(v.stage)
    return seen


def reference_paths(visits: dict[str, list[Visit]], stages: list[str], top_paths: int) -> list[dict]:
    total = len(visits)
    out = []
    for kind in ("collapsed", "full"):  # sorted by path_kind, as read from SQL
        groups = defaultdict(list)
        for vs in visits.values():
            path = [v.stage for v in vs] if kind == "full" else collapsed(vs)
            duration = (vs[-1].entered_at - vs[0].entered_at).total_seconds()
            groups[">".join(path)].append((len(path), duration, reference_converted(vs, stages)))
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        cumulative = 0

        def row(rank, path, members, n_stages):
            conv = sum(1 for m in members if m[2])
            return {"path_kind": kind, "rank": rank, "stage_path": path, "n_stages": n_stages,
                    "customers": len(members), "share": len(members) / total, "converted": conv,
                    "conversion": conv / len(members),
                    "median_duration_s": statistics.median(m[1] for m in members)}

        for rank, (path, members) in enumerate(ranked[:top_paths], start=1):
            cumulative += len(members)
            out.append(row(rank, path, members, members[0][0]) | {"cumulative_share": cumulative / total})
        rest = [m for _, members in ranked[top_paths:] for m in members]
        if rest:
            out.append(row(top_paths + 1, "(other)", rest, None) | {"cumulative_share": 1.0})
    return out


# ---------------------------------------------------------------------------------------
# Random journeys
# ---------------------------------------------------------------------------------------

N_SEEDS = 40
STAGE_POOL = ["visit", "lead", "demo", "trial", "buy"]


@dataclass(frozen=True)
class Spec:
    stages: list[str]
    journeys: dict[str, list[tuple]]
    top_paths: int


def random_spec(seed: int) -> Spec:
    rng = random.Random(seed)
    stages = rng.sample(STAGE_POOL, rng.randint(3, 5))  # config order != alphabetical order
    journeys = {}
    for c in range(rng.randint(1, 12)):
        base = dt.datetime(2025, 3, 1) + dt.timedelta(minutes=rng.randint(0, 5000))
        events = []
        for _ in range(rng.randint(0, 10)):
            etype = "noise" if rng.random() < 0.15 else rng.choice(stages[: rng.randint(1, len(stages))])
            when = base + dt.timedelta(minutes=rng.choice([0, 0, 1, 5, 30, 60, 90, 600, 1440]) * rng.randint(0, 4))
            events.append((etype, when.strftime("%Y-%m-%d %H:%M:%S")))
        journeys[f"c{c:02d}"] = events
    return Spec(stages, journeys, rng.choice([0, 1, 2, 3, 50]))


@functools.lru_cache(maxsize=None)
def case(seed: int) -> tuple[Spec, Built]:
    spec = random_spec(seed)
    return spec, build(spec.journeys, spec.stages, spec.top_paths)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(N_SEEDS))
def test_loops_match_reference(seed):
    spec, b = case(seed)
    assert_rows(rows(b.loops), reference_loops(reference_visits(spec.journeys, spec.stages), spec.stages))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(N_SEEDS))
def test_paths_match_reference(seed):
    spec, b = case(seed)
    expected = reference_paths(reference_visits(spec.journeys, spec.stages), spec.stages, spec.top_paths)
    assert_rows(rows(b.paths), expected)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(N_SEEDS))
def test_invariants(seed):
    _, b = case(seed)
    loops, paths = b.loops, b.paths
    # every back transition is one occurrence of exactly one loop row, one row per back cell
    assert loops["occurrences"].sum() == b.back_transitions
    assert set(zip(loops["from_stage"], loops["to_stage"])) == b.back_cells
    assert (loops["to_order"] < loops["from_order"]).all()
    assert (loops["customers"] <= loops["occurrences"]).all()
    for col in ("share_of_visitors", "resolved_share", "looper_conversion", "non_looper_conversion"):
        values = loops[col].dropna()
        assert ((values >= 0) & (values <= 1)).all(), col
    assert loops["median_return_s"].dropna().ge(0).all()
    assert (loops["median_return_s"].isna() == (loops["resolved_share"] == 0)).all()
    # each customer with a visit is on exactly one path of each kind
    kinds = set(paths["path_kind"])
    assert kinds == ({"full", "collapsed"} if b.customers_with_visits else set())
    for kind in kinds:
        p = paths[paths["path_kind"] == kind]
        assert p["customers"].sum() == b.customers_with_visits
        assert p["share"].sum() == pytest.approx(1.0)
        assert p["rank"].tolist() == list(range(1, len(p) + 1))
        assert p["cumulative_share"].is_monotonic_increasing
        assert p["cumulative_share"].iloc[-1] == pytest.approx(1.0)
        assert ((p["share"] > 0) & (p["share"] <= 1)).all()
        assert ((p["conversion"] >= 0) & (p["conversion"] <= 1)).all()
        assert (p["converted"] <= p["customers"]).all()
    # the collapsed paths are never more numerous than the full ones
    if kinds:
        assert (paths["path_kind"] == "collapsed").sum() <= (paths["path_kind"] == "full").sum()
