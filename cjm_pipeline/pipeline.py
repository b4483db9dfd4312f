"""The pipeline: ingest, then the steps in :data:`STEPS` order, then exports and the run record.

The order is data. Each :class:`~cjm_pipeline.steps.Step` names its output table, its
layer (the folder of its SQL file) and its inputs; an input is either an earlier step's
output or one of :data:`SOURCE_TABLES` (raw data and tables made from the config).
``cjm steps`` prints this list.

Every run appends one row to ``_cjm_runs``: when, the config's sha256, status, row
counts, step timings and the input accounting (rows loaded, duplicate, quarantined).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import duckdb
import pandas as pd

from . import __version__, db, export, ingest
from .config import FUNNEL_UNITS, FunnelConfig, NamedFunnelConfig, PipelineConfig
from .errors import CjmError, StepError
from .funnel import funnel_steps, funnel_tables, recompute_funnel
from .stages import stage_tables
from .steps import Engine, Step, StepResult

#: Tables the steps read that no step builds: the raw layer and the config tables.
SOURCE_TABLES = (
    "raw_events", "raw_rejects", "raw_reference", "_cjm_loads",
    "cfg_sources", "cfg_null_tokens", "cfg_reference_lookups", "cfg_identity_blocklist", "cfg_identity_hub_types",
    "_cjm_identity_state", "identity_merges", "cfg_stages", "cfg_stage_rules", "cfg_rule_conditions", "cfg_funnel_steps",
    "cfg_stage_kpis", "cfg_breakdowns",
)

#: How funnel_attempts chains events (see funnel_attempt_rule): one SQL file each.
ATTEMPT_RULES = ("greedy", "chain", "furthest")

STEPS: tuple[Step, ...] = (
    Step("hit_visits", "staging", ("raw_events", "cfg_sources"), grain=("watch_id",),
         doc="Metrica hits with their visit and its traffic attribution"),
    Step("stg_events", "staging", ("raw_events", "cfg_sources", "cfg_null_tokens", "hit_visits", "raw_reference",
                                   "cfg_reference_lookups"),
         doc="raw rows typed and checked; reject_reason for unusable ones"),
    Step("events", "events", ("stg_events", "cfg_sources"), grain=("event_id",),
         doc="unified events, duplicates removed"),
    Step("quarantine", "events", ("raw_rejects", "stg_events", "cfg_sources"),
         doc="input rows that could not be loaded, with the reason"),
    Step("source_accounting", "events", ("_cjm_loads", "stg_events", "events", "quarantine", "raw_reference",
                                         "cfg_sources"),
         grain=("source",), doc="rows in = loaded + duplicate + quarantined, per source"),
    Step("event_identifiers", "identity", ("events", "cfg_identity_blocklist"), grain=("event_id", "identifier"),
         doc="identifier observations: which event carried which identifier (cleaned, raw), blocked or not"),
    Step("identity_hubs", "identity", ("event_identifiers", "cfg_identity_hub_types"), grain=("identifier",),
         doc="phones/e-mails on too many CRM contacts: they join nobody"),
    Step("event_nodes", "identity", ("events", "event_identifiers", "identity_hubs"), grain=("event_id",),
         doc="each event's identity node (its smallest linking identifier, or the event itself)"),
    Step("identity_edges", "identity", ("event_nodes", "event_identifiers", "identity_hubs"), grain=("id_a", "id_b"),
         doc="identifier pairs seen in one record (blocked identifiers and hubs excluded)"),
    Step("identity_nodes", "identity", ("identity_edges",), grain=("identifier",),
         doc="each identity node numbered (integers make the component rounds cheap)"),
    Step("identity_adjacency", "identity", ("identity_edges", "identity_nodes"), grain=("src", "dst"),
         doc="the identity graph as integer pairs, both directions"),
    Step("identity_components", "identity", ("identity_adjacency",), grain=("node_id",),
         iterate_param="max_iterations",
         doc="connected components: min-label propagation with pointer jumping, repeated to a fixpoint"),
    Step("identity_map", "identity", ("identity_components", "identity_nodes", "_cjm_identity_state"),
         grain=("identifier",),
         doc="identifier -> customer_id, stable across runs (a merge keeps the oldest id)"),
    Step("identity_run_merges", "identity", ("identity_map", "_cjm_identity_state", "identity_edges"),
         grain=("customer_id",), doc="earlier customers this run joins into one, with a linking identifier"),
    Step("identity_flagged", "identity", ("identity_map",), grain=("customer_id",),
         doc="customers with more identifiers than identity.flag_component_size"),
    Step("customer_events", "identity", ("events", "event_nodes", "identity_map"), grain=("event_id",),
         doc="each event's customer_id (with its source, type and time)"),
    Step("classified_events", "stages", ("events", "customer_events", "cfg_stage_rules", "cfg_rule_conditions"),
         grain=("event_id",), doc="events with their customer_id and stage (first matching rule)"),
    Step("stage_coverage", "stages", ("classified_events", "cfg_stages"), grain=("stage",),
         doc="events and customers per stage, and events with no stage"),
    Step("unmatched_event_types", "stages", ("classified_events",), grain=("source", "event_type"),
         doc="event types no rule matched"),
    Step("stage_visits", "journey", ("classified_events",), grain=("customer_id", "visit_index"),
         doc="consecutive events of one stage collapsed into visits"),
    Step("stage_transitions", "journey", ("stage_visits",), grain=("customer_id", "transition_index"),
         doc="moves between consecutive visits: start, forward, skip, back, end"),
    Step("transitions", "journey", ("stage_transitions",), grain=("from_stage", "to_stage"),
         doc="stage transition matrix"),
    Step("loops", "journey", ("stage_visits", "stage_transitions", "cfg_stages"), grain=("from_stage", "to_stage"),
         doc="back-steps j -> i: customers, occurrences, resolved share, return time, looper vs non-looper conversion"),
    Step("paths", "journey", ("stage_visits", "cfg_stages"), grain=("path_kind", "stage_path"),
         doc="most common full and collapsed stage paths (top N per kind, plus (other))"),
    Step("funnel_events", "funnel", ("classified_events", "event_identifiers"), grain=("event_id",),
         variant_param="unit", variants=FUNNEL_UNITS,
         doc="the events the funnel reads, each with its unit: customer, CRM deal or session (funnel.unit)"),
    Step("funnel_positions", "funnel", ("funnel_events", "cfg_funnel_steps"), grain=("unit_id", "pos"),
         doc="each unit's funnel-stage events in order, with their stage visit, and the attempts' anchors"),
    Step("funnel_attempts", "funnel", ("funnel_positions", "funnel_events", "cfg_funnel_steps"),
         grain=("unit_id", "attempt", "step"), variant_param="attempt_rule", variants=ATTEMPT_RULES,
         doc="per attempt (step-1 entry), the steps it reaches: event chains (ordered, strict) or furthest stage"),
    Step("funnel_customer_steps", "funnel", ("funnel_attempts", "classified_events"), grain=("unit_id", "step"),
         doc="per unit (customer, deal or session), the steps of its best attempt, and whether its window has closed"),
    Step("funnel", "funnel", ("funnel_customer_steps", "funnel_events", "cfg_funnel_steps"), grain=("step",),
         doc="the ordered funnel with conversion, drop-off and time to convert"),
    Step("funnel_breakdown", "funnel", ("funnel_customer_steps", "funnel_events", "classified_events", "cfg_breakdowns",
                                        "cfg_funnel_steps"), grain=("breakdown", "value", "step"),
         doc="the funnel per value of each breakdown (first/last channel, entry source, cohort, property)"),
    Step("ttc_histogram", "funnel", ("funnel_customer_steps", "cfg_funnel_steps"), grain=("step", "bin_index"),
         doc="time from each funnel step to the next, in fixed bins (<1m ... 30d+)"),
    Step("funnel_trends", "funnel", ("funnel_attempts", "classified_events", "cfg_funnel_steps"),
         grain=("period_start", "step"), doc="the funnel by entry period, each period's best attempt per customer"),
    Step("journeys", "journey", ("classified_events", "stage_visits", "stage_transitions", "funnel_customer_steps",
                                 "cfg_funnel_steps"), grain=("customer_id",),
         doc="one row per customer: path, furthest stage, back-steps, conversion"),
    Step("stage_dwell", "journey", ("stage_visits", "cfg_stages"), grain=("stage",),
         doc="time spent in each stage visit (median, p90, mean) and open visits"),
    Step("stage_stock", "journey", ("stage_visits", "cfg_stages"), grain=("day", "stage"),
         doc="customers whose current stage is X at the end of each day"),
    Step("barriers", "journey", ("funnel", "transitions"), grain=("barrier_kind", "rank"),
         doc="top 5 drop-offs, slow steps and back-steps, with the numbers behind each rank"),
    Step("stage_kpis", "journey", ("cfg_stage_kpis", "funnel"), grain=("stage", "kpi"),
         doc="stage KPI targets from the config against the funnel: actual, met, gap"),
)

STEP_NAMES = tuple(s.name for s in STEPS)
#: Steps that depend only on the funnel settings: rerun by `cjm funnel`.
FUNNEL_STEPS = ("funnel_events", "funnel_positions", "funnel_attempts", "funnel_customer_steps", "funnel", "funnel_breakdown", "ttc_histogram",
                "funnel_trends", "journeys", "barriers", "stage_kpis")

#: How many stage paths per kind the `paths` table lists before '(other)'.
TOP_PATHS = 50

#: Values that mean "no identifier" in an identifier column (compared after trim + lower-case).
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

#: Identity kept between runs: each identifier's customer_id (so ids are stable), and every merge.
_IDENTITY_STATE_DDL = """
create table if not exists _cjm_identity_state (identifier varchar, customer_id varchar, first_run varchar,
                                                first_seen_at timestamp)
"""
_IDENTITY_MERGES_DDL = """
create table if not exists identity_merges (
    run_id varchar, merged_at timestamp, customer_id varchar, merged_ids varchar[], linking_identifier varchar
)
"""

NULL_TOKENS = ("", "null", "none", "nil", "undefined", "nan", "n/a", "na", "-", "0", "(null)", "#n/a")

_RUNS_DDL = """
create table if not exists _cjm_runs (
    run_id varchar,
    kind varchar,
    started_at timestamp,
    finished_at timestamp,
    status varchar,
    error varchar,
    config_path varchar,
    config_sha256 varchar,
    cjm_version varchar,
    duckdb_version varchar,
    files_loaded bigint,
    files_skipped bigint,
    rows_in bigint,
    rows_loaded bigint,
    rows_duplicate bigint,
    rows_quarantined bigint,
    row_counts varchar,
    step_seconds varchar
)
"""


@dataclass
class RunResult:
    """What a run did: files, row accounting, step timings and exported files."""

    run_id: str
    status: str = "running"
    loads: list[ingest.FileLoad] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    accounting: pd.DataFrame | None = None
    exports: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def totals(self) -> dict[str, int]:
        acc = self.accounting
        if acc is None or acc.empty:
            return {"rows_in": 0, "rows_loaded": 0, "rows_duplicate": 0, "rows_quarantined": 0}
        return {k: int(acc[k].sum()) for k in ("rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined")}


def params_for(cfg: PipelineConfig, **overrides: Any) -> dict[str, Any]:
    """The parameters SQL files may use; each file receives exactly the ones it names."""
    params = funnel_params(cfg.funnel, has_step_windows=funnel_steps(cfg)["window_s"].notna().any())
    params.update({"timezone": cfg.timezone, "top_paths": TOP_PATHS, "run_id": "adhoc", "run_started": _utcnow(),
                   "max_contacts": cfg.identity.max_contacts_per_identifier,
                   "flag_size": cfg.identity.flag_component_size, "max_iterations": cfg.identity.max_iterations,
                   "blocklist_regex": cfg.identity.blocklist_regex()})
    params.update(overrides)
    return params


def funnel_attempt_rule(funnel: FunnelConfig, has_step_windows: bool) -> str:
    """The SQL variant of funnel_attempts: ``furthest`` for that mode; ordered and strict funnels
    chain events greedily (``greedy``), or, when a step has its own window, with the general
    reachability search (``chain``): the results agree where both apply, the greedy one is faster."""
    if funnel.mode == "furthest":
        return "furthest"
    return "chain" if has_step_windows else "greedy"


def funnel_params(funnel: FunnelConfig, *, has_step_windows: bool = False) -> dict[str, Any]:
    """The parameters of the funnel steps (also used by `cjm funnel` and Warehouse.funnel);
    ``has_step_windows``: some step of cfg_funnel_steps has a per-step window."""
    entry_from, entry_to = funnel.entry_bounds()
    return {"window_s": funnel.window_seconds, "mode": funnel.mode, "entry_from": entry_from, "entry_to": entry_to,
            "top_n": funnel.top_n, "cohort_period": funnel.cohort_period, "trend_period": funnel.trend_period,
            "attempt_rule": funnel_attempt_rule(funnel, has_step_windows), "strict": funnel.mode == "strict",
            "unit": funnel.unit, "session_gap_s": funnel.session_gap_seconds}


def write_config_tables(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig) -> None:
    """The config as tables: sources, null tokens, stages, rules, funnel steps."""
    formats = ingest.registry()
    sources = pd.DataFrame(
        [(s.name, s.format, formats[s.format].system if s.format in formats else "generic", s.timezone or cfg.timezone)
         for s in cfg.sources],
        columns=["source", "format", "source_system", "timezone"],
    )
    db.write_table(con, "cfg_sources", sources)
    db.write_table(con, "cfg_reference_lookups", pd.DataFrame(
        REFERENCE_LOOKUPS, columns=["kind", "key1", "key2", "target"]).astype("string"))
    db.write_table(con, "cfg_null_tokens", pd.DataFrame({"token": list(NULL_TOKENS)}))
    db.write_table(con, "cfg_identity_blocklist", pd.DataFrame(
        cfg.identity.blocklist_rows(), columns=["id_type", "match_kind", "pattern"]).astype("string"))
    db.write_table(con, "cfg_identity_hub_types", pd.DataFrame({"id_type": list(cfg.identity.hub_types)}).astype("string"))
    db.execute(con, _IDENTITY_STATE_DDL)
    db.execute(con, "alter table _cjm_identity_state add column if not exists first_seen_at timestamp")
    db.execute(con, _IDENTITY_MERGES_DDL)
    for name, frame in stage_tables(cfg).items():
        db.write_table(con, name, frame)
    for name, frame in funnel_tables(cfg).items():
        db.write_table(con, name, frame)


def keep_identity(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str) -> list[str]:
    """After the identity steps: remember each identifier's customer_id for the next run, append
    this run's merges to ``identity_merges``; return warnings about flagged customers."""
    db.execute(con, "create or replace table _cjm_identity_state as "
                    "select identifier, customer_id, first_run, first_seen_at from identity_map")
    db.execute(con, "insert into identity_merges select $run_id, $now, customer_id, merged_ids, linking_identifier "
                    "from identity_run_merges", {"run_id": run_id, "now": _utcnow()})
    warnings = []
    if "identity_flagged" in db.existing_tables(con):
        flagged = db.scalar(con, "select count(*) from identity_flagged")
        if flagged:
            warnings.append(f"{flagged} customer(s) hold more than {cfg.identity.flag_component_size} identifiers "
                            "(see the identity_flagged table): probably a shared phone or e-mail; "
                            "add it to identity.blocklist")
    return warnings


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


def named_funnel_schema(name: str) -> str:
    """The schema that holds a named funnel's tables: ``funnel_<name>``."""
    return db.check_table_name(f"funnel_{name}")


def build_named_funnel(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, named: NamedFunnelConfig, *,
                       run_id: str, export_outputs: bool = True) -> list[StepResult]:
    """Build one of ``funnels:`` into schema ``funnel_<name>`` (same tables and columns as the main
    funnel: funnel, funnel_trends, funnel_breakdown, ...), and export it to ``<output>/funnels/<name>/``."""
    schema = named_funnel_schema(named.name)
    db.use_schema(con, schema)
    try:
        for table, frame in funnel_tables(cfg, named).items():
            db.write_table(con, table, frame)
        results = [replace(r, step=f"{schema}.{r.step}") for r in recompute_funnel(con, named)]
        if export_outputs:
            named_cfg = replace(cfg, funnel=named)
            export.export_all(con, named_cfg, kind=f"funnel:{named.name}", run_id=run_id,
                              out_dir=cfg.output_dir / "funnels" / named.name,
                              tables=tuple(t for t in FUNNEL_STEPS if t in export.EXPORTED_TABLES))
    finally:
        db.use_schema(con, "main")
    return results


def select_steps(until: str | None = None) -> tuple[Step, ...]:
    """The steps up to and including ``until`` (all when None)."""
    if until is None:
        return STEPS
    if until not in STEP_NAMES:
        import difflib
        close = difflib.get_close_matches(until, STEP_NAMES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise CjmError(f"unknown step '{until}'{hint} (steps: {', '.join(STEP_NAMES)})")
    return STEPS[: STEP_NAMES.index(until) + 1]


def run(cfg: PipelineConfig, *, until: str | None = None, full_refresh: bool = False, export_outputs: bool = True,
        log: Callable[[str], None] = lambda m: None,
        on_step: Callable[[Step, int, int], None] | None = None) -> RunResult:
    """Ingest new files, rebuild every step, export the outputs and record the run."""
    steps = select_steps(until)
    result = RunResult(run_id=_new_run_id())
    started_at = _utcnow()
    t0 = time.perf_counter()
    con = db.connect(cfg.warehouse_path, memory_limit=cfg.memory_limit)
    try:
        db.execute(con, _RUNS_DDL)
        db.execute(con, "alter table _cjm_runs add column if not exists engine varchar")
        try:
            result.loads = ingest.ingest_all(con, cfg, result.run_id, full_refresh=full_refresh, log=log,
                                             warn=lambda m: (result.warnings.append(m), log("warning: " + m)))
            write_config_tables(con, cfg)
            params = params_for(cfg, run_id=result.run_id, run_started=started_at)
            engine = start_engine(con, cfg, log)
            result.steps = run_steps(engine, cfg, steps, params=params, on_step=on_step,
                                     on_done=lambda r: log(f"step {r.step}: {r.rows} rows in {r.seconds:.2f} s"
                                                           + (f" ({r.rounds} rounds)" if r.rounds else "")))
            if engine is not con:
                engine.save_to_duckdb(con, [s.name for s in steps])
                log(f"spark: {len(steps)} step tables copied into {cfg.warehouse_path}")
            if any(s.name == "identity_run_merges" for s in steps):
                for warning in keep_identity(con, cfg, result.run_id):
                    result.warnings.append(warning)
                    log("warning: " + warning)
            if "source_accounting" in db.existing_tables(con):
                result.accounting = db.read_table(con, "source_accounting", order_by=["source"])
                _check_accounting(result.accounting)
            if export_outputs and until is None:
                result.exports = [str(p) for p in export.export_all(con, cfg, kind="run", run_id=result.run_id)]
            if until is None:
                for named in cfg.funnels:
                    result.steps += build_named_funnel(con, cfg, named, run_id=result.run_id,
                                                       export_outputs=export_outputs)
                    log(f"funnel '{named.name}': built in schema {named_funnel_schema(named.name)}")
            result.status = "success"
        except BaseException as e:
            result.status = "failed"
            _record_run(con, cfg, result, started_at, "run", error=str(e) or type(e).__name__)
            raise
        result.seconds = time.perf_counter() - t0
        _record_run(con, cfg, result, started_at, "run")
    finally:
        con.close()
    return result


def start_engine(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, log: Callable[[str], None] = lambda m: None):
    """Where the steps run: the warehouse connection itself (``engine: duckdb``), or a
    :class:`~cjm_pipeline.spark.SparkEngine` holding copies of the source tables (``engine: spark``)."""
    if cfg.engine != "spark":
        return con
    from .spark import SparkEngine
    engine = SparkEngine(cfg.spark, cfg.spark_tables_path)
    log(f"spark: master {cfg.spark.master}, tables in {cfg.spark_tables_path}")
    engine.load_from_duckdb(con, [t for t in SOURCE_TABLES if db.table_exists(con, t)])
    return engine


def _check_accounting(acc: pd.DataFrame) -> None:
    bad = acc[acc["rows_in"] != acc["rows_loaded"] + acc["rows_duplicate"] + acc["rows_quarantined"]]
    if not bad.empty:
        raise StepError("source_accounting", "input rows not accounted for:\n" + bad.to_string(index=False))


def _record_run(con, cfg: PipelineConfig, result: RunResult, started_at: dt.datetime, kind: str,
                error: str | None = None) -> None:
    try:
        totals = result.totals
        db.execute(con, "insert into _cjm_runs values ($run_id, $kind, $started, $finished, $status, $error, $path, "
                        "$sha, $version, $duckdb_version, $files_loaded, $files_skipped, $rows_in, $rows_loaded, "
                        "$rows_duplicate, $rows_quarantined, $row_counts, $step_seconds, $engine)", {
            "run_id": result.run_id, "kind": kind, "started": started_at, "finished": _utcnow(),
            "status": result.status, "error": error, "path": cfg.config_path, "sha": cfg.config_sha256,
            "version": __version__, "duckdb_version": duckdb.__version__,
            "files_loaded": sum(1 for f in result.loads if f.status == "loaded"),
            "files_skipped": sum(1 for f in result.loads if f.status == "skipped"),
            **totals,
            "row_counts": json.dumps({r.step: r.rows for r in result.steps}),
            "step_seconds": json.dumps({r.step: round(r.seconds, 4) for r in result.steps}),
            "engine": cfg.engine,
        })
    except duckdb.Error:
        if error is None:
            raise


def _new_run_id() -> str:
    return _utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
