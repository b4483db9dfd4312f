"""The strict and furthest funnel modes (docs/semantics.md, "Strict funnel", "Furthest funnel"): declarative cases and a
hypothesis property test against brute-force references written from the definitions."""

import datetime as dt
import itertools

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys import journeys_for

ABC = ["a", "b", "c"]


def test_strict_chain_is_broken_by_another_stage_visit_but_not_by_unstaged_events():
    r = journeys_for({
        "broken": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 10:05"), ("b", "2025-01-01 10:10")],
        "unstaged_between": [("a", "2025-01-01 10:00"), ("email_open", "2025-01-01 10:05"),
                             ("b", "2025-01-01 10:10"), ("c", "2025-01-01 10:20")],
    }, ABC, mode="strict")
    assert r.reached() == {"broken": 1, "unstaged_between": 3}
    ordered = journeys_for({"broken": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 10:05"),
                                       ("b", "2025-01-01 10:10")]}, ABC, mode="ordered")
    assert ordered.reached() == {"broken": 2}


def test_strict_uses_the_latest_event_of_the_step_one_visit_as_anchor():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("a", "2025-01-03 10:00"), ("b", "2025-01-03 11:00")],
    }, ["a", "b"], mode="strict", window="1d")
    steps = r.customer_steps
    assert steps["step"].tolist() == [1, 2]
    assert str(steps.loc[0, "event_ts"]) == "2025-01-03 10:00:00"
    assert steps.loc[0, "event_id"] == "c1-0001"
    assert r.funnel.loc[0, "ttc_median_s"] == 3600


def test_strict_reanchors_on_a_later_attempt():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 10:10"), ("a", "2025-01-02 10:00"),
               ("b", "2025-01-02 10:30"), ("c", "2025-01-02 11:00")],
    }, ABC, mode="strict")
    assert r.reached() == {"c1": 3}
    assert str(r.customer_steps.loc[0, "event_ts"]) == "2025-01-02 10:00:00"


def test_furthest_counts_implied_steps_whatever_the_order():
    r = journeys_for({
        "jumped": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 11:00")],
        "reverse": [("c", "2025-01-01 10:00"), ("b", "2025-01-01 11:00")],
        "late": [("a", "2025-01-01 10:00"), ("c", "2025-03-01 10:00")],  # c is outside the 7d window
    }, ABC, mode="furthest", window="7d")
    assert r.reached() == {"jumped": 3, "reverse": 3, "late": 1}
    f = r.funnel
    assert f["customers"].tolist() == [3, 2, 2]
    assert f["implied"].tolist() == [1, 1, 0]  # reverse has no a; jumped has no b
    steps = r.customer_steps
    implied = steps[steps["event_id"].isna()]
    assert sorted(zip(implied["customer_id"], implied["step"])) == [("jumped", 2), ("reverse", 1)]


def test_furthest_time_to_convert_is_from_the_first_staged_event():
    r = journeys_for({"c1": [("b", "2025-01-01 10:00"), ("a", "2025-01-01 11:00"), ("c", "2025-01-01 13:00")]},
                     ABC, mode="furthest")
    j = r.journeys.iloc[0]
    assert bool(j["converted"]) and j["time_to_convert_s"] == 3 * 3600
    # a -> b: b came before a, so no time to convert is counted for that step
    assert pd.isna(r.funnel.loc[0, "ttc_median_s"]) and r.funnel.loc[1, "ttc_median_s"] == 10800


def test_all_modes_agree_on_a_linear_journey():
    journey = {"c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("c", "2025-01-01 12:00")]}
    funnels = [journeys_for(journey, ABC, mode=m).funnel for m in ("ordered", "strict", "furthest")]
    for f in funnels[1:]:
        pd.testing.assert_frame_equal(f, funnels[0])


# ---------------------------------------------------------------------------- references

T0 = dt.datetime(2025, 1, 1)


def sorted_staged(events, stages):
    """(ts, order, event_id) of staged events in the total order."""
    order = {s: i + 1 for i, s in enumerate(stages)}
    staged = [(ts, order[t], eid) for eid, (t, ts) in events if t in order]
    return sorted(staged)


def ref_strict(events, stages, window):
    """Furthest step over chains of consecutive visits S1, S2, ... within the window."""
    staged = sorted_staged(events, stages)
    visits = []  # [order, first_ts, last_ts]
    for ts, o, _ in staged:
        if visits and visits[-1][0] == o:
            visits[-1][2] = ts
        else:
            visits.append([o, ts, ts])
    best = 0
    for i, (o, _, anchor) in enumerate(visits):
        if o != 1:
            continue
        k = 1
        while i + k < len(visits) and visits[i + k][0] == k + 1 and visits[i + k][1] - anchor <= window:
            k += 1
        best = max(best, k)
    return best


def ref_furthest(events, stages, window):
    staged = sorted_staged(events, stages)
    if not staged:
        return 0, set()
    first = staged[0][0]
    reached = {o for ts, o, _ in staged if ts <= first + window}
    return max(reached), reached


journey_strategy = st.dictionaries(
    keys=st.sampled_from([f"c{i}" for i in range(8)]),
    values=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "x"]), st.integers(0, 12)), max_size=10),
    min_size=1, max_size=8,
)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys=journey_strategy, window_h=st.sampled_from([1, 3, 6, 24]))
def test_strict_and_furthest_match_references(journeys, window_h):
    stages = ["a", "b", "c", "d"]
    window = dt.timedelta(hours=window_h)
    spec = {c: [(t, (T0 + dt.timedelta(hours=h)).isoformat(sep=" ")) for t, h in evs] for c, evs in journeys.items()}
    events = {c: [(f"{c}-{i:04d}", (t, T0 + dt.timedelta(hours=h))) for i, (t, h) in enumerate(evs)]
              for c, evs in journeys.items()}
    strict = journeys_for(spec, stages, mode="strict", window=f"{window_h}h").reached()
    furthest_run = journeys_for(spec, stages, mode="furthest", window=f"{window_h}h")
    furthest = furthest_run.reached()
    for c in journeys:
        assert strict.get(c, 0) == ref_strict(events[c], stages, window), c
        k, reached = ref_furthest(events[c], stages, window)
        assert furthest.get(c, 0) == k, c
    # implied counts per step equal the reference's steps counted without an event
    expected_implied = [0] * len(stages)
    for c in journeys:
        k, reached = ref_furthest(events[c], stages, window)
        for step in range(1, k + 1):
            expected_implied[step - 1] += step not in reached
    assert furthest_run.funnel["implied"].tolist() == expected_implied
    # counts never increase from step to step, in every mode
    for run in (furthest_run,):
        counts = run.funnel["customers"].tolist()
        assert all(x >= y for x, y in itertools.pairwise(counts))
