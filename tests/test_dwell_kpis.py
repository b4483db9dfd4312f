"""Stage dwell, stage stock, barriers and stage KPIs: hand-worked journeys, a seeded oracle
(plain Python from the raw events) for dwell and stock, and the stage KPI config checks."""

import copy
import datetime as dt
import math
import random
import textwrap

import pytest
import test_pipeline_shape as shape
from journeys import journeys_for, make_config

from cjm_pipeline import db
from cjm_pipeline.config import config_from_dict, load_config
from cjm_pipeline.errors import ConfigError
from cjm_pipeline.pipeline import params_for, write_config_tables
from cjm_pipeline.stages import stage_tables
from cjm_pipeline.steps import BY_NAME, Step

# the pipeline's own steps (never copies: a copy would be checked while the real one drifts)
STAGE_DWELL, STAGE_STOCK, BARRIERS, STAGE_KPIS = (BY_NAME[n] for n in ("stage_dwell", "stage_stock", "barriers",
                                                                         "stage_kpis"))
NEW_STEPS = (STAGE_DWELL, STAGE_STOCK, BARRIERS, STAGE_KPIS)


#: The run parameters of a default config (funnel window 90d, unit customer, stock inactivity = window).
PARAMS = params_for(make_config(["a", "b"]))


def rows(r, step: Step, order_by: str, **params) -> list[dict]:
    """Build ``step`` on the journeys' connection and return its rows as dicts of Python values."""
    step.run(r.con, {**PARAMS, **params})
    names = db.columns(r.con, step.name)
    return [dict(zip(names, t)) for t in db.execute(r.con, f"select * from {step.name} order by {order_by}")]


def assert_rows(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected):
        assert list(a) == list(e), f"columns {list(a)} != {list(e)}"
        for key, want in e.items():
            got = a[key]
            if isinstance(want, float):
                assert got == pytest.approx(want), f"{key}: {got} != {want} in {a}"
            else:
                assert got == want, f"{key}: {got!r} != {want!r} in {a}"


@pytest.mark.parametrize("step", NEW_STEPS, ids=lambda s: s.name)
def test_sql_follows_the_pipeline_shape_rules(step):
    shape.test_sql_reads_only_declared_inputs(step)
    shape.test_window_functions_order_by_a_unique_tie_breaker(step)
    (path,) = step.sql_paths
    first = db.read_sql(path).lstrip().splitlines()[0]
    assert first.startswith(f"-- {step.name}:")


# --------------------------------------------------------------------------- dwell and stock, by hand

STAGES = ["lead", "demo", "deal", "won"]
HAND = {
    # lead 01-01 -> demo 01-02 -> back to lead 01-04 00:00 -> deal 01-04 12:00 (current)
    "c1": [("lead", "2025-01-01 00:00"), ("lead", "2025-01-01 06:00"), ("noise", "2025-01-01 12:00"),
           ("demo", "2025-01-02 00:00"), ("demo", "2025-01-03 00:00"),
           ("lead", "2025-01-04 00:00"), ("deal", "2025-01-04 12:00")],
    # lead and demo on the same day: at the end of 01-02 c2 is in demo
    "c2": [("lead", "2025-01-02 00:00"), ("demo", "2025-01-02 01:00")],
    "c3": [("demo", "2025-01-05 00:00")],
    "c4": [("noise", "2025-01-06 00:00")],  # no staged event: no visit, in no stock
}


@pytest.fixture(scope="module")
def hand():
    return journeys_for(HAND, STAGES)


def test_stage_dwell_by_hand(hand):
    # lead dwells: c1 1d (86400) and 12h (43200), c2 1h (3600); p90 = 43200 + 0.8 * 43200
    # demo: c1 2d (172800) closed, c2 and c3 open; deal: c1 open; won: never visited
    assert_rows(rows(hand, STAGE_DWELL, "stage_order"), [
        dict(stage_order=1, stage="lead", visits=3, customers=2, open_visits=0,
             dwell_median_s=43200.0, dwell_p90_s=77760.0, dwell_mean_s=44400.0),
        dict(stage_order=2, stage="demo", visits=3, customers=3, open_visits=2,
             dwell_median_s=172800.0, dwell_p90_s=172800.0, dwell_mean_s=172800.0),
        dict(stage_order=3, stage="deal", visits=1, customers=1, open_visits=1,
             dwell_median_s=None, dwell_p90_s=None, dwell_mean_s=None),
        dict(stage_order=4, stage="won", visits=0, customers=0, open_visits=0,
             dwell_median_s=None, dwell_p90_s=None, dwell_mean_s=None),
    ])


def test_stage_stock_by_hand(hand):
    got = rows(hand, STAGE_STOCK, "day, stage_order")
    assert list(got[0]) == ["day", "stage_order", "stage", "customers"]
    grid = {}
    for row in got:
        grid.setdefault(row["day"].isoformat(), []).append(row["customers"])
    # columns: lead, demo, deal, won, (lapsed); days from the first entry (01-01) to the last staged
    # event (01-05); nobody is inactive for the 90-day window
    assert grid == {
        "2025-01-01": [1, 0, 0, 0, 0],  # c1 lead
        "2025-01-02": [0, 2, 0, 0, 0],  # c1 demo; c2 lead then demo the same day
        "2025-01-03": [0, 2, 0, 0, 0],
        "2025-01-04": [0, 1, 1, 0, 0],  # c1 lead then deal the same day
        "2025-01-05": [0, 2, 1, 0, 0],  # c3 arrives in demo
    }
    assert [r["stage"] for r in got[:5]] == STAGES + ["(lapsed)"]
    assert [r["stage_order"] for r in got[:5]] == [1, 2, 3, 4, None]
    assert isinstance(got[0]["day"], dt.date) and not isinstance(got[0]["day"], dt.datetime)


def test_stage_stock_lapses_after_the_inactivity_period(hand):
    """With journey.stock_inactivity 1d, a visit holds its customer in the stage until the day that
    starts more than a day after the visit's last event, then in (lapsed) until the next visit."""
    got = rows(hand, STAGE_STOCK, "day, stage_order", stock_inactivity_s=86400)
    grid = {}
    for row in got:
        grid.setdefault(row["day"].isoformat(), []).append(row["customers"])
    assert grid == {
        # c1's lead visit: last event 01-01 06:00, active through 01-01 (01-02 06:00 is after its end)
        "2025-01-01": [1, 0, 0, 0, 0],
        # c2's demo: last event 01-02 01:00, so active at the end of 01-02, lapsed from 01-03
        "2025-01-02": [0, 2, 0, 0, 0],
        # c1's demo: last event 01-03 00:00, active through 01-03
        "2025-01-03": [0, 1, 0, 0, 1],
        "2025-01-04": [0, 0, 1, 0, 1],
        # c1's deal (last event 01-04 12:00) is active through 01-04 only; c3 arrives in demo
        "2025-01-05": [0, 1, 0, 0, 2],
    }


def test_no_visits_gives_empty_stock_and_zero_dwell():
    r = journeys_for({"c1": [("noise", "2025-01-01 00:00")]}, ["a", "b"])
    assert rows(r, STAGE_STOCK, "day, stage_order") == []
    got = rows(r, STAGE_DWELL, "stage_order")
    assert [(g["stage"], g["visits"], g["customers"], g["open_visits"], g["dwell_median_s"]) for g in got] == \
        [("a", 0, 0, 0, None), ("b", 0, 0, 0, None)]


# --------------------------------------------------------------------------- dwell and stock vs plain Python

ORACLE_STAGES = ["s1", "s2", "s3", "s4"]


def random_journeys(seed: int) -> dict[str, list[tuple]]:
    """A few customers with events over ~10 days; coarse times so same-day and same-instant ties occur."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 3, 1)
    out = {}
    for c in range(rng.randint(1, 7)):
        events = []
        for _ in range(rng.randint(1, 9)):
            when = start + dt.timedelta(days=rng.randint(0, 9), hours=rng.choice([0, 0, 5, 12, 23]),
                                        minutes=rng.choice([0, 0, 30]))
            events.append((rng.choice(ORACLE_STAGES + ["noise"]), when.isoformat(sep=" ")))
        out[f"c{c}"] = events
    return out


def reference_visits(journeys: dict[str, list[tuple]]) -> dict[str, list[tuple[str, dt.datetime]]]:
    """customer -> [(stage, entered_at)]: staged events in (ts, stage order, event id) order, runs collapsed."""
    order = {s: i for i, s in enumerate(ORACLE_STAGES, start=1)}
    visits = {}
    for customer, events in journeys.items():
        staged = sorted((dt.datetime.fromisoformat(ts), order[stage], i, stage)
                        for i, (stage, ts) in enumerate(events) if stage in order)
        runs = []
        for ts, _, _, stage in staged:
            if not runs or runs[-1][0] != stage:
                runs.append((stage, ts))
        if runs:
            visits[customer] = runs
    return visits


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def reference_dwell(visits) -> list[dict]:
    out = []
    for order, stage in enumerate(ORACLE_STAGES, start=1):
        n = n_open = 0
        dwell, customers = [], set()
        for customer, runs in visits.items():
            for k, (s, entered) in enumerate(runs):
                if s != stage:
                    continue
                n += 1
                customers.add(customer)
                if k + 1 < len(runs):
                    dwell.append((runs[k + 1][1] - entered).total_seconds())
                else:
                    n_open += 1
        out.append(dict(stage_order=order, stage=stage, visits=n, customers=len(customers), open_visits=n_open,
                        dwell_median_s=quantile(dwell, 0.5) if dwell else None,
                        dwell_p90_s=quantile(dwell, 0.9) if dwell else None,
                        dwell_mean_s=sum(dwell) / len(dwell) if dwell else None))
    return out


def reference_stock(journeys: dict[str, list[tuple]], inactivity_s: int) -> list[tuple[dt.date, str, int]]:
    """Per day, for each customer the latest visit entered by that day: in its stage while the day
    ends no later than ``inactivity_s`` after the visit's last event, else (lapsed)."""
    order = {s: i for i, s in enumerate(ORACLE_STAGES, start=1)}
    runs = {}  # customer -> [[stage, entered, last event]]
    for customer, events in journeys.items():
        for ts, _, _, stage in sorted((dt.datetime.fromisoformat(ts), order[stage], i, stage)
                                      for i, (stage, ts) in enumerate(events) if stage in order):
            visits = runs.setdefault(customer, [])
            if visits and visits[-1][0] == stage:
                visits[-1][2] = ts
            else:
                visits.append([stage, ts, ts])
    if not runs:
        return []
    day = min(v[1].date() for vs in runs.values() for v in vs)
    last = max(v[2].date() for vs in runs.values() for v in vs)
    out = []
    while day <= last:
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        current = {}
        for customer, visits in runs.items():
            so_far = [v for v in visits if v[1].date() <= day]
            if so_far:
                stage, _, last_event = so_far[-1]
                active = end_of_day <= last_event + dt.timedelta(seconds=inactivity_s)
                current[customer] = stage if active else "(lapsed)"
        for stage in ORACLE_STAGES + ["(lapsed)"]:
            out.append((day, stage, sum(1 for s in current.values() if s == stage)))
        day += dt.timedelta(days=1)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(30))
def test_dwell_and_stock_match_a_python_reference(seed):
    journeys = random_journeys(seed)
    r = journeys_for(journeys, ORACLE_STAGES)
    visits = reference_visits(journeys)
    assert_rows(rows(r, STAGE_DWELL, "stage_order"), reference_dwell(visits))
    for inactivity_s in (90 * 86400, 2 * 86400, 5 * 3600):
        stock = [(g["day"], g["stage"], g["customers"])
                 for g in rows(r, STAGE_STOCK, "day, stage_order", stock_inactivity_s=inactivity_s)]
        assert stock == reference_stock(journeys, inactivity_s), inactivity_s


# --------------------------------------------------------------------------- barriers

GAPS_S = [7200, 259200, 1800, 259200, 86400, 45]  # s1->s2 2h, s2->s3 3d, 30m, 3d, 1d, s6->s7 45s
FURTHEST = [1] * 5 + [2] * 3 + [3] * 3 + [4] * 1 + [5] * 4 + [6] * 1 + [7] * 3  # 20 customers
TAILS = {  # stages visited after the funnel chain: the back-steps
    17: ["s3"], 18: ["s3"], 19: ["s4"], 20: ["s2"],  # four who stopped at s5
    21: ["s5"],  # the one who stopped at s6
    22: ["s2", "s7", "s2"], 23: ["s2"], 24: ["s4"],  # three who reached s7
}


def barrier_journeys() -> dict[str, list[tuple]]:
    out = {}
    for n, furthest in enumerate(FURTHEST, start=5):
        ts = dt.datetime(2025, 1, 1) + dt.timedelta(hours=n)
        events = [("s1", ts.isoformat(sep=" "))]
        for k in range(1, furthest):
            ts += dt.timedelta(seconds=GAPS_S[k - 1])
            events.append((f"s{k + 1}", ts.isoformat(sep=" ")))
        for stage in TAILS.get(n, []):
            ts += dt.timedelta(days=1)
            events.append((stage, ts.isoformat(sep=" ")))
        out[f"c{n:02d}"] = events
    return out


def test_barriers_rank_drop_offs_slow_steps_and_back_steps():
    r = journeys_for(barrier_journeys(), [f"s{i}" for i in range(1, 8)])
    # the funnel behind it: customers per step and dropped before the next
    assert r.funnel["customers"].tolist() == [20, 15, 12, 9, 8, 4, 3]
    got = rows(r, BARRIERS, "barrier_kind, rank")

    def row(kind, rank, stage, to_stage, customers, value, unit, rate, transitions, description):
        return dict(barrier_kind=kind, rank=rank, stage=stage, to_stage=to_stage, customers=customers, value=value,
                    value_unit=unit, rate=rate, transitions=transitions, unit="customer", description=description)

    assert_rows(got, [
        # back-steps by customers; ties to the earlier (from, to): s5->s3 before s7->s2; s7->s4 is 6th
        row("back_steps", 1, "s5", "s3", 2, 2.0, "customers", None, 2, "s5 → s3: 2 customers stepped back (2 times)"),
        row("back_steps", 2, "s7", "s2", 2, 2.0, "customers", None, 3, "s7 → s2: 2 customers stepped back (3 times)"),
        row("back_steps", 3, "s5", "s2", 1, 1.0, "customers", None, 1, "s5 → s2: 1 customer stepped back (1 time)"),
        row("back_steps", 4, "s5", "s4", 1, 1.0, "customers", None, 1, "s5 → s4: 1 customer stepped back (1 time)"),
        row("back_steps", 5, "s6", "s5", 1, 1.0, "customers", None, 1, "s6 → s5: 1 customer stepped back (1 time)"),
        # drop-offs by dropped (5, 3, 3, 1, 4, 1); ties to the earlier step, so s6 -> s7 is left out
        row("drop_off", 1, "s1", "s2", 20, 5.0, "customers", 0.25, None, "s1 → s2 loses 5 of 20 customers (25.0%)"),
        row("drop_off", 2, "s5", "s6", 8, 4.0, "customers", 0.5, None, "s5 → s6 loses 4 of 8 customers (50.0%)"),
        row("drop_off", 3, "s2", "s3", 15, 3.0, "customers", 0.2, None, "s2 → s3 loses 3 of 15 customers (20.0%)"),
        row("drop_off", 4, "s3", "s4", 12, 3.0, "customers", 0.25, None, "s3 → s4 loses 3 of 12 customers (25.0%)"),
        row("drop_off", 5, "s4", "s5", 9, 1.0, "customers", 1 / 9, None, "s4 → s5 loses 1 of 9 customers (11.1%)"),
        # slow steps by median seconds to the next step; customers = those who reached the next step
        row("slow_step", 1, "s2", "s3", 12, 259200.0, "seconds", None, None,
            "s2 → s3 takes a median of 3 d (12 customers)"),
        row("slow_step", 2, "s4", "s5", 8, 259200.0, "seconds", None, None,
            "s4 → s5 takes a median of 3 d (8 customers)"),
        row("slow_step", 3, "s5", "s6", 4, 86400.0, "seconds", None, None,
            "s5 → s6 takes a median of 1 d (4 customers)"),
        row("slow_step", 4, "s1", "s2", 15, 7200.0, "seconds", None, None,
            "s1 → s2 takes a median of 2 h (15 customers)"),
        row("slow_step", 5, "s3", "s4", 9, 1800.0, "seconds", None, None,
            "s3 → s4 takes a median of 30 min (9 customers)"),
    ])


def test_barriers_leave_out_steps_without_loss_and_format_seconds():
    r = journeys_for({"c1": [("a", "2025-01-01 00:00:00"), ("b", "2025-01-01 00:00:45")],
                      "c2": [("a", "2025-01-02 00:00:00"), ("b", "2025-01-02 00:00:45")]}, ["a", "b"])
    got = rows(r, BARRIERS, "barrier_kind, rank")
    assert [(g["barrier_kind"], g["description"]) for g in got] == \
        [("slow_step", "a → b takes a median of 45 s (2 customers)")]


# --------------------------------------------------------------------------- stage KPIs

KPI_STAGES = [
    {"name": "a", "rules": [{"event_type": "a"}],
     "kpi": {"conversion_to_next_min": 0.5, "median_time_to_next_max": "1d", "drop_off_rate_max": 0.25}},
    {"name": "b", "rules": [{"event_type": "b"}], "kpi": {"conversion_to_next_min": 0.9}},
    {"name": "c", "rules": [{"event_type": "c"}],
     "kpi": {"median_time_to_next_max": "1h", "conversion_to_next_min": 0.1}},
    {"name": "d", "rules": [{"event_type": "d"}]},
]
KPI_JOURNEYS = {  # 4 reach a, 3 reach b (after 2h, 3h, 30h), 2 reach c, nobody reaches d
    "c1": [("a", "2025-01-01 00:00"), ("b", "2025-01-01 02:00"), ("c", "2025-01-02 00:00")],
    "c2": [("a", "2025-01-01 00:00"), ("b", "2025-01-01 03:00"), ("c", "2025-01-03 00:00")],
    "c3": [("a", "2025-01-01 00:00"), ("b", "2025-01-02 06:00")],
    "c4": [("a", "2025-01-01 00:00")],
}


def test_stage_kpis_met_missed_and_unknown():
    r = journeys_for(KPI_JOURNEYS, stage_rules=KPI_STAGES)
    write_config_tables(r.con, make_config(stage_rules=KPI_STAGES))
    got = rows(r, STAGE_KPIS, "stage_order, kpi")

    def row(order, stage, kpi, target, actual, unit, met, gap):
        return dict(stage_order=order, stage=stage, kpi=kpi, target=target, actual=actual, unit=unit, met=met, gap=gap)

    assert_rows(got, [
        row(1, "a", "conversion_to_next_min", 0.5, 0.75, "ratio", True, 0.25),
        row(1, "a", "drop_off_rate_max", 0.25, 0.25, "ratio", True, 0.0),  # met at the boundary
        # gap > 0: better than the target, for a maximum too (21 hours under the 1-day limit)
        row(1, "a", "median_time_to_next_max", 86400.0, 10800.0, "seconds", True, 75600.0),
        row(2, "b", "conversion_to_next_min", 0.9, 2 / 3, "ratio", False, 2 / 3 - 0.9),
        row(3, "c", "conversion_to_next_min", 0.1, 0.0, "ratio", False, -0.1),  # nobody went on to d
        row(3, "c", "median_time_to_next_max", 3600.0, None, "seconds", None, None),  # no converters: unknown
    ])


def test_stage_kpis_miss_when_the_time_or_drop_off_is_too_high():
    stages = copy.deepcopy(KPI_STAGES)
    stages[0]["kpi"] = {"median_time_to_next_max": "2h", "drop_off_rate_max": 0.2, "conversion_to_next_min": 0.75}
    r = journeys_for(KPI_JOURNEYS, stage_rules=stages)
    write_config_tables(r.con, make_config(stage_rules=stages))
    got = {g["kpi"]: (g["actual"], g["met"], g["gap"])
           for g in rows(r, STAGE_KPIS, "stage_order, kpi") if g["stage"] == "a"}
    # gap < 0: worse than the target (an hour over the 2-hour limit; 5 points over the drop-off limit)
    assert got["median_time_to_next_max"] == (10800.0, False, -3600.0)
    assert got["drop_off_rate_max"][:2] == (0.25, False) and got["drop_off_rate_max"][2] == pytest.approx(-0.05)
    assert got["conversion_to_next_min"] == (0.75, True, 0.0)  # met at the boundary


def test_no_kpis_gives_an_empty_typed_table():
    r = journeys_for({"c1": [("a", "2025-01-01 00:00")]}, ["a", "b"])
    assert rows(r, STAGE_KPIS, "stage_order, kpi") == []
    types = dict(db.execute(r.con, "select column_name, data_type from information_schema.columns "
                                   "where table_name = 'stage_kpis'"))
    assert types["target"] == "DOUBLE" and types["kpi"] == "VARCHAR" and types["met"] == "BOOLEAN"


# --------------------------------------------------------------------------- KPI config

BASE = {
    "sources": [{"name": "shop", "format": "generic_events", "path": "events.csv"}],
    "stages": [
        {"name": "awareness", "rules": [{"event_type": "visit"}]},
        {"name": "interest", "rules": [{"event_type": "page_view"}]},
        {"name": "purchase", "rules": [{"event_type": "purchase"}]},
    ],
}


def kpi_problems(*kpis) -> list[str]:
    data = copy.deepcopy(BASE)
    for stage, kpi in zip(data["stages"], kpis):
        if kpi is not None:
            stage["kpi"] = kpi
    with pytest.raises(ConfigError) as e:
        config_from_dict(data, file="cfg.yaml")
    return e.value.problems


def test_kpi_config_becomes_the_cfg_stage_kpis_table():
    data = copy.deepcopy(BASE)
    data["stages"][0]["kpi"] = {"drop_off_rate_max": 0.6, "conversion_to_next_min": 0}
    data["stages"][1]["kpi"] = {"median_time_to_next_max": "2w", "conversion_to_next_min": 1}
    frame = stage_tables(config_from_dict(data))["cfg_stage_kpis"]
    assert list(frame.columns) == ["stage", "stage_order", "kpi", "target", "unit"]
    assert frame.values.tolist() == [
        ["awareness", 1, "conversion_to_next_min", 0.0, "ratio"],
        ["awareness", 1, "drop_off_rate_max", 0.6, "ratio"],
        ["interest", 2, "conversion_to_next_min", 1.0, "ratio"],
        ["interest", 2, "median_time_to_next_max", 1209600.0, "seconds"],
    ]


def test_unknown_kpi_key_suggests_the_right_one():
    (p,) = kpi_problems({"conversion_min": 0.5})
    assert p.startswith("stages[0].kpi.conversion_min: unknown key; did you mean 'conversion_to_next_min'?")
    assert "valid keys: conversion_to_next_min, median_time_to_next_max, drop_off_rate_max" in p


@pytest.mark.parametrize("value,message", [
    (1.5, "must be between 0 and 1, got 1.5 (a fraction; for a percentage write 0.015 for 1.5%)"),
    (-0.1, "must be between 0 and 1, got -0.1"),
    (35, "must be between 0 and 1, got 35 (a fraction; for a percentage write 0.35 for 35%)"),
    (250, "must be between 0 and 1, got 250"),
    ("50%", "expected a number between 0 and 1, got '50%'"),
    (True, "expected a number between 0 and 1, got True"),
])
def test_kpi_ratios_must_be_fractions(value, message):
    assert kpi_problems(None, {"drop_off_rate_max": value}) == [f"stages[1].kpi.drop_off_rate_max: {message}"]


@pytest.mark.parametrize("value,message", [
    ("7 days", "not a duration: '7 days'; write a number and a unit s, m, h, d or w, e.g. '90d'"),
    (3600, "not a duration: 3600;"),
    ("0d", "must be longer than zero"),
])
def test_kpi_durations_are_checked(value, message):
    (p,) = kpi_problems({"median_time_to_next_max": value})
    assert p.startswith(f"stages[0].kpi.median_time_to_next_max: {message}")


def test_last_stage_has_no_to_next_kpis_and_all_problems_come_together():
    p = kpi_problems({"conversion_to_next_min": 2}, {"median_time_to_next_max": "soon"},
                     {"conversion_to_next_min": 0.5, "drop_off_rate_max": 0.1})
    assert len(p) == 4
    assert p[0].startswith("stages[0].kpi.conversion_to_next_min: must be between 0 and 1")
    assert p[1].startswith("stages[1].kpi.median_time_to_next_max: not a duration")
    assert p[2] == ("stages[2].kpi.conversion_to_next_min: the last stage has no next stage, so conversion, "
                    "drop-off and time to the next stage are undefined there; set this KPI on an earlier stage")
    assert p[3].startswith("stages[2].kpi.drop_off_rate_max: the last stage has no next stage")


def test_kpi_must_be_a_mapping():
    assert kpi_problems(0.5) == ["stages[0].kpi: expected a mapping, got 0.5"]


def test_kpi_yaml_example_loads(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text(textwrap.dedent("""
        sources:
          - {name: shop, format: generic_events, path: events.csv}
        stages:
          - name: consideration
            rules: [{event_type: product_view}]
            kpi:
              conversion_to_next_min: 0.35   # at least 35% go on to checkout
              median_time_to_next_max: 7d    # half of them within a week
              drop_off_rate_max: 0.65
          - name: checkout
            rules: [{event_type: checkout}]
            kpi: {conversion_to_next_min: 0.6}
          - name: purchase
            rules: [{event_type: purchase}]
    """), encoding="utf-8")
    cfg = load_config(f)
    assert [s.kpi_targets() for s in cfg.stages] == [
        [("conversion_to_next_min", 0.35, "ratio"), ("median_time_to_next_max", 604800.0, "seconds"),
         ("drop_off_rate_max", 0.65, "ratio")],
        [("conversion_to_next_min", 0.6, "ratio")],
        [],
    ]
