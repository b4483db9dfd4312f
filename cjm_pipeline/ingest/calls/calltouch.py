"""The ``calltouch`` format: Calltouch's calls journal, one ``call`` event per call.

Reads

* the calls API (``GET /calls-service/RestAPI/{siteId}/calls-diary/calls``) responses:
  ``{"page": 1, "pageTotal": 3, "pageSize": 1000, "recordsTotal": ..., "records": [...]}``,
  a bare list of records, several responses saved as one JSON array, or one response /
  record per line (NDJSON);
* the UI export (Журнал звонков, saved as CSV or as an HTML table), with Russian headers
  (``Номер звонка``/``ID``, ``Звонивший``, ``Дата``, ``Длительность``, ``Ожидание``,
  ``Куда звонили``, ``Статус``, ``Источник``, ``utm_*`` ...) or the API field names.

Event: ``call``, ``event_id`` ``call:<callId>``, time from ``timestamp`` (unix seconds) when
given, else ``date`` (``dd/mm/yyyy HH:MM:SS``, the site's local time; ``dd.mm.yyyy`` and ISO
too). Identifiers: the caller (``callerNumber``), ``yaClientId`` (ym_client_id), ``clientId``
(ga_client_id), ``sessionId`` (calltracking_session), ``ctClientId`` and ``ctCallerId``
(calltracking_client). The dialled ``phoneNumber`` and the ``redirectNumber`` are company
numbers: properties ``tracking_number`` / ``redirect_number``, never identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ..parsing import local_time, raw_json
from ..records import Event, Reject
from .common import CallFormat, build_call, parse_calls
from .values import (
    as_text, call_channel, clean, decimal_sum, flag, ga_client_id, seconds, snake, status_answered, tag_names,
)

#: Export headers of each API field (the API name itself always works too).
ALIASES: dict[str, tuple[str, ...]] = {
    "callId": ("Номер звонка", "ID", "ID звонка", "Id звонка", "Идентификатор звонка", "call_id"),
    "date": ("Дата", "Дата звонка", "Дата и время", "Дата и время звонка", "Время звонка"),
    "time": ("Время", "Время звонка"),
    "timestamp": (),
    "callerNumber": ("Звонивший", "Номер звонящего", "Номер абонента", "Телефон звонящего", "caller_number"),
    "phoneNumber": ("Куда звонили", "Номер для отслеживания", "Отслеживаемый номер", "Виртуальный номер"),
    "redirectNumber": ("Номер переадресации", "Переадресация", "Куда переадресован"),
    "successful": ("Успешный",),
    "status": ("Статус", "Статус звонка"),
    "uniqueCall": ("Уникальный", "Уникальный звонок"),
    "targetCall": ("Целевой", "Целевой звонок"),
    "uniqTargetCall": ("Уникально-целевой", "Уникально-целевой звонок", "Уникальный целевой"),
    "callbackCall": ("Обратный звонок",),
    "duration": ("Длительность", "Длительность разговора", "Длительность звонка"),
    "waitingConnect": ("Ожидание", "Время ожидания", "Ожидание ответа"),
    "sessionId": ("ID сессии", "Сессия", "session_id"),
    "ctClientId": ("ID клиента Calltouch", "ct_client_id"),
    "ctCallerId": ("ID звонящего Calltouch", "ct_caller_id"),
    "clientId": ("Google Client ID", "GA Client ID", "ClientID Google", "ga_client_id"),
    "yaClientId": ("Yandex Client ID", "ClientID Яндекс", "ClientID Яндекс.Метрики", "Яндекс ClientID", "ym_client_id"),
    "source": ("Источник",),
    "medium": ("Канал", "Тип трафика"),
    "utmSource": ("utm_source",),
    "utmMedium": ("utm_medium",),
    "utmCampaign": ("utm_campaign",),
    "utmContent": ("utm_content",),
    "utmTerm": ("utm_term",),
    "url": ("Страница входа", "Посадочная страница", "URL", "Страница"),
    "callUrl": ("Страница звонка", "call_url"),
    "city": ("Город",),
    "manager": ("Менеджер", "Сотрудник"),
    "keyword": ("Ключевое слово", "Ключевая фраза"),
    "callTags": ("Теги", "Метки", "Теги звонка"),
}



def _orders(orders: Any) -> dict[str, str | None]:
    if not isinstance(orders, list) or not orders:
        return {"orders": as_text(orders)} if orders not in (None, []) else {}
    dicts = [o for o in orders if isinstance(o, dict)]
    ids = [clean(o.get("orderNumber")) or clean(o.get("orderId")) for o in dicts]
    return {
        "orders_count": str(len(orders)),
        "order_ids": ", ".join(i for i in ids if i) or None,
        "orders_planned_amount": decimal_sum(o.get("plannedAmount") for o in dicts),
        "orders_completed_amount": decimal_sum(o.get("completedAmount") for o in dicts),
    }


def _comments(comments: Any) -> str | None:
    if isinstance(comments, list) and all(isinstance(c, dict) for c in comments):
        texts = [clean(c.get("comment") if "comment" in c else c.get("text")) for c in comments]
        joined = " | ".join(t for t in texts if t)
        return joined or as_text(comments)
    return as_text(comments)


def _event_time(r: Mapping[str, Any], slash_order: str) -> str | None:
    ts = clean(r.get("timestamp"))
    if ts is not None and re.fullmatch(r"\d{9,13}", ts):
        return ts
    date = clean(r.get("date"))
    time = clean(r.get("time"))
    if date is not None and time is not None and ":" not in date:
        date = f"{date} {time}"
    return local_time(date, slash_order)


def call_record(row: int, r: Mapping[str, Any], extra: dict[str, str | None], opts: Mapping[str, Any],
                raw: str | None = None) -> Event | Reject:
    """The ``call`` event of one record (API field names in ``r``; ``extra``: other fields as properties)."""
    call_id = clean(r.get("callId"))
    if call_id is None:
        return Reject(row, "callId: missing (a call without an id cannot be told apart from its re-exports)",
                      raw if raw is not None else raw_json({**r, **extra}))
    callback = flag(r.get("callbackCall"))
    answered = flag(r.get("successful"))
    if answered is None:
        answered = status_answered(r.get("status"))
    orders = _orders(r.get("orders"))
    properties: dict[str, Any] = {
        **extra,
        "answered": answered,
        "direction": "out" if callback == "1" else "in",
        "duration_s": seconds(r.get("duration")),
        "wait_s": seconds(r.get("waitingConnect")),
        "unique_call": flag(r.get("uniqueCall")),
        "target_call": flag(r.get("targetCall")),
        "uniq_target_call": flag(r.get("uniqTargetCall")),
        "callback_call": callback,
        "tracking_number": clean(r.get("phoneNumber")),
        "redirect_number": clean(r.get("redirectNumber")),
        "status": clean(r.get("status")),
        "source": clean(r.get("source")),
        "medium": clean(r.get("medium")),
        "utm_content": clean(r.get("utmContent")),
        "utm_term": clean(r.get("utmTerm")),
        "keyword": clean(r.get("keyword")),
        "call_url": clean(r.get("callUrl")),
        "city": clean(r.get("city")),
        "manager": clean(r.get("manager")),
        "tags": tag_names(r.get("callTags")),
        "comments": _comments(r.get("comments")),
        **orders,
    }
    return build_call(
        row,
        call_id=call_id,
        event_time=_event_time(r, opts.get("slash_dates", "dmy")),
        channel=call_channel(r.get("utmMedium"), r.get("medium"), r.get("source")),
        identifiers=[
            ("phone", r.get("callerNumber")),
            ("ym_client_id", r.get("yaClientId")),
            ("ga_client_id", ga_client_id(r.get("clientId"))),
            ("calltracking_session", r.get("sessionId")),
            ("calltracking_client", r.get("ctClientId")),
            ("calltracking_client", r.get("ctCallerId")),
        ],
        properties=properties,
        utm=(r.get("utmSource"), r.get("utmMedium"), r.get("utmCampaign")),
        url=clean(r.get("url")) or clean(r.get("callUrl")),
    )


#: How :func:`~.common.parse_calls` reads Calltouch files (every API field it does not map becomes
#: a snake_case property).
CALLTOUCH = CallFormat(
    name="calltouch", list_keys=("records", "data"), aliases=ALIASES, required=("callId", "date"),
    what="a Calltouch calls export", record=call_record, also_mapped=("orders", "comments"), property_key=snake,
)


def parse(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Every call of one Calltouch file (API JSON or the journal's CSV/HTML export)."""
    return parse_calls(CALLTOUCH, path, src)
