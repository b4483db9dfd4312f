"""The absorbing-chain solver (cjm_pipeline/markov.py) against independent computations: every path
of the chain enumerated, closed forms worked out by hand, and the traps of tiny data."""

from __future__ import annotations

import math
import random

import pytest

from cjm_pipeline import markov
from cjm_pipeline.markov import CONVERSION, NULL, START


def enumerate_paths(weights, start, absorbing, min_p=1e-7, max_paths=2_000_000):
    """Every path from ``start`` until an absorbing state, with its probability and its number of
    visits to transient states (depth first): a brute force. Paths less likely than ``min_p`` are
    dropped, and their total probability is returned too, the bound of the error."""
    out: dict = {}
    for (a, _), w in weights.items():
        out[a] = out.get(a, 0.0) + w
    rows = {}
    for (a, b), w in weights.items():
        if a not in absorbing and w:
            rows.setdefault(a, []).append((b, w / out[a]))
    ends, visits, dropped, paths = {}, 0.0, 0.0, 0
    stack = [(start, 1.0, 1)]
    while stack:
        state, p, n = stack.pop()
        paths += 1
        assert paths < max_paths, "the chain is too big to enumerate"
        if state in absorbing or state not in rows:
            ends[state] = ends.get(state, 0.0) + p
            visits += p * (n - 1)
            continue
        if p < min_p:
            dropped += p
            continue
        for nxt, q in rows[state]:
            stack.append((nxt, p * q, n + 1))
    return ends, visits, dropped


def random_chain(rng: random.Random, n_transient: int, absorbing=("goal", "(end)")):
    """Up to three moves per state, the absorbing ones weighted up so that paths end soon."""
    states = [f"s{i}" for i in range(n_transient)]
    weights = {}
    for s in states:
        targets = rng.sample(states + list(absorbing), k=rng.randint(1, min(3, n_transient + len(absorbing))))
        if not any(t in absorbing for t in targets):
            targets.append(rng.choice(absorbing))  # every state leaks, so paths end
        for t in targets:
            weights[(s, t)] = rng.randint(3, 9) if t in absorbing else rng.randint(1, 3)
    return weights


@pytest.mark.parametrize("seed", range(12))
def test_absorption_and_expected_visits_match_every_path_of_the_chain(seed):
    rng = random.Random(seed)
    weights = random_chain(rng, rng.randint(1, 5))
    solved = markov.absorb(weights, absorbing=("goal", "(end)"))
    for start in solved.transient:
        ends, visits, dropped = enumerate_paths(weights, start, {"goal", "(end)"})
        assert dropped < 1e-4
        for target in ("goal", "(end)"):
            assert 0 <= solved.probability(start, target) - ends.get(target, 0.0) <= dropped + 1e-12
        assert solved.expected_visits(start) == pytest.approx(visits, rel=1e-3)


def test_closed_form_of_a_chain_with_a_back_step():
    """a -> b (1/2) or end; b -> goal (1/3), back to a (1/3) or end: h_a = h_b / 2, h_b = 1/3 + h_a / 3,
    so h_a = 1/5, h_b = 2/5; visits: v_a = 1 + v_b / 2, v_b = 1 + v_a / 3, so v_a = 9/5, v_b = 8/5."""
    weights = {("a", "b"): 1, ("a", "(end)"): 1, ("b", "goal"): 1, ("b", "a"): 1, ("b", "(end)"): 1}
    solved = markov.absorb(weights, absorbing=("goal", "(end)"))
    assert solved.probability("a", "goal") == pytest.approx(1 / 5)
    assert solved.probability("b", "goal") == pytest.approx(2 / 5)
    assert solved.expected_visits("a") == pytest.approx(9 / 5)
    assert solved.expected_visits("b") == pytest.approx(8 / 5)
    # among the walks that reach the goal: sum_j N_ij h_j / h_i with N = (I - Q)^-1 = 6/5 [[1, 1/2], [1/3, 1]]:
    # from a (6/5 * 1/5 + 3/5 * 2/5) / (1/5) = 12/5, from b (2/5 * 1/5 + 6/5 * 2/5) / (2/5) = 7/5
    assert solved.expected_visits_given("a", "goal") == pytest.approx(12 / 5)
    assert solved.expected_visits_given("b", "goal") == pytest.approx(7 / 5)
    assert solved.probability("goal", "goal") == 1.0 and solved.expected_visits("goal") == 0.0


def test_a_closed_loop_neither_raises_nor_divides_by_zero():
    """a <-> b forever (tiny data can say so), c leads into the loop or to the goal."""
    weights = {("a", "b"): 1, ("b", "a"): 1, ("c", "a"): 1, ("c", "goal"): 1}
    solved = markov.absorb(weights, absorbing=("goal", "(end)"))
    assert solved.probability("a", "goal") == 0.0
    assert solved.probability("c", "goal") == pytest.approx(0.5)
    assert math.isinf(solved.expected_visits("a")) and math.isinf(solved.expected_visits("c"))


def test_an_empty_chain_converts_nobody():
    assert markov.conversion_probability({}) == 0.0
    assert markov.removal_effects({}) == {}
    assert markov.markov_credit({}, 0) == {}


def brute_force_removal(weights, channel):
    moved = {}
    for (a, b), w in weights.items():
        key = (a, NULL) if b == channel else (a, b)
        moved[key] = moved.get(key, 0.0) + w
    ends, _, dropped = enumerate_paths(moved, START, {CONVERSION, NULL})
    return ends.get(CONVERSION, 0.0), dropped


def random_paths(rng: random.Random, channels: str, n: int, must: str | None = None, where: str = "last"):
    """Transition counts of ``n`` random customer paths over ``channels``; with ``must``, every
    converting path ends with that channel (``where="last"``), or every path starts with it (``"first"``)."""
    counts: dict = {}
    for _ in range(n):
        path = [rng.choice(channels) for _ in range(rng.randint(1, 5))]
        converted = rng.random() < 0.4
        if must and where == "first":
            path.insert(0, must)
        elif must and converted:
            path.append(must)
        for a, b in zip([START] + path, path + [CONVERSION if converted else NULL]):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts


@pytest.mark.parametrize("seed", range(6))
def test_removal_effects_match_the_enumerated_chain_without_each_channel(seed):
    rng = random.Random(100 + seed)
    weights = random_paths(rng, "abc"[: rng.randint(1, 3)], 25)
    base, _, dropped = enumerate_paths(weights, START, {CONVERSION, NULL})
    p = markov.conversion_probability(weights)
    assert 0 <= p - base.get(CONVERSION, 0.0) <= dropped + 1e-12
    for channel, (without, effect) in markov.removal_effects(weights).items():
        enumerated, dropped = brute_force_removal(weights, channel)
        assert 0 <= without - enumerated <= dropped + 1e-12
        assert effect == pytest.approx(1 - without / p if p else 0.0, abs=1e-12)


def test_removal_effects_closed_form():
    """start -> a (3/4) or b (1/4); a -> conversion (1/3), b (1/3) or null; b -> conversion (1/2) or
    null. p = 3/4 (1/3 + 1/3 * 1/2) + 1/4 * 1/2 = 1/2; without a: 1/8 (effect 3/4); without b: 1/4 (1/2)."""
    weights = {(START, "a"): 3, (START, "b"): 1, ("a", CONVERSION): 1, ("a", "b"): 1, ("a", NULL): 1,
               ("b", CONVERSION): 1, ("b", NULL): 1}
    assert markov.conversion_probability(weights) == pytest.approx(1 / 2)
    effects = markov.removal_effects(weights)
    assert effects["a"] == pytest.approx((1 / 8, 3 / 4))
    assert effects["b"] == pytest.approx((1 / 4, 1 / 2))
    credit = markov.markov_credit(weights, 10)
    assert credit["a"] == pytest.approx(10 * 0.75 / 1.25) and credit["b"] == pytest.approx(10 * 0.5 / 1.25)


@pytest.mark.parametrize("where", ["last", "first"])
@pytest.mark.parametrize("seed", range(3))
def test_a_channel_every_route_to_the_conversion_passes_has_removal_effect_one(seed, where):
    """The last touch of every conversion, or the first touch of every path: no route of the chain
    reaches (conversion) without it. (A channel merely present somewhere on every converting
    customer path is not enough: the first-order chain recombines the moves of different paths.)"""
    rng = random.Random(200 + seed)
    weights = random_paths(rng, "abcd", 30, must="x", where=where)
    effects = markov.removal_effects(weights)
    assert effects["x"] == pytest.approx((0.0, 1.0))
    assert all(e < 1.0 for c, (_, e) in effects.items() if c != "x")


def test_a_channel_on_every_converting_path_can_keep_a_route_around_it():
    """a > x > b converts, b alone does not: the chain has start -> b -> conversion without x."""
    weights = {(START, "a"): 1, ("a", "x"): 1, ("x", "b"): 1, ("b", CONVERSION): 1, (START, "b"): 1, ("b", NULL): 1}
    effects = markov.removal_effects(weights)
    assert effects["x"][1] == pytest.approx(0.5)  # p = 1/2 * 1/2 + 1/2 * 1/2 = 1/2; without x: 1/4


def test_credit_adds_up_to_the_conversions():
    rng = random.Random(7)
    weights = random_paths(rng, "abcde", 60)
    conversions = sum(w for (_, b), w in weights.items() if b == CONVERSION)
    assert sum(markov.markov_credit(weights, conversions).values()) == pytest.approx(conversions)
    nobody = {(START, "a"): 3, ("a", NULL): 3}
    assert markov.markov_credit(nobody, 0) == {"a": 0.0}
