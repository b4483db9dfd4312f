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
* **Ordered funnel** (``sql/funnel/funnel_attempts__ordered.sql``). A customer reaches step k
  when events ``e1 < … < ek`` have the stages of steps 1…k and ``ts(ek) − ts(e1) ≤ window``;
  other events may come between; each event fills at most one step. The furthest step over
  all chains counts. Times come from the chain with the latest ``e1`` that reaches that
  step, so a new step-1 event re-anchors an attempt that has not progressed (PostHog,
  ClickHouse ``windowFunnel``; Mixpanel anchors on the first event instead).
* **Strict funnel** (``funnel_attempts__strict.sql``): as ordered, but ``e1 … ek`` lie in
  consecutive stage visits: another stage's visit between them breaks the chain (unstaged
  events do not). ``e1`` is the last event of its step-1 visit, later steps the first event
  of their visit.
* **Furthest funnel** (``funnel_attempts__furthest.sql``, the CRM pipeline view): a
  customer counts at step k when the furthest stage they reached within the window from
  their first staged event has order ≥ k, whatever the order of visits; a step counted
  without an event of its stage is ``implied``.
* **Attempts and the best one.** Each mode writes ``funnel_attempts`` (per step-1 entry, the
  steps it reaches); ``funnel_customer_steps`` keeps each customer's best attempt (furthest,
  then latest), and ``funnel_trends`` each period's best attempt per customer, so a customer
  who enters in several periods counts in each.
* **Funnel table** (``sql/funnel/funnel.sql``): customers per step, conversion from the
  previous step and from the start (fractions, null where the denominator is 0), dropped
  and drop-off rate to the next step, ``reached_any_order`` (customers with any event of
  the stage), ``implied`` (furthest mode; 0 otherwise) and time from this step's event to
  the next step's over customers with both (median, p25, p75, p90, mean, in seconds).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .config import PROPERTY_PREFIX, FunnelConfig, PipelineConfig, check_funnel
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
    return run_steps(con, None, steps, params=funnel_params(funnel))


def funnel_steps(cfg: PipelineConfig, funnel: FunnelConfig | None = None) -> pd.DataFrame:
    """``cfg_funnel_steps(step, stage, stage_order)``: the stages from ``from_stage`` to ``to_stage``
    of ``funnel`` (default: the config's main funnel; all stages unless a sub-range is set), from 1.

    >>> from cjm_pipeline.config import config_from_dict
    >>> cfg = config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
    ...     "stages": [{"name": n, "rules": [{"event_type": n}]} for n in "abcd"],
    ...     "funnel": {"from_stage": "b", "to_stage": "c"}})
    >>> funnel_steps(cfg).values.tolist()
    [[1, 'b', 2], [2, 'c', 3]]
    """
    funnel = funnel or cfg.funnel
    names = cfg.stage_names
    lo = names.index(funnel.from_stage) if funnel.from_stage else 0
    hi = names.index(funnel.to_stage) if funnel.to_stage else len(names) - 1
    rows = [(i + 1, names[order - 1], order) for i, order in enumerate(range(lo + 1, hi + 2))]
    return pd.DataFrame(rows, columns=["step", "stage", "stage_order"])


def funnel_tables(cfg: PipelineConfig, funnel: FunnelConfig | None = None) -> dict[str, pd.DataFrame]:
    """The config tables of one funnel: ``cfg_funnel_steps`` and ``cfg_breakdowns(breakdown, property_name)``."""
    funnel = funnel or cfg.funnel
    breakdowns = pd.DataFrame(
        [(b, b[len(PROPERTY_PREFIX):] if b.startswith(PROPERTY_PREFIX) else None) for b in funnel.breakdowns],
        columns=["breakdown", "property_name"]).astype({"breakdown": "string", "property_name": "string"})
    return {"cfg_funnel_steps": funnel_steps(cfg, funnel), "cfg_breakdowns": breakdowns}
