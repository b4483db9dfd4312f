"""The ``hubspot`` format: HubSpot deals (CRM API v3 JSON) and the deal property history CSV.

Reads

* deals API responses (``GET /crm/v3/objects/deals?properties=dealname,amount,dealstage,
  pipeline,closedate,createdate&propertiesWithHistory=dealstage,pipeline&associations=contacts,companies``,
  also batch reads and search results): ``results[]`` with ``id``, ``properties{}``,
  ``createdAt``, ``updatedAt``, ``archived``, ``propertiesWithHistory.dealstage[]`` and
  ``associations.contacts.results[].id``; one response, several saved as a JSON array, a bare
  list of deals, or one response / deal per line (NDJSON);
* the deal pipelines response (``GET /crm/v3/pipelines/deals``: ``results[]`` with
  ``stages[]``): dictionary entries ``hubspot_pipeline`` (``<pipeline id>`` -> label) and
  ``hubspot_stage`` (``<pipeline id>:<stage id>`` -> label);
* the deal property history table as Airbyte (``deals_property_history``: ``dealId,
  property, value, sourceType, sourceId, sourceLabel, timestamp, updatedByUserId``) or
  Fivetran (``deal_property_history``: ``deal_id, name, value, source, source_id,
  timestamp``) write it, as CSV.

Events (identifiers ``crm_deal`` and, from the deals API, each associated ``crm_contact``
and ``crm_company``; ``channel`` = ``crm``):

* ``deal_created`` at ``properties.createdate`` (else ``createdAt``), ``deal:<id>:created``,
  ``updated_at`` = ``updatedAt``, ``revenue`` = ``amount``;
* ``deal_stage_changed`` per ``dealstage`` history entry, ``deal:<id>:stage:<stage>:<epoch s>``
  (the same id from the API and from the history CSV: one event), with ``stage_id``,
  ``pipeline_id`` (the pipeline in effect then), ``previous_stage_id``, ``stage_semantic``
  (``closedwon`` -> won, ``closedlost`` -> lost, else open; options ``won_stages`` /
  ``lost_stages`` for custom pipelines). A deal without stage history in a closed stage
  gets one won/lost event at ``closedate``;
* history CSV rows of other properties: ``deal_updated`` (``property``, ``value``), and a
  ``createdate`` row is the deal's ``deal_created``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from .. import textfiles
from ..parsing import as_text, clean, epoch_seconds, option_values, raw_json
from ..records import Event, Record, Reference, Reject
from .common import compact, stage_semantic, string_list

#: History table columns: canonical (Airbyte) name -> names other exporters use.
_HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "dealId": ("deal_id", "dealid", "objectId", "object_id"),
    "property": ("name", "property_name", "propertyName"),
    "value": ("new_value",),
    "timestamp": ("change_timestamp", "updated_at"),
    "sourceType": ("source", "source_type", "change_source"),
    "sourceId": ("source_id", "change_source_id"),
    "sourceLabel": ("source_label",),
    "updatedByUserId": ("updated_by_user_id",),
}
_HISTORY_REQUIRED = ("dealId", "property", "value", "timestamp")


class _Opts:
    def __init__(self, opts: Mapping[str, Any], src: SourceConfig, path: Path):
        self.won = string_list(opts.get("won_stages"), "won_stages", src, path)
        self.lost = string_list(opts.get("lost_stages"), "lost_stages", src, path)

    def semantic(self, stage: str | None) -> str:
        return stage_semantic(stage, self.won, self.lost)


def _stage_event(row: int, part: int, deal_id: str, stage: str, when: Any, *, pipeline: str | None,
                 previous: str | None, opts: _Opts, identifiers: list[tuple[str, str]], updated_at: str | None,
                 extra: Mapping[str, Any]) -> Event:
    seconds = epoch_seconds(when)
    stamp = seconds if seconds is not None else clean(when)
    return Event(
        row=row, part=part, event_time=clean(when), event_type="deal_stage_changed",
        event_id=f"deal:{deal_id}:stage:{stage}:{stamp}", channel="crm", updated_at=updated_at,
        identifiers=identifiers,
        properties=compact({"pipeline_id": pipeline, "stage_id": stage, "stage_semantic": opts.semantic(stage),
                            "previous_stage_id": previous, **extra}))


def _history(entries: Any) -> list[dict]:
    """A ``propertiesWithHistory`` list oldest first (the API gives newest first)."""
    items = [e for e in entries or [] if isinstance(e, dict) and clean(e.get("value")) is not None]
    items.reverse()
    items.sort(key=lambda e: (epoch_seconds(e.get("timestamp")) is None, epoch_seconds(e.get("timestamp")) or 0))
    return items


def _value_at(history: list[dict], when: Any) -> str | None:
    """The history's value in effect at ``when`` (the last change at or before it)."""
    at = epoch_seconds(when)
    if at is None:
        return None
    value = None
    for e in history:
        ts = epoch_seconds(e.get("timestamp"))
        if ts is not None and ts <= at:
            value = clean(e.get("value"))
    return value


def _associated(deal: Mapping[str, Any], kind: str) -> list[str]:
    out = []
    for item in textfiles.dig(deal, "associations", kind, "results") or []:
        if isinstance(item, dict):
            v = clean(item.get("id")) or clean(item.get("toObjectId"))
            if v is not None and v not in out:
                out.append(v)
    return out


def _deal_records(row: int, deal: Mapping[str, Any], opts: _Opts) -> list[Record]:
    deal_id = clean(deal.get("id")) or clean(textfiles.dig(deal, "properties", "hs_object_id"))
    if deal_id is None:
        return [Reject(row, "id: missing (a deal without an id cannot be told apart from its re-exports)", raw_json(deal))]
    props_in = deal.get("properties") if isinstance(deal.get("properties"), dict) else {}
    contacts, companies = _associated(deal, "contacts"), _associated(deal, "companies")
    identifiers = [("crm_deal", deal_id), *(("crm_contact", c) for c in contacts),
                   *(("crm_company", c) for c in companies)]
    updated = clean(deal.get("updatedAt")) or clean(props_in.get("hs_lastmodifieddate"))
    stage, pipeline = clean(props_in.get("dealstage")), clean(props_in.get("pipeline"))
    properties = compact({
        **{k: as_text(v) for k, v in props_in.items()},
        "pipeline_id": pipeline,
        "status": opts.semantic(stage) if stage else None,
        "archived": clean(deal.get("archived")),
        "contact_ids": ", ".join(contacts) or None,
        "company_ids": ", ".join(companies) or None,
    })
    out: list[Record] = [Event(
        row=row, part=0, event_time=clean(props_in.get("createdate")) or clean(deal.get("createdAt")),
        event_type="deal_created", event_id=f"deal:{deal_id}:created", channel="crm",
        utm_source=clean(props_in.get("utm_source")), utm_medium=clean(props_in.get("utm_medium")),
        utm_campaign=clean(props_in.get("utm_campaign")),
        revenue=clean(props_in.get("amount")), updated_at=updated, identifiers=identifiers, properties=properties)]
    with_history = deal.get("propertiesWithHistory") if isinstance(deal.get("propertiesWithHistory"), dict) else {}
    stages = _history(with_history.get("dealstage"))
    pipelines = _history(with_history.get("pipeline"))
    previous = None
    for e in stages:
        value = clean(e.get("value"))
        out.append(_stage_event(
            row, len(out), deal_id, value, e.get("timestamp"),
            pipeline=_value_at(pipelines, e.get("timestamp")) or pipeline, previous=previous, opts=opts,
            identifiers=identifiers, updated_at=updated,
            extra={"source_type": clean(e.get("sourceType")), "source_id": clean(e.get("sourceId")),
                   "source_label": clean(e.get("sourceLabel")), "updated_by_user_id": clean(e.get("updatedByUserId")),
                   "amount": clean(props_in.get("amount"))}))
        previous = value
    if not stages and stage and opts.semantic(stage) != "open" and clean(props_in.get("closedate")):
        # no stage history: the outcome at the close date, so a deals-only export shows it
        out.append(_stage_event(
            row, len(out), deal_id, stage, props_in.get("closedate"), pipeline=pipeline, previous=None, opts=opts,
            identifiers=identifiers, updated_at=updated,
            extra={"amount": clean(props_in.get("amount")), "from_snapshot": "1"}))
    return out


def _pipeline_records(row: int, pipeline: Mapping[str, Any]) -> list[Record]:
    pipeline_id = clean(pipeline.get("id"))
    if pipeline_id is None:
        return [Reject(row, "id: missing (a pipeline without an id)", raw_json(pipeline))]
    out: list[Record] = [Reference(row, "hubspot_pipeline", pipeline_id, clean(pipeline.get("label")) or pipeline_id)]
    for s in pipeline.get("stages") or []:
        if isinstance(s, dict) and clean(s.get("id")) is not None:
            out.append(Reference(row, "hubspot_stage", f"{pipeline_id}:{clean(s.get('id'))}",
                                 clean(s.get("label")) or clean(s.get("id"))))
    return out


def _api_error(obj: Any) -> str | None:
    """The message of a HubSpot error response (``{"status": "error", "message": ..., "category": ...}``)."""
    if isinstance(obj, dict) and obj.get("status") == "error" and "message" in obj:
        return f"{obj.get('category') or ''} {obj.get('message')}".strip()
    return None


def _parse_json(path: Path, src: SourceConfig, opts: _Opts) -> Iterator[Record]:
    for row, _, item in textfiles.json_records(path, src, {"results": "results"}, _api_error):
        if isinstance(item, Reject):
            yield item
        elif not isinstance(item, dict):
            yield Reject(row, f"a record must be a JSON object, got {type(item).__name__}", raw_json(item))
        elif isinstance(item.get("stages"), list) and "properties" not in item:
            yield from _pipeline_records(row, item)
        else:
            yield from _deal_records(row, item, opts)


# --------------------------------------------------------------------------- history CSV


def _parse_history(path: Path, src: SourceConfig, opts: _Opts) -> Iterator[Record]:
    table = textfiles.read_table(path, src)
    header = table.header
    cols = {name: textfiles.find_column(header, name, *aliases) for name, aliases in _HISTORY_COLUMNS.items()}
    missing = [n for n in _HISTORY_REQUIRED if cols[n] is None]
    if missing:
        textfiles.require_columns(header, missing, src, path, "the HubSpot deal property history")
    used = {c for c in cols.values() if c}
    rows = list(table.rows)

    def get(rec: Mapping[str, Any], name: str) -> str | None:
        return clean(rec.get(cols[name])) if cols[name] else None

    # per deal: its stage and pipeline changes in time order, for previous_stage_id / pipeline_id
    stage_times: dict[str, list[tuple[int, int]]] = defaultdict(list)
    pipelines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for n, rec in rows:
        if isinstance(rec, Reject) or get(rec, "dealId") is None:
            continue
        ts = epoch_seconds(get(rec, "timestamp"))
        prop = (get(rec, "property") or "").lower()
        if ts is None:
            continue
        if prop == "dealstage" and get(rec, "value"):
            stage_times[get(rec, "dealId")].append((ts, n))
        elif prop == "pipeline" and get(rec, "value"):
            pipelines[get(rec, "dealId")].append((ts, get(rec, "value")))
    for v in stage_times.values():
        v.sort()
    for v in pipelines.values():
        v.sort()
    by_row = {n: rec for n, rec in rows}

    for n, rec in rows:
        if isinstance(rec, Reject):
            yield rec
            continue
        deal_id = get(rec, "dealId")
        prop = get(rec, "property")
        if deal_id is None:
            yield Reject(n, f"{cols['dealId']}: empty (a change of no deal)", raw_json(rec))
            continue
        if prop is None:
            yield Reject(n, f"{cols['property']}: empty (which property changed is not given)", raw_json(rec))
            continue
        value, when = get(rec, "value"), get(rec, "timestamp")
        ts = epoch_seconds(when)
        extra = compact({
            **{h: clean(v) for h, v in rec.items() if h not in used},
            "source_type": get(rec, "sourceType"), "source_id": get(rec, "sourceId"),
            "source_label": get(rec, "sourceLabel"), "updated_by_user_id": get(rec, "updatedByUserId"),
        })
        identifiers = [("crm_deal", deal_id)]
        low = prop.lower()
        if low == "dealstage" and value is not None:
            previous = None
            order = stage_times.get(deal_id, [])
            if ts is not None:
                i = order.index((ts, n))
                if i > 0:
                    previous = get(by_row[order[i - 1][1]], "value")
            pipeline = None
            if ts is not None and pipelines.get(deal_id):
                changes = pipelines[deal_id]
                i = bisect.bisect_right([t for t, _ in changes], ts)
                pipeline = changes[i - 1][1] if i > 0 else None
            yield _stage_event(n, 0, deal_id, value, when, pipeline=pipeline, previous=previous, opts=opts,
                               identifiers=identifiers, updated_at=None, extra=extra)
        elif low == "createdate" and value is not None:
            yield Event(row=n, event_time=value, event_type="deal_created", event_id=f"deal:{deal_id}:created",
                        channel="crm", identifiers=identifiers, properties=compact({**extra, "createdate": value}))
        else:
            stamp = ts if ts is not None else when
            yield Event(row=n, event_time=when, event_type="deal_updated",
                        event_id=f"deal:{deal_id}:property:{prop}:{stamp}", channel="crm", identifiers=identifiers,
                        properties=compact({**extra, "property": prop, "value": value}))


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every record of one HubSpot file: a deals / pipelines API response, or the deal property history CSV."""
    opts = _Opts(option_values("hubspot", src), src, path)
    if textfiles.is_json(path):
        yield from _parse_json(path, src, opts)
    else:
        yield from _parse_history(path, src, opts)

