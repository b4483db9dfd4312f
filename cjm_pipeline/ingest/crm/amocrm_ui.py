"""The ``amocrm`` format's leads UI export (Сделки -> Экспорт), one row per lead.

A CSV in UTF-8 with BOM or cp1251, ``;`` or ``,``, or the "Excel" HTML table. Per row: a
``lead_created`` at ``Дата создания`` (``dd.mm.YYYY HH:MM:SS``, the account's local time: the
source's ``timezone``, else the config's) with the budget as property ``price``, and, when
``Этап сделки`` is "Успешно реализовано" / "Закрыто и не реализовано" (options
``won_stage_names`` / ``lost_stage_names``), a ``deal_stage_changed`` won/lost at ``Дата
закрытия`` with the API's status id (142 / 143) and, when won, ``revenue`` = the budget; its id
holds the close as epoch seconds, as the API's does; phones and e-mails come from every column
whose header contains ``телефон`` / ``phone`` / ``email``. The API JSON is read by
:mod:`.amocrm`, which calls :func:`parse_table` for a file that is no JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from .. import textfiles
from ..parsing import clean, epoch_seconds, local_time, money
from ..records import Event, Record, Reject
from .common import client_id_pair, compact, field_key, stage_semantic

#: amoCRM's fixed ids of the won and lost statuses (the API gives them too).
WON_STATUS_ID = "142"
LOST_STATUS_ID = "143"

_UTM = ("utm_source", "utm_medium", "utm_campaign")

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


def _contact_id_type(h: str, id_fields: Mapping[str, str]) -> str | None:
    low = h.lower()
    if "телефон" in low or "phone" in low:
        return "phone"
    if "email" in low or "e-mail" in low:
        return "email"
    return id_fields.get(field_key(h))


def _stamp(closed: str, tz: str | None) -> str:
    """The time part of a won/lost event id: epoch seconds, or the date when the export has no time.

    >>> _stamp("2024-03-05 14:20:00", "Europe/Moscow"), _stamp("2024-03-05", "Europe/Moscow")
    ('1709637600', '2024-03-05')
    """
    seconds = epoch_seconds(closed, tz)
    return str(seconds) if seconds is not None else closed


def parse_table(path: Path, src: SourceConfig, ctx: Any) -> Iterator[Record]:
    """Every row of a leads UI export; ``ctx``: the source's checked amoCRM options (``id_fields``,
    ``won_names``, ``lost_names``)."""
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
        created = local_time(rec.get(cols["created"]), keep_dates=True)
        closed = local_time(rec.get(cols["closed"]), keep_dates=True) if cols["closed"] else None
        price = money(clean(rec.get(budget))) if budget else None
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
        updated = local_time(rec.get(cols["updated"]), keep_dates=True) if cols["updated"] else None
        yield Event(row=row, part=0, event_time=created, event_type="lead_created", event_id=f"lead:{lead_id}:created",
                    updated_at=updated, properties=props, **common)
        if semantic in ("won", "lost") and closed is not None:
            status_id = WON_STATUS_ID if semantic == "won" else LOST_STATUS_ID
            yield Event(
                row=row, part=1, event_time=closed, event_type="deal_stage_changed",
                # the id holds the instant (the export's local time in the source's zone), so the API's
                # closed_at gives the same event; a close date without a time keeps the date
                event_id=f"lead:{lead_id}:status:{status_id}:{_stamp(closed, src.timezone)}",
                revenue=price if semantic == "won" else None,
                properties=compact({"stage_id": status_id, "stage_name": stage, "stage_semantic": semantic,
                                    "pipeline_name": props.get("pipeline_name"), "price": price,
                                    "from_snapshot": "1"}),
                **common)
