"""The funnel and the stage timeline: what the numbers mean (SEMANTICS.md, restated).

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

import duckdb
import pandas as pd

from . import db
from .config import PROPERTY_PREFIX, FunnelConfig, PipelineConfig, check_funnel, parse_duration
from .errors import ConfigError
from .steps import StepResult


def recompute_funnel(con: duckdb.DuckDBPyConnection, funnel: FunnelConfig, *, where: str = "") -> list[StepResult]:
    """Rebuild the funnel tables on ``con`` from its ``classified_events`` with these funnel settings.

    ``where`` prefixes option names in errors (``--`` for the CLI).
    """
    from .pipeline import FUNNEL_STEPS, STEPS, funnel_params, run_steps
    problems = check_funnel(funnel, where=where)
    if problems:
        raise ConfigError("funnel options", problems)
    steps = tuple(s for s in STEPS if s.name in FUNNEL_STEPS)
    has_step_windows = bool(db.scalar(con, "select count(window_s) from cfg_funnel_steps"))
    return run_steps(con, None, steps, params=funnel_params(funnel, has_step_windows=has_step_windows))


def funnel_steps(cfg: PipelineConfig, funnel: FunnelConfig | None = None) -> pd.DataFrame:
    """``cfg_funnel_steps(step, stage, stage_order, window_s)``: the stages from ``from_stage`` to
    ``to_stage`` of ``funnel`` (default: the config's main funnel; all stages unless a sub-range is
    set), from 1. ``window_s`` is the per-step window from the previous step, in seconds: the
    funnel's ``step_windows`` entry, else the stage's ``window``; none at step 1 and in furthest mode.

    >>> from cjm_pipeline.config import config_from_dict
    >>> cfg = config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
    ...     "stages": [{"name": n, "rules": [{"event_type": n}], "window": "1h"} for n in "abcd"],
    ...     "funnel": {"from_stage": "b", "to_stage": "c", "step_windows": {"c": "30m"}}})
    >>> steps = funnel_steps(cfg)
    >>> steps[["step", "stage", "stage_order"]].values.tolist(), steps["window_s"].tolist()
    ([[1, 'b', 2], [2, 'c', 3]], [<NA>, 1800])
    """
    funnel = funnel or cfg.funnel
    names = cfg.stage_names
    lo = names.index(funnel.from_stage) if funnel.from_stage else 0
    hi = names.index(funnel.to_stage) if funnel.to_stage else len(names) - 1
    rows = []
    for i, order in enumerate(range(lo + 1, hi + 2)):
        stage = cfg.stages[order - 1]
        window_s = parse_duration(stage.window) if stage.window and i > 0 and funnel.mode != "furthest" else None
        rows.append((i + 1, stage.name, order, window_s))
    steps = pd.DataFrame(rows, columns=["step", "stage", "stage_order", "window_s"])
    return with_step_windows(steps, funnel.step_windows, funnel.mode)


def with_step_windows(steps: pd.DataFrame, step_windows: dict[str, str], mode: str) -> pd.DataFrame:
    """``steps`` (``cfg_funnel_steps``) with the window of each stage ``step_windows`` names replaced
    by that duration, in seconds; never at step 1 (nothing precedes it) nor in furthest mode.

    >>> steps = pd.DataFrame({"step": [1, 2], "stage": ["a", "b"], "stage_order": [1, 2], "window_s": [None, 60]})
    >>> with_step_windows(steps, {"a": "1h", "b": "2m"}, "ordered")["window_s"].tolist()
    [<NA>, 120]
    """
    out = steps.copy()
    if mode != "furthest":
        out["window_s"] = [parse_duration(step_windows[stage]) if stage in step_windows and i > 0 else w
                           for i, (stage, w) in enumerate(zip(out["stage"], out["window_s"]))]
    return out.astype({"window_s": "Int64"})


def funnel_tables(cfg: PipelineConfig, funnel: FunnelConfig | None = None) -> dict[str, pd.DataFrame]:
    """The config tables of one funnel: ``cfg_funnel_steps`` and ``cfg_breakdowns(breakdown, property_name)``."""
    funnel = funnel or cfg.funnel
    breakdowns = pd.DataFrame(
        [(b, b[len(PROPERTY_PREFIX):] if b.startswith(PROPERTY_PREFIX) else None) for b in funnel.breakdowns],
        columns=["breakdown", "property_name"]).astype({"breakdown": "string", "property_name": "string"})
    return {"cfg_funnel_steps": funnel_steps(cfg, funnel), "cfg_breakdowns": breakdowns}
