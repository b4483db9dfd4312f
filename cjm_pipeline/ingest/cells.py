"""What ingest does to the cells of a ``generic_events`` batch before they reach ``raw_events``.

* **Identifier cells**: ``phone`` cells (and, with ``identity.pii: hash``, ``email`` cells) become
  the row's ``identifiers`` list, normalised as the format parsers do
  (:func:`~cjm_pipeline.ingest.records.normalise_identifiers`: E.164 with ``phonenumbers`` in the
  source's ``phone_region``, several numbers in one cell, extensions). In clear mode the cells stay
  as they are (they are part of the row's content hash, its event_id); in hash mode they are
  emptied and only the hashed identifiers are kept.
* **The identifier cap**: a row with more than ``identity.max_identifiers_per_record``
  identifiers (a cell of 5,000 phone numbers) is not loaded: it is returned as a reject for the
  quarantine, so it never glues thousands of people into one customer.
* **Hash mode** (:meth:`cjm_pipeline.pii.PiiPolicy.protect_field`): every other cell is scanned
  for phones and e-mails: in ``event_id`` and the identifier cells each one becomes its salted
  hash, elsewhere ``<phone>``/``<email>``; an ``identity.pii_columns`` cell is hashed whole.

Each distinct value of a column is processed once per batch.
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

from ..pii import PiiPolicy
from .records import (IDENTIFIERS_ARROW_TYPE, count_identifiers, normalise_identifiers, over_cap_reason,
                      protect_identifiers)


class BatchCells:
    """The cell rules of one file: ``mapping`` is ``{unified name: file column}``, ``header`` the
    file's columns in order (batch columns ``c0``, ``c1``, ... follow it)."""

    def __init__(self, mapping: dict[str, str], header: list[str], *, region: str, pii: PiiPolicy,
                 max_identifiers: int, delimiter: str = ","):
        position = {h: i for i, h in enumerate(header)}
        self.id_columns = {position[mapping[t]]: t for t in ("phone", "email")
                           if t in mapping and (t == "phone" or pii.hashing)}
        self.region, self.pii, self.limit, self.delimiter = region, pii, max_identifiers, delimiter
        unified = {column: name for name, column in mapping.items()}
        #: hash mode: the name each other column is protected as (``identity.pii_columns`` by file or unified name)
        self.fields: dict[int, str] = {}
        if pii.hashing:
            for i, h in enumerate(header):
                if i not in self.id_columns:
                    name = unified.get(h, h)
                    self.fields[i] = h if h in pii.columns else name

    def apply(self, table: pa.Table) -> tuple[pa.Table, list[tuple[int, str, str]]]:
        """``(the batch with an _ids column, its cells protected in hash mode, without the rows over
        the identifier cap; [(row number, reason, raw text)] of those rows)``. The batch holds the file's
        columns (``c0``, ``c1``, ...) and ``_row``."""
        per_row: list[list[dict]] | None = None
        for pos, id_type in self.id_columns.items():
            column = _strings(table.column(pos)).dictionary_encode()
            uniques = [self._identifiers(id_type, v) for v in column.dictionary.to_pylist()]
            lists = [uniques[i] if i is not None else [] for i in column.indices.to_pylist()]
            per_row = lists if per_row is None else [a + b for a, b in zip(per_row, lists)]
        rejects: list[tuple[int, str, str]] = []
        if per_row is not None:
            over = [j for j, ids in enumerate(per_row) if count_identifiers(ids) > self.limit]
            if over:
                rejects = self._over_cap(table, over)
                keep = set(range(table.num_rows)) - set(over)
                table = pc.filter(table, pa.array([j in keep for j in range(table.num_rows)]))
                per_row = [ids for j, ids in enumerate(per_row) if j in keep]
        if self.pii.hashing:
            columns = list(table.columns)  # (one new table at the end: a file may have thousands of columns)
            for pos in self.id_columns:
                columns[pos] = pa.nulls(table.num_rows, pa.string())
            for pos, name in self.fields.items():
                protected = _map_values(columns[pos], functools.partial(self.pii.protect_field, name, region=self.region))
                if protected is not None:
                    columns[pos] = protected
            table = pa.table(columns, names=table.column_names)
        ids = (pa.array(per_row, IDENTIFIERS_ARROW_TYPE) if per_row is not None
               else pa.nulls(table.num_rows, IDENTIFIERS_ARROW_TYPE))
        return table.append_column("_ids", ids), rejects

    def _over_cap(self, table: pa.Table, rows: list[int]) -> list[tuple[int, str, str]]:
        reason = over_cap_reason(self.limit)
        out = []
        for j in rows:
            record = table.slice(j, 1).to_pylist()[0]
            cells = [record[name] for name in table.column_names if name.startswith("c") and name[1:].isdigit()]
            raw = self.delimiter.join("" if c is None else str(c) for c in cells)
            out.append((record["_row"], reason, self.pii.protect_text(raw, self.region)))
        return out

    @functools.lru_cache(maxsize=65536)
    def _identifiers(self, id_type: str, cell: str | None) -> list[dict]:
        if cell is None or not cell.strip():
            return []
        return protect_identifiers(normalise_identifiers([(id_type, cell)], self.region, limit=self.limit),
                                   self.pii, self.region)


def _strings(column) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return array if pa.types.is_string(array.type) else array.cast(pa.string())


def _map_values(column, fn) -> pa.Array | None:
    """``fn`` applied to each distinct value of a column (as text); None when nothing changes
    (the column keeps its type: a Parquet number or time stays one). Times are left alone."""
    kind = column.type
    if pa.types.is_temporal(kind) or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                                          or pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                          or pa.types.is_decimal(kind)):
        return None
    encoded = _strings(column).dictionary_encode()
    values = encoded.dictionary.to_pylist()
    changed = [fn(v) for v in values]
    if changed == values:
        return None
    return pc.take(pa.array(changed, pa.string()), encoded.indices)
