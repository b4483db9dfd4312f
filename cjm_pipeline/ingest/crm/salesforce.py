"""The ``salesforce`` format: Salesforce ``OpportunityHistory``, exported or synced.

Reads the ``OpportunityHistory`` object as the tools users have write it: one row per change
of an opportunity's stage, amount, probability or close date.

* CSV (Data Loader, Workbench, Bulk API, ``sf data query --result-format csv``) with the API
  field names as headers (``Id, OpportunityId, CreatedById, CreatedDate, StageName, Amount,
  ExpectedRevenue, CloseDate, Probability, ForecastCategory, FromForecastCategory,
  FromOpportunityStageName, PrevAmount, PrevCloseDate, ... SystemModstamp, IsDeleted``;
  relationship columns such as ``Opportunity.Name`` become properties), or an HTML / Excel table;
* Fivetran's ``opportunity_history`` table (the same fields in snake_case: ``opportunity_id``,
  ``created_date``, ``stage_name``, ``from_opportunity_stage_name``, ``is_deleted`` ...);
* JSON: the REST query result (``{"totalSize": n, "done": true, "records": [{"attributes":
  {...}, "Id": ...}]}``, one or several pages), a bare list or one record, NDJSON, Airbyte's
  ``OpportunityHistory`` records (:mod:`..jsondocs`); nested relationship objects
  (``"Opportunity": {"Name": ...}``) become ``Opportunity.Name``.

Times: ``CreatedDate`` is UTC (Salesforce stores and the API writes UTC; exports often write it
without a zone, ``2023-02-07 20:47:49``): naive times are read as UTC unless the source sets
``timezone`` (a report exported in a user's zone).

Events (``channel`` = ``crm``; identifier ``crm_deal`` = ``OpportunityId``):

* a row whose stage changed (``FromOpportunityStageName`` differs from ``StageName``, or is
  empty = the opportunity's first stage) -> ``deal_stage_changed`` at ``CreatedDate``,
  ``history:<Id>``, with ``stage_id`` = ``stage_name`` = ``StageName``, ``previous_stage_id``,
  ``stage_semantic`` (options ``won_stages`` / ``lost_stages``) and, for a won stage,
  ``revenue`` = ``Amount``. The first stage row also gives ``deal_created``
  (``deal:<OpportunityId>:created``, part 0);
* any other row (amount, probability or close date changed) -> ``deal_updated``
  (``history:<Id>``).

The ids come from the history row's ``Id``, so the same row read from a CSV export, the REST API
and a sync tool's table is one event. ``CloseDate`` is a date, never an event time: property
``close_date``. Rows with ``IsDeleted`` = true are loaded with property ``is_deleted`` = ``1`` (a
deleted history row still happened; filter on the property). An export without the
``FromOpportunityStageName`` column (API < 50 / older tools) gets the previous stage from the
file itself: the same opportunity's previous row by ``CreatedDate``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from .. import jsondocs, textfiles
from ..parsing import clean, epoch_seconds, option_values, raw_json
from ..records import Event, Record, Reject
from .common import compact, stage_semantic, string_list

_REQUIRED = ["Id", "OpportunityId", "CreatedDate", "StageName"]

#: Mapped columns -> property names (the unified columns are set apart).
_PROPERTY_COLUMNS = {
    "Amount": "amount",
    "ExpectedRevenue": "expected_revenue",
    "CloseDate": "close_date",
    "Probability": "probability",
    "ForecastCategory": "forecast_category",
    "FromForecastCategory": "from_forecast_category",
    "PrevAmount": "prev_amount",
    "PrevCloseDate": "prev_close_date",
    "CreatedById": "created_by_id",
    "SystemModstamp": "system_modstamp",
    "ValidThroughDate": "valid_through_date",
    "PrevForecastUpdate": "prev_forecast_update",
    "PrevOpportunityStageUpdate": "prev_opportunity_stage_update",
}

_TRUE = frozenset(("true", "1", "yes", "y", "t"))


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def _column(header: list[str], name: str) -> str | None:
    """The header holding API field ``name``, as written or in snake_case (``opportunity_id``).

    >>> _column(["id", "opportunity_id", "created_date"], "OpportunityId"), _column(["Id"], "IsDeleted")
    ('opportunity_id', None)
    """
    key = name.lower()
    for h in header:
        if re.sub(r"[^a-z0-9]", "", h.lower()) == key:
            return h
    return None


def _flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A REST record without ``attributes``, relationship objects as ``Opportunity.Name``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if value is None or isinstance(value, str) else (
                ("true" if value else "false") if isinstance(value, bool) else str(value))
    return out


#: A REST query result keeps its records under ``records``.
_SHAPE = jsondocs.Shape({"records": None})


def _json_rows(path: Path, src: SourceConfig) -> tuple[list[str], list[tuple[int, Any]]]:
    """``(the fields seen, (row, record or Reject))`` of a JSON / NDJSON file."""
    header: dict[str, None] = {}
    rows: list[tuple[int, Any]] = []
    for n, _, record in jsondocs.records(path, src, _SHAPE):
        record = jsondocs.record_or_reject(n, record, "an OpportunityHistory record")
        if isinstance(record, Mapping):
            record = _flat(record)
            header.update(dict.fromkeys(record))
        rows.append((n, record))
    return list(header), rows


def parse(path: Path, src: SourceConfig) -> Iterator[Record]:
    """Every row of one ``OpportunityHistory`` export."""
    opts = option_values("salesforce", src)
    won = string_list(opts.get("won_stages"), "won_stages", src, path)
    lost = string_list(opts.get("lost_stages"), "lost_stages", src, path)
    if jsondocs.is_json(textfiles.head_bytes(path)):
        header, rows = _json_rows(path, src)
    else:
        table = textfiles.read_table(path, src)
        header, rows = table.header, list(table.rows)
    col = {name: _column(header, name) for name in
           [*_REQUIRED, "FromOpportunityStageName", "IsDeleted", *_PROPERTY_COLUMNS]}
    missing = [c for c in _REQUIRED if col[c] is None]
    if missing and rows:
        textfiles.require_columns(header, missing, src, path, "Salesforce OpportunityHistory")
    used = {c for c in col.values() if c}

    def get(rec: Mapping[str, Any], name: str) -> str | None:
        return clean(rec.get(col[name])) if col[name] else None

    has_from = col["FromOpportunityStageName"] is not None
    derived_previous: dict[int, str | None] = {}
    if not has_from:
        # no FromOpportunityStageName column: the previous row of the same opportunity in time order
        by_opp: dict[str, list[tuple[int, int, str | None]]] = defaultdict(list)
        for n, rec in rows:
            if isinstance(rec, Reject) or get(rec, "OpportunityId") is None:
                continue
            ts = epoch_seconds(get(rec, "CreatedDate"))
            by_opp[get(rec, "OpportunityId")].append((ts if ts is not None else 0, n, get(rec, "StageName")))
        for changes in by_opp.values():
            changes.sort()
            previous = None
            for i, (_, n, stage) in enumerate(changes):
                derived_previous[n] = previous if i > 0 else None
                previous = stage

    for n, rec in rows:
        if isinstance(rec, Reject):
            yield rec
            continue
        history_id, opp_id = get(rec, "Id"), get(rec, "OpportunityId")
        if history_id is None:
            yield Reject(n, f"{col['Id']}: empty (a history row without an id cannot be told apart from its "
                            "re-exports)", raw_json(rec))
            continue
        if opp_id is None:
            yield Reject(n, f"{col['OpportunityId']}: empty (the change belongs to no opportunity)", raw_json(rec))
            continue
        stage = get(rec, "StageName")
        previous = get(rec, "FromOpportunityStageName") if has_from else derived_previous.get(n)
        first = has_from and previous is None
        stage_changed = previous is None or previous != stage
        semantic = stage_semantic(stage, won, lost)
        properties = compact({
            **{h: clean(v) for h, v in rec.items() if h not in used},
            **{key: get(rec, name) for name, key in _PROPERTY_COLUMNS.items()},
            "history_id": history_id,
            "stage_id": stage,
            "stage_name": stage,
            "stage_semantic": semantic,
            "previous_stage_id": previous,
            "previous_stage_name": previous,
            "is_deleted": ("1" if _is_true(get(rec, "IsDeleted")) else "0") if col["IsDeleted"] else None,
        })
        created = get(rec, "CreatedDate")
        identifiers = [("crm_deal", opp_id)]
        part = 0
        if first:
            yield Event(row=n, part=part, event_time=created, event_type="deal_created",
                        event_id=f"deal:{opp_id}:created", channel="crm", identifiers=identifiers,
                        properties=compact({k: properties.get(k) for k in (
                            "history_id", "stage_name", "amount", "close_date", "probability", "forecast_category",
                            "created_by_id", "is_deleted")}))
            part += 1
        yield Event(
            row=n, part=part, event_time=created,
            event_type="deal_stage_changed" if stage_changed else "deal_updated",
            event_id=f"history:{history_id}", channel="crm", identifiers=identifiers,
            revenue=get(rec, "Amount") if stage_changed and semantic == "won" else None,
            properties=properties)

