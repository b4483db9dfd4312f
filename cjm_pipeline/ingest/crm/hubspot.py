"""The ``hubspot`` format: HubSpot deals from the CRM API v3 or from a sync tool's tables.

Reads

* deals API responses (``GET /crm/v3/objects/deals?properties=dealname,amount,dealstage,
  pipeline,closedate,createdate&propertiesWithHistory=dealstage,pipeline&associations=contacts,companies``,
  also batch reads and search results): ``results[]`` with ``id``, ``properties{}``,
  ``createdAt``, ``updatedAt``, ``archived``, ``propertiesWithHistory.dealstage[]`` and
  ``associations.contacts.results[].id``; one response, several saved as a JSON array, a bare
  list of deals, a single deal (``GET /crm/v3/objects/deals/{id}``), or one response / deal per
  line (NDJSON), pretty-printed or not;
* the deal pipelines response (``GET /crm/v3/pipelines/deals``: ``results[]`` with
  ``stages[]``): dictionary entries ``hubspot_pipeline`` (``<pipeline id>`` -> label) and
  ``hubspot_stage`` (``<pipeline id>:<stage id>`` -> label);
* sync tools' records and tables (:mod:`.hubspot_sync`), as JSON / NDJSON (Airbyte messages or
  raw ``_airbyte_data`` rows included) or CSV / Excel: Airbyte's ``deals`` records (associations
  as top-level ``contacts`` / ``companies`` id lists), the deal property history (Airbyte
  ``deals_property_history``, Fivetran ``deal_property_history`` and ``deal_stage``), and flat deal
  rows (Fivetran ``deal``, Stitch, dlt).

Events (identifiers ``crm_deal`` and each associated ``crm_contact`` and ``crm_company``;
``channel`` = ``crm``):

* ``deal_created`` at ``properties.createdate`` (else ``createdAt``), ``deal:<id>:created``,
  ``updated_at`` = ``updatedAt``, with ``amount`` as a property;
* ``deal_stage_changed`` per ``dealstage`` history entry, ``deal:<id>:stage:<stage>:<epoch s>``
  (the seconds of the parsed time, so the API, a sync tool's history and its ``deal_stage``
  table give one event per change), with ``stage_id``, ``pipeline_id`` (the pipeline in effect
  then), ``previous_stage_id``, ``stage_semantic`` (``closedwon`` -> won, ``closedlost`` ->
  lost, else open; options ``won_stages`` / ``lost_stages`` for custom pipelines); a won one
  carries ``revenue`` = the deal's ``amount`` when the file has it. A deal without stage history
  in a closed stage gets one won/lost event at ``closedate``;
* history rows of other properties: ``deal_updated`` (``property``, ``value``), and a
  ``createdate`` row is the deal's ``deal_created``.

Times: HubSpot writes UTC (``Z``); a sync tool's naive times are UTC too, unless the source
sets ``timezone``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ...errors import InputDataError
from .. import jsondocs, textfiles
from ..parsing import as_text, clean, epoch_seconds, money, option_values, raw_json
from ..records import Event, Record, Reference, Reject
from .common import compact, stage_semantic, string_list
from .hubspot_sync import api_deal, associated, history_records, is_history


class _Opts:
    def __init__(self, opts: Mapping[str, Any], src: SourceConfig, path: Path):
        self.won = string_list(opts.get("won_stages"), "won_stages", src, path)
        self.lost = string_list(opts.get("lost_stages"), "lost_stages", src, path)
        self.tz = src.timezone  # the zone of naive times (ingest passes the one in force: UTC by default)

    def semantic(self, stage: str | None) -> str:
        return stage_semantic(stage, self.won, self.lost)


def _stage_event(row: int, part: int, deal_id: str, stage: str, when: Any, *, pipeline: str | None,
                 previous: str | None, opts: _Opts, identifiers: list[tuple[str, str]], updated_at: str | None,
                 extra: Mapping[str, Any]) -> Event:
    seconds = epoch_seconds(when, opts.tz)
    stamp = seconds if seconds is not None else clean(when)
    semantic = opts.semantic(stage)
    return Event(
        row=row, part=part, event_time=clean(when), event_type="deal_stage_changed",
        event_id=f"deal:{deal_id}:stage:{stage}:{stamp}", channel="crm", updated_at=updated_at,
        revenue=money(extra.get("amount")) if semantic == "won" else None, identifiers=identifiers,
        properties=compact({"pipeline_id": pipeline, "stage_id": stage, "stage_semantic": semantic,
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


def _deal_records(row: int, deal: Mapping[str, Any], opts: _Opts) -> list[Record]:
    deal = api_deal(deal)
    deal_id = clean(deal.get("id"))
    if deal_id is None:
        return [Reject(row, "id: missing (a deal without an id cannot be told apart from its re-exports)", raw_json(deal))]
    props_in = deal.get("properties") if isinstance(deal.get("properties"), dict) else {}
    contacts, companies = associated(deal, "contacts"), associated(deal, "companies")
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
        updated_at=updated, identifiers=identifiers, properties=properties)]
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


#: A deals / pipelines response keeps its records under ``results``; a single deal is bare.
_SHAPE = jsondocs.Shape({"results": "results"}, error=_api_error)  # history records have no id


def _parse_json(path: Path, src: SourceConfig, opts: _Opts) -> Iterator[Record]:
    history: list[tuple[int, Any]] = []  # property history records, read together at the end (previous stages)
    for row, _, item in jsondocs.records(path, src, _SHAPE):
        if isinstance(item, Reject):
            yield item
        elif not isinstance(item, dict):
            yield Reject(row, f"a record must be a JSON object, got {type(item).__name__}", raw_json(item))
        elif isinstance(item.get("stages"), list) and "properties" not in item:
            yield from _pipeline_records(row, item)
        elif "properties" not in item and is_history(item):
            history.append((row, item))
        else:
            yield from _deal_records(row, item, opts)
    yield from _history_records(history, opts)


def _history_records(rows: list[tuple[int, Any]], opts: _Opts) -> Iterator[Record]:
    def stage_event(*args, **kw) -> Event:
        return _stage_event(*args, opts=opts, **kw)

    return history_records(rows, stage_event, opts.tz)


def _parse_table(path: Path, src: SourceConfig, opts: _Opts) -> Iterator[Record]:
    """A CSV / Excel / HTML table: a property history table, or one deal per row."""
    table = textfiles.read_table(path, src)
    header = table.header
    if is_history(header):
        yield from _history_records(list(table.rows), opts)
        return
    if not any(h.lower() in ("id", "dealid", "deal_id", "hs_object_id") for h in header):
        raise InputDataError(src.name, str(path), "not a HubSpot deal property history (dealId, property, value, "
                                                  "timestamp; or Fivetran's deal_id, name, value, timestamp / "
                                                  f"date_entered) nor a deals table (id or deal_id); the file has: "
                                                  f"{header}")
    for row, rec in table.rows:
        if isinstance(rec, Reject):
            yield rec
        else:
            yield from _deal_records(row, rec, opts)


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every record of one HubSpot file: an API response (deals, pipelines), a sync tool's records
    (JSON / NDJSON), a property history table or a deals table (CSV / Excel)."""
    opts = _Opts(option_values("hubspot", src), src, path)
    if jsondocs.is_json(textfiles.head_bytes(path)):
        yield from _parse_json(path, src, opts)
    else:
        yield from _parse_table(path, src, opts)
