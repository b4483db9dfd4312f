"""The ``bitrix24`` format's REST records: deals, leads, contacts, stage names and stage history.

One function per list (``crm.deal.list``, ``crm.lead.list``, ``crm.contact.list``,
``crm.status.list``: :data:`HANDLERS`; ``crm.stagehistory.list``: :func:`history_records`)
turns a record into events or dictionary entries; :mod:`.bitrix24` tells which list a file
holds and reads its pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..parsing import clean, local_time
from ..records import Event, Record, Reference, Reject
from .bitrix24_fields import (
    SLASH_ORDER, Options, move_epoch, raw_text, record_properties, stage_category, unique_ids, values_of,
)

_HISTORY_TYPE = {"1": "created", "2": "moved", "3": "final", "5": "funnel_changed"}
_ITEM_PREFIX = re.compile(r"^DT(\d+)_(\d+):")


def _deal(row: int, r: Mapping[str, Any], o: Options) -> list[Record]:
    deal_id = clean(r.get("ID"))
    if deal_id is None:
        return [Reject(row, "ID: missing (a deal without an id cannot be told apart from its re-exports)", raw_text(r))]
    created = local_time(r.get("DATE_CREATE"), SLASH_ORDER)
    stage_id = clean(r.get("STAGE_ID"))
    stage_name = o.stages.get(stage_id) if stage_id else None
    category = stage_category(stage_id, r.get("CATEGORY_ID"))
    semantic = o.semantic(r.get("STAGE_SEMANTIC_ID"), stage_id, stage_name)
    updated = local_time(r.get("DATE_MODIFY"), SLASH_ORDER)
    opportunity = clean(r.get("OPPORTUNITY"))
    currency = clean(r.get("CURRENCY_ID"))
    ids: list[tuple[str, str]] = [("crm_deal", deal_id)]
    ids += [("crm_contact", v) for v in values_of(r.get("CONTACT_ID")) + values_of(r.get("CONTACT_IDS"))]
    company = clean(r.get("COMPANY_ID"))
    if company is not None and company != "0":
        ids.append(("crm_company", company))
    lead = clean(r.get("LEAD_ID"))
    if lead is not None and lead != "0":
        ids.append(("crm_lead", lead))
    ids = unique_ids(ids + o.mapped_ids(r))
    utm = dict(utm_source=clean(r.get("UTM_SOURCE")), utm_medium=clean(r.get("UTM_MEDIUM")),
               utm_campaign=clean(r.get("UTM_CAMPAIGN")))
    props = record_properties(r)
    props.update(stage_semantic=semantic, category_id=category, pipeline_id=category)
    if stage_name is not None:
        props["stage_name"] = stage_name
    props = {k: v for k, v in props.items() if v is not None}
    out: list[Record] = [_created_or_reject(row, r, created, Event(
        row, created, "deal_created", f"deal:{deal_id}:created", 0, channel="crm", updated_at=updated, identifiers=ids,
        properties=props, **utm), "deal")]
    if stage_id is None:
        return _whole(out)
    moved = local_time(r.get("MOVED_TIME"), SLASH_ORDER)
    stage_props: dict[str, str | None] = {
        "stage_id": stage_id, "stage_semantic": semantic, "category_id": category, "pipeline_id": category,
        "opportunity": opportunity, "currency": currency, "title": clean(r.get("TITLE")),
        "moved_by_id": clean(r.get("MOVED_BY_ID")), "assigned_by_id": clean(r.get("ASSIGNED_BY_ID")),
        "history_type": "current",
    }
    if stage_name is not None:
        stage_props["stage_name"] = stage_name
    if moved is not None:
        at, event_id = moved, f"deal:{deal_id}:stage:{stage_id}:{move_epoch(moved, o.tz)}"
    elif semantic in ("won", "lost") and updated is not None:
        # no MOVED_TIME in the export: a closed deal's last change stands in for its close
        at, event_id = updated, f"deal:{deal_id}:stage:{stage_id}"
        stage_props["stage_time"] = "date_modify"
    else:
        return _whole(out)
    out.append(Event(row, at, "deal_stage_changed", event_id, 1, channel="crm",
                     revenue=opportunity if semantic == "won" else None, updated_at=updated,
                     identifiers=list(ids), properties={k: v for k, v in stage_props.items() if v is not None}, **utm))
    return out


def _created_or_reject(row: int, r: Mapping[str, Any], created: str | None, event: Event, what: str) -> Record:
    """The creation event, or, without ``DATE_CREATE``, a :class:`Reject` of that part alone: the
    record's stage move (a ``select`` that left ``DATE_CREATE`` out) still loads."""
    if created is not None:
        return event
    return Reject(row, f"DATE_CREATE: missing (the {what}'s creation time is its event time); its other events are "
                       "loaded", raw_text(r), part=0)


def _whole(out: list[Record]) -> list[Record]:
    """A record whose only event is a part that cannot be read is rejected whole."""
    if len(out) == 1 and isinstance(out[0], Reject):
        return [Reject(out[0].row, out[0].reason.split(";")[0], out[0].raw_text)]
    return out


def _lead(row: int, r: Mapping[str, Any], o: Options) -> list[Record]:
    lead_id = clean(r.get("ID"))
    if lead_id is None:
        return [Reject(row, "ID: missing (a lead without an id cannot be told apart from its re-exports)", raw_text(r))]
    created = local_time(r.get("DATE_CREATE"), SLASH_ORDER)
    status_id = clean(r.get("STATUS_ID"))
    status_name = o.lead_statuses.get(status_id) if status_id else None
    semantic = o.semantic(r.get("STATUS_SEMANTIC_ID"), status_id, status_name)
    updated = local_time(r.get("DATE_MODIFY"), SLASH_ORDER)
    ids: list[tuple[str, str]] = [("crm_lead", lead_id)]
    ids += [("phone", v) for v in values_of(r.get("PHONE"))]
    ids += [("email", v) for v in values_of(r.get("EMAIL"))]
    ids += [("crm_contact", v) for v in values_of(r.get("CONTACT_ID")) + values_of(r.get("CONTACT_IDS"))]
    company = clean(r.get("COMPANY_ID"))
    if company is not None and company != "0":
        ids.append(("crm_company", company))
    ids = unique_ids(ids + o.mapped_ids(r))
    utm = dict(utm_source=clean(r.get("UTM_SOURCE")), utm_medium=clean(r.get("UTM_MEDIUM")),
               utm_campaign=clean(r.get("UTM_CAMPAIGN")))
    props = record_properties(r)
    props["stage_semantic"] = semantic
    if status_name is not None:
        props["status_name"] = status_name
    props = {k: v for k, v in props.items() if v is not None}
    out: list[Record] = [_created_or_reject(row, r, created, Event(
        row, created, "lead_created", f"lead:{lead_id}:created", 0, channel="crm", updated_at=updated, identifiers=ids,
        properties=props, **utm), "lead")]
    moved = local_time(r.get("MOVED_TIME"), SLASH_ORDER)
    if status_id is None or moved is None:
        return _whole(out)
    status_props = {"status_id": status_id, "status_name": status_name, "stage_semantic": semantic,
                    "history_type": "current"}
    event_id = f"lead:{lead_id}:status:{status_id}:{move_epoch(moved, o.tz)}"
    out.append(Event(row, moved, "lead_status_changed", event_id, 1, channel="crm", updated_at=updated,
                     identifiers=list(ids), properties={k: v for k, v in status_props.items() if v is not None}, **utm))
    return out


def _contact(row: int, r: Mapping[str, Any], o: Options) -> list[Record]:
    contact_id = clean(r.get("ID"))
    if contact_id is None:
        return [Reject(row, "ID: missing (a contact without an id cannot be told apart from its re-exports)",
                       raw_text(r))]
    created = local_time(r.get("DATE_CREATE"), SLASH_ORDER)
    if created is None:
        return [Reject(row, "DATE_CREATE: missing (the contact's creation time is its event time)", raw_text(r))]
    ids: list[tuple[str, str]] = [("crm_contact", contact_id)]
    ids += [("phone", v) for v in values_of(r.get("PHONE"))]
    ids += [("email", v) for v in values_of(r.get("EMAIL"))]
    lead = clean(r.get("LEAD_ID"))
    if lead is not None and lead != "0":
        ids.append(("crm_lead", lead))
    ids = unique_ids(ids + o.mapped_ids(r))
    return [Event(row, created, "contact_created", f"contact:{contact_id}:created", 0, channel="crm",
                  utm_source=clean(r.get("UTM_SOURCE")), utm_medium=clean(r.get("UTM_MEDIUM")),
                  utm_campaign=clean(r.get("UTM_CAMPAIGN")), updated_at=local_time(r.get("DATE_MODIFY"), SLASH_ORDER),
                  identifiers=ids, properties=record_properties(r))]


def _status(row: int, r: Mapping[str, Any], o: Options) -> list[Record]:
    entity = clean(r.get("ENTITY_ID"))
    status_id = clean(r.get("STATUS_ID"))
    name = clean(r.get("NAME"))
    for field_name, value in (("ENTITY_ID", entity), ("STATUS_ID", status_id), ("NAME", name)):
        if value is None:
            return [Reject(row, f"{field_name}: missing (a crm.status.list entry needs ENTITY_ID, STATUS_ID and NAME)",
                           raw_text(r))]
    assert entity is not None and status_id is not None and name is not None
    if entity == "DEAL_STAGE" or re.fullmatch(r"DEAL_STAGE_\d+", entity):
        kind = "bitrix24_stage"
    elif entity == "STATUS":
        kind = "bitrix24_lead_status"  # lead status NEW is not deal stage NEW
    else:
        kind = "bitrix24_" + entity.lower()
    return [Reference(row, kind, status_id, name)]


def history_records(records: list[tuple[int, Any]], o: Options) -> Iterator[Record]:
    """``crm.stagehistory.list`` rows; the previous stage of a row is the one before it
    (by time, then ID) of the same deal or lead in this file."""
    parsed = []
    for row, r in records:
        if isinstance(r, Reject):
            parsed.append((row, r, r.reason))
            continue
        if not isinstance(r, Mapping):
            parsed.append((row, r, None))
            continue
        owner = clean(r.get("OWNER_ID"))
        at = local_time(r.get("CREATED_TIME"), SLASH_ORDER)
        is_lead = r.get("STAGE_ID") is None and r.get("STATUS_ID") is not None
        stage = clean(r.get("STATUS_ID") if is_lead else r.get("STAGE_ID"))
        problem = None
        if owner is None:
            problem = "OWNER_ID: missing (the deal or lead the move belongs to)"
        elif at is None:
            problem = "CREATED_TIME: missing (the time of the move)"
        elif stage is None:
            problem = "STAGE_ID / STATUS_ID: missing (a deal row has STAGE_ID, a lead row STATUS_ID)"
        elif (m := _ITEM_PREFIX.match(stage)) is not None:
            problem = (f"STAGE_ID: {stage!r} is a stage of entity type {m.group(1)} (a smart process or invoice); "
                       "only deals (entityTypeId 2) and leads (1) are read")
        if problem:
            parsed.append((row, r, problem))
            continue
        parsed.append((row, r, ("lead" if is_lead else "deal", owner, at, stage, move_epoch(at, o.tz))))
    # previous stage / funnel per owner, by time (epoch when known) then history ID
    chains: dict[tuple[str, str], list[tuple[tuple, int]]] = {}
    for i, (row, r, info) in enumerate(parsed):
        if isinstance(info, tuple):
            entity, owner, _, _, epoch = info
            hist = clean(r.get("ID")) or ""
            key = (int(epoch) if epoch.isdigit() else 0, epoch,
                   int(hist) if hist.isdigit() else 0, row)
            chains.setdefault((entity, owner), []).append((key, i))
    previous: dict[int, int] = {}
    for chain in chains.values():
        chain.sort()
        for (_, before), (_, after) in zip(chain, chain[1:]):
            previous[after] = before
    for i, (row, r, info) in enumerate(parsed):
        if info is None:
            yield Reject(row, "a stage history item must be a JSON object", raw_text(r))
            continue
        if isinstance(info, str):
            yield r if isinstance(r, Reject) else Reject(row, info, raw_text(r))
            continue
        entity, owner, at, stage, epoch = info
        type_id = clean(r.get("TYPE_ID"))
        history_type = _HISTORY_TYPE.get(type_id or "", type_id)
        prev = parsed[previous[i]] if i in previous else None
        prev_stage = prev[2][3] if prev else None
        if entity == "lead":
            name = o.lead_statuses.get(stage)
            props = {"status_id": stage, "status_name": name,
                     "stage_semantic": o.semantic(r.get("STATUS_SEMANTIC_ID"), stage, name),
                     "history_type": history_type, "history_id": clean(r.get("ID")), "previous_status_id": prev_stage}
            yield Event(row, at, "lead_status_changed", f"lead:{owner}:status:{stage}:{epoch}", 0, channel="crm",
                        identifiers=[("crm_lead", owner)], properties={k: v for k, v in props.items() if v is not None})
            continue
        name = o.stages.get(stage)
        category = stage_category(stage, r.get("CATEGORY_ID"))
        props = {"stage_id": stage, "stage_name": name, "category_id": category, "pipeline_id": category,
                 "stage_semantic": o.semantic(r.get("STAGE_SEMANTIC_ID"), stage, name),
                 "history_type": history_type, "history_id": clean(r.get("ID")), "previous_stage_id": prev_stage}
        if history_type == "funnel_changed" and prev is not None:
            props["previous_category_id"] = stage_category(prev_stage, prev[1].get("CATEGORY_ID"))
        yield Event(row, at, "deal_stage_changed", f"deal:{owner}:stage:{stage}:{epoch}", 0, channel="crm",
                    identifiers=[("crm_deal", owner)], properties={k: v for k, v in props.items() if v is not None})


HANDLERS = {"deals": _deal, "leads": _lead, "contacts": _contact, "statuses": _status}
