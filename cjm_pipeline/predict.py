"""Predictions and attribution: the Python steps over tiny tables, the run's warnings, the CLI's text.

The per-visit and per-customer work is SQL (``sql/predict/``); two steps solve small absorbing
Markov chains with :mod:`cjm_pipeline.markov` and are declared in
:data:`cjm_pipeline.steps.STEPS` like the others (``Step(..., python=...)``):

* :func:`stage_chain`: the chain of the stages from ``stage_next`` (goal stage and ``(end)``
  absorbing): the probability of reaching the goal, the expected visits, the likeliest next stage;
* :func:`attribution_markov`: the channels' removal effects from ``attribution_paths``.

Each takes its input tables as DataFrames and the run parameters, and returns its table with
fixed column types, the same on every engine and with no data. Definitions:
``docs/semantics.md`` ("Outlook per stage", "Attribution").

>>> import pandas as pd
>>> stages = pd.DataFrame({"stage": ["a", "b"], "stage_order": [1, 2]})
>>> steps = pd.DataFrame({"step": [1, 2], "stage": ["a", "b"]})
>>> nxt = pd.DataFrame({"from_stage": ["a", "a"], "to_stage": ["b", "(end)"], "to_order": [2, None],
...                     "probability": [0.25, 0.75]})
>>> stage_chain({"cfg_stages": stages, "cfg_funnel_steps": steps, "stage_next": nxt}, {})[
...     ["stage", "p_goal", "expected_visits", "likely_next_stage"]].values.tolist()
[['a', 0.25, 1.0, '(end)'], ['b', 1.0, 0.0, <NA>]]
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from . import db, markov

#: The end of a journey in stage_next (no next visit within the window).
END = "(end)"

CHAIN_COLUMNS = {"stage": "string", "stage_order": "Int64", "is_goal": "boolean", "in_chain": "boolean",
                 "p_goal": "Float64", "expected_visits": "Float64", "expected_visits_to_goal": "Float64",
                 "likely_next_stage": "string", "likely_next_probability": "Float64"}
#: Below this many customers who reached the goal, the back-test's scores are called noisy.
FEW = 10

MARKOV_COLUMNS = {"channel": "string", "removal_effect": "Float64", "p_conversion_without": "Float64",
                  "conversions": "Float64", "revenue": "Float64"}


def goal_stage(funnel_steps: pd.DataFrame) -> str | None:
    """The goal: the stage of the main funnel's last step."""
    if funnel_steps.empty:
        return None
    return str(funnel_steps.sort_values("step")["stage"].iloc[-1])


def _number(value: float) -> Any:
    return pd.NA if value is None or not math.isfinite(value) else float(value)


def _likely_next(moves: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """Per from-stage, the most probable next stage; ties go to the earlier stage, '(end)' last."""
    ranked = moves.assign(_o=pd.to_numeric(moves["to_order"], errors="coerce").astype("Float64").fillna(float("inf")))
    ranked = ranked.sort_values(["from_stage", "probability", "_o", "to_stage"], ascending=[True, False, True, True],
                                kind="stable")
    first = ranked.drop_duplicates("from_stage")
    return {f: (t, float(p)) for f, t, p in zip(first["from_stage"], first["to_stage"], first["probability"])}


def stage_chain(inputs: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
    """One row per configured stage: the absorbing chain of ``stage_next`` solved exactly.

    The goal stage and ``(end)`` absorb; a stage with no complete visit (``in_chain`` false) has
    no outgoing probabilities, absorbs as an unknown outcome and gets no outlook. ``p_goal``: the
    probability of ever reaching the goal (1 at the goal); ``expected_visits``: stage visits from
    this one (counted) until the goal or the end (0 at the goal; empty when the chain may loop
    forever); ``expected_visits_to_goal``: the same over the journeys that reach the goal.
    """
    stages = inputs["cfg_stages"].sort_values("stage_order")
    goal = goal_stage(inputs["cfg_funnel_steps"])
    nxt = inputs["stage_next"]
    moves = nxt[nxt["from_stage"] != markov.START].sort_values(["from_stage", "to_stage"], kind="stable")
    weights = {(f, t): float(p) for f, t, p in zip(moves["from_stage"], moves["to_stage"], moves["probability"])
               if f != goal}
    known = set(moves["from_stage"])
    unknown = [s for s in stages["stage"] if s not in known and s != goal]
    solved = markov.absorb(weights, absorbing=[goal, END, *unknown])
    likely = _likely_next(moves)
    rows = []
    for stage, order in zip(stages["stage"], stages["stage_order"]):
        is_goal, in_chain = stage == goal, stage in known or stage == goal
        if is_goal:
            outlook = (1.0, 0.0, 0.0)
        elif not in_chain:
            outlook = (None, None, None)
        else:
            outlook = (solved.probability(stage, goal), solved.expected_visits(stage),
                       solved.expected_visits_given(stage, goal))
        nxt_stage, nxt_p = likely.get(stage, (None, None))
        rows.append((stage, int(order), is_goal, in_chain, *(_number(v) for v in outlook), nxt_stage,
                     _number(nxt_p)))
    return pd.DataFrame(rows, columns=list(CHAIN_COLUMNS)).astype(CHAIN_COLUMNS)


def attribution_markov(inputs: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
    """One row per channel (``(none)`` included): its removal effect in the chain of
    ``attribution_paths`` and the conversions and revenue credited to it, in proportion to the
    removal effects (normalised to the total conversions)."""
    paths = inputs["attribution_paths"].sort_values(["from_state", "to_state"], kind="stable")
    weights = {(f, t): float(n) for f, t, n in zip(paths["from_state"], paths["to_state"], paths["transitions"])}
    into = paths[paths["to_state"] == markov.CONVERSION]
    conversions = float(into["transitions"].sum())
    revenue = float(pd.to_numeric(into["revenue"], errors="coerce").fillna(0).sum())
    effects = markov.removal_effects(weights)
    total = sum(e for _, e in effects.values())
    rows = [(c, e, without, conversions * e / total if total > 0 else 0.0, revenue * e / total if total > 0 else 0.0)
            for c, (without, e) in sorted(effects.items())]
    return pd.DataFrame(rows, columns=list(MARKOV_COLUMNS)).astype(MARKOV_COLUMNS)


# --------------------------------------------------------------------------- run warnings


def run_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a run should say about its predictions and attribution (bad or thin input): a goal
    nobody reached, converters without channels, a single channel, a stage without a complete
    visit, a back-test nobody (or everybody) of which reached the goal, or too few, and a model
    that does not beat its baseline."""
    if not db.table_exists(con, "prediction_quality"):
        return []
    f = db.query(con, db.read_sql("queries/predict_facts.sql")).iloc[0]
    goal, out = f["goal_stage"], []
    if not f["goal_visits"]:
        out.append(f"predictions: nobody reached the goal stage '{goal}' (the funnel's last step): every "
                   "probability of reaching it is 0 and attribution has no conversion to share")
    elif f["channels"] == 0:
        out.append("attribution: no event has a channel; every conversion is credited to '(none)'")
    else:
        if f["converters_without_channel"] * 2 > f["converters"]:
            out.append(f"attribution: {f['converters_without_channel']:,} of {f['converters']:,} converters have no "
                       "event with a channel before converting; they are credited to '(none)'")
        if f["channels"] == 1:
            out.append(f"attribution: one channel only ('{f['only_channel']}'): every model gives it all the credit")
    if f["stages_without_outcome"] and f["stages_in_chain"]:  # (none at all: the data is younger than the window)
        out.append(f"predictions: no visit of {f['stages_without_outcome']} is older than the window yet; "
                   "the chain has no outlook for them")
    # (no back-test at all when the history is shorter than two windows: the report and `cjm predict` say so)
    scored, reached = int(f["scored"] or 0), int(f["reached_goal_scored"] or 0)
    if scored and reached in (0, scored):
        out.append(f"predictions: in the back-test {'no' if not reached else 'every'} customer of {scored:,} "
                   "reached the goal: the ROC AUC is undefined")
    elif scored:
        if reached < FEW:
            out.append(f"predictions: the back-test rests on {reached} customer(s) who reached the goal (of "
                       f"{scored:,}): its scores are noisy")
        if not pd.isna(f["beats_baseline"]) and not f["beats_baseline"]:
            out.append(f"predictions: in the back-test the stage-and-time model does not beat the stage's overall "
                       f"rate (Brier {f['brier_model']:.4f} against {f['brier_baseline']:.4f})")
    return out
