"""Nightly runs that recompute only what the night touched.

A run is *incremental* when the warehouse was last built whole by this version of the pipeline
with this config (the build fingerprint in ``_cjm_build``), on DuckDB. Otherwise it rebuilds every
step and says why (:func:`plan`). Either way the tables it publishes are the same: an
incremental run is a faster way to the result of a full rebuild, never an approximation of it.

The steps that are per row say so in :data:`~cjm_pipeline.steps.STEPS` (``Step.scope``):

- ``loads``: ``stg_events`` stages only the rows of the files this run loaded (and of earlier
  files with a row refused as too far in the future: the bound moves with every run);
- ``events``: ``events``, ``event_identifiers``, ``event_nodes`` and ``customer_events`` are
  recomputed for the event ids those rows carry (every version of each, so a re-exported deal
  with a new amount replaces the old one as in a full run); ``customer_events`` also for every
  event of a customer whose identifiers now map elsewhere (a record that links two customers);
- ``identifiers``: ``identity_edges`` for the identity nodes of those events (before and after);
  the components and ``identity_map`` for every identifier of the earlier components their edges
  touch (an edge that links two components has an end in each); the graph's numbering
  (``identity_nodes``, ``identity_adjacency``, ``identity_components``) is an intermediate that no
  run publishes, numbered here for those components alone; ``identity_run_merges`` is this
  run's merges, all in those components;
- ``customers``: the per-customer tables (classified events, visits, transitions, touchpoints,
  funnel attempts, journeys, visit outcomes, attribution touches) are recomputed for the
  customers of those events, before and after (a merge empties one customer and grows another),
  and for the customers whose funnel or prediction window ends between the last run's data
  cutoff and this one's (their ``is_complete`` and ``(end)`` change with the cutoff alone).

A scoped step runs its own SQL file unchanged in the schema ``_scope``, where each per-row table
it reads is a view narrowed to the scope; its rows then replace the scope's rows in the table.
The scope is tables that SQL joins on (``sql/incremental/``). Every other step (identity
components, aggregates, outputs, predictions) is rebuilt whole from the per-row tables, which
is cheap. The schema ``_scope`` is dropped before the run publishes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Callable

import duckdb

from . import __version__, db
from .config import PipelineConfig
from .errors import StepError
from .steps import BY_NAME, STEPS, Step, StepResult

SCOPE = "_scope"
BUILD_TABLE = "_cjm_build"

#: Per scope kind: the per-row tables a scoped step reads narrowed, as
#: table -> (its column, the scope table, the scope table's column).
_NARROWED: dict[str, dict[str, tuple[str, str, str]]] = {
    "loads": {"raw_events": ("_load_id", "scope_loads", "_load_id")},
    "events": {t: ("event_id", "scope_events", "event_id")
               for t in ("stg_events", "events", "event_identifiers", "event_nodes")},
    "identifiers": {"event_nodes": ("node", "scope_nodes", "identifier"),
                    "event_identifiers": ("event_id", "scope_node_events", "event_id"),
                    "identity_edges": ("id_a", "scope_identifiers", "identifier"),
                    "identity_map": ("identifier", "scope_identifiers", "identifier")},
    "customers": {
        **{s.name: ("customer_id", "scope_customers", "customer_id")
           for s in STEPS if s.scope == "customers"},
        "customer_events": ("customer_id", "scope_customers", "customer_id"),
        "events": ("event_id", "scope_customer_events", "event_id"),
        "event_identifiers": ("event_id", "scope_customer_events", "event_id"),
    },
}

#: Per scope kind (or step): the column of a scoped step's table whose values the scope replaces, as
#: (column, scope table, its column); WHOLE: the scope's rows are the whole table (one run's merges).
WHOLE = ("", "", "")
_KEY = {"loads": ("_load_id", "scope_loads", "_load_id"), "events": ("event_id", "scope_events", "event_id"),
        "customers": ("customer_id", "scope_customers", "customer_id"),
        "identity_edges": ("id_a", "scope_nodes", "identifier"),
        "identity_map": ("identifier", "scope_identifiers", "identifier"), "identity_run_merges": WHOLE}

#: Formats whose new files change rows loaded earlier when hits are loaded (a Metrica visit gives its
#: hits their traffic, whichever file each came in).
_CROSS_FILE_FORMATS = ("metrica_visits", "metrica_hits")


@dataclass(frozen=True)
class Plan:
    incremental: bool
    reason: str
    """Why the run rebuilds every step (empty for an incremental run)."""


def code_fingerprint() -> str:
    """The pipeline's version and every SQL file and step: a build by other code is not continued."""
    h = hashlib.sha256(__version__.encode())
    for step in STEPS:
        h.update(f"{step.name}|{step.layer}|{step.inputs}|{step.scope}|{step.variants}".encode())
    root = db.sql_dir()
    for path in sorted(root.rglob("*.sql")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def plan(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str, steps: tuple[Step, ...], *,
         rebuild: bool = False, full_refresh: bool = False, migrated: bool = False) -> Plan:
    """Whether this run may recompute only what its new files touch, or why it rebuilds every step."""
    def full(reason: str) -> Plan:
        return Plan(False, reason)
    if rebuild:
        return full("asked for (--rebuild)")
    if full_refresh:
        return full("--full-refresh reads every file again")
    if len(steps) < len(STEPS):
        return full("--until builds only some steps")
    if cfg.engine != "duckdb":
        return full(f"the {cfg.engine} engine rebuilds every step (nightly increments are DuckDB's)")
    if migrated:
        return full("the warehouse was migrated to this version")
    if not db.table_exists(con, BUILD_TABLE):
        return full("no complete build to continue")
    last = db.query(con, f"select config_sha256, code_sha256 from {BUILD_TABLE}")
    if last.empty:
        return full("no complete build to continue")
    if last["config_sha256"].iloc[0] != cfg.config_sha256:
        return full("the config changed since the last build")
    if last["code_sha256"].iloc[0] != code_fingerprint():
        return full("the pipeline (its version or SQL) changed since the last build")
    crossing = db.scalar(con, "select count(*) from _cjm_loads as l join cfg_sources as s on s.source = l.source "
                              "where l.run_id = $run_id and s.format in $formats "
                              "and exists (select 1 from cfg_sources where format = 'metrica_hits')",
                         {"run_id": run_id, "formats": list(_CROSS_FILE_FORMATS)})
    if crossing:
        return full("new Metrica files can change the traffic of hits loaded earlier")
    references = db.scalar(con, "select count(*) from raw_reference where _load_id in "
                                "(select load_id from _cjm_loads where run_id = $run_id)", {"run_id": run_id})
    if references:
        return full("new CRM dictionaries can rename stages of events loaded earlier")
    return Plan(True, "")


def record_build(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str) -> None:
    """After every step was built: what a later run needs to continue from this build."""
    db.execute(con, f"create or replace table {BUILD_TABLE} as select $run_id as run_id, "
                    "$config as config_sha256, $code as code_sha256",
               {"run_id": run_id, "config": cfg.config_sha256, "code": code_fingerprint()})


def forget_build(con: duckdb.DuckDBPyConnection) -> None:
    """After a partial build: the next run rebuilds every step."""
    db.execute(con, f"drop table if exists {BUILD_TABLE}")


def run_steps(con: duckdb.DuckDBPyConnection, steps: tuple[Step, ...], params: dict[str, Any], *,
              on_step: Callable[[Step, int, int], None] | None = None,
              on_done: Callable[[StepResult], None] | None = None,
              log: Callable[[str], None] = lambda m: None) -> tuple[list[StepResult], int | None]:
    """Run ``steps`` in order, the scoped ones for the night's scope only; return the results and
    the number of customers recomputed (None when the run fell back to rebuilding the rest)."""
    db.execute(con, f"drop schema if exists {SCOPE} cascade")
    db.execute(con, f"create schema {SCOPE}")
    # a night's writes are small: one checkpoint at the end (the run makes it before publishing)
    # rather than one every 16 MB of WAL, each rewriting the big tables' changed row groups
    db.execute(con, "set checkpoint_threshold = '64GB'")
    scoped = True
    customers = None
    results = []
    try:
        for i, step in enumerate(steps, start=1):
            if on_step:
                on_step(step, i, len(steps))
            if scoped:
                _before(con, step, params)
            kind = step.scope if scoped else None
            if kind == "customers" and step.layer == "funnel" and params.get("unit") != "customer":
                kind = None  # a deal or a session is not narrowed by customer: the funnel's unit steps run whole
            result = _run_scoped(con, step, params, kind) if kind else step.run(con, params)
            if scoped:
                reason = _after(con, step, params)
                if reason:
                    log(f"rebuilding every step after {step.name}: {reason}")
                    scoped = False
                if step.name == "customer_events" and scoped:
                    customers = int(db.scalar(con, f"select count(*) from {SCOPE}.scope_customers"))
            results.append(result)
            if on_done:
                on_done(result)
    finally:
        db.use_schema(con, "main")
        db.execute(con, f"drop schema if exists {SCOPE} cascade")
        db.execute(con, "reset checkpoint_threshold")
    return results, customers if scoped else None


def _scope_sql(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any], *, into: str | None = None) -> None:
    """``_scope.<query>`` from ``sql/incremental/<query>.sql``; with ``into``, its rows are added to
    the scope table ``_scope.<into>`` instead (those it does not hold yet)."""
    sql = db.read_sql(f"incremental/{query}.sql")
    if into is None:
        _create_in_scope(con, query, sql, params)
        return
    _create_in_scope(con, f"{into}__add", sql, params)
    db.execute(con, f"insert into {SCOPE}.{into} select * from {SCOPE}.{into}__add "
                    f"except select * from {SCOPE}.{into}")
    db.execute(con, f"drop table {SCOPE}.{into}__add")


def _create_in_scope(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: dict[str, Any]) -> None:
    db.use_schema(con, SCOPE)
    try:
        db.create_table(con, table, sql, params)
    finally:
        db.use_schema(con, "main")


def _before(con: duckdb.DuckDBPyConnection, step: Step, params: dict[str, Any]) -> None:
    """Prepare the scope a step needs (from the tables as the last build left them)."""
    if step.name == "stg_events":
        _scope_sql(con, "scope_loads", params)
        _scope_sql(con, "scope_events", params)
    elif step.name == "identity_hubs":
        db.execute(con, f"create table {SCOPE}.old_identity_hubs as select identifier from main.identity_hubs")
    elif step.name == "event_nodes":
        _scope_sql(con, "scope_nodes", params)
    elif step.name == "identity_edges":
        _scope_sql(con, "scope_node_events", params)
        _scope_sql(con, "scope_identifiers", params)
    elif step.name == "identity_map":
        _scope_sql(con, "old_identity_map", params)
    elif step.name == "customer_events":
        _scope_sql(con, "scope_reassigned", params, into="scope_events")
        _scope_sql(con, "scope_customers", params)


def _after(con: duckdb.DuckDBPyConnection, step: Step, params: dict[str, Any]) -> str | None:
    """Widen the scope with what a step's new rows tell; a reason when the rest must be rebuilt."""
    if step.name == "stg_events":
        _scope_sql(con, "scope_events", params, into="scope_events")
    elif step.name == "identity_hubs":
        changed = db.scalar(con, f"select count(*) from ((select identifier from {SCOPE}.old_identity_hubs "
                                 "except select identifier from main.identity_hubs) union all "
                                 "(select identifier from main.identity_hubs except "
                                 f"select identifier from {SCOPE}.old_identity_hubs))")
        if changed:
            return f"{changed} identifier(s) became or stopped being hubs, which re-links earlier events"
    elif step.name == "event_nodes":
        _scope_sql(con, "scope_nodes", params, into="scope_nodes")
    elif step.name == "identity_edges":
        _scope_sql(con, "scope_identifiers", params, into="scope_identifiers")
        _scope_sql(con, "scope_components", params, into="scope_identifiers")
    elif step.name == "customer_events":
        _scope_sql(con, "scope_customers", params, into="scope_customers")
        _scope_sql(con, "scope_deadlines", params, into="scope_customers")
        _scope_sql(con, "scope_customer_events", params)
    return None


def _views_read(step: Step) -> list[Step]:
    """The view steps a step reads, directly or through other views, in pipeline order."""
    seen: set[str] = set()
    todo = list(step.inputs)
    while todo:
        name = todo.pop()
        s = BY_NAME.get(name)
        if s is not None and s.materialize == "view" and name not in seen:
            seen.add(name)
            todo.extend(s.inputs)
    return [s for s in STEPS if s.name in seen]


def _run_scoped(con: duckdb.DuckDBPyConnection, step: Step, params: dict[str, Any], kind: str) -> StepResult:
    """Build ``step`` for the scope only, in schema ``_scope``, and let its rows replace the scope's."""
    started = time.perf_counter()
    views = _views_read(step)
    read = set(step.inputs).union(*(v.inputs for v in views))
    narrowed = {t: spec for t, spec in _NARROWED[kind].items() if t in read}
    db.use_schema(con, SCOPE)
    try:
        for table, (column, scope_table, scope_column) in narrowed.items():
            db.narrowed_view(con, table, column, SCOPE, scope_table, scope_column)
        for view in views:
            db.run_view_sql(con, view.name, view.sql_path(params))
        step.run(con, params)
    finally:
        db.use_schema(con, "main")
    if not step.keep:  # an intermediate: later scoped steps read it in the scope, no run publishes it
        _drop_in_scope(con, [*narrowed, *(v.name for v in views)])
        return StepResult(step.name, None, time.perf_counter() - started)
    column, scope_table, scope_column = _KEY[step.name] if step.name in _KEY else _KEY[kind]
    if (column, scope_table, scope_column) == WHOLE:
        db.execute(con, f"create or replace table main.{step.name} as select * from {SCOPE}.{step.name}")
        _drop_in_scope(con, [step.name, *narrowed, *(v.name for v in views)])
        return StepResult(step.name, db.scalar(con, f"select count(*) from main.{step.name}"),
                          time.perf_counter() - started)
    outside = db.scalar(con, f"select count(*) from {SCOPE}.{step.name} where {column} not in "
                             f"(select {scope_column} from {SCOPE}.{scope_table})")
    if outside:
        raise StepError(step.name, f"{outside} rows outside the night's scope: a per-{kind[:-1]} step read a "
                                   "table that the scope does not narrow (add it to incremental._NARROWED)")
    db.replace_rows(con, step.name, column, SCOPE, scope_table, scope_column)
    _drop_in_scope(con, [step.name, *narrowed, *(v.name for v in views)])
    rows = db.scalar(con, f"select count(*) from main.{step.name}")
    return StepResult(step.name, rows, time.perf_counter() - started)


def _drop_in_scope(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    db.use_schema(con, SCOPE)
    try:
        for name in names:
            db.drop_relation(con, name)
    finally:
        db.use_schema(con, "main")


def drop_intermediates(con: duckdb.DuckDBPyConnection) -> None:
    """After every step was built: drop the intermediates no run publishes (``Step.keep``)."""
    for step in STEPS:
        if not step.keep:
            db.drop_relation(con, step.name)
