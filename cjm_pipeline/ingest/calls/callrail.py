"""The ``callrail`` format: CallRail API v3 calls, one ``call`` event per call.

Reads the ``GET /v3/a/{account_id}/calls.json`` response ``{"page": 1, "per_page": 250,
"total_pages": ..., "total_records": ..., "calls": [...]}``, a single call
(``GET /calls/{id}.json``), a webhook body saved one per file (pre-call, post-call, call
modified: the call object with ``resource_id``), a bare list of calls, several pages saved as
one JSON array, one response / call per line (NDJSON), Airbyte records, or a CSV / HTML-table
export with the same snake_case field names (a few Call Log export headers such as
``Start Time``, ``Phone Number``, ``Tracking Number`` are accepted too).

Event: ``call``, ``event_id`` ``call:<id>`` (``CAL...``; a webhook's ``resource_id``), time
``start_time`` (ISO 8601 with its offset; a naive or ``mm/dd/yyyy hh:mm AM`` time, as the UI
export writes it, is read in the account's zone: the source's ``timezone``, else the config's).
Identifiers: ``customer_phone_number`` (the customer; numbers without a country code are read
with the source's ``phone_region``, so set it, e.g. ``US``), ``ga`` (ga_client_id),
``person_id`` (calltracking_client), ``session_uuid`` (calltracking_session).
``tracking_phone_number`` and ``business_phone_number`` are the company's numbers:
properties ``tracking_number`` / ``business_number``, never identifiers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ..parsing import local_time, money, raw_json
from ..records import Event, Reject
from .common import CallFormat, build_call, parse_calls
from .values import call_channel, clean, direction, flag, ga_client_id, seconds, status_answered, tag_names

#: Export headers of each API field (the API name itself always works too).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("Call ID", "call_id"),
    "resource_id": (),
    "start_time": ("Start Time", "Call Start Time", "Date"),
    "customer_phone_number": ("Phone Number", "Customer Phone Number", "Caller Number", "customer_number"),
    "tracking_phone_number": ("Tracking Number",),
    "business_phone_number": ("Business Number", "Receiving Number"),
    "answered": ("Answered",),
    "call_status": ("Call Status", "Status"),
    "direction": ("Direction",),
    "duration": ("Duration (seconds)", "Duration"),
    "first_call": ("First-Time Caller", "First Call"),
    "voicemail": ("Voicemail",),
    "ga": ("Google Analytics Client ID", "GA Client ID"),
    "person_id": ("person_resource_id",),
    "session_uuid": (),
    "source": ("Source",),
    "medium": ("Medium",),
    "utm_source": (),
    "utm_medium": (),
    "utm_campaign": (),
    "utm_content": (),
    "utm_term": (),
    "landing_page_url": ("Landing Page", "Landing Page URL"),
    "value": ("Value",),
    "tags": ("Tags",),
}


def call_record(row: int, r: Mapping[str, Any], extra: dict[str, str | None], opts: Mapping[str, Any],
                raw: str | None = None) -> Event | Reject:
    """The ``call`` event of one CallRail call (a webhook's ``resource_id`` is the API's call ``id``)."""
    call_id = clean(r.get("resource_id")) or clean(r.get("id"))
    if call_id is None:
        return Reject(row, "id: missing (a call without an id cannot be told apart from its re-exports)",
                      raw if raw is not None else raw_json({**r, **extra}))
    answered = flag(r.get("answered"))
    if answered is None:
        answered = status_answered(r.get("call_status"))
    properties: dict[str, Any] = {
        **extra,
        "answered": answered,
        "direction": direction(r.get("direction")),
        "duration_s": seconds(r.get("duration")),
        "first_call": flag(r.get("first_call")),
        "voicemail": flag(r.get("voicemail")),
        "call_status": clean(r.get("call_status")),
        "tracking_number": clean(r.get("tracking_phone_number")),
        "business_number": clean(r.get("business_phone_number")),
        "source": clean(r.get("source")),
        "medium": clean(r.get("medium")),
        "utm_content": clean(r.get("utm_content")),
        "utm_term": clean(r.get("utm_term")),
        "value": clean(r.get("value")),
        "tags": tag_names(r.get("tags")),
    }
    return build_call(
        row,
        call_id=call_id,
        event_time=local_time(clean(r.get("start_time")), opts.get("slash_dates", "mdy")),
        channel=call_channel(r.get("utm_medium"), r.get("medium"), r.get("source")),
        identifiers=[
            ("phone", r.get("customer_phone_number") or r.get("customer_number")),
            ("ga_client_id", ga_client_id(r.get("ga"))),
            ("calltracking_client", r.get("person_id") or r.get("person_resource_id")),
            ("calltracking_session", r.get("session_uuid")),
        ],
        properties=properties,
        utm=(r.get("utm_source"), r.get("utm_medium"), r.get("utm_campaign")),
        url=r.get("landing_page_url"),
        revenue=money(clean(r.get("value"))),
    )


#: How :func:`~.common.parse_calls` reads CallRail files.
CALLRAIL = CallFormat(
    name="callrail", list_keys=("calls", "data"), aliases=ALIASES, required=("id", "start_time"),
    what="a CallRail calls export", record=call_record,
)


def parse(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Every call of one CallRail file (API JSON or CSV)."""
    return parse_calls(CALLRAIL, path, src)
