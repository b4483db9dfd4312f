"""The registry of source formats: a config's ``sources[i].format`` names one of these.

What a format is (its summary, its ``options`` with their defaults, its source system and
the file endings a folder source picks up) is written once, in the catalog
:data:`cjm_pipeline.schema.FORMATS`, which the config checks read too. This module pairs each
catalog entry with the function that reads it: a file format has a ``parse(path, source)``
function yielding :mod:`~cjm_pipeline.ingest.records` records; a non-file format (a database
query) has a ``fetch(config, source)`` function returning a
:class:`~cjm_pipeline.ingest.records.Fetched` instead. The built-in ``generic_events`` is read
by :mod:`.generic`. A parser reads its options with
:func:`~cjm_pipeline.ingest.parsing.option_values` (the catalog's defaults under the source's own).

To add a format: describe it in the catalog, write its parser (under ``web/``, ``crm/`` or
``calls/``) and name the parser in :data:`PARSERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..schema import FORMATS, FormatSpec
from . import database
from .calls import callrail, calltouch, comagic
from .crm import amocrm, bitrix24, hubspot, salesforce
from .records import Fetched, Record
from .web import ga4, metrica

#: The ``parse(path, source)`` function of each file format.
PARSERS: dict[str, Callable[[Path, Any], Iterator[Record]]] = {
    "metrica_visits": metrica.parse_visits,
    "metrica_hits": metrica.parse_hits,
    "ga4": ga4.parse,
    "amocrm": amocrm.parse,
    "bitrix24": bitrix24.parse,
    "hubspot": hubspot.parse,
    "salesforce": salesforce.parse,
    "calltouch": calltouch.parse,
    "comagic": comagic.parse,
    "callrail": callrail.parse,
}

#: The ``fetch(config, source)`` function of each format that runs a query instead of reading files.
FETCHERS: dict[str, Callable[[Any, Any], Fetched]] = {
    "database": database.fetch,
}


@dataclass(frozen=True)
class Format:
    """A catalog entry with its reader: ``parse`` for a file format, ``fetch`` for a query."""

    name: str
    spec: FormatSpec
    parse: Callable[[Path, Any], Iterator[Record]] | None = None
    fetch: Callable[[Any, Any], Fetched] | None = None

    @property
    def summary(self) -> str:
        return self.spec.summary

    @property
    def options(self) -> dict[str, Any]:
        """Option name -> default value, for ``sources[i].options``."""
        return self.spec.options

    @property
    def system(self) -> str:
        """The system the data comes from (``events.source_system``): the catalog's, else the format name."""
        return self.spec.system or self.name

    @property
    def suffixes(self) -> tuple[str, ...]:
        """File name endings a folder source picks up."""
        return self.spec.suffixes


def registry() -> dict[str, Format]:
    """Every format with a reader by name, in the catalog's order (``generic_events`` has none here).

    >>> reg = registry()
    >>> reg["calltouch"].options, reg["metrica_hits"].system, reg["database"].fetch is not None
    ({'slash_dates': 'dmy'}, 'metrica', True)
    """
    return {name: Format(name, spec, PARSERS.get(name), FETCHERS.get(name))
            for name, spec in FORMATS.items() if name in PARSERS or name in FETCHERS}
