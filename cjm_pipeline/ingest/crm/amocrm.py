"""The ``amocrm`` format: amoCRM / Kommo API v4 JSON pages and the leads UI export.

One format reads every amoCRM file; the kind of a JSON file is told by its payload:

* leads (``GET /api/v4/leads?with=contacts``: ``_embedded.leads``, a bare list of leads, or
  one lead, ``GET /api/v4/leads/{id}``): ``lead_created`` at ``created_at``
  (``lead:<id>:created``, ``updated_at`` = the lead's ``updated_at``, property ``price``), and
  for a lead whose current status is 142 (won) or 143 (lost) with a ``closed_at``, a
  ``deal_stage_changed`` at ``closed_at`` (``lead:<id>:status:<status>:<closed_at>``; a won
  one carries ``revenue`` = ``price``), so a leads-only export still shows outcomes;
* contacts (``GET /api/v4/contacts?with=leads``: ``_embedded.contacts``):
  ``contact_created`` (``contact:<id>:created``) with the contact's phones, e-mails and
  linked leads and companies as identifiers;
* events (``GET /api/v4/events``: ``_embedded.events``): ``lead_status_changed`` ->
  ``deal_stage_changed`` (``lead:<entity_id>:status:<status_id>:<created_at>``, the same id as
  the leads file gives a won/lost status, so both files give one event); ``lead_added`` ->
  ``lead_created`` (``lead:<id>:created``, one event with the leads file's); any other type
  keeps its amoCRM name (``incoming_call``, ``entity_responsible_changed`` ...) as
  ``event:<id>``;
* pipelines (``GET /api/v4/leads/pipelines``: ``_embedded.pipelines``): dictionary entries
  ``amocrm_pipeline`` (``<pipeline_id>`` -> name) and ``amocrm_status``
  (``<pipeline_id>:<status_id>`` -> name), joined in SQL to fill ``pipeline_name`` /
  ``stage_name`` of events that carry ``pipeline_id`` / ``stage_id``.

A JSON file may hold one response page, several pages saved as a JSON array, a single record,
or one page (or one record) per line (NDJSON), pretty-printed or not (:mod:`..jsondocs`).
Records are numbered on across the pages of a file.

The UI export (Сделки -> Экспорт, CSV or the "Excel" HTML table) is read by
:mod:`.amocrm_ui`.

Identifiers of leads: ``crm_lead``, each linked contact (``crm_contact``) and company
(``crm_company``), and custom fields that hold identifiers (option ``id_fields``: field
code or name -> identifier type; by default PHONE/EMAIL, ``_YM_UID``/``ym_client_id`` ->
``ym_client_id``, ``GCLIENTID``/``ga_client_id`` -> ``ga_client_id``, ``client_id`` -> by
the value's shape). UTMs come from the ``tracking_data`` fields ``UTM_SOURCE`` ... .
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ...errors import InputDataError
from ...schema import FORMATS, PARSER_ID_TYPES as ID_TYPES
from .. import jsondocs, textfiles
from ..parsing import as_text, clean, epoch_seconds, iso_utc, option_values, raw_json, text
from ..records import Event, Record, Reference, Reject
from .amocrm_ui import LOST_STATUS_ID, WON_STATUS_ID, parse_table
from .common import client_id_pair, compact, field_key, string_list

#: Custom fields (by ``field_code`` or ``field_name``, compared by :func:`~.common.field_key`) that
#: hold customer identifiers, by default (option ``id_fields``, in the catalog
#: :data:`cjm_pipeline.schema.FORMATS`). ``client_id`` is no identifier type: the value decides
#: (``1696470418123456789`` -> ym_client_id, ``GA1.2.123.456`` / ``123.456`` -> ga_client_id).
_DEFAULTS = FORMATS["amocrm"].options
DEFAULT_ID_FIELDS: dict[str, str] = _DEFAULTS["id_fields"]

#: ``_embedded`` lists of an API v4 page, and the record kind each holds.
_CONTAINERS = {"leads": "lead", "contacts": "contact", "events": "event", "pipelines": "pipeline"}

_UTM = ("utm_source", "utm_medium", "utm_campaign")


# --------------------------------------------------------------------------- options


def _id_fields(opts: Mapping[str, Any], src: SourceConfig, path: Path) -> dict[str, str]:
    """The ``id_fields`` mapping (defaults + the source's own entries) by :func:`field_key`;
    an entry set to null / "" switches a default off."""
    given = opts.get("id_fields") or {}
    if not isinstance(given, Mapping):
        raise InputDataError(src.name, str(path), f"options.id_fields: expected a mapping of field name or code "
                                                  f"to identifier type, got {given!r}")
    out: dict[str, str] = {}
    for name, id_type in {**DEFAULT_ID_FIELDS, **given}.items():
        if id_type in (None, ""):
            out.pop(field_key(name), None)
            continue
        if id_type not in ID_TYPES and id_type != "client_id":
            raise InputDataError(src.name, str(path), f"options.id_fields.{name}: unknown identifier type {id_type!r} "
                                                      f"(valid: {', '.join(ID_TYPES)}, or client_id = by the value)")
        out[field_key(name)] = id_type
    return out


def _statuses(opts: Mapping[str, Any], src: SourceConfig, path: Path) -> dict[str, str]:
    given = opts.get("statuses") or {}
    if not isinstance(given, Mapping):
        raise InputDataError(src.name, str(path), f"options.statuses: expected a mapping of status id to name, got {given!r}")
    return {str(k).strip(): str(v) for k, v in given.items() if v is not None}


# --------------------------------------------------------------------------- API records


def _ids_of(embedded: Any, key: str) -> list[str]:
    items = textfiles.dig(embedded, key) if isinstance(embedded, dict) else None
    out = []
    for item in items or []:
        v = clean(item.get("id")) if isinstance(item, dict) else clean(item)
        if v is not None:
            out.append(v)
    return out


def _names_of(embedded: Any, key: str) -> str | None:
    items = textfiles.dig(embedded, key) if isinstance(embedded, dict) else None
    names = [clean(i.get("name")) for i in items or [] if isinstance(i, dict)]
    return ", ".join(n for n in names if n) or None


def _custom_fields(record: Mapping[str, Any], id_fields: Mapping[str, str]):
    """``(identifiers, utm values, properties)`` of a record's ``custom_fields_values``."""
    identifiers: list[tuple[str, str]] = []
    utm: dict[str, str] = {}
    props: dict[str, str] = {}
    for f in record.get("custom_fields_values") or []:
        if not isinstance(f, dict):
            continue
        code, name = clean(f.get("field_code")), clean(f.get("field_name"))
        values = [v.get("value") if isinstance(v, dict) and "value" in v else v for v in (f.get("values") or [])]
        texts = [t for t in (as_text(v) for v in values) if t]
        id_type = id_fields.get(field_key(code)) if code else None
        if id_type is None and name:
            id_type = id_fields.get(field_key(name))
        if id_type is not None:
            for t in texts:
                pair = client_id_pair(id_type, t)
                if pair is not None:
                    identifiers.append(pair)
                else:
                    props[f"cf_{name or code}"] = t
            continue
        if not texts:
            continue
        key = field_key(code) if code else field_key(name)
        if key in _UTM:
            utm.setdefault(key, texts[0])
        elif f.get("field_type") == "tracking_data" or key.startswith("utm_"):
            props[key] = ", ".join(texts)
        else:
            props[f"cf_{name or code or f.get('field_id')}"] = ", ".join(texts)
    return identifiers, utm, props


def _status_semantic(status_id: str | None) -> str:
    return "won" if status_id == WON_STATUS_ID else "lost" if status_id == LOST_STATUS_ID else "open"


def _lead_records(row: int, lead: Mapping[str, Any], ctx: _Context) -> list[Record]:
    lead_id = clean(lead.get("id"))
    if lead_id is None:
        return [Reject(row, "id: missing (a lead without an id cannot be told apart from its re-exports)", raw_json(lead))]
    embedded = lead.get("_embedded") if isinstance(lead.get("_embedded"), dict) else {}
    cf_ids, utm, cf_props = _custom_fields(lead, ctx.id_fields)
    contacts = _ids_of(embedded, "contacts")
    main = [clean(c.get("id")) for c in embedded.get("contacts") or [] if isinstance(c, dict) and c.get("is_main")]
    companies = _ids_of(embedded, "companies")
    identifiers = [("crm_lead", lead_id), *(("crm_contact", c) for c in contacts),
                   *(("crm_company", c) for c in companies), *cf_ids]
    status_id, pipeline_id = clean(lead.get("status_id")), clean(lead.get("pipeline_id"))
    closed = epoch_seconds(lead.get("closed_at"))
    semantic = _status_semantic(status_id)
    props = compact({
        **cf_props,
        "lead_name": clean(lead.get("name")),
        "pipeline_id": pipeline_id,
        "status_id": status_id,
        "status": semantic,
        "status_name": ctx.statuses.get(status_id or ""),
        "price": clean(lead.get("price")),
        "responsible_user_id": clean(lead.get("responsible_user_id")),
        "group_id": clean(lead.get("group_id")),
        "created_by": clean(lead.get("created_by")),
        "updated_by": clean(lead.get("updated_by")),
        "loss_reason_id": clean(lead.get("loss_reason_id")),
        "loss_reason": _names_of(embedded, "loss_reason"),
        "source_id": clean(lead.get("source_id")),
        "closed_at": iso_utc(closed),
        "is_deleted": clean(lead.get("is_deleted")),
        "tags": _names_of(embedded, "tags"),
        "contact_ids": ", ".join(contacts) or None,
        "main_contact_id": next((m for m in main if m), None),
        "company_ids": ", ".join(companies) or None,
    })
    common = dict(channel="crm", utm_source=utm.get("utm_source"), utm_medium=utm.get("utm_medium"),
                  utm_campaign=utm.get("utm_campaign"), identifiers=identifiers)
    # revenue sits on the won event (docs/semantics.md, "Revenue"); the price at creation is a property
    out: list[Record] = [Event(
        row=row, part=0, event_time=text(lead.get("created_at")), event_type="lead_created",
        event_id=f"lead:{lead_id}:created", updated_at=clean(lead.get("updated_at")), properties=props, **common)]
    if semantic in ("won", "lost") and closed is not None:
        out.append(Event(
            row=row, part=1, event_time=str(closed), event_type="deal_stage_changed",
            event_id=f"lead:{lead_id}:status:{status_id}:{closed}",
            revenue=clean(lead.get("price")) if semantic == "won" else None,
            properties=compact({
                "pipeline_id": pipeline_id, "stage_id": status_id, "stage_semantic": semantic,
                "stage_name": ctx.statuses.get(status_id or ""), "price": clean(lead.get("price")),
                "loss_reason_id": clean(lead.get("loss_reason_id")), "loss_reason": _names_of(embedded, "loss_reason"),
                "from_snapshot": "1",
            }),
            **common))
    return out


def _contact_records(row: int, contact: Mapping[str, Any], ctx: _Context) -> list[Record]:
    contact_id = clean(contact.get("id"))
    if contact_id is None:
        return [Reject(row, "id: missing (a contact without an id cannot be told apart from its re-exports)",
                       raw_json(contact))]
    embedded = contact.get("_embedded") if isinstance(contact.get("_embedded"), dict) else {}
    cf_ids, utm, cf_props = _custom_fields(contact, ctx.id_fields)
    leads, companies = _ids_of(embedded, "leads"), _ids_of(embedded, "companies")
    return [Event(
        row=row, event_time=text(contact.get("created_at")), event_type="contact_created",
        event_id=f"contact:{contact_id}:created", channel="crm",
        utm_source=utm.get("utm_source"), utm_medium=utm.get("utm_medium"), utm_campaign=utm.get("utm_campaign"),
        updated_at=clean(contact.get("updated_at")),
        identifiers=[("crm_contact", contact_id), *cf_ids, *(("crm_lead", i) for i in leads),
                     *(("crm_company", c) for c in companies)],
        properties=compact({
            **cf_props,
            "contact_name": clean(contact.get("name")),
            "first_name": clean(contact.get("first_name")),
            "last_name": clean(contact.get("last_name")),
            "responsible_user_id": clean(contact.get("responsible_user_id")),
            "group_id": clean(contact.get("group_id")),
            "created_by": clean(contact.get("created_by")),
            "is_deleted": clean(contact.get("is_deleted")),
            "tags": _names_of(embedded, "tags"),
            "lead_ids": ", ".join(leads) or None,
            "company_ids": ", ".join(companies) or None,
        }))]


_ENTITY_ID_TYPES = {"lead": "crm_lead", "leads": "crm_lead", "contact": "crm_contact", "contacts": "crm_contact",
                    "company": "crm_company", "companies": "crm_company"}


def _lead_status(value: Any) -> tuple[str | None, str | None]:
    """``(status id, pipeline id)`` of an event's ``value_before`` / ``value_after``."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        status = textfiles.dig(item, "lead_status")
        if isinstance(status, dict):
            return clean(status.get("id")), clean(status.get("pipeline_id"))
    return None, None


def _event_records(row: int, ev: Mapping[str, Any], ctx: _Context) -> list[Record]:
    amo_id = clean(ev.get("id"))
    ev_type = clean(ev.get("type"))
    entity_id = clean(ev.get("entity_id")) or clean(textfiles.dig(ev, "_embedded", "entity", "id"))
    entity_type = clean(ev.get("entity_type"))
    if ev_type is None:
        return [Reject(row, "type: missing", raw_json(ev))]
    if entity_id is None:
        return [Reject(row, "entity_id: missing (the event names no lead, contact or company)", raw_json(ev))]
    created = text(ev.get("created_at"))
    seconds = epoch_seconds(created)
    common_props = {"amo_event_id": amo_id, "amo_event_type": ev_type, "entity_type": entity_type,
                    "entity_id": entity_id, "created_by": clean(ev.get("created_by"))}
    if ev_type == "lead_status_changed":
        stage_id, pipeline_id = _lead_status(ev.get("value_after"))
        if stage_id is None:
            return [Reject(row, "value_after: no lead_status.id (the status the lead moved to)", raw_json(ev))]
        before_id, before_pipeline = _lead_status(ev.get("value_before"))
        stamp = seconds if seconds is not None else created
        return [Event(
            row=row, event_time=created, event_type="deal_stage_changed",
            event_id=f"lead:{entity_id}:status:{stage_id}:{stamp}", channel="crm",
            # an event is never edited: its own time as version, so it wins over the same
            # status change derived from a leads snapshot (which has no previous stage)
            updated_at=str(seconds) if seconds is not None else None,
            identifiers=[("crm_lead", entity_id)],
            properties=compact({
                **common_props,
                "pipeline_id": pipeline_id, "stage_id": stage_id, "stage_semantic": _status_semantic(stage_id),
                "stage_name": ctx.statuses.get(stage_id),
                "previous_stage_id": before_id, "previous_pipeline_id": before_pipeline,
                "previous_stage_name": ctx.statuses.get(before_id or ""),
            }))]
    id_type = _ENTITY_ID_TYPES.get((entity_type or "").lower())
    if id_type is None:
        return [Reject(row, f"entity_type: {entity_type!r} is not a lead, contact or company "
                            "(the event has no customer identifier)", raw_json(ev))]
    props = compact({**common_props, "value_before": as_text(ev.get("value_before")),
                     "value_after": as_text(ev.get("value_after"))})
    if ev_type == "lead_added" and id_type == "crm_lead":
        return [Event(row=row, event_time=created, event_type="lead_created", event_id=f"lead:{entity_id}:created",
                      channel="crm", identifiers=[("crm_lead", entity_id)], properties=props)]
    if amo_id is None:
        return [Reject(row, "id: missing (an event without an id cannot be told apart from its re-exports)",
                       raw_json(ev))]
    return [Event(row=row, event_time=created, event_type=ev_type, event_id=f"event:{amo_id}", channel="crm",
                  identifiers=[(id_type, entity_id)], properties=props)]


def _pipeline_records(row: int, pipeline: Mapping[str, Any], ctx: _Context) -> list[Record]:
    pipeline_id = clean(pipeline.get("id"))
    if pipeline_id is None:
        return [Reject(row, "id: missing (a pipeline without an id)", raw_json(pipeline))]
    out: list[Record] = [Reference(row, "amocrm_pipeline", pipeline_id, clean(pipeline.get("name")) or pipeline_id)]
    for status in textfiles.dig(pipeline, "_embedded", "statuses") or []:
        if not isinstance(status, dict) or clean(status.get("id")) is None:
            continue
        sid = clean(status.get("id"))
        out.append(Reference(row, "amocrm_status", f"{clean(status.get('pipeline_id')) or pipeline_id}:{sid}",
                             clean(status.get("name")) or sid))
    return out


def _guess_kind(item: Any) -> str:
    """The record kind of an element of a bare list (leads unless it looks like something else)."""
    if not isinstance(item, dict):
        return "lead"
    if "entity_id" in item and "type" in item:
        return "event"
    if isinstance(textfiles.dig(item, "_embedded", "statuses"), list):
        return "pipeline"
    if "status_id" in item or "pipeline_id" in item or "price" in item:
        return "lead"
    if "first_name" in item or "last_name" in item or isinstance(textfiles.dig(item, "_embedded", "leads"), list):
        return "contact"
    return "lead"


class _Context:
    def __init__(self, opts: Mapping[str, Any], src: SourceConfig, path: Path):
        self.id_fields = _id_fields(opts, src, path)
        self.statuses = _statuses(opts, src, path)
        self.won_names = string_list(opts.get("won_stage_names", _DEFAULTS["won_stage_names"]), "won_stage_names",
                                     src, path)
        self.lost_names = string_list(opts.get("lost_stage_names", _DEFAULTS["lost_stage_names"]), "lost_stage_names",
                                      src, path)


_BUILDERS = {"lead": _lead_records, "contact": _contact_records, "event": _event_records, "pipeline": _pipeline_records}


def _api_error(obj: Any) -> str | None:
    """The message of an amoCRM error response (``{"title": ..., "status": 401, "detail": ...}``)."""
    if isinstance(obj, dict) and "status" in obj and "title" in obj and "id" not in obj and "_embedded" not in obj:
        return f"{obj.get('status')} {obj.get('title')}: {obj.get('detail') or ''}".strip()
    return None


#: An API v4 page keeps its records under ``_embedded.<kind>s``; a single record (``GET /leads/{id}``) is bare.
_SHAPE = jsondocs.Shape({f"_embedded.{key}": kind for key, kind in _CONTAINERS.items()}, error=_api_error,
                        records_have_id=True)


def _parse_json(path: Path, src: SourceConfig, ctx: _Context) -> Iterator[Record]:
    for row, kind, item in jsondocs.records(path, src, _SHAPE):
        if isinstance(item, Reject):
            yield item
            continue
        if not isinstance(item, dict):
            yield Reject(row, f"a record must be a JSON object, got {type(item).__name__}", raw_json(item))
            continue
        yield from _BUILDERS[kind or _guess_kind(item)](row, item, ctx)


# --------------------------------------------------------------------------- the format


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every record of one amoCRM file: an API v4 JSON page (leads, contacts, events or
    pipelines) or the leads UI export (CSV / HTML table)."""
    ctx = _Context(option_values("amocrm", src), src, path)
    if jsondocs.is_json(textfiles.head_bytes(path)):
        yield from _parse_json(path, src, ctx)
    else:
        yield from parse_table(path, src, ctx)
