"""Comparing the tables two engines built: same columns, same rows, values within float tolerance.

Both sides are read from DuckDB connections (the Spark engine copies its tables into the
warehouse), moved as Arrow so types are kept, and compared in SQL: ``EXCEPT ALL`` both ways,
doubles rounded to 6 decimals, nested values (lists, maps, structs) compared as text.
"""

from __future__ import annotations

import duckdb

from cjm_pipeline import db

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def _projection(described: list[tuple]) -> str:
    parts = []
    for name, type_, *_ in described:
        col = db.quote_ident(name)
        if type_ in FLOAT_TYPES or type_.startswith("DECIMAL"):
            parts.append(f"round(cast({col} as double), 6)")
        elif "[" in type_ or type_.startswith(("MAP", "STRUCT")):
            parts.append(f"cast({col} as varchar)")
        else:
            parts.append(col)
    return ", ".join(parts)


#: Columns that stamp the run (its id and start time), different in any two runs.
RUN_STAMPS = {"identity_map": ("first_run", "first_seen_at")}


def table_differences(expected_con, actual_con, table: str, *, examples: int = 3) -> list[str]:
    """What differs between ``table`` on two connections (empty when they agree); the run's own
    stamps (:data:`RUN_STAMPS`) are left out."""
    scratch = duckdb.connect()
    try:
        scratch.register("expected", db.arrow(expected_con, f"select * from {db.check_table_name(table)}"))
        scratch.register("actual", db.arrow(actual_con, f"select * from {table}"))
        skip = RUN_STAMPS.get(table, ())
        exp_cols = [c for c in scratch.execute("describe expected").fetchall() if c[0] not in skip]
        act_cols = [c for c in scratch.execute("describe actual").fetchall() if c[0] not in skip]
        if [c[0] for c in exp_cols] != [c[0] for c in act_cols]:
            return [f"{table}: columns {[c[0] for c in act_cols]}, expected {[c[0] for c in exp_cols]}"]
        e, a = _projection(exp_cols), _projection(act_cols)
        problems = []
        for label, first, second in (("missing", f"select {e} from expected", f"select {a} from actual"),
                                     ("unexpected", f"select {a} from actual", f"select {e} from expected")):
            rows = scratch.execute(f"select * from ({first} except all {second})").fetchall()
            if rows:
                problems.append(f"{table}: {len(rows)} {label} row(s), e.g. {rows[:examples]}")
        return problems
    finally:
        scratch.close()


def all_differences(expected_con, actual_con, tables) -> list[str]:
    """Differences over several tables; a table missing on either side is one too."""
    problems = []
    for table in tables:
        have_e, have_a = db.table_exists(expected_con, table), db.table_exists(actual_con, table)
        if have_e != have_a:
            problems.append(f"{table}: exists on {'one side' if have_e else 'the other side'} only")
        elif have_e:
            problems += table_differences(expected_con, actual_con, table)
    return problems
