"""Exports: output tables to files, each with a JSON sidecar saying how it was computed.

``cjm run`` writes every table in :data:`EXPORTED_TABLES` to ``output.dir`` as ``<table>.<format>``
(``csv`` by default, ``parquet`` or ``json``). Each gets a ``<table>.meta.json`` (funnel mode,
window, anchor rule, data cutoff, run id, config hash) and a row in ``_cjm_outputs``. CSVs
use ``output.csv_delimiter`` and ``output.csv_encoding`` (``utf-8-sig`` adds the byte-order
mark Excel needs to show Cyrillic); ``output.excel: true`` is the dialect a Russian-locale
Excel opens as it is: ``;``, decimal comma, UTF-8 with BOM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from . import __version__, db
from .config import PipelineConfig
from .funnel import ANCHOR_RULE
from .steps import order_of

#: Exported tables, in the order they are written (each to ``<table>.<format>``, sorted by
#: :func:`cjm_pipeline.steps.order_of`).
EXPORTED_TABLES = ("funnel", "funnel_trends", "funnel_breakdown", "ttc_histogram", "transitions", "journeys",
                   "stage_coverage", "loops", "paths", "stage_dwell", "stage_stock", "barriers", "stage_kpis",
                   "quarantine")

_OUTPUTS_DDL = """
create table if not exists main._cjm_outputs (
    run_id varchar,
    kind varchar,
    table_name varchar,
    path varchar,
    rows bigint,
    metadata varchar,
    written_at timestamp
)
"""


def metadata(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str) -> dict:
    """How the outputs were computed: what an analyst needs to compare two numbers."""
    cutoff = db.scalar(con, "select max(event_ts) from events") if db.table_exists(con, "events") else None
    steps = db.read_table(con, "cfg_funnel_steps", order_by=("step",))  # the funnel these outputs were built with
    return {
        "run_id": run_id,
        "cjm_version": __version__,
        "config_path": cfg.config_path,
        "config_sha256": cfg.config_sha256,
        "funnel_mode": cfg.funnel.mode,
        "window": cfg.funnel.window,
        "window_seconds": cfg.funnel.window_seconds,
        "anchor_rule": ANCHOR_RULE,
        "event_order": "event_ts, stage_order, event_id",
        "unit": cfg.funnel.unit,
        "session_gap": cfg.funnel.session_gap if cfg.funnel.unit == "session" else None,
        "stages": cfg.stage_names,
        "funnel_stages": steps["stage"].tolist(),
        "step_windows_seconds": {stage: int(w) for stage, w in zip(steps["stage"], steps["window_s"]) if pd.notna(w)},
        "funnel": {k: (str(v) if k.startswith("entry_") and v is not None else v)
                   for k, v in dataclasses.asdict(cfg.funnel).items()},
        "entry_from": str(cfg.funnel.entry_bounds()[0]) if cfg.funnel.entry_from else None,
        "entry_to_exclusive": str(cfg.funnel.entry_bounds()[1]) if cfg.funnel.entry_to else None,
        "data_cutoff_utc": cutoff.isoformat(sep=" ") if cutoff else None,
        "timezone": cfg.timezone,
        "timestamps": "UTC",
    }


#: Exported tables that quote raw input, with the query that masks phones and e-mails in them
#: (used unless ``output.pii: clear``).
MASKED_EXPORTS = {"quarantine": "queries/quarantine_masked.sql"}


def write_output(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, table: str, path: Path) -> Path:
    """One table to one file in the configured format (and, for CSV, delimiter, encoding, decimal mark),
    sorted as :func:`cjm_pipeline.steps.order_of` says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = cfg.output.format
    delimiter, encoding, decimal_comma = cfg.output.csv_dialect
    tmp = path.with_suffix(path.suffix + ".tmp")
    source = table
    if table in MASKED_EXPORTS and cfg.output.pii != "clear":
        source = f"_cjm_masked_{table}"
        db.execute(con, f"create or replace temp view {source} as " + db.read_sql(MASKED_EXPORTS[table]))
    try:
        db.copy_table(con, source, tmp, fmt=fmt, delimiter=delimiter, decimal_comma=decimal_comma,
                      order_by=order_of(table))
    finally:
        if source != table:
            db.execute(con, f"drop view if exists {source}")
    if fmt == "csv" and encoding == "utf-8-sig":  # the BOM goes first: into a second temporary file
        with_bom = path.with_suffix(path.suffix + ".bom.tmp")
        with open(with_bom, "wb") as out, open(tmp, "rb") as src:
            out.write(b"\xef\xbb\xbf")
            shutil.copyfileobj(src, out)
        tmp.unlink()
        tmp = with_bom
    tmp.replace(path)  # a file is replaced whole, never written in place
    return path


def export_all(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, *, kind: str, run_id: str,
               out_dir: Path | None = None, tables: tuple[str, ...] | None = None) -> list[Path]:
    """Write the exported tables and their sidecars; record them in ``_cjm_outputs``."""
    out_dir = out_dir or cfg.output_dir
    meta = metadata(con, cfg, run_id)
    db.execute(con, _OUTPUTS_DDL)
    written = []
    for table in EXPORTED_TABLES:
        if tables is not None and table not in tables:
            continue
        path = write_output(con, cfg, table, out_dir / f"{table}.{cfg.output.format}")
        written.append(path)
        write_sidecar(path, {**meta, "table": table})
        record_output(con, run_id, kind, table, path, meta)
    return written


def write_sidecar(csv_path: Path, meta: dict) -> Path:
    side = csv_path.with_suffix(".meta.json")
    tmp = side.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(side)
    return side


def record_output(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, table: str, path: Path, meta: dict) -> None:
    db.execute(con, _OUTPUTS_DDL)
    rows = db.scalar(con, f"select count(*) from {db.check_table_name(table)}")
    db.execute(con, "insert into main._cjm_outputs values ($run, $kind, $table, $path, $rows, $meta, $at)", {
        "run": run_id, "kind": kind, "table": table, "path": str(path), "rows": rows,
        "meta": json.dumps(meta, ensure_ascii=False, default=str),
        "at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    })
