"""Declarative step cases: ``tests/cases/<layer>/<step>__<behaviour>.yaml``, one pipeline step on a
few hand-written rows, the way SQLMesh and dbt unit tests read.

A case file holds:

``step``
    the step to run (a name in :data:`cjm_pipeline.steps.STEPS`; the file name starts with it).
``description``
    what the case shows, in a sentence.
``inputs``
    rows per input table of the step (only tables the step declares). A table left out is
    empty, except a config table (``cfg_*``), which then comes from the case's config.
``expected``
    the step's rows. A row may name only some columns (every row the same ones); rows are
    compared ignoring column order, and row order unless ``ordered: true``, which compares
    them in the step's own sort order (:func:`cjm_pipeline.steps.order_of`).
``config`` (optional)
    top-level config sections (``stages``, ``funnel``, ``identity``, ``timezone``, ...) that
    replace those of a tiny one-source config; the config tables and default parameters
    (:func:`cjm_pipeline.pipeline.params_for`) come from it.
``params`` (optional)
    run parameters over those defaults (``window_s``, ``mode``, ``unit``, ...).
``types`` (optional)
    ``{column: DuckDB type}`` for an input column, if its type should differ from the
    pipeline's own.

Each input table gets the columns and types the pipeline gives that table (read from a
warehouse the pipeline built on no data), so a case names only the columns that matter and a
time written as text becomes a TIMESTAMP where the table has one. Values are written as YAML
reads them, except that times stay text; quote a value YAML would read otherwise (``"null"``,
``"0.50"``, ``"yes"``). Nested values (lists, structs, maps) are written as YAML lists and
mappings. A case runs in a fresh in-memory DuckDB holding its inputs only.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from cjm_pipeline import db, ingest, pipeline
from cjm_pipeline.config import config_from_dict
from cjm_pipeline.steps import BY_NAME, order_of

CASES = Path(__file__).resolve().parent / "cases"
CASE_FILES = sorted(CASES.rglob("*.yaml"))

#: The config a case starts from: one generic source in UTC, three stages.
BASE_CONFIG = {
    "sources": [{"name": "shop", "format": "generic_events", "path": "events.csv"}],
    "stages": [{"name": name, "rules": [{"event_type": name}]} for name in ("a", "b", "c")],
}

#: The run parameters no config gives: fixed, so a case's result never depends on the clock.
FIXED_PARAMS = {"run_id": "case", "run_started": dt.datetime(2026, 1, 1)}

KEYS = {"step", "description", "inputs", "expected", "config", "params", "types", "ordered"}


class CaseLoader(yaml.SafeLoader):
    """YAML without its implicit timestamps: a time stays the text the case wrote."""


CaseLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class CaseError(Exception):
    """A case file that cannot be run as written."""


# --------------------------------------------------------------------------- typed rows


def _is_nested(type_: str) -> bool:
    return type_.endswith("]") or type_.split("(")[0].strip().upper() in ("STRUCT", "MAP", "UNION")


def _as_text(value: Any, type_: str, where: str) -> str | None:
    """How a YAML value reaches DuckDB: text cast to ``type_`` (JSON text for nested types)."""
    if value is None:
        return None
    if _is_nested(type_):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list)):
        raise CaseError(f"{where}: a {type(value).__name__} for a {type_} column")
    if type_ == "VARCHAR" and isinstance(value, (bool, float)):
        raise CaseError(f"{where}: {value!r} for a VARCHAR column; quote it to say which text it is")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cast(column: str, type_: str) -> str:
    name = db.quote_ident(column)
    if type_ == "VARCHAR":
        return name
    if _is_nested(type_):
        return f"cast(cast({name} as json) as {type_}) as {name}"
    return f"cast({name} as {type_}) as {name}"


def create_typed(con, name: str, types: dict[str, str], rows: list[dict], where: str) -> None:
    """Table ``name`` with columns ``types`` holding ``rows`` (columns a row leaves out are null)."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise CaseError(f"{where}, row {i + 1}: expected a mapping of column to value, got {row!r}")
        unknown = [c for c in row if c not in types]
        if unknown:
            close = difflib.get_close_matches(unknown[0], types, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CaseError(f"{where}, row {i + 1}: {name} has no column {unknown[0]!r}{hint}; "
                            f"its columns: {', '.join(types)}")
    db.execute(con, f"create or replace table {name} ("
               + ", ".join(f"{db.quote_ident(c)} {t}" for c, t in types.items()) + ")")
    named = [c for c in types if any(c in row for row in rows)]
    if not named:
        for _ in rows:  # a row that names no column: all nulls
            db.execute(con, f"insert into {name} default values")
        return
    text = {c: pa.array([_as_text(row.get(c), types[c], f"{where}, row {i + 1}, {c}") for i, row in enumerate(rows)],
                        pa.string()) for c in named}
    text["_case_row"] = pa.array(range(len(rows)), pa.int64())
    db.write_table(con, "_case_text", pa.table(text))
    try:
        db.execute(con, f"insert into {name} by name select {', '.join(_cast(c, types[c]) for c in named)} "
                        "from _case_text order by _case_row")
    except Exception as e:
        raise CaseError(f"{where}: a value does not fit its column: {e}") from None
    finally:
        db.drop_relation(con, "_case_text")


def column_types(con, name: str) -> dict[str, str]:
    return dict(db.execute(con, "select column_name, data_type from information_schema.columns "
                                "where table_name = $name order by ordinal_position", {"name": name}))


# --------------------------------------------------------------------------- the config and the schemas


def case_config(sections: dict | None):
    """The tiny config with the case's sections in place of its own."""
    return config_from_dict(copy.deepcopy({**BASE_CONFIG, **(sections or {})}), base_dir=CASES)


@functools.cache
def pipeline_types() -> dict[str, dict[str, str]]:
    """Every table's columns and types, from the whole pipeline run on no data."""
    cfg = case_config(None)
    con = db.connect()
    try:
        ingest.ensure_tables(con)
        pipeline.write_config_tables(con, cfg)
        pipeline.run_steps(con, cfg, params={**pipeline.params_for(cfg), **FIXED_PARAMS})
        names = [r[0] for r in db.execute(con, "select distinct table_name from information_schema.columns")]
        return {name: column_types(con, name) for name in names}
    finally:
        con.close()


# --------------------------------------------------------------------------- one case


def load_case(path: Path) -> dict:
    case = yaml.load(path.read_text(encoding="utf-8"), Loader=CaseLoader)
    if not isinstance(case, dict):
        raise CaseError("a case is a mapping with step, description, inputs and expected")
    unknown = set(case) - KEYS
    if unknown:
        raise CaseError(f"unknown keys {sorted(unknown)}; a case has {', '.join(sorted(KEYS))}")
    missing = {"step", "description", "expected"} - set(case)
    if missing:
        raise CaseError(f"missing {', '.join(sorted(missing))}")
    if case["step"] not in BY_NAME:
        raise CaseError(f"no step {case['step']!r}")
    if not path.stem.startswith(f"{case['step']}__") or path.parent.name != BY_NAME[case["step"]].layer:
        raise CaseError(f"a case of {case['step']} is cases/{BY_NAME[case['step']].layer}/{case['step']}__<behaviour>.yaml")
    return case


#: Table steps that, like views, are made from their own inputs when a case gives no rows for them:
#: the rule matcher (``classified_events``, ``map_events`` and ``rule_coverage`` read it over ``events``)
#: and the data cutoff (the last of the ``classified_events`` a case gives).
BUILT_FROM_INPUTS = ("signature_keys", "data_cutoff")


def case_tables(step, given) -> tuple[list[str], list]:
    """The tables a case of ``step`` may give, and the steps to make over them: the step's inputs,
    where an input that is a view step (or in :data:`BUILT_FROM_INPUTS`) the case gives no rows for
    is replaced by that step's own inputs (recursively), the step then being made from its SQL file
    (``classified_events`` reads the matcher over ``events``)."""
    tables, views = [], []

    def walk(name: str) -> None:
        view = BY_NAME.get(name)
        if view is not None and (view.materialize == "view" or name in BUILT_FROM_INPUTS) and name not in given:
            for inner in view.inputs:
                walk(inner)
            if view not in views:
                views.append(view)
        elif name not in tables:
            tables.append(name)

    for name in step.inputs:
        walk(name)
    return tables, views


def build_inputs(con, case: dict, cfg) -> None:
    """The step's declared inputs, each typed like the pipeline's table: the case's rows, else
    (a config table) the config's, else none; views among the inputs are made over theirs."""
    step = BY_NAME[case["step"]]
    inputs = case.get("inputs") or {}
    tables, views = case_tables(step, inputs)
    undeclared = [t for t in inputs if t not in tables]
    if undeclared:
        raise CaseError(f"inputs: {step.name} does not read {undeclared}; it reads {', '.join(tables)}")
    schemas = {table: pipeline_types()[table] for table in tables}
    overrides = {str(column): str(type_) for column, type_ in (case.get("types") or {}).items()}
    stray = [c for c in overrides if not any(c in columns for columns in schemas.values())]
    if stray:
        raise CaseError(f"types: no input of {step.name} has a column {stray[0]!r}")
    from_config = pipeline.config_tables(cfg)
    for table, columns in schemas.items():
        if table not in inputs and table in from_config:
            db.write_table(con, table, from_config[table])
        else:
            types = {c: overrides.get(c, t) for c, t in columns.items()}
            create_typed(con, table, types, inputs.get(table) or [], f"inputs.{table}")
    for view in views:
        view.run(con, {})


def _norm(value: Any) -> Any:
    """Comparable form: floats to 12 significant digits, nested values as tuples."""
    if isinstance(value, float):
        return value if math.isnan(value) else float(f"{value:.12g}")
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _norm(v)) for k, v in value.items())
    return value


def _show(columns: list[str], rows: list[tuple]) -> str:
    def text(v: Any) -> str:
        return repr(v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v)
    return "\n".join("    " + ", ".join(f"{c}={text(v)}" for c, v in zip(columns, row)) for row in rows) or "    (none)"


def _param(value: Any) -> Any:
    """A parameter as the pipeline passes it: a time written as text becomes a date or datetime."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value):
        return dt.datetime.fromisoformat(value)
    return value


def run_case(path: Path) -> None:
    where = path.relative_to(CASES.parent).as_posix()
    try:
        case = load_case(path)
    except CaseError as e:
        pytest.fail(f"{where}: {e}", pytrace=False)
    step = BY_NAME[case["step"]]
    cfg = case_config(case.get("config"))
    params = {**pipeline.params_for(cfg), **FIXED_PARAMS,
              **{k: _param(v) for k, v in (case.get("params") or {}).items()}}
    expected = case["expected"] or []
    columns = list(expected[0]) if expected else []
    con = db.connect()
    try:
        build_inputs(con, case, cfg)
        try:
            step.run(con, params)
        except Exception as e:
            raise CaseError(f"{step.name} failed: {type(e).__name__}: {e}") from None
        built = column_types(con, step.name)
        columns = columns or list(built)
        for i, row in enumerate(expected):
            if set(row) != set(columns):
                raise CaseError(f"expected, row {i + 1}: names {sorted(row)}, row 1 names {sorted(columns)}; "
                                "every row names the same columns")
        unknown = [c for c in columns if c not in built]
        if unknown:
            close = difflib.get_close_matches(unknown[0], built, n=1)
            raise CaseError(f"expected: {step.name} has no column {unknown[0]!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else "") + f"; its columns: {', '.join(built)}")
        create_typed(con, "_case_expected", {c: built[c] for c in columns}, expected, "expected")
        order = order_of(step.name) if case.get("ordered") else ()
        if case.get("ordered") and not order:
            raise CaseError(f"ordered: {step.name} has no sort order")
        select = ", ".join(db.quote_ident(c) for c in columns)
        by = f" order by {', '.join(db.quote_ident(c) for c in order)}" if order else ""
        got = [_norm(r) for r in db.execute(con, f"select {select} from {step.name}{by}")]
        want = [_norm(r) for r in db.execute(con, f"select {select} from _case_expected")]
    except CaseError as e:
        pytest.fail(f"{where}: {e}", pytrace=False)
    finally:
        con.close()
    if order:
        assert got == want, (f"{where}: {step.name} in its order ({', '.join(order)})\n"
                             f"  built:\n{_show(columns, got)}\n  expected:\n{_show(columns, want)}")
        return
    extra, lacking = Counter(got) - Counter(want), Counter(want) - Counter(got)
    assert not extra and not lacking, (
        f"{where}: {step.name} built {len(got)} rows, {len(want)} expected\n"
        f"  built, not expected:\n{_show(columns, sorted(extra.elements(), key=repr))}\n"
        f"  expected, not built:\n{_show(columns, sorted(lacking.elements(), key=repr))}")


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.relative_to(CASES).with_suffix("").as_posix())
def test_step_case(path: Path):
    run_case(path)
