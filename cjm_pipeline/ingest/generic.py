"""The ``generic_events`` format: one event per row, in CSV or Parquet.

Columns (after the source's ``columns:`` renaming; unified names match case-insensitively):

* ``event_time``: ISO 8601 with or without offset (also ``Z``, ``UTC`` or a zone name such
  as ``Europe/Moscow`` after the time), ``YYYY/MM/DD``, ``DD.MM.YYYY[ HH:MM[:SS]]``, or epoch
  seconds / milliseconds / microseconds. Naive times are in the source's time zone; a zone
  the parser does not know (``MSK``) sends the row to quarantine rather than being dropped.
* ``event_type``;
* at least one identifier column: ``customer_id``, ``anonymous_id``, ``user_id``,
  ``client_id``, ``email``, ``phone``, ``crm_contact_id``;
* optional ``event_id``, ``channel``, ``utm_source``, ``utm_medium``, ``utm_campaign``,
  ``url``, ``revenue``;
* every other column is kept, as text, in the ``properties`` map (keys sorted, so a
  re-export with the columns in another order gives the same map and the same event_id);
  an unnamed column (a trailing delimiter) is called ``column<N>``.

CSV files are read as text only (no type guessing: 19-digit ids stay exact), in
streaming batches. The encoding is sniffed (UTF-8 with or without BOM, UTF-16 with a BOM,
else cp1251) and so is the delimiter (``,`` ``;`` tab ``|``), unless the source config sets
them. Rows with the wrong number of fields are kept in ``raw_rejects`` with their text.
Parquet files are read in batches too; their typed columns become text in DuckDB.
``_row`` is the 1-based data row number (the header is not counted; a quoted line break
does not start a new row, blank lines are skipped).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import csv
import gzip
import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import db
from ..config import PipelineConfig, SourceConfig
from ..schema import CANONICAL_COLUMNS, IDENTIFIER_COLUMNS, REQUIRED_COLUMNS
from ..errors import InputDataError
from ..pii import CLEAR, PiiPolicy
from .records import IDENTIFIERS_ARROW_TYPE, normalise_identifiers, protect_identifiers

#: ``identifiers``: (type, cleaned value, raw value) of each identifier a format parser found.
IDENTIFIERS_TYPE = "struct(id_type varchar, id_value varchar, raw varchar)[]"

#: Columns added after the first release: (name, type), added to older warehouses on load.
RAW_EVENTS_ADDED = (("_part", "integer"), ("updated_at", "varchar"), ("identifiers", IDENTIFIERS_TYPE))

RAW_EVENTS_DDL = "create table if not exists raw_events (\n    _load_id bigint,\n    _source varchar,\n    _file varchar,\n    _row bigint,\n" + "".join(
    f"    {c} varchar,\n" for c in CANONICAL_COLUMNS) + "    properties map(varchar, varchar)" + "".join(
    f",\n    {c} {t}" for c, t in RAW_EVENTS_ADDED) + "\n)"

RAW_REJECTS_DDL = """
create table if not exists raw_rejects (
    _load_id bigint,
    _source varchar,
    _file varchar,
    _row bigint,
    reason varchar,
    raw_text varchar
)
"""

_DELIMITERS = [",", ";", "\t", "|"]
_SNIFF_BYTES = 1 << 16
_BLOCK = 16 << 20
_PARQUET_BATCH = 1 << 17


# --------------------------------------------------------------------------- sniffing


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def sniff_encoding(sample: bytes) -> str:
    """``utf-8`` (BOM or not) when the sample decodes as UTF-8, else ``cp1251``.

    >>> sniff_encoding("Москва".encode("utf-8")), sniff_encoding("Москва".encode("cp1251"))
    ('utf-8', 'cp1251')
    """
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header into the most fields.

    >>> sniff_delimiter('a;b;"c,d"'), sniff_delimiter("a,b"), sniff_delimiter("a\\tb")
    (';', ',', '\\t')
    """
    best, best_n = ",", 1
    for d in _DELIMITERS:
        n = len(next(csv.reader([header_line], delimiter=d)))
        if n > best_n:
            best, best_n = d, n
    return best


def _csv_header(path: Path, src: SourceConfig) -> tuple[list[str], str, str]:
    with _open_bytes(path) as f:
        sample = f.read(_SNIFF_BYTES)
    if not sample.strip():
        raise InputDataError(src.name, str(path), "the file is empty (no header row)")
    encoding = sniff_encoding(sample) if src.encoding == "auto" else src.encoding
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError as e:
        raise InputDataError(src.name, str(path), f"not valid {encoding} text ({e.reason} at byte {e.start}); "
                                                  "set `encoding:` in the source config") from None
    text = text.lstrip("\ufeff")
    first_line = text.splitlines()[0] if text else ""
    delimiter = sniff_delimiter(first_line) if src.delimiter == "auto" else src.delimiter.encode().decode("unicode_escape")
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    return clean_header(header), encoding, delimiter


def clean_header(names: list[str]) -> list[str]:
    """Column names stripped; an unnamed column (a trailing delimiter) becomes ``column<N>``.

    >>> clean_header([" Дата ", "event_type", ""])
    ['Дата', 'event_type', 'column3']
    """
    return [str(h).strip() or f"column{i}" for i, h in enumerate(names, start=1)]


# --------------------------------------------------------------------------- column mapping


def map_columns(header: list[str], src: SourceConfig, file: str) -> dict[str, str]:
    """``{unified name: file column}`` after the ``columns:`` renaming; checks required columns."""
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputDataError(src.name, file, f"duplicate column headers {dupes}")
    unknown = [h for h in src.columns if h not in header]
    if unknown:
        raise InputDataError(src.name, file, f"columns {unknown} named in `columns:` are not in the file; "
                                             f"available columns: {header}")
    mapping: dict[str, str] = {target: file_col for file_col, target in src.columns.items()}
    for name in CANONICAL_COLUMNS:
        candidates = [h for h in header if h.lower() == name and h not in src.columns]
        if name not in mapping and candidates:
            mapping[name] = name if name in candidates else candidates[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping]
    if missing:
        raise InputDataError(src.name, file, f"required columns {missing} not found; available columns: {header}; "
                                             "map the file's own names with `columns: {<file column>: <unified name>}`")
    if not any(c in mapping for c in IDENTIFIER_COLUMNS):
        raise InputDataError(src.name, file, f"no identifier column: need at least one of {list(IDENTIFIER_COLUMNS)}; "
                                             f"available columns: {header}")
    return mapping


def _select_sql(mapping: dict[str, str], header: list[str]) -> tuple[str, list[str]]:
    """The insert that turns a batch into ``raw_events`` rows, and the property keys it binds.

    The batch (``_cjm_batch``) names the file's columns by position (``c0``, ``c1``, ...) and
    adds ``_row``, so no header (``_row``, ``City`` beside ``city``, quotes) can clash in SQL.
    Properties are sorted by key, so a re-export with another column order gives the same map.
    """
    position = {h: i for i, h in enumerate(header)}
    used = set(mapping.values())
    props = sorted(h for h in header if h not in used)
    cols = [f"cast(c{position[mapping[c]]} as varchar) as {c}" if c in mapping else f"null as {c}"
            for c in CANONICAL_COLUMNS]
    values = ", ".join(f"cast(c{position[h]} as varchar)" for h in props)
    return (
        "insert into raw_events by name\nselect $load_id as _load_id, $source as _source, $file as _file, _row,\n    "
        + ",\n    ".join(cols)
        + f",\n    map($prop_keys, [{values}]::varchar[]) as properties,\n    _ids as identifiers\nfrom _cjm_batch"
    ), props


class IdentifierCells:
    """Turns a batch's ``phone`` (and, in hash mode, ``email``) cells into the ``identifiers`` list,
    normalised as the format parsers do (records.normalise_identifiers: phonenumbers E.164 in the
    source's ``phone_region``, several numbers in one cell, extensions). In clear mode the cells
    stay as they are (they are part of the row's content hash, its event_id); in hash mode they
    are emptied and only the hashed identifiers are kept. Each distinct cell is parsed once."""

    def __init__(self, mapping: dict[str, str], header: list[str], region: str, pii: PiiPolicy):
        position = {h: i for i, h in enumerate(header)}
        self.types = {position[mapping[t]]: t for t in ("phone", "email")
                      if t in mapping and (t == "phone" or pii.hashing)}
        self.region, self.pii = region, pii

    def apply(self, table: pa.Table) -> pa.Table:
        """The batch with an ``_ids`` column (and, in hash mode, its phone/email cells emptied)."""
        per_row: list[list[dict]] | None = None
        for pos, id_type in self.types.items():
            column = table.column(pos).combine_chunks().cast(pa.string()).dictionary_encode()
            uniques = [self._identifiers(id_type, v) for v in column.dictionary.to_pylist()]
            lists = [uniques[i] if i is not None else [] for i in column.indices.to_pylist()]
            per_row = lists if per_row is None else [a + b for a, b in zip(per_row, lists)]
            if self.pii.hashing:
                table = table.set_column(pos, table.column_names[pos], pa.nulls(table.num_rows, pa.string()))
        ids = pa.array(per_row, IDENTIFIERS_ARROW_TYPE) if per_row is not None else pa.nulls(table.num_rows, IDENTIFIERS_ARROW_TYPE)
        return table.append_column("_ids", ids)

    @functools.lru_cache(maxsize=65536)
    def _identifiers(self, id_type: str, cell: str | None) -> list[dict]:
        if cell is None or not cell.strip():
            return []
        return protect_identifiers(normalise_identifiers([(id_type, cell)], self.region), self.pii)


def _insert_batch(con: duckdb.DuckDBPyConnection, sql: str, params: dict, batch: pa.RecordBatch,
                  numbers: list[int], cells: IdentifierCells) -> None:
    """Append one batch (columns in file order) with its data row numbers."""
    table = pa.Table.from_batches([batch]).rename_columns([f"c{i}" for i in range(batch.num_columns)])
    table = cells.apply(table.append_column("_row", pa.array(numbers, pa.int64())))
    db.register(con, "_cjm_batch", table)
    try:
        db.execute(con, sql, params)
    except BaseException:
        # keep the original error: in an aborted transaction unregister itself fails
        with contextlib.suppress(duckdb.Error):
            db.unregister(con, "_cjm_batch")
        raise
    db.unregister(con, "_cjm_batch")


# --------------------------------------------------------------------------- readers


def load_file(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, src: SourceConfig, path: Path,
              load_id: int, pii: PiiPolicy = CLEAR) -> tuple[int, int]:
    """Append one file to ``raw_events``/``raw_rejects``; return (rows read, rows rejected)."""
    if path.name.lower().endswith((".parquet", ".pq")):
        return _load_parquet(con, src, path, load_id, pii), 0
    return _load_csv(con, src, path, load_id, pii)


def _load_parquet(con: duckdb.DuckDBPyConnection, src: SourceConfig, path: Path, load_id: int, pii: PiiPolicy) -> int:
    """Parquet in streaming batches; column types are cast to text in DuckDB (timestamps
    with a time zone print with their offset, so staging converts them exactly)."""
    rows = 0
    try:
        with pq.ParquetFile(path) as pf:
            header = clean_header(list(pf.schema_arrow.names))
            mapping = map_columns(header, src, str(path))
            sql, props = _select_sql(mapping, header)
            params = {"load_id": load_id, "source": src.name, "file": str(path), "prop_keys": props}
            cells = IdentifierCells(mapping, header, src.phone_region, pii)
            for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, use_threads=False):
                _insert_batch(con, sql, params, batch, list(range(rows + 1, rows + 1 + batch.num_rows)), cells)
                rows += batch.num_rows
    except (pa.ArrowException, OSError) as e:
        raise InputDataError(src.name, str(path), f"not a readable Parquet file: {e}") from None
    return rows


def _load_csv(con: duckdb.DuckDBPyConnection, src: SourceConfig, path: Path, load_id: int,
              pii: PiiPolicy) -> tuple[int, int]:
    header, encoding, delimiter = _csv_header(path, src)
    mapping = map_columns(header, src, str(path))
    sql, props = _select_sql(mapping, header)
    cells = IdentifierCells(mapping, header, src.phone_region, pii)
    params = {"load_id": load_id, "source": src.name, "file": str(path), "prop_keys": props}

    rejects: list[tuple[int | None, str, str]] = []  # (data row number, reason, raw text)

    def on_invalid(row) -> str:
        data_row = row.number - 1 if row.number is not None else None
        rejects.append((data_row, f"expected {row.expected_columns} fields, got {row.actual_columns}", row.text))
        return "skip"

    # skip_rows_after_names (unlike skip_rows) parses the header as a CSV record, so a quoted
    # line break in a header does not shift the rows; record numbers then count the header as 1.
    read_opts = pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))], skip_rows_after_names=1,
                                  encoding="utf8" if codecs.lookup(encoding).name == "utf-8" else encoding,
                                  block_size=_BLOCK, use_threads=False)
    parse_opts = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid)
    conv_opts = pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(len(header))},
                                     strings_can_be_null=True, quoted_strings_can_be_null=False)
    rows = 0
    next_row = 1
    rejected_rows: set[int] = set()
    seen = 0
    try:
        with _open_bytes(path) as f:
            reader = pacsv.open_csv(f, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
            for batch in reader:
                # rows of this batch that failed to split were reported while it was parsed
                rejected_rows.update(r[0] for r in rejects[seen:] if r[0] is not None)
                seen = len(rejects)
                numbers = []
                while len(numbers) < batch.num_rows:
                    if next_row not in rejected_rows:
                        numbers.append(next_row)
                    next_row += 1
                _insert_batch(con, sql, params, batch, numbers, cells)
                rows += batch.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        guessed = [k for k, v in (("encoding", src.encoding), ("delimiter", src.delimiter)) if v == "auto"]
        hint = f"; the {' and '.join(guessed)} {'was' if len(guessed) == 1 else 'were'} guessed: " \
               f"set {' / '.join(f'`{k}:`' for k in guessed)} in the source config (e.g. encoding: cp1251)" if guessed else ""
        raise InputDataError(src.name, str(path),
                             f"cannot read as {encoding} CSV with delimiter {delimiter!r}: {e}{hint}") from None
    for data_row, reason, text in rejects:
        db.execute(con, "insert into raw_rejects values ($load_id, $source, $file, $row, $reason, $text)",
                   {"load_id": load_id, "source": src.name, "file": str(path), "row": data_row,
                    "reason": reason, "text": pii.protect_text(text)})
    return rows + len(rejects), len(rejects)
