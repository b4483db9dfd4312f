"""The ``comagic`` format: CoMagic / UIS / CallGear Data API ``get.calls_report``, one ``call`` event per call.

Reads the JSON-RPC response ``{"jsonrpc": "2.0", "id": 1, "result": {"data": [...],
"metadata": {...}}}``, a bare list of call records, several responses saved as one JSON array
(``offset`` paging), one response / record per line (NDJSON), or a CSV / HTML-table export
with the same field names. A JSON-RPC ``error`` response is an input error naming its message.

Event: ``call``, ``event_id`` ``call:<id>``, time ``start_time`` (``YYYY-MM-DD hh:mm:ss``, the
account's local time: set the source's ``timezone``). Identifiers: ``contact_phone_number``
(the customer), ``ym_client_id``, ``ua_client_id`` (ga_client_id), ``visitor_id``
(calltracking_visitor), ``visitor_session_id`` (calltracking_session), ``contact_id``
(calltracking_client). ``virtual_phone_number`` is the company's number: the property
``tracking_number``, never an identifier. ``person_id`` is a property only (see
``docs/formats/comagic.md``). ``updated_at`` is the latest ``tag_change_time``, so a re-export
whose call got a tag later replaces the earlier copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ..parsing import local_time, money, raw_json
from ..records import Event, Reject
from .common import CallFormat, build_call, parse_calls
from .values import call_channel, clean, direction, flag, ga_client_id, negate, seconds, tag_names

#: Export headers of each API field (the API name itself always works too).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("ID звонка", "Идентификатор звонка", "call_id"),
    "start_time": ("Время начала", "Дата и время", "Дата и время звонка"),
    "contact_phone_number": ("Номер абонента", "Номер клиента", "Телефон клиента"),
    "virtual_phone_number": ("Виртуальный номер",),
    "direction": ("Направление",),
    "is_lost": ("Потерянный", "Потерянный звонок"),
    "talk_duration": ("Длительность разговора",),
    "wait_duration": ("Длительность ожидания", "Время ожидания"),
    "ym_client_id": (),
    "ua_client_id": (),
    "visitor_id": (),
    "visitor_session_id": (),
    "contact_id": (),
    "person_id": (),
    "utm_source": (),
    "utm_medium": (),
    "utm_campaign": (),
    "eq_utm_medium": (),
    "entrance_page": ("Страница входа",),
    "communication_page_url": (),
    "channel": ("Канал",),
    "source": (),
    "sale_cost": (),
    "tags": ("Теги",),
}


def tags_changed(tags: Any) -> str | None:
    """The call's version time: the latest ``tag_change_time`` of its tags (a re-export with a
    tag set later replaces the earlier copy); None when no tag says when it was set.

    >>> tags_changed([{"tag_name": "a", "tag_change_time": "2024-03-05 14:25:00"}, {"tag_change_time": "2024-03-05 14:23:02"}])
    '2024-03-05 14:25:00'
    >>> tags_changed([]), tags_changed("Продажа")
    (None, None)
    """
    if not isinstance(tags, list):
        return None
    times = [local_time(clean(t.get("tag_change_time"))) for t in tags if isinstance(t, dict)]
    return max((t for t in times if t), default=None)


def call_record(row: int, r: Mapping[str, Any], extra: dict[str, str | None], opts: Mapping[str, Any],
                raw: str | None = None) -> Event | Reject:
    """The ``call`` event of one ``get.calls_report`` record."""
    call_id = clean(r.get("id"))
    if call_id is None:
        return Reject(row, "id: missing (a call without an id cannot be told apart from its re-exports)",
                      raw if raw is not None else raw_json({**r, **extra}))
    properties: dict[str, Any] = {
        **extra,
        "answered": negate(flag(r.get("is_lost"))),
        "direction": direction(r.get("direction")),
        "duration_s": seconds(r.get("talk_duration")),
        "wait_s": seconds(r.get("wait_duration")),
        "tracking_number": clean(r.get("virtual_phone_number")),
        "person_id": clean(r.get("person_id")),
        "call_source": clean(r.get("source")),
        "traffic_channel": clean(r.get("channel")),
        "eq_utm_medium": clean(r.get("eq_utm_medium")),
        "call_url": clean(r.get("communication_page_url")),
        "sale_cost": clean(r.get("sale_cost")),
        "tags": tag_names(r.get("tags")),
    }
    return build_call(
        row,
        call_id=call_id,
        event_time=local_time(clean(r.get("start_time"))),
        channel=call_channel(r.get("utm_medium"), r.get("eq_utm_medium"), r.get("channel")),
        identifiers=[
            ("phone", r.get("contact_phone_number")),
            ("ym_client_id", r.get("ym_client_id")),
            ("ga_client_id", ga_client_id(r.get("ua_client_id"))),
            ("calltracking_visitor", r.get("visitor_id")),
            ("calltracking_session", r.get("visitor_session_id")),
            ("calltracking_client", r.get("contact_id")),
        ],
        properties=properties,
        utm=(r.get("utm_source"), r.get("utm_medium"), r.get("utm_campaign")),
        url=clean(r.get("entrance_page")) or clean(r.get("communication_page_url")),
        revenue=money(clean(r.get("sale_cost"))),
        updated_at=tags_changed(r.get("tags")),
    )


#: How :func:`~.common.parse_calls` reads ``get.calls_report`` files.
COMAGIC = CallFormat(
    name="comagic", list_keys=("result.data", "data"), aliases=ALIASES, required=("id", "start_time"),
    what="a get.calls_report export", record=call_record,
)


def parse(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Every call of one CoMagic / UIS / CallGear file."""
    return parse_calls(COMAGIC, path, src)
