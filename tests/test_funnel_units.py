"""Funnel units (funnel.unit): customer, CRM deal and session, on declarative journeys.

A unit is what the funnel counts. ``deal``: each CRM deal (crm_deal, else crm_lead id) with
the touchpoints that lead to it; ``session``: a customer's events split at gaps longer than
``funnel.session_gap``. Per-step windows (``step_windows`` / ``stages[i].window``) are
covered here on hand-made journeys and by the oracle in test_funnel_oracle.py.
"""

import pandas as pd
import pytest

from cjm_pipeline.config import config_from_dict
from cjm_pipeline.errors import ConfigError
from journeys import journeys_for

SITE_CRM = ["visit", "lead", "won"]


def by_unit(r):
    steps = r.table("funnel_customer_steps", ("step",))
    return {u: sorted(g["step"].tolist()) for u, g in steps.groupby("unit_id")}


def test_session_unit_splits_a_customer_at_gaps_longer_than_the_session_gap():
    r = journeys_for({
        "c1": [("visit", "2025-01-01 10:00"), ("page", "2025-01-01 10:20"), ("lead", "2025-01-01 10:45"),
               # 31 minutes of silence: a new session that only visits
               ("visit", "2025-01-01 11:16"),
               # next day: a visit and a lead 29 minutes later (same session), then a purchase
               ("visit", "2025-01-02 09:00"), ("lead", "2025-01-02 09:29"), ("won", "2025-01-02 09:40")],
        "c2": [("visit", "2025-01-01 10:00")],
    }, SITE_CRM, funnel={"unit": "session"})
    assert r.funnel["customers"].tolist() == [4, 2, 1]
    units = by_unit(r)
    assert sorted(units.values()) == [[1], [1], [1, 2], [1, 2, 3]]
    ids = r.table("funnel_events")
    assert ids.loc[ids["customer_id"] == "c1", "unit_id"].nunique() == 3
    # the journeys table stays per customer, with the customer's best session
    assert r.reached() == {"c1": 3, "c2": 1}


def test_session_gap_is_configurable():
    journey = {"c1": [("visit", "2025-01-01 10:00"), ("lead", "2025-01-01 11:00")]}
    assert journeys_for(journey, SITE_CRM, funnel={"unit": "session"}).funnel["customers"].tolist() == [1, 0, 0]
    assert journeys_for(journey, SITE_CRM, funnel={"unit": "session", "session_gap": "2h"}).funnel[
        "customers"].tolist() == [1, 1, 0]


def test_deal_unit_counts_each_deal_with_the_touchpoints_that_lead_to_it():
    r = journeys_for({
        # two deals: the first visit leads to deal 1 (won); a later visit leads to deal 2 (lost)
        "c1": [("visit", "2025-01-01 10:00"), ("lead", "2025-01-01 11:00", {"crm_lead": "1"}),
               ("won", "2025-01-05 11:00", {"crm_lead": "1"}),
               ("visit", "2025-02-01 10:00"), ("lead", "2025-02-01 12:00", {"crm_lead": "2"}),
               ("lost", "2025-02-10 12:00", {"crm_lead": "2"})],
        # a deal without any site visit: it enters the CRM funnel at 'lead', so not at step 1
        "c2": [("lead", "2025-01-03 09:00", {"crm_deal": "77"}), ("won", "2025-01-04 09:00", {"crm_deal": "77"})],
        # no deal at all: not in a deal funnel
        "c3": [("visit", "2025-01-01 10:00")],
    }, SITE_CRM, funnel={"unit": "deal"})
    assert by_unit(r) == {"crm_lead:1": [1, 2, 3], "crm_lead:2": [1, 2]}
    assert r.funnel["customers"].tolist() == [2, 2, 1]
    events = r.table("funnel_events")
    assert set(events["unit_id"]) == {"crm_lead:1", "crm_lead:2", "crm_deal:77"}
    assert "c3" not in set(events["customer_id"])
    # the February visit names no deal: it goes to the next deal to open, deal 2
    feb = events[events["event_ts"] == pd.Timestamp("2025-02-01 10:00")]
    assert feb["unit_id"].tolist() == ["crm_lead:2"]


def test_deal_unit_prefers_the_deal_open_at_the_time_and_the_deal_id_over_the_lead_id():
    r = journeys_for({
        "c1": [("lead", "2025-01-01 10:00", {"crm_lead": "5", "crm_deal": "50"}),
               ("call", "2025-01-02 10:00"),  # during deal 50: belongs to it
               ("won", "2025-01-03 10:00", {"crm_deal": "50"}),
               ("review", "2025-01-09 10:00")],  # after the last deal: the last deal
    }, SITE_CRM, funnel={"unit": "deal", "from_stage": "lead"})
    events = r.table("funnel_events")
    assert set(events["unit_id"]) == {"crm_deal:50"}
    assert r.funnel["customers"].tolist() == [1, 1]


def test_customer_unit_is_the_default_and_unit_id_is_the_customer():
    r = journeys_for({"c1": [("visit", "2025-01-01 10:00"), ("lead", "2025-01-01 10:10")]}, SITE_CRM)
    steps = r.table("funnel_customer_steps")
    assert (steps["unit_id"] != "").all()
    assert steps["unit_id"].nunique() == 1 and r.funnel["customers"].tolist() == [1, 1, 0]


def test_breakdowns_add_up_per_unit():
    r = journeys_for({
        "c1": [("visit", "2025-01-01 10:00", {"channel": "cpc"}), ("visit", "2025-01-01 12:00", {"channel": "seo"}),
               ("lead", "2025-01-01 12:05")],
    }, SITE_CRM, funnel={"unit": "session", "breakdowns": ["first_channel"]})
    b = r.table("funnel_breakdown")
    step1 = b[b["step"] == 1].set_index("value")["customers"].to_dict()
    assert step1 == {"cpc": 1, "seo": 1}
    assert sum(step1.values()) == r.funnel["customers"].iloc[0]


# ------------------------------------------------------------------ per-step windows, by hand

def test_step_window_is_measured_from_the_previous_step_and_picks_a_later_event_when_needed():
    stages = [{"name": "visit", "rules": [{"event_type": "visit"}]},
              {"name": "cart", "rules": [{"event_type": "cart"}]},
              {"name": "paid", "rules": [{"event_type": "paid"}], "window": "30m"}]
    r = journeys_for({
        # the first cart is too long before payment; the second one (10 min before) makes the chain
        "c1": [("visit", "2025-01-01 10:00"), ("cart", "2025-01-01 10:05"), ("cart", "2025-01-01 15:00"),
               ("paid", "2025-01-01 15:10")],
        # the payment comes 2 hours after the only cart: the customer stops at cart
        "c2": [("visit", "2025-01-01 10:00"), ("cart", "2025-01-01 10:05"), ("paid", "2025-01-01 12:05")],
    }, stage_rules=stages, window="7d")
    assert r.reached() == {"c1": 3, "c2": 2}
    steps = r.customer_steps
    c1 = steps[steps["customer_id"] == "c1"]
    assert c1["event_id"].tolist() == ["c1-0000", "c1-0002", "c1-0003"]
    # visit -> cart: c1 5 h (its chain uses the later cart), c2 5 min; cart -> paid: c1 10 min
    assert r.funnel["ttc_median_s"].tolist()[:2] == [(5 * 3600 + 300) / 2, 600.0]


def test_funnel_step_windows_override_the_stage_window_and_are_checked():
    stages = [{"name": "visit", "rules": [{"event_type": "visit"}]},
              {"name": "paid", "rules": [{"event_type": "paid"}], "window": "30m"}]
    journey = {"c1": [("visit", "2025-01-01 10:00"), ("paid", "2025-01-01 11:00")]}
    assert journeys_for(journey, stage_rules=stages).reached() == {"c1": 1}
    assert journeys_for(journey, stage_rules=stages, funnel={"step_windows": {"paid": "2h"}}).reached() == {"c1": 2}
    with pytest.raises(ConfigError) as e:
        config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
                          "stages": stages, "funnel": {"step_windows": {"payd": "2h"}, "unit": "deals"}})
    text = str(e.value)
    assert "funnel.step_windows.payd: unknown stage; did you mean 'paid'?" in text
    assert "funnel.unit: 'deals'; did you mean 'deal'? (valid: customer, deal, session)" in text


def test_furthest_mode_ignores_stage_windows_but_rejects_funnel_step_windows():
    stages = [{"name": "visit", "rules": [{"event_type": "visit"}]},
              {"name": "paid", "rules": [{"event_type": "paid"}], "window": "30m"}]
    journey = {"c1": [("visit", "2025-01-01 10:00"), ("paid", "2025-01-01 11:00")]}
    assert journeys_for(journey, stage_rules=stages, mode="furthest").reached() == {"c1": 2}
    with pytest.raises(ConfigError, match="step_windows: per-step windows need an order"):
        journeys_for(journey, stage_rules=stages, mode="furthest", funnel={"step_windows": {"paid": "1h"}})
