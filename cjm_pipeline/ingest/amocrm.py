"""The ``amocrm`` format: amoCRM / Kommo API v4 JSON pages and the leads UI export.

One format reads every amoCRM file; the kind of a JSON file is told by its payload:

* leads (``GET /api/v4/leads?with=contacts``: ``_embedded.leads``, or a bare list of leads):
  ``lead_created`` at ``created_at`` (``lead:<id>:created``, ``updated_at`` = the lead's
  ``updated_at``, ``revenue`` = ``price``), and for a lead whose current status is 142 (won)
  or 143 (lost) with a ``closed_at``, a ``deal_stage_changed`` at ``closed_at``
  (``lead:<id>:status:<status>:<closed_at>``), so a leads-only export still shows outcomes;
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

A JSON file may hold one response page, several pages saved as a JSON array, or one page
(or one record) per line (NDJSON). Records are numbered on across the pages of a file.

The UI export (Сделки -> Экспорт, CSV in UTF-8 with BOM or cp1251, ``;`` or ``,``, or the
"Excel" HTML table) gives per row a ``lead_created`` at ``Дата создания``
(``dd.mm.YYYY HH:MM:SS``, the account's local time) and, when ``Этап сделки`` is
"Успешно реализовано" / "Закрыто и не реализовано", a ``deal_stage_changed`` won/lost at
``Дата закрытия``; phones and e-mails come from every column whose header contains
``телефон`` / ``phone`` / ``email``.

Identifiers of leads: ``crm_lead``, each linked contact (``crm_contact``) and company
(``crm_company``), and custom fields that hold identifiers (option ``id_fields``: field
code or name -> identifier type; by default PHONE/EMAIL, ``_YM_UID``/``ym_client_id`` ->
``ym_client_id``, ``GCLIENTID``/``ga_client_id`` -> ``ga_client_id``, ``client_id`` -> by
the value's shape). UTMs come from the ``tracking_data`` fields ``UTM_SOURCE`` ... .
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..config import SourceConfig
from ..errors import InputDataError
from . import textfiles
from .formats import Format, option_values
from .records import ID_TYPES, Event, Record, Reference, Reject, as_text, clean, raw_json, text

WON_STATUS_ID = "142"
LOST_STATUS_ID = "143"

#: Custom fields (by ``field_code`` or ``field_name``, compared by :func:`field_key`) that hold
#: customer identifiers. ``client_id`` is no identifier type: the value decides
#: (``1696470418123456789`` -> ym_client_id, ``GA1.2.123.456`` / ``123.456`` -> ga_client_id).
DEFAULT_ID_FIELDS: dict[str, str] = {
    "PHONE": "phone",
    "EMAIL": "email",
    "Телефон": "phone",
    "E-mail": "email",
    "_YM_UID": "ym_client_id",
    "ym_client_id": "ym_client_id",
    "ym_clientid": "ym_client_id",
    "yandex_client_id": "ym_client_id",
    "metrika_client_id": "ym_client_id",
    "ClientID Яндекс": "ym_client_id",
    "ClientID Метрики": "ym_client_id",
    "GCLIENTID": "ga_client_id",
    "ga_client_id": "ga_client_id",
    "google_client_id": "ga_client_id",
    "_ga": "ga_client_id",
    "client_id": "client_id",
    "clientid": "client_id",
}

#: Stage names of the UI export that mean won / lost (compared case-insensitively).
DEFAULT_WON_NAMES = ["Успешно реализовано", "Closed - won", "Closed won", "Успешно"]
DEFAULT_LOST_NAMES = ["Закрыто и не реализовано", "Closed - lost", "Closed lost", "Не реализовано"]

DEFAULTS: dict[str, Any] = {
    "id_fields": dict(DEFAULT_ID_FIELDS),
    "statuses": {},
    "won_stage_names": list(DEFAULT_WON_NAMES),
    "lost_stage_names": list(DEFAULT_LOST_NAMES),
}

#: ``_embedded`` lists of an API v4 page, and the record kind each holds.
_CONTAINERS = {"leads": "lead", "contacts": "contact", "events": "event", "pipelines": "pipeline"}

_UTM = ("utm_source", "utm_medium", "utm_campaign")


# --------------------------------------------------------------------------- helpers shared by the CRM formats


def epoch_seconds(value: Any) -> int | None:
    """Whole seconds since the epoch (UTC) of epoch digits (s, ms, µs) or an ISO time with a zone.

    >>> epoch_seconds(1709276818), epoch_seconds("1709276818123"), epoch_seconds("2024-03-01T07:06:58.500Z")
    (1709276818, 1709276818, 1709276818)
    >>> epoch_seconds("2024-03-01T10:06:58+0300"), epoch_seconds("2024-03-01 10:06:58"), epoch_seconds("soon")
    (1709276818, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = text(value)
    t = str(value).strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", t):
        return int(float(t))
    if re.fullmatch(r"\d{12,14}", t):
        return int(t) // 1000
    if re.fullmatch(r"\d{15,17}", t):
        return int(t) // 1_000_000
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|z|[+-]\d{2}:?\d{2})", t)
    if not m:
        return None
    zone = m.group(4)
    zone = "+00:00" if zone in ("Z", "z") else (zone if ":" in zone else zone[:3] + ":" + zone[3:])
    try:
        return int(dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{zone}").timestamp())
    except ValueError:
        return None


def iso_utc(seconds: int | None) -> str | None:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ``.

    >>> iso_utc(1709276818), iso_utc(None)
    ('2024-03-01T07:06:58Z', None)
    """
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def local_time(value: Any) -> str | None:
    """An export's ``dd.mm.YYYY HH:MM[:SS]`` as naive ``YYYY-MM-DD HH:MM:SS`` (a bare date as
    ``YYYY-MM-DD``); anything else (ISO, epoch digits, a broken value) is returned trimmed, so
    staging reads it or quarantines the row naming ``event_time``.

    >>> local_time("05.03.2024 0:30:00"), local_time("05.03.2024 14:21"), local_time("05.03.2024"), local_time("31.02.2024 10:00:00")
    ('2024-03-05 00:30:00', '2024-03-05 14:21:00', '2024-03-05', '31.02.2024 10:00:00')
    """
    t = clean(value)
    if t is None:
        return None
    m = _DMY.match(t)
    if not m:
        return t
    day, month, year, hh, mi, ss = m.groups()
    try:
        stamp = dt.datetime(int(year), int(month), int(day), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError:
        return t
    return stamp.strftime("%Y-%m-%d %H:%M:%S") if hh is not None else stamp.strftime("%Y-%m-%d")


def field_key(name: Any) -> str:
    """A field code / name / column header as a lookup key: lower case, non-alphanumerics as ``_``.

    >>> field_key("_YM_UID"), field_key("ClientID Яндекс"), field_key(" utm source ")
    ('ym_uid', 'clientid_яндекс', 'utm_source')
    """
    return re.sub(r"[^0-9a-zа-яё]+", "_", str(name or "").lower()).strip("_")


def is_json(path: Path) -> bool:
    """True when the file holds JSON (an object, an array or NDJSON), not a table."""
    head = textfiles.head_bytes(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


def _container(obj: Any, containers: Mapping[str, str]) -> tuple[str, list] | None:
    """``(kind, records)`` when ``obj`` is an API page holding one of the ``containers``
    (dotted paths -> record kind). A record is no page, though it may embed lists (a lead's
    ``_embedded.contacts``): an object with an ``id`` is a record."""
    if not isinstance(obj, dict) or "id" in obj:
        return None
    for path_, kind in containers.items():
        value = textfiles.dig(obj, *path_.split("."))
        if isinstance(value, list):
            return kind, value
    return None


def json_records(path: Path, src: SourceConfig, containers: Mapping[str, str],
                 error: Any = None) -> Iterator[tuple[int, str | None, Any]]:
    """``(row, kind, record)`` of a JSON file: one API page, several pages in a JSON array,
    a bare list of records, or one page / record per line (NDJSON). ``kind`` is the page's
    container kind, None for a bare record. A broken NDJSON line is a :class:`Reject`.

    ``error(obj)`` returns a message when a top-level object is an API error response.
    """
    data = textfiles.read_bytes(path)
    n = 0

    def check(obj: Any) -> None:
        message = error(obj) if error is not None else None
        if message:
            raise InputDataError(src.name, str(path), f"the file holds an API error response, not records: {message}")

    if textfiles.is_ndjson(data):
        for _, obj in textfiles.iter_ndjson(path, src):
            if isinstance(obj, Reject):
                n += 1
                yield n, None, Reject(n, obj.reason, obj.raw_text)
                continue
            page = _container(obj, containers)
            if page is None:
                check(obj)
                n += 1
                yield n, None, obj
                continue
            for item in page[1]:
                n += 1
                yield n, page[0], item
        return
    doc = textfiles.load_json(path, src)
    if isinstance(doc, list):
        pages = [_container(p, containers) for p in doc]
        if doc and all(p is not None for p in pages):
            items: Iterable[tuple[str | None, Any]] = ((kind, item) for kind, records in pages for item in records)
        else:
            for obj in doc:
                check(obj)
            items = ((None, item) for item in doc)
    else:
        check(doc)
        page = _container(doc, containers)
        if page is not None:
            items = ((page[0], item) for item in page[1])
        elif isinstance(doc, dict) and "id" in doc:
            items = [(None, doc)]  # a single record
        elif isinstance(doc, dict):
            raise InputDataError(src.name, str(path), f"no list of records found under {', '.join(containers)}; "
                                                      f"the JSON document has: {list(doc)}")
        else:
            raise InputDataError(src.name, str(path), f"expected a JSON object or array, got {type(doc).__name__}")
    for kind, item in items:
        n += 1
        yield n, kind, item


def stage_semantic(stage: str | None, won: Iterable[str], lost: Iterable[str]) -> str:
    """``won`` / ``lost`` / ``open`` of a stage id or name (exact match, then case-insensitive).

    >>> stage_semantic("closedwon", ["closedwon"], ["closedlost"]), stage_semantic("Closed Lost", ["x"], ["closed lost"])
    ('won', 'lost')
    """
    if stage is None:
        return "open"
    won, lost = [str(w) for w in won], [str(v) for v in lost]
    if stage in won:
        return "won"
    if stage in lost:
        return "lost"
    low = stage.strip().lower()
    if low in (w.strip().lower() for w in won):
        return "won"
    if low in (v.strip().lower() for v in lost):
        return "lost"
    return "open"


def string_list(value: Any, name: str, src: SourceConfig, path: Path) -> list[str]:
    """An option that must be a list of strings (a single string is a list of one)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    raise InputDataError(src.name, str(path), f"options.{name}: expected a list of names, got {value!r}")


def compact(properties: Mapping[str, Any]) -> dict[str, str]:
    """Properties without empty values."""
    return {k: v for k, v in properties.items() if v is not None and v != ""}


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


def client_id_pair(id_type: str, value: str) -> tuple[str, str] | None:
    """An identifier value of a custom field as ``(type, value)``: ``client_id`` decided by the
    value's shape, ``_ga`` cookies (``GA1.2.<id>``) cut to the client id.

    >>> client_id_pair("client_id", "1696470418123456789"), client_id_pair("client_id", "GA1.2.555000111.1696400000")
    (('ym_client_id', '1696470418123456789'), ('ga_client_id', '555000111.1696400000'))
    >>> client_id_pair("ga_client_id", "GA1.1.12.34"), client_id_pair("client_id", "abc")
    (('ga_client_id', '12.34'), None)

    A Metrica ClientID a spreadsheet turned into a float (``1,69647E+18``) has lost its
    digits: no identifier (it would join strangers).

    >>> client_id_pair("ym_client_id", "1,69647E+18"), client_id_pair("client_id", "1.69647041812346e+18")
    (None, None)
    """
    v = value.strip()
    if id_type == "ym_client_id":
        return (id_type, v) if re.fullmatch(r"\d+", v) else None
    ga = re.fullmatch(r"(?:GA\d+\.\d+\.)?(\d+\.\d+)", v, re.IGNORECASE)
    if id_type == "client_id":
        if re.fullmatch(r"\d{6,20}", v):
            return "ym_client_id", v
        if ga:
            return "ga_client_id", ga.group(1)
        return None
    if id_type == "ga_client_id" and ga:
        return id_type, ga.group(1)
    return id_type, value


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
    out: list[Record] = [Event(
        row=row, part=0, event_time=text(lead.get("created_at")), event_type="lead_created",
        event_id=f"lead:{lead_id}:created", revenue=clean(lead.get("price")),
        updated_at=clean(lead.get("updated_at")), properties=props, **common)]
    if semantic in ("won", "lost") and closed is not None:
        out.append(Event(
            row=row, part=1, event_time=str(closed), event_type="deal_stage_changed",
            event_id=f"lead:{lead_id}:status:{status_id}:{closed}",
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
        self.won_names = string_list(opts.get("won_stage_names", DEFAULT_WON_NAMES), "won_stage_names", src, path)
        self.lost_names = string_list(opts.get("lost_stage_names", DEFAULT_LOST_NAMES), "lost_stage_names", src, path)


_BUILDERS = {"lead": _lead_records, "contact": _contact_records, "event": _event_records, "pipeline": _pipeline_records}


def _api_error(obj: Any) -> str | None:
    """The message of an amoCRM error response (``{"title": ..., "status": 401, "detail": ...}``)."""
    if isinstance(obj, dict) and "status" in obj and "title" in obj and "id" not in obj and "_embedded" not in obj:
        return f"{obj.get('status')} {obj.get('title')}: {obj.get('detail') or ''}".strip()
    return None


def _parse_json(path: Path, src: SourceConfig, ctx: _Context) -> Iterator[Record]:
    containers = {f"_embedded.{key}": kind for key, kind in _CONTAINERS.items()}
    for row, kind, item in json_records(path, src, containers, _api_error):
        if isinstance(item, Reject):
            yield item
            continue
        if not isinstance(item, dict):
            yield Reject(row, f"a record must be a JSON object, got {type(item).__name__}", raw_json(item))
            continue
        yield from _BUILDERS[kind or _guess_kind(item)](row, item, ctx)


# --------------------------------------------------------------------------- UI export

_UI_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("ID", "ID сделки", "Id"),
    "name": ("Название сделки", "Сделка", "Название", "Lead title", "Lead name"),
    "stage": ("Этап сделки", "Этап", "Статус", "Статус сделки", "Stage", "Lead stage"),
    "pipeline": ("Воронка", "Pipeline"),
    "created": ("Дата создания", "Дата создания сделки", "Created", "Date created"),
    "closed": ("Дата закрытия", "Дата закрытия сделки", "Closed", "Date closed"),
    "updated": ("Дата редактирования", "Дата изменения", "Modified", "Date modified"),
}


def _ui_column(header: list[str], names: tuple[str, ...]) -> str | None:
    return textfiles.find_column(header, *names)


def _budget_column(header: list[str]) -> str | None:
    for h in header:
        if field_key(h).startswith(("бюджет", "budget", "sale")):
            return h
    return None


def _money(value: str | None) -> str | None:
    """A budget cell without its currency sign (``289 000 ₽`` -> ``289 000``)."""
    if value is None:
        return None
    stripped = re.sub(r"(руб\.?|р\.|₽|RUB|\$|€|USD|EUR)", "", value, flags=re.IGNORECASE).strip()
    return stripped or None


def _contact_id_type(h: str, id_fields: Mapping[str, str]) -> str | None:
    low = h.lower()
    if "телефон" in low or "phone" in low:
        return "phone"
    if "email" in low or "e-mail" in low:
        return "email"
    return id_fields.get(field_key(h))


def _parse_table(path: Path, src: SourceConfig, ctx: _Context) -> Iterator[Record]:
    table = textfiles.read_table(path, src)
    header = table.header
    cols = {k: _ui_column(header, names) for k, names in _UI_COLUMNS.items()}
    missing = [_UI_COLUMNS[k][0] for k in ("id", "created") if cols[k] is None]
    if missing:
        textfiles.require_columns(header, missing, src, path, "the amoCRM leads export (Сделки -> Экспорт)")
    budget = _budget_column(header)
    utm_cols = {field_key(h): h for h in header if field_key(h).startswith("utm_")}
    id_cols = {h: t for h in header if (t := _contact_id_type(h, ctx.id_fields)) is not None}
    used = {c for c in cols.values() if c} | {budget} | set(id_cols) | {utm_cols.get(u) for u in _UTM}
    for row, rec in table.rows:
        if isinstance(rec, Reject):
            yield rec
            continue
        lead_id = clean(rec.get(cols["id"]))
        if lead_id is None:
            yield Reject(row, f"{cols['id']}: empty (a lead without an id cannot be told apart from its re-exports)",
                         ";".join(v or "" for v in rec.values()))
            continue
        identifiers: list[tuple[str, str]] = [("crm_lead", lead_id)]
        unusable: dict[str, str] = {}
        for h, id_type in id_cols.items():
            value = clean(rec.get(h))
            if value is None:
                continue
            pair = client_id_pair(id_type, value) if id_type not in ("phone", "email") else (id_type, value)
            if pair is not None:
                identifiers.append(pair)
            else:  # not usable as an identifier (a float-mangled ClientID): kept as a property
                unusable[h] = value
        stage = clean(rec.get(cols["stage"])) if cols["stage"] else None
        semantic = stage_semantic(stage, ctx.won_names, ctx.lost_names) if stage else "open"
        created = local_time(rec.get(cols["created"]))
        closed = local_time(rec.get(cols["closed"])) if cols["closed"] else None
        price = _money(clean(rec.get(budget))) if budget else None
        extra = {h: clean(v) for h, v in rec.items() if h not in used}
        props = compact({
            **extra,
            **unusable,
            "lead_name": clean(rec.get(cols["name"])) if cols["name"] else None,
            "price": price,
            "status_name": stage,
            "status": semantic,
            "pipeline_name": clean(rec.get(cols["pipeline"])) if cols["pipeline"] else None,
            "closed_at": closed,
            "utm_content": clean(rec.get(utm_cols["utm_content"])) if "utm_content" in utm_cols else None,
            "utm_term": clean(rec.get(utm_cols["utm_term"])) if "utm_term" in utm_cols else None,
        })
        common = dict(
            channel="crm", identifiers=identifiers,
            utm_source=clean(rec.get(utm_cols["utm_source"])) if "utm_source" in utm_cols else None,
            utm_medium=clean(rec.get(utm_cols["utm_medium"])) if "utm_medium" in utm_cols else None,
            utm_campaign=clean(rec.get(utm_cols["utm_campaign"])) if "utm_campaign" in utm_cols else None,
        )
        yield Event(row=row, part=0, event_time=created, event_type="lead_created", event_id=f"lead:{lead_id}:created",
                    revenue=price, updated_at=local_time(rec.get(cols["updated"])) if cols["updated"] else None,
                    properties=props, **common)
        if semantic in ("won", "lost") and closed is not None:
            status_id = WON_STATUS_ID if semantic == "won" else LOST_STATUS_ID
            yield Event(
                row=row, part=1, event_time=closed, event_type="deal_stage_changed",
                # the export's times are local: the id keeps the local time as written
                event_id=f"lead:{lead_id}:status:{status_id}:{closed.replace(' ', 'T')}",
                properties=compact({"stage_id": status_id, "stage_name": stage, "stage_semantic": semantic,
                                    "pipeline_name": props.get("pipeline_name"), "price": price,
                                    "from_snapshot": "1"}),
                **common)


# --------------------------------------------------------------------------- the format


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every record of one amoCRM file: an API v4 JSON page (leads, contacts, events or
    pipelines) or the leads UI export (CSV / HTML table)."""
    ctx = _Context(option_values(FORMATS[0], src.options), src, path)
    if is_json(path):
        yield from _parse_json(path, src, ctx)
    else:
        yield from _parse_table(path, src, ctx)


FORMATS = (
    Format(
        name="amocrm",
        summary="amoCRM / Kommo: API v4 JSON (leads, contacts, events, pipelines) and the leads UI export (CSV/HTML)",
        parse=parse,
        options=DEFAULTS,
    ),
)

__all__ = ["FORMATS", "parse", "clean", "as_text", "epoch_seconds", "iso_utc", "local_time", "json_records",
           "stage_semantic", "field_key", "client_id_pair"]
