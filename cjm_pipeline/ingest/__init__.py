"""Ingest: source files into the append-only raw layer, every row accounted for.

For each configured source, :func:`ingest_all` finds its files (a file, a glob or a
folder), skips files whose sha256 was loaded before (nightly runs only add new files),
and appends the rest to ``raw_events`` with a ``_load_id``, the file and its data row
number. Rows whose fields cannot even be split (a CSV row with too many or too few
fields) go to ``raw_rejects`` with the reason and the raw text. Everything else,
including rows with unparseable times or no identifier, reaches ``raw_events`` as text;
the staging step types and checks it, and sends what it rejects to ``quarantine``.

Each file is recorded in ``_cjm_loads``: source, path, sha256, rows read, rejected. A file a
format cannot read at all stops the run (an :class:`~cjm_pipeline.errors.InputDataError` naming
it), unless its source sets ``on_unreadable_file: quarantine``: then nothing of it is kept but
one ``raw_rejects`` row (row 0, the reason), counted as one record read and rejected, and the
other files load. Parsers read naive times in the zone that applies to their source
(:func:`cjm_pipeline.schema.naive_timezone`), passed to them as the source's ``timezone``.

Where things are: :mod:`.registry` pairs each format of the catalog
(:data:`cjm_pipeline.schema.FORMATS`) with its parser; the parsers live in ``web/`` (Metrica,
GA4), ``crm/`` (amoCRM, Bitrix24, HubSpot, Salesforce) and ``calls/`` (Calltouch, CoMagic,
CallRail), plus :mod:`.database` (a SQL query) and :mod:`.generic` (``generic_events``). They
share :mod:`.textfiles` (reading files), :mod:`.parsing` (times, amounts, channels, options)
and :mod:`.records` (what a parser yields, and writing it to ``raw_events``).
"""

from __future__ import annotations

import datetime as dt
import glob as globlib
import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from .. import db
from ..config import PipelineConfig, SourceConfig
from ..errors import CjmError, InputDataError
from ..pii import PiiPolicy, policy_for
from ..schema import FORMATS, naive_timezone
from . import generic
from .records import RAW_REFERENCE_DDL, Fetched, write_records
from .registry import Format, registry as all_formats

_LOADS_DDL = """
create table if not exists _cjm_loads (
    load_id bigint,
    run_id varchar,
    source varchar,
    file varchar,
    sha256 varchar,
    size_bytes bigint,
    rows_read bigint,
    rows_rejected bigint,
    loaded_at timestamp,
    read_settings varchar,
    pii varchar
)
"""

@dataclass(frozen=True)
class FileLoad:
    source: str
    file: str
    status: str  # 'loaded', 'skipped' (already loaded: same sha256) or 'quarantined' (unreadable, on_unreadable_file)
    rows_read: int = 0
    rows_rejected: int = 0


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and bookkeeping tables if this warehouse is new."""
    db.execute(con, _LOADS_DDL)
    db.execute(con, generic.RAW_EVENTS_DDL)
    for column, type_ in generic.RAW_EVENTS_ADDED:  # warehouses made by an older version
        db.execute(con, f"alter table raw_events add column if not exists {column} {type_}")
    db.execute(con, generic.RAW_REJECTS_DDL)
    db.execute(con, RAW_REFERENCE_DDL)


def discover(cfg: PipelineConfig, src: SourceConfig) -> list[Path]:
    """The files of a source, sorted; an error if there are none. A folder gives the files
    with the endings its format's catalog entry lists (:data:`cjm_pipeline.schema.FORMATS`)."""
    path = cfg.resolve(src.path)
    suffixes = FORMATS.get(src.format, FORMATS["generic_events"]).suffixes
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes)]
    elif any(ch in src.path for ch in "*?["):
        files = [Path(p) for p in globlib.glob(str(path), recursive=True) if Path(p).is_file()]
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise InputDataError(src.name, str(path), "no input files found (check `path`: a file, a glob or a folder)")
    return sorted(files)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_settings(src: SourceConfig) -> str:
    """The source settings that decide how a file's rows are read; a change means re-reading.

    >>> read_settings(SourceConfig("s", "generic_events", "x.csv", columns={"ts": "event_time"}))
    '{"columns": {"ts": "event_time"}, "delimiter": "auto", "encoding": "auto", "format": "generic_events"}'
    """
    settings = {"columns": dict(sorted(src.columns.items())), "delimiter": src.delimiter,
                "encoding": src.encoding, "format": src.format}
    if src.format != "generic_events":  # settings the format parsers read (kept out for old warehouses' sake)
        settings.update(options=src.options, phone_region=src.phone_region)
    return json.dumps(settings, ensure_ascii=False, sort_keys=True, default=str)


def _read(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, src: SourceConfig, fmt: Format | None,
          item: Path | Fetched, load_id: int, pii: PiiPolicy) -> tuple[int, int]:
    """Append one file's (or one fetch's) records; return (records read, records rejected)."""
    if fmt is None:  # generic_events: the streaming CSV/Parquet reader
        return generic.load_file(con, cfg, src, item, load_id, pii)
    try:
        if isinstance(item, Fetched):
            records = iter(item.records)
        else:
            # parsers read naive times in the zone they are in: the source's, its vendor's or the config's
            records = fmt.parse(item, replace(src, timezone=naive_timezone(src.format, src.timezone, cfg.timezone)))
        return write_records(con, records, load_id=load_id, source=src.name,
                             file=item.label if isinstance(item, Fetched) else item, region=src.phone_region, pii=pii,
                             max_identifiers=cfg.identity.max_identifiers_per_record)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:  # a cut or damaged .gz (click would print "Aborted!")
        raise InputDataError(src.name, str(item), f"the compressed file cannot be read: {e}") from None


def ingest_all(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str, *, full_refresh: bool = False,
               log=lambda msg: None, warn=lambda msg: None) -> list[FileLoad]:
    """Load every new file of every source; return what happened to each file.

    ``warn`` hears about files loaded earlier with other read settings (they are not re-read).
    """
    formats = all_formats()
    pii = policy_for(cfg)  # a missing salt fails the run before anything changes
    # find every file first: a source with no files fails the run before anything is dropped;
    # a non-file source (a database query) is fetched here too, before anything changes
    plan: list[tuple[SourceConfig, Path | Fetched]] = []
    for src in cfg.sources:
        fmt = formats.get(src.format)
        if fmt is not None and fmt.fetch is not None:
            plan.append((src, fmt.fetch(cfg, src)))
        else:
            plan.extend((src, f) for f in discover(cfg, src))
    if full_refresh:
        for table in ("raw_events", "raw_rejects", "raw_reference", "_cjm_loads"):
            db.execute(con, f"drop table if exists {table}")
    ensure_tables(con)
    # warehouses from before read_settings / pii were recorded: add the columns (null = unknown / clear)
    db.execute(con, "alter table _cjm_loads add column if not exists read_settings varchar")
    db.execute(con, "alter table _cjm_loads add column if not exists pii varchar")
    other = db.scalar(con, "select count(*) from _cjm_loads where coalesce(pii, 'clear') <> $mode", {"mode": pii.mode})
    if other:
        raise CjmError(f"identity.pii is '{pii.mode}' but this warehouse holds {other} file(s) loaded with pii "
                       f"'{'clear' if pii.hashing else 'hash'}'; one warehouse holds one kind (hashes and clear "
                       "values would never match): run `cjm run --full-refresh` to load everything again")
    next_id = (db.scalar(con, "select max(load_id) from _cjm_loads") or 0) + 1
    results = []
    for src, item in plan:
        fetched = item if isinstance(item, Fetched) else None
        label = fetched.label if fetched else str(item)
        digest = fetched.sha256 if fetched else sha256_of(item)
        seen = db.scalar(con, "select count(*) from _cjm_loads where source = $s and sha256 = $h",
                         {"s": src.name, "h": digest})
        if seen:
            results.append(FileLoad(src.name, label, "skipped"))
            log(f"{src.name}: {label} already loaded (same sha256), skipped")
            continue
        unreadable = None
        db.execute(con, "begin transaction")
        try:
            read, rejected = _read(con, cfg, src, formats.get(src.format), item, next_id, pii)
        except InputDataError as e:
            db.execute(con, "rollback")
            if src.on_unreadable_file != "quarantine" or fetched:
                raise
            # the file as one quarantined record (row 0): the other files and sources load
            unreadable, read, rejected = str(e), 1, 1
            db.execute(con, "begin transaction")
            db.execute(con, "insert into raw_rejects values ($load_id, $source, $file, 0, $reason, '')",
                       {"load_id": next_id, "source": src.name, "file": label,
                        "reason": f"unreadable file: {e.message}"})
        except BaseException:
            db.execute(con, "rollback")
            raise
        try:
            db.execute(con, "insert into _cjm_loads values ($id, $run, $s, $f, $h, $size, $n, $r, $at, $settings, "
                            "$pii)", {
                "id": next_id, "run": run_id, "s": src.name, "f": label, "h": digest,
                "size": None if fetched else item.stat().st_size, "n": read, "r": rejected,
                "at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), "settings": read_settings(src),
                "pii": pii.mode,
            })
            db.execute(con, "commit")
        except BaseException:
            db.execute(con, "rollback")
            raise
        if unreadable is not None:
            results.append(FileLoad(src.name, label, "quarantined", read, rejected))
            warn(f"{unreadable} (on_unreadable_file: quarantine: the file is in quarantine, the others load)")
        else:
            results.append(FileLoad(src.name, label, "loaded", read, rejected))
            log(f"{src.name}: {label}: {read} rows read"
                + (f", {rejected} unreadable rows kept in quarantine" if rejected else ""))
        next_id += 1
    for src in cfg.sources:
        stale = db.scalar(con, "select count(*) from _cjm_loads where source = $s and read_settings <> $settings",
                          {"s": src.name, "settings": read_settings(src)})
        if stale:
            warn(f"source '{src.name}': {stale} file(s) were loaded with other columns/encoding/delimiter "
                 "settings and are not re-read; run with --full-refresh to read them again with the current ones")
    return results
