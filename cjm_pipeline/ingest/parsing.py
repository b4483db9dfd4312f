"""The value helpers every format parser shares: text, times, money, channels, options.

A parser keeps values as text, exactly as its file has them, and turns only a
format-specific spelling into the one staging reads (``docs/semantics.md``, "Times" and
"Amounts", says what staging reads). These helpers are the one place each spelling is read:

* :func:`text`, :func:`clean`, :func:`as_text`, :func:`raw_json`: any JSON or CSV value as text;
* :func:`local_time`: a time as an export writes it (``05.03.2024 14:21``, ``03/05/2024 2:21 PM``)
  as naive ``YYYY-MM-DD HH:MM:SS`` in the source's time zone;
* :func:`epoch_seconds`, :func:`iso_utc`: epoch digits and ISO times with a zone as whole seconds, and back;
* :func:`money`: an amount cell (``289 000 ₽``, ``$1,250.00``) as the number text staging reads;
* :func:`web_channel`: a traffic source type or utm/GA4 medium as one of :data:`~cjm_pipeline.schema.CHANNELS`;
* :func:`option_values`: a source's ``options:`` over its format's defaults (the catalog
  :data:`cjm_pipeline.schema.FORMATS` holds the defaults).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import SourceConfig
from ..schema import FORMATS


# --------------------------------------------------------------------------- text


def text(value) -> str | None:
    """A JSON/CSV value as text: None stays None, numbers keep every digit, bools are 1/0.

    >>> text(1696470418123456789), text(12.5), text(True), text(None), text("  a ")
    ('1696470418123456789', '12.5', '1', None, '  a ')
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def clean(value, null_words: frozenset[str] = frozenset()) -> str | None:
    """A scalar as trimmed text (ints exact); None for empty values, lists, objects and, compared
    lower-cased, any of ``null_words`` (a format's own "nothing known" spellings).

    >>> clean(" a "), clean(1696470418123456789), clean(""), clean(None), clean([1]), clean(False)
    ('a', '1696470418123456789', None, None, None, '0')
    >>> clean("<не указано>", frozenset({"<не указано>"}))
    """
    if isinstance(value, (dict, list)):
        return None
    t = text(value)
    if t is None:
        return None
    t = t.strip()
    return None if not t or t.lower() in null_words else t


def as_text(value, scalar=clean) -> str | None:
    """Any JSON value as property text: scalars via ``scalar`` (default :func:`clean`), lists of
    scalars joined with ``, ``, other lists and objects as compact JSON; None when empty.

    >>> as_text(["a", 2]), as_text({"x": 1}), as_text([]), as_text(None)
    ('a, 2', '{"x":1}', None, None)
    """
    if isinstance(value, list):
        if not value:
            return None
        if all(not isinstance(v, (dict, list)) for v in value):
            parts = [scalar(v) for v in value]
            return ", ".join(p for p in parts if p) or None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None
    return scalar(value)


def raw_json(value) -> str:
    """A record as JSON text for a :class:`~cjm_pipeline.ingest.records.Reject` (at most 2000 characters)."""
    return json.dumps(value, ensure_ascii=False, default=str)[:2000]


# --------------------------------------------------------------------------- times

_DATE_TIME = re.compile(r"^(\d{1,2})([/.])(\d{1,2})\2(\d{4})"
                        r"(?:[\sT,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?)?$")
_ISO_AMPM = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])$")


def local_time(value: Any, slash_order: str = "dmy", *, keep_dates: bool = False) -> str | None:
    """A time as an export writes it, as text staging reads; a naive time is in the source's zone.

    * ``dd.mm.yyyy`` and ``dd/mm/yyyy`` (``slash_order="mdy"``: ``mm/dd/yyyy``, the US order;
      a number over 12 is the day whatever the order), each with an optional time
      ``H:MM[:SS[.fff]]`` and ``AM``/``PM``, and ``YYYY-MM-DD hh:mm[:ss] AM``, become naive
      ``YYYY-MM-DD HH:MM:SS``; a date alone is midnight, or stays ``YYYY-MM-DD`` with
      ``keep_dates`` (amoCRM, whose event ids keep the date as written);
    * numbers become epoch digits; ISO 8601 times (with or without an offset) and epoch digits
      pass through;
    * anything else (a day that does not exist, a word) comes back trimmed, so staging
      quarantines the row naming the column.

    >>> local_time("05/03/2024 14:21:07"), local_time("06.03.2024 00:20"), local_time("03/05/2024 09:21 PM", "mdy")
    ('2024-03-05 14:21:07', '2024-03-06 00:20:00', '2024-03-05 21:21:00')
    >>> local_time(1709637667), local_time("2024-03-05T09:21:07-05:00"), local_time("31/02/2024 10:00:00"), local_time("")
    ('1709637667', '2024-03-05T09:21:07-05:00', '31/02/2024 10:00:00', None)
    >>> local_time("03/25/2024 10:00:00"), local_time("25/03/2024 10:00:00", "mdy"), local_time("2024-09-02 6:37 pm")
    ('2024-03-25 10:00:00', '2024-03-25 10:00:00', '2024-09-02 18:37:00')
    >>> local_time("05.03.2024"), local_time("05.03.2024", keep_dates=True), local_time(" вчера ")
    ('2024-03-05 00:00:00', '2024-03-05', 'вчера')
    """
    t = clean(value)
    if t is None:
        return None
    m = _DATE_TIME.match(t)
    if m:
        a, sep, b, year, hh, mi, ss, ampm = m.groups()
        day, month = int(a), int(b)
        if sep == "/" and ((slash_order == "mdy" and day <= 12) or (day <= 12 < month)):
            day, month = month, day
        if hh is None and keep_dates:
            try:
                return dt.date(int(year), month, day).strftime("%Y-%m-%d")
            except ValueError:
                return t
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


def epoch_seconds(value: Any, tz: str | None = None) -> int | None:
    """Whole seconds since the epoch (UTC) of a time: epoch digits (s, ms, µs), an ISO time with
    a zone (an offset, ``Z``, or `` UTC`` as BigQuery and Fivetran write it), or, given ``tz``, a
    naive ISO time in that zone. Event ids are built from these seconds, never from the time's
    spelling, so one change read from two files gives one id.

    >>> epoch_seconds(1709276818), epoch_seconds("1709276818123"), epoch_seconds("2024-03-01T07:06:58.500Z")
    (1709276818, 1709276818, 1709276818)
    >>> epoch_seconds("2024-03-01T10:06:58+0300"), epoch_seconds("2024-03-01 10:06:58"), epoch_seconds("soon")
    (1709276818, None, None)
    >>> epoch_seconds("2024-03-01 07:06:58.123 UTC"), epoch_seconds("2024-03-01 10:06:58", "Europe/Moscow")
    (1709276818, 1709276818)
    >>> epoch_seconds("2024-03-01 7:06:58", "UTC"), epoch_seconds("2024-03-01 10:06:58", "Mars/Base")
    (1709276818, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = text(value)
    t = str(value).strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", t):
        return int(float(t))
    if re.fullmatch(r"\d{12,14}", t):
        return int(t) // 1000
    if re.fullmatch(r"\d{15,17}", t):
        return int(t) // 1_000_000
    m = _ISO_TIME.fullmatch(t)
    if not m:
        return None
    day, hour, rest, zone = m.group(1), m.group(2), m.group(3), m.group(4)
    try:
        moment = dt.datetime.fromisoformat(f"{day}T{int(hour):02d}:{rest}")
        if zone is None:
            if not tz:
                return None
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        elif zone.upper() in ("Z", "UTC", "GMT"):
            moment = moment.replace(tzinfo=dt.timezone.utc)
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            moment = moment.replace(tzinfo=dt.timezone(sign * offset))
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return None
    return int(moment.timestamp())


_ISO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2}(?::\d{2})?)(?:\.\d+)?\s*(Z|z|UTC|GMT|[+-]\d{2}:?\d{2})?")


def iso_utc(seconds: int | None) -> str | None:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ``.

    >>> iso_utc(1709276818), iso_utc(None)
    ('2024-03-01T07:06:58Z', None)
    """
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- money

_CURRENCY = r"(?:руб\.?|р\.?|₽|rub|usd|eur|\$|€)"
_MONEY = re.compile(rf"(-?)\s*(?:{_CURRENCY}\s*)?(-?[\d\s,]*\d(?:[.,]\d+)?)\s*{_CURRENCY}?", re.IGNORECASE)


def money(value: Any) -> str | None:
    """An amount as the revenue text staging reads: a currency sign or word before or after the
    number dropped (``₽``, ``руб.``, ``р.``, ``RUB``, ``$``, ``USD``, ``€``, ``EUR``), a ``,``
    thousands separator dropped when a ``.`` decimal point follows; digit-group spaces and a
    decimal comma are kept (staging reads them). A cell that is no amount is kept as written,
    so staging quarantines the row naming ``revenue``.

    >>> money("289 000 ₽"), money("19 999,99 руб."), money("$1,250.00"), money("USD 10"), money("-$5.00")
    ('289 000', '19 999,99', '1250.00', '10', '-5.00')
    >>> money(25), money(12.5), money("1500"), money("1.250,50"), money("n/a"), money(None), money(" ")
    ('25', '12.5', '1500', '1.250,50', 'n/a', None, None)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text(value)
    t = clean(value)
    if t is None:
        return None
    m = _MONEY.fullmatch(t)
    if m is None:
        return t
    sign, number = m.groups()
    if sign and number.startswith("-"):
        return t
    number = sign + number.strip()
    if "," in number and "." in number and number.rfind(".") > number.rfind(","):
        number = number.replace(",", "")
    return number


# --------------------------------------------------------------------------- channels

_MEDIUM_CHANNEL = {
    # Metrica TrafficSource values
    "ad": "paid", "organic": "organic", "direct": "direct", "referral": "referral", "social": "social",
    "email": "email", "messenger": "messenger", "recommend": "recommend", "internal": "internal", "saved": "saved",
    # utm_medium / GA4 medium values
    "cpc": "paid", "ppc": "paid", "cpm": "paid", "cpa": "paid", "paid": "paid", "paidsearch": "paid",
    "paid_search": "paid", "display": "paid", "banner": "paid", "retargeting": "paid", "paid_social": "paid",
    "(none)": "direct", "none": "direct", "(direct)": "direct", "smm": "social", "social-network": "social",
    "social_network": "social", "sm": "social", "e-mail": "email", "newsletter": "email", "mail": "email",
    "messengers": "messenger", "referal": "referral", "offline": "offline",
}


def web_channel(*candidates: str | None) -> str | None:
    """The first candidate (a traffic source type or a utm/GA4 medium) mapped to
    :data:`~cjm_pipeline.schema.CHANNELS`; an unknown non-empty value becomes ``other``; None
    when every candidate is empty.

    >>> web_channel(None, "cpc"), web_channel("ad"), web_channel("(none)"), web_channel("push"), web_channel("", None)
    ('paid', 'paid', 'direct', 'other', None)
    """
    for value in candidates:
        if value is None or not str(value).strip() or str(value).strip().lower() in ("(not set)", "<не указано>"):
            continue
        return _MEDIUM_CHANNEL.get(str(value).strip().lower(), "other")
    return None


# --------------------------------------------------------------------------- options


def option_values(name: str, src: SourceConfig) -> dict[str, Any]:
    """The options of a source of format ``name``: the catalog's defaults
    (:data:`cjm_pipeline.schema.FORMATS`) overridden by the source's ``options:``.

    >>> option_values("calltouch", SourceConfig("s", "calltouch", "x", options={"slash_dates": "mdy"}))
    {'slash_dates': 'mdy'}
    >>> option_values("callrail", SourceConfig("s", "callrail", "x"))
    {'slash_dates': 'mdy'}
    """
    return {**FORMATS[name].options, **src.options}
