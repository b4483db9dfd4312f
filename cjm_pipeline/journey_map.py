"""The journey map as a file: reading ``journey_map`` (comments masked), the run's warnings about
feedback, and writing the map as CSV, Excel or HTML.

The map itself is built by SQL steps (``sql/map/``: ``visit_touchpoints``, ``map_events``,
``feedback_invalid``, ``stage_feedback``; ``sql/outputs/``: ``stage_touchpoints``, ``stage_pains``,
``journey_map``); what each number means is in ``docs/semantics.md``, "Journey map". Comments are
quoted from input rows, so every reader masks phones and e-mails in them with
:func:`cjm_pipeline.pii.mask_text` (the recogniser the exports use) unless ``output.pii: clear``;
the warehouse keeps them as loaded, as it keeps the quarantine's raw text.

``cjm map -c CONFIG --out map.html|map.csv|map.xlsx`` and
:meth:`cjm_pipeline.warehouse.Warehouse.journey_map` go through :func:`read_map`.

>>> SECTIONS
('touchpoints', 'feelings', 'pains', 'kpis', 'next')
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from . import db
from .errors import CjmError, WarehouseError
from .pii import mask_text
from .steps import order_of

#: The map's sections, in the order of their rows.
SECTIONS = ("touchpoints", "feelings", "pains", "kpis", "next")

#: The tables of the map, as exported.
MAP_TABLES = ("stage_touchpoints", "stage_feedback", "feedback_invalid", "stage_pains", "journey_map")

#: Columns of exported map tables that quote input rows (masked unless ``output.pii: clear``).
QUOTED_COLUMNS = {"journey_map": "note", "feedback_invalid": "score_text"}

#: File endings ``cjm map --out`` writes.
MAP_FORMATS = (".html", ".csv", ".xlsx")


def masked(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` (a map table) with phones and e-mails in its quoted column replaced by ``<phone>`` /
    ``<email>``: the comments of ``journey_map``, the scores as written of ``feedback_invalid``.

    >>> masked(pd.DataFrame({"item": ["comment", "NPS"], "note": ["call 8 916 123-45-67", "8 916 123-45-67"]}),
    ...        "journey_map")["note"].tolist()
    ['call <phone>', '8 916 123-45-67']
    """
    column = QUOTED_COLUMNS.get(table)
    if column is None or column not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    rows = out["item"].eq("comment") if table == "journey_map" else pd.Series(True, index=out.index)
    out.loc[rows, column] = out.loc[rows, column].map(lambda v: v if v is None or pd.isna(v) else mask_text(str(v)))
    return out


def read_map(con: duckdb.DuckDBPyConnection, *, mask: bool = True, table: str = "journey_map") -> pd.DataFrame:
    """A map table as every reader sorts it; comments masked unless ``mask=False``."""
    if not db.table_exists(con, table):
        raise WarehouseError(f"the warehouse has no table {table}; run `cjm run -c CONFIG` (this version builds the "
                             "journey map) first")
    frame = db.read_table(con, table, order_by=order_of(table))
    return masked(frame, table) if mask else frame


def run_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a run should say about the map: feedback answers whose score could not be used.

    Never a failure: the answers are kept in ``feedback_invalid`` with their reason and count in
    ``stage_feedback.invalid``, so nothing is dropped silently.
    """
    if not db.table_exists(con, "feedback_invalid"):
        return []
    rows = db.execute(con, "select feedback, reason, count(*) as n, min(event_id) as example from feedback_invalid "
                           "group by feedback, reason order by n desc, feedback, reason")
    if not rows:
        return []
    total = sum(r[2] for r in rows)
    shown = "; ".join(f"{feedback}: {n} × {reason.split(':', 1)[1].strip() if ':' in reason else reason} "
                      f"(e.g. {example})" for feedback, reason, n, example in rows[:3])
    more = f"; and {len(rows) - 3} more kinds" if len(rows) > 3 else ""
    return [f"{total} feedback answer(s) have no usable score and count in no score ({shown}{more}); "
            "see the feedback_invalid table"]


def map_text(frame: pd.DataFrame, top: int = 3) -> list[str]:
    """The map as lines for a terminal: per stage, its description and the top items of each section.

    >>> print("\\n".join(map_text(pd.DataFrame([{"stage_order": 1, "stage": "a", "description": "visits",
    ...     "section_order": 1, "section": "touchpoints", "rank": 1, "item": "visit · web · paid", "customers": 3,
    ...     "share": 0.75, "value": 0.1, "note": ""}]))))
    1. a: visits
       touchpoints: visit · web · paid (3 customers, 75%, value 0.1)
    """
    lines = []
    for (order, stage), rows in frame.groupby(["stage_order", "stage"], sort=True):
        description = rows["description"].iloc[0]
        lines.append(f"{order}. {stage}" + ("" if pd.isna(description) else f": {description}"))
        for section in SECTIONS:
            items = rows[rows["section"] == section].sort_values("rank").head(top)
            shown = []
            for r in items.itertuples():
                parts = [f"{int(r.customers):,} customers" if pd.notna(r.customers) else "",
                         f"{100 * r.share:.0f}%" if pd.notna(r.share) else "",
                         f"value {r.value:.3g}" if pd.notna(r.value) else ""]
                text = r.note if r.item == "comment" else r.item
                shown.append(f"{text} ({', '.join(p for p in parts if p)})" if any(parts) else str(text))
            if shown:
                lines.append(f"   {section}: " + "; ".join(shown))
    return lines


def write_map(frame: pd.DataFrame, path: str | Path, *, lang: str = "en", title: str = "") -> Path:
    """The map to ``path``: ``.csv`` (the table as it is, UTF-8 with a BOM for Excel), ``.xlsx`` (the
    grid: stages as columns, sections as rows) or ``.html`` (the report's map page on its own)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MAP_FORMATS:
        raise CjmError(f"--out: {path.name}: write the map as {', '.join('map' + s for s in MAP_FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".csv":
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        from .report.map_page import map_workbook  # openpyxl only when a workbook is asked for
        map_workbook(frame, lang).save(tmp)
    else:
        from .report.map_page import map_document
        tmp.write_text(map_document(frame, lang, title=title), encoding="utf-8")
    tmp.replace(path)
    return path
