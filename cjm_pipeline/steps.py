"""A pipeline step: one output table, built from declared input tables by one SQL file.

A :class:`Step` is data: its name is its output table and the stem of its SQL file
``sql/<layer>/<name>.sql``; ``inputs`` are the tables it reads (checked before it runs,
and by a test against the SQL text); ``grain`` is the key that must be unique in its
output (checked after it runs).

A step with ``iterate_param`` computes a fixpoint: its SQL file makes round 0 and
``sql/<layer>/<name>__next.sql`` (reading the table itself) makes the next round, repeated
until a round changes nothing, at most ``params[iterate_param]`` rounds; a step that has not
converged by then fails rather than return a partial answer.

A step with ``variants`` has one SQL file per variant, ``sql/<layer>/<name>__<variant>.sql``,
chosen by the run parameter ``variant_param`` (e.g. the funnel mode). Every variant
builds the same table with the same columns; ``inputs`` is the union of what they read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb

from . import db
from .errors import StepError


class Engine(Protocol):
    """What a step needs of the engine it runs on: :class:`cjm_pipeline.db.DuckDBEngine` or
    :class:`cjm_pipeline.spark.SparkEngine`."""

    def tables(self) -> set[str]: ...
    def materialize(self, table: str, relpath: str, params: dict[str, Any]) -> None: ...
    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any: ...
    def drop(self, table: str) -> None: ...
    def rename(self, source: str, target: str) -> None: ...


def as_engine(con: "duckdb.DuckDBPyConnection | Engine") -> Engine:
    """An engine as is; a DuckDB connection wrapped in :class:`cjm_pipeline.db.DuckDBEngine`."""
    return db.DuckDBEngine(con) if isinstance(con, duckdb.DuckDBPyConnection) else con


@dataclass(frozen=True)
class Step:
    name: str
    layer: str
    inputs: tuple[str, ...]
    grain: tuple[str, ...] = ()
    doc: str = ""
    variant_param: str | None = None
    variants: tuple[str, ...] = ()
    iterate_param: str | None = None

    def sql_path(self, params: dict[str, Any] | None = None) -> str:
        """The SQL file for these run parameters (relative to ``sql/``)."""
        if not self.variant_param:
            return f"{self.layer}/{self.name}.sql"
        variant = (params or {}).get(self.variant_param)
        if variant not in self.variants:
            raise StepError(self.name, f"{self.variant_param} must be one of {', '.join(self.variants)}, got {variant!r}")
        return f"{self.layer}/{self.name}__{variant}.sql"

    @property
    def next_sql_path(self) -> str | None:
        """The SQL file of one more round of an iterated step."""
        return f"{self.layer}/{self.name}__next.sql" if self.iterate_param else None

    @property
    def sql_paths(self) -> tuple[str, ...]:
        """Every SQL file of this step (one, one per variant, or round 0 and the next round)."""
        if self.iterate_param:
            return (self.sql_path(), self.next_sql_path)
        if not self.variant_param:
            return (self.sql_path(),)
        return tuple(self.sql_path({self.variant_param: v}) for v in self.variants)

    def run(self, con: "duckdb.DuckDBPyConnection | Engine", params: dict[str, Any], *,
            check_grain: bool = True) -> "StepResult":
        """Build the output table on a DuckDB connection or an :class:`Engine`; return its row
        count and the seconds it took."""
        engine = as_engine(con)
        existing = engine.tables()
        missing = [t for t in self.inputs if t not in existing]
        if missing:
            raise StepError(self.name, f"missing input tables {missing}")
        started = time.perf_counter()
        engine.materialize(self.name, self.sql_path(params), params)
        rounds = self._iterate(engine, params) if self.iterate_param else None
        if check_grain and self.grain:
            self.check_grain(engine)
        rows = engine.scalar(f"select count(*) from {self.name}")
        return StepResult(self.name, rows, time.perf_counter() - started, rounds)

    def _iterate(self, engine: "Engine", params: dict[str, Any]) -> int:
        """Repeat the next-round SQL until the table stops changing; return the rounds it took."""
        limit = int(params[self.iterate_param])
        nxt = f"{self.name}__next"
        try:
            for rounds in range(1, limit + 1):
                engine.materialize(nxt, self.next_sql_path, params)
                changed = engine.scalar(f"select count(*) from (select * from {nxt} except select * from {self.name})")
                engine.rename(nxt, self.name)
                if not changed:
                    return rounds
        finally:
            engine.drop(nxt)
        raise StepError(self.name, f"did not converge in {limit} rounds ({self.iterate_param}); "
                                   "raise it in the config if the data really has such long chains")

    def check_grain(self, con: "duckdb.DuckDBPyConnection | Engine") -> None:
        keys = ", ".join(db.quote_ident(k) for k in self.grain)
        dupes = as_engine(con).scalar(
            f"select count(*) from (select {keys} from {self.name} group by all having count(*) > 1)")
        if dupes:
            raise StepError(self.name, f"grain ({', '.join(self.grain)}) is not unique: {dupes} duplicated keys")


@dataclass(frozen=True)
class StepResult:
    step: str
    rows: int
    seconds: float
    rounds: int | None = None
    """Rounds an iterated step took to converge."""
