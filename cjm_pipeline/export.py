"""Exports: output tables to CSV files, each with a JSON sidecar saying how it was computed.

``cjm run`` writes ``funnel.csv``, ``transitions.csv``, ``journeys.csv``,
``stage_coverage.csv`` and ``quarantine.csv`` to ``output.dir``. Each ``X.csv`` gets an
``X.meta.json`` (funnel mode, window, anchor rule, data cutoff, run id, config hash) and
a row in the ``_cjm_outputs`` table. CSVs use ``output.csv_delimiter`` (``;`` suits a
Russian-locale Excel) and ``output.csv_encoding`` (``utf-8-sig`` adds the byte-order mark
Excel needs to show Cyrillic).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb

from . import __version__, db
from .config import PipelineConfig

#: Exported tables: (table, file stem, sort columns).
EXPORTS = (
    ("funnel", "funnel", ("step",)),
    ("transitions", "transitions", ("from_order", "to_order", "from_stage", "to_stage")),
    ("journeys", "journeys", ("customer_id",)),
    ("stage_coverage", "stage_coverage", ("stage_order", "stage")),
    ("quarantine", "quarantine", ("source", "file", "row_number")),
)

ANCHOR_RULE = "latest step-1 event that reaches the furthest step (re-anchoring, as PostHog and ClickHouse)"

_OUTPUTS_DDL = """
create table if not exists _cjm_outputs (
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
        "unit": "customer",
        "stages": cfg.stage_names,
        "data_cutoff_utc": cutoff.isoformat(sep=" ") if cutoff else None,
        "timezone": cfg.timezone,
        "timestamps": "UTC",
    }


def write_csv(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, table: str, path: Path,
              order_by: tuple[str, ...] = ()) -> Path:
    """One table to one CSV in the configured delimiter and encoding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    db.copy_to_csv(con, table, tmp, delimiter=cfg.output.csv_delimiter, order_by=order_by)
    if cfg.output.csv_encoding == "utf-8-sig":
        with open(path, "wb") as out, open(tmp, "rb") as src:
            out.write(b"\xef\xbb\xbf")
            shutil.copyfileobj(src, out)
        tmp.unlink()
    else:
        tmp.replace(path)
    return path


def export_all(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, *, kind: str, run_id: str,
               out_dir: Path | None = None, tables: tuple[str, ...] | None = None) -> list[Path]:
    """Write the exported tables and their sidecars; record them in ``_cjm_outputs``."""
    out_dir = out_dir or cfg.output_dir
    meta = metadata(con, cfg, run_id)
    db.execute(con, _OUTPUTS_DDL)
    written = []
    for table, stem, order in EXPORTS:
        if tables is not None and table not in tables:
            continue
        path = write_csv(con, cfg, table, out_dir / f"{stem}.csv", order)
        written.append(path)
        write_sidecar(path, {**meta, "table": table})
        record_output(con, run_id, kind, table, path, meta)
    return written


def write_sidecar(csv_path: Path, meta: dict) -> Path:
    side = csv_path.with_suffix(".meta.json")
    side.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return side


def record_output(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, table: str, path: Path, meta: dict) -> None:
    db.execute(con, _OUTPUTS_DDL)
    rows = db.scalar(con, f"select count(*) from {db.check_table_name(table)}")
    db.execute(con, "insert into _cjm_outputs values ($run, $kind, $table, $path, $rows, $meta, $at)", {
        "run": run_id, "kind": kind, "table": table, "path": str(path), "rows": rows,
        "meta": json.dumps(meta, ensure_ascii=False, default=str),
        "at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    })
