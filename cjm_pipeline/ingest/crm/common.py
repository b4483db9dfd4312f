"""Field helpers the CRM formats share: lookup keys, stage outcomes, option lists, identifier cells."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ...errors import InputDataError


def field_key(name: Any) -> str:
    """A field code / name / column header as a lookup key: lower case, non-alphanumerics as ``_``.

    >>> field_key("_YM_UID"), field_key("ClientID Яндекс"), field_key(" utm source ")
    ('ym_uid', 'clientid_яндекс', 'utm_source')
    """
    return re.sub(r"[^0-9a-zа-яё]+", "_", str(name or "").lower()).strip("_")


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
