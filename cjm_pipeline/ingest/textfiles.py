"""Shared readers for format parsers: text files, delimited tables, HTML tables, Excel workbooks.

Format parsers never open files themselves; they use these helpers, so every format
gets the same encoding and delimiter sniffing (UTF-8 with or without BOM, UTF-16 with a
BOM, cp1251; ``,`` ``;`` tab ``|``), the same forced settings from the source config
(``encoding:``, ``delimiter:``), the same row numbering and the same error messages:
a missing column names the file, the columns it does have and the closest match.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import html.parser
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SourceConfig
from ..errors import InputDataError
from .generic import clean_header, sniff_delimiter, sniff_encoding
from . import spreadsheets, textstream
from .records import Reject

_SNIFF = 1 << 16


def read_bytes(path: Path) -> bytes:
    """The file's bytes (``.gz`` files decompressed)."""
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    return path.read_bytes()


def decode(path: Path, src: SourceConfig, data: bytes | None = None) -> str:
    """The file as text: the source's ``encoding:`` or a sniffed one; the BOM removed."""
    data = read_bytes(path) if data is None else data
    encoding = sniff_encoding(data[:_SNIFF]) if src.encoding == "auto" else src.encoding
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        hint = "; set `encoding:` in the source config (e.g. cp1251)" if src.encoding == "auto" else ""
        raise InputDataError(src.name, str(path), f"not valid {encoding} text ({e.reason} at byte {e.start}){hint}") from None
    return text.lstrip("\ufeff")


def closest(name: str, names: list[str]) -> str:
    """`` (closest match: 'x')`` or an empty string.

    >>> closest("ym:s:clientId", ["ym:s:clientID", "ym:s:visitID"])
    " (closest match: 'ym:s:clientID')"
    """
    lowered = {n.lower(): n for n in names}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (closest match: {lowered[match[0]]!r})" if match else ""


def require_columns(header: list[str], required: list[str], src: SourceConfig, path: Path, what: str = "") -> None:
    """Fail when a required column is missing, naming the file, its columns and the closest match."""
    have = set(header)
    missing = [c for c in required if c not in have]
    if missing:
        hints = "; ".join(f"{c!r}{closest(c, header)}" for c in missing)
        raise InputDataError(src.name, str(path), f"required column(s) missing{' for ' + what if what else ''}: {hints}; "
                                                  f"the file has: {header}")


def find_column(header: list[str], *aliases: str) -> str | None:
    """The first header equal (case-insensitively, spaces trimmed) to one of ``aliases``.

    >>> find_column(["ID", "Дата создания"], "дата создания", "created")
    'Дата создания'
    """
    lowered = {h.strip().lower(): h for h in header}
    for a in aliases:
        if a.lower() in lowered:
            return lowered[a.lower()]
    return None


@dataclass
class Table:
    """A delimited or HTML table: its header and its data rows with their 1-based numbers."""

    header: list[str]
    rows: Iterator[tuple[int, dict[str, str | None] | Reject]]


def read_delimited(path: Path, src: SourceConfig, *, default_delimiter: str | None = None,
                   tsv_escapes: bool = False) -> Table:
    """A CSV/TSV file as a :class:`Table`; rows with the wrong field count become :class:`Reject`.

    ``default_delimiter`` is used when the source's ``delimiter`` is ``auto`` and the format
    knows its delimiter (Metrica: tab). ``tsv_escapes``: ClickHouse-style TSV, no quoting,
    backslash escapes (``\\t``, ``\\n``, ``\\'``, ``\\\\``).
    Empty cells are None. Blank lines are skipped but counted in row numbers only if they
    hold a record, so numbers match what a spreadsheet shows minus the header.
    """
    if tsv_escapes:
        return _read_tsv(path, src, default_delimiter)
    text = decode(path, src)
    first_line = text.splitlines()[0] if text else ""  # \n, \r\n or an old Mac's \r
    delimiter = _header_delimiter(path, src, default_delimiter, first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = clean_header(next(reader))
    return Table(header, _csv_rows(reader, header, delimiter))


def _header_delimiter(path: Path, src: SourceConfig, default_delimiter: str | None, first_line: str) -> str:
    """The delimiter of a file whose header is ``first_line``: the source's own, else the format's
    default, else sniffed from the header; a blank header line is an error naming the file."""
    if not first_line.strip():
        raise InputDataError(src.name, str(path), "the file is empty or its first line is blank (no header row)")
    if src.delimiter != "auto":
        return src.delimiter.encode().decode("unicode_escape")
    return default_delimiter or sniff_delimiter(first_line)


def _read_tsv(path: Path, src: SourceConfig, default_delimiter: str | None) -> Table:
    """A ClickHouse-style TSV (Metrica Logs API parts) read line by line: memory does not grow
    with the file (:mod:`.textstream`)."""
    lines = textstream.lines(path, src)
    first_line = next(lines, "").rstrip("\r")
    delimiter = _header_delimiter(path, src, default_delimiter, first_line)
    header = clean_header([_unescape_tsv(h) for h in first_line.split(delimiter)])
    return Table(header, _tsv_rows(lines, header, delimiter))


def _csv_rows(reader, header: list[str], delimiter: str):
    n = 0
    for fields in reader:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        n += 1
        if len(fields) != len(header):
            yield n, Reject(n, f"expected {len(header)} fields, got {len(fields)}", delimiter.join(fields))
            continue
        yield n, {h: (v if v != "" else None) for h, v in zip(header, fields)}


_TSV_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"', "b": "\b", "f": "\f"}


def _unescape_tsv(value: str) -> str:
    r"""ClickHouse TSV escapes undone.

    >>> _unescape_tsv(r"it\'s\ta\\b")
    "it's\ta\\b"
    """
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(_TSV_ESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tsv_rows(lines: list[str], header: list[str], delimiter: str):
    n = 0
    for line in lines:
        line = line.rstrip("\r")
        if not line.strip():
            continue
        n += 1
        fields = line.split(delimiter)
        if len(fields) != len(header):
            yield n, Reject(n, f"expected {len(header)} tab-separated fields, got {len(fields)}", line)
            continue
        yield n, {h: (_unescape_tsv(v) if v != "" else None) for h, v in zip(header, fields)}


class _HtmlTable(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split(" ")).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def is_html(data: bytes) -> bool:
    """True for an HTML document (Bitrix24's "Excel" export is an HTML table in a .xls file)."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<html", b"<!doctype html", b"<table", b"<meta", b"<?xml")) or b"<table" in head


def read_html_table(path: Path, src: SourceConfig) -> Table:
    """The first HTML ``<table>`` of a file as a :class:`Table` (first row = header)."""
    data = read_bytes(path)
    text = decode(path, src, data)
    parser = _HtmlTable()
    parser.feed(text)
    rows = [r for r in parser.rows if any(c.strip() for c in r)]
    if not rows:
        raise InputDataError(src.name, str(path), "no table rows found in the HTML file")
    header = clean_header(rows[0])

    def gen():
        for n, cells in enumerate(rows[1:], start=1):
            if len(cells) != len(header):
                yield n, Reject(n, f"expected {len(header)} cells, got {len(cells)}", "\t".join(cells))
            else:
                yield n, {h: (v if v != "" else None) for h, v in zip(header, cells)}

    return Table(header, gen())


def head_bytes(path: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file (of its content, for ``.gz``), for sniffing."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read(n)


def read_table(path: Path, src: SourceConfig, **kw) -> Table:
    """A delimited file, an HTML table or an Excel workbook (``.xlsx``), whichever the file holds."""
    head = head_bytes(path)
    if spreadsheets.is_xlsx(head):
        return Table(*spreadsheets.read_xlsx(path, src))
    if spreadsheets.is_old_xls(head):
        raise InputDataError(src.name, str(path), "an Excel 97-2003 binary workbook (.xls) is not read; save it as "
                                                  ".xlsx or CSV (UTF-8) and point the source at that file")
    if is_html(head):
        return read_html_table(path, src)
    return read_delimited(path, src, **kw)


# --------------------------------------------------------------------------- JSON
# JSON files (documents, NDJSON, pages, single records, sync tools' envelopes) are read by
# :mod:`.jsondocs`; this is the one helper for walking a parsed record.


def dig(obj: Any, *keys: str | int, default: Any = None) -> Any:
    """``obj[k1][k2]...`` or ``default`` when any step is missing.

    >>> dig({"a": {"b": [1, 2]}}, "a", "b", 1), dig({"a": None}, "a", "b")
    (2, None)
    """
    for k in keys:
        try:
            obj = obj[k]
        except (KeyError, IndexError, TypeError):
            return default
        if obj is None:
            return default
    return obj
