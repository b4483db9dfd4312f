"""The DuckDB engine: steps materialized in the warehouse itself, through :mod:`cjm_pipeline.db`."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from .. import db


class DuckDBEngine:
    """What :meth:`cjm_pipeline.steps.Step.run` needs of an engine, on a DuckDB connection
    (:class:`cjm_pipeline.engines.spark.SparkEngine` is the other one)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def tables(self) -> set[str]:
        return db.existing_tables(self.con)

    def materialize(self, table: str, relpath: str, params: dict[str, Any]) -> None:
        db.run_step_sql(self.con, table, relpath, params)

    def view(self, name: str, relpath: str) -> None:
        db.run_view_sql(self.con, name, relpath)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return db.scalar(self.con, sql, params)

    def drop(self, table: str) -> None:
        db.execute(self.con, f"drop table if exists {db.check_table_name(table)}")

    def rename(self, source: str, target: str) -> None:
        db.execute(self.con, f"drop table if exists {db.check_table_name(target)}")
        db.execute(self.con, f"alter table {db.check_table_name(source)} rename to {target}")

    def read_frame(self, table: str) -> pd.DataFrame:
        return db.read_table(self.con, table)

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        db.write_table(self.con, table, frame)
