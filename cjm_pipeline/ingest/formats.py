"""The registry of source formats: a config's ``sources[i].format`` names one of these.

Each format module (``metrica``, ``amocrm``, ...) defines one or more :class:`Format`
values. A file format has a ``parse(path, source)`` function yielding
:mod:`~cjm_pipeline.ingest.records` records; a non-file format (a database query) has a
``fetch(config, source)`` function instead. ``options`` lists the format's own keys under
``sources[i].options`` with their defaults; the config check rejects unknown ones with
the closest valid key.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Record

#: Modules that define formats, in the order ``cjm formats`` lists them.
FORMAT_MODULES = ("metrica", "ga4", "amocrm", "bitrix24", "hubspot", "salesforce", "calltouch", "comagic", "callrail",
                  "database")


@dataclass(frozen=True)
class Fetched:
    """What a non-file format read in one run: a label for ``_cjm_loads.file``, the
    sha256 of the content (an unchanged result is skipped like an unchanged file) and
    the records."""

    label: str
    sha256: str
    records: list[Record]


@dataclass(frozen=True)
class Format:
    name: str
    summary: str
    parse: Callable[[Path, Any], Iterator[Record]] | None = None
    fetch: Callable[[Any, Any], Fetched] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """Option name -> default value, for ``sources[i].options``."""
    source_system: str = ""
    """The system the data comes from (``events.source_system``); default: the format name."""
    suffixes: tuple[str, ...] = (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl", ".xls", ".html", ".parquet",
                                 ".csv.gz", ".tsv.gz", ".json.gz", ".ndjson.gz")
    """File name endings a folder source picks up."""


    @property
    def system(self) -> str:
        return self.source_system or self.name


def registry() -> dict[str, Format]:
    """Every format by name (the built-in ``generic_events`` is read by :mod:`.generic`)."""
    out: dict[str, Format] = {}
    for module in FORMAT_MODULES:
        mod = importlib.import_module(f"{__package__}.{module}")
        for fmt in getattr(mod, "FORMATS", ()):
            out[fmt.name] = fmt
    return out


def option_values(fmt: Format, options: dict[str, Any]) -> dict[str, Any]:
    """The format's defaults overridden by the source's ``options:``."""
    return {**fmt.options, **options}
