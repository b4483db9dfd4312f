"""The one module that talks to DuckDB.

Everything else calls these functions, so connecting, parameter binding, error wrapping
and identifier quoting live in one place.

* SQL lives in ``sql/<layer>/<table>.sql`` as one static ``select``; :func:`create_table`
  adds ``create or replace table <name> as``.
* Values are only ever bound as ``$name`` parameters. DuckDB rejects both extra and
  missing parameters, so :func:`bind` passes exactly the ones a statement uses.
* Identifiers never come from values, except file column names mapped in a config,
  which go through :func:`quote_ident`.
* Results are always consumed fully (``fetchall``/``df``): on DuckDB 2 a partly read
  result blocks the next statement on the connection.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pandas as pd

from .errors import StepError, WarehouseError
from .units import parse_memory_size

_PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")
_COMMENT = re.compile(r"--[^\n]*")


def sql_dir() -> Path:
    """The ``sql/`` folder: packaged copy first, then the source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "sql", here.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("cannot find the sql/ folder next to cjm_pipeline")


def read_sql(relpath: str) -> str:
    """The text of ``sql/<relpath>``."""
    return (sql_dir() / relpath).read_text(encoding="utf-8")


def connect(path: str | Path = ":memory:", *, read_only: bool = False, memory_limit: str | None = None,
            threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open a warehouse (a DuckDB file) or an in-memory database, with UTC as session time zone."""
    path = str(path)
    if path != ":memory:":
        if read_only and not Path(path).exists():
            raise WarehouseError(f"warehouse {path} does not exist; run `cjm run -c CONFIG` first")
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise WarehouseError(f"warehouse {path} is in use by another process (a running `cjm run`?): {e}") from None
        raise WarehouseError(f"cannot open warehouse {path}: {e}") from None
    con.execute("set TimeZone = 'UTC'").fetchall()
    # DuckDB's own progress bar would interleave with cjm's progress line and log lines (in
    # Jupyter without ipywidgets DuckDB refuses to touch the setting, and shows no bar anyway)
    try:
        con.execute("set enable_progress_bar = false").fetchall()
    except duckdb.InvalidInputException:
        pass
    if memory_limit:  # digits and a unit only (units.parse_memory_size), safe in a SET statement
        con.execute(f"set memory_limit = '{parse_memory_size(memory_limit)}'").fetchall()
    if threads:
        con.execute(f"set threads = {int(threads)}").fetchall()
    return con


@functools.lru_cache(maxsize=1)
def _regex_connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


@functools.lru_cache(maxsize=4096)
def regex_error(pattern: str) -> str | None:
    """Why the run's regex engine (RE2, through DuckDB's ``regexp_matches``) rejects ``pattern``;
    None when it compiles. Python's ``re`` accepts patterns RE2 does not (lookarounds,
    backreferences), so configs are checked here, with the engine the steps use.

    >>> regex_error(r"/p/\\d+") is None, regex_error("(?=purchase)purchase")
    (True, 'invalid perl operator: (?=')
    """
    try:
        cursor = _regex_connection().cursor()  # (a cursor per call: safe from any thread)
        try:
            cursor.execute("select regexp_matches('', $p)", {"p": pattern}).fetchall()
        finally:
            cursor.close()
        return None
    except duckdb.Error as e:
        return str(e).split("Error: ", 1)[-1].strip()


def params_used(sql: str) -> set[str]:
    """The ``$names`` a statement uses (comments ignored).

    >>> sorted(params_used("select $a, $b -- $c"))
    ['a', 'b']
    """
    return set(_PARAM.findall(_COMMENT.sub("", sql)))


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Exactly the params ``sql`` uses; DuckDB rejects extras and missing ones."""
    used = params_used(sql)
    if missing := used - params.keys():
        raise KeyError(f"parameters not provided: {sorted(missing)}")
    return {name: params[name] for name in used}


def quote_ident(name: str) -> str:
    """Quote a column name taken from a file header (double quotes doubled).

    >>> print(quote_ident('Дата события'))
    "Дата события"
    """
    return '"' + str(name).replace('"', '""') + '"'


def check_table_name(name: str) -> str:
    if not _TABLE.match(name):
        raise ValueError(f"not a plain table name: {name!r}")
    return name


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """Run one statement with exactly its parameters; return all rows."""
    return con.execute(sql, bind(sql, params or {})).fetchall()


def query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a select and return a DataFrame."""
    return con.execute(sql, bind(sql, params or {})).df()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> Any:
    rows = execute(con, sql, params)
    return rows[0][0] if rows else None


def create_table(con: duckdb.DuckDBPyConnection, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
    """``create or replace table <name> as <select_sql>`` with bound parameters."""
    sql = f"create or replace table {check_table_name(name)} as\n{select_sql}"
    try:
        con.execute(sql, bind(sql, params or {})).fetchall()
    except duckdb.CatalogException as e:
        if "is of type View" not in str(e):
            raise
        drop_relation(con, name)  # a view of that name (from an older layout) gives way to the table
        con.execute(sql, bind(sql, params or {})).fetchall()


def run_step_sql(con: duckdb.DuckDBPyConnection, step: str, relpath: str, params: dict[str, Any]) -> None:
    """Materialize table ``step`` from ``sql/<relpath>``; DuckDB errors become :class:`StepError`."""
    sql = read_sql(relpath)
    try:
        create_table(con, step, sql, params)
    except KeyError as e:
        raise StepError(step, f"sql/{relpath}: {e.args[0]}") from None
    except duckdb.Error as e:
        raise StepError(step, f"sql/{relpath}: {type(e).__name__}: {e}") from e


def run_view_sql(con: duckdb.DuckDBPyConnection, name: str, relpath: str) -> None:
    """Create view ``name`` from ``sql/<relpath>`` (a view takes no parameters); errors become :class:`StepError`."""
    sql = read_sql(relpath)
    if params_used(sql):
        raise StepError(name, f"sql/{relpath}: a view takes no parameters, found {sorted(params_used(sql))}")
    try:
        drop_relation(con, name)
        con.execute(f"create view {check_table_name(name)} as\n{sql}").fetchall()
    except duckdb.Error as e:
        raise StepError(name, f"sql/{relpath}: {type(e).__name__}: {e}") from e


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None):
    """Run a select and return a pyarrow Table."""
    return con.sql(sql, params=bind(sql, params or {})).to_arrow_table()


def register(con: duckdb.DuckDBPyConnection, name: str, frame: Any) -> None:
    """Expose a DataFrame or Arrow table as a view ``name`` on this connection."""
    con.register(check_table_name(name), frame)


def unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.unregister(check_table_name(name))


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: Any, *, append: bool = False) -> None:
    """Store a DataFrame/Arrow table as table ``name`` (replace, or append to an existing one)."""
    check_table_name(name)
    view = f"_cjm_in_{name}"
    con.register(view, frame)
    try:
        if append and table_exists(con, name):
            con.execute(f"insert into {name} by name select * from {view}").fetchall()
        else:
            con.execute(f"create or replace table {name} as select * from {view}").fetchall()
    finally:
        con.unregister(view)


def attach_read_only(con: duckdb.DuckDBPyConnection, path: str | Path, alias: str) -> None:
    """Attach a warehouse file read-only and put it on the search path after the scratch database."""
    check_table_name(alias)
    try:
        con.execute(f"attach $path as {alias} (read_only)", {"path": str(path)}).fetchall()
    except duckdb.Error as e:
        msg = str(e)
        if "lock" in msg.lower() or "conflict" in msg.lower():
            raise WarehouseError(f"warehouse {path} is open for writing elsewhere (a running `cjm run`?): {msg}") from None
        raise WarehouseError(f"cannot open warehouse {path}: {msg}") from None
    con.execute(f"set search_path = 'memory.main,{alias}.main'").fetchall()


def use_schema(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create tables in ``schema`` from now on, and read unqualified names there first, then in main."""
    check_table_name(schema)
    if schema == "main":
        con.execute("use main").fetchall()
        con.execute("reset search_path").fetchall()
        return
    con.execute(f"create schema if not exists {schema}").fetchall()
    con.execute(f"use {schema}").fetchall()
    con.execute(f"set search_path = '{schema},main'").fetchall()


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop table or view ``name`` of the current schema, whichever it is, if it exists."""
    check_table_name(name)
    kinds = con.execute("select table_type from information_schema.tables where table_name = $n "
                        "and table_schema = current_schema() and table_catalog = current_database()",
                        {"n": name}).fetchall()
    for (kind,) in kinds:
        con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} if exists {name}").fetchall()


def narrowed_view(con: duckdb.DuckDBPyConnection, name: str, column: str, scope_schema: str, scope_table: str,
                  scope_column: str) -> None:
    """In the current schema, view ``name``: the rows of ``main.<name>`` whose ``column`` is in
    ``<scope_schema>.<scope_table>.<scope_column>`` (a nightly run's scope, :mod:`cjm_pipeline.incremental`)."""
    t, c, s, st, sc = (check_table_name(x) for x in (name, column, scope_schema, scope_table, scope_column))
    con.execute(f"create or replace view {t} as select x.* from main.{t} as x "
                f"semi join {s}.{st} as k on k.{sc} = x.{c}").fetchall()


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, column: str, scope_schema: str, scope_table: str,
                 scope_column: str) -> None:
    """Replace the rows of ``main.<table>`` whose ``column`` is in the scope with the rows of
    ``<scope_schema>.<table>`` (recomputed for that scope), in one transaction."""
    t, c, s, st, sc = (check_table_name(x) for x in (table, column, scope_schema, scope_table, scope_column))
    con.execute("begin transaction").fetchall()
    try:
        con.execute(f"delete from main.{t} where {c} in (select {sc} from {s}.{st})").fetchall()
        con.execute(f"insert into main.{t} by name select * from {s}.{t}").fetchall()
        con.execute("commit").fetchall()
    except BaseException:
        con.execute("rollback").fetchall()
        raise


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write everything to the database file (nothing left in its WAL)."""
    con.execute("checkpoint").fetchall()


def schemas(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The schemas of the current database."""
    rows = con.execute("select schema_name from information_schema.schemata "
                       "where catalog_name = current_database()").fetchall()
    return sorted(r[0] for r in rows)


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views visible on this connection (all attached databases)."""
    rows = con.execute("select table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return name in existing_tables(con)


def columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """Column names of a table or view, in order."""
    return [d[0] for d in con.execute(f"select * from {check_table_name(name)} limit 0").description]


def read_table(con: duckdb.DuckDBPyConnection, name: str, order_by: Iterable[str] = (), *,
               schema: str | None = None) -> pd.DataFrame:
    """A whole table as a DataFrame, optionally ordered by some of its columns; ``schema``
    (``funnel_checkout``, or ``wh.funnel_checkout`` in an attached warehouse) qualifies the name."""
    check_table_name(name)
    if schema is not None:
        for part in schema.split("."):
            check_table_name(part)
    elif not table_exists(con, name):
        raise WarehouseError(f"the warehouse has no table '{name}'; run `cjm run -c CONFIG` first")
    qualified = f"{schema}.{name}" if schema else name
    cols = [d[0] for d in con.execute(f"select * from {qualified} limit 0").description]
    order = [quote_ident(c) for c in order_by if c in cols]
    sql = f"select * from {qualified}" + (f" order by {', '.join(order)}" if order else "")
    return con.execute(sql).df()


def round_significant(expr: str, digits: int) -> str:
    """SQL rounding ``expr`` (a double) to ``digits`` significant digits; 0 and null stay as they are.
    (DuckDB's ``round`` takes a constant number of decimals only, so the scale is worked out per value
    and the value divided by an exact power of ten: ``0.6771604938`` → ``0.6772``.)"""
    scale = f"cast({int(digits) - 1} - floor(log10(abs({expr}))) as integer)"
    return (f"case when {expr} is null or {expr} = 0 or isnan({expr}) or isinf({expr}) then {expr} "
            f"when {scale} >= 0 then round({expr} * pow(10, {scale})) / pow(10, {scale}) "
            f"else round({expr} / pow(10, -{scale})) * pow(10, -{scale}) end")


def copy_table(con: duckdb.DuckDBPyConnection, table: str, path: Path, *, fmt: str = "csv", delimiter: str = ",",
               decimal_comma: bool = False, order_by: Iterable[str] = (), rename: dict[str, str] | None = None,
               rounded: dict[str, str | None] | None = None, digits: int = 4) -> None:
    """Write a table to a file (``COPY ... TO $path``): ``csv`` with a header, ``parquet`` or ``json``
    (an array of objects). ``decimal_comma`` writes CSV numbers with a decimal comma, as a
    Russian-locale Excel expects (DuckDB's CSV writer has no such option, so they are rendered as text).
    ``rename`` gives columns another name in the file; ``rounded`` columns are rounded to ``digits``
    significant digits (where the column's condition, a static SQL predicate of the row, holds).
    """
    check_table_name(table)
    described = con.execute(f"describe select * from {table}").fetchall()
    names = [row[0] for row in described]
    order = [quote_ident(c) for c in order_by if c in names]
    rename, rounded = rename or {}, rounded or {}
    exprs = []
    for n, t, *_ in described:
        expr, is_float = quote_ident(n), t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL")
        if n in rounded and is_float:
            value = round_significant(expr, digits)
            expr = value if rounded[n] is None else f"case when {rounded[n]} then {value} else {expr} end"
        if fmt == "csv" and decimal_comma and is_float:
            expr = f"replace(cast({expr} as varchar), '.', ',')"
        exprs.append(f"{expr} as {quote_ident(rename.get(n, n))}")
    select = f"select {', '.join(exprs)} from {table}" + (f" order by {', '.join(order)}" if order else "")
    if fmt == "csv":
        sql = f"copy ({select}) to $path (format csv, header true, delimiter $delim)"
        con.execute(sql, {"path": str(path), "delim": delimiter}).fetchall()
    elif fmt == "parquet":
        con.execute(f"copy ({select}) to $path (format parquet)", {"path": str(path)}).fetchall()
    elif fmt == "json":
        con.execute(f"copy ({select}) to $path (format json, array true)", {"path": str(path)}).fetchall()
    else:
        raise ValueError(f"unknown output format {fmt!r} (csv, parquet, json)")
