"""Attribution (docs/semantics.md, "Attribution"): the six models against a plain-Python reference on
random journeys, hand-made paths (ties, one touch, no channel), the channels that bring customers
into each stage, and bad input: defined outputs and a warning, never a crash."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from cjm_pipeline import markov
from predict_world import predict_for

STAGES = ["a", "b", "c"]
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov")


def credits(frame) -> dict[tuple[str, str], tuple[float, float]]:
    """``{(channel, model): (conversions, revenue)}`` of an attribution table, zeros left out."""
    return {(r.channel, r.model): (r.conversions, r.revenue) for r in frame.itertuples() if r.conversions}


# --------------------------------------------------------------------------- the reference


def ordered(events):
    """Events ``(type, time, props)`` with their list index, in the event order: time, stage order
    (unstaged last), event id (the index, as tests/journeys.py numbers them)."""
    rank = {s: i for i, s in enumerate(STAGES)}
    return sorted(enumerate(events), key=lambda e: (e[1][1], rank.get(e[1][0], 99), e[0]))


def reference_paths(journeys, goal="c"):
    """Per customer: (converted, conversion time, revenue, [(channel, time), ...]) as documented."""
    out = {}
    for customer, events in journeys.items():
        path, converted, at, revenue = [], False, None, 0.0
        for _, (kind, when, *rest) in ordered(events):
            props = rest[0] if rest else {}
            if props.get("channel"):
                path.append((props["channel"], dt.datetime.fromisoformat(when)))
            if kind == goal:
                converted, at, revenue = True, dt.datetime.fromisoformat(when), float(props.get("revenue") or 0)
                break
        out[customer] = (converted, at, revenue, path or [("(none)", None)])
    return out


def reference_attribution(journeys, half_life_s=7 * 86400):
    paths = reference_paths(journeys)
    result: dict[tuple[str, str], list[float]] = {}

    def add(channel, model, credit, revenue):
        cell = result.setdefault((channel, model), [0.0, 0.0])
        cell[0] += credit
        cell[1] += credit * revenue

    moves: dict = {}
    for converted, at, revenue, path in paths.values():
        states = [markov.START] + [c for c, _ in path] + [markov.CONVERSION if converted else markov.NULL]
        for a, b in zip(states, states[1:]):
            moves[(a, b)] = moves.get((a, b), 0) + 1
        if not converted:
            continue
        n = len(path)
        last_t = max((t for _, t in path if t is not None), default=None)
        decay = [1.0 if t is None else 2 ** (-(last_t - t).total_seconds() / half_life_s) for _, t in path]
        for i, (channel, _) in enumerate(path):
            add(channel, "first_touch", 1.0 if i == 0 else 0.0, revenue)
            add(channel, "last_touch", 1.0 if i == n - 1 else 0.0, revenue)
            add(channel, "linear", 1 / n, revenue)
            add(channel, "time_decay", decay[i] / sum(decay), revenue)
            position = 1.0 if n == 1 else 0.5 if n == 2 else 0.4 if i in (0, n - 1) else 0.2 / (n - 2)
            add(channel, "position_based", position, revenue)
    conversions = sum(1 for p in paths.values() if p[0])
    total_revenue = sum(p[2] for p in paths.values() if p[0])
    for channel, credit in markov.markov_credit(moves, conversions).items():
        add(channel, "markov", credit, total_revenue / conversions if conversions else 0.0)
    return {k: tuple(v) for k, v in result.items() if v[0]}


def random_journeys(seed: int, n: int = 40):
    rng = random.Random(seed)
    base = dt.datetime(2025, 1, 1)
    journeys = {}
    for c in range(n):
        t, events = base + dt.timedelta(hours=rng.randint(0, 500)), []
        for _ in range(rng.randint(1, 8)):
            t += dt.timedelta(hours=rng.choice([0, 0, 1, 5, 30, 200]))  # ties at one instant on purpose
            kind = rng.choice(["a", "a", "b", "b", "c", "x"])
            props = {}
            if rng.random() < 0.6:
                props["channel"] = rng.choice(["paid", "email", "organic", "direct"])
            if kind == "c" and rng.random() < 0.7:
                props["revenue"] = str(rng.choice([100, 250, 990]))
            events.append((kind, t.isoformat(sep=" "), props))
        journeys[f"k{c:03d}"] = events
    return journeys


@pytest.mark.parametrize("seed", [1, 2])
def test_every_model_matches_a_plain_python_reference_on_random_journeys(seed):
    journeys = random_journeys(seed)
    r = predict_for(journeys, STAGES)
    got = credits(r.table("attribution"))
    expected = reference_attribution(journeys)
    assert set(got) == set(expected)
    for key, (conversions, revenue) in expected.items():
        assert got[key][0] == pytest.approx(conversions, abs=1e-9), key
        assert got[key][1] == pytest.approx(revenue, abs=1e-6), key
    converters = sum(1 for p in reference_paths(journeys).values() if p[0])
    table = r.table("attribution")
    for model in MODELS:
        rows = table[table["model"] == model]
        assert rows["conversions"].sum() == pytest.approx(converters)
        assert rows["share"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- hand-made paths


def test_ties_one_touch_paths_and_paths_without_a_channel():
    r = predict_for({
        # at 10:00 the staged a (order 1) comes before the unstaged x: email is the first touch
        "k1": [("x", "2025-01-01 10:00", {"channel": "paid"}), ("a", "2025-01-01 10:00", {"channel": "email"}),
               ("c", "2025-01-02 10:00", {"revenue": "300"})],
        "k2": [("c", "2025-01-01 12:00", {"channel": "organic", "revenue": "100"})],  # one touch: the conversion
        "k3": [("a", "2025-01-01 09:00"), ("c", "2025-01-02 09:00")],  # no channel at all
        "k4": [("a", "2025-01-01 09:00", {"channel": "paid"})],  # no conversion: Markov only
        "k5": [("c", "2025-01-01 09:00"), ("a", "2025-01-02 09:00", {"channel": "paid"})],  # touch after converting
    }, STAGES)
    got = credits(r.table("attribution"))
    assert got[("email", "first_touch")] == (1.0, 300.0)
    assert got[("paid", "last_touch")] == (1.0, 300.0)
    assert got[("email", "linear")] == got[("paid", "linear")] == (0.5, 150.0)
    assert got[("organic", "position_based")] == (1.0, 100.0)
    assert got[("(none)", "linear")] == (2.0, 0.0)  # k3 and k5 converted without a touch before
    touches = r.table("attribution_touches")
    assert touches[touches["customer_id"] == "k1"]["channel"].tolist() == ["email", "paid"]
    assert touches[touches["customer_id"] == "k5"]["channel"].tolist() == ["(none)"]
    paths = r.table("attribution_paths").set_index(["from_state", "to_state"])
    assert paths.loc[("paid", "(null)"), "transitions"] == 1  # k4 (k5's later touch is not on its path)
    assert paths.loc[("(none)", "(conversion)"), "transitions"] == 2


def test_time_decay_halves_a_touch_per_half_life_and_position_based_shares_40_20_40():
    journey = {"k1": [("a", "2025-01-01 00:00", {"channel": "paid"}), ("b", "2025-01-08 00:00", {"channel": "email"}),
                      ("b", "2025-01-08 00:00", {"channel": "social"}), ("b", "2025-01-15 00:00", {"channel": "email"}),
                      ("c", "2025-01-15 00:00")]}
    got = credits(predict_for(journey, STAGES).table("attribution"))
    # weights 1/4, 1/2, 1/2, 1 (7 days each): paid 1/4, email 3/2, social 1/2, of 9/4
    assert got[("paid", "time_decay")][0] == pytest.approx(1 / 9)
    assert got[("email", "time_decay")][0] == pytest.approx(6 / 9)
    assert got[("social", "time_decay")][0] == pytest.approx(2 / 9)
    assert got[("paid", "position_based")][0] == pytest.approx(0.4)
    assert got[("email", "position_based")][0] == pytest.approx(0.4 + 0.1)  # last 40 % and a middle 10 %
    assert got[("social", "position_based")][0] == pytest.approx(0.1)
    assert got[("email", "linear")][0] == pytest.approx(0.5)  # once per touch: 2 of 4
    day = predict_for(journey, STAGES, config={"attribution": {"half_life": "1d"}}).table("attribution")
    assert credits(day)[("paid", "time_decay")][0] == pytest.approx(2 ** -14 / (2 ** -14 + 2 * 2 ** -7 + 1))


def test_channels_that_bring_customers_into_each_stage():
    r = predict_for({
        "k1": [("x", "2025-01-01 09:00", {"channel": "paid"}), ("a", "2025-01-01 10:00"),
               ("b", "2025-01-01 11:00", {"channel": "email"}), ("a", "2025-01-02 10:00")],
        "k2": [("a", "2025-01-01 10:00", {"channel": "organic"}), ("b", "2025-01-01 10:30")],
        "k3": [("a", "2025-01-01 10:00")],
    }, STAGES)
    got = {(x.stage, x.channel): (x.visits, x.customers) for x in r.table("stage_entry_channels").itertuples()}
    assert got == {("a", "paid"): (1, 1), ("a", "email"): (1, 1), ("a", "organic"): (1, 1), ("a", "(none)"): (1, 1),
                   ("b", "email"): (1, 1), ("b", "organic"): (1, 1)}


# --------------------------------------------------------------------------- bad input


def test_channels_missing_on_most_events_credit_none_and_warn():
    journeys = {f"k{i}": [("a", "2025-01-01 10:00"), ("c", "2025-01-02 10:00")] for i in range(5)}
    journeys["k9"] = [("a", "2025-01-01 10:00", {"channel": "email"}), ("c", "2025-01-02 10:00")]
    r = predict_for(journeys, STAGES)
    got = credits(r.table("attribution"))
    assert got[("(none)", "markov")][0] == pytest.approx(5) and got[("email", "markov")][0] == pytest.approx(1)
    assert any("5 of 6 converters have no event with a channel" in w for w in r.warnings())


def test_a_single_channel_gets_all_the_credit_and_a_warning():
    journeys = {f"k{i}": [("a", "2025-01-01 10:00", {"channel": "email"}), ("c", f"2025-01-0{i + 2} 10:00")]
                for i in range(3)}
    journeys["k9"] = [("a", "2025-01-01 10:00", {"channel": "email"})]
    r = predict_for(journeys, STAGES)
    table = r.table("attribution")
    assert set(table["channel"]) == {"email"} and table["share"].tolist() == [1.0] * 6
    assert table["conversions"].tolist() == pytest.approx([3.0] * 6)
    assert any("one channel only ('email')" in w for w in r.warnings())


def test_no_converter_and_a_goal_nobody_reaches_give_zeros_and_a_warning():
    journeys = {"k1": [("a", "2025-01-01 10:00", {"channel": "email"}), ("b", "2025-01-02 10:00")],
                "k2": [("a", "2025-01-01 10:00", {"channel": "paid"})],
                "k3": [("b", "2025-06-01 10:00", {"channel": "paid"})]}
    r = predict_for(journeys, STAGES, window="30d")
    table = r.table("attribution")
    assert set(table["channel"]) == {"email", "paid"}
    assert (table["conversions"] == 0).all() and table["share"].isna().all()
    assert r.table("attribution_touches").empty and r.table("attribution_heuristics").empty
    markov_rows = r.table("attribution_markov")
    assert (markov_rows["removal_effect"] == 0).all() and (markov_rows["conversions"] == 0).all()
    outlook = r.table("stage_outlook").set_index("stage")
    assert outlook.loc["a", "p_goal"] == 0 and outlook.loc["c", "p_goal"] == 1 and outlook.loc["c", "visits"] == 0
    predictions = r.table("journey_predictions")
    assert predictions["p_goal_window"].tolist() == [0.0] and predictions["p_goal_eventually"].tolist() == [0.0]
    assert any("nobody reached the goal stage 'c'" in w for w in r.warnings())
    assert not any(isinstance(v, float) and math.isinf(v) for v in outlook.to_numpy().ravel())


def test_cyrillic_stages_and_channels_just_work():
    stages = ["Осведомленность", "Интерес", "Покупка"]
    r = predict_for({
        "k1": [("Осведомленность", "2025-01-01 10:00", {"channel": "реклама"}), ("Интерес", "2025-01-02 10:00"),
               ("Покупка", "2025-01-03 10:00", {"revenue": "3490"})],
        "k2": [("Осведомленность", "2025-01-01 10:00", {"channel": "почта"}), ("x", "2025-02-01 10:00")],
    }, stages, window="7d")
    assert credits(r.table("attribution"))[("реклама", "linear")] == (1.0, 3490.0)
    nxt = r.table("stage_next")
    assert nxt[nxt["from_stage"] == "Интерес"]["to_stage"].tolist() == ["Покупка"]
    assert r.table("stage_outlook").set_index("stage").loc["Осведомленность", "p_goal"] == pytest.approx(0.5)
