"""Journeys for the prediction and attribution tests: hand-written ones run through the steps the
``predict`` layer needs, and worlds walked by the simulator's own stage model.

>>> r = predict_for({"c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-02 10:00")], "c2": [("a", "2025-03-01 10:00")]},
...                 stages=["a", "b"], window="7d")
>>> r.table("stage_next")[["from_stage", "to_stage", "transitions", "probability"]].values.tolist()
[['a', 'b', 1, 1.0], ['b', '(end)', 1, 1.0], ['(start)', 'a', 2, 1.0]]

:func:`predict_for` takes journeys as :func:`journeys.journeys_for` does (``(event_type, time,
{column: value})``, one stage per name in ``stages`` with the rule ``{event_type: <name>}``) and
runs only the steps the ``predict`` layer reads and its own, on DuckDB or Spark; ``config`` adds
top-level config sections (``predict``, ``attribution``, ``funnel``). :func:`simulated_journeys`
walks a template's stage model (:mod:`cjm_pipeline.simulate.scale_walk`, the benchmark worlds'
walk) and writes every step as one event of its stage, with the person as the customer, so the
true transition matrix is :func:`true_visit_matrix`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

import journeys as jf
from cjm_pipeline import db, pipeline, steps
from cjm_pipeline.config import config_from_dict
from cjm_pipeline.simulate.scale_walk import CHANNELS, ScaleModel, walk_chunk
from cjm_pipeline.simulate.worlds import model as world_model

PREDICT = tuple(s.name for s in steps.STEPS if s.layer == "predict")


def _closure(names: tuple[str, ...]) -> set[str]:
    need: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in need or name not in steps.BY_NAME:
            continue
        need.add(name)
        todo += steps.BY_NAME[name].inputs
    return need


#: The steps after ``events`` that the predict layer needs, and its own, in pipeline order.
NEEDED = _closure(PREDICT)
RUN = tuple(s for s in steps.STEPS[steps.STEP_NAMES.index("event_identifiers"):] if s.name in NEEDED)


def config_for(stages: list[str], window: str = "90d", config: dict | None = None):
    sections = dict(config or {})
    funnel = {"window": window, **sections.pop("funnel", {})}
    return config_from_dict({
        "sources": [{"name": "test", "format": "generic_events", "path": "unused.csv"}],
        "stages": [{"name": s, "rules": [{"event_type": s}]} for s in stages],
        "funnel": funnel, **sections,
    })


@dataclass
class PredictResult:
    con: Any
    cfg: Any
    names: dict[str, str]

    def table(self, name: str, order_by: tuple[str, ...] | None = None):
        frame = db.read_table(self.con, name, order_by=steps.order_of(name) if order_by is None else order_by)
        if "customer_id" in frame.columns:
            frame["customer_id"] = frame["customer_id"].map(lambda c: self.names.get(c, c))
        return frame.reset_index(drop=True)

    def warnings(self) -> list[str]:
        from cjm_pipeline import predict
        return predict.run_warnings(self.con)


def predict_for(journeys: dict[str, list[tuple]], stages: list[str], *, window: str = "90d",
                config: dict | None = None, engine: str = "duckdb") -> PredictResult:
    """Run the steps the predict layer needs, and its own, on these journeys."""
    cfg = config_for(stages, window, config)
    con = db.connect(":memory:")
    jf.load_events(con, journeys)
    pipeline.write_config_tables(con, cfg)
    if engine == "spark":
        spark = jf.spark_engine()
        spark.load_from_duckdb(con, [t for t in (*pipeline.SOURCE_TABLES, "events") if db.table_exists(con, t)])
        pipeline.run_steps(spark, cfg, RUN)
        spark.save_to_duckdb(con, [s.name for s in RUN if s.materialize == "table"])
        for s in RUN:
            if s.materialize == "view":
                db.run_view_sql(con, s.name, s.sql_path())
    else:
        pipeline.run_steps(con, cfg, RUN)
    names = dict(db.execute(con, "select customer_id, substr(identifier, 13) from identity_map "
                                 "where identifier like 'customer_id:%'"))
    return PredictResult(con, cfg, names)


# --------------------------------------------------------------------------- simulated worlds


START = dt.datetime(2024, 1, 1)


def simulated_journeys(template: str, people: int, days: int, seed: int, *,
                       channels: bool = False) -> tuple[dict[str, list[tuple]], ScaleModel]:
    """People walking ``template``'s stage model for ``days`` days from 2024-01-01: each step one
    event whose type is its stage's name (a channel drawn from the template's first-visit mix with
    ``channels``); the journeys and the walk's model."""
    m = world_model(template)
    sm = ScaleModel.of(m)
    rng = np.random.default_rng(seed)
    start = int(START.replace(tzinfo=dt.timezone.utc).timestamp())
    walked = walk_chunk(rng, sm, people, start, days, m.max_steps)
    names = m.stage_names
    out: dict[str, list[tuple]] = {}
    pick = rng.integers(0, len(sm.channels), len(walked.person))
    order = np.lexsort((np.arange(len(walked.person)), walked.time, walked.person))
    for k in order:
        p, s, t = int(walked.person[k]), int(walked.stage[k]), int(walked.time[k])
        when = dt.datetime.fromtimestamp(t, dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        props = {"channel": CHANNELS[int(sm.channels[pick[k]])]} if channels else {}
        out.setdefault(f"p{p:06d}", []).append((names[s], when, props))
    return out, sm


def true_visit_matrix(sm: ScaleModel, names: list[str]) -> dict[str, dict[str, float]]:
    """The simulator's transition model between stage *visits*: a step that stays in the stage
    is part of the same visit, so row ``i`` is ``P[i, j] / (1 - P[i, i])`` for the other stages
    and the exit (``(end)``)."""
    P = np.diff(np.concatenate([np.zeros((sm.n, 1)), sm.cum], axis=1), axis=1)
    out = {}
    for i, name in enumerate(names):
        leave = 1.0 - P[i, i]
        row = {names[j]: P[i, j] / leave for j in range(sm.n) if j != i and P[i, j] > 0}
        if P[i, sm.n] > 0:
            row["(end)"] = P[i, sm.n] / leave
        out[name] = row
    return out
