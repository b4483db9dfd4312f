"""What the call-tracking formats (``calltouch``, ``comagic``, ``callrail``) share: reading and one parse loop.

Every call-tracking export is a list of calls, one record per call, in an API JSON response
(one page, a bare list, or several pages saved as a JSON array of responses or one response
per line) or in a CSV/HTML-table export of the same list. :func:`read_calls` reads any of
these into numbered records, and :func:`parse_calls` is the one loop every call format runs:
a format is a :class:`CallFormat` (where its records are, the export headers of each API
field, the columns it requires) plus a function that turns one record into its ``call``
event (:func:`build_call`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ...errors import InputDataError
from ...schema import FORMATS
from .. import jsondocs, textfiles
from ..parsing import option_values, raw_json
from ..records import Event, Reject
from .values import as_text, clean

#: ``record(row, fields, extra, options, raw)``: the call event of one record (API field names in
#: ``fields``; ``extra``: its other fields as properties; ``raw``: a table row's text for a Reject).
RecordFunction = Callable[[int, Mapping[str, Any], dict, Mapping[str, Any], str | None], Event | Reject]


@dataclass(frozen=True)
class CallFormat:
    """One call-tracking format: how :func:`parse_calls` reads its files."""

    name: str
    """The format name (its options are the catalog's, :data:`cjm_pipeline.schema.FORMATS`)."""
    list_keys: tuple[str, ...]
    """Dotted paths of the records list in one API response (``records``, ``result.data``)."""
    aliases: Mapping[str, tuple[str, ...]]
    """API field name -> the export headers it may have (the API name itself always works too)."""
    required: tuple[str, ...]
    """API fields a table export must have a column for."""
    what: str
    """What a table export is, for the error naming missing columns."""
    record: RecordFunction
    also_mapped: tuple[str, ...] = ()
    """API fields the record function reads besides :attr:`aliases` (not kept as properties)."""
    property_key: Callable[[str], str] | None = None
    """Renames the API fields kept as properties (default: as they are)."""


def parse_calls(fmt: CallFormat, path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Every call of one file of format ``fmt`` (API JSON or a CSV/HTML table export)."""
    opts = option_values(fmt.name, src)
    if "slash_dates" in FORMATS[fmt.name].options:
        check_slash_dates(opts, src, path)
    calls = read_calls(path, src, fmt.list_keys)
    if calls.kind == "table":
        require_any(calls.header, fmt.aliases, fmt.required, src, path, fmt.what)
    mapped = (*fmt.aliases, *fmt.also_mapped)
    for row, rec in calls.rows:
        if isinstance(rec, Reject):
            yield rec
        elif calls.kind == "table":
            fields, extra = table_record(rec, fmt.aliases, calls.header)
            yield fmt.record(row, fields, {k: clean(v) for k, v in extra.items()}, opts, raw_json(rec))
        elif fmt.property_key is None:
            yield fmt.record(row, rec, extra_properties(rec, mapped), opts, None)
        else:
            yield fmt.record(row, rec, extra_properties(rec, mapped, fmt.property_key), opts, None)


# --------------------------------------------------------------------------- reading


@dataclass
class Calls:
    """The records of one call-tracking file: ``kind`` is ``json`` or ``table``; for a table,
    ``header`` holds its columns; ``rows`` yields ``(row number, record or Reject)``."""

    kind: str
    header: list[str]
    rows: Iterator[tuple[int, dict | Reject]]


def read_calls(path: Path, src: SourceConfig, list_keys: tuple[str, ...]) -> Calls:
    """The call records of a JSON file (a response page, pages in an array, a bare list, a single
    call, NDJSON, a sync tool's envelopes: :mod:`..jsondocs`), or of a CSV / HTML / Excel table.

    ``list_keys`` are the dotted paths of the records list in one API response
    (``records``, ``result.data``, ``calls``).
    """
    if jsondocs.is_json(textfiles.head_bytes(path)):
        shape = jsondocs.Shape(dict.fromkeys(list_keys), error=_api_error)
        rows = ((n, jsondocs.record_or_reject(n, item, "a call record"))
                for n, _, item in jsondocs.records(path, src, shape))
        return Calls("json", [], rows)
    table = textfiles.read_table(path, src)
    return Calls("table", table.header, iter(table.rows))


def _api_error(obj: dict) -> str | None:
    """The message of an error response (``{"error": {"message": ...}}``) that holds no calls."""
    if obj.get("error") and not any(isinstance(textfiles.dig(obj, *k.split(".")), list) for k in _ANY_LIST_KEYS):
        err = obj["error"]
        return repr(err.get("message") if isinstance(err, dict) else err)
    return None


_ANY_LIST_KEYS = ("records", "calls", "result.data", "data")


def table_record(row: Mapping[str, str | None], aliases: Mapping[str, tuple[str, ...]],
                 header: list[str]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """A CSV row as ``(fields by canonical name, other columns by their header)``.

    ``aliases`` maps a canonical (API) field name to the column headers it may have in an
    export; the first header present (case-insensitive) is used.
    """
    fields: dict[str, Any] = {}
    used: set[str] = set()
    for name, names in aliases.items():
        col = column_of(header, name, names)
        if col is not None and col not in used:
            fields[name] = row.get(col)
            used.add(col)
    extra = {h: row.get(h) for h in header if h not in used}
    return fields, extra


def column_of(header: list[str], name: str, names: tuple[str, ...]) -> str | None:
    """The column holding field ``name`` (its own name or one of its export headers)."""
    return textfiles.find_column(header, name, *names)


def require_any(header: list[str], aliases: Mapping[str, tuple[str, ...]], required: tuple[str, ...],
                src: SourceConfig, path: Path, what: str) -> None:
    """Fail when the table has no column for a required field (naming the headers it may have)."""
    missing = []
    for name in required:
        if column_of(header, name, aliases.get(name, ())) is None:
            names = (name, *aliases.get(name, ()))
            hint = next((h for h in (textfiles.closest(n, header) for n in names) if h), "")
            missing.append(f"{' / '.join(repr(n) for n in names)}{hint}")
    if missing:
        raise InputDataError(src.name, str(path), f"required column(s) missing for {what}: {'; '.join(missing)}; "
                                                  f"the file has: {header}")


_FLOAT_ID = re.compile(r"\d(?:[.,]\d+)?[eE]\+\d+")


_AMOUNT = re.compile(r"-?[\d\s\u00a0\u2009\u202f]*\d(?:[.,]\d+)?")


def build_call(row: int, *, call_id: str, event_time: str | None, channel: str, identifiers: list[tuple[str, Any]],
               properties: dict[str, Any], utm: tuple[Any, Any, Any] = (None, None, None), url: Any = None,
               revenue: Any = None, updated_at: str | None = None) -> Event:
    """The ``call`` event of one record; empty identifiers and properties are left out.

    An id a spreadsheet turned into a float (``1,70971E+18``) has lost its digits: it is no
    identifier (it would join unrelated people), only the property ``<id_type>_raw``. An amount
    that is not a number (``около 5000 ₽``, ``2 шт``) is no revenue, only the property
    ``revenue_text``: the call itself is still a call (the CRM formats quarantine such a deal).
    """
    ids: list[tuple[str, str]] = []
    properties = {k: v for k, v in properties.items() if v is not None}
    if revenue is not None and not _AMOUNT.fullmatch(str(revenue)):
        properties["revenue_text"], revenue = str(revenue), None
    for id_type, raw in identifiers:
        value = clean(raw)
        if value is None:
            continue
        if id_type != "phone" and _FLOAT_ID.fullmatch(value):
            properties[f"{id_type}_raw"] = value
            continue
        ids.append((id_type, value))
    return Event(
        row=row,
        event_time=event_time,
        event_type="call",
        event_id=f"call:{call_id}",
        channel=channel,
        utm_source=clean(utm[0]),
        utm_medium=clean(utm[1]),
        utm_campaign=clean(utm[2]),
        url=clean(url),
        revenue=revenue,
        updated_at=updated_at,
        identifiers=ids,
        properties=properties,
    )


def extra_properties(record: Mapping[str, Any], known: Iterable[str],
                     key: Callable[[str], str] = lambda k: k) -> dict[str, str | None]:
    """Fields of a record this format does not map, as property text (schema drift: new
    fields of an export show up as properties); ``key`` renames them."""
    skip = set(known)
    out: dict[str, str | None] = {}
    for k, v in record.items():
        if k in skip:
            continue
        value = as_text(v)
        if value is not None:
            out[key(k)] = value
    return out



def check_slash_dates(opts: Mapping[str, Any], src: SourceConfig, path: Path) -> None:
    """The ``slash_dates`` option must be ``dmy`` or ``mdy``."""
    value = opts.get("slash_dates", "dmy")
    if value not in ("dmy", "mdy"):
        raise InputDataError(src.name, str(path), f"options.slash_dates: {value!r} is not 'dmy' (05/03/2024 = "
                                                  "5 March) or 'mdy' (05/03/2024 = May 3)")
