"""The pipeline's shape: each step's inputs exist before it, each SQL file is one step,
SQL reads only declared inputs, and every window function has a deterministic order."""

import re

import pytest

from cjm_pipeline import db
from cjm_pipeline.pipeline import SOURCE_TABLES, STEPS

SQL_DIR = db.sql_dir()


def test_inputs_are_sources_or_earlier_outputs():
    built = set(SOURCE_TABLES)
    for step in STEPS:
        unknown = [t for t in step.inputs if t not in built]
        assert not unknown, f"{step.name} reads {unknown} before they are built"
        built.add(step.name)


#: Read-only queries the Python API runs over a built warehouse (not pipeline steps).
QUERY_DIRS = ("queries/",)


def test_every_sql_file_belongs_to_exactly_one_step():
    files = sorted(p.relative_to(SQL_DIR).as_posix() for p in SQL_DIR.rglob("*.sql")
                   if not p.relative_to(SQL_DIR).as_posix().startswith(QUERY_DIRS))
    paths = [path for s in STEPS for path in s.sql_paths]
    assert sorted(paths) == files
    assert len(set(paths)) == len(paths)


def _strip(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_sql_reads_only_declared_inputs(step):
    sql = "\n".join(_strip(db.read_sql(path)) for path in step.sql_paths)
    ctes = set(re.findall(r"(?:with(?:\s+recursive)?|,)\s*([a-z_][a-z0-9_]*)\s*(?:\([^)]*\)\s*)?(?:using\s+key\s*\([^)]*\)\s*)?as\s*(?:(?:not\s+)?materialized\s*)?\(", sql))
    refs = set(re.findall(r"(?<!distinct )\b(?:from|join)\s+(?:recurring\.)?([a-z_][a-z0-9_]*)", sql))
    tables = refs - ctes - {"read_parquet", "unnest", "lateral"}
    if step.iterate_param:  # the next round reads the table itself
        tables -= {step.name}
    assert tables <= set(step.inputs), f"{step.name} reads undeclared {sorted(tables - set(step.inputs))}"
    assert set(step.inputs) <= tables | ctes, f"{step.name} declares unused inputs {sorted(set(step.inputs) - tables)}"


TIE_BREAKERS = ("event_id", "pos", "visit_index", "step", "anchor_pos", "anchor_visit", "_row", "rule_id", "stage_path", "attempt", "day",
               "component", "customer_id", "unit_id", "identifier")  # identity, units: unique within their partitions
ORDER_SENSITIVE = ("row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value", "nth_value", "sum", "count")


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_window_functions_order_by_a_unique_tie_breaker(step):
    for path in step.sql_paths:
        sql = _strip(db.read_sql(path))
        named = dict(re.findall(r"window\s+(\w+)\s+as\s*\(([^()]*)\)", sql))
        for m in re.finditer(r"(\w+)\s*\([^()]*\)\s*(?:filter\s*\([^()]*\)\s*)?over\s*(\w+|\(([^()]*)\))", sql):
            func, ref, body = m.group(1), m.group(2), m.group(3)
            if body is None:
                body = named[ref]
            elif re.match(r"\s*w\b", body):  # (w rows between ...) extends a named window
                body = named["w"] + " " + body
            if "order by" not in body:
                assert func not in ORDER_SENSITIVE or "partition by" in body and func in ("sum", "count"), \
                    f"{path}: {func}() over ({body}) has no order"
                continue
            order = body.split("order by", 1)[1]
            assert any(re.search(rf"\b{k}\b", order) for k in TIE_BREAKERS), f"{path}: {func}() orders by {order!r}"


def test_every_step_has_a_header_comment_saying_what_a_row_is():
    for step in STEPS:
        for path in step.sql_paths:
            first = db.read_sql(path).lstrip().splitlines()[0]
            assert first.startswith(f"-- {step.name}:"), f"{path} should start with '-- {step.name}: ...'"
