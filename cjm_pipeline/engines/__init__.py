"""Where the steps run: the small interface a step needs of an engine, and the two engines.

* :class:`~cjm_pipeline.engines.duckdb_engine.DuckDBEngine`: the embedded warehouse (the default),
  over :mod:`cjm_pipeline.db`, the one module that calls DuckDB;
* :class:`~cjm_pipeline.engines.spark.SparkEngine` (``engine: spark``): the same ``sql/`` files,
  translated to Spark SQL (:mod:`~cjm_pipeline.engines.spark_rewrites`), run on Apache Spark.
"""

from __future__ import annotations

from typing import Any, Protocol

import duckdb
import pandas as pd

from .duckdb_engine import DuckDBEngine


class Engine(Protocol):
    """What a step needs of the engine it runs on (:meth:`cjm_pipeline.steps.Step.run`): a SQL step
    materializes a file; a Python step reads its inputs as DataFrames and writes its table back."""

    def tables(self) -> set[str]: ...
    def materialize(self, table: str, relpath: str, params: dict[str, Any]) -> None: ...
    def view(self, name: str, relpath: str) -> None: ...
    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any: ...
    def drop(self, table: str) -> None: ...
    def rename(self, source: str, target: str) -> None: ...
    def read_frame(self, table: str) -> pd.DataFrame: ...
    def write_frame(self, table: str, frame: pd.DataFrame) -> None: ...


def as_engine(con: "duckdb.DuckDBPyConnection | Engine") -> Engine:
    """An engine as is; a DuckDB connection wrapped in :class:`DuckDBEngine`."""
    return DuckDBEngine(con) if isinstance(con, duckdb.DuckDBPyConnection) else con


__all__ = ["Engine", "DuckDBEngine", "as_engine"]
