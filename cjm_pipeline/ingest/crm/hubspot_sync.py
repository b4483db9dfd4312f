"""The ``hubspot`` format's tables: deal property history and flat deal rows, as sync tools write them.

Many analysts get HubSpot through a sync tool rather than the API, into files or a warehouse
table exported as CSV / JSON. This module reads those layouts:

* **deal property history**: one row per change of a deal property, as Airbyte
  (``deals_property_history``: ``dealId, property, value, sourceType|source, sourceId,
  timestamp`` with epoch milliseconds or ISO), Fivetran (``deal_property_history``:
  ``deal_id, name, value, source, source_id, timestamp`` like ``2019-10-22 16:08:05.067`` or
  ``... UTC``) or the HubSpot v1 history write it, and Fivetran's ``deal_stage`` table
  (``deal_id, date_entered, value, source, _fivetran_start``: stage changes only);
* **flat deal rows**: Fivetran's ``deal`` table (``deal_id, deal_pipeline_id,
  deal_pipeline_stage_id, property_<name>``), Airbyte's flattened ``properties_<name>`` columns,
  Stitch's ``properties__<name>__value`` (and the v1 API's nested ``{"value": ...}`` properties
  in its JSON), dlt's bare property columns (``dealstage``, ``amount``, ``createdate``), each
  turned into the API's deal shape (:func:`api_deal`).

A change's time is read to epoch seconds (naive times in the source's zone, UTC for HubSpot
unless the source sets ``timezone``), and the event id is built from those seconds, so the
same stage change read from the API's ``propertiesWithHistory`` and from a sync tool's table
is one event.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ..parsing import clean, epoch_seconds, raw_json
from ..records import Event, Record, Reject
from .common import compact

#: History columns: canonical (Airbyte / HubSpot API) name -> the names other tools use.
HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "dealId": ("deal_id", "dealid", "objectId", "object_id"),
    "property": ("name", "property_name", "propertyName"),
    "value": ("new_value",),
    "timestamp": ("change_timestamp", "updated_at", "date_entered"),
    "sourceType": ("source", "source_type", "change_source"),
    "sourceId": ("source_id", "change_source_id"),
    "sourceLabel": ("source_label",),
    "updatedByUserId": ("updated_by_user_id",),
}

#: Fields of the API deal that a flat row may hold under their own name (dlt, hand-made exports).
_DEAL_FIELDS = ("dealname", "dealstage", "pipeline", "amount", "createdate", "closedate", "hs_lastmodifieddate",
                "dealtype", "hubspot_owner_id", "utm_source", "utm_medium", "utm_campaign")
_STITCH = re.compile(r"properties__(.+?)__value")


def column_of(keys: Iterable[str], name: str) -> str | None:
    """The key holding history field ``name`` (its own name or another tool's, case-insensitively)."""
    lowered = {k.lower(): k for k in keys}
    for candidate in (name, *HISTORY_COLUMNS.get(name, ())):
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    return None


def is_history(keys: Iterable[str]) -> bool:
    """True for a property history row (a deal id, a value, a time, and a property name unless it is
    Fivetran's ``deal_stage`` table with ``date_entered``).

    >>> is_history(["dealId", "property", "value", "timestamp"]), is_history(["deal_id", "date_entered", "value"])
    (True, True)
    >>> is_history(["deal_id", "property_dealname", "deal_pipeline_stage_id"])
    False
    """
    keys = list(keys)
    have = {n for n in ("dealId", "property", "value", "timestamp") if column_of(keys, n)}
    stage_table = any(k.lower() == "date_entered" for k in keys)
    return {"dealId", "value", "timestamp"} <= have and ("property" in have or stage_table)


def api_deal(row: Mapping[str, Any]) -> dict[str, Any]:
    """A deal in the API's shape (``id``, ``properties``, associations) from any layout.

    >>> api_deal({"deal_id": 7, "deal_pipeline_stage_id": "closedwon", "property_amount": "10", "is_deleted": False})
    {'deal_id': 7, 'is_deleted': False, 'id': 7, 'properties': {'dealstage': 'closedwon', 'amount': '10'}}
    >>> api_deal({"id": "5", "properties": {"dealstage": "x"}, "properties_amount": 3, "companies": ["9"]})["properties"]
    {'dealstage': 'x', 'amount': 3}
    """
    given = row.get("properties")
    props: dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
    deal: dict[str, Any] = {}
    for key, value in row.items():
        low = key.lower()
        m = _STITCH.fullmatch(key)
        if m:
            props.setdefault(m.group(1), value)
        elif low.startswith(("properties_", "property_")) and low != "properties":
            props.setdefault(key.split("_", 1)[1], value)
        elif key == "deal_pipeline_stage_id":
            props.setdefault("dealstage", value)
        elif key == "deal_pipeline_id":
            props.setdefault("pipeline", value)
        elif key in _DEAL_FIELDS and not isinstance(given, Mapping):
            props.setdefault(key, value)
        elif key != "properties":
            deal[key] = value
    # the v1 API (and Stitch's JSON) nests each property: {"dealstage": {"value": ..., "timestamp": ...}}
    props = {k: v.get("value") if isinstance(v, Mapping) and "value" in v else v for k, v in props.items()}
    deal_id = next((row.get(k) for k in ("id", "dealId", "deal_id", "hs_object_id") if clean(row.get(k))), None)
    deal["id"] = deal_id if deal_id is not None else clean(props.get("hs_object_id"))
    deal["properties"] = props
    return deal


def associated(deal: Mapping[str, Any], kind: str) -> list[str]:
    """Ids of a deal's associated ``contacts`` / ``companies``: the API's
    ``associations.<kind>.results[].id``, a sync tool's top-level list of ids (Airbyte), or
    Stitch's ``associations.associatedVids`` / ``associatedCompanyIds``.

    >>> associated({"associations": {"contacts": {"results": [{"id": "1"}, {"toObjectId": 2}]}}}, "contacts")
    ['1', '2']
    >>> associated({"companies": ["9", 9, "10"]}, "companies"), associated({"associations": {"associatedVids": [5]}}, "contacts")
    (['9', '10'], ['5'])
    """
    stitch = {"contacts": "associatedVids", "companies": "associatedCompanyIds"}[kind]
    assoc = deal.get("associations") if isinstance(deal.get("associations"), Mapping) else {}
    found = assoc.get(kind)
    items: list[Any] = []
    if isinstance(found, Mapping):
        items += found.get("results") or []
    items += assoc.get(stitch) or []
    if isinstance(deal.get(kind), list):
        items += deal[kind]
    out: list[str] = []
    for item in items:
        value = clean(item.get("id")) or clean(item.get("toObjectId")) if isinstance(item, Mapping) else clean(item)
        if value is not None and value not in out:
            out.append(value)
    return out


# --------------------------------------------------------------------------- history rows

StageEvent = Callable[..., Event]


def history_records(rows: list[tuple[int, Mapping[str, Any] | Reject]], stage_event: StageEvent,
                    tz: str | None) -> Iterator[Record]:
    """Events of property history rows (CSV rows or JSON records, any tool's column names).

    ``dealstage`` rows -> ``deal_stage_changed`` (via ``stage_event``, with the previous stage
    and the pipeline in effect, both by time); ``createdate`` -> ``deal_created``; any other
    property -> ``deal_updated``. A row of Fivetran's ``deal_stage`` table is a ``dealstage`` row.
    """
    keys = [k for _, rec in rows if isinstance(rec, Mapping) for k in rec]
    cols = {name: column_of(dict.fromkeys(keys), name) for name in HISTORY_COLUMNS}
    used = {c for c in cols.values() if c}

    def get(rec: Mapping[str, Any], name: str) -> str | None:
        return clean(rec.get(cols[name])) if cols[name] else None

    def prop(rec: Mapping[str, Any]) -> str | None:
        return get(rec, "property") if cols["property"] else "dealstage"

    def when(rec: Mapping[str, Any]) -> int | None:
        return epoch_seconds(get(rec, "timestamp"), tz)

    # per deal: its stage and pipeline changes in time order, for previous_stage_id / pipeline_id
    stage_times: dict[str, list[tuple[int, int]]] = defaultdict(list)
    pipelines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for n, rec in rows:
        if isinstance(rec, Reject) or get(rec, "dealId") is None or when(rec) is None or not get(rec, "value"):
            continue
        low = (prop(rec) or "").lower()
        if low == "dealstage":
            stage_times[get(rec, "dealId")].append((when(rec), n))
        elif low == "pipeline":
            pipelines[get(rec, "dealId")].append((when(rec), get(rec, "value")))
    for v in (*stage_times.values(), *pipelines.values()):
        v.sort()
    by_row = dict(rows)
    for n, rec in rows:
        if isinstance(rec, Reject):
            yield rec
            continue
        deal_id, name = get(rec, "dealId"), prop(rec)
        if deal_id is None:
            yield Reject(n, f"{cols['dealId']}: empty (a change of no deal)", raw_json(rec))
            continue
        if name is None:
            yield Reject(n, f"{cols['property']}: empty (which property changed is not given)", raw_json(rec))
            continue
        value, at = get(rec, "value"), get(rec, "timestamp")
        seconds = when(rec)
        extra = compact({
            **{h: clean(v) for h, v in rec.items() if h not in used},
            "source_type": get(rec, "sourceType"), "source_id": get(rec, "sourceId"),
            "source_label": get(rec, "sourceLabel"), "updated_by_user_id": get(rec, "updatedByUserId"),
        })
        identifiers = [("crm_deal", deal_id)]
        low = name.lower()
        if low == "dealstage" and value is not None:
            previous = pipeline = None
            order = stage_times.get(deal_id, [])
            if seconds is not None:
                i = order.index((seconds, n))
                if i > 0:
                    previous = get(by_row[order[i - 1][1]], "value")
                changes = pipelines.get(deal_id) or []
                j = bisect.bisect_right([t for t, _ in changes], seconds)
                pipeline = changes[j - 1][1] if j > 0 else None
            yield stage_event(n, 0, deal_id, value, at, pipeline=pipeline, previous=previous,
                              identifiers=identifiers, updated_at=None, extra=extra)
        elif low == "createdate" and value is not None:
            yield Event(row=n, event_time=value, event_type="deal_created", event_id=f"deal:{deal_id}:created",
                        channel="crm", identifiers=identifiers, properties=compact({**extra, "createdate": value}))
        else:
            stamp = seconds if seconds is not None else at
            yield Event(row=n, event_time=at, event_type="deal_updated",
                        event_id=f"deal:{deal_id}:property:{name}:{stamp}", channel="crm", identifiers=identifiers,
                        properties=compact({**extra, "property": name, "value": value}))
