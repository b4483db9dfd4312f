"""Bitrix24's value conventions and the ``bitrix24`` options, shared by the REST and UI readers.

Bitrix24 writes every REST value as a string (``"ID":"37"``), flags as ``Y``/``N``, multiple
fields as ``[{"VALUE": ...}]``, date-only fields as midnight with an offset, and stages as
``C{funnel}:{code}`` with a semantic code ``P``/``S``/``F``. :class:`Options` checks the
source's options once per file and decides a stage's outcome. Times are read by
:func:`cjm_pipeline.ingest.parsing.local_time` with the US slash order (:data:`SLASH_ORDER`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ...config import SourceConfig
from ...errors import InputDataError
from ...schema import PARSER_ID_TYPES as ID_TYPES
from ..parsing import as_text, clean, local_time

#: File kinds (option ``kind``); ``auto`` tells them from the content.
KINDS = ("auto", "deals", "stagehistory", "contacts", "leads", "statuses", "ui")

#: How Bitrix24 writes a slash date (its English UI: ``09/02/2024 06:37:18 pm`` is 2 September).
SLASH_ORDER = "mdy"

SEMANTIC = {"P": "open", "S": "won", "F": "lost"}
_CATEGORY_PREFIX = re.compile(r"^C(\d+):")
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


def prop_text(value: Any) -> str | None:
    """Any JSON value as property text: multifields (``[{"VALUE": ...}]``) and lists of
    scalars joined with ``, ``, other objects as compact JSON.

    >>> prop_text([{"ID": "1", "VALUE": "a@b.ru"}, {"VALUE": "c@d.ru"}]), prop_text(["1", 2])
    ('a@b.ru, c@d.ru', '1, 2')
    >>> prop_text({"x": 1}), prop_text([])
    ('{"x":1}', None)
    """
    if isinstance(value, list):
        if not value:
            return None
        if all(isinstance(v, dict) and "VALUE" in v for v in value):
            parts = [clean(v.get("VALUE")) for v in value]
            return ", ".join(p for p in parts if p) or None
    return as_text(value)


def values_of(value: Any) -> list[str]:
    """The values of a field that may be a scalar, a list or a multifield.

    >>> values_of("88001001020"), values_of([{"VALUE": "a"}, {"VALUE": " "}]), values_of(["5", 6]), values_of(None)
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


def yn_flag(value: str | None) -> str | None:
    """Bitrix24's ``Y``/``N`` (also ``Да``/``Нет``, ``true``/``false``) as ``1``/``0``.

    >>> yn_flag("Y"), yn_flag("N"), yn_flag("Да"), yn_flag("нет"), yn_flag("maybe"), yn_flag(None)
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


def date_only(value: str | None) -> str | None:
    """A date-only field as ``YYYY-MM-DD`` (Bitrix24 sends midnight with an offset).

    >>> date_only("2024-09-30T03:00:00+03:00"), date_only("30.09.2024"), date_only("30.09.2024 00:00:00")
    ('2024-09-30', '2024-09-30', '2024-09-30')
    >>> date_only("soon")
    'soon'
    """
    if value is None:
        return None
    v = value.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", v):
        return v[:10]
    local = local_time(v, SLASH_ORDER)
    if local is not None and local != v:
        return local[:10]
    return value


def move_epoch(value: str, tz: str | None) -> str:
    """The id part of a move time: epoch seconds UTC when the time has an offset (or the
    source's zone is known), else the time's digits (``20240902183718``); else the text.

    >>> [move_epoch(t, None) for t in ("2024-09-03T11:05:00+02:00", "2024-09-03T09:05:00+00:00",
    ...                                "2024-09-03T09:05:00Z")]
    ['1725354300', '1725354300', '1725354300']
    >>> move_epoch("2024-09-03 12:05:00", "Europe/Moscow"), move_epoch("03.09.2024 12:05:00", None)
    ('1725354300', '20240903120500')
    >>> move_epoch("bad", None)
    'bad'
    """
    v = value.strip()
    if re.fullmatch(r"\d{9,11}", v):
        return v
    local = local_time(v, SLASH_ORDER) or v
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


def stage_category(stage_id: str | None, category_id: Any) -> str | None:
    """The funnel of a stage: ``CATEGORY_ID`` when given, else the ``C{n}:`` prefix (none = 0).

    >>> stage_category("C14:UC_M3VGWL", None), stage_category("NEW", None), stage_category("C14:WON", "14")
    ('14', '0', '14')
    >>> stage_category(None, None)
    """
    given = clean(category_id)
    if given is not None:
        return given
    if stage_id is None:
        return None
    m = _CATEGORY_PREFIX.match(stage_id)
    return m.group(1) if m else "0"


def unique_ids(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Identifiers in order, each once (a contact in both CONTACT_ID and CONTACT_IDS)."""
    return list(dict.fromkeys(pairs))


def raw_text(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)[:2000]


class Options:
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
        if c in SEMANTIC:
            return SEMANTIC[c]
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
                out.extend((id_type, v) for v in values_of(record[field_name]))
        return out


def record_properties(record: Mapping[str, Any]) -> dict[str, str | None]:
    """Every other field of an API record: ``UF_*`` under its own name, the rest lower-case."""
    out: dict[str, str | None] = {}
    for key, value in record.items():
        if key in _NOT_PROPERTIES:
            continue
        name = key if key.upper().startswith("UF_") else _RENAMES.get(key, key.lower())
        v = prop_text(value)
        if v is None:
            continue
        if name in _FLAGS:
            v = yn_flag(v)
        elif name in _DATES:
            v = date_only(v)
        elif name == "stage_semantic":
            v = SEMANTIC.get(v.upper(), v)
        out[name] = v
    return out
