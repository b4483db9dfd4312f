"""What a format parser yields, and how those records reach ``raw_events``.

Every format (Metrica, GA4, amoCRM, Bitrix24, Calltouch, ...) is a parser: a function
``parse(path, source)`` that reads one file and yields, for every input record (a CSV/TSV
data line, a JSON array element, an NDJSON line), or a ``fetch`` that returns them all in
a :class:`Fetched` (a database query's rows):

* one or more :class:`Event` objects (a Metrica visit with two goals is three events),
  all carrying the record's number ``row`` and a distinct ``part`` within it; or
* one :class:`Reject` when the record cannot be read at all (wrong field count, broken
  JSON): it goes to ``raw_rejects`` and the run's quarantine with the reason; or, beside the
  record's readable events, a Reject with a ``part`` for the one part that cannot be read (a
  Bitrix24 deal without ``DATE_CREATE``: its creation), counted as one more record; or
* one :class:`Reference` per dictionary entry (an amoCRM status name, a Bitrix24 stage
  name): reference rows are loaded into ``raw_reference`` and joined by SQL later.

Every record is accounted for: ``_cjm_loads.rows_read`` counts the records a parser saw
(the largest ``row`` it yielded, plus the parts quarantined on their own), and each becomes
loaded, duplicate or quarantined.

Values stay text, exactly as in the file: the staging SQL types and checks them, so a
bad value is quarantined with its column named instead of failing the run. Times are
text that staging understands: ISO 8601 with an offset (``2024-03-01T10:46:58+03:00``),
a naive ``YYYY-MM-DD HH:MM:SS`` in the source's time zone, or epoch digits (seconds,
milliseconds or microseconds). Parsers turn format-specific spellings (``05/03/2024
14:21:07``) into one of these with the shared helpers of :mod:`~cjm_pipeline.ingest.parsing`.

Identifiers are ``(id_type, raw value)`` pairs of customer-side identifiers only (never
the tracking number a caller dialled). :func:`normalise_identifiers` cleans them here,
once, for every format: phones become E.164 with ``phonenumbers`` (several numbers in one
cell are split, extensions dropped, invalid numbers kept only as raw text), e-mails are
trimmed and lower-cased, placeholder tokens (``null``, ``-``, ``0``) are no identifier.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import phonenumbers
import pyarrow as pa

from .. import db
from ..schema import EVENT_COLUMNS, NULL_TOKENS
from ..pii import CLEAR, PiiPolicy


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Event:
    """One event of one input record; text values exactly as the parser read them."""

    row: int
    """1-based number of the input record in its file (data line for CSV/TSV, element for JSON)."""
    event_time: str | None
    event_type: str | None
    event_id: str | None = None
    """Stable id of this event within its source (the source name is prefixed in SQL).
    Give it whenever the format has record ids: a re-export of the same record then
    replaces rather than duplicates it. ``None``: an md5 of the content is used."""
    part: int = 0
    """Distinct per event of one record (0, 1, 2 ...)."""
    channel: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    url: str | None = None
    revenue: str | None = None
    updated_at: str | None = None
    """Version time of a changed record (a deal's modification time): of several loaded
    versions of one ``event_id`` the latest ``updated_at`` wins; among equal versions the
    first loaded copy stays."""
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    properties: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Reject:
    """An input record that cannot be read; the reason names the column or the problem."""

    row: int
    reason: str
    raw_text: str
    part: int | None = None
    """Set when only this part of the record cannot be read (a Bitrix24 deal's creation event
    without ``DATE_CREATE``): the record's other events load, and the part is quarantined on
    its own, counted as one more input row (``docs/semantics.md``, "Quarantine and row accounting")."""


@dataclass
class Reference:
    """A dictionary entry (``kind``, ``key`` -> ``value``), e.g. ('amocrm_status', '11:142', 'Успешно реализовано')."""

    row: int
    kind: str
    key: str
    value: str


Record = Event | Reject | Reference


@dataclass(frozen=True)
class Fetched:
    """What a non-file format read in one run: a label for ``_cjm_loads.file``, the
    sha256 of the content (an unchanged result is skipped like an unchanged file) and
    the records."""

    label: str
    sha256: str
    records: list[Record]


# --------------------------------------------------------------------------- identifiers


@functools.lru_cache(maxsize=1 << 16)
def normalise_phones(raw: str, region: str = "RU", limit: int | None = None) -> tuple[str, ...]:
    """The valid phone numbers in a cell, in E.164, in order; ``()`` if there is none. With
    ``limit``, the search stops after ``limit + 1`` numbers (enough to know a cell holds too many).

    >>> normalise_phones("8 (916) 123-45-67")
    ('+79161234567',)
    >>> normalise_phones("8 916 123-45-67, 8 903 765-43-21")
    ('+79161234567', '+79037654321')
    >>> normalise_phones("+7 916 123 45 67 доб. 123"), normalise_phones("0079161234567"), normalise_phones("123")
    (('+79161234567',), ('+79161234567',), ())
    """
    value = raw.strip()
    if value.lower() in NULL_TOKENS:
        return ()
    if value.startswith("00"):
        value = "+" + value[2:]
    found: list[str] = []

    def add(number) -> None:
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in found:
                found.append(e164)

    try:
        add(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        pass
    if not found or re.search(r"[,;/\n]", value):
        for match in phonenumbers.PhoneNumberMatcher(value, region, leniency=phonenumbers.Leniency.POSSIBLE):
            add(match.number)
            if limit is not None and len(found) > limit:
                break
    if not found:
        # bare digits the matcher does not see as a number in running text (9161234567)
        digits = re.sub(r"\D", "", value)
        if 10 <= len(digits) <= 15:
            try:
                add(phonenumbers.parse(digits, region))
            except phonenumbers.NumberParseException:
                pass
    return tuple(found)


def normalise_identifiers(pairs: Iterable[tuple[str, str | None]], region: str = "RU",
                          limit: int | None = None) -> list[dict]:
    """``[{id_type, id_value, raw}]``: cleaned values; ``id_value`` is None when the raw value
    is not a usable identifier (kept for audit). With ``limit``, at most ``limit + 1`` values
    are cleaned (a record with more is over the cap, :func:`count_identifiers`).

    >>> normalise_identifiers([("email", " Ivan@Mail.RU "), ("phone", "89161234567, +7 903 765 43 21"), ("ym_client_id", "0")])
    [{'id_type': 'email', 'id_value': 'ivan@mail.ru', 'raw': ' Ivan@Mail.RU '}, {'id_type': 'phone', 'id_value': '+79161234567', 'raw': '89161234567, +7 903 765 43 21'}, {'id_type': 'phone', 'id_value': '+79037654321', 'raw': '89161234567, +7 903 765 43 21'}, {'id_type': 'ym_client_id', 'id_value': None, 'raw': '0'}]
    """
    out: list[dict] = []
    seen: set[tuple[str, str | None]] = set()
    for id_type, raw in pairs:
        if raw is None:
            continue
        raw = str(raw)
        value = raw.strip()
        values: tuple[str | None, ...]
        if value.lower() in NULL_TOKENS:
            values = (None,)
        elif id_type == "phone":
            values = normalise_phones(value, region, limit) or (None,)
        elif re.fullmatch(r"\d(?:[.,]\d+)?[eE][+]\d+", value):
            values = (None,)  # an id a spreadsheet turned into a float (1,70971E+18): its digits are lost
        elif id_type == "email":
            emails = tuple(e.lower() for e in re.split(r"[,;\s]+", value) if _EMAIL.match(e))
            values = emails or (None,)
        else:
            values = (value,)
        for v in values:
            if (id_type, v) in seen and v is not None:
                continue
            seen.add((id_type, v))
            out.append({"id_type": id_type, "id_value": v, "raw": raw})
        if limit is not None and count_identifiers(out) > limit:
            break
    return out


def count_identifiers(ids: list[dict]) -> int:
    """The usable identifiers of a normalised list (``id_value`` set)."""
    return sum(i["id_value"] is not None for i in ids)


def over_cap_reason(limit: int) -> str:
    """The quarantine reason of a record with more than ``limit`` identifiers."""
    return (f"identifiers: more than {limit} in one record (identity.max_identifiers_per_record: {limit}); "
            "the record would join that many people into one customer")


# --------------------------------------------------------------------------- writing

RAW_REFERENCE_DDL = """
create table if not exists raw_reference (
    _load_id bigint,
    _source varchar,
    _file varchar,
    _row bigint,
    kind varchar,
    key varchar,
    value varchar
)
"""

IDENTIFIERS_ARROW_TYPE = pa.list_(pa.struct([("id_type", pa.string()), ("id_value", pa.string()), ("raw", pa.string())]))
_BATCH = 20_000


@dataclass
class _Counts:
    rows: int = 0
    rejected: int = 0


class RecordWriter:
    """Appends a parser's records to ``raw_events`` / ``raw_rejects`` / ``raw_reference`` in batches."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, load_id: int, source: str, file: str, region: str = "RU",
                 pii: PiiPolicy = CLEAR, max_identifiers: int | None = None):
        self.con, self.load_id, self.source, self.file, self.region = con, load_id, source, file, region
        self.pii, self.max_identifiers = pii, max_identifiers
        self._events: list[tuple[Event, list[dict]]] = []  # (event, its normalised identifiers)
        self._capped: set[int] = set()
        self._rejected_rows: set[int] = set()
        self._rejected_parts = 0
        self.max_row = 0

    def write_all(self, records: Iterable[Record]) -> tuple[int, int]:
        """Write every record; return (records read, records rejected). A part of a record
        quarantined on its own (:attr:`Reject.part`) counts as one more record read and rejected."""
        for rec in records:
            self.max_row = max(self.max_row, rec.row)
            if isinstance(rec, Event):
                if rec.row in self._capped:
                    continue
                ids = normalise_identifiers(rec.identifiers, self.region, limit=self.max_identifiers)
                if self.max_identifiers is not None and count_identifiers(ids) > self.max_identifiers:
                    self._cap(rec)
                    continue
                if len(self._events) >= _BATCH and self._events[-1][0].row != rec.row:
                    self._flush()  # between records: a record's events are written (or capped) together
                self._events.append((rec, ids))
            elif isinstance(rec, Reject):
                if rec.part is None:
                    self._rejected_rows.add(rec.row)
                else:
                    self._rejected_parts += 1
                self._reject(rec.row, rec.reason, rec.raw_text)
            elif isinstance(rec, Reference):
                db.execute(self.con, "insert into raw_reference values ($load_id, $source, $file, $row, $kind, $key, $value)",
                           {"load_id": self.load_id, "source": self.source, "file": self.file, "row": rec.row,
                            "kind": rec.kind, "key": rec.key,
                            "value": self.pii.protect_field("value", rec.value, self.region)})
            else:  # pragma: no cover - a parser bug
                raise TypeError(f"a parser yielded {rec!r}; expected Event, Reject or Reference")
        self._flush()
        return self.max_row + self._rejected_parts, len(self._rejected_rows) + self._rejected_parts

    def _reject(self, row: int, reason: str, raw_text: str | None) -> None:
        db.execute(self.con, "insert into raw_rejects values ($load_id, $source, $file, $row, $reason, $text)",
                   {"load_id": self.load_id, "source": self.source, "file": self.file, "row": row,
                    "reason": self.pii.protect_text(reason, self.region),
                    "text": self.pii.protect_text(raw_text, self.region)})

    def _cap(self, event: Event) -> None:
        """Quarantine the record of ``event``: it has more identifiers than the cap (its events
        already buffered are dropped; its later ones are skipped)."""
        self._events = [(e, ids) for e, ids in self._events if e.row != event.row]
        self._capped.add(event.row)
        self._rejected_rows.add(event.row)
        kinds: dict[str, int] = {}
        for id_type, _ in event.identifiers:
            kinds[id_type] = kinds.get(id_type, 0) + 1
        raw = (f"event_time={event.event_time or ''} | event_type={event.event_type or ''} | identifiers: "
               + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())))
        self._reject(event.row, over_cap_reason(self.max_identifiers or 0), raw)

    def _flush(self) -> None:
        if not self._events:
            return
        pairs, self._events = self._events, []
        events = [e for e, _ in pairs]
        protect = self.pii.protect_field
        columns: dict[str, pa.Array] = {
            "_row": pa.array([e.row for e in events], pa.int64()),
            "_part": pa.array([e.part for e in events], pa.int32()),
        }
        for name in EVENT_COLUMNS:
            columns[name] = pa.array([protect(name, getattr(e, name), self.region) for e in events], pa.string())
        columns["updated_at"] = pa.array([protect("updated_at", e.updated_at, self.region) for e in events], pa.string())
        columns["identifiers"] = pa.array([protect_identifiers(ids, self.pii, self.region) for _, ids in pairs],
                                          IDENTIFIERS_ARROW_TYPE)
        keys, values = [], []
        for e in events:
            items = sorted((str(k), v) for k, v in e.properties.items())
            keys.append([k for k, _ in items])
            values.append([None if v is None else protect(k, str(v), self.region) for k, v in items])
        columns["prop_keys"] = pa.array(keys, pa.list_(pa.string()))
        columns["prop_values"] = pa.array(values, pa.list_(pa.string()))
        batch = pa.table(columns)
        db.register(self.con, "_cjm_records", batch)
        try:
            db.execute(self.con, (
                "insert into raw_events by name\n"
                "select $load_id as _load_id, $source as _source, $file as _file, _row, _part,\n    "
                + ", ".join(EVENT_COLUMNS)
                + ", updated_at, identifiers, map(prop_keys, prop_values) as properties\nfrom _cjm_records"
            ), {"load_id": self.load_id, "source": self.source, "file": self.file})
        finally:
            db.unregister(self.con, "_cjm_records")


def protect_identifiers(ids: list[dict], pii: PiiPolicy, region: str = "RU") -> list[dict]:
    """Normalised identifiers as the warehouse stores them under ``pii`` (hashes in hash mode; in
    an identifier of another type, such as an e-mail used as ``user_id``, its phones and e-mails)."""
    if not pii.hashing:
        return ids
    return [{"id_type": i["id_type"], "id_value": pii.protect(i["id_type"], i["id_value"], region),
             "raw": pii.protect_raw(i["id_type"], i["raw"], i["id_value"], region)} for i in ids]


def write_records(con: duckdb.DuckDBPyConnection, records: Iterator[Record], *, load_id: int, source: str,
                  file: Path | str, region: str = "RU", pii: PiiPolicy = CLEAR,
                  max_identifiers: int | None = None) -> tuple[int, int]:
    """Write a parser's records for one file; return (records read, records rejected). A record
    with more than ``max_identifiers`` identifiers is quarantined whole."""
    return RecordWriter(con, load_id=load_id, source=source, file=str(file), region=region,
                        pii=pii, max_identifiers=max_identifiers).write_all(records)
