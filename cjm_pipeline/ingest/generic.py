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
else cp1251; a file that is mostly UTF-8 is UTF-8) and so is the delimiter (``,`` ``;`` tab
``|``), unless the source config sets them. Only an empty cell is null: ``NA``, ``NULL``,
``N/A`` stay text (placeholders count as "no identifier" in identifier cells only, in SQL).
Rows with the wrong number of fields, and in a UTF-8 file rows that are not valid UTF-8, are
kept in ``raw_rejects`` with their text; so is the unreadable rest of a ``.csv.gz`` that ends
early (the rows before it load). Line endings may be ``\n``, ``\r\n`` or ``\r``; the header
may be of any width (:mod:`.csvfile`). Parquet files are read in batches too; their typed columns
become text in DuckDB. ``_row`` is the 1-based data row number (the header is not counted; a
quoted line break does not start a new row, blank lines are skipped). What happens to the cells
(identifiers, the identifier cap, hash mode) is in :mod:`.cells`.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
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
from .cells import BatchCells
from .csvfile import decode_batch, open_stream, read_header

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
_BLOCK = 16 << 20
_PARQUET_BATCH = 1 << 17


# --------------------------------------------------------------------------- sniffing


def sniff_encoding(sample: bytes) -> str:
    r"""``utf-8`` (BOM or not) when the sample is UTF-8, or mostly UTF-8 (more valid multi-byte
    characters than invalid bytes: a UTF-8 file with a stray cp1251 row), else ``cp1251``.

    >>> sniff_encoding("Москва".encode("utf-8")), sniff_encoding("Москва".encode("cp1251"))
    ('utf-8', 'cp1251')
    >>> sniff_encoding("Москва,Казань\n".encode("utf-8") * 3 + "Тверь\n".encode("cp1251"))
    'utf-8'
    """
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=False)
        invalid = text.count("\ufffd")
        valid = sum(1 for ch in text if ord(ch) > 127) - invalid
        return "utf-8" if valid > invalid else "cp1251"


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header into the most fields.

    >>> sniff_delimiter('a;b;"c,d"'), sniff_delimiter("a,b"), sniff_delimiter("a\\tb")
    (';', ',', '\\t')
    """
    best, best_n = ",", 1
    for d in _DELIMITERS:
        try:
            n = len(next(csv.reader([header_line], delimiter=d)))
        except csv.Error:  # a field longer than csv's limit: not this delimiter
            continue
        if n > best_n:
            best, best_n = d, n
    return best


def _csv_header(path: Path, src: SourceConfig) -> tuple[list[str], str, str, bool]:
    """(header, encoding, delimiter, whether any row follows the header)."""
    try:
        found = read_header(path, sniff_encoding, sniff_delimiter, src.encoding, src.delimiter)
    except ValueError as e:
        hint = "; set `encoding:` in the source config" if "not valid" in str(e) else ""
        raise InputDataError(src.name, str(path), f"{e}{hint}") from None
    return clean_header(found.fields), found.encoding, found.delimiter, found.has_rows


def clean_header(names: list[str]) -> list[str]:
    """Column names stripped; an unnamed column (a trailing delimiter) becomes ``column<N>``.

    >>> clean_header([" Дата ", "event_type", ""])
    ['Дата', 'event_type', 'column3']
    """
    return [str(h).strip() or f"column{i}" for i, h in enumerate(names, start=1)]


# --------------------------------------------------------------------------- column mapping


def map_columns(header: list[str], src: SourceConfig, file: str) -> dict[str, str]:
    """``{unified name: file column}`` after the ``columns:`` renaming; checks required columns."""
    dupes = sorted(h for h, n in collections.Counter(header).items() if n > 1)
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


def _insert_batch(con: duckdb.DuckDBPyConnection, sql: str, params: dict, table: pa.Table) -> None:
    """Append one batch (the file's columns ``c0``, ``c1``, ..., ``_row`` and ``_ids``)."""
    db.register(con, "_cjm_batch", table)
    try:
        db.execute(con, sql, params)
    except BaseException:
        # keep the original error: in an aborted transaction unregister itself fails
        with contextlib.suppress(duckdb.Error):
            db.unregister(con, "_cjm_batch")
        raise
    db.unregister(con, "_cjm_batch")


def _batch_table(batch: pa.RecordBatch, numbers: list[int]) -> pa.Table:
    """A batch with its columns named by position (``c0``, ``c1``, ...) and its data row numbers."""
    table = pa.Table.from_batches([batch]).rename_columns([f"c{i}" for i in range(batch.num_columns)])
    return table.append_column("_row", pa.array(numbers, pa.int64()))


def _write_rejects(con: duckdb.DuckDBPyConnection, params: dict, rejects: list[tuple[int | None, str, str]],
                   pii: PiiPolicy, region: str) -> None:
    for data_row, reason, text in rejects:
        db.execute(con, "insert into raw_rejects values ($load_id, $source, $file, $row, $reason, $text)",
                   {"load_id": params["load_id"], "source": params["source"], "file": params["file"], "row": data_row,
                    "reason": pii.protect_text(reason, region), "text": pii.protect_text(text, region)})


# --------------------------------------------------------------------------- readers


def load_file(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, src: SourceConfig, path: Path,
              load_id: int, pii: PiiPolicy = CLEAR) -> tuple[int, int]:
    """Append one file to ``raw_events``/``raw_rejects``; return (rows read, rows rejected)."""
    cap = cfg.identity.max_identifiers_per_record
    if path.name.lower().endswith((".parquet", ".pq")):
        return _load_parquet(con, src, path, load_id, pii, cap)
    return _load_csv(con, src, path, load_id, pii, cap)


def _load_parquet(con: duckdb.DuckDBPyConnection, src: SourceConfig, path: Path, load_id: int, pii: PiiPolicy,
                  cap: int) -> tuple[int, int]:
    """Parquet in streaming batches; column types are cast to text in DuckDB (timestamps
    with a time zone print with their offset, so staging converts them exactly)."""
    rows, rejects = 0, []
    try:
        with pq.ParquetFile(path) as pf:
            header = clean_header(list(pf.schema_arrow.names))
            mapping = map_columns(header, src, str(path))
            sql, props = _select_sql(mapping, header)
            params = {"load_id": load_id, "source": src.name, "file": str(path), "prop_keys": props}
            cells = BatchCells(mapping, header, region=src.phone_region, pii=pii, max_identifiers=cap)
            for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, use_threads=False):
                table, capped = cells.apply(_batch_table(batch, list(range(rows + 1, rows + 1 + batch.num_rows))))
                rejects += capped
                _insert_batch(con, sql, params, table)
                rows += batch.num_rows
    except (pa.ArrowException, OSError) as e:
        raise InputDataError(src.name, str(path), f"not a readable Parquet file: {e}") from None
    _write_rejects(con, params, rejects, pii, src.phone_region)
    return rows, len(rejects)


def _load_csv(con: duckdb.DuckDBPyConnection, src: SourceConfig, path: Path, load_id: int,
              pii: PiiPolicy, cap: int) -> tuple[int, int]:
    header, encoding, delimiter, has_rows = _csv_header(path, src)
    mapping = map_columns(header, src, str(path))
    if not has_rows:  # a header and nothing else (an empty export, maybe without a final line break)
        return 0, 0
    sql, props = _select_sql(mapping, header)
    cells = BatchCells(mapping, header, region=src.phone_region, pii=pii, max_identifiers=cap, delimiter=delimiter)
    params = {"load_id": load_id, "source": src.name, "file": str(path), "prop_keys": props}

    split_rejects: list[tuple[int | None, str, str]] = []  # rows that did not split into the header's fields
    rejects: list[tuple[int | None, str, str]] = []  # rows read but not loaded (encoding, identifier cap)

    def on_invalid(row) -> str:
        data_row = row.number - 1 if row.number is not None else None
        split_rejects.append((data_row, f"expected {row.expected_columns} fields, got {row.actual_columns}", row.text))
        return "skip"

    utf8 = codecs.lookup(encoding).name == "utf-8"
    # skip_rows_after_names (unlike skip_rows) parses the header as a CSV record, so a quoted
    # line break in a header does not shift the rows; record numbers then count the header as 1.
    # A UTF-8 file is read as bytes and decoded batch by batch (csvfile.decode_batch), so a row that is
    # not UTF-8 is quarantined rather than failing the file or being guessed.
    read_opts = pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))], skip_rows_after_names=1,
                                  encoding="utf8" if utf8 else encoding, block_size=_BLOCK, use_threads=False)
    parse_opts = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid)
    # only an empty cell is null: pyarrow's own null spellings (NA, NULL, N/A, nan, #N/A) stay text
    conv_opts = pacsv.ConvertOptions(column_types={f"c{i}": pa.binary() if utf8 else pa.string()
                                                   for i in range(len(header))},
                                     null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False)
    rows = 0
    next_row = 1
    rejected_rows: set[int] = set()
    seen = 0
    try:
        with open_stream(path) as f:
            reader = pacsv.open_csv(f, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
            for batch in reader:
                # rows of this batch that failed to split were reported while it was parsed
                rejected_rows.update(r[0] for r in split_rejects[seen:] if r[0] is not None)
                seen = len(split_rejects)
                numbers = []
                while len(numbers) < batch.num_rows:
                    if next_row not in rejected_rows:
                        numbers.append(next_row)
                    next_row += 1
                table = _batch_table(batch, numbers)
                if utf8:
                    table, bad = decode_batch(table, header, delimiter)
                    rejects += bad
                table, capped = cells.apply(table)
                rejects += capped
                _insert_batch(con, sql, params, table)
                rows += batch.num_rows
            if f.broken:
                rejects.append((max([next_row - 1, *rejected_rows]) + 1 if rows or rejected_rows else 1,
                                f"file: the file ends early ({f.broken}); the rows before were loaded, this is "
                                "the unreadable rest", f.tail.decode(encoding if not utf8 else "utf-8", errors="replace")))
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        guessed = [k for k, v in (("encoding", src.encoding), ("delimiter", src.delimiter)) if v == "auto"]
        hint = f"; the {' and '.join(guessed)} {'was' if len(guessed) == 1 else 'were'} guessed: " \
               f"set {' / '.join(f'`{k}:`' for k in guessed)} in the source config (e.g. encoding: cp1251)" if guessed else ""
        raise InputDataError(src.name, str(path),
                             f"cannot read as {encoding} CSV with delimiter {delimiter!r}: {e}{hint}") from None
    _write_rejects(con, params, split_rejects + rejects, pii, src.phone_region)
    return rows + len(split_rejects) + (1 if f.broken else 0), len(split_rejects) + len(rejects)
