"""The ``database`` format: events from a SQL query run through SQLAlchemy.

A source of this format has no files: each run connects to the database whose SQLAlchemy
URL is in the environment variable named by ``options.url_env`` (the URL, with its
password, never goes in the config), runs ``options.query`` and reads the result in
streaming batches (``stream_results`` + ``fetchmany``: a server-side cursor on PostgreSQL).

The result's columns are mapped exactly like a ``generic_events`` file's headers: the
source's ``columns: {result column: unified name}`` renames them, unified names are also
matched case-insensitively, ``event_time`` and ``event_type`` are required, and so is at
least one identifier column (``customer_id``, ``anonymous_id``, ``user_id``, ``client_id``,
``email``, ``phone``, ``crm_contact_id``) or a column named in ``options.identifiers``
(``{result column: identifier type}``, e.g. ``{deal_id: crm_deal, ym_uid: ym_client_id}``).
Every other column becomes a property, keyed by its result column name.

Values become text exactly: integers keep every digit (a 19-digit ``bigint`` client id),
``numeric`` keeps its digits and scale (``1234567890.12``), a timezone-aware timestamp
(``timestamptz``) is ISO 8601 with its offset, a naive one (``timestamp``) is
``YYYY-MM-DD HH:MM:SS`` read in the source's ``timezone``, a ``date`` stays a date.

The query is re-run every night. A sha256 over the result (its column names and every
row's text, independent of row order) is the load's fingerprint: an unchanged result is
skipped like an unchanged file; a changed one is loaded again whole, and its rows replace
the earlier ones by ``event_id`` (give one: ``'deal:' || id || ':created'``), so only the
new or changed events differ.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import hashlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from typing import Any

from ..config import SourceConfig
from ..schema import CANONICAL_COLUMNS, COLUMN_ID_TYPES, IDENTIFIER_COLUMNS, IDENTIFIER_TYPES, REQUIRED_COLUMNS
from ..errors import InputDataError
from .parsing import option_values, text
from .records import Event, Fetched

# ``COLUMN_ID_TYPES``: the identifier type of each unified identifier column (the names
# ``event_identifiers`` uses for a generic source's columns, so both kinds of source stitch
# alike); ``IDENTIFIER_TYPES``: the types ``options.identifiers`` may name.

#: Rows fetched per round trip.
BATCH_ROWS = 10_000

_HASH_VERSION = b"cjm-database-result-v1\n"


def label_of(src: SourceConfig) -> str:
    """``_cjm_loads.file`` of a database source.

    >>> label_of(SourceConfig("crm_deals", "database", ""))
    'database:crm_deals'
    """
    return f"database:{src.name}"


# --------------------------------------------------------------------------- values


def value_text(value: Any) -> str | None:
    """A database value as the text ``raw_events`` keeps.

    >>> value_text(1696470418123456789), value_text(decimal.Decimal("1234567890.12")), value_text(decimal.Decimal("1E+3"))
    ('1696470418123456789', '1234567890.12', '1000')
    >>> value_text(dt.datetime(2024, 3, 1, 1, 30)), value_text(dt.date(2024, 3, 15))
    ('2024-03-01 01:30:00', '2024-03-15')
    >>> value_text(dt.datetime(2024, 3, 1, 10, 46, 58, tzinfo=dt.timezone(dt.timedelta(hours=5))))
    '2024-03-01T10:46:58+05:00'
    >>> value_text(True), value_text(None), value_text(["a", 1]), value_text({"b": "ж"}), value_text(dt.timedelta(minutes=2))
    ('1', None, '["a", 1]', '{"b": "ж"}', '120')
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        offset = value.utcoffset()
        if offset is None:
            return value.isoformat(sep=" ")
        if offset % dt.timedelta(minutes=1):  # a historical offset with seconds (LMT): say it in UTC
            value = value.astimezone(dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, dt.timedelta):
        return text(value.total_seconds())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=value_text)
    return text(value)


def _identifier_values(value: Any) -> list[str]:
    """The raw identifier values in one cell: an array column (``text[]``) gives one each."""
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _identifier_values(v)]
    t = value_text(value)
    return [] if t is None else [t]


# --------------------------------------------------------------------------- column mapping


def _closest(name: str, names: Sequence[str]) -> str:
    lowered = {n.lower(): n for n in names}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (closest match: {lowered[match[0]]!r})" if match else ""


def _result_column(name: str, header: list[str]) -> str | None:
    """``name`` as the query returned it: exactly, or else the one column equal ignoring case
    (PostgreSQL folds unquoted aliases to lower case)."""
    if name in header:
        return name
    same = [h for h in header if h.lower() == str(name).lower()]
    return same[0] if len(same) == 1 else None


def map_columns(header: list[str], src: SourceConfig, identifiers: dict[str, str],
                label: str) -> tuple[dict[str, str], dict[str, str]]:
    """``({unified name: result column}, {result column: identifier type})``; checks the
    required columns the way :func:`cjm_pipeline.ingest.generic.map_columns` does for a file."""
    returned = f"the query returned the columns {header}"
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputDataError(src.name, label, f"the query returns several columns named {dupes}; give each its own "
                                              f"name with `as` ({returned})")
    mapping: dict[str, str] = {}
    for name, target in src.columns.items():
        col = _result_column(name, header)
        if col is None:
            raise InputDataError(src.name, label, f"column {name!r} named in `columns:` is not in the query's result"
                                                  f"{_closest(name, header)}; {returned}")
        mapping[target] = col
    renamed = set(mapping.values())
    for name in CANONICAL_COLUMNS:
        candidates = [h for h in header if h.lower() == name and h not in renamed]
        if name not in mapping and candidates:
            mapping[name] = name if name in candidates else candidates[0]
    extra_ids: dict[str, str] = {}
    for name, id_type in identifiers.items():
        if id_type not in IDENTIFIER_TYPES:
            raise InputDataError(src.name, label, f"options.identifiers.{name}: unknown identifier type {id_type!r}"
                                                  f"{_closest(str(id_type), IDENTIFIER_TYPES)}; "
                                                  f"valid types: {', '.join(IDENTIFIER_TYPES)}")
        col = _result_column(str(name), header)
        if col is None:
            raise InputDataError(src.name, label, f"column {name!r} named in `options.identifiers` is not in the "
                                                  f"query's result{_closest(str(name), header)}; {returned}")
        if col in mapping.values():
            used_as = next(k for k, v in mapping.items() if v == col)
            raise InputDataError(src.name, label, f"column {col!r} is both the unified column {used_as!r} and "
                                                  f"an identifier in `options.identifiers`; name it once")
        extra_ids[col] = id_type
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping]
    if missing:
        hints = "; ".join(f"{c!r}{_closest(c, header)}" for c in missing)
        raise InputDataError(src.name, label, f"required column(s) missing: {hints}; {returned}; name them in the "
                                              "query (`select created_at as event_time`) or map them with "
                                              "`columns: {<result column>: <unified name>}`")
    if not extra_ids and not any(c in mapping for c in IDENTIFIER_COLUMNS):
        raise InputDataError(src.name, label, f"no identifier column: need at least one of {list(IDENTIFIER_COLUMNS)} "
                                              "or a column in `options.identifiers` "
                                              f"({{<result column>: <type>}}, types: {', '.join(IDENTIFIER_TYPES)}); "
                                              f"{returned}")
    return mapping, extra_ids


# --------------------------------------------------------------------------- connecting


def _settings(src: SourceConfig) -> tuple[str, str, dict[str, str]]:
    """``(url_env, query, identifiers)`` from the source's options, checked."""
    opts = option_values("database", src)
    label = label_of(src)
    url_env, query, identifiers = opts.get("url_env"), opts.get("query"), opts.get("identifiers") or {}
    if not isinstance(url_env, str) or not url_env.strip():
        raise InputDataError(src.name, label, "options.url_env is required: the name of the environment variable "
                                              "that holds the database URL (e.g. CJM_CRM_DB_URL)")
    if "://" in url_env or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", url_env.strip()):
        # the value is not echoed: it may be a URL with a password pasted into the config by mistake
        raise InputDataError(src.name, label, "options.url_env must be the NAME of an environment variable "
                                              "(letters, digits, underscores), not the URL itself: keep the URL and "
                                              "its password out of the config, e.g. url_env: CJM_CRM_DB_URL")
    if not isinstance(query, str) or not query.strip():
        raise InputDataError(src.name, label, "options.query is required: the SQL that returns one row per event")
    if not isinstance(identifiers, dict):
        raise InputDataError(src.name, label, "options.identifiers must be a mapping {<result column>: <identifier "
                                              f"type>}}, got {identifiers!r}")
    return url_env.strip(), query, {str(k): str(v) for k, v in identifiers.items()}


def _clean_message(error: BaseException, secret: str | None) -> str:
    """A driver's message without SQLAlchemy's boilerplate and without the password."""
    orig = getattr(error, "orig", None)
    message = str(orig if orig is not None else error).strip()
    if secret and len(secret) >= 3:
        message = message.replace(secret, "***")
    return message


def _engine(src: SourceConfig, url_env: str):
    """The engine for the URL in ``url_env``, and that URL as printable text (password hidden)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    label = label_of(src)
    raw = os.environ.get(url_env)
    if raw is None or not raw.strip():
        raise InputDataError(src.name, label, f"environment variable {url_env} (options.url_env) is "
                                              f"{'empty' if raw is not None else 'not set'}: set it to the "
                                              "database's SQLAlchemy URL, e.g. "
                                              "postgresql+psycopg://user:password@host:5432/crm")
    try:
        url = sa.engine.make_url(raw.strip())
    except (sa.exc.ArgumentError, ValueError):
        raise InputDataError(src.name, label, f"environment variable {url_env} does not hold a SQLAlchemy URL "
                                              "(dialect+driver://user:password@host:port/database, e.g. "
                                              "postgresql+psycopg://...)") from None
    shown = url.render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except sa.exc.NoSuchModuleError:
        raise InputDataError(src.name, label, f"the URL in {url_env} ({shown}) names a database dialect/driver "
                                              "SQLAlchemy does not know; for PostgreSQL write "
                                              "postgresql+psycopg://...") from None
    except ImportError as e:
        raise InputDataError(src.name, label, f"the database driver for {url.drivername} (URL in {url_env}: {shown}) "
                                              f"is not installed ({e}); for PostgreSQL: pip install "
                                              "'psycopg[binary]'") from None
    return engine, url, shown


# --------------------------------------------------------------------------- fetching

#: What SQLAlchemy's ``text()`` takes for a bind parameter (``:name``) or an escaped colon (``\\:name``).
_BIND = re.compile(r"(?<![:\w\\]):(?=\w+(?![:\w]))")
_ESCAPED = re.compile(r"\\(?=:\w*(?![:\w]))")


def verbatim_text(query: str):
    """``sqlalchemy.text`` that sends ``query`` to the database as written: no ``:name`` in it
    is a bind parameter (``'deal:' || id || ':created'`` is common in these queries), and
    ``%`` is escaped by SQLAlchemy for the driver.

    >>> str(verbatim_text("select 'deal:' || id || ':created', x::text, '\\\\:a', '50%' from t").compile())
    "select 'deal:' || id || ':created', x::text, '\\\\:a', '50%' from t"
    """
    import sqlalchemy as sa

    escaped = _ESCAPED.sub(r"\\\\", query)
    escaped = _BIND.sub(r"\\:", escaped)
    statement = sa.text(escaped)
    if statement.compile().params or str(statement.compile()) != query:  # pragma: no cover - another SQLAlchemy
        raise ValueError("cannot pass this query to SQLAlchemy unchanged (colons before names?)")
    return statement


def fetch(cfg, src: SourceConfig) -> Fetched:
    """Run the source's query; return its events and the result's sha256."""
    import sqlalchemy as sa

    url_env, query, identifiers = _settings(src)
    label = label_of(src)
    engine, url, shown = _engine(src, url_env)
    try:
        statement = verbatim_text(query)
    except ValueError as e:
        raise InputDataError(src.name, label, f"options.query: {e}") from None
    options: dict[str, Any] = {"stream_results": True}
    if url.get_backend_name() == "postgresql":
        options["postgresql_readonly"] = True  # a nightly read must never change the CRM
    records: list[Event] = []
    row_digests: list[bytes] = []
    try:
        try:
            conn = engine.connect()
        except sa.exc.DBAPIError as e:
            raise InputDataError(src.name, label, f"cannot connect to the database in {url_env} ({shown}): "
                                                  f"{_clean_message(e, url.password)}") from None
        with conn:
            try:
                result = conn.execution_options(**options).execute(statement)
                if not result.returns_rows:
                    raise InputDataError(src.name, label, "the query returns no rows (it is not a SELECT); "
                                                          "options.query must return one row per event")
                header = [str(k) for k in result.keys()]
                mapping, extra_ids = map_columns(header, src, identifiers, label)
                reader = _RowReader(header, mapping, extra_ids)
                row = 0
                while batch := result.fetchmany(BATCH_ROWS):
                    for values in batch:
                        row += 1
                        texts = [value_text(v) for v in values]
                        row_digests.append(hashlib.sha256(
                            json.dumps(texts, ensure_ascii=False).encode("utf-8")).digest())
                        records.append(reader.event(row, values, texts))
                result.close()
            except sa.exc.DBAPIError as e:
                raise InputDataError(src.name, label, f"the query failed on the database in {url_env} ({shown}): "
                                                      f"{_clean_message(e, url.password)}") from None
    finally:
        engine.dispose()
    digest = hashlib.sha256(_HASH_VERSION)
    digest.update(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
    for d in sorted(row_digests):  # row order does not matter: a query without ORDER BY may return any
        digest.update(d)
    return Fetched(label=label, sha256=digest.hexdigest(), records=records)


class _RowReader:
    """Turns result rows into :class:`Event` records for one column mapping."""

    def __init__(self, header: list[str], mapping: dict[str, str], extra_ids: dict[str, str]):
        pos = {h: i for i, h in enumerate(header)}
        self.fields = [(name, pos[mapping[name]]) for name in
                       ("event_time", "event_type", "event_id", "channel", "utm_source", "utm_medium",
                        "utm_campaign", "url", "revenue") if name in mapping]
        self.ids = [(COLUMN_ID_TYPES[name], pos[mapping[name]]) for name in IDENTIFIER_COLUMNS if name in mapping]
        self.ids += [(id_type, pos[col]) for col, id_type in extra_ids.items()]
        used = set(mapping.values()) | set(extra_ids)
        self.props = [(h, pos[h]) for h in header if h not in used]

    def event(self, row: int, values: Sequence[Any], texts: list[str | None]) -> Event:
        kw = {name: texts[i] for name, i in self.fields}
        identifiers = [(id_type, v) for id_type, i in self.ids for v in _identifier_values(values[i])]
        return Event(row=row, event_time=kw.pop("event_time"), event_type=kw.pop("event_type"), **kw,
                     identifiers=identifiers, properties={h: texts[i] for h, i in self.props})

