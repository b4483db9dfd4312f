"""The ``bitrix24`` format's UI export: the deal list saved as CSV or as "Excel" (an HTML table).

``;``-separated CSV (UTF-8 with BOM or cp1251) or an HTML table in a ``.xls`` file, Russian or
English headers (:data:`UI_ALIASES`). Per row a ``deal_created`` at the creation time and, for
a deal in a won or lost stage, a ``deal_stage_changed`` at its last change (the export has no
move time). Contact phone and e-mail columns are identifiers; a company's are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ...config import SourceConfig
from .. import textfiles
from ..parsing import clean, local_time, money
from ..records import Event, Record, Reject
from .bitrix24_fields import SLASH_ORDER, Options, date_only, unique_ids, yn_flag

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


def ui_rows(path: Path, src: SourceConfig, o: Options) -> Iterator[Record]:
    """Every row of a deal list UI export (CSV or the HTML "Excel" file)."""
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
        created = local_time(get("DATE_CREATE"), SLASH_ORDER)
        if created is None:
            yield Reject(row, f"{cols['DATE_CREATE']}: missing (the deal's creation time is its event time)",
                         ";".join(v or "" for v in rec.values()))
            continue
        updated = local_time(get("DATE_MODIFY"), SLASH_ORDER)
        stage_name = get("STAGE")
        stage_id = o.stage_ids_by_name.get(stage_name.casefold()) if stage_name else None
        semantic = o.semantic(None, stage_id, stage_name)
        ids: list[tuple[str, str]] = [("crm_deal", deal_id)]
        for name, id_type in (("CONTACT_ID", "crm_contact"), ("COMPANY_ID", "crm_company"), ("LEAD_ID", "crm_lead")):
            v = get(name)
            if v is not None and v != "0":
                ids.extend((id_type, x.strip()) for x in re.split(r"[,;]", v) if x.strip())
        ids += [(t, rec[h]) for h, t in contact_cols.items() if clean(rec.get(h))]
        ids = unique_ids(ids + o.mapped_ids({h: rec[h] for h in id_cols}))
        props: dict[str, str | None] = {h: v for h, v in rec.items() if h not in mapped and h not in contact_cols
                                        and v is not None}
        props.update({key: get(name) for name, key in _UI_PROPS.items() if get(name) is not None})
        props.update(stage_name=stage_name, stage_id=stage_id, stage_semantic=semantic,
                     begindate=date_only(get("BEGINDATE")), closedate=date_only(get("CLOSEDATE")),
                     closed=yn_flag(get("CLOSED")),
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
                        channel="crm", revenue=money(get("OPPORTUNITY")) if semantic == "won" else None,
                        updated_at=updated, identifiers=list(ids),
                        properties={k: v for k, v in stage_props.items() if v is not None}, **utm)
