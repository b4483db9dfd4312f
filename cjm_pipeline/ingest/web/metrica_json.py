"""Metrica visits and hits as JSON records, the way sync tools deliver the Logs API.

Airbyte's Yandex Metrica source writes the Logs API's fields without their prefix
(``{"visitID": "5495667461753405793", "dateTime": "2022-09-19T08:25:07+00:00",
"watchIDs": "[5495667461753405793]", "goalsID": "[]", ...}``), one record per visit (stream
``sessions``) or hit (stream ``views``), in its message envelope, as raw ``_airbyte_data`` rows,
or flat. :func:`json_table` turns such a file into the same :class:`~..textfiles.Table` the TSV
parts give (headers ``ym:s:<field>`` / ``ym:pv:<field>``, every value text, arrays written as
the Logs API writes them), so :mod:`.metrica` reads both alike. Times with an offset keep it;
naive ones are in the counter's zone, as in the TSV.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from .. import jsondocs
from ..parsing import text
from ..records import Reject
from ..textfiles import Table

_SHAPE = jsondocs.Shape({})


def _cell(value: Any) -> str | None:
    """A JSON value as the Logs API's TSV text: arrays as ``[1,2]`` / ``['a','b']``.

    >>> _cell([1, 2]), _cell(["a", "b'c"]), _cell(None), _cell(19)
    ('[1,2]', "['a','b\\\\'c']", None, '19')
    """
    if isinstance(value, list):
        parts = [text(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in value]
        return "[" + ",".join(parts) + "]"
    return text(value)


def json_table(path: Path, src: SourceConfig, prefix: str) -> Table:
    """The records of a JSON / NDJSON file as a table with ``<prefix><field>`` headers; the
    header is the first record's fields (a later record's new field is kept under its name)."""
    records = jsondocs.records(path, src, _SHAPE)
    first = next(records, None)
    header: list[str] = []
    if first is not None and isinstance(first[2], Mapping):
        header = [_name(k, prefix) for k in first[2]]

    def rows() -> Iterator[tuple[int, dict[str, str | None] | Reject]]:
        if first is not None:
            yield first[0], _row(first[0], first[2], prefix)
        for n, _, record in records:
            yield n, _row(n, record, prefix)

    return Table(header, rows())


def _name(key: str, prefix: str) -> str:
    return key if key.startswith(("ym:s:", "ym:pv:")) else prefix + key


def _row(n: int, record: Any, prefix: str) -> dict[str, str | None] | Reject:
    record = jsondocs.record_or_reject(n, record, "a Metrica record")
    if isinstance(record, Reject):
        return record
    row: dict[str, str | None] = {}
    for key, value in record.items():
        cell = _cell(value)
        row[_name(key, prefix)] = cell if cell != "" else None
    return row
