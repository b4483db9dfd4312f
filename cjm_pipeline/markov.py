"""Absorbing Markov chains, solved exactly: the stage outlook and the Markov attribution.

Both are small chains (a state per stage, or per channel), solved with numpy's linear algebra,
never by simulation. The definitions are in ``docs/semantics.md`` ("Outlook per stage",
"Attribution"); :mod:`cjm_pipeline.predict` turns the pipeline's tables into the arguments
of these functions and their results back into tables.

A chain is given as transition weights ``{(from, to): weight}`` (counts, or probabilities);
each state's outgoing weights are normalised to probabilities. States with no outgoing weight
are absorbing. For a transient state ``i`` the probability of ending in absorbing state ``a``
is ``B = (I - Q)^-1 R`` (``Q``: transient to transient, ``R``: transient to absorbing), and the
expected number of visits to transient states before absorption is ``N 1`` with the
fundamental matrix ``N = (I - Q)^-1``.

A transient state from which no absorbing state can be reached (a closed loop, which only
tiny data makes) is *trapped*: it never absorbs, so its absorption probabilities are 0 and its
expected visits infinite; a state that can reach a trapped one has infinite expected visits too.
Nothing raises and nothing divides by zero.

>>> chain = {("a", "b"): 3, ("a", "(end)"): 1, ("b", "goal"): 1, ("b", "(end)"): 1}
>>> solved = absorb(chain)
>>> solved.probability("a", "goal"), solved.probability("b", "goal"), solved.expected_visits("a")
(0.375, 0.5, 1.75)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping

import numpy as np

#: The states of the attribution chain that are not channels.
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"

Weights = Mapping[tuple[Hashable, Hashable], float]


@dataclass(frozen=True)
class Absorbed:
    """A solved absorbing chain: the transient and absorbing states, ``B`` and ``N 1``."""

    transient: tuple[Hashable, ...]
    absorbing: tuple[Hashable, ...]
    B: np.ndarray
    """Absorption probabilities, transient × absorbing (rows of trapped states are 0)."""
    visits: np.ndarray
    """Expected visits to transient states before absorption, from each transient state (inf if it may never absorb)."""
    N: np.ndarray
    """The fundamental matrix over the transient states that absorb for sure (inf elsewhere)."""

    def probability(self, state: Hashable, target: Hashable) -> float:
        """Probability of ending in ``target`` from ``state`` (an absorbing ``state`` ends in itself)."""
        if state in self.absorbing:
            return 1.0 if state == target else 0.0
        if target not in self.absorbing:
            return 0.0
        return float(self.B[self.transient.index(state), self.absorbing.index(target)])

    def expected_visits(self, state: Hashable) -> float:
        """Expected visits to transient states from ``state`` until absorption, ``state`` itself counted."""
        return 0.0 if state in self.absorbing else float(self.visits[self.transient.index(state)])

    def expected_visits_given(self, state: Hashable, target: Hashable) -> float:
        """The same, among the walks that end in ``target`` (nan when none does)."""
        h = self.B[:, self.absorbing.index(target)] if target in self.absorbing else np.zeros(len(self.transient))
        if state in self.absorbing:
            return 0.0 if state == target else float("nan")
        i = self.transient.index(state)
        if h[i] <= 0:
            return float("nan")
        return float(self.N[i] @ h / h[i])


def _reaches(edges: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Which states reach a ``targets`` state (itself included) along positive ``edges``."""
    reached = targets.copy()
    while True:
        more = reached | (edges[:, reached].any(axis=1))
        if (more == reached).all():
            return reached
        reached = more


def absorb(weights: Weights, absorbing: Iterable[Hashable] = ()) -> Absorbed:
    """Solve the chain of ``weights``; states without outgoing weight, and ``absorbing``, absorb.

    >>> solved = absorb({("a", "a"): 1, ("a", "b"): 1, ("b", "a"): 1})    # a <-> b forever: trapped
    >>> solved.transient, solved.absorbing, solved.visits.tolist()
    (('a', 'b'), (), [inf, inf])
    >>> absorb({("x", "y"): 2, ("x", "z"): 6}).probability("x", "z")
    0.75
    """
    fixed = set(absorbing)
    states: list[Hashable] = []
    for a, b in weights:
        for s in (a, b):
            if s not in states:
                states.append(s)
    out: dict[Hashable, float] = {}
    for (a, _), w in weights.items():
        out[a] = out.get(a, 0.0) + float(w)
    transient = tuple(s for s in states if s not in fixed and out.get(s, 0.0) > 0)
    final = tuple(s for s in states if s not in transient)
    ti = {s: i for i, s in enumerate(transient)}
    ai = {s: i for i, s in enumerate(final)}
    n, m = len(transient), len(final)
    Q, R = np.zeros((n, n)), np.zeros((n, m))
    for (a, b), w in weights.items():
        if a in ti and w:
            p = float(w) / out[a]
            if b in ti:
                Q[ti[a], ti[b]] += p
            else:
                R[ti[a], ai[b]] += p
    leaves = R.sum(axis=1) > 0
    free = _reaches(Q > 0, leaves)  # can reach an absorbing state
    trapped = ~free
    sure = ~_reaches(Q > 0, trapped)  # cannot reach a trapped state: absorbs for sure
    B, visits, N = np.zeros((n, m)), np.full(n, np.inf), np.full((n, n), np.inf)
    if free.any():
        f = np.flatnonzero(free)
        A = np.eye(len(f)) - Q[np.ix_(f, f)]
        B[f] = np.linalg.solve(A, R[f])
        s = np.flatnonzero(sure)
        if len(s):
            Ns = np.linalg.inv(np.eye(len(s)) - Q[np.ix_(s, s)])
            N[np.ix_(s, s)] = Ns
            visits[s] = Ns.sum(axis=1)
    return Absorbed(transient, final, B, visits, N)


# --------------------------------------------------------------------------- attribution


def conversion_probability(weights: Weights, removed: Hashable | None = None) -> float:
    """Probability of reaching ``(conversion)`` from ``(start)``; with ``removed``, every move into
    that channel goes to ``(null)`` instead (the removal of a channel).

    >>> paths = {(START, "a"): 2, ("a", CONVERSION): 1, ("a", NULL): 1}
    >>> conversion_probability(paths), conversion_probability(paths, "a")
    (0.5, 0.0)
    """
    if removed is not None:
        moved: dict[tuple[Hashable, Hashable], float] = {}
        for (a, b), w in weights.items():
            key = (a, NULL) if b == removed else (a, b)
            moved[key] = moved.get(key, 0.0) + float(w)
        weights = moved
    if not any(a == START for a, _ in weights):
        return 0.0
    return absorb(weights, absorbing=(CONVERSION, NULL)).probability(START, CONVERSION)


def removal_effects(weights: Weights) -> dict[Hashable, tuple[float, float]]:
    """Each channel's ``(conversion probability without it, removal effect)``, where the removal
    effect is ``1 - p(without) / p`` (0 for every channel when nothing converts).

    >>> paths = {(START, "a"): 2, ("a", "b"): 1, ("a", NULL): 1, ("b", CONVERSION): 1}
    >>> removal_effects(paths)
    {'a': (0.0, 1.0), 'b': (0.0, 1.0)}
    """
    channels = []
    for pair in weights:
        for s in pair:
            if s not in (START, CONVERSION, NULL) and s not in channels:
                channels.append(s)
    base = conversion_probability(weights)
    out = {}
    for c in channels:
        without = conversion_probability(weights, c)
        out[c] = (without, 1.0 - without / base if base > 0 else 0.0)
    return out


def markov_credit(weights: Weights, conversions: float) -> dict[Hashable, float]:
    """``conversions`` shared among the channels in proportion to their removal effects.

    >>> paths = {(START, "a"): 2, (START, "b"): 2, ("a", CONVERSION): 2, ("b", CONVERSION): 1, ("b", NULL): 1}
    >>> {c: round(v, 6) for c, v in markov_credit(paths, 3).items()}
    {'a': 2.0, 'b': 1.0}
    """
    effects = removal_effects(weights)
    total = sum(e for _, e in effects.values())
    return {c: (conversions * e / total if total > 0 else 0.0) for c, (_, e) in effects.items()}
