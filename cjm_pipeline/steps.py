"""A pipeline step: one output table, built from declared input tables by one SQL file.

A :class:`Step` is data: its name is its output table and the stem of its SQL file
``sql/<layer>/<name>.sql``; ``inputs`` are the tables it reads (checked before it runs,
and by a test against the SQL text); ``grain`` is the key that must be unique in its
output (checked after it runs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import duckdb

from . import db
from .errors import StepError


@dataclass(frozen=True)
class Step:
    name: str
    layer: str
    inputs: tuple[str, ...]
    grain: tuple[str, ...] = ()
    doc: str = ""

    @property
    def sql_path(self) -> str:
        return f"{self.layer}/{self.name}.sql"

    def run(self, con: duckdb.DuckDBPyConnection, params: dict[str, Any], *, check_grain: bool = True) -> "StepResult":
        """Build the output table; return its row count and the seconds it took."""
        existing = db.existing_tables(con)
        missing = [t for t in self.inputs if t not in existing]
        if missing:
            raise StepError(self.name, f"missing input tables {missing}")
        started = time.perf_counter()
        db.run_step_sql(con, self.name, self.sql_path, params)
        if check_grain and self.grain:
            self.check_grain(con)
        rows = db.scalar(con, f"select count(*) from {self.name}")
        return StepResult(self.name, rows, time.perf_counter() - started)

    def check_grain(self, con: duckdb.DuckDBPyConnection) -> None:
        keys = ", ".join(db.quote_ident(k) for k in self.grain)
        dupes = db.scalar(con, f"select count(*) from (select {keys} from {self.name} group by all having count(*) > 1)")
        if dupes:
            raise StepError(self.name, f"grain ({', '.join(self.grain)}) is not unique: {dupes} duplicated keys")


@dataclass(frozen=True)
class StepResult:
    step: str
    rows: int
    seconds: float
