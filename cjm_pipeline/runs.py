"""The warehouse's own bookkeeping: run records, identity kept between runs, and migrations.

* ``_cjm_runs``: one row per attempt at a run (when, config sha256, status, row counts, step
  timings, the input accounting), written from the run journal (:class:`~cjm_pipeline.publish.Journal`)
  by every run that publishes: :func:`run_record`, :func:`write_runs_table`, :func:`recover`.
* ``_cjm_identity_state`` (each identifier's customer_id, so ids are stable from run to run) and
  ``identity_merges`` (every merge, appended); :func:`keep_identity`.
* :func:`migrate`: what a warehouse written by an older version needs before this version runs
  on it (columns added since, raw rows re-read into the current raw layout). Each migration is
  idempotent and checks for itself whether it has anything to do.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from . import __version__, db, publish
from .config import PipelineConfig
from .errors import StepError
from .ingest import FileLoad
from .ingest.records import normalise_identifiers, protect_identifiers
from .pii import CLEAR, PiiPolicy
from .publish import Journal
from .steps import StepResult

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
    step_seconds varchar,
    engine varchar
)
"""

_IDENTITY_STATE_DDL = """
create table if not exists _cjm_identity_state (identifier varchar, customer_id varchar, first_run varchar,
                                                first_seen_at timestamp)
"""
_IDENTITY_MERGES_DDL = """
create table if not exists identity_merges (
    run_id varchar, merged_at timestamp, customer_id varchar, merged_ids varchar[], linking_identifier varchar
)
"""

#: Columns added to bookkeeping tables after their first release: (table, column, type).
_ADDED_COLUMNS = (
    ("_cjm_runs", "engine", "varchar"),
    ("_cjm_identity_state", "first_seen_at", "timestamp"),
)


@dataclass
class RunResult:
    """What a run did: files, row accounting, step timings and exported files."""

    run_id: str
    status: str = "running"
    loads: list[FileLoad] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    accounting: pd.DataFrame | None = None
    exports: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the run warns about (``cjm run`` prints them): stage rules and stages that matched no
    event (:mod:`cjm_pipeline.coverage`), flagged customers, files loaded with other settings, ..."""
    seconds: float = 0.0
    build: str = ""
    """``incremental: N customers recomputed`` or ``full: <why every step was rebuilt>``."""

    @property
    def totals(self) -> dict[str, int]:
        acc = self.accounting
        if acc is None or acc.empty:
            return {"rows_in": 0, "rows_loaded": 0, "rows_duplicate": 0, "rows_quarantined": 0}
        return {k: int(acc[k].sum()) for k in ("rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined")}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The bookkeeping tables, created if this warehouse is new and brought up to date if it is old."""
    for ddl in (_RUNS_DDL, _IDENTITY_STATE_DDL, _IDENTITY_MERGES_DDL):
        db.execute(con, ddl)
    for table, column, type_ in _ADDED_COLUMNS:
        db.execute(con, f"alter table {table} add column if not exists {column} {type_}")


def migrate(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, pii: PiiPolicy = CLEAR) -> list[str]:
    """Bring a warehouse written by an older version up to date; return what was done, in words."""
    done = []
    fixed = _phones_into_identifiers(con, cfg, pii)
    if fixed:
        done.append(f"{fixed} raw row(s) loaded by an older version: their phone cells were normalised "
                    "into the identifiers list, as a new load does")
    return done


def _phones_into_identifiers(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, pii: PiiPolicy) -> int:
    """Generic rows loaded before phones were normalised at ingest carry a phone cell but no phone in
    their ``identifiers``: normalise those cells now (phonenumbers, the source's ``phone_region``)."""
    if not db.table_exists(con, "raw_events"):
        return 0
    rows = db.query(con, """
        select distinct _source, phone
        from raw_events
        where phone is not null and trim(phone) <> ''
            and not list_contains(list_transform(coalesce(identifiers, []), lambda i: i.id_type), 'phone')
    """)
    if rows.empty:
        return 0
    regions = {s.name: s.phone_region for s in cfg.sources}
    fixes = pd.DataFrame({
        "_source": rows["_source"], "phone": rows["phone"],
        "ids": [protect_identifiers(normalise_identifiers([("phone", cell)], regions.get(source, "RU")), pii)
                for source, cell in zip(rows["_source"], rows["phone"])],
    })
    db.register(con, "_cjm_phone_fixes", fixes)
    try:
        before = db.scalar(con, "select count(*) from raw_events r join _cjm_phone_fixes f "
                                "on f._source = r._source and f.phone = r.phone "
                                "where not list_contains(list_transform(coalesce(r.identifiers, []), "
                                "lambda i: i.id_type), 'phone')")
        db.execute(con, """
            update raw_events as r
            set identifiers = coalesce(r.identifiers, []) || f.ids
            from _cjm_phone_fixes as f
            where f._source = r._source and f.phone = r.phone
                and not list_contains(list_transform(coalesce(r.identifiers, []), lambda i: i.id_type), 'phone')
        """)
    finally:
        db.unregister(con, "_cjm_phone_fixes")
    return int(before or 0)


def keep_identity(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str) -> list[str]:
    """After the identity steps: remember each identifier's customer_id for the next run, append
    this run's merges to ``identity_merges``; return warnings about flagged customers."""
    db.execute(con, "create or replace table _cjm_identity_state as "
                    "select identifier, customer_id, first_run, first_seen_at from identity_map")
    db.execute(con, "insert into identity_merges select $run_id, $now, customer_id, merged_ids, linking_identifier "
                    "from identity_run_merges", {"run_id": run_id, "now": utcnow()})
    warnings = []
    if "identity_flagged" in db.existing_tables(con):
        flagged = db.scalar(con, "select count(*) from identity_flagged")
        if flagged:
            warnings.append(f"{flagged} customer(s) hold more than {cfg.identity.flag_component_size} identifiers "
                            "(see the identity_flagged table): probably a shared phone or e-mail; "
                            "add it to identity.blocklist")
    return warnings


def check_accounting(acc: pd.DataFrame) -> None:
    """Every input row is loaded, a duplicate or quarantined, per source; a bug otherwise."""
    bad = acc[acc["rows_in"] != acc["rows_loaded"] + acc["rows_duplicate"] + acc["rows_quarantined"]]
    if not bad.empty:
        raise StepError("source_accounting", "input rows not accounted for:\n" + bad.to_string(index=False))


#: The columns of ``_cjm_runs``, in order.
RUN_COLUMNS = ("run_id", "kind", "started_at", "finished_at", "status", "error", "config_path", "config_sha256",
               "cjm_version", "duckdb_version", "files_loaded", "files_skipped", "rows_in", "rows_loaded",
               "rows_duplicate", "rows_quarantined", "row_counts", "step_seconds", "engine", "build")


def run_record(cfg: PipelineConfig, result: RunResult, started_at: dt.datetime, *, error: str | None = None,
               kind: str = "run") -> dict:
    """The ``_cjm_runs`` row of a run as it stands (``running`` until it ends)."""
    ended = result.status != "running"
    return {
        "run_id": result.run_id, "kind": kind, "started_at": started_at, "finished_at": utcnow() if ended else None,
        "status": result.status, "error": error, "config_path": cfg.config_path, "config_sha256": cfg.config_sha256,
        "cjm_version": __version__, "duckdb_version": duckdb.__version__,
        "files_loaded": sum(1 for f in result.loads if f.status == "loaded"),
        "files_skipped": sum(1 for f in result.loads if f.status == "skipped"),
        **result.totals,
        "row_counts": json.dumps({r.step: r.rows for r in result.steps if r.rows is not None}),
        "step_seconds": json.dumps({r.step: round(r.seconds, 4) for r in result.steps}),
        "engine": cfg.engine,
        "build": result.build or None,
    }


def write_runs_table(con: duckdb.DuckDBPyConnection, records: list[dict]) -> None:
    """``_cjm_runs`` as the journal says (every attempt so far), oldest first."""
    frame = pd.DataFrame([{c: r.get(c) for c in RUN_COLUMNS} for r in records], columns=list(RUN_COLUMNS))
    for c in ("started_at", "finished_at"):
        frame[c] = pd.to_datetime(frame[c], errors="coerce")
    for c in ("files_loaded", "files_skipped", "rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined"):
        frame[c] = pd.array(frame[c], dtype="Int64")
    for c in set(RUN_COLUMNS) - {"started_at", "finished_at", "files_loaded", "files_skipped", "rows_in",
                                 "rows_loaded", "rows_duplicate", "rows_quarantined"}:
        frame[c] = frame[c].astype("string")
    db.write_table(con, "_cjm_runs", frame.sort_values(["started_at", "run_id"], kind="stable"))


def recover(con: duckdb.DuckDBPyConnection, journal: "Journal", out_dir: Path) -> list[str]:
    """Before a run (holding the run lock, on its copy of the published warehouse): start a journal
    from an older warehouse's ``_cjm_runs``; record every unfinished attempt as ``killed``, or, if it
    was killed after its warehouse was published, finish publishing its files. Returns what it did."""
    if db.table_exists(con, "_cjm_runs"):
        old = db.query(con, "select * from _cjm_runs order by started_at, run_id").astype(object)
        journal.seed(old.where(old.notna(), None).to_dict("records"))
    published = set(db.query(con, "select run_id from _cjm_runs where status = 'success'")["run_id"]) \
        if db.table_exists(con, "_cjm_runs") else set()
    messages = []
    for record in journal.unfinished():
        run_id = record["run_id"]
        fields = {k: v for k, v in record.items() if not k.startswith("_") and k not in ("outputs",)}
        if run_id in published:
            folder = publish.run_folder(out_dir, run_id)
            if record.get("outputs") and folder.is_dir() and publish.published_run(out_dir) != run_id:
                publish.publish_outputs(out_dir, run_id)
                messages.append(f"run {run_id} was stopped after publishing its warehouse: its files are now "
                                "published too")
            journal.append("finished", {**fields, "status": "success"})
        else:
            journal.append("finished", {**fields, "status": "killed", "finished_at": utcnow(),
                                        "error": "the run stopped without finishing (killed, or the machine "
                                                 "went down); nothing of it was published"})
            shutil.rmtree(publish.run_folder(out_dir, run_id), ignore_errors=True)
            messages.append(f"run {run_id}, started {record.get('started_at')}, was killed before it finished; "
                            "recorded as killed (nothing of it had been published)")
    return messages


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
