"""Funnel breakdowns (``funnel_breakdown``) and the time-to-convert histogram (``ttc_histogram``).

Hand-worked journeys check each breakdown kind, '(none)', '(other)', properties and cohorts;
the key invariant (a customer has exactly one value per breakdown, so values sum to the funnel's
customers at every step) is checked in all three modes and on random journeys, and the
histogram is checked at its bin boundaries and against a plain-Python binning.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import config_from_dict
from cjm_pipeline.steps import Step

from journeys import journeys_for


def _step(name: str, inputs: tuple[str, ...], grain: tuple[str, ...]) -> Step:
    """The pipeline's step when it is registered, else the same step defined here."""
    return next((s for s in pipeline.STEPS if s.name == name), Step(name, "funnel", inputs, grain=grain))


UNIT_VALUES_STEP = _step("funnel_unit_values", ("funnel_customer_steps", "funnel_events", "classified_events",
                                                "cfg_breakdowns"), ("unit_id", "breakdown"))
BREAKDOWN_STEP = _step("funnel_breakdown", ("funnel_unit_values", "funnel_customer_steps", "data_cutoff",
                                            "cfg_funnel_steps"), ("breakdown", "value", "step"))
TTC_STEP = _step("ttc_histogram", ("funnel_customer_steps", "cfg_funnel_steps"), ("step", "bin_index"))

LABELS = ["<1m", "1–10m", "10m–1h", "1–6h", "6–24h", "1–3d", "3–7d", "7–30d", "30d+"]
EDGES = [0, 60, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400, None]


def run(journeys, stages=("a", "b", "c"), *, breakdowns=("first_channel", "last_channel", "entry_source", "cohort"),
        mode="ordered", window="90d", top_n=20, cohort_period="week"):
    r = journeys_for(journeys, list(stages), mode=mode, window=window)
    cfg = config_from_dict({
        "sources": [{"name": "test", "format": "generic_events", "path": "unused.csv"}],
        "stages": [{"name": s, "rules": [{"event_type": s}]} for s in stages],
        "funnel": {"window": window, "mode": mode, "breakdowns": list(breakdowns), "top_n": top_n,
                   "cohort_period": cohort_period},
    })
    pipeline.write_config_tables(r.con, cfg)
    params = pipeline.params_for(cfg)
    UNIT_VALUES_STEP.run(r.con, params)
    BREAKDOWN_STEP.run(r.con, params)
    TTC_STEP.run(r.con, params)
    return r


def breakdown(r) -> "pd.DataFrame":  # noqa: F821
    return db.read_table(r.con, "funnel_breakdown", order_by=["breakdown", "value", "step"])


def values(r, name: str, step: int = 1) -> dict[str, int]:
    """value -> customers at ``step`` for one breakdown."""
    b = breakdown(r)
    b = b[(b["breakdown"] == name) & (b["step"] == step)]
    return dict(zip(b["value"], b["customers"].astype(int)))


def histogram(r):
    return db.read_table(r.con, "ttc_histogram", order_by=["step", "bin_index"])


def assert_totals_add_up(r):
    funnel = dict(zip(r.funnel["step"], r.funnel["customers"].astype(int)))
    b = breakdown(r)
    names = db.execute(r.con, "select distinct breakdown from cfg_breakdowns")
    if funnel[1] == 0:
        assert b.empty
        return
    for (name,) in names:
        sums = b[b["breakdown"] == name].groupby("step")["customers"].sum().astype(int).to_dict()
        assert sums == funnel, name


# --- channels -------------------------------------------------------------------------------

def test_first_and_last_channel_are_the_touches_up_to_entry():
    r = run({
        # two touches before entry; the channel after entry (sms) does not count
        "c1": [("visit", "2025-01-01 09:00", {"channel": "email"}), ("visit", "2025-01-01 10:00", {"channel": "ads"}),
               ("a", "2025-01-01 11:00"), ("b", "2025-01-01 12:00", {"channel": "sms"})],
        # the entry event itself is the only touch
        "c2": [("a", "2025-01-02 10:00", {"channel": "social"})],
        # no channel anywhere -> (none)
        "c3": [("a", "2025-01-03 10:00"), ("b", "2025-01-03 11:00"), ("c", "2025-01-03 12:00")],
        # never enters the funnel (no step-1 event): not counted
        "c4": [("b", "2025-01-03 10:00", {"channel": "email"})],
    })
    assert values(r, "first_channel") == {"email": 1, "social": 1, "(none)": 1}
    assert values(r, "last_channel") == {"ads": 1, "social": 1, "(none)": 1}
    assert values(r, "first_channel", step=2) == {"email": 1, "social": 0, "(none)": 1}
    assert values(r, "first_channel", step=3) == {"email": 0, "social": 0, "(none)": 1}
    assert_totals_add_up(r)


def test_channel_touches_count_up_to_the_re_anchored_entry():
    # ordered mode re-anchors on the latest step-1 event (no progress after the first): entry = 2nd 'a'
    r = run({"c1": [("a", "2025-01-01 10:00", {"channel": "email"}), ("visit", "2025-01-02 10:00", {"channel": "ads"}),
                    ("a", "2025-01-03 10:00"), ("visit", "2025-01-04 10:00", {"channel": "sms"})]})
    assert values(r, "first_channel") == {"email": 1}
    assert values(r, "last_channel") == {"ads": 1}


def test_channel_ties_at_the_entry_time_follow_the_total_order():
    # same timestamp: the staged event (stage_order 1) comes before the unstaged one, then event_id
    r = run({"c1": [("visit", "2025-01-01 10:00", {"channel": "email"}), ("a", "2025-01-01 10:00", {"channel": "ads"})],
             # event ids c2-0000 < c2-0001 break the tie (list order, not the channel names)
             "c2": [("visit", "2025-01-01 10:00", {"channel": "x2"}), ("visit", "2025-01-01 10:00", {"channel": "x1"}),
                    ("a", "2025-01-01 11:00")]})
    assert values(r, "first_channel") == {"ads": 1, "x2": 1}
    assert values(r, "last_channel") == {"email": 1, "x1": 1}


# --- entry source, properties ---------------------------------------------------------------

def test_entry_source_and_property_of_the_entry_event():
    r = run({
        "c1": [("visit", "2025-01-01 09:00", {"source": "web", "plan": "free"}),
               ("a", "2025-01-01 10:00", {"source": "crm", "plan": "pro"})],
        "c2": [("a", "2025-01-01 10:00", {"source": "web"}), ("b", "2025-01-01 11:00", {"plan": "basic"})],
        "c3": [("a", "2025-01-01 10:00", {"source": "web", "plan": ""})],
    }, breakdowns=["entry_source", "properties.plan"])
    assert values(r, "entry_source") == {"crm": 1, "web": 2}
    assert values(r, "properties.plan") == {"pro": 1, "(none)": 2}
    assert values(r, "properties.plan", step=2) == {"pro": 0, "(none)": 1}
    assert set(breakdown(r)["breakdown"]) == {"entry_source", "properties.plan"}
    assert_totals_add_up(r)


def test_entry_event_when_step_one_is_implied_in_furthest_mode():
    r = run({
        # step 1 implied: the entry event is the first staged event (b)
        "c1": [("visit", "2025-01-01 09:00", {"source": "web"}), ("b", "2025-01-01 10:00", {"source": "crm", "plan": "p1"}),
               ("c", "2025-01-01 11:00", {"source": "shop", "plan": "p2"})],
        # c and b at the same time: the lower stage (b) is the entry event
        "c2": [("c", "2025-01-01 10:00", {"source": "shop", "plan": "p2"}),
               ("b", "2025-01-01 10:00", {"source": "ads", "plan": "p3"})],
    }, mode="furthest", breakdowns=["entry_source", "properties.plan"])
    steps = r.customer_steps
    assert steps[steps["step"] == 1]["event_id"].isna().all()
    assert values(r, "entry_source") == {"crm": 1, "ads": 1}
    assert values(r, "properties.plan") == {"p1": 1, "p3": 1}
    assert values(r, "entry_source", step=3) == {"crm": 1, "ads": 1}
    assert_totals_add_up(r)


# --- top N ----------------------------------------------------------------------------------

JOURNEYS_TOP = {
    "c1": [("a", "2025-01-01 10:00", {"channel": "email"}), ("b", "2025-01-01 11:00")],
    "c2": [("a", "2025-01-01 10:00", {"channel": "email"})],
    "c3": [("a", "2025-01-01 10:00", {"channel": "sms"}), ("b", "2025-01-01 11:00")],
    "c4": [("a", "2025-01-01 10:00", {"channel": "ads"})],
    "c5": [("a", "2025-01-01 10:00")],
    "c6": [("a", "2025-01-01 10:00")],
    "c7": [("a", "2025-01-01 10:00")],
}


def test_values_beyond_top_n_become_other_and_none_is_kept():
    r = run(JOURNEYS_TOP, top_n=1, breakdowns=["first_channel"])
    assert values(r, "first_channel") == {"email": 2, "(other)": 2, "(none)": 3}
    assert values(r, "first_channel", step=2) == {"email": 1, "(other)": 1, "(none)": 0}
    assert_totals_add_up(r)


def test_top_n_ties_are_broken_by_value():
    r = run(JOURNEYS_TOP, top_n=2, breakdowns=["first_channel"])
    assert values(r, "first_channel") == {"email": 2, "ads": 1, "(other)": 1, "(none)": 3}
    r = run(JOURNEYS_TOP, top_n=3, breakdowns=["first_channel"])
    assert values(r, "first_channel") == {"email": 2, "ads": 1, "sms": 1, "(none)": 3}


# --- cohorts --------------------------------------------------------------------------------

COHORT_JOURNEYS = {
    "sun": [("a", "2025-01-05 23:59"), ("b", "2025-01-06 10:00")],  # Sunday: week of Monday 2024-12-30
    "mon": [("a", "2025-01-06 00:00")],                              # Monday: a new week
    "sun2": [("a", "2025-01-12 12:00"), ("b", "2025-01-20 12:00")],  # same week as Monday the 6th
    "feb": [("a", "2025-02-01 08:00")],
}


@pytest.mark.parametrize("period, expected", [
    ("week", {"2024-12-30": 1, "2025-01-06": 2, "2025-01-27": 1}),
    ("month", {"2025-01-01": 3, "2025-02-01": 1}),
    ("day", {"2025-01-05": 1, "2025-01-06": 1, "2025-01-12": 1, "2025-02-01": 1}),
])
def test_cohort_is_the_entry_period(period, expected):
    r = run(COHORT_JOURNEYS, breakdowns=["cohort"], cohort_period=period)
    assert values(r, "cohort") == expected
    assert_totals_add_up(r)


def test_cohort_breakdown_across_two_weeks_has_its_own_rates():
    r = run(COHORT_JOURNEYS, breakdowns=["cohort"], cohort_period="week")
    b = breakdown(r)
    week = b[b["value"] == "2025-01-06"].set_index("step")
    assert week["customers"].tolist() == [2, 1, 0]
    assert week["conversion_from_previous"].tolist()[1:] == [0.5, 0.0]
    assert week["conversion_from_start"].tolist() == [1.0, 0.5, 0.0]
    assert week["dropped"].tolist()[:2] == [1, 1]
    assert week["drop_off_rate"].tolist()[:2] == [0.5, 1.0]
    last = b[b["step"] == 3]
    assert last["dropped"].isna().all() and last["drop_off_rate"].isna().all()
    assert b[b["step"] == 1]["conversion_from_previous"].isna().all()
    # every value lists every step, with the funnel's stage names
    assert len(b) == 3 * 3 and set(b["stage"]) == {"a", "b", "c"}


# --- totals in every mode -------------------------------------------------------------------

MIXED = {
    "c1": [("visit", "2025-01-01 09:00", {"channel": "email"}), ("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"),
           ("c", "2025-01-01 12:00")],
    "c2": [("a", "2025-01-02 10:00", {"channel": "ads", "source": "crm"}), ("c", "2025-01-02 11:00"),
           ("b", "2025-01-02 12:00")],
    "c3": [("b", "2025-01-03 10:00", {"channel": "sms"}), ("c", "2025-01-03 11:00")],
    "c4": [("a", "2025-01-10 10:00", {"plan": "pro"}), ("x", "2025-01-10 10:30"), ("b", "2025-01-10 11:00")],
    "c5": [("c", "2025-01-11 10:00"), ("a", "2025-01-12 10:00", {"channel": "email"}), ("b", "2025-01-12 10:00")],
}


@pytest.mark.parametrize("mode", ["ordered", "strict", "furthest"])
def test_values_add_up_to_the_funnel_in_every_mode(mode):
    r = run(MIXED, stages=("a", "b", "c", "x"), mode=mode,
            breakdowns=["first_channel", "last_channel", "entry_source", "cohort", "properties.plan"], top_n=1)
    assert r.funnel["customers"].tolist()[0] > 0
    assert_totals_add_up(r)
    # one value per customer per breakdown: step-1 customers per breakdown = entrants
    b = breakdown(r)
    entrants = int(r.funnel["customers"].iloc[0])
    assert (b[b["step"] == 1].groupby("breakdown")["customers"].sum() == entrants).all()


def test_no_breakdowns_gives_an_empty_typed_table():
    r = run(MIXED, breakdowns=[])
    types = dict(db.execute(r.con, "select column_name, data_type from information_schema.columns "
                                   "where table_name = 'cfg_breakdowns'"))
    assert types == {"breakdown": "VARCHAR", "property_name": "VARCHAR"}
    assert breakdown(r).empty


def test_cfg_breakdowns_names_the_property():
    r = run(MIXED, breakdowns=["cohort", "properties.plan"])
    rows = db.execute(r.con, "select breakdown, property_name from cfg_breakdowns order by breakdown")
    assert [tuple(x) for x in rows] == [("cohort", None), ("properties.plan", "plan")]


# --- time-to-convert histogram --------------------------------------------------------------

def test_histogram_bins_and_boundaries():
    r = run({
        "c1": [("a", "2025-01-01 10:00:00"), ("b", "2025-01-01 10:01:00"), ("c", "2025-01-01 10:01:00")],  # 60 s, 0 s
        "c2": [("a", "2025-01-01 10:00:00"), ("b", "2025-01-01 10:00:59")],                               # 59 s
        "c3": [("a", "2025-01-01 10:00:00"), ("b", "2025-01-02 10:00:00"), ("c", "2025-01-02 10:00:01")],  # 1 d, 1 s
        "c4": [("a", "2025-01-01 10:00:00"), ("b", "2025-01-02 09:59:59")],                               # 1 d - 1 s
        "c5": [("a", "2025-01-01 10:00:00"), ("b", "2025-02-01 10:00:00")],                               # 31 d
        "c6": [("a", "2025-01-01 10:00:00")],                                                             # no b
    })
    h = histogram(r)
    assert len(h) == 2 * 9
    assert h["bin_label"].tolist() == LABELS * 2
    assert h["bin_index"].tolist() == list(range(1, 10)) * 2
    assert h["lower_s"].tolist()[:9] == EDGES[:-1]
    assert h["upper_s"].iloc[:8].tolist() == EDGES[1:-1] and h["upper_s"].isna().tolist() == ([False] * 8 + [True]) * 2
    s1 = h[h["step"] == 1]
    assert (s1["stage"] == "a").all() and (s1["next_stage"] == "b").all()
    assert s1["customers"].tolist() == [1, 1, 0, 0, 1, 1, 0, 0, 1]
    assert s1["share"].tolist() == pytest.approx([0.2, 0.2, 0, 0, 0.2, 0.2, 0, 0, 0.2])
    s2 = h[h["step"] == 2]
    assert (s2["stage"] == "b").all() and (s2["next_stage"] == "c").all()
    assert s2["customers"].tolist() == [2, 0, 0, 0, 0, 0, 0, 0, 0]
    assert s2["share"].sum() == pytest.approx(1.0)


def test_histogram_share_is_empty_without_converters_and_skips_earlier_next_events():
    # furthest mode: c1's first 'b' comes before its 'a', so it has no time to convert
    r = run({"c1": [("b", "2025-01-01 10:00"), ("a", "2025-01-01 11:00")],
             "c2": [("a", "2025-01-01 10:00")]}, mode="furthest")
    h = histogram(r)
    assert r.funnel["customers"].tolist()[:2] == [2, 1]
    assert (h["customers"] == 0).all()
    assert h["share"].isna().all()
    assert len(h) == 2 * 9


# --- random journeys ------------------------------------------------------------------------

SEEDS = range(20)
OFFSETS = [0, 1, 59, 60, 61, 599, 600, 3600, 6 * 3600, 86399, 86400, 86401, 3 * 86400, 8 * 86400, 31 * 86400]


def random_journeys(seed: int) -> dict:
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1)
    journeys = {}
    for c in range(rng.randint(1, 25)):
        t = start + dt.timedelta(days=rng.randint(0, 40))
        events = []
        for _ in range(rng.randint(0, 10)):
            t += dt.timedelta(seconds=rng.choice(OFFSETS))
            props = {}
            if rng.random() < 0.6:
                props["channel"] = rng.choice(["email", "ads", "sms", "social"])
            props["source"] = rng.choice(["web", "crm", "shop"])
            if rng.random() < 0.5:
                props["plan"] = rng.choice(["free", "pro"])
            events.append((rng.choice(["a", "b", "c", "d", "x"]), t.isoformat(sep=" "), props))
        rng.shuffle(events)  # list (event_id) order independent of time order
        journeys[f"c{c}"] = events
    return journeys


def reference_values(r, top_n: int) -> dict[str, dict[str, str]]:
    """breakdown -> customer -> value, from the tables, in plain Python."""
    steps = db.execute(r.con, "select customer_id, step, event_id, event_ts, entered_at from funnel_customer_steps")
    events = db.execute(r.con, "select customer_id, event_id, event_ts, stage_order, channel, source "
                               "from classified_events")
    entered = {c: at for c, step, _, _, at in steps if step == 1}
    entry_event = {}
    for c, step, event_id, ts, at in sorted(steps, key=lambda s: s[1]):
        if c in entered and event_id is not None and (step == 1 or ts == at) and c not in entry_event:
            entry_event[c] = event_id
    source = {e[1]: e[5] for e in events}
    by_customer = defaultdict(list)
    for c, event_id, ts, order, channel, _ in events:
        if c in entered and channel is not None and ts <= entered[c]:
            by_customer[c].append(((ts, order if order is not None else float("inf"), event_id), channel))
    raw = {"first_channel": {}, "last_channel": {}, "entry_source": {}, "cohort": {}}
    for c, at in entered.items():
        touches = sorted(by_customer[c])
        raw["first_channel"][c] = touches[0][1] if touches else "(none)"
        raw["last_channel"][c] = touches[-1][1] if touches else "(none)"
        raw["entry_source"][c] = source[entry_event[c]] or "(none)"
        raw["cohort"][c] = (at.date() - dt.timedelta(days=at.weekday())).isoformat()
    out = {}
    for name, per_customer in raw.items():
        counts = Counter(v for v in per_customer.values() if v != "(none)")
        if name == "cohort":  # the latest periods (contiguous), however many entries each has
            top = set(sorted(counts, reverse=True)[:top_n])
        else:
            top = {v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]}
        out[name] = {c: v if v == "(none)" or v in top else "(other)" for c, v in per_customer.items()}
    return out


def reference_histogram(r) -> dict[tuple[int, int], int]:
    steps = db.execute(r.con, "select customer_id, step, event_ts from funnel_customer_steps")
    ts = {(c, k): t for c, k, t in steps}
    counts = Counter()
    for (c, k), t in ts.items():
        nxt = ts.get((c, k + 1))
        if t is None or nxt is None or nxt < t:
            continue
        seconds = (nxt - t).total_seconds()
        index = max(i for i, lower in enumerate(EDGES[:-1]) if seconds >= lower) + 1
        counts[(k, index)] += 1
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_random_journeys_match_the_reference(seed):
    mode = ["ordered", "strict", "furthest"][seed % 3]
    top_n = 1 + seed % 3
    r = run(random_journeys(seed), stages=("a", "b", "c", "d"), mode=mode, window="40d", top_n=top_n,
            breakdowns=["first_channel", "last_channel", "entry_source", "cohort", "properties.plan"])
    assert_totals_add_up(r)

    b = breakdown(r)
    steps = db.execute(r.con, "select customer_id, step from funnel_customer_steps")
    for name, per_customer in reference_values(r, top_n).items():
        expected = Counter((per_customer[c], k) for c, k in steps if c in per_customer)
        got = b[b["breakdown"] == name]
        assert {(v, int(k)): int(n) for v, k, n in zip(got["value"], got["step"], got["customers"]) if n} \
            == dict(expected), name
        assert len(got) == 4 * len(set(per_customer.values())), name

    h = histogram(r)
    assert len(h) == 3 * 9
    assert {(int(k), int(i)): int(n) for k, i, n in zip(h["step"], h["bin_index"], h["customers"]) if n} \
        == dict(reference_histogram(r))
    for _, group in h.groupby("step"):
        if group["customers"].sum():
            assert group["share"].sum() == pytest.approx(1.0)
        else:
            assert group["share"].isna().all()
