"""Shared helpers of the call-tracking formats (``calltouch``, ``comagic``, ``callrail``).

Every call-tracking export is a list of calls, one record per call, in an API JSON
response (one page, a bare list, or several pages saved as a JSON array of responses or
one response per line) or in a CSV/HTML-table export of the same list. :func:`read_calls`
reads any of these into numbered records; the helpers below turn the vendors' spellings
into the conventions every format shares:

* flags (``true``, ``1``, ``Да``, ``Успешный``) -> ``"1"``/``"0"`` (:func:`flag`);
* durations (``95``, ``"00:01:35"``, ``"1 мин 35 сек"``) -> seconds (:func:`seconds`);
* call times (``05/03/2024 14:21:07``, ``05.03.2024 14:21``, ``03/05/2024 09:21 AM``) ->
  naive ISO ``YYYY-MM-DD HH:MM:SS`` in the source's zone (:func:`local_time`); ISO times
  with an offset and epoch digits pass through; a value that is no valid time is passed
  through unchanged so staging quarantines the row naming ``event_time``;
* the channel of a call (:func:`call_channel`): its utm/medium fields through
  :func:`records.web_channel`, ``phone`` when nothing is known (``<не указано>`` = empty).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..config import SourceConfig
from ..errors import InputDataError
from . import textfiles
from . import records
from .records import Event, Reject, raw_json, text, web_channel

#: Values a call tracker writes for "nothing known" (compared trimmed, lower-cased).
NOT_GIVEN = frozenset(("", "<не указано>", "не указано", "<не определено>", "не определено", "(not set)",
                       "(not provided)", "null", "undefined", "n/a", "-", "—"))

_TRUE = frozenset(("1", "true", "t", "yes", "y", "да", "д", "+", "истина", "on", "успешный", "успешно", "отвечен",
                   "answered", "answered call"))
_FALSE = frozenset(("0", "false", "f", "no", "n", "нет", "н", "ложь", "off", "пропущенный", "неуспешный",
                    "не отвечен", "неотвеченный", "missed", "missed call", "voicemail", "abandoned", "no answer"))

#: Channel names of call trackers' own reports that :func:`records.web_channel` does not know.
_EXTRA_CHANNELS = {
    "offline": "offline", "офлайн": "offline", "оффлайн": "offline",
    "реклама": "paid", "контекстная реклама": "paid", "платный трафик": "paid",
    "поисковые системы": "organic", "органический трафик": "organic", "поиск": "organic",
    "прямые заходы": "direct", "прямой заход": "direct", "(direct)": "direct",
    "сайты": "referral", "переходы по ссылкам на сайтах": "referral", "переходы с сайтов": "referral",
    "социальные сети": "social", "соцсети": "social", "внутренние переходы": "internal",
    "рассылки": "email", "почтовые рассылки": "email", "мессенджеры": "messenger",
}


def clean(value: Any) -> str | None:
    """A scalar as trimmed text; None for empty values and ``<не указано>``-style placeholders.

    >>> clean(" yandex "), clean("<не указано>"), clean(1696470418123456789), clean(None), clean("(none)"), clean("none")
    ('yandex', None, '1696470418123456789', None, '(none)', 'none')
    """
    return records.clean(value, NOT_GIVEN)


def as_text(value: Any) -> str | None:
    """Any JSON value as property text (:func:`records.as_text`), placeholders counting as empty.

    >>> as_text(["a", "b"]), as_text({"x": 1}), as_text([]), as_text(False), as_text("<не указано>")
    ('a, b', '{"x":1}', None, '0', None)
    """
    return records.as_text(value, clean)


def flag(value: Any) -> str | None:
    """A yes/no value as ``"1"``/``"0"``; None when empty or not a yes/no word.

    >>> flag(True), flag("false"), flag("Да"), flag(" нет "), flag(1), flag("Успешный"), flag(None), flag("maybe")
    ('1', '0', '1', '0', '1', '1', None, None)
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    t = text(value)
    if t is None:
        return None
    t = t.strip().lower()
    if t in _TRUE:
        return "1"
    if t in _FALSE:
        return "0"
    return None


def negate(value: str | None) -> str | None:
    """``"1"`` <-> ``"0"``; None stays None (``answered = not is_lost``)."""
    return None if value is None else ("0" if value == "1" else "1")


_HMS = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:\.\d+)?$")
_WORDS = re.compile(r"^(?:(\d+)\s*(?:ч|час\w*|h|hr|hrs)\.?\s*)?(?:(\d+)\s*(?:м|мин\w*|m|min\w*)\.?\s*)?"
                    r"(?:(\d+)\s*(?:с|сек\w*|s|sec\w*)\.?)?$", re.IGNORECASE)


def seconds(value: Any) -> str | None:
    """A duration as whole seconds (text): ``95``, ``"95"``, ``"00:01:35"``, ``"1:35"``,
    ``"1 мин 35 сек"``; a value it cannot read is kept as it was (trimmed).

    >>> seconds(95), seconds("00:01:35"), seconds("1:35"), seconds("1 мин 35 сек"), seconds(95.0), seconds(""), seconds("n/a?")
    ('95', '95', '95', '95', '95', None, 'n/a?')
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    t = clean(value)
    if t is None:
        return None
    if re.fullmatch(r"\d+", t):
        return str(int(t))
    if re.fullmatch(r"\d+[.,]0+", t):
        return str(int(re.split(r"[.,]", t)[0]))
    m = _HMS.match(t)
    if m:
        h, mi, s = (int(x) if x else 0 for x in m.groups())
        return str(h * 3600 + mi * 60 + s)
    m = _WORDS.match(t)
    if m and any(m.groups()):
        h, mi, s = (int(x) if x else 0 for x in m.groups())
        return str(h * 3600 + mi * 60 + s)
    return t


_SLASH = re.compile(r"^(\d{1,2})([/.])(\d{1,2})\2(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?)?$")
_ISO_AMPM = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])$")


def local_time(value: Any, slash_order: str = "dmy") -> str | None:
    """A call time as staging reads it.

    ``dd/mm/yyyy HH:MM[:SS]`` (``slash_order="dmy"``; ``"mdy"`` for US exports), ``dd.mm.yyyy``
    and 12-hour ``AM``/``PM`` times become naive ``YYYY-MM-DD HH:MM:SS``; epoch numbers become
    digits; ISO times (with or without an offset) pass through. In a slash date, a number over
    12 is the day whatever the order. A value that is no valid time is returned
    unchanged, so staging quarantines it with the column named.

    >>> local_time("05/03/2024 14:21:07"), local_time("06.03.2024 00:20"), local_time("03/05/2024 09:21 PM", "mdy")
    ('2024-03-05 14:21:07', '2024-03-06 00:20:00', '2024-03-05 21:21:00')
    >>> local_time(1709637667), local_time("2024-03-05T09:21:07-05:00"), local_time("31/02/2024 10:00:00"), local_time("")
    ('1709637667', '2024-03-05T09:21:07-05:00', '31/02/2024 10:00:00', None)
    >>> local_time("03/25/2024 10:00:00"), local_time("25/03/2024 10:00:00", "mdy")
    ('2024-03-25 10:00:00', '2024-03-25 10:00:00')
    """
    if isinstance(value, bool):
        return text(value)
    if isinstance(value, (int, float)):
        return text(value)
    t = clean(value)
    if t is None:
        return None
    m = _SLASH.match(t)
    if m:
        a, sep, b, year, hh, mi, ss, ampm = m.groups()
        day, month = int(a), int(b)
        if sep == "/" and ((slash_order == "mdy" and day <= 12) or (day <= 12 < month)):
            day, month = month, day
        return _naive(int(year), month, day, hh, mi, ss, ampm) or t
    m = _ISO_AMPM.match(t)
    if m:
        year, month, day, hh, mi, ss, ampm = m.groups()
        return _naive(int(year), int(month), int(day), hh, mi, ss, ampm) or t
    return t


def _naive(year: int, month: int, day: int, hh: str | None, mi: str | None, ss: str | None,
           ampm: str | None) -> str | None:
    hour = int(hh or 0)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        return dt.datetime(year, month, day, hour, int(mi or 0), int(ss or 0)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


_STATUS_NOT_ANSWERED = ("неуспеш", "пропущ", "не отвеч", "неотвеч", "занят", "сброс", "missed", "no answer",
                        "voicemail", "abandon")


def status_answered(value: Any) -> str | None:
    """``answered`` from a call status column (Calltouch ``Статус``, CallRail ``Call Status``).

    >>> status_answered("Успешный"), status_answered("Пропущенный"), status_answered("Неуспешный звонок"), status_answered("?")
    ('1', '0', '0', None)
    >>> status_answered("Answered Call"), status_answered("Missed Call"), status_answered("Voicemail")
    ('1', '0', '0')
    """
    f = flag(value)
    if f is not None:
        return f
    t = (clean(value) or "").lower()
    if any(w in t for w in _STATUS_NOT_ANSWERED):
        return "0"
    if any(w in t for w in ("успеш", "отвеч", "принят", "answered")):
        return "1"
    return None


def call_channel(*candidates: Any) -> str:
    """The channel of a call: the first known utm_medium / medium / traffic source among
    ``candidates`` (:func:`records.web_channel`, plus tracker channel names such as
    ``Прямые заходы`` or ``offline``), ``phone`` when none is given.

    >>> call_channel("<не указано>", "<не указано>"), call_channel(None, "cpc"), call_channel(None, "(direct)")
    ('phone', 'paid', 'direct')
    >>> call_channel("Organic"), call_channel(None, "Прямые заходы"), call_channel("", "yandex")
    ('organic', 'direct', 'other')
    """
    values = [c for c in (clean(v) for v in candidates) if c]
    if not values:
        return "phone"
    first = values[0].lower()
    if first in _EXTRA_CHANNELS:
        return _EXTRA_CHANNELS[first]
    return web_channel(values[0]) or "phone"


def ga_client_id(value: Any) -> str | None:
    """A Google Analytics client id as GA exports write it: the ``_ga`` cookie's ``GA1.2.`` prefix dropped.

    >>> ga_client_id("GA1.2.1234567890.1696470418"), ga_client_id("1234567890.1696470418"), ga_client_id("")
    ('1234567890.1696470418', '1234567890.1696470418', None)
    """
    t = clean(value)
    if t is None:
        return None
    m = re.fullmatch(r"GA\d+\.\d+\.(\d+\.\d+)", t, re.IGNORECASE)
    return m.group(1) if m else t


def amount(value: Any) -> str | None:
    """A money value as text staging reads: currency signs and letters dropped, a ``,``
    thousands separator dropped when a ``.`` decimal point follows (``$1,250.00``); a
    decimal comma (``12 300,50``) is kept for staging.

    >>> amount("$1,250.00"), amount("12 300,50 ₽"), amount(25), amount(None), amount("USD 10")
    ('1250.00', '12 300,50', '25', None, '10')
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text(value)
    t = clean(value)
    if t is None:
        return None
    t = re.sub(r"[^\d.,\s\-]", "", t).strip()
    if "," in t and "." in t and t.rfind(".") > t.rfind(","):
        t = t.replace(",", "")
    return t or None


def decimal_sum(values: Iterable[Any]) -> str | None:
    """The sum of numbers (text or JSON numbers) as text; None when none is a number.

    >>> decimal_sum([1500, "2500.50", None, "x"]), decimal_sum([None])
    ('4000.50', None)
    """
    total, seen = Decimal(0), False
    for v in values:
        t = text(v) if not isinstance(v, str) else v.replace(" ", "").replace(",", ".")
        if t is None:
            continue
        try:
            total += Decimal(t)
            seen = True
        except InvalidOperation:
            continue
    return str(total) if seen else None


def direction(value: Any) -> str | None:
    """``in`` / ``out`` from the trackers' spellings; another non-empty value is kept lower-cased.

    >>> direction("inbound"), direction("out"), direction("Исходящий"), direction(None)
    ('in', 'out', 'out', None)
    """
    t = clean(value)
    if t is None:
        return None
    low = t.lower()
    if low in ("in", "inbound", "incoming", "входящий", "входящая", "вход"):
        return "in"
    if low in ("out", "outbound", "outgoing", "исходящий", "исходящая", "исход"):
        return "out"
    return low


def tag_names(value: Any) -> str | None:
    """Tag names of a call, joined with ``, ``: from a list of strings, of ``{"name"|"tag_name": ...}``
    objects, or Calltouch's ``[{"category", "type", "names": [...]}]``; text is kept as it is.

    >>> tag_names([{"category": "Sales", "type": "manual", "names": ["Заказ", "VIP"]}]), tag_names([{"tag_name": "Продажа"}])
    ('Заказ, VIP', 'Продажа')
    >>> tag_names(["Existing Customer", {"name": "Lead", "color": "red"}]), tag_names("a, b"), tag_names([])
    ('Existing Customer, Lead', 'a, b', None)
    """
    if not isinstance(value, list):
        return as_text(value)
    names: list[str] = []
    for item in value:
        if isinstance(item, dict):
            if isinstance(item.get("names"), list):
                names.extend(n for n in (clean(x) for x in item["names"]) if n)
            else:
                n = clean(item.get("name") if "name" in item else item.get("tag_name"))
                if n:
                    names.append(n)
        else:
            n = clean(item)
            if n:
                names.append(n)
    return ", ".join(names) or None


# --------------------------------------------------------------------------- reading


@dataclass
class Calls:
    """The records of one call-tracking file: ``kind`` is ``json`` or ``table``; for a table,
    ``header`` holds its columns; ``rows`` yields ``(row number, record or Reject)``."""

    kind: str
    header: list[str]
    rows: Iterator[tuple[int, dict | Reject]]


def read_calls(path: Path, src: SourceConfig, list_keys: tuple[str, ...]) -> Calls:
    """The call records of a JSON response / list / NDJSON file, or of a CSV or HTML table.

    ``list_keys`` are the dotted paths of the records list in one API response
    (``records``, ``result.data``, ``calls``); a JSON array whose every element has such a
    list is several pages, read in order, numbered on across pages.
    """
    data = textfiles.read_bytes(path)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        if textfiles.is_ndjson(data):
            return Calls("json", [], _ndjson_records(path, src, list_keys))
        doc = textfiles.load_json(path, src)
        return Calls("json", [], _numbered(_unwrap(doc, list_keys, src, path)))
    table = textfiles.read_table(path, src)
    return Calls("table", table.header, iter(table.rows))


def _records_list(obj: Any, list_keys: tuple[str, ...]) -> list | None:
    if not isinstance(obj, dict):
        return None
    for key in list_keys:
        value = textfiles.dig(obj, *key.split("."))
        if isinstance(value, list):
            return value
    return None


_ANY_LIST_KEYS = ("records", "calls", "result.data", "data")


def _check_error(obj: Any, src: SourceConfig, path: Path) -> None:
    if isinstance(obj, dict) and obj.get("error") and not _records_list(obj, _ANY_LIST_KEYS):
        err = obj["error"]
        message = err.get("message") if isinstance(err, dict) else err
        raise InputDataError(src.name, str(path), f"the file holds an API error response, not calls: {message!r}")


def _unwrap(doc: Any, list_keys: tuple[str, ...], src: SourceConfig, path: Path) -> Iterator[Any]:
    if isinstance(doc, list):
        if doc and all(_records_list(page, list_keys) is not None for page in doc):
            for page in doc:  # several API responses saved as one JSON array
                yield from _records_list(page, list_keys)
        else:
            for item in doc:
                _check_error(item, src, path)
            yield from doc
        return
    _check_error(doc, src, path)
    records = _records_list(doc, list_keys)
    if records is None:
        keys = list(doc) if isinstance(doc, dict) else type(doc).__name__
        raise InputDataError(src.name, str(path), f"no list of calls found under {', '.join(list_keys)}; "
                                                  f"the JSON document has: {keys}")
    yield from records


def _record_or_reject(n: int, item: Any) -> dict | Reject:
    if isinstance(item, dict):
        return item
    return Reject(n, f"a call record must be a JSON object, got {type(item).__name__}",
                  raw_json(item))


def _numbered(items: Iterable[Any]) -> Iterator[tuple[int, dict | Reject]]:
    for n, item in enumerate(items, start=1):
        yield n, _record_or_reject(n, item)


def _ndjson_records(path: Path, src: SourceConfig, list_keys: tuple[str, ...]) -> Iterator[tuple[int, dict | Reject]]:
    n = 0
    for _, obj in textfiles.iter_ndjson(path, src):
        if isinstance(obj, Reject):
            n += 1
            yield n, Reject(n, obj.reason, obj.raw_text)
            continue
        records = _records_list(obj, list_keys)
        for item in (records if records is not None else [obj]):
            n += 1
            yield n, _record_or_reject(n, item)


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


def build_call(row: int, *, call_id: str, event_time: str | None, channel: str, identifiers: list[tuple[str, Any]],
               properties: dict[str, Any], utm: tuple[Any, Any, Any] = (None, None, None), url: Any = None,
               revenue: Any = None, updated_at: str | None = None) -> Event:
    """The ``call`` event of one record; empty identifiers and properties are left out.

    An id a spreadsheet turned into a float (``1,70971E+18``) has lost its digits: it is no
    identifier (it would join unrelated people), only the property ``<id_type>_raw``.
    """
    ids: list[tuple[str, str]] = []
    properties = {k: v for k, v in properties.items() if v is not None}
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


def snake(name: str) -> str:
    """``camelCase`` -> ``camel_case``.

    >>> snake("uniqTargetCall"), snake("sipCallId"), snake("utm_source")
    ('uniq_target_call', 'sip_call_id', 'utm_source')
    """
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def check_slash_dates(opts: Mapping[str, Any], src: SourceConfig, path: Path) -> None:
    """The ``slash_dates`` option must be ``dmy`` or ``mdy``."""
    value = opts.get("slash_dates", "dmy")
    if value not in ("dmy", "mdy"):
        raise InputDataError(src.name, str(path), f"options.slash_dates: {value!r} is not 'dmy' (05/03/2024 = "
                                                  "5 March) or 'mdy' (05/03/2024 = May 3)")
