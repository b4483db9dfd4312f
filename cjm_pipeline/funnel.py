"""The funnel and the stage timeline: what the numbers mean, and the funnel's config as tables.

The definitions are written out, with worked examples, in ``docs/semantics.md``; in short:

Query intuition
---------------
* **Order.** A customer's events are totally ordered by ``(event_ts, stage_order,
  event_id)``: events at the same instant (CRM dates without time) are taken in funnel order.
* **Visits and transitions** (``sql/journey/``). Consecutive staged events of one stage
  collapse into a visit; unstaged events neither start nor break one. Between consecutive
  visits there is a transition: ``forward`` (next stage), ``skip`` (jumps over stages) or
  ``back`` (to an earlier stage: a back-step); ``start``/``end`` rows open and close
  each customer's flow. ``transitions`` is the matrix; ``journeys`` one row per customer.
* **Units** (``funnel.unit``, ``sql/funnel/funnel_events__<unit>.sql``). The funnel counts
  customers (default), CRM deals (a deal's events plus the touchpoints that lead to it) or
  sessions (a customer's events split at gaps longer than ``funnel.session_gap``). Every
  funnel table partitions by ``unit_id``; ``customers`` columns count units.
* **Ordered funnel** (``funnel_attempts__greedy.sql``). A unit reaches step k when events
  ``e1 < … < ek`` have the stages of steps 1…k and ``ts(ek) − ts(e1) ≤ window``; other events
  may come between; each event fills at most one step. The furthest step over all chains
  counts. Times come from the chain with the latest ``e1`` that reaches that step (a new
  step-1 event re-anchors an attempt that has not progressed: PostHog, ClickHouse
  ``windowFunnel``; Mixpanel anchors on the first event instead), and within it the earliest
  events.
* **Per-step windows** (``stages[i].window``, ``funnel.step_windows``;
  ``funnel_attempts__chain.sql``): also ``ts(ei) − ts(e(i−1)) ≤ wi``. The earliest next event is
  then not always the one that goes furthest, so every reachable event is tracked step by
  step and the times are picked backwards: the earliest event at the furthest step, then at
  each earlier step the earliest one that still leads to it.
* **Strict funnel** (``strict``): as ordered, but ``e1 … ek`` lie in consecutive stage visits:
  another stage's visit between them breaks the chain (unstaged events do not).
* **Furthest funnel** (``funnel_attempts__furthest.sql``, the CRM pipeline view): a
  unit counts at step k when the furthest stage it reached within the window from its
  first staged event has order ≥ k, whatever the order of visits; a step counted
  without an event of its stage is ``implied``. Per-step windows do not apply.
* **Attempts and the best one.** ``funnel_positions`` numbers each unit's funnel events and
  marks the anchors; each mode writes ``funnel_attempts`` (per step-1 entry, the steps it
  reaches); ``funnel_customer_steps`` keeps each unit's best attempt (furthest, then latest),
  and ``funnel_trends`` each period's best attempt per unit, so a unit that enters in
  several periods counts in each.
* **Funnel table** (``sql/funnel/funnel.sql``): customers per step, conversion from the
  previous step and from the start (fractions, null where the denominator is 0), dropped
  and drop-off rate to the next step, ``reached_any_order`` (customers with any event of
  the stage), ``implied`` (furthest mode; 0 otherwise) and time from this step's event to
  the next step's over customers with both (median, p25, p75, p90, mean, in seconds).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .config import FunnelConfig
from .schema import PROPERTY_PREFIX

#: How funnel_attempts chains events (see :func:`funnel_attempt_rule`): one SQL file each.
ATTEMPT_RULES = ("greedy", "chain", "furthest")

#: How an attempt is anchored (the sidecars quote it).
ANCHOR_RULE = "latest step-1 event that reaches the furthest step (re-anchoring, as PostHog and ClickHouse)"


def funnel_steps(stages: pd.DataFrame, funnel: FunnelConfig) -> pd.DataFrame:
    """``cfg_funnel_steps(step, stage, stage_order, window_s)``: the stages (``cfg_stages``: stage,
    stage_order, window_s) from ``from_stage`` to ``to_stage`` of ``funnel`` (all unless a sub-range
    is set), numbered from 1. ``window_s`` is the per-step window from the previous step, in
    seconds: the funnel's ``step_windows`` entry, else the stage's own ``window``; none at step 1
    (nothing precedes it) and in furthest mode (it has no order of steps). The one place step
    windows are worked out.

    >>> stages = pd.DataFrame({"stage": list("abcd"), "stage_order": [1, 2, 3, 4], "window_s": [3600] * 4})
    >>> steps = funnel_steps(stages, FunnelConfig(from_stage="b", to_stage="c", step_windows={"c": "30m"}))
    >>> steps[["step", "stage", "stage_order"]].values.tolist(), steps["window_s"].tolist()
    ([[1, 'b', 2], [2, 'c', 3]], [<NA>, 1800])
    >>> funnel_steps(stages, FunnelConfig(mode="furthest"))["window_s"].tolist()
    [<NA>, <NA>, <NA>, <NA>]
    """
    ordered = stages.sort_values("stage_order").reset_index(drop=True)
    names = ordered["stage"].tolist()
    lo = names.index(funnel.from_stage) if funnel.from_stage else 0
    hi = names.index(funnel.to_stage) if funnel.to_stage else len(names) - 1
    rows = []
    for i, row in enumerate(ordered.iloc[lo:hi + 1].itertuples(index=False)):
        window_s = None
        if i > 0 and funnel.mode != "furthest":
            if row.stage in funnel.step_windows:
                window_s = funnel.step_windows[row.stage].seconds
            elif "window_s" in ordered and pd.notna(row.window_s):
                window_s = int(row.window_s)
        rows.append((i + 1, row.stage, int(row.stage_order), window_s))
    return pd.DataFrame(rows, columns=["step", "stage", "stage_order", "window_s"]).astype({"window_s": "Int64"})


def breakdown_table(funnel: FunnelConfig) -> pd.DataFrame:
    """``cfg_breakdowns(breakdown, property_name)``: ``property_name`` is the name after
    ``properties.``, else null.

    >>> breakdown_table(FunnelConfig(breakdowns=["cohort", "properties.city"])).values.tolist()
    [['cohort', <NA>], ['properties.city', 'city']]
    """
    return pd.DataFrame(
        [(b, b[len(PROPERTY_PREFIX):] if b.startswith(PROPERTY_PREFIX) else None) for b in funnel.breakdowns],
        columns=["breakdown", "property_name"]).astype({"breakdown": "string", "property_name": "string"})


def funnel_tables(stages: pd.DataFrame, funnel: FunnelConfig) -> dict[str, pd.DataFrame]:
    """The config tables of one funnel: ``cfg_funnel_steps`` and ``cfg_breakdowns``."""
    return {"cfg_funnel_steps": funnel_steps(stages, funnel), "cfg_breakdowns": breakdown_table(funnel)}


def funnel_attempt_rule(funnel: FunnelConfig, has_step_windows: bool) -> str:
    """The SQL variant of funnel_attempts: ``furthest`` for that mode; ordered and strict funnels
    chain events greedily (``greedy``), or, when a step has its own window, with the general
    reachability search (``chain``): the results agree where both apply, the greedy one is faster."""
    if funnel.mode == "furthest":
        return "furthest"
    return "chain" if has_step_windows else "greedy"


def funnel_params(funnel: FunnelConfig, steps: pd.DataFrame) -> dict[str, Any]:
    """The parameters of the funnel steps for ``funnel``, whose steps are ``steps`` (``cfg_funnel_steps``)."""
    entry_from, entry_to = funnel.entry_bounds()
    has_step_windows = bool(steps["window_s"].notna().any())
    return {"window_s": funnel.window_seconds, "mode": funnel.mode, "entry_from": entry_from, "entry_to": entry_to,
            "top_n": funnel.top_n, "cohort_period": funnel.cohort_period, "trend_period": funnel.trend_period,
            "attempt_rule": funnel_attempt_rule(funnel, has_step_windows), "strict": funnel.mode == "strict",
            "unit": funnel.unit, "session_gap_s": funnel.session_gap_seconds}
