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
from .export_cells import MASKED_COLUMNS, formula_safe_source, masked_source, release
from .funnel import ANCHOR_RULE
from .steps import order_of

#: Exported tables, in the order they are written (each to ``<table>.<format>``, sorted by
#: :func:`cjm_pipeline.steps.order_of`).
EXPORTED_TABLES = ("funnel", "funnel_trends", "funnel_breakdown", "ttc_histogram", "transitions", "journeys",
                   "stage_coverage", "loops", "paths", "stage_dwell", "stage_stock", "step_flows", "barriers",
                   "stage_kpis",
                   "quarantine", "journey_map", "stage_touchpoints", "stage_feedback", "stage_pains", "feedback_invalid",
                   "stage_next", "stage_outlook", "journey_predictions", "prediction_quality", "prediction_calibration",
                   "attribution", "stage_entry_channels")

#: Exported columns holding rates or shares (fractions): rounded to :data:`RATE_DIGITS` significant
#: digits unless ``output.precision: full``; a column may round only where its condition holds.
RATE_COLUMNS: dict[str, dict[str, str | None]] = {
    "funnel": dict.fromkeys(("conversion_from_previous", "conversion_from_start", "drop_off_rate")),
    "funnel_breakdown": dict.fromkeys(("conversion_from_previous", "conversion_from_start", "drop_off_rate")),
    "funnel_trends": dict.fromkeys(("conversion_from_previous", "conversion_from_start")),
    "ttc_histogram": {"share": None},
    "stage_coverage": {"share_of_events": None},
    "loops": dict.fromkeys(("share_of_visitors", "resolved_share", "looper_conversion", "non_looper_conversion",
                            "conversion_lift")),
    "paths": dict.fromkeys(("share", "conversion", "cumulative_share")),
    "barriers": {"rate": None},
    "stage_kpis": dict.fromkeys(("target", "actual", "gap"), "unit = 'ratio'"),
    "stage_touchpoints": dict.fromkeys(("share", "forward_rate", "stage_forward_rate", "lift")),
    "stage_feedback": dict.fromkeys(("score_norm", "negative_share")),
    "stage_pains": dict.fromkeys(("share", "forward_rate_hit", "forward_rate_not_hit", "lift")),
    "journey_map": {"share": None},
    "stage_next": {"probability": None},
    "stage_outlook": dict.fromkeys(("p_goal", "likely_next_probability", "p_goal_observed", "mean_p_goal_window")),
    "journey_predictions": dict.fromkeys(("likely_next_probability", "p_goal_window", "p_goal_eventually")),
    "prediction_quality": dict.fromkeys(("observed_rate", "mean_predicted", "brier", "auc", "brier_skill")),
    "prediction_calibration": dict.fromkeys(("mean_predicted", "observed_rate", "min_predicted", "max_predicted")),
    "attribution": {"share": None},
    "stage_entry_channels": {"share": None},
}
RATE_DIGITS = 4

#: Tables whose ``customers`` column counts the funnel's unit: exported as ``deals`` / ``sessions``
#: when ``funnel.unit`` is deal / session (the warehouse keeps ``customers``; the sidecar says ``unit``).
UNIT_COUNTED = ("funnel", "funnel_breakdown", "funnel_trends", "ttc_histogram")

#: The one meaning of "converted" (docs/semantics.md, "Converted"), quoted in every sidecar.
CONVERTED = ("reached the funnel's goal step (its last step, '{goal}') under its mode, window, sub-range, entry "
             "range and unit: funnel, journeys.converted, loops and paths all use this definition")
#: What makes an entry complete, quoted in every sidecar.
COMPLETE = "an entry is complete when its whole window ended before the data's last event (data_cutoff_utc)"


def unit_plural(unit: str) -> str:
    """The column name of a count of ``unit``: ``customers``, ``deals``, ``sessions``."""
    return {"deal": "deals", "session": "sessions"}.get(unit, "customers")


def column_names(cfg: PipelineConfig, table: str) -> dict[str, str]:
    """Columns that an exported file (and ``cjm funnel``'s print) names otherwise than the warehouse:
    counts named after the funnel's unit (``customers`` → ``deals``; ``barriers`` → ``units``, its
    ``unit`` column saying what each row counts)."""
    if cfg.funnel.unit == "customer":
        return {}
    if table in UNIT_COUNTED:
        return {"customers": unit_plural(cfg.funnel.unit)}
    if table == "barriers":
        return {"customers": "units"}
    return {}


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
    goal = steps["stage"].iloc[-1] if len(steps) else None
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
        "counts": f"funnel counts ({', '.join(UNIT_COUNTED)}, and the funnel rows of barriers) count "
                  f"{unit_plural(cfg.funnel.unit)}; other counts are customers",
        "session_gap": cfg.funnel.session_gap if cfg.funnel.unit == "session" else None,
        "goal_stage": goal,
        "converted": CONVERTED.format(goal=goal),
        "complete": COMPLETE,
        "precision": (f"rates and shares rounded to {RATE_DIGITS} significant digits" if cfg.output.precision != "full"
                      else "full"),
        "back_step_min_gap": cfg.journey.back_step_min_gap,
        "stock_inactivity": cfg.journey.stock_inactivity or cfg.funnel.window,
        "predict_window": cfg.predict.window or cfg.funnel.window,
        "attribution_half_life": cfg.attribution.half_life,
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


#: Exported tables that quote input values, with the columns whose phones and e-mails are masked
#: (unless ``output.pii: clear``); :mod:`cjm_pipeline.export_cells`.
MASKED_EXPORTS = MASKED_COLUMNS


def write_output(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, table: str, path: Path) -> Path:
    """One table to one file in the configured format (and, for CSV, delimiter, encoding, decimal mark),
    sorted as :func:`cjm_pipeline.steps.order_of` says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = cfg.output.format
    delimiter, encoding, decimal_comma = cfg.output.csv_dialect
    tmp = path.with_suffix(path.suffix + ".tmp")
    masked = masked_source(con, cfg, table)  # phones and e-mails quoted from input rows masked
    safe = formula_safe_source(con, masked or table) if fmt == "csv" else None  # no cell runs as a formula
    source = safe or masked or table
    try:
        db.copy_table(con, source, tmp, fmt=fmt, delimiter=delimiter, decimal_comma=decimal_comma,
                      order_by=order_of(table), rename=column_names(cfg, table),
                      rounded=RATE_COLUMNS.get(table) if cfg.output.precision != "full" else None, digits=RATE_DIGITS)
    finally:
        release(con, masked, safe)
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
