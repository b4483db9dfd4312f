"""The ``bitrix24`` format: Bitrix24 CRM deals, stage history, contacts, leads and stage names.

One format reads every Bitrix24 file kind; the kind is told from the content (or forced
with the option ``kind``):

* REST responses saved as JSON, one response ``{"result": [...], "next": 50, "total": N}``,
  a bare list of records, several pages saved as a JSON array of responses, or one
  response / record per line (NDJSON):

  - ``crm.deal.list`` (every value a string: ``"ID":"37"``, ``"OPPORTUNITY":"19999.99"``,
    ``"DATE_CREATE":"2024-09-02T18:37:18+02:00"``): per deal a ``deal_created`` event at
    ``DATE_CREATE`` (``updated_at`` = ``DATE_MODIFY``) and a ``deal_stage_changed`` event for
    its current stage at ``MOVED_TIME``;
  - ``crm.stagehistory.list`` (``{"result": {"items": [...]}}``, ids are JSON numbers):
    deal rows (``STAGE_ID``) -> ``deal_stage_changed``, lead rows (``STATUS_ID``) ->
    ``lead_status_changed``;
  - ``crm.contact.list`` -> ``contact_created`` with the ``PHONE``/``EMAIL`` multifields;
  - ``crm.lead.list`` -> ``lead_created`` (+ ``lead_status_changed`` at ``MOVED_TIME``);
  - ``crm.status.list`` -> :class:`Reference` rows (``bitrix24_stage``: deal stage id -> name);

* the deal list's UI export: ``;``-separated CSV (UTF-8 with BOM or cp1251) or the "Excel"
  export (an HTML table in a ``.xls`` file), Russian or English headers.

A stage move has the event id ``deal:<ID>:stage:<STAGE_ID>:<epoch seconds UTC>`` whichever
file it comes from, so the current stage of a deal list and the same move in the stage
history are one event (the deal list's version wins: it carries ``updated_at`` and the
amount). Times with an offset pass through; ``dd.mm.YYYY HH:MM:SS`` becomes naive ISO in the
source's time zone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config import SourceConfig
from ..errors import InputDataError
from . import textfiles
from .formats import Format, option_values
from .records import ID_TYPES, Event, Record, Reference, Reject, as_text, clean

#: File kinds (option ``kind``); ``auto`` tells them from the content.
KINDS = ("auto", "deals", "stagehistory", "contacts", "leads", "statuses", "ui")

DEFAULTS: dict[str, Any] = {
    "kind": "auto",
    "id_fields": {},
    "stages": {},
    "lead_statuses": {},
    "won_stages": ["Сделка успешна", "Успешно реализовано"],
    "lost_stages": ["Сделка провалена", "Закрыто и не реализовано"],
}

_SEMANTIC = {"P": "open", "S": "won", "F": "lost"}
_HISTORY_TYPE = {"1": "created", "2": "moved", "3": "final", "5": "funnel_changed"}
_CATEGORY_PREFIX = re.compile(r"^C(\d+):")
_ITEM_PREFIX = re.compile(r"^DT(\d+)_(\d+):")
#: Stage / status codes whose meaning is fixed (used only when no semantic code is given).
_WON_CODES = frozenset(("WON", "CONVERTED"))
_LOST_CODES = frozenset(("LOSE", "APOLOGY", "JUNK"))

#: Y/N fields of deals, leads and contacts: properties "1"/"0".
_FLAGS = frozenset(("closed", "opened", "is_new", "is_recurring", "is_return_customer", "is_repeated_approach",
                    "is_manual_opportunity", "export", "has_phone", "has_email", "has_imol"))
#: Date-only fields: properties ``YYYY-MM-DD`` (never an event time).
_DATES = frozenset(("begindate", "closedate", "birthdate", "date_closed"))
#: Record fields renamed as properties (every other field: lower-case name; ``UF_*`` as is).
_RENAMES = {"STAGE_SEMANTIC_ID": "stage_semantic", "STATUS_SEMANTIC_ID": "stage_semantic",
            "OPPORTUNITY": "opportunity", "CURRENCY_ID": "currency"}
#: Fields that are the event time, identifiers or the utm columns, not properties.
_NOT_PROPERTIES = frozenset(("ID", "DATE_CREATE", "UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "CONTACT_ID",
                             "CONTACT_IDS", "PHONE", "EMAIL"))


# --------------------------------------------------------------------------- small helpers


def _prop(value: Any) -> str | None:
    """Any JSON value as property text: multifields (``[{"VALUE": ...}]``) and lists of
    scalars joined with ``, ``, other objects as compact JSON.

    >>> _prop([{"ID": "1", "VALUE": "a@b.ru"}, {"VALUE": "c@d.ru"}]), _prop(["1", 2]), _prop({"x": 1}), _prop([])
    ('a@b.ru, c@d.ru', '1, 2', '{"x":1}', None)
    """
    if isinstance(value, list):
        if not value:
            return None
        if all(isinstance(v, dict) and "VALUE" in v for v in value):
            parts = [clean(v.get("VALUE")) for v in value]
            return ", ".join(p for p in parts if p) or None
    return as_text(value)


def _values(value: Any) -> list[str]:
    """The values of a field that may be a scalar, a list or a multifield.

    >>> _values("88001001020"), _values([{"VALUE": "a"}, {"VALUE": " "}]), _values(["5", 6]), _values(None)
    (['88001001020'], ['a'], ['5', '6'], [])
    """
    if isinstance(value, list):
        out = []
        for v in value:
            t = clean(v.get("VALUE")) if isinstance(v, dict) else clean(v)
            if t is not None:
                out.append(t)
        return out
    if isinstance(value, dict):
        t = clean(value.get("VALUE"))
        return [t] if t else []
    t = clean(value)
    return [t] if t else []


def _yn(value: str | None) -> str | None:
    """Bitrix24's ``Y``/``N`` (also ``Да``/``Нет``, ``true``/``false``) as ``1``/``0``.

    >>> _yn("Y"), _yn("N"), _yn("Да"), _yn("нет"), _yn("maybe"), _yn(None)
    ('1', '0', '1', '0', 'maybe', None)
    """
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("y", "yes", "да", "true", "1"):
        return "1"
    if v in ("n", "no", "нет", "false", "0"):
        return "0"
    return value


_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([aApP][mM])?)?$")


def _local_time(value: str | None) -> str | None:
    """A UI export time as naive ISO ``YYYY-MM-DD HH:MM:SS`` (the source's zone); ISO times
    and anything unknown pass through unchanged (staging quarantines what it cannot read).

    >>> _local_time("02.09.2024 18:37:18"), _local_time("2.9.2024 08:05"), _local_time("09/02/2024 06:37:18 pm")
    ('2024-09-02 18:37:18', '2024-09-02 08:05:00', '2024-09-02 18:37:18')
    >>> _local_time("2024-09-02T18:37:18+02:00"), _local_time("вчера"), _local_time("02.09.2024")
    ('2024-09-02T18:37:18+02:00', 'вчера', '2024-09-02 00:00:00')
    """
    if value is None:
        return None
    v = value.strip()
    m = _DMY.match(v)
    if m:
        d, mo, y, hh, mi, ss = m.groups()
        ampm = None
    else:
        m = _MDY.match(v)
        if not m:
            return value
        mo, d, y, hh, mi, ss, ampm = m.groups()
    h = int(hh or 0)
    if ampm:
        if not 1 <= h <= 12:
            return value
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        return dt.datetime(int(y), int(mo), int(d), h, int(mi or 0), int(ss or 0)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _date(value: str | None) -> str | None:
    """A date-only field as ``YYYY-MM-DD`` (Bitrix24 sends midnight with an offset).

    >>> _date("2024-09-30T03:00:00+03:00"), _date("30.09.2024"), _date("30.09.2024 00:00:00"), _date("soon")
    ('2024-09-30', '2024-09-30', '2024-09-30', 'soon')
    """
    if value is None:
        return None
    v = value.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", v):
        return v[:10]
    local = _local_time(v)
    if local is not None and local != v:
        return local[:10]
    return value


def _epoch(value: str, tz: str | None) -> str:
    """The id part of a move time: epoch seconds UTC when the time has an offset (or the
    source's zone is known), else the time's digits (``20240902183718``); else the text.

    >>> [_epoch(t, None) for t in ("2024-09-03T11:05:00+02:00", "2024-09-03T09:05:00+00:00", "2024-09-03T09:05:00Z")]
    ['1725354300', '1725354300', '1725354300']
    >>> _epoch("2024-09-03 12:05:00", "Europe/Moscow"), _epoch("03.09.2024 12:05:00", None), _epoch("bad", None)
    ('1725354300', '20240903120500', 'bad')
    """
    v = value.strip()
    if re.fullmatch(r"\d{9,11}", v):
        return v
    local = _local_time(v) or v
    try:
        moment = dt.datetime.fromisoformat(local.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return v
    if moment.tzinfo is None:
        if not tz:
            return moment.strftime("%Y%m%d%H%M%S")
        try:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        except (KeyError, ValueError):
            return moment.strftime("%Y%m%d%H%M%S")
    return str(int(moment.timestamp()))


def _category(stage_id: str | None, category_id: Any) -> str | None:
    """The funnel of a stage: ``CATEGORY_ID`` when given, else the ``C{n}:`` prefix (none = 0).

    >>> _category("C14:UC_M3VGWL", None), _category("NEW", None), _category("C14:WON", "14"), _category(None, None)
    ('14', '0', '14', None)
    """
    given = clean(category_id)
    if given is not None:
        return given
    if stage_id is None:
        return None
    m = _CATEGORY_PREFIX.match(stage_id)
    return m.group(1) if m else "0"


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Identifiers in order, each once (a contact in both CONTACT_ID and CONTACT_IDS)."""
    return list(dict.fromkeys(pairs))


def _raw(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)[:2000]


class _Options:
    """The source's options, checked once per file."""

    def __init__(self, opts: Mapping[str, Any], src: SourceConfig, path: Path):
        def fail(msg: str):
            raise InputDataError(src.name, str(path), f"options.{msg}")

        self.kind = str(opts.get("kind") or "auto").strip().lower()
        if self.kind not in KINDS:
            fail(f"kind: {self.kind!r} is not one of {list(KINDS)}")
        self.id_fields: dict[str, str] = {}
        id_fields = opts.get("id_fields") or {}
        if not isinstance(id_fields, Mapping):
            fail("id_fields: expected a mapping {field: identifier type}, e.g. {UF_CRM_YM_CLIENT_ID: ym_client_id}")
        for field_name, id_type in id_fields.items():
            if id_type not in ID_TYPES:
                fail(f"id_fields.{field_name}: {id_type!r} is not an identifier type; use one of {list(ID_TYPES)}")
            self.id_fields[str(field_name)] = str(id_type)
        for name in ("stages", "lead_statuses"):
            if not isinstance(opts.get(name) or {}, Mapping):
                fail(f"{name}: expected a mapping {{id: name}}")
        self.stages = {str(k): str(v) for k, v in (opts.get("stages") or {}).items()}
        self.lead_statuses = {str(k): str(v) for k, v in (opts.get("lead_statuses") or {}).items()}
        self.stage_ids_by_name = {v.strip().casefold(): k for k, v in self.stages.items()}
        self.won = self._names(opts.get("won_stages"), "won_stages", fail)
        self.lost = self._names(opts.get("lost_stages"), "lost_stages", fail)
        self.tz = src.timezone

    @staticmethod
    def _names(value: Any, name: str, fail) -> frozenset[str]:
        if value is None:
            return frozenset()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            fail(f"{name}: expected a list of stage names or ids")
        return frozenset(str(v).strip().casefold() for v in value)

    def semantic(self, code: Any, stage_id: str | None, stage_name: str | None) -> str | None:
        """``open``/``won``/``lost``: the P/S/F code, else the ``won_stages``/``lost_stages``
        options (names or ids), else the fixed codes (WON, LOSE, APOLOGY; CONVERTED, JUNK)."""
        c = (clean(code) or "").upper()
        if c in _SEMANTIC:
            return _SEMANTIC[c]
        for value in (stage_id, stage_name):
            if value is not None and value.strip().casefold() in self.won:
                return "won"
            if value is not None and value.strip().casefold() in self.lost:
                return "lost"
        if stage_id is not None:
            bare = stage_id.rsplit(":", 1)[-1].upper()
            if bare in _WON_CODES:
                return "won"
            if bare in _LOST_CODES:
                return "lost"
        return "open" if (stage_id or stage_name) else None

    def mapped_ids(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Identifiers from the ``id_fields`` option (a multiple field gives several)."""
        out = []
        for field_name, id_type in self.id_fields.items():
            if field_name in record:
                out.extend((id_type, v) for v in _values(record[field_name]))
        return out


def _properties(record: Mapping[str, Any]) -> dict[str, str | None]:
    """Every other field of an API record: ``UF_*`` under its own name, the rest lower-case."""
    out: dict[str, str | None] = {}
    for key, value in record.items():
        if key in _NOT_PROPERTIES:
            continue
        name = key if key.upper().startswith("UF_") else _RENAMES.get(key, key.lower())
        v = _prop(value)
        if v is None:
            continue
        if name in _FLAGS:
            v = _yn(v)
        elif name in _DATES:
            v = _date(v)
        elif name == "stage_semantic":
            v = _SEMANTIC.get(v.upper(), v)
        out[name] = v
    return out


def _time(value: Any) -> str | None:
    t = clean(value)
    return None if t is None else _local_time(t)


# --------------------------------------------------------------------------- API records


def _deal(row: int, r: Mapping[str, Any], o: _Options) -> list[Record]:
    deal_id = clean(r.get("ID"))
    if deal_id is None:
        return [Reject(row, "ID: missing (a deal without an id cannot be told apart from its re-exports)", _raw(r))]
    created = _time(r.get("DATE_CREATE"))
    if created is None:
        return [Reject(row, "DATE_CREATE: missing (the deal's creation time is its event time)", _raw(r))]
    stage_id = clean(r.get("STAGE_ID"))
    stage_name = o.stages.get(stage_id) if stage_id else None
    category = _category(stage_id, r.get("CATEGORY_ID"))
    semantic = o.semantic(r.get("STAGE_SEMANTIC_ID"), stage_id, stage_name)
    updated = _time(r.get("DATE_MODIFY"))
    opportunity = clean(r.get("OPPORTUNITY"))
    currency = clean(r.get("CURRENCY_ID"))
    ids: list[tuple[str, str]] = [("crm_deal", deal_id)]
    ids += [("crm_contact", v) for v in _values(r.get("CONTACT_ID")) + _values(r.get("CONTACT_IDS"))]
    company = clean(r.get("COMPANY_ID"))
    if company is not None and company != "0":
        ids.append(("crm_company", company))
    lead = clean(r.get("LEAD_ID"))
    if lead is not None and lead != "0":
        ids.append(("crm_lead", lead))
    ids = _unique(ids + o.mapped_ids(r))
    utm = dict(utm_source=clean(r.get("UTM_SOURCE")), utm_medium=clean(r.get("UTM_MEDIUM")),
               utm_campaign=clean(r.get("UTM_CAMPAIGN")))
    props = _properties(r)
    props.update(stage_semantic=semantic, category_id=category, pipeline_id=category)
    if stage_name is not None:
        props["stage_name"] = stage_name
    props = {k: v for k, v in props.items() if v is not None}
    out: list[Record] = [Event(row, created, "deal_created", f"deal:{deal_id}:created", 0, channel="crm",
                               updated_at=updated, identifiers=ids, properties=props, **utm)]
    if stage_id is None:
        return out
    moved = _time(r.get("MOVED_TIME"))
    stage_props: dict[str, str | None] = {
        "stage_id": stage_id, "stage_semantic": semantic, "category_id": category, "pipeline_id": category,
        "opportunity": opportunity, "currency": currency, "title": clean(r.get("TITLE")),
        "moved_by_id": clean(r.get("MOVED_BY_ID")), "assigned_by_id": clean(r.get("ASSIGNED_BY_ID")),
        "history_type": "current",
    }
    if stage_name is not None:
        stage_props["stage_name"] = stage_name
    if moved is not None:
        at, event_id = moved, f"deal:{deal_id}:stage:{stage_id}:{_epoch(moved, o.tz)}"
    elif semantic in ("won", "lost") and updated is not None:
        # no MOVED_TIME in the export: a closed deal's last change stands in for its close
        at, event_id = updated, f"deal:{deal_id}:stage:{stage_id}"
        stage_props["stage_time"] = "date_modify"
    else:
        return out
    out.append(Event(row, at, "deal_stage_changed", event_id, 1, channel="crm",
                     revenue=opportunity if semantic == "won" else None, updated_at=updated,
                     identifiers=list(ids), properties={k: v for k, v in stage_props.items() if v is not None}, **utm))
    return out


def _lead(row: int, r: Mapping[str, Any], o: _Options) -> list[Record]:
    lead_id = clean(r.get("ID"))
    if lead_id is None:
        return [Reject(row, "ID: missing (a lead without an id cannot be told apart from its re-exports)", _raw(r))]
    created = _time(r.get("DATE_CREATE"))
    if created is None:
        return [Reject(row, "DATE_CREATE: missing (the lead's creation time is its event time)", _raw(r))]
    status_id = clean(r.get("STATUS_ID"))
    status_name = o.lead_statuses.get(status_id) if status_id else None
    semantic = o.semantic(r.get("STATUS_SEMANTIC_ID"), status_id, status_name)
    updated = _time(r.get("DATE_MODIFY"))
    ids: list[tuple[str, str]] = [("crm_lead", lead_id)]
    ids += [("phone", v) for v in _values(r.get("PHONE"))]
    ids += [("email", v) for v in _values(r.get("EMAIL"))]
    ids += [("crm_contact", v) for v in _values(r.get("CONTACT_ID")) + _values(r.get("CONTACT_IDS"))]
    company = clean(r.get("COMPANY_ID"))
    if company is not None and company != "0":
        ids.append(("crm_company", company))
    ids = _unique(ids + o.mapped_ids(r))
    utm = dict(utm_source=clean(r.get("UTM_SOURCE")), utm_medium=clean(r.get("UTM_MEDIUM")),
               utm_campaign=clean(r.get("UTM_CAMPAIGN")))
    props = _properties(r)
    props["stage_semantic"] = semantic
    if status_name is not None:
        props["status_name"] = status_name
    props = {k: v for k, v in props.items() if v is not None}
    out: list[Record] = [Event(row, created, "lead_created", f"lead:{lead_id}:created", 0, channel="crm",
                               updated_at=updated, identifiers=ids, properties=props, **utm)]
    moved = _time(r.get("MOVED_TIME"))
    if status_id is None or moved is None:
        return out
    status_props = {"status_id": status_id, "status_name": status_name, "stage_semantic": semantic,
                    "history_type": "current"}
    out.append(Event(row, moved, "lead_status_changed", f"lead:{lead_id}:status:{status_id}:{_epoch(moved, o.tz)}", 1,
                     channel="crm", updated_at=updated, identifiers=list(ids),
                     properties={k: v for k, v in status_props.items() if v is not None}, **utm))
    return out


def _contact(row: int, r: Mapping[str, Any], o: _Options) -> list[Record]:
    contact_id = clean(r.get("ID"))
    if contact_id is None:
        return [Reject(row, "ID: missing (a contact without an id cannot be told apart from its re-exports)", _raw(r))]
    created = _time(r.get("DATE_CREATE"))
    if created is None:
        return [Reject(row, "DATE_CREATE: missing (the contact's creation time is its event time)", _raw(r))]
    ids: list[tuple[str, str]] = [("crm_contact", contact_id)]
    ids += [("phone", v) for v in _values(r.get("PHONE"))]
    ids += [("email", v) for v in _values(r.get("EMAIL"))]
    lead = clean(r.get("LEAD_ID"))
    if lead is not None and lead != "0":
        ids.append(("crm_lead", lead))
    ids = _unique(ids + o.mapped_ids(r))
    return [Event(row, created, "contact_created", f"contact:{contact_id}:created", 0, channel="crm",
                  utm_source=clean(r.get("UTM_SOURCE")), utm_medium=clean(r.get("UTM_MEDIUM")),
                  utm_campaign=clean(r.get("UTM_CAMPAIGN")), updated_at=_time(r.get("DATE_MODIFY")),
                  identifiers=ids, properties=_properties(r))]


def _status(row: int, r: Mapping[str, Any], o: _Options) -> list[Record]:
    entity = clean(r.get("ENTITY_ID"))
    status_id = clean(r.get("STATUS_ID"))
    name = clean(r.get("NAME"))
    for field_name, value in (("ENTITY_ID", entity), ("STATUS_ID", status_id), ("NAME", name)):
        if value is None:
            return [Reject(row, f"{field_name}: missing (a crm.status.list entry needs ENTITY_ID, STATUS_ID and NAME)",
                           _raw(r))]
    assert entity is not None and status_id is not None and name is not None
    if entity == "DEAL_STAGE" or re.fullmatch(r"DEAL_STAGE_\d+", entity):
        kind = "bitrix24_stage"
    elif entity == "STATUS":
        kind = "bitrix24_lead_status"  # lead status NEW is not deal stage NEW
    else:
        kind = "bitrix24_" + entity.lower()
    return [Reference(row, kind, status_id, name)]


def _history(records: list[tuple[int, Any]], o: _Options) -> Iterator[Record]:
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
        at = _time(r.get("CREATED_TIME"))
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
        parsed.append((row, r, ("lead" if is_lead else "deal", owner, at, stage, _epoch(at, o.tz))))
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
            yield Reject(row, "a stage history item must be a JSON object", _raw(r))
            continue
        if isinstance(info, str):
            yield r if isinstance(r, Reject) else Reject(row, info, _raw(r))
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
        category = _category(stage, r.get("CATEGORY_ID"))
        props = {"stage_id": stage, "stage_name": name, "category_id": category, "pipeline_id": category,
                 "stage_semantic": o.semantic(r.get("STAGE_SEMANTIC_ID"), stage, name),
                 "history_type": history_type, "history_id": clean(r.get("ID")), "previous_stage_id": prev_stage}
        if history_type == "funnel_changed" and prev is not None:
            props["previous_category_id"] = _category(prev_stage, prev[1].get("CATEGORY_ID"))
        yield Event(row, at, "deal_stage_changed", f"deal:{owner}:stage:{stage}:{epoch}", 0, channel="crm",
                    identifiers=[("crm_deal", owner)], properties={k: v for k, v in props.items() if v is not None})


_HANDLERS = {"deals": _deal, "leads": _lead, "contacts": _contact, "statuses": _status}


# --------------------------------------------------------------------------- reading JSON


def _api_error(doc: Mapping[str, Any]) -> str | None:
    if "error" in doc and "result" not in doc:
        return f"{doc.get('error')}: {doc.get('error_description') or ''}".strip(": ")
    return None


def _is_response(doc: Any) -> bool:
    return isinstance(doc, Mapping) and ("result" in doc or "error" in doc)


def _page_records(doc: Mapping[str, Any], where: str, src: SourceConfig, path: Path) -> list[Any]:
    error = _api_error(doc)
    if error is not None:
        raise InputDataError(src.name, str(path), f"{where} is an API error response ({error}), not data")
    result = doc.get("result")
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping) and isinstance(result.get("items"), list):
        return result["items"]
    if result is None or result == {}:
        return []
    raise InputDataError(src.name, str(path), f"{where}: 'result' is neither a list of records nor {{'items': [...]}}")


def _json_records(path: Path, src: SourceConfig) -> list[tuple[int, Any]]:
    """Every record of a JSON / NDJSON file with its 1-based number (across pages)."""
    data = textfiles.read_bytes(path)
    docs: list[tuple[str, Any]] = []
    if textfiles.is_ndjson(data):
        for n, obj in textfiles.iter_ndjson(path, src):
            docs.append((f"line {n}", obj))
    else:
        doc = textfiles.load_json(path, src)
        if isinstance(doc, list) and doc and all(_is_response(d) for d in doc):
            docs = [(f"response {i}", d) for i, d in enumerate(doc, start=1)]
        elif isinstance(doc, list):
            docs = [("the list", doc)]
        else:
            docs = [("the response", doc)]
    out: list[tuple[int, Any]] = []
    for where, doc in docs:
        if isinstance(doc, Reject):  # a broken NDJSON line: one unreadable record
            out.append((len(out) + 1, Reject(len(out) + 1, f"{where}: {doc.reason}", doc.raw_text)))
        elif isinstance(doc, list):
            out.extend((len(out) + 1, r) for r in doc)
        elif _is_response(doc):
            out.extend((len(out) + 1, r) for r in _page_records(doc, where, src, path))
        elif isinstance(doc, Mapping) and isinstance(doc.get("items"), list):
            out.extend((len(out) + 1, r) for r in doc["items"])
        elif isinstance(doc, Mapping):
            out.append((len(out) + 1, doc))  # one record
        else:
            raise InputDataError(src.name, str(path),
                                 f"{where}: expected a Bitrix24 REST response or a list of records")
    return out


def detect_kind(keys: set[str]) -> str | None:
    """The list a set of record keys comes from, or None.

    >>> detect_kind({"ID", "TYPE_ID", "OWNER_ID", "STAGE_ID"}), detect_kind({"ENTITY_ID", "STATUS_ID", "NAME"})
    ('stagehistory', 'statuses')
    >>> [detect_kind(k) for k in ({"ID", "STAGE_ID", "OPPORTUNITY"}, {"ID", "STATUS_ID", "TITLE"}, {"ID", "NAME", "PHONE"})]
    ['deals', 'leads', 'contacts']
    >>> detect_kind({"ID", "TITLE", "COMPANY_TYPE"})
    """
    if "OWNER_ID" in keys and keys & {"STAGE_ID", "STATUS_ID"}:
        return "stagehistory"
    if "ENTITY_ID" in keys and "STATUS_ID" in keys:
        return "statuses"
    if keys & {"STAGE_ID", "STAGE_SEMANTIC_ID", "CLOSEDATE", "BEGINDATE", "MOVED_TIME"} and "STATUS_ID" not in keys:
        return "deals"
    if keys & {"STATUS_ID", "STATUS_SEMANTIC_ID"}:
        return "leads"
    if keys & {"NAME", "LAST_NAME", "SECOND_NAME", "PHONE", "EMAIL", "HONORIFIC", "BIRTHDATE"} and not keys & {
            "TITLE", "COMPANY_TYPE"}:
        return "contacts"
    return None


# --------------------------------------------------------------------------- UI export

#: Canonical field -> headers of the deal list's UI export (Russian, English).
UI_ALIASES: dict[str, tuple[str, ...]] = {
    "ID": ("ID",),
    "DATE_CREATE": ("Дата создания", "Создана", "Created", "Date created", "Created on"),
    "DATE_MODIFY": ("Дата изменения", "Изменена", "Modified", "Date modified", "Modified on"),
    "TITLE": ("Название сделки", "Название", "Deal name", "Deal Name", "Name"),
    "STAGE": ("Стадия сделки", "Стадия", "Deal stage", "Stage"),
    "PIPELINE": ("Воронка", "Направление", "Направление сделки", "Pipeline", "Deal pipeline"),
    "OPPORTUNITY": ("Сумма", "Сумма сделки", "Amount", "Opportunity", "Deal amount"),
    "CURRENCY": ("Валюта", "Currency"),
    "ASSIGNED": ("Ответственный", "Responsible", "Responsible person"),
    "BEGINDATE": ("Дата начала", "Start date"),
    "CLOSEDATE": ("Предполагаемая дата закрытия", "Дата завершения", "Expected close date", "Estimated close date",
                  "Close date"),
    "TYPE": ("Тип", "Type", "Deal type"),
    "SOURCE": ("Источник", "Source"),
    "COMPANY": ("Компания", "Компания: Название компании", "Company", "Company name"),
    "CONTACT": ("Контакт", "Contact"),
    "CONTACT_ID": ("ID контакта", "Контакт: ID", "Contact ID"),
    "COMPANY_ID": ("ID компании", "Компания: ID", "Company ID"),
    "LEAD_ID": ("ID лида", "Lead ID"),
    "CLOSED": ("Сделка закрыта", "Закрыта", "Closed"),
    "UTM_SOURCE": ("Рекламная система", "UTM_SOURCE", "utm_source", "UTM Source"),
    "UTM_MEDIUM": ("Тип трафика", "UTM_MEDIUM", "utm_medium", "UTM Medium", "Traffic type"),
    "UTM_CAMPAIGN": ("Обозначение рекламной кампании", "UTM_CAMPAIGN", "utm_campaign", "UTM Campaign"),
    "UTM_CONTENT": ("Содержание кампании", "UTM_CONTENT", "utm_content", "UTM Content", "Campaign content"),
    "UTM_TERM": ("Условие поиска кампании", "UTM_TERM", "utm_term", "UTM Term", "Campaign search term"),
}

#: Canonical UI field -> property key (the others are event columns or identifiers).
_UI_PROPS = {"TITLE": "title", "PIPELINE": "pipeline_name", "OPPORTUNITY": "opportunity", "CURRENCY": "currency",
             "ASSIGNED": "assigned_by", "TYPE": "type", "SOURCE": "source", "COMPANY": "company_name",
             "CONTACT": "contact_name", "UTM_CONTENT": "utm_content", "UTM_TERM": "utm_term"}

_AMOUNT = re.compile(r"^\s*(-?[\d\s\u00a0\u2009\u202f]*\d(?:[.,]\d+)?)\s*(?:руб\.?|р\.?|₽|rub|usd|eur|\$|€)?\s*$",
                     re.IGNORECASE)


def _amount(value: str | None) -> str | None:
    """A UI amount as revenue text: digit groups and a decimal comma kept, a currency word dropped.

    >>> _amount("19 999,99"), _amount("19 999,99 руб."), _amount("1500"), _amount("n/a")
    ('19 999,99', '19 999,99', '1500', 'n/a')
    """
    if value is None:
        return None
    m = _AMOUNT.match(value)
    return m.group(1).strip() if m else value


def _contact_column(header: str) -> str | None:
    """``phone``/``email`` for a contact's phone or e-mail column; a company's (a reception
    number shared by everyone there) is no customer identifier.

    >>> [_contact_column(h) for h in ("Контакт: Мобильный телефон", "Рабочий e-mail", "Компания: Телефон")]
    ['phone', 'email', None]
    """
    h = header.casefold()
    if "компани" in h or "company" in h:
        return None
    if "телефон" in h or "phone" in h:
        return "phone"
    if "e-mail" in h or "email" in h or "почта" in h:
        return "email"
    return None


def _ui_rows(path: Path, src: SourceConfig, o: _Options) -> Iterator[Record]:
    table = textfiles.read_table(path, src)
    header = [src.columns.get(h, h) for h in table.header]
    renames = dict(zip(table.header, header))
    cols = {name: textfiles.find_column(header, *aliases) for name, aliases in UI_ALIASES.items()}
    for required in ("ID", "DATE_CREATE"):
        if cols[required] is None:
            textfiles.require_columns(header, [UI_ALIASES[required][0]], src, path,
                                      "a Bitrix24 deal export (also accepted: "
                                      + ", ".join(repr(a) for a in UI_ALIASES[required][1:]) + ")")
    mapped = {c for c in cols.values() if c is not None}
    contact_cols = {h: t for h in header if h not in mapped and (t := _contact_column(h))}
    id_cols = {h for h in header if h in o.id_fields}
    for row, rec in table.rows:
        if isinstance(rec, Reject):
            yield rec
            continue
        rec = {renames.get(k, k): v for k, v in rec.items()}

        def get(name: str) -> str | None:
            col = cols[name]
            return clean(rec.get(col)) if col is not None else None

        deal_id = get("ID")
        if deal_id is None:
            yield Reject(row, f"{cols['ID']}: missing (a deal without an id cannot be told apart from its re-exports)",
                         ";".join(v or "" for v in rec.values()))
            continue
        created = _local_time(get("DATE_CREATE"))
        if created is None:
            yield Reject(row, f"{cols['DATE_CREATE']}: missing (the deal's creation time is its event time)",
                         ";".join(v or "" for v in rec.values()))
            continue
        updated = _local_time(get("DATE_MODIFY"))
        stage_name = get("STAGE")
        stage_id = o.stage_ids_by_name.get(stage_name.casefold()) if stage_name else None
        semantic = o.semantic(None, stage_id, stage_name)
        ids: list[tuple[str, str]] = [("crm_deal", deal_id)]
        for name, id_type in (("CONTACT_ID", "crm_contact"), ("COMPANY_ID", "crm_company"), ("LEAD_ID", "crm_lead")):
            v = get(name)
            if v is not None and v != "0":
                ids.extend((id_type, x.strip()) for x in re.split(r"[,;]", v) if x.strip())
        ids += [(t, rec[h]) for h, t in contact_cols.items() if clean(rec.get(h))]
        ids = _unique(ids + o.mapped_ids({h: rec[h] for h in id_cols}))
        props: dict[str, str | None] = {h: v for h, v in rec.items() if h not in mapped and h not in contact_cols
                                        and v is not None}
        props.update({key: get(name) for name, key in _UI_PROPS.items() if get(name) is not None})
        props.update(stage_name=stage_name, stage_id=stage_id, stage_semantic=semantic,
                     begindate=_date(get("BEGINDATE")), closedate=_date(get("CLOSEDATE")), closed=_yn(get("CLOSED")),
                     date_modify=updated)
        props = {k: v for k, v in props.items() if v is not None}
        utm = dict(utm_source=get("UTM_SOURCE"), utm_medium=get("UTM_MEDIUM"), utm_campaign=get("UTM_CAMPAIGN"))
        yield Event(row, created, "deal_created", f"deal:{deal_id}:created", 0, channel="crm", updated_at=updated,
                    identifiers=ids, properties=props, **utm)
        if semantic in ("won", "lost") and updated is not None:
            # the UI export has no move time: the last change stands in for the close, and the
            # id has no time, so a re-export after a later edit replaces it instead of adding one
            stage_props = {"stage_id": stage_id, "stage_name": stage_name, "stage_semantic": semantic,
                           "pipeline_name": get("PIPELINE"), "opportunity": get("OPPORTUNITY"),
                           "currency": get("CURRENCY"), "title": get("TITLE"), "stage_time": "date_modify"}
            yield Event(row, updated, "deal_stage_changed", f"deal:{deal_id}:stage:{stage_id or stage_name}", 1,
                        channel="crm", revenue=_amount(get("OPPORTUNITY")) if semantic == "won" else None,
                        updated_at=updated, identifiers=list(ids),
                        properties={k: v for k, v in stage_props.items() if v is not None}, **utm)


# --------------------------------------------------------------------------- parse


def _is_json(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every record of one Bitrix24 file (REST JSON of any supported list, or a UI export)."""
    o = _Options(option_values(FORMATS[0], src.options), src, path)
    data = textfiles.read_bytes(path)
    if o.kind == "ui" or (o.kind == "auto" and not _is_json(data)):
        yield from _ui_rows(path, src, o)
        return
    if not _is_json(data):
        raise InputDataError(src.name, str(path), f"options.kind is {o.kind!r} but the file is not JSON "
                                                  "(a UI export needs kind 'ui' or 'auto')")
    records = _json_records(path, src)
    kind = o.kind
    if kind == "auto":
        keys: set[str] = set()
        for _, r in records[:50]:
            if isinstance(r, Mapping):
                keys.update(str(k) for k in r)
        if not keys:
            kind = "deals"  # an empty result, or nothing readable: nothing to tell apart
        else:
            detected = detect_kind(keys)
            if detected is None:
                raise InputDataError(src.name, str(path), "cannot tell which Bitrix24 list this is (crm.deal.list, "
                                     "crm.stagehistory.list, crm.contact.list, crm.lead.list, crm.status.list) from "
                                     f"its fields {sorted(keys)[:30]}; set options.kind to one of {list(KINDS[1:])}")
            kind = detected
    if kind == "stagehistory":
        yield from _history(records, o)
        return
    handler = _HANDLERS[kind]
    for row, r in records:
        if isinstance(r, Reject):
            yield r
        elif not isinstance(r, Mapping):
            yield Reject(row, f"a {kind} record must be a JSON object, got {type(r).__name__}", _raw(r))
        else:
            yield from handler(row, r, o)


FORMATS = (
    Format(
        name="bitrix24",
        summary="Bitrix24 CRM: REST JSON (crm.deal.list, crm.stagehistory.list, crm.contact.list, crm.lead.list, "
                "crm.status.list) or the deal list's UI export (CSV / HTML .xls)",
        parse=parse,
        options=dict(DEFAULTS),
    ),
)

__all__ = ["FORMATS", "parse", "detect_kind", "UI_ALIASES"]
