"""The ``bitrix24`` format: Bitrix24 CRM deals, stage history, contacts, leads and stage names.

One format reads every Bitrix24 file kind; the kind is told from the content (or forced
with the option ``kind``):

* REST responses saved as JSON, one response ``{"result": [...], "next": 50, "total": N}``,
  one record (``crm.deal.get`` / ``crm.contact.get`` / ``crm.lead.get``: ``{"result": {...}}``),
  a bare list of records or a bare record, several pages saved as a JSON array of responses,
  one response / record per line (NDJSON), pretty-printed or not (:mod:`..jsondocs`):

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

The records of each REST list are built in :mod:`.bitrix24_api`, the UI export's in
:mod:`.bitrix24_ui`; Bitrix24's value conventions and the options are in :mod:`.bitrix24_fields`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ...errors import InputDataError
from .. import jsondocs, textfiles
from ..parsing import option_values
from ..records import Record, Reject
from .bitrix24_api import HANDLERS, history_records
from .bitrix24_fields import KINDS, Options, raw_text
from .bitrix24_ui import ui_rows


# --------------------------------------------------------------------------- reading JSON


def _api_error(doc: Mapping[str, Any]) -> str | None:
    if "error" in doc and "result" not in doc:
        return f"{doc.get('error')}: {doc.get('error_description') or ''}".strip(": ")
    return None


#: Where a Bitrix24 response keeps its records: ``result`` (a list, or one record: ``crm.deal.get``),
#: ``result.items`` (``crm.stagehistory.list``), or ``items``.
_SHAPE = jsondocs.Shape({"result": None, "result.items": None, "items": None}, singles=("result",), error=_api_error)


def _json_records(path: Path, src: SourceConfig) -> Iterator[tuple[int, Any]]:
    """Every record of a JSON / NDJSON file with its 1-based number (across pages), streamed."""
    for row, _, record in jsondocs.records(path, src, _SHAPE):
        yield row, record


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


# --------------------------------------------------------------------------- parse


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every record of one Bitrix24 file (REST JSON of any supported list, or a UI export)."""
    o = Options(option_values("bitrix24", src), src, path)
    is_json = jsondocs.is_json(textfiles.head_bytes(path))
    if o.kind == "ui" or (o.kind == "auto" and not is_json):
        yield from ui_rows(path, src, o)
        return
    if not is_json:
        raise InputDataError(src.name, str(path), f"options.kind is {o.kind!r} but the file is not JSON "
                                                  "(a UI export needs kind 'ui' or 'auto')")
    stream = _json_records(path, src)
    head = list(itertools.islice(stream, 50))
    records = itertools.chain(head, stream)
    kind = o.kind
    if kind == "auto":
        keys: set[str] = set()
        for _, r in head:
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
        yield from history_records(list(records), o)
        return
    handler = HANDLERS[kind]
    for row, r in records:
        if isinstance(r, Reject):
            yield r
        elif not isinstance(r, Mapping):
            yield Reject(row, f"a {kind} record must be a JSON object, got {type(r).__name__}", raw_text(r))
        else:
            yield from handler(row, r, o)
