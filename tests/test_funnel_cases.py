"""The ordered funnel and the stage timeline on small declarative journeys (docs/semantics.md, "Ordered funnel", "Stage visits and transitions")."""

import pytest

from journeys import journeys_for

ABCD = ["a", "b", "c", "d"]


def test_simple_funnel_counts_and_rates():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("c", "2025-01-01 12:00")],
        "c2": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:30")],
        "c3": [("a", "2025-01-01 10:00")],
        "c4": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 10:30")],  # skips b: reaches step 1 only
    }, ["a", "b", "c"])
    f = r.funnel
    assert f["customers"].tolist() == [4, 2, 1]
    assert f["conversion_from_previous"].tolist()[1:] == [0.5, 0.5]
    assert pd_isna(f["conversion_from_previous"][0])
    assert f["conversion_from_start"].tolist() == [1.0, 0.5, 0.25]
    assert f["dropped"].tolist()[:2] == [2, 1] and pd_isna(f["dropped"][2])
    assert f["drop_off_rate"].tolist()[:2] == [0.5, 0.5]
    assert f["reached_any_order"].tolist() == [4, 2, 2]
    assert f["implied"].tolist() == [0, 0, 0]
    # time from a to b over the two converters: 3600 s and 1800 s
    assert f.loc[0, "ttc_median_s"] == 2700 and f.loc[0, "ttc_mean_s"] == 2700
    assert f.loc[1, "ttc_median_s"] == 3600


def pd_isna(x):
    import pandas as pd
    return pd.isna(x)


def test_order_matters_other_events_may_come_between():
    r = journeys_for({
        "between": [("a", "2025-01-01 10:00"), ("x", "2025-01-01 10:05"), ("c", "2025-01-01 10:06"),
                    ("b", "2025-01-01 10:10"), ("c", "2025-01-01 10:20")],
        "wrong_order": [("b", "2025-01-01 09:00"), ("a", "2025-01-01 10:00")],
    }, ["a", "b", "c"])
    assert r.reached() == {"between": 3, "wrong_order": 1}


def test_window_is_measured_from_step_one_inclusive():
    r = journeys_for({
        "inside": [("a", "2025-01-01 00:00"), ("b", "2025-01-05 00:00"), ("c", "2025-01-08 00:00")],
        "boundary": [("a", "2025-01-01 00:00"), ("b", "2025-01-02 00:00"), ("c", "2025-01-08 00:00")],
        # each step is one day after the previous, but c is 7 days + 1 s after a
        "outside": [("a", "2025-01-01 00:00"), ("b", "2025-01-04 00:00"), ("c", "2025-01-08 00:00:01")],
    }, ["a", "b", "c"], window="7d")
    assert r.reached() == {"inside": 3, "boundary": 3, "outside": 2}


def test_new_step_one_event_reanchors_and_times_come_from_latest_anchor():
    r = journeys_for({
        # the first attempt stalls at a; the second a, 60 days later, converts within a 7-day window
        "c1": [("a", "2025-01-01 10:00"), ("a", "2025-03-01 10:00"), ("b", "2025-03-01 12:00"),
               ("c", "2025-03-02 10:00")],
    }, ["a", "b", "c"], window="7d")
    steps = r.customer_steps
    assert steps["step"].tolist() == [1, 2, 3]
    assert str(steps.loc[0, "event_ts"]) == "2025-03-01 10:00:00"
    assert r.funnel.loc[0, "ttc_median_s"] == 7200


def test_latest_anchor_wins_among_anchors_reaching_the_same_furthest_step():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("a", "2025-01-01 11:00"), ("b", "2025-01-01 11:30")],
    }, ["a", "b"])
    assert r.funnel.loc[0, "ttc_median_s"] == 1800


def test_earlier_anchor_counts_when_only_it_reaches_further():
    # the later a reaches only b (c comes before it); the earlier a reaches c
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:10"), ("c", "2025-01-01 10:20"),
               ("a", "2025-01-01 11:00"), ("b", "2025-01-01 11:10")],
    }, ["a", "b", "c"])
    steps = r.customer_steps
    assert steps["step"].tolist() == [1, 2, 3]
    assert str(steps.loc[0, "event_ts"]) == "2025-01-01 10:00:00"


def test_ties_at_the_same_timestamp_are_taken_in_funnel_order():
    # a CRM export with dates only: both events at midnight, listed in reverse order
    r = journeys_for({
        "c1": [("b", "2025-01-01 00:00"), ("a", "2025-01-01 00:00")],
    }, ["a", "b"])
    assert r.reached() == {"c1": 2}
    assert r.funnel.loc[0, "ttc_median_s"] == 0
    st = r.stage_transitions
    assert st["from_stage"].tolist() == ["(start)", "a", "b"]
    assert st["kind"].tolist() == ["start", "forward", "end"]


def test_one_event_fills_at_most_one_step():
    stages = [
        {"name": "visit", "rules": [{"event_type": "visit"}]},
        {"name": "purchase", "rules": [{"event_type": "purchase"}]},
        {"name": "repeat_purchase", "rules": [{"event_type": "purchase", "properties.order_number": "2"}]},
    ]
    r = journeys_for({
        "once": [("visit", "2025-01-01 10:00"), ("purchase", "2025-01-01 11:00", {"order_number": "2"})],
    }, stage_rules=stages)
    # a single purchase event takes the first matching stage and cannot also fill repeat_purchase
    assert r.reached() == {"once": 2}
    assert r.funnel["customers"].tolist() == [1, 1, 0]
    assert r.funnel["reached_any_order"].tolist() == [1, 1, 0]


def test_repeat_purchase_needs_a_second_event():
    stages = [
        {"name": "visit", "rules": [{"event_type": "visit"}]},
        {"name": "purchase", "rules": [{"event_type": "purchase", "properties.order_number": "1"}]},
        {"name": "repeat_purchase", "rules": [{"event_type": "purchase"}]},
    ]
    r = journeys_for({
        "twice": [("visit", "2025-01-01 10:00"), ("purchase", "2025-01-01 11:00", {"order_number": "1"}),
                  ("purchase", "2025-02-01 11:00", {"order_number": "2"})],
        "once": [("visit", "2025-01-01 10:00"), ("purchase", "2025-01-01 11:00", {"order_number": "1"})],
    }, stage_rules=stages)
    assert r.reached() == {"twice": 3, "once": 2}


def test_customer_without_step_one_never_enters():
    r = journeys_for({
        "no_entry": [("b", "2025-01-01 10:00"), ("c", "2025-01-01 11:00")],
        "entry": [("a", "2025-01-01 10:00")],
    }, ["a", "b", "c"])
    assert r.reached() == {"no_entry": 0, "entry": 1}
    f = r.funnel
    assert f["customers"].tolist() == [1, 0, 0]
    assert f["reached_any_order"].tolist() == [1, 1, 1]


def test_visits_collapse_consecutive_events_and_ignore_unstaged_ones():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("a", "2025-01-01 10:01"), ("email_open", "2025-01-01 10:02"),
               ("a", "2025-01-01 10:03"), ("b", "2025-01-01 10:04"), ("b", "2025-01-01 10:05")],
    }, ["a", "b"])
    v = r.visits
    assert v["stage"].tolist() == ["a", "b"]
    assert v["n_events"].tolist() == [3, 2]
    assert str(v.loc[0, "left_at"]) == "2025-01-01 10:04:00"
    assert v["left_at"].isna().tolist() == [False, True]


def test_transition_kinds_back_steps_and_skips():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("c", "2025-01-01 11:00"), ("b", "2025-01-01 12:00"),
               ("c", "2025-01-01 13:00"), ("d", "2025-01-01 14:00")],
    }, ABCD)
    st = r.stage_transitions
    assert list(zip(st["from_stage"], st["to_stage"], st["kind"])) == [
        ("(start)", "a", "start"), ("a", "c", "skip"), ("c", "b", "back"), ("b", "c", "forward"),
        ("c", "d", "forward"), ("d", "(end)", "end"),
    ]
    assert st["gap_s"].tolist()[1:5] == [3600.0] * 4
    j = r.journeys.iloc[0]
    assert j["stage_path"] == "a>c>b>c>d"
    assert (j["n_back_steps"], j["n_skips"]) == (1, 1)
    assert j["furthest_stage"] == "d" and j["current_stage"] == "d" and j["first_stage"] == "a"
    assert bool(j["converted"]) and j["time_to_convert_s"] == 4 * 3600


def test_transition_matrix_counts_transitions_and_distinct_customers():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:10"), ("a", "2025-01-01 10:20"),
               ("b", "2025-01-01 10:40")],
        "c2": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:30")],
    }, ["a", "b"])
    t = r.transitions.set_index(["from_stage", "to_stage"])
    assert t.loc[("a", "b"), "transitions"] == 3 and t.loc[("a", "b"), "customers"] == 2
    assert t.loc[("b", "a"), "kind"] == "back" and t.loc[("b", "a"), "transitions"] == 1
    assert t.loc[("(start)", "a"), "customers"] == 2 and t.loc[("b", "(end)"), "customers"] == 2
    # gaps a->b: 600, 1200, 1800 s
    assert t.loc[("a", "b"), "median_gap_s"] == 1200


def test_journey_row_for_a_customer_who_went_back_from_checkout():
    stages = ["awareness", "interest", "consideration", "checkout", "purchase"]
    r = journeys_for({
        "doubter": [("awareness", "2025-01-01 10:00"), ("interest", "2025-01-01 10:05"),
                    ("consideration", "2025-01-01 10:10"), ("checkout", "2025-01-01 10:15"),
                    ("interest", "2025-01-02 09:00"), ("consideration", "2025-01-02 09:10"),
                    ("checkout", "2025-01-02 09:20")],
    }, stages)
    j = r.journeys.iloc[0]
    assert j["stage_path"] == "awareness>interest>consideration>checkout>interest>consideration>checkout"
    assert j["n_back_steps"] == 1 and j["furthest_stage"] == "checkout"
    assert j["funnel_step_reached"] == 4 and not bool(j["converted"]) and pd_isna(j["time_to_convert_s"])


@pytest.mark.parametrize("window,expected", [("1h", [1, 0]), ("2h", [1, 1])])
def test_window_option_changes_conversion(window, expected):
    r = journeys_for({"c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:30")]}, ["a", "b"], window=window)
    assert r.funnel["customers"].tolist() == expected


def test_sub_range_funnel_starts_and_ends_at_the_named_stages():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("c", "2025-01-01 12:00")],
        "c2": [("b", "2025-01-01 10:00"), ("c", "2025-01-01 11:00"), ("d", "2025-01-01 12:00")],
    }, ABCD, funnel={"from_stage": "b", "to_stage": "c"})
    f = r.funnel
    assert f["stage"].tolist() == ["b", "c"] and f["step"].tolist() == [1, 2]
    assert f["customers"].tolist() == [2, 2]
    j = r.journeys.set_index("customer_id")
    assert j["converted"].tolist() == [True, True]  # converting means reaching the funnel's last step
    assert j.loc["c1", "time_to_convert_s"] == 3600


@pytest.mark.parametrize("mode", ["ordered", "strict", "furthest"])
def test_entry_range_selects_entries_and_follows_conversions_past_its_end(mode):
    r = journeys_for({
        "before": [("a", "2024-12-31 23:00"), ("b", "2025-01-01 01:00")],
        "inside": [("a", "2025-01-10 10:00"), ("b", "2025-02-20 10:00")],  # converts after the range
        "after": [("a", "2025-02-01 00:00"), ("b", "2025-02-01 01:00")],
    }, ["a", "b"], mode=mode, funnel={"entry_from": "2025-01-01", "entry_to": "2025-01-31"})
    assert r.reached() == {"before": 0, "inside": 2, "after": 0}
    assert r.funnel["customers"].tolist() == [1, 1]


def test_second_attempt_inside_the_entry_range_counts():
    r = journeys_for({
        "c1": [("a", "2024-12-20 10:00"), ("a", "2025-01-05 10:00"), ("b", "2025-01-05 11:00")],
    }, ["a", "b"], funnel={"entry_from": "2025-01-01"})
    steps = r.customer_steps
    assert str(steps.loc[0, "event_ts"]) == "2025-01-05 10:00:00" and steps["step"].tolist() == [1, 2]


def test_entries_whose_window_is_still_open_are_incomplete():
    r = journeys_for({
        "old": [("a", "2025-01-01 10:00"), ("b", "2025-01-02 10:00")],
        "recent": [("a", "2025-01-09 10:00")],  # the data ends 2025-01-10 10:00: its 7d window is open
        "last": [("x", "2025-01-10 10:00")],
    }, ["a", "b"], window="7d")
    steps = r.customer_steps.set_index("customer_id")
    assert bool(steps.loc["recent", "is_complete"]) is False
    assert steps.loc["old", "is_complete"].tolist() == [True, True]
    assert r.funnel["incomplete"].tolist() == [1, 0]


def test_journeys_count_touchpoints_per_source():
    r = journeys_for({"c1": [("a", "2025-01-01 10:00", {"source": "web"}), ("x", "2025-01-01 10:05", {"source": "web"}),
                             ("b", "2025-01-02 10:00", {"source": "crm"})]}, ["a", "b"])
    assert r.journeys.loc[0, "touchpoints_by_source"] == "crm=1;web=2"


def test_trends_count_each_periods_best_attempt():
    # 2025-01-06 and 2025-01-13 are Mondays: two ISO weeks
    r = journeys_for({
        "both_weeks": [("a", "2025-01-06 10:00"), ("a", "2025-01-13 10:00"), ("b", "2025-01-13 11:00")],
        "week1": [("a", "2025-01-07 10:00"), ("b", "2025-01-07 10:30"), ("c", "2025-01-08 10:00")],
        "late": [("x", "2025-03-01 00:00")],
    }, ["a", "b", "c"], window="30d", funnel={"trend_period": "week"})
    t = r.table("funnel_trends", ("period_start", "step"))
    week1 = t[t["period_start"].astype(str).str.startswith("2025-01-06")]
    week2 = t[t["period_start"].astype(str).str.startswith("2025-01-13")]
    # both_weeks counts in week 1 (its first a reaches the b of Jan 13, within 30 days) and in week 2
    assert week1["customers"].tolist() == [2, 2, 1]
    assert week2["customers"].tolist() == [1, 1, 0]
    assert week1["conversion_from_start"].tolist() == [1.0, 1.0, 0.5]
    assert t["is_complete"].all()  # the data runs to March: every 30-day window has closed
    # the overall funnel counts each customer once
    assert r.funnel["customers"].tolist() == [2, 2, 1]


def test_trend_periods_whose_window_is_open_are_incomplete():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00")],
        "c2": [("a", "2025-01-20 10:00")],
    }, ["a", "b"], window="7d", funnel={"trend_period": "month"})
    t = r.table("funnel_trends", ("period_start", "step"))
    assert t["period_start"].astype(str).str[:10].unique().tolist() == ["2025-01-01"]
    assert not t["is_complete"].any()  # January + 7 days ends after the last event (Jan 20)
