"""Excel workbooks (``.xlsx``) as tables: the first sheet, read row by row with openpyxl.

Users download journals as Excel rather than CSV (Calltouch's calls journal "Экспорт в Excel",
amoCRM's and Bitrix24's newer exports). :func:`read_xlsx` gives the first worksheet as the
header and rows a CSV gives (``textfiles.read_table`` makes them a table), so every table format
reads it: the header is the row with the most filled cells among the first 20 (a title row or a
"Период: ..." line above it is skipped); values become the text a CSV export would hold: a date-time cell
``YYYY-MM-DD HH:MM:SS`` (naive, in the account's zone like the CSV's), a date ``YYYY-MM-DD``, a
time ``HH:MM:SS`` (a duration), a whole number without ``.0`` (a phone number stored as a number
keeps its digits). The sheet is read in read-only mode, one row at a time.

An old binary ``.xls`` (BIFF) is not read: the error says to save it as ``.xlsx`` or CSV.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import SourceConfig
from ..errors import InputDataError
from .generic import clean_header
from .records import Reject

_HEADER_SCAN = 20


def is_xlsx(head: bytes) -> bool:
    """True for an Office Open XML workbook (a zip archive)."""
    return head[:4] == b"PK\x03\x04"


def is_old_xls(head: bytes) -> bool:
    """True for a binary Excel 97-2003 file (an OLE2 compound document)."""
    return head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def cell_text(value: Any) -> str | None:
    """A cell's value as the text a CSV export would hold.

    >>> cell_text(dt.datetime(2024, 3, 5, 14, 21, 7)), cell_text(dt.date(2024, 3, 5)), cell_text(dt.time(0, 1, 35))
    ('2024-03-05 14:21:07', '2024-03-05', '00:01:35')
    >>> cell_text(79161234567), cell_text(79161234567.0), cell_text(12.5), cell_text(True), cell_text("  "), cell_text(None)
    ('79161234567', '79161234567', '12.5', '1', None, None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        return str(int(value.total_seconds()))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def read_xlsx(path: Path, src: SourceConfig) -> tuple[list[str], Iterator[tuple[int, dict[str, str | None] | Reject]]]:
    """The first worksheet of an ``.xlsx`` workbook: its header and its numbered data rows (a row
    with more cells than the header is a :class:`Reject`); ``textfiles.read_table`` makes the table."""
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a dependency of the package
        raise InputDataError(src.name, str(path), "reading .xlsx needs openpyxl: pip install openpyxl") from None
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # a broken zip, not a workbook: openpyxl raises many kinds
        raise InputDataError(src.name, str(path), f"cannot read the Excel workbook: {e}") from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    head: list[list[str | None]] = []
    for values in rows:
        head.append([cell_text(v) for v in values])
        if len(head) >= _HEADER_SCAN:
            break
    filled = [sum(1 for v in r if v is not None) for r in head]
    if not filled or max(filled) == 0:
        workbook.close()
        raise InputDataError(src.name, str(path), "the workbook's first sheet is empty (no header row)")
    at = filled.index(max(filled))
    header_cells = head[at]
    while header_cells and header_cells[-1] is None:
        header_cells = header_cells[:-1]
    header = clean_header([h or "" for h in header_cells])

    def data() -> Iterator[tuple[int, dict[str, str | None] | Reject]]:
        n = 0
        try:
            for cells in (*head[at + 1:], *([cell_text(v) for v in values] for values in rows)):
                if all(c is None for c in cells):
                    continue
                n += 1
                extra = [c for c in cells[len(header):] if c is not None]
                if extra:
                    yield n, Reject(n, f"expected {len(header)} cells, got {len(header) + len(extra)}",
                                    "\t".join(c or "" for c in cells))
                    continue
                cells = list(cells) + [None] * (len(header) - len(cells))
                yield n, dict(zip(header, cells))
        finally:
            workbook.close()

    return header, data()
