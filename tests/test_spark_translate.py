"""The DuckDB → Spark SQL translation: each rewrite of ``cjm_pipeline.engines.spark_rewrites`` is checked
by running a DuckDB idiom on DuckDB and its translation on Spark (local) and comparing the rows,
plus text checks that parameters stay bound and every step file translates.

The idioms use the forms the ``sql/`` files use. Spark needs Java; like the conformance suite,
these fail without it unless ``CJM_SKIP_SPARK=1``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil

import duckdb
import pytest

from cjm_pipeline import db, pipeline
from cjm_pipeline.engines.spark import RECURSIVE, recursive_levels, translate  # sqlglot is imported on first use

if os.environ.get("CJM_SKIP_SPARK") == "1":
    pytest.importorskip("sqlglot")

T = """(values (1, 'a', 10.5, timestamp '2025-01-01 10:00:00.250', 'x'),
               (1, 'b', null, timestamp '2025-01-01 10:00:00', 'y'),
               (2, 'c', 3.0, timestamp '2025-03-30 23:30:00', null),
               (2, 'd', 3.0, timestamp '2025-03-30 23:30:00', 'z')) as t(g, s, v, ts, o)"""

IDIOMS = {
    "ordered list, desc, nulls last, filter": f"""
        select g, list(s order by v desc, s) filter (where s <> 'z') as l from {T} group by g""",
    "ordered list by a value": f"select g, list(o order by ts, s) as l from {T} group by g",
    "distinct list ordered by itself": f"select list(distinct g order by g) as l from {T}",
    "string_agg ordered": f"select g, string_agg(s, '>' order by ts, s) as p from {T} group by g",
    "qualify over a star": f"select * from {T} qualify row_number() over (partition by g order by ts desc, s) = 1",
    "qualify on a column not projected": f"select s from {T} qualify v is null or lag(s) over (order by s) is null",
    "arg_max over a row value with nulls": f"""
        select g, arg_max(s, (ts, v, s)) as last, arg_min(s, (ts, v, s)) as first from {T} group by g""",
    "epoch keeps fractions": f"select s, epoch(ts) as e from {T}",
    "naive local time to UTC and back": f"""
        select s, timezone('UTC', timezone('Europe/Moscow', cast(ts as timestamp))) as utc,
               timezone('America/New_York', timezone('UTC', cast(ts as timestamp))) as ny from {T}""",
    "epoch numbers to times": """
        select timezone('UTC', to_timestamp(cast('1735725600.5' as double))) as a,
               epoch_ms(cast('1735725600123' as bigint)) as b, make_timestamp(cast('1735725600123456' as bigint)) as c""",
    "strptime with several formats": """
        select t, timezone('UTC', timezone('Europe/Moscow', try_strptime(t, ['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M',
               '%d.%m.%Y']))) as ts
        from (values ('05.01.2025 10:30:15'), ('5.1.2025 10:30'), ('05.01.2025'), ('32.01.2025')) as x(t)""",
    "offsets in the text win": """
        select timezone('UTC', try_cast(t as timestamptz)) as ts
        from (values ('2025-01-05 10:30:00+03:00'), ('2025-01-05 10:30:00+00:00')) as x(t)""",
    "regexp_full_match anchors the whole text": r"""
        select t, regexp_full_match(t, '\d{4}') as m, regexp_matches(t, '\d{4}') as p
        from (values ('2025'), ('2025' || chr(10)), ('x2025')) as x(t)""",
    "glob": """
        select v, p, v glob p as m from (values ('/catalog/x', '*/catalog/*'), ('a.b', 'a?b'), ('axb', 'a.b'),
               ('a(1)', 'a(?)'), ('ab', 'a[!c]'), ('ac', 'a[!c]'), ('x$', 'x$'), ('Ab', 'a*')) as x(v, p)""",
    "format placeholders": f"select format('{{}} → {{}}: {{:.1f}}% of {{}}', s, g, v, o) as f from {T}",
    "quantiles interpolate": f"select quantile_cont(epoch(ts), 0.9) as q, median(v) as m from {T}",
    "to_seconds intervals": f"select s, ts + to_seconds(90) as later from {T}",
    "list slices and computed indexes": """
        select l[1:2] as head, l[2] as second, list_extract(l, 0) as zero, list_extract(l, 5) as out,
               list_extract(l, array_position(l, 'c')) as found,
               list_filter(l, lambda x, i: i = 1 or x <> list_extract(l, i - 1)) as dedup
        from (select ['a', 'a', 'c', 'c', 'd'] as l)""",
    "star replace keeps the other columns": f"select g, s, o from (select * replace (upper(s) as s) from {T})",
    "date_trunc stays naive": f"select date_trunc('week', ts) as w, date_trunc('month', ts) as m from {T}",
    "with a materialization hint": f"with x as not materialized (select * from {T}) select count(*) as n from x",
}


def _spark():
    if os.environ.get("CJM_SKIP_SPARK") == "1" and not (shutil.which("java") and _has("pyspark")):
        pytest.skip("CJM_SKIP_SPARK=1, and no Java or PySpark")
    import journeys
    return journeys.spark_engine().session


def _has(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _norm(rows) -> list[tuple]:
    out = []
    for row in rows:
        cells = []
        for v in row:
            if isinstance(v, float):
                v = round(v, 6)
            elif isinstance(v, dt.datetime):
                v = v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(dt.timezone.utc).replace(tzinfo=None)
            elif isinstance(v, (list, tuple)):
                v = tuple(v)
            cells.append(v)
        out.append(tuple(cells))
    return sorted(out, key=repr)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(IDIOMS))
def test_idiom_means_the_same_on_spark(name):
    sql = IDIOMS[name]
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    expected = con.execute(sql).fetchall()
    got = [tuple(r) for r in _spark().sql(translate(sql)).collect()]
    assert _norm(got) == _norm(expected), translate(sql)


def test_timezone_of_an_expression_of_unknown_kind_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="cannot tell whether ts is naive or zoned"):
        translate("select timezone('UTC', ts) from t")


def test_parameters_stay_bound_as_named_markers():
    text = translate("select * from t where a = $entry_from and b like 'x$y' and c = $top_n")
    assert ":entry_from" in text and ":top_n" in text and "'x$y'" in text
    assert "$entry_from" not in text


@pytest.mark.parametrize("relpath", sorted({p for s in pipeline.STEPS for p in s.sql_paths}))
def test_every_step_file_translates(relpath):
    """Every step file translates (a recursive one as its level queries), and the parameters it
    names survive as markers."""
    text = db.read_sql(relpath)
    if RECURSIVE.search(text):
        levels = recursive_levels(text)
        spark_sql = " ".join(translate(q) for _, _, anchor, term in levels.recursive for q in (anchor, term))
        spark_sql += " " + translate(levels.final)
    else:
        spark_sql = translate(text)
    for name in db.params_used(text):
        assert f":{name}" in spark_sql, name
    # comments and string literals may name anything
    code = re.sub(r"'(?:[^'\\]|\\.)*'", "''", re.sub(r"/\*.*?\*/", "", spark_sql, flags=re.S)).upper()
    for leftover in (r"\bQUALIFY\b", r"\bGLOB\b", r"\bTO_SECONDS\(", r"\bLIST_EXTRACT\(", r"\bTIMEZONE\(",
                     r"\bTRY_STRPTIME\(", r"\* REPLACE \(", r"\bMATERIALIZED\b", r"\bLIST_POSITION\("):
        assert not re.search(leftover, code), leftover


RECURSIVE_AGGREGATE = """
with recursive n(i) as (select 1 union all select max(i) + 1 from n having max(i) < $top)
select i, i * i as sq from n
"""


@pytest.mark.slow
def test_recursive_statement_runs_level_by_level_even_where_spark_cannot_recurse():
    """An aggregate over the recursive CTE's own rows: Spark refuses it as a recursive CTE; by
    levels it gives DuckDB's rows, and a level limit stops a statement that does not end."""
    import journeys
    from cjm_pipeline.errors import StepError

    engine = journeys.spark_engine()
    expected = duckdb.sql(RECURSIVE_AGGREGATE.replace("$top", "5")).fetchall()
    engine._by_levels("_test_levels", RECURSIVE_AGGREGATE, {"top": 5})
    assert sorted(engine.session.table("_test_levels").collect()) == sorted(expected) == [
        (1, 1), (2, 4), (3, 9), (4, 16), (5, 25)]
    assert not [t for t in engine.tables() if t.startswith("_n_")]  # the level tables are dropped
    with pytest.raises(StepError, match="a recursive query: recursive 'n' did not end in 2 levels"):
        engine._by_levels("_test_levels", RECURSIVE_AGGREGATE, {"top": 50, "max_iterations": 2})
    engine.drop("_test_levels")
