"""How the call trackers spell things, read into the conventions every call format shares.

* placeholders (``<не указано>``, ``(not set)``, ``-``) are no value (:func:`clean`);
* flags (``true``, ``1``, ``Да``, ``Успешный``) -> ``"1"``/``"0"`` (:func:`flag`);
* durations (``95``, ``"00:01:35"``, ``"1 мин 35 сек"``) -> seconds (:func:`seconds`);
* the channel of a call (:func:`call_channel`): its utm/medium fields through
  :func:`~cjm_pipeline.ingest.parsing.web_channel`, ``phone`` when nothing is known;
* directions, answered statuses, tags, GA client ids, sums of order amounts.

Call times and amounts are read by the shared :func:`~cjm_pipeline.ingest.parsing.local_time`
and :func:`~cjm_pipeline.ingest.parsing.money`, after :func:`clean`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import parsing
from ..parsing import text, web_channel

#: Values a call tracker writes for "nothing known" (compared trimmed, lower-cased).
NOT_GIVEN = frozenset(("", "<не указано>", "не указано", "<не определено>", "не определено", "(not set)",
                       "(not provided)", "null", "undefined", "n/a", "-", "—"))

_TRUE = frozenset(("1", "true", "t", "yes", "y", "да", "д", "+", "истина", "on", "успешный", "успешно", "отвечен",
                   "answered", "answered call"))
_FALSE = frozenset(("0", "false", "f", "no", "n", "нет", "н", "ложь", "off", "пропущенный", "неуспешный",
                    "не отвечен", "неотвеченный", "missed", "missed call", "voicemail", "abandoned", "no answer"))

#: Channel names of call trackers' own reports that :func:`parsing.web_channel` does not know.
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
    return parsing.clean(value, NOT_GIVEN)


def as_text(value: Any) -> str | None:
    """Any JSON value as property text (:func:`parsing.as_text`), placeholders counting as empty.

    >>> as_text(["a", "b"]), as_text({"x": 1}), as_text([]), as_text(False), as_text("<не указано>")
    ('a, b', '{"x":1}', None, '0', None)
    """
    return parsing.as_text(value, clean)


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
    ``candidates`` (:func:`parsing.web_channel`, plus tracker channel names such as
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



def snake(name: str) -> str:
    """``camelCase`` -> ``camel_case``.

    >>> snake("uniqTargetCall"), snake("sipCallId"), snake("utm_source")
    ('uniq_target_call', 'sip_call_id', 'utm_source')
    """
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
