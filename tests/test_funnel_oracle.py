"""Property tests: the SQL funnel, stage visits and transitions against a plain-Python oracle.

The oracle below is written from the definitions (docs/semantics.md, "Ordered funnel", "Which
attempt counts"), not from the SQL, and is deliberately brute force:

* Total order of a customer's events: ``(event_ts, stage_order, event_id)``.
* Ordered funnel: every chain ``e1 < e2 < ... < ek`` (strictly increasing in the total
  order) with ``stage(ei) = Si`` and ``ts(ek) - ts(e1) <= window`` is enumerated, for every
  step-1 event ``e1``. The customer reaches the longest such chain's length. The step times
  come from the chain with the *latest* ``e1`` (in the total order) among the chains that
  reach that furthest step; among chains with that ``e1`` and that length we take the
  *earliest events*: the lexicographically smallest tuple of positions in the total order
  (e2 as early as possible, then e3 as early as possible given e2, ...). Because the window
  is a deadline fixed by ``e1``, that chain is also componentwise the earliest one (checked
  by an assertion in the oracle), so "earliest events" is unambiguous.
* Funnel table: ``customers(k)`` = customers whose furthest step >= k; conversions are
  fractions with an empty value where the denominator is 0 (and at step 1 for
  ``conversion_from_previous``); ``dropped`` = customers(k) - customers(k+1), empty at the last
  step; ``reached_any_order`` = customers with at least one event of the stage; ttc over the
  customers reaching step k+1: ``ts(e(k+1)) - ts(ek)`` in seconds, quantiles interpolated.
* Stage visits: staged events in the total order, consecutive events of one stage collapse
  (unstaged events neither start nor break a visit); transitions between consecutive visits
  are forward (+1), skip (> +1) or back (< current), plus one (start) row into the first visit
  and one (end) row out of the last.

Random journeys (``random.Random(seed)``): 1-30 customers, 0-15 events each, 3-5 stages whose
names are shuffled (config order != alphabetical order), event types that match no stage,
timestamps drawn from a few offsets around the window (0, 1 s, W/4, W/2, W-1 s, W, W+1 s,
3W/2, 2W, ...), so ties and events exactly at the window boundary are frequent, and list
order (hence event_id order) independent of time order.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field, replace

import pandas as pd
import pytest

from journeys import journeys_for

N_SEEDS = 70
STEP_WINDOW_SEEDS = 50

STAGE_POOL = ["visit", "lead", "demo", "trial", "buy"]
NOISE_TYPES = ["page_ping", "email_open", "support_call"]
WINDOWS = [("5m", 300), ("45m", 2700), ("2h", 7200), ("1d", 86400), ("3d", 3 * 86400)]


# ---------------------------------------------------------------------------------------
# Random journeys
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    stages: list[str]
    window: str
    window_s: int
    journeys: dict[str, list[tuple]]
    step_windows: dict[str, int] = field(default_factory=dict)  # stage -> seconds from the previous step
    strict: bool = False


def random_spec(seed: int) -> Spec:
    rng = random.Random(seed)
    n_stages = rng.randint(3, 5)
    stages = rng.sample(STAGE_POOL, n_stages)
    window, w = rng.choice(WINDOWS)
    candidates = [0, 1, w // 4, w // 2, w - 1, w, w + 1, 3 * w // 2, 2 * w, 2 * w + 1, 3 * w]
    journeys: dict[str, list[tuple]] = {}
    for c in range(rng.randint(1, 30)):
        base = dt.datetime(2025, 3, 1) + dt.timedelta(seconds=rng.randint(0, 20 * 86400))
        pool = rng.sample(candidates, rng.randint(2, 7))
        # a bias towards early stages so that long chains are common
        weights = [rng.uniform(0.5, 2.0) * (n_stages - i + 1) for i in range(n_stages)]
        events = []
        for _ in range(rng.randint(0, 15)):
            if rng.random() < 0.15:
                etype = rng.choice(NOISE_TYPES)
            else:
                etype = rng.choices(stages, weights)[0]
            when = base + dt.timedelta(seconds=rng.choice(pool))
            events.append((etype, when.strftime("%Y-%m-%d %H:%M:%S")))
        journeys[f"c{c:02d}"] = events
    return Spec(stages, window, w, journeys)


def random_step_window_spec(seed: int) -> Spec:
    """A random spec (as above) with per-step windows on some steps, shorter or longer than the
    funnel window, in ordered or strict mode."""
    spec = random_spec(seed)
    rng = random.Random(10_000 + seed)
    steps = spec.stages[1:]
    chosen = rng.sample(steps, rng.randint(1, len(steps)))
    step_windows = {s: max(1, rng.choice([spec.window_s // 8, spec.window_s // 4, spec.window_s // 2,
                                           spec.window_s - 1, 2 * spec.window_s])) for s in chosen}
    return replace(spec, step_windows=step_windows, strict=rng.random() < 0.4)


# ---------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ev:
    event_id: str
    ts: dt.datetime
    stage: str | None
    order: int | None


def customer_events(spec: Spec) -> dict[str, list[Ev]]:
    """Each customer's staged events in the total order (event_ts, stage_order, event_id)."""
    order = {s: i for i, s in enumerate(spec.stages, start=1)}
    out = {}
    for customer, events in spec.journeys.items():
        if not events:
            continue  # a customer with no events does not exist in the data
        evs = [Ev(f"{customer}-{i:04d}", dt.datetime.fromisoformat(t), e if e in order else None, order.get(e))
               for i, (e, t) in enumerate(events)]
        staged = [e for e in evs if e.stage is not None]
        staged.sort(key=lambda e: (e.ts, e.order, e.event_id))
        out[customer] = staged
    return out


def visit_numbers(staged: list[Ev]) -> list[int]:
    """The stage visit of each staged event: a new visit wherever the stage changes."""
    numbers = []
    for i, e in enumerate(staged):
        numbers.append(1 if i == 0 else numbers[-1] + (e.stage != staged[i - 1].stage))
    return numbers


def all_chains(staged: list[Ev], n_steps: int, window_s: int, step_windows: dict[int, int] | None = None,
               strict: bool = False) -> list[tuple[int, ...]]:
    """Every valid chain (positions in the total order) of every anchor, any length >= 1.
    ``step_windows``: step -> longest gap from the previous step's event; ``strict``: the chain's
    events lie in consecutive stage visits."""
    chains = []
    step_windows = step_windows or {}
    visits = visit_numbers(staged)

    def extend(chain: tuple[int, ...]) -> None:
        first, last = staged[chain[0]], staged[chain[-1]]
        if (last.ts - first.ts).total_seconds() > window_s:
            return  # positions are in time order, so no extension can come back into the window
        if len(chain) > 1:
            gap = (last.ts - staged[chain[-2]].ts).total_seconds()
            if len(chain) in step_windows and gap > step_windows[len(chain)]:
                return
            if strict and visits[chain[-1]] != visits[chain[-2]] + 1:
                return
        chains.append(chain)
        step = len(chain) + 1
        if step > n_steps:
            return
        for j in range(chain[-1] + 1, len(staged)):
            if staged[j].order == step:
                extend(chain + (j,))

    for i, e in enumerate(staged):
        if e.order == 1:
            extend((i,))
    return chains


@dataclass
class CustomerFunnel:
    furthest: int
    steps: list[tuple[int, str, str, dt.datetime, dt.datetime]]  # step, stage, event_id, event_ts, entered_at


def oracle_funnel_customer(staged: list[Ev], n_steps: int, window_s: int, step_windows: dict[int, int] | None = None,
                           strict: bool = False) -> CustomerFunnel:
    chains = all_chains(staged, n_steps, window_s, step_windows, strict)
    if not chains:
        return CustomerFunnel(0, [])
    furthest = max(len(c) for c in chains)
    longest = [c for c in chains if len(c) == furthest]
    anchor = max(c[0] for c in longest)
    candidates = [c for c in longest if c[0] == anchor]
    chosen = min(candidates)  # earliest events
    # "earliest events" is componentwise: no other chain has an earlier event at any step
    for c in candidates:
        assert all(a <= b for a, b in zip(chosen, c)), (chosen, c)
    entered = staged[chosen[0]].ts
    steps = [(k, staged[p].stage, staged[p].event_id, staged[p].ts, entered) for k, p in enumerate(chosen, start=1)]
    return CustomerFunnel(furthest, steps)


def quantile_cont(values: list[float], q: float) -> float:
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def oracle_funnel(spec: Spec, per_customer: dict[str, CustomerFunnel], staged: dict[str, list[Ev]]) -> list[dict]:
    n = len(spec.stages)
    customers = [sum(1 for f in per_customer.values() if f.furthest >= k) for k in range(1, n + 1)]
    rows = []
    for k in range(1, n + 1):
        c = customers[k - 1]
        prev = customers[k - 2] if k > 1 else None
        nxt = customers[k] if k < n else None
        gaps = [(f.steps[k][3] - f.steps[k - 1][3]).total_seconds()
                for f in per_customer.values() if f.furthest >= k + 1]
        stage = spec.stages[k - 1]
        rows.append({
            "step": k,
            "stage_order": k,
            "stage": stage,
            "customers": c,
            "conversion_from_previous": c / prev if prev else None,
            "conversion_from_start": c / customers[0] if customers[0] else None,
            "dropped": c - nxt if nxt is not None else None,
            "drop_off_rate": (c - nxt) / c if nxt is not None and c else None,
            "reached_any_order": sum(1 for evs in staged.values() if any(e.stage == stage for e in evs)),
            "implied": 0,
            "ttc_median_s": statistics.median(gaps) if gaps else None,
            "ttc_p25_s": quantile_cont(gaps, 0.25) if gaps else None,
            "ttc_p75_s": quantile_cont(gaps, 0.75) if gaps else None,
            "ttc_p90_s": quantile_cont(gaps, 0.9) if gaps else None,
            "ttc_mean_s": statistics.fmean(gaps) if gaps else None,
        })
    return rows


@dataclass
class Visit:
    stage: str
    order: int
    entered_at: dt.datetime
    last_event_at: dt.datetime
    n_events: int
    first_event_id: str


def oracle_visits(staged: list[Ev]) -> list[Visit]:
    visits: list[Visit] = []
    for e in staged:
        if visits and visits[-1].stage == e.stage:
            v = visits[-1]
            v.last_event_at = max(v.last_event_at, e.ts)
            v.n_events += 1
        else:
            visits.append(Visit(e.stage, e.order, e.ts, e.ts, 1, e.event_id))
    return visits


def kind_of(from_order: int, to_order: int) -> str:
    if to_order == from_order + 1:
        return "forward"
    if to_order > from_order + 1:
        return "skip"
    assert to_order < from_order  # consecutive visits never share a stage
    return "back"


def oracle_moves(visits: list[Visit]) -> list[tuple]:
    """(from_stage, from_order, to_stage, to_order, kind, gap_s) including (start) and (end)."""
    if not visits:
        return []
    moves = [("(start)", None, visits[0].stage, visits[0].order, "start", None)]
    for a, b in zip(visits, visits[1:]):
        moves.append((a.stage, a.order, b.stage, b.order, kind_of(a.order, b.order),
                      (b.entered_at - a.entered_at).total_seconds()))
    moves.append((visits[-1].stage, visits[-1].order, "(end)", None, "end", None))
    return moves


@dataclass
class Oracle:
    staged: dict[str, list[Ev]]
    funnel_customers: dict[str, CustomerFunnel]
    funnel: list[dict]
    visits: dict[str, list[Visit]]
    moves: dict[str, list[tuple]]


def oracle(spec: Spec) -> Oracle:
    staged = customer_events(spec)
    step_windows = {spec.stages.index(s) + 1: w for s, w in spec.step_windows.items()}
    per_customer = {c: oracle_funnel_customer(evs, len(spec.stages), spec.window_s, step_windows, spec.strict)
                    for c, evs in staged.items()}
    visits = {c: oracle_visits(evs) for c, evs in staged.items()}
    return Oracle(staged, per_customer, oracle_funnel(spec, per_customer, staged), visits,
                  {c: oracle_moves(v) for c, v in visits.items()})


# ---------------------------------------------------------------------------------------
# Running the SQL (once per seed, shared by the tests of that seed)
# ---------------------------------------------------------------------------------------

@dataclass
class SqlResult:
    customer_steps: pd.DataFrame
    funnel: pd.DataFrame
    transitions: pd.DataFrame
    stage_transitions: pd.DataFrame
    visits: pd.DataFrame
    journeys: pd.DataFrame


def run_sql(spec: Spec) -> SqlResult:
    r = journeys_for(spec.journeys, spec.stages, window=spec.window, mode="strict" if spec.strict else "ordered",
                     funnel={"step_windows": {s: f"{w}s" for s, w in spec.step_windows.items()}})
    try:
        return SqlResult(r.customer_steps, r.funnel, r.transitions, r.stage_transitions, r.visits, r.journeys)
    finally:
        r.con.close()


@functools.lru_cache(maxsize=None)
def case(seed: int) -> tuple[Spec, Oracle, SqlResult]:
    spec = random_spec(seed)
    return spec, oracle(spec), run_sql(spec)


@functools.lru_cache(maxsize=None)
def step_window_case(seed: int) -> tuple[Spec, Oracle, SqlResult]:
    spec = random_step_window_spec(seed)
    return spec, oracle(spec), run_sql(spec)


def nullable(v):
    """Python value with every SQL null / NaN / NA as None, timestamps as datetimes."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(nullable(v) for v in row) for row in frame[columns].itertuples(index=False)]


def same_number(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def describe(spec: Spec, customer: str | None = None) -> str:
    js = spec.journeys if customer is None else {customer: spec.journeys[customer]}
    return (f"stages={spec.stages} window={spec.window} step_windows={spec.step_windows} strict={spec.strict} "
            f"journeys={js}")


SEEDS = range(N_SEEDS)


# ---------------------------------------------------------------------------------------
# Hand-checked examples: the oracle itself against answers worked out by hand
# ---------------------------------------------------------------------------------------

def _spec(journeys, stages=("a", "b", "c"), window="1h", window_s=3600):
    return Spec(list(stages), window, window_s, journeys)


@pytest.mark.parametrize("journey, furthest, step_ids", [
    # window boundary is inclusive
    ([("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:30"), ("c", "2025-01-01 11:00")], 3, [0, 1, 2]),
    ([("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:30"), ("c", "2025-01-01 11:00:01")], 2, [0, 1]),
    # re-anchoring: a later step-1 event that reaches as far gives the times
    ([("a", "2025-01-01 10:00"), ("a", "2025-01-01 10:20"), ("b", "2025-01-01 10:40")], 2, [1, 2]),
    # ... but not when only the earlier anchor reaches the furthest step
    ([("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:10"), ("a", "2025-01-01 10:20"),
      ("c", "2025-01-01 10:50")], 3, [0, 1, 3]),
    # a later anchor that reaches further wins even though an earlier one got to step 2
    ([("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:10"), ("a", "2025-01-01 12:00"),
      ("b", "2025-01-01 12:10"), ("c", "2025-01-01 12:20")], 3, [2, 3, 4]),
    # ties at one instant are taken in funnel order, whatever the list order
    ([("c", "2025-01-01 10:00"), ("b", "2025-01-01 10:00"), ("a", "2025-01-01 10:00")], 3, [2, 1, 0]),
    # earliest events among chains with the same anchor
    ([("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:10"), ("b", "2025-01-01 10:05"),
      ("c", "2025-01-01 10:30")], 3, [0, 2, 3]),
    # a step-2 event before any step-1 event does not count
    ([("b", "2025-01-01 09:00"), ("a", "2025-01-01 10:00")], 1, [1]),
    ([("b", "2025-01-01 09:00"), ("c", "2025-01-01 09:30")], 0, []),
])
def test_oracle_hand_examples(journey, furthest, step_ids):
    spec = _spec({"x": journey})
    o = oracle(spec)
    f = o.funnel_customers["x"]
    assert f.furthest == furthest
    assert [s[2] for s in f.steps] == [f"x-{i:04d}" for i in step_ids]
    sql = run_sql(spec)
    assert dict(zip(sql.journeys["customer_id"], sql.journeys["funnel_step_reached"])) == {"x": furthest}
    assert sql.customer_steps["event_id"].tolist() == [f"x-{i:04d}" for i in step_ids]


def test_oracle_hand_visits():
    spec = _spec({"x": [("a", "2025-01-01 10:00"), ("noise", "2025-01-01 10:01"), ("a", "2025-01-01 10:02"),
                        ("c", "2025-01-01 10:03"), ("b", "2025-01-01 10:04"), ("c", "2025-01-01 10:05")]})
    o = oracle(spec)
    assert [v.stage for v in o.visits["x"]] == ["a", "c", "b", "c"]
    assert [v.n_events for v in o.visits["x"]] == [2, 1, 1, 1]
    assert [m[4] for m in o.moves["x"]] == ["start", "skip", "back", "forward", "end"]


# ---------------------------------------------------------------------------------------
# Property tests against the SQL
# ---------------------------------------------------------------------------------------

def check_customer_steps(spec: Spec, o: Oracle, sql: SqlResult) -> None:
    got = defaultdict(list)
    for row in records(sql.customer_steps, ["customer_id", "step", "stage", "event_id", "event_ts", "entered_at"]):
        got[row[0]].append(row[1:])
    reached = dict(zip(sql.journeys["customer_id"], sql.journeys["funnel_step_reached"]))
    for customer, f in o.funnel_customers.items():
        assert reached.get(customer) == f.furthest, describe(spec, customer)
        assert sorted(got.get(customer, [])) == f.steps, describe(spec, customer)
    assert set(got) <= set(o.funnel_customers)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_customer_steps_match_oracle(seed):
    check_customer_steps(*case(seed))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(STEP_WINDOW_SEEDS))
def test_step_window_customer_steps_match_oracle(seed):
    check_customer_steps(*step_window_case(seed))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(STEP_WINDOW_SEEDS))
def test_step_window_funnel_table_matches_oracle(seed):
    check_funnel_table(*step_window_case(seed))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_funnel_table_matches_oracle(seed):
    check_funnel_table(*case(seed))


def check_funnel_table(spec: Spec, o: Oracle, sql: SqlResult) -> None:
    got = sql.funnel.to_dict("records")
    assert len(got) == len(o.funnel)
    for g, want in zip(got, o.funnel):
        for col, value in want.items():
            actual = nullable(g[col])
            if isinstance(value, str) or col in ("step", "stage_order", "customers", "reached_any_order", "implied"):
                assert actual == value, (col, g, want, describe(spec))
            else:
                assert same_number(actual, value), (col, g, want, describe(spec))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_visits_match_oracle(seed):
    spec, o, sql = case(seed)
    got = defaultdict(list)
    cols = ["customer_id", "visit_index", "stage", "stage_order", "entered_at", "last_event_at", "left_at",
            "n_events", "first_event_id"]
    for row in records(sql.visits, cols):
        got[row[0]].append(row[1:])
    want = {}
    for customer, visits in o.visits.items():
        if visits:
            want[customer] = [(i, v.stage, v.order, v.entered_at, v.last_event_at,
                               visits[i].entered_at if i < len(visits) else None, v.n_events, v.first_event_id)
                              for i, v in enumerate(visits, start=1)]
    assert dict(got) == want, describe(spec)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_transitions_match_oracle(seed):
    spec, o, sql = case(seed)
    cells: dict[tuple, dict] = {}
    for customer, moves in o.moves.items():
        for from_stage, from_order, to_stage, to_order, kind, gap in moves:
            cell = cells.setdefault((from_stage, from_order, to_stage, to_order),
                                    {"kind": kind, "transitions": 0, "customers": set(), "gaps": []})
            assert cell["kind"] == kind
            cell["transitions"] += 1
            cell["customers"].add(customer)
            if gap is not None:
                cell["gaps"].append(gap)
    want = {k: (v["kind"], v["transitions"], len(v["customers"]),
                statistics.median(v["gaps"]) if v["gaps"] else None) for k, v in cells.items()}
    got = {}
    for fs, fo, ts, to, kind, n, customers, gap in records(
            sql.transitions, ["from_stage", "from_order", "to_stage", "to_order", "kind", "transitions", "customers",
                              "median_gap_s"]):
        assert (fs, fo, ts, to) not in got
        got[(fs, fo, ts, to)] = (kind, n, customers, gap)
    assert set(got) == set(want), describe(spec)
    for key, (kind, n, customers, gap) in want.items():
        g = got[key]
        assert g[:3] == (kind, n, customers), (key, g, want[key], describe(spec))
        assert same_number(g[3], gap), (key, g, want[key], describe(spec))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_journeys_match_oracle(seed):
    spec, o, sql = case(seed)
    got = {row[0]: row[1:] for row in records(sql.journeys, [
        "customer_id", "stage_path", "n_visits", "n_back_steps", "n_skips", "first_stage", "current_stage",
        "furthest_stage", "funnel_step_reached", "funnel_entered_at", "converted", "time_to_convert_s"])}
    n = len(spec.stages)
    want = {}
    for customer, visits in o.visits.items():
        kinds = [m[4] for m in o.moves[customer]]
        f = o.funnel_customers[customer]
        converted = f.furthest == n
        want[customer] = (
            ">".join(v.stage for v in visits) or None,
            len(visits),
            kinds.count("back"),
            kinds.count("skip"),
            visits[0].stage if visits else None,
            visits[-1].stage if visits else None,
            max(visits, key=lambda v: v.order).stage if visits else None,
            f.furthest,
            f.steps[0][4] if f.steps else None,
            converted,
            (f.steps[-1][3] - f.steps[0][3]).total_seconds() if converted else None,
        )
    assert got == want, describe(spec)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_invariants(seed):
    spec, o, sql = case(seed)
    funnel = sql.funnel
    customers = funnel["customers"].tolist()
    assert all(a >= b for a, b in zip(customers, customers[1:])), customers
    assert (funnel["customers"] <= funnel["reached_any_order"]).all()
    for col in ("conversion_from_previous", "conversion_from_start", "drop_off_rate"):
        values = funnel[col].dropna()
        assert ((values >= 0) & (values <= 1)).all(), (col, values.tolist())
    dropped = funnel["dropped"].iloc[:-1].astype(int).tolist()
    assert dropped == [a - b for a, b in zip(customers, customers[1:])]
    assert pd.isna(funnel["dropped"].iloc[-1])
    # every converter's ttc is >= 0 (the chain is ordered in time)
    assert (funnel["ttc_median_s"].dropna() >= 0).all()

    st = sql.stage_transitions
    j = sql.journeys
    assert int((st["kind"] == "back").sum()) == int(j["n_back_steps"].sum())
    assert int(sql.transitions.loc[sql.transitions["kind"] == "back", "transitions"].sum()) == int(j["n_back_steps"].sum())
    assert int((st["kind"] == "skip").sum()) == int(j["n_skips"].sum())
    staged_customers = set(j.loc[j["n_visits"] > 0, "customer_id"])
    for kind in ("start", "end"):
        per_customer = st[st["kind"] == kind].groupby("customer_id").size()
        assert set(per_customer.index) == staged_customers
        assert (per_customer == 1).all(), per_customer[per_customer != 1]
    # every non-start row is one move between visits: n_visits - 1 moves + start + end
    rows = st.groupby("customer_id").size()
    visits = j.set_index("customer_id")["n_visits"]
    for customer, n in rows.items():
        assert n == visits[customer] + 1
    # funnel step counts agree with journeys
    reached = j["funnel_step_reached"]
    assert customers == [int((reached >= k).sum()) for k in range(1, len(spec.stages) + 1)]
