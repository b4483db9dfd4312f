"""Next-stage probabilities, the outlook, predictions for open journeys and their back-test
(docs/semantics.md, "Next-stage probabilities" ... "Honest quality"): hand-made journeys, plain-Python
references on random journeys, and worlds walked by the simulator's own stage model."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from predict_world import predict_for, simulated_journeys, true_visit_matrix

STAGES = ["a", "b", "c"]
DAY = 86400


def test_a_visit_moves_on_within_the_window_ends_after_it_or_is_still_open():
    r = predict_for({
        "k1": [("a", "2025-01-01 10:00"), ("b", "2025-01-03 10:00"), ("c", "2025-01-04 10:00")],
        "k2": [("a", "2025-01-01 10:00"), ("b", "2025-01-20 10:00")],  # 19 days: a ends; b is complete, ends
        "k3": [("a", "2025-01-02 10:00"), ("x", "2025-01-03 10:00")],  # unstaged x: a ends
        "k4": [("b", "2025-02-20 10:00"), ("c", "2025-02-21 10:00")],  # b younger than the window, moved on
        "k5": [("a", "2025-02-25 10:00"), ("x", "2025-03-01 10:00")],  # open: counted nowhere
    }, STAGES, window="10d")
    got = {(x.from_stage, x.to_stage): (x.visits, x.transitions, x.customers, x.probability, x.median_gap_s)
           for x in r.table("stage_next").itertuples()}
    assert got[("a", "b")][:4] == (3, 1, 1, pytest.approx(1 / 3)) and got[("a", "b")][4] == 2 * DAY
    assert got[("a", "(end)")][:4] == (3, 2, 2, pytest.approx(2 / 3))
    assert got[("b", "c")][:4] == (2, 1, 1, 0.5) and got[("b", "(end)")][:4] == (2, 1, 1, 0.5)
    assert got[("(start)", "a")][:3] == (5, 4, 4) and got[("(start)", "b")][:3] == (5, 1, 1)
    assert got[("c", "(end)")][:3] == (1, 1, 1) and len(got) == 7  # c: k1's only; k4's c is too recent
    outcomes = r.table("visit_outcomes").set_index(["customer_id", "visit_index"])
    assert pd.isna(outcomes.loc[("k5", 1), "next_stage"]) and not outcomes.loc[("k5", 1), "is_complete"]
    assert not outcomes.loc[("k4", 1), "is_complete"] and outcomes.loc[("k4", 1), "next_stage"] == "c"
    outlook = r.table("stage_outlook").set_index("stage")
    assert outlook.loc["a", "visits"] == 3 and outlook.loc["a", "recent_visits"] == 1


# --------------------------------------------------------------------------- references on random journeys


def random_journeys(seed: int, n: int = 60):
    rng = random.Random(seed)
    base = dt.datetime(2025, 1, 1)
    journeys = {}
    for c in range(n):
        t = base + dt.timedelta(days=rng.randint(0, 80))
        events = []
        for _ in range(rng.randint(1, 7)):
            t += dt.timedelta(hours=rng.choice([0, 3, 30, 100, 300]))
            events.append((rng.choice(["a", "a", "b", "b", "c", "x"]), t.isoformat(sep=" ")))
        journeys[f"k{c:03d}"] = events
    return journeys


def reference_visits(journeys):
    """Per customer, the stage visits [(stage, entered)], and the data's cutoff, in plain Python."""
    rank = {s: i for i, s in enumerate(STAGES)}
    cutoff = max(dt.datetime.fromisoformat(t) for events in journeys.values() for _, t in events)
    visits = {}
    for customer, events in journeys.items():
        staged = sorted(((dt.datetime.fromisoformat(t), rank[k], i, k) for i, (k, t) in enumerate(events)
                         if k in rank))
        runs = []
        for when, _, _, stage in staged:
            if not runs or runs[-1][0] != stage:
                runs.append((stage, when))
        visits[customer] = runs
    return visits, cutoff


def reference_next(journeys, window_s):
    visits, cutoff = reference_visits(journeys)
    counts: dict = {}
    for runs in visits.values():
        for i, (stage, entered) in enumerate(runs):
            if (cutoff - entered).total_seconds() < window_s:
                continue  # open: younger than the window
            nxt = runs[i + 1] if i + 1 < len(runs) else None
            to = nxt[0] if nxt and (nxt[1] - entered).total_seconds() <= window_s else "(end)"
            counts.setdefault(stage, {}).setdefault(to, 0)
            counts[stage][to] += 1
    return {s: {t: n / sum(row.values()) for t, n in row.items()} for s, row in counts.items()}


def reference_p_goal(probabilities, goal="c", rounds=2000):
    """Value iteration h = P h with h(goal) = 1, h((end)) = 0: the chain's answer without linear algebra."""
    h = {s: 0.0 for s in probabilities}
    for _ in range(rounds):
        h = {s: sum(p * (1.0 if t == goal else h.get(t, 0.0)) for t, p in row.items()) for s, row in probabilities.items()}
    h[goal] = 1.0
    return h


@pytest.mark.parametrize("seed", [3, 4])
def test_probabilities_and_outlook_match_plain_python_on_random_journeys(seed):
    journeys = random_journeys(seed)
    r = predict_for(journeys, STAGES, window="7d")
    expected = reference_next(journeys, 7 * DAY)
    table = r.table("stage_next")
    moves = table[table["from_stage"] != "(start)"]
    got = {s: dict(zip(g["to_stage"], g["probability"])) for s, g in moves.groupby("from_stage")}
    assert set(got) == set(expected)
    for stage, row in expected.items():
        assert got[stage] == pytest.approx(row)
        assert sum(got[stage].values()) == pytest.approx(1.0)
    h = reference_p_goal({s: row for s, row in expected.items() if s != "c"})
    outlook = r.table("stage_outlook").set_index("stage")
    for stage in expected:
        assert outlook.loc[stage, "p_goal"] == pytest.approx(h[stage], abs=1e-9)


# --------------------------------------------------------------------------- predictions


def test_open_journeys_get_the_rate_of_their_stage_and_time_already_spent():
    """Window 10 d, cutoff 03-31 10:00. Reference visits of a: k1..k4 (complete). After 1 h in a, k1
    (b at 30 min) has left: 3 remain, 1 of them (k2) reached c within 10 d after that moment."""
    journeys = {
        "k1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 10:30"), ("c", "2025-01-02 10:00")],
        "k2": [("a", "2025-01-05 10:00"), ("c", "2025-01-07 10:00")],
        "k3": [("a", "2025-01-10 10:00")],
        "k4": [("a", "2025-02-01 10:00"), ("b", "2025-02-03 10:00")],
        "n1": [("a", "2025-03-31 08:00")],  # open, 2 h in a
        "n2": [("b", "2025-03-30 10:00")],  # open, 1 d in b
        "n3": [("a", "2025-03-31 10:00")],  # open, just arrived
    }
    r = predict_for(journeys, STAGES, window="10d", config={"predict": {"min_reference_visits": 3}})
    rates = r.table("goal_rates")
    current = rates[(rates["fit"] == "current") & (rates["stage"] == "a")].set_index("bucket")
    assert current.loc[1, ["reference_visits", "reached_goal"]].tolist() == [4, 2]
    assert current.loc[2, ["reference_visits", "reached_goal"]].tolist() == [3, 1]
    p = r.table("journey_predictions").set_index("customer_id")
    assert sorted(p.index) == ["n1", "n2", "n3"]
    assert p.loc["n1", "time_in_stage_s"] == 7200 and p.loc["n1", "bucket_start_s"] == 3600
    assert p.loc["n1", "p_goal_window"] == pytest.approx(1 / 3) and p.loc["n1", "basis"] == "stage_and_time"
    assert p.loc["n3", "p_goal_window"] == pytest.approx(1 / 2) and p.loc["n3", "reference_visits"] == 4
    # b: k1 and k4 are reference visits of bucket 1 (2), but only k4 is still in b after 1 d: basis 'stage'
    assert p.loc["n2", "basis"] == "stage" and p.loc["n2", "p_goal_window"] == pytest.approx(1 / 2)
    assert p.loc["n1", "likely_next_stage"] in ("(end)", "b", "c")


def reference_scores(backtest):
    """Brier and AUC from every pair of a converter and a non-converter, in plain Python."""
    out = {}
    for model, column in (("model", "p_model"), ("baseline", "p_baseline")):
        rows = [(float(p), bool(y)) for p, y in zip(backtest[column], backtest["reached_goal"]) if p == p]
        brier = sum((p - y) ** 2 for p, y in rows) / len(rows)
        pos, neg = [p for p, y in rows if y], [p for p, y in rows if not y]
        wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
        out[model] = (len(rows), brier, wins / (len(pos) * len(neg)) if pos and neg else None)
    return out


def test_back_test_scores_match_plain_python():
    journeys = random_journeys(5, n=120)
    r = predict_for(journeys, STAGES, window="14d", config={"predict": {"min_reference_visits": 2}})
    backtest = r.table("prediction_backtest")
    quality = r.table("prediction_quality").set_index("model")
    expected = reference_scores(backtest)
    assert expected["model"][0] > 10
    for model, (n, brier, auc) in expected.items():
        assert quality.loc[model, "customers"] == n
        assert quality.loc[model, "brier"] == pytest.approx(brier)
        assert quality.loc[model, "auc"] == pytest.approx(auc)
    calibration = r.table("prediction_calibration")
    model = calibration[calibration["model"] == "model"]
    assert model["customers"].sum() == expected["model"][0] and len(model) == min(10, expected["model"][0])
    assert (model["mean_predicted"].diff().dropna() >= -1e-12).all()


# --------------------------------------------------------------------------- the simulator's world


@pytest.mark.slow
def test_the_chain_recovers_the_simulator_s_transition_model():
    """classic, 20,000 people over 6,000 days and a 2,000-day window (no gap of the model is that long,
    so the window cuts no move short): every next-stage probability within 4 standard errors of the
    model's, and the probability of reaching purchase close to the model's chain, solved by value iteration."""
    journeys, sm = simulated_journeys("classic", 20_000, 6_000, seed=5)
    names = ["awareness", "interest", "question", "purchase", "advocacy", "repeat_purchase"]
    r = predict_for(journeys, names, window="2000d", config={"funnel": {"to_stage": "purchase"}})
    truth = true_visit_matrix(sm, names)
    table = r.table("stage_next")
    worst = 0.0
    for row in table[table["from_stage"] != "(start)"].itertuples():
        p = truth[row.from_stage].get(row.to_stage, 0.0)
        se = max(p * (1 - p), 1e-6) ** 0.5 / row.visits ** 0.5
        worst = max(worst, abs(row.probability - p) / se)
    assert worst < 4, worst
    expected = reference_p_goal({s: row for s, row in truth.items() if s != "purchase"}, goal="purchase")
    outlook = r.table("stage_outlook").set_index("stage")
    for stage in ("awareness", "interest", "question"):
        assert outlook.loc[stage, "p_goal"] == pytest.approx(expected[stage], abs=0.02)


@pytest.mark.slow
def test_the_back_test_beats_the_baseline_on_a_simulated_world():
    """classic, 20,000 people over 400 days, a 30-day window, goal purchase: time already spent in
    a stage says a lot (a step usually follows within the session or days later, rarely after
    weeks), so the stage-and-time model beats the stage's overall rate, and it is calibrated."""
    journeys, _ = simulated_journeys("classic", 20_000, 400, seed=5)
    names = ["awareness", "interest", "question", "purchase", "advocacy", "repeat_purchase"]
    r = predict_for(journeys, names, window="30d", config={"funnel": {"to_stage": "purchase"}})
    quality = r.table("prediction_quality").set_index("model")
    assert quality.loc["model", "customers"] > 1000 and quality.loc["model", "reached_goal"] > 50
    assert quality.loc["model", "beats_baseline"]
    assert quality.loc["model", "brier"] < 0.8 * quality.loc["baseline", "brier"]
    assert quality.loc["model", "auc"] > quality.loc["baseline", "auc"]
    calibration = r.table("prediction_calibration")
    model = calibration[calibration["model"] == "model"]
    assert (model["mean_predicted"] - model["observed_rate"]).abs().max() < 0.08
    assert not [w for w in r.warnings() if "back-test" in w]


@pytest.mark.slow
def test_spark_builds_the_same_predictions_and_attribution():
    """Random journeys with channels, revenue and ties, a back-test where some reach the goal, on both engines:
    every table of the predict layer (the two Python steps included) the same."""
    from conformance import all_differences
    from predict_world import PREDICT
    from test_attribution import random_journeys as with_channels

    journeys = {**with_channels(8, n=30), **random_journeys(6, n=60)}
    args = dict(stages=STAGES, window="14d", config={"predict": {"min_reference_visits": 2}})
    on_duckdb, on_spark = predict_for(journeys, **args), predict_for(journeys, engine="spark", **args)
    assert on_duckdb.table("prediction_quality")["reached_goal"].min() > 0
    problems = all_differences(on_duckdb.con, on_spark.con, PREDICT)
    assert not problems, "\n".join(problems)
