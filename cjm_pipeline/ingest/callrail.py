"""The ``callrail`` format: CallRail API v3 calls, one ``call`` event per call.

Reads the ``GET /v3/a/{account_id}/calls.json`` response ``{"page": 1, "per_page": 250,
"total_pages": ..., "total_records": ..., "calls": [...]}``, a bare list of calls, several
pages saved as one JSON array, one response / call per line (NDJSON), or a CSV / HTML-table
export with the same snake_case field names (a few Call Log export headers such as
``Start Time``, ``Phone Number``, ``Tracking Number`` are accepted too).

Event: ``call``, ``event_id`` ``call:<id>`` (``CAL...``), time ``start_time`` (ISO 8601 with
its offset; a naive or ``mm/dd/yyyy hh:mm AM`` time is read in the source's time zone).
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

from ..config import SourceConfig
from .calltracking import (
    amount, build_call, call_channel, check_slash_dates, clean, direction, extra_properties, flag, ga_client_id,
    local_time, raw_json, read_calls, require_any, seconds, status_answered, table_record, tag_names,
)
from .formats import Format, option_values
from .records import Event, Reject

#: Export headers of each API field (the API name itself always works too).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("Call ID", "call_id"),
    "start_time": ("Start Time", "Call Start Time", "Date"),
    "customer_phone_number": ("Phone Number", "Customer Phone Number", "Caller Number"),
    "tracking_phone_number": ("Tracking Number",),
    "business_phone_number": ("Business Number", "Receiving Number"),
    "answered": ("Answered",),
    "call_status": ("Call Status", "Status"),
    "direction": ("Direction",),
    "duration": ("Duration (seconds)", "Duration"),
    "first_call": ("First-Time Caller", "First Call"),
    "voicemail": ("Voicemail",),
    "ga": ("Google Analytics Client ID", "GA Client ID"),
    "person_id": (),
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

_MAPPED = tuple(ALIASES)
_REQUIRED = ("id", "start_time")

DEFAULTS = {"slash_dates": "mdy"}


def call_record(row: int, r: Mapping[str, Any], extra: dict[str, str | None], opts: Mapping[str, Any],
                raw: str | None = None) -> Event | Reject:
    """The ``call`` event of one CallRail call."""
    call_id = clean(r.get("id"))
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
        event_time=local_time(r.get("start_time"), opts.get("slash_dates", "mdy")),
        channel=call_channel(r.get("utm_medium"), r.get("medium"), r.get("source")),
        identifiers=[
            ("phone", r.get("customer_phone_number")),
            ("ga_client_id", ga_client_id(r.get("ga"))),
            ("calltracking_client", r.get("person_id")),
            ("calltracking_session", r.get("session_uuid")),
        ],
        properties=properties,
        utm=(r.get("utm_source"), r.get("utm_medium"), r.get("utm_campaign")),
        url=r.get("landing_page_url"),
        revenue=amount(r.get("value")),
    )


def parse(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Every call of one CallRail file (API JSON or CSV)."""
    opts = option_values(FORMATS[0], src.options)
    check_slash_dates(opts, src, path)
    calls = read_calls(path, src, ("calls", "data"))
    if calls.kind == "table":
        require_any(calls.header, ALIASES, _REQUIRED, src, path, "a CallRail calls export")
    for row, rec in calls.rows:
        if isinstance(rec, Reject):
            yield rec
        elif calls.kind == "table":
            fields, extra = table_record(rec, ALIASES, calls.header)
            yield call_record(row, fields, {k: clean(v) for k, v in extra.items()}, opts, raw_json(rec))
        else:
            yield call_record(row, rec, extra_properties(rec, _MAPPED), opts)


FORMATS = (
    Format(
        name="callrail",
        summary="CallRail API v3 calls (JSON pages or CSV with the API field names), one 'call' event per call",
        parse=parse,
        options=dict(DEFAULTS),
    ),
)
