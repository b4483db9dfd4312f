"""Running the pipeline: ingest, the config as tables, the steps in :data:`~cjm_pipeline.steps.STEPS`
order, the named funnels, the exports and the run record.

The order is data (:mod:`cjm_pipeline.steps`); this module runs it. :func:`recompute_funnel` is
the one path by which a funnel is rebuilt with other settings: the named ``funnels:`` of a run,
``cjm funnel`` and :meth:`cjm_pipeline.warehouse.Warehouse.funnel` all go through it.

Every run appends one row to ``_cjm_runs`` (:mod:`cjm_pipeline.runs`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import duckdb
import pandas as pd

from . import coverage, db, export, incremental, ingest, journey_map, predict, publish, runs
from .config import FunnelConfig, NamedFunnelConfig, PipelineConfig, check_funnel_stages
from .engines import Engine
from .errors import ConfigError
from .funnel import funnel_params, funnel_tables
from .pii import policy_for
from .runs import RunResult
from .schema import NULL_TOKENS, format_system, naive_timezone
from .stages import stage_tables
from .steps import FUNNEL_STEPS, SOURCE_TABLES, STEP_NAMES, STEPS, Step, StepResult, select_steps

__all__ = ["run", "run_steps", "recompute_funnel", "build_named_funnel", "params_for", "RunResult", "STEPS",
           "STEP_NAMES", "FUNNEL_STEPS", "SOURCE_TABLES", "select_steps"]

#: How many stage paths per kind the `paths` table lists before '(other)'.
TOP_PATHS = 50
#: How many visits the step-indexed flow (`step_flows`, the report's Sankey) follows.
FLOW_STEPS = 6

#: Dictionaries format parsers load into raw_reference, and how events find their entries:
#: (reference kind, event property holding the key, second key property or None, property to fill).
REFERENCE_LOOKUPS = (
    ("amocrm_status", "pipeline_id", "stage_id", "stage_name"),
    ("amocrm_pipeline", "pipeline_id", None, "pipeline_name"),
    ("amocrm_status", "pipeline_id", "status_id", "status_name"),
    ("amocrm_status", "previous_pipeline_id", "previous_stage_id", "previous_stage_name"),
    ("hubspot_stage", "pipeline_id", "stage_id", "stage_name"),
    ("hubspot_pipeline", "pipeline_id", None, "pipeline_name"),
    ("bitrix24_stage", "stage_id", None, "stage_name"),
    ("bitrix24_lead_status", "status_id", None, "status_name"),
)


def params_for(cfg: PipelineConfig, **overrides: Any) -> dict[str, Any]:
    """The parameters SQL files may use; each file receives exactly the ones it names."""
    params = funnel_params(cfg.funnel, funnel_tables(stage_tables(cfg)["cfg_stages"], cfg.funnel)["cfg_funnel_steps"])
    params.update({"timezone": cfg.timezone, "top_paths": TOP_PATHS, "run_id": "adhoc", "run_started": runs.utcnow(),
                   "max_contacts": cfg.identity.max_contacts_per_identifier,
                   "flag_size": cfg.identity.flag_component_size, "max_iterations": cfg.identity.max_iterations,
                   "blocklist_regex": cfg.identity.blocklist_regex(),
                   "back_step_min_gap_s": cfg.journey.back_step_min_gap.seconds if cfg.journey.back_step_min_gap else None,
                   "stock_inactivity_s": (cfg.journey.stock_inactivity or cfg.funnel.window).seconds,
                   "flow_steps": FLOW_STEPS})
    params.update({"predict_window_s": cfg.predict_window_seconds, "half_life_s": cfg.attribution.half_life.seconds,
                   "min_reference_visits": cfg.predict.min_reference_visits})
    params.update(overrides)
    return params


def config_tables(cfg: PipelineConfig, run_started: dt.datetime | None = None) -> dict[str, pd.DataFrame]:
    """The config as tables: sources, null tokens, reference lookups, identity, stages, the main funnel,
    and the plausible range of event times of a run started at ``run_started`` (naive UTC; default now)."""
    earliest, latest = cfg.times.bounds(run_started or runs.utcnow())
    tables = {
        "cfg_sources": pd.DataFrame(
            [(s.name, s.format, format_system(s.format), naive_timezone(s.format, s.timezone, cfg.timezone))
             for s in cfg.sources],
            columns=["source", "format", "source_system", "timezone"]),
        "cfg_reference_lookups": pd.DataFrame(
            REFERENCE_LOOKUPS, columns=["kind", "key1", "key2", "target"]).astype("string"),
        "cfg_null_tokens": pd.DataFrame({"token": list(NULL_TOKENS)}),
        "cfg_identity_blocklist": pd.DataFrame(
            cfg.identity.blocklist_rows(), columns=["id_type", "match_kind", "pattern"]).astype("string"),
        "cfg_identity_hub_types": pd.DataFrame({"id_type": list(cfg.identity.hub_types)}).astype("string"),
        "cfg_time_range": pd.DataFrame({"earliest": pd.Series([earliest], dtype="datetime64[us]"),
                                        "latest": pd.Series([latest], dtype="datetime64[us]"),
                                        "earliest_setting": [str(cfg.times.earliest)],
                                        "ahead_setting": [str(cfg.times.ahead)]}),
    }
    tables.update(stage_tables(cfg))
    tables.update(funnel_tables(tables["cfg_stages"], cfg.funnel))
    return tables


def write_config_tables(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig,
                        run_started: dt.datetime | None = None) -> None:
    """Store :func:`config_tables` in the warehouse (and the identity bookkeeping, if it is new)."""
    runs.ensure_tables(con)
    for name, frame in config_tables(cfg, run_started).items():
        db.write_table(con, name, frame)


def run_steps(con: "duckdb.DuckDBPyConnection | Engine", cfg: PipelineConfig | None, steps: tuple[Step, ...] = STEPS, *,
              params: dict[str, Any] | None = None, on_step: Callable[[Step, int, int], None] | None = None,
              on_done: Callable[[StepResult], None] | None = None) -> list[StepResult]:
    """Run ``steps`` in order on a DuckDB connection or an engine; each replaces its output table."""
    params = params if params is not None else params_for(cfg)
    results = []
    for i, step in enumerate(steps, start=1):
        if on_step:
            on_step(step, i, len(steps))
        result = step.run(con, params)
        results.append(result)
        if on_done:
            on_done(result)
    return results


def recompute_funnel(con: duckdb.DuckDBPyConnection, funnel: FunnelConfig, *, where: str = "") -> list[StepResult]:
    """Rebuild the funnel tables (:data:`~cjm_pipeline.steps.FUNNEL_STEPS`) on ``con`` with these
    settings, from the classified events and the stages (``cfg_stages``) it can read.

    The funnel's steps and their windows are derived from ``cfg_stages`` (the stages the events
    were classified with) and ``funnel`` by :func:`cjm_pipeline.funnel.funnel_steps`, and written
    to ``cfg_funnel_steps`` and ``cfg_breakdowns`` in the current schema; ``where`` prefixes
    option names in errors (``--`` for the CLI).
    """
    stages = db.read_table(con, "cfg_stages", order_by=("stage_order",))
    problems = check_funnel_stages(funnel, stages["stage"].tolist(), where=where)
    if problems:
        raise ConfigError("funnel options", problems)
    if "window_s" not in stages:  # a warehouse written before stages kept their windows
        stages["window_s"] = pd.array([None] * len(stages), dtype="Int64")
    tables = funnel_tables(stages, funnel)
    for name, frame in tables.items():
        db.write_table(con, name, frame)
    steps = tuple(s for s in STEPS if s.name in FUNNEL_STEPS)
    params = {**funnel_params(funnel, tables["cfg_funnel_steps"]), "top_paths": TOP_PATHS}
    return run_steps(con, None, steps, params=params)


def named_funnel_schema(name: str) -> str:
    """The schema that holds a named funnel's tables: ``funnel_<name>``."""
    return db.check_table_name(f"funnel_{name}")


def build_named_funnel(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, named: NamedFunnelConfig, *,
                       run_id: str, out_dir: Path | None = None) -> list[StepResult]:
    """Build one of ``funnels:`` into schema ``funnel_<name>`` (same tables and columns as the main
    funnel: funnel, funnel_trends, funnel_breakdown, ...), and export it to ``<out_dir>/funnels/<name>/``."""
    schema = named_funnel_schema(named.name)
    db.use_schema(con, schema)
    try:
        results = [replace(r, step=f"{schema}.{r.step}") for r in recompute_funnel(con, named)]
        if out_dir is not None:
            export.export_all(con, replace(cfg, funnel=named), kind=f"funnel:{named.name}", run_id=run_id,
                              out_dir=out_dir / "funnels" / named.name,
                              tables=tuple(t for t in FUNNEL_STEPS if t in export.EXPORTED_TABLES))
    finally:
        db.use_schema(con, "main")
    return results


def run(cfg: PipelineConfig, *, until: str | None = None, full_refresh: bool = False, rebuild: bool = False,
        export_outputs: bool = True, log: Callable[[str], None] = lambda m: None,
        on_step: Callable[[Step, int, int], None] | None = None) -> RunResult:
    """Ingest new files, bring every step up to date, export the outputs and record the run, publishing
    all of it at once or nothing (:mod:`cjm_pipeline.publish`): the run works on a copy of the
    warehouse and writes its files into a folder of its own, then switches both.

    The steps are recomputed only for the loads, events and customers the new files touch when the
    last build allows it (:mod:`cjm_pipeline.incremental`; the tables are the same as a full
    rebuild's), and rebuilt whole otherwise or with ``rebuild``; ``result.build`` says which and why.

    With ``until``, the steps after it are not built, their tables are dropped (every table of the
    published warehouse is of one run) and no files are written.
    """
    steps = select_steps(until)
    result = RunResult(run_id=runs.new_run_id())
    started_at = runs.utcnow()
    t0 = time.perf_counter()
    warehouse = cfg.warehouse_path

    def warn(message: str) -> None:
        result.warnings.append(message)
        log("warning: " + message)

    with publish.RunLock(warehouse, result.run_id):
        journal = publish.Journal(warehouse)
        out = publish.run_folder(cfg.output_dir, result.run_id) if export_outputs and until is None else None
        work = publish.working_copy(warehouse)
        committed = False
        try:
            con = db.connect(work, memory_limit=cfg.memory_limit)
            try:
                runs.ensure_tables(con)
                for message in runs.recover(con, journal, cfg.output_dir):
                    warn(message)
                journal.append("started", runs.run_record(cfg, result, started_at))
                _build(con, cfg, steps, result, started_at, out, log, on_step, warn, full_refresh, rebuild)
                if until is not None:
                    _drop_after(con, steps)
                result.status = "success"
                result.seconds = time.perf_counter() - t0
                record = runs.run_record(cfg, result, started_at)
                runs.write_runs_table(con, [r for r in journal.runs() if r["run_id"] != result.run_id] + [record])
                db.checkpoint(con)
            finally:
                con.close()
            journal.append("publishing", {"run_id": result.run_id, "outputs": str(out) if out else None})
            publish.publish_warehouse(work, warehouse)
            committed = True
            if out is not None:
                for message in publish.publish_outputs(cfg.output_dir, result.run_id):
                    warn(message)
            journal.append("finished", record)
        except BaseException as e:
            error = str(e) or type(e).__name__
            if committed:  # the warehouse is published; only the output files failed to switch
                journal.append("finished", {**record, "error": f"output files not published: {error}"})
                raise
            result.status = "failed"
            result.seconds = time.perf_counter() - t0
            publish.discard(work)
            if out is not None:
                shutil.rmtree(out, ignore_errors=True)
            journal.append("finished", runs.run_record(cfg, result, started_at, error=error))
            raise
    return result


def _build(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, steps: tuple[Step, ...], result: RunResult,
           started_at, out: Path | None, log: Callable[[str], None], on_step, warn: Callable[[str], None],
           full_refresh: bool, rebuild: bool = False) -> None:
    """Everything a run writes into its working copy: ingest, the config tables, the steps (on the
    config's engine), identity bookkeeping, the row accounting, the exports and the named funnels."""
    result.loads = ingest.ingest_all(con, cfg, result.run_id, full_refresh=full_refresh, log=log, warn=warn)
    migrated = list(runs.migrate(con, cfg, policy_for(cfg)))
    for done in migrated:
        log("migrated: " + done)
    write_config_tables(con, cfg, started_at)
    params = params_for(cfg, run_id=result.run_id, run_started=started_at)
    done = lambda r: log(f"step {r.step}: " + ("view" if r.rows is None else f"{r.rows} rows")  # noqa: E731
                         + f" in {r.seconds:.2f} s" + (f" ({r.rounds} rounds)" if r.rounds else ""))
    plan = incremental.plan(con, cfg, result.run_id, steps, rebuild=rebuild, full_refresh=full_refresh,
                            migrated=bool(migrated))
    if plan.incremental:
        result.steps, customers = incremental.run_steps(con, steps, params, on_step=on_step, on_done=done, log=log)
        result.build = (f"incremental: {customers} customers recomputed" if customers is not None
                        else "incremental up to the identity steps, then every step rebuilt")
        engine = con
    else:
        result.build = f"full: {plan.reason}"
        engine = start_engine(con, cfg, log)
        result.steps = run_steps(engine, cfg, steps, params=params, on_step=on_step, on_done=done)
    log(f"build {result.build}")
    if engine is not con:  # the step tables come back to the warehouse; its views are made there as on DuckDB
        tables = [s.name for s in steps if s.materialize == "table"]
        engine.save_to_duckdb(con, tables)
        for step in steps:
            if step.materialize == "view":
                db.run_view_sql(con, step.name, step.sql_path())
        log(f"spark: {len(tables)} step tables copied into the warehouse")
    if any(s.name == "identity_run_merges" for s in steps):
        for warning in runs.keep_identity(con, cfg, result.run_id):
            warn(warning)
    if "source_accounting" in db.existing_tables(con):
        result.accounting = db.read_table(con, "source_accounting", order_by=["source"])
        runs.check_accounting(result.accounting)
    for issue in coverage.coverage_issues(con):  # stage rules and stages that matched no event
        warn(issue.message())
    for message in journey_map.run_warnings(con):  # feedback answers without a usable score
        warn(message)
    if any(s.name == "prediction_quality" for s in steps):  # predictions and attribution on thin or bad input
        for message in predict.run_warnings(con):
            warn(message)
    if len(steps) < len(STEPS):
        incremental.forget_build(con)
        return
    incremental.drop_intermediates(con)
    incremental.record_build(con, cfg, result.run_id)
    if out is not None:
        result.exports = [str(p) for p in export.export_all(con, cfg, kind="run", run_id=result.run_id, out_dir=out)]
    for named in cfg.funnels:
        result.steps += build_named_funnel(con, cfg, named, run_id=result.run_id, out_dir=out)
        log(f"funnel '{named.name}': built in schema {named_funnel_schema(named.name)}")


def _drop_after(con: duckdb.DuckDBPyConnection, steps: tuple[Step, ...]) -> None:
    """After a partial run: drop the tables of the steps it did not build, and the named funnels."""
    for step in STEPS[len(steps):]:
        db.drop_relation(con, step.name)
    for schema in db.schemas(con):
        if schema.startswith("funnel_"):
            db.execute(con, f"drop schema if exists {db.check_table_name(schema)} cascade")


def start_engine(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, log: Callable[[str], None] = lambda m: None):
    """Where the steps run: the warehouse connection itself (``engine: duckdb``), or a
    :class:`~cjm_pipeline.engines.spark.SparkEngine` holding copies of the source tables (``engine: spark``)."""
    if cfg.engine != "spark":
        return con
    from .engines.spark import SparkEngine  # PySpark and a JVM only when a config asks for them
    engine = SparkEngine(cfg.spark, cfg.spark_tables_path)
    log(f"spark: master {cfg.spark.master}, tables in {cfg.spark_tables_path}")
    engine.load_from_duckdb(con, [t for t in SOURCE_TABLES if db.table_exists(con, t)])
    return engine
