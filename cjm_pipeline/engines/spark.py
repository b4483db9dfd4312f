"""The one module that talks to Apache Spark: the steps of ``engine: spark``.

The SQL in ``sql/`` stays the single source of truth, written for DuckDB. On Spark each
step's file is translated by sqlglot (read ``duckdb``, write ``spark``) with the rewrites in
:data:`cjm_pipeline.engines.spark_rewrites.REWRITES` applied to the parsed tree, for the DuckDB idioms whose Spark translation is
missing or silently different. Parameters stay bound: ``$name`` becomes Spark's named
parameter marker ``:name`` and the value goes to ``spark.sql(..., args=...)``, never into
the text. Where a translation would still be wrong, the DuckDB file is written in a portable
form (e.g. ``list_extract(l, i)`` for a computed list index); the README lists these places.
A ``WITH RECURSIVE`` step (the funnel searches) runs level by level from Python
(:meth:`SparkEngine._by_levels`), because Spark's recursive CTEs may not aggregate their own
rows; the level queries are cut from the same DuckDB file (:func:`recursive_levels`).

Tables live as Parquet folders under ``spark.tables`` (one per table) and are registered as
temporary views of the session, so every step reads its inputs by name as it does on DuckDB.
Timestamps are ``TIMESTAMP_NTZ`` throughout (naive UTC, as in the DuckDB warehouse), so values
round-trip between the engines unchanged.

The run itself (:func:`cjm_pipeline.pipeline.run`) ingests files and writes the config tables
into the DuckDB warehouse as always; :class:`SparkEngine` then copies those source tables to
Parquet, builds every step on Spark and imports the step tables back into the warehouse, where
exports, reports, ``cjm customer`` and :class:`~cjm_pipeline.warehouse.Warehouse` read them.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa

from .. import db
from ..config import SparkConfig
from ..errors import CjmError, StepError

# --------------------------------------------------------------------------- translation

def _sqlglot():
    try:
        import sqlglot
    except ImportError:  # pragma: no cover - depends on the install
        raise CjmError("engine: spark needs the spark extra: pip install 'cjm-pipeline[spark]'") from None
    return sqlglot


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """A DuckDB statement as Spark SQL, with ``$name`` parameters as ``:name`` markers.

    >>> print(translate("select quantile_cont(x, 0.5) as m from t where d = $day"))
    SELECT PERCENTILE(x, 0.5) AS m FROM t WHERE d = :day
    """
    sqlglot = _sqlglot()
    trees = sqlglot.parse(sql, read="duckdb")
    out = []
    for tree in trees:
        if tree is None:
            continue
        # a rewritten node's own arguments are not visited again in the same pass: repeat the
        # passes until nothing changes (each rewrite leaves nothing it would rewrite again)
        text = None
        for _ in range(10):
            for rewrite in _rewrites():
                tree = tree.transform(rewrite, copy=False)
            if (new := tree.sql(dialect="spark")) == text:
                break
            text = new
        out.append(text)
    if len(out) != 1:
        raise ValueError(f"expected one statement, got {len(out)}")
    return out[0]


@functools.lru_cache(maxsize=1)
def _rewrites():
    from . import spark_rewrites
    return spark_rewrites.REWRITES


RECURSIVE = re.compile(r"^\s*with\s+recursive\b", re.I | re.M)


@dataclass(frozen=True)
class Levels:
    """A recursive statement cut into level queries (DuckDB SQL; see :func:`recursive_levels`)."""

    recursive: tuple[tuple[str, tuple[str, ...], str, str], ...]
    """(CTE name, its columns, anchor query, recursive term reading ``_<name>_level``), in order."""
    final: str
    """The statement's select, with every recursive CTE ``r`` read from ``_r_all``."""


def recursive_levels(sql: str) -> Levels:
    """Cut a DuckDB ``WITH RECURSIVE`` statement into queries a Python loop can run level by level.

    Every query keeps the statement's non-recursive CTEs that it reads, and reads a
    recursive CTE ``r`` as ``_r_all`` (all its levels) or, in ``r``'s own term, ``_r_level`` (the
    previous level), as a recursive CTE's term does.

    >>> lv = recursive_levels("with recursive n(i) as (select 1 union all select i + 1 from n where i < 3) "
    ...                       "select i from n")
    >>> lv.recursive[0][:2], lv.final
    (('n', ('i',)), 'SELECT i FROM _n_all AS n')
    >>> print(lv.recursive[0][3])
    SELECT * FROM (SELECT i + 1 FROM _n_level AS n WHERE i < 3) AS _t(i)
    """
    sqlglot = _sqlglot()
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    with_ = tree.args.get("with_") or tree.args.get("with")
    ctes = list(with_.expressions)
    names = {c.alias for c in ctes}
    recursive_names = [c.alias for c in ctes if isinstance(c.this, exp.Union) and any(
        t.name == c.alias for t in c.this.expression.find_all(exp.Table))]

    def renamed(node: exp.Expression, own: str | None = None) -> exp.Expression:
        def fix(n):
            if isinstance(n, exp.Table) and n.name in recursive_names and not n.args.get("db"):
                alias = n.alias or n.name
                return exp.table_(f"_{n.name}_level" if n.name == own else f"_{n.name}_all", alias=alias)
            return n
        return node.copy().transform(fix)

    plain = [c for c in ctes if c.alias not in recursive_names]

    by_name = {c.alias: c for c in plain}

    def with_plain(select: exp.Expression) -> str:
        """``select`` with the non-recursive CTEs it reads (directly or through another one)."""
        query = select.copy()
        todo, used = {t.name for t in query.find_all(exp.Table)}, set()
        while todo:
            name = todo.pop()
            if name in by_name and name not in used:
                used.add(name)
                todo |= {t.name for t in by_name[name].this.find_all(exp.Table)}
        if used:
            query.set("with_" if "with_" in query.arg_types else "with",
                      exp.With(expressions=[exp.CTE(this=renamed(c.this), alias=exp.TableAlias(
                          this=exp.to_identifier(c.alias))) for c in plain if c.alias in used]))
        return query.sql(dialect="duckdb")

    def as_columns(select: exp.Expression, columns: tuple[str, ...]) -> exp.Expression:
        return exp.select("*").from_(exp.Subquery(this=select, alias=exp.TableAlias(
            this=exp.to_identifier("_t"), columns=[exp.to_identifier(c) for c in columns])))

    recursive = []
    for c in ctes:
        if c.alias in recursive_names:
            columns = tuple(col.name for col in c.args["alias"].columns)
            union: exp.Union = c.this
            recursive.append((c.alias, columns, with_plain(as_columns(renamed(union.this), columns)),
                              with_plain(as_columns(renamed(union.expression, own=c.alias), columns))))
    final = tree.copy()
    final.set("with_" if "with_" in final.arg_types else "with", None)
    assert names  # a WITH RECURSIVE statement has CTEs
    return Levels(tuple(recursive), with_plain(renamed(final)))


# --------------------------------------------------------------------------- the engine

class SparkEngine:
    """Builds step tables on Spark, as Parquet folders registered as temporary views.

    It implements the same small interface as :class:`cjm_pipeline.engines.duckdb_engine.DuckDBEngine`
    (``tables``, ``materialize``, ``scalar``, ``drop``, ``rename``, and ``read_frame``/``write_frame``
    for a Python step), which is all :meth:`cjm_pipeline.steps.Step.run` needs.
    """

    def __init__(self, settings: SparkConfig, tables_dir: str | Path, *, session: Any = None):
        self.settings = settings
        self.dir = Path(tables_dir)
        self._session = session
        self._tables: set[str] = set()

    # -- session
    @property
    def session(self):
        if self._session is None:
            self._session = start_session(self.settings)
        return self._session

    # -- the step interface
    def tables(self) -> set[str]:
        return set(self._tables)

    def materialize(self, table: str, relpath: str, params: dict[str, Any]) -> None:
        """Build ``table`` from the step file ``sql/<relpath>``; errors become :class:`StepError`."""
        source = f"sql/{relpath}"
        text = db.read_sql(relpath)
        if RECURSIVE.search(text):
            self._by_levels(table, text, params, source)
            return
        try:
            translate(text)  # (cached) a translation error is told apart from a Spark one
        except Exception as e:
            raise StepError(table, f"{source}: cannot translate to Spark SQL: {e}") from e
        try:
            self._level(table, text, params)
        except KeyError as e:
            raise StepError(table, f"{source}: {e.args[0]}") from None
        except Exception as e:  # pyspark's errors do not share one base class with py4j's
            raise StepError(table, f"{source} on Spark: {_message(e)}") from e

    def view(self, name: str, relpath: str) -> None:
        """A temporary view ``name`` of the step file ``sql/<relpath>`` (translated; no parameters)."""
        db.check_table_name(name)
        try:
            self.session.sql(translate(db.read_sql(relpath))).createOrReplaceTempView(name)
        except Exception as e:
            raise StepError(name, f"sql/{relpath} on Spark: {_message(e)}") from e
        self._tables.add(name)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.session.sql(translate(sql), args=db.bind(sql, params or {})).collect()
        return rows[0][0] if rows else None

    def drop(self, table: str) -> None:
        db.check_table_name(table)
        self.session.catalog.dropTempView(table)
        shutil.rmtree(self.dir / table, ignore_errors=True)
        self._tables.discard(table)

    def rename(self, source: str, target: str) -> None:
        db.check_table_name(target)
        self.drop(target)
        os.replace(self.dir / source, self.dir / target)
        self.session.catalog.dropTempView(source)
        self._tables.discard(source)
        self._register(target)

    def read_frame(self, table: str):
        """A table as a pandas DataFrame (a Python step's input; the step tables are small there)."""
        db.check_table_name(table)
        return self.session.table(table).toArrow().to_pandas()

    def write_frame(self, table: str, frame) -> None:
        """A pandas DataFrame (a Python step's output) as the table ``table``, its types kept through Arrow."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # PySpark about pandas >= 3
            self._write(table, self.session.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False)))

    def _by_levels(self, table: str, text: str, params: dict[str, Any], source: str = "a recursive query") -> None:
        """A ``WITH RECURSIVE`` statement, one level at a time from Python.

        Spark's recursive CTEs may not aggregate, window or sort their own rows, which the funnel
        searches do (``funnel_attempts__chain``). So each recursive CTE ``r`` runs as its anchor,
        then its recursive term again and again with the previous level in ``_r_level``, until a
        level is empty; ``_r_all`` (every level) stands for ``r`` in what follows, and the final
        select builds ``table``. The statements are cut from the step's own DuckDB file
        (:func:`recursive_levels`) and translated like every other."""
        try:
            plan = recursive_levels(text)
        except Exception as e:
            raise StepError(table, f"{source}: cannot cut into levels for Spark: {e}") from e
        limit = int(params.get("max_iterations") or 1000)
        made: list[str] = []
        try:
            for name, columns, anchor, term in plan.recursive:
                levels = [f"_{name}_1"]
                made += levels
                self._level(levels[0], anchor, params)
                while self.scalar(f"select count(*) from {levels[-1]}"):
                    if len(levels) > limit:
                        raise StepError(table, f"{source}: recursive '{name}' did not end in {limit} levels")
                    self.session.read.table(levels[-1]).createOrReplaceTempView(f"_{name}_level")
                    levels.append(f"_{name}_{len(levels) + 1}")
                    made.append(levels[-1])
                    self._level(levels[-1], term, params)
                self._union(f"_{name}_all", levels)
            self._level(table, plan.final, params)
        except StepError:
            raise
        except KeyError as e:
            raise StepError(table, f"{source}: {e.args[0]}") from None
        except Exception as e:
            raise StepError(table, f"{source} (by levels) on Spark: {_message(e)}") from e
        finally:
            for level in made:
                self.drop(level)

    def _level(self, table: str, duckdb_sql: str, params: dict[str, Any]) -> None:
        """Build ``table`` from one DuckDB statement, translated, with exactly its parameters."""
        self._write(table, self.session.sql(translate(duckdb_sql), args=db.bind(duckdb_sql, params)))

    def _union(self, view: str, tables: list[str]) -> None:
        frame = self.session.read.table(tables[0])
        for t in tables[1:]:
            frame = frame.unionByName(self.session.read.table(t))
        frame.createOrReplaceTempView(view)

    # -- moving tables between the DuckDB warehouse and Spark
    def load_from_duckdb(self, con, tables: Iterable[str]) -> None:
        """Copy DuckDB tables (the raw layer and the config tables) to Parquet and register them."""
        for table in tables:
            db.check_table_name(table)
            target = self.dir / table
            shutil.rmtree(target, ignore_errors=True)
            if db.scalar(con, f"select count(*) from {table}"):
                target.mkdir(parents=True)
                db.execute(con, f"copy {table} to $path (format parquet)", {"path": str(target / "part-0.parquet")})
            else:  # a Parquet file without row groups has no schema Spark can read: Spark writes it
                schema = db.arrow(con, f"select * from {table}").schema
                empty = pa.table([pa.array([], type=f.type) for f in schema], schema=schema)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # PySpark about pandas >= 3
                    frame = self.session.createDataFrame(empty)
                frame.write.mode("overwrite").parquet(str(target))
            self._register(table)

    def save_to_duckdb(self, con, tables: Iterable[str]) -> None:
        """Replace DuckDB tables by the Spark tables of the same names."""
        for table in tables:
            db.check_table_name(table)
            db.execute(con, f"create or replace table {table} as select * from read_parquet($glob)",
                       {"glob": str(self.dir / table / "*.parquet")})

    # -- internals
    def _write(self, table: str, frame) -> None:
        db.check_table_name(table)
        frame.write.mode("overwrite").parquet(str(self.dir / table))
        self._register(table, frame.schema)

    def _register(self, table: str, schema=None) -> None:
        """A view of the table's Parquet folder (with a known schema Spark need not read the files for it)."""
        reader = self.session.read if schema is None else self.session.read.schema(schema)
        reader.parquet(str(self.dir / table)).createOrReplaceTempView(table)
        self._tables.add(table)


#: Settings every session gets (``spark.conf`` in the config can override them).
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # naive timestamps, as in the DuckDB warehouse: Parquet written by either engine reads back unchanged
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
    # DuckDB semantics: an out-of-range list index or a missing map key is NULL, not an error
    "spark.sql.ansi.enabled": "false",
    # map_concat with a repeated key: the last value wins, as in DuckDB
    "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
}


def start_session(settings: SparkConfig):
    """A SparkSession for these settings (reusing a running one with the same master)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise CjmError("engine: spark needs PySpark and a Java runtime: pip install 'cjm-pipeline[spark]' "
                       "(and e.g. apt-get install default-jre-headless)") from None
    builder = SparkSession.builder.master(settings.master).appName(settings.app_name)
    conf = dict(BASE_CONF)
    if settings.master.startswith("local"):
        # one machine: a few shuffle partitions, not 200 tiny ones
        conf["spark.sql.shuffle.partitions"] = str(os.cpu_count() or 2)
    conf.update({str(k): str(v) for k, v in settings.conf.items()})
    for key, value in conf.items():
        builder = builder.config(key, value)
    if settings.master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # one machine: no need to look for a network address
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "PySpark does not yet fully support pandas >= 3.0.0"
            session = builder.getOrCreate()
    except Exception as e:
        raise CjmError(f"cannot start Spark (master {settings.master!r}): {_message(e)}") from None
    session.sparkContext.setLogLevel("FATAL")  # failures are raised, with the message, as StepError
    return session


def _message(e: BaseException) -> str:
    text = str(e).strip() or repr(e)
    # the JVM stack trace says nothing an analyst can act on
    return re.split(r"\n\s*(JVM stacktrace|at org\.apache)", text, maxsplit=1)[0].strip()
