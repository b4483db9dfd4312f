"""What a cell of an exported file may hold: no phone or e-mail quoted from input rows, no formula.

* :func:`masked_source`: the exported tables that quote input values (the quarantine's raw text and
  reason, the funnel breakdown's values) with every phone and e-mail replaced by ``<phone>`` /
  ``<email>`` by the recogniser the ingest uses (:func:`cjm_pipeline.pii.mask_text`, in the
  source's ``phone_region``), unless ``output.pii: clear``.
* :func:`formula_safe_source`: spreadsheet formula injection ("CSV injection", OWASP): in a CSV,
  a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run
  by Excel or LibreOffice as a formula (``=cmd|' /C calc'!A0``, ``@SUM(1)``), so it is written with a
  leading ``'``, which spreadsheets show as text. Numbers are left intact: number columns are not
  touched, nor is a text cell that is a plain number (``-0.5``, ``+7``).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from . import db
from .config import PipelineConfig
from .pii import mask_text

#: Exported tables whose columns quote input values, masked unless ``output.pii: clear``.
MASKED_COLUMNS = {"quarantine": ("reason", "raw_text"), "funnel_breakdown": ("value",),
                  "journey_map": ("note",), "feedback_invalid": ("score_text",)}  # (the map's comments, scores as written)

#: A text cell a spreadsheet would read as a formula (first character), unless it is a plain number.
FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"[+-]?[0-9]+([.,][0-9]+)?([eE][+-]?[0-9]+)?"


def masked_source(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, table: str) -> str | None:
    """The name of a registered copy of ``table`` with its quoting columns masked, or None when the
    table quotes nothing (or ``output.pii: clear``). The caller unregisters it (:func:`release`)."""
    columns = MASKED_COLUMNS.get(table, ())
    if not columns or cfg.output.pii == "clear":
        return None
    data = db.arrow(con, f"select * from {db.check_table_name(table)}")
    regions = {s.name: s.phone_region for s in cfg.sources}
    default = cfg.sources[0].phone_region if cfg.sources else "RU"
    sources = data.column("source").to_pylist() if "source" in data.column_names else [None] * data.num_rows
    for name in columns:
        if name not in data.column_names:
            continue
        i = data.column_names.index(name)
        values = [mask_text(v, regions.get(s, default)) for v, s in zip(data.column(i).to_pylist(), sources)]
        data = data.set_column(i, name, pa.array(values, pa.string()))
    name = f"_cjm_masked_{table}"
    db.register(con, name, data)
    return name


def formula_safe_source(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """The name of a temporary view of ``source`` whose text cells cannot run as spreadsheet
    formulas, or None when ``source`` has no text column. The caller drops it (:func:`release`)."""
    described = db.execute(con, f"describe select * from {db.check_table_name(source)}")
    texts = [name for name, kind, *_ in described if kind == "VARCHAR"]
    if not texts:
        return None
    guarded = ", ".join(
        f"case when regexp_matches({db.quote_ident(n)}, '{FORMULA_START}') and not regexp_full_match("
        f"{db.quote_ident(n)}, '{PLAIN_NUMBER}') then '''' || {db.quote_ident(n)} else {db.quote_ident(n)} end"
        f" as {db.quote_ident(n)}" for n in texts)
    view = f"_cjm_safe_{source.lstrip('_')}"
    db.execute(con, f"create or replace temp view {db.check_table_name(view)} as "
                    f"select * replace ({guarded}) from {source}")
    return view


def release(con: duckdb.DuckDBPyConnection, masked: str | None, view: str | None) -> None:
    """Drop what :func:`masked_source` and :func:`formula_safe_source` made."""
    if view is not None:
        db.execute(con, f"drop view if exists {db.check_table_name(view)}")
    if masked is not None:
        db.unregister(con, masked)
