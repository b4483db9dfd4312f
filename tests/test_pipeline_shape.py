"""The pipeline's shape: each step's inputs exist before it, each SQL file is one step,
SQL reads only declared inputs, and every window function has a deterministic order."""

import inspect
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


#: Read-only queries the Python API runs over a built warehouse, and the scope queries of a nightly
#: run (cjm_pipeline.incremental): not pipeline steps.
QUERY_DIRS = ("queries/", "incremental/")


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
    if step.python is not None:  # a Python step is handed its declared inputs only: it must read each
        read = set(re.findall(r"inputs\[\"([a-z_0-9]+)\"\]", inspect.getsource(step.python)))
        assert read == set(step.inputs), f"{step.name} reads {sorted(read)}, declares {sorted(step.inputs)}"
        return
    sql = "\n".join(_strip(db.read_sql(path)) for path in step.sql_paths)
    ctes = set(re.findall(r"(?:with(?:\s+recursive)?|,)\s*([a-z_][a-z0-9_]*)\s*(?:\([^)]*\)\s*)?(?:using\s+key\s*\([^)]*\)\s*)?as\s*(?:(?:not\s+)?materialized\s*)?\(", sql))
    refs = set(re.findall(r"(?<!distinct )\b(?:from|join)\s+(?:recurring\.)?([a-z_][a-z0-9_]*)", sql))
    tables = refs - ctes - {"read_parquet", "unnest", "lateral"}
    if step.iterate_param:  # the next round reads the table itself
        tables -= {step.name}
    assert tables <= set(step.inputs), f"{step.name} reads undeclared {sorted(tables - set(step.inputs))}"
    assert set(step.inputs) <= tables | ctes, f"{step.name} declares unused inputs {sorted(set(step.inputs) - tables)}"


TIE_BREAKERS = ("event_id", "pos", "visit_index", "step", "anchor_pos", "anchor_visit", "_row", "rule_id", "stage_path", "attempt", "day",
               "component", "customer_id", "unit_id", "identifier",  # identity, units: unique within their partitions
               "deal",  # funnel_events__deal: an event's candidate deals
               "touchpoint", "pain", "item_key")  # the journey map: unique within a stage (and section)
ORDER_SENSITIVE = ("row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value", "nth_value", "sum", "count")


def _groups(sql: str) -> dict[int, int]:
    """Each ``(`` of ``sql`` (comments and strings stripped) at its matching ``)``, and back."""
    pairs, stack = {}, []
    for i, ch in enumerate(sql):
        if ch == "(":
            stack.append(i)
        elif ch == ")":
            assert stack, f"unbalanced ')' at {sql[max(0, i - 60):i + 1]!r}"
            j = stack.pop()
            pairs[j], pairs[i] = i, j
    assert not stack, f"unbalanced '(' at {sql[stack[-1]:stack[-1] + 60]!r}"
    return pairs


def _enclosing(pairs: dict[int, int], pos: int) -> int:
    """Where the innermost parenthesis around ``pos`` opens (-1: none, the whole file)."""
    return max((i for i, j in pairs.items() if i < pos < j), default=-1)


def window_calls(sql: str) -> list[tuple[str, str]]:
    """``(function, window spec)`` of every ``over`` in ``sql`` (comments and strings stripped),
    with parentheses matched, so arguments may nest (``lag(coalesce(x, 0)) over (...)``), a
    ``filter (...)`` may come between, and a named window (``over w``, ``over (w rows ...)``) is
    read from its ``window w as (...)`` in the same query.

    >>> window_calls("select lag(coalesce(a, (b))) over (order by c), sum(x) over w from t "
    ...              "window w as (partition by k order by t)")
    [('lag', 'order by c'), ('sum', 'partition by k order by t')]
    >>> window_calls("select count(*) filter (where f(x) > 1) over (w rows between 1 preceding and current row) "
    ...              "from (select 1 window w as (order by z)) window w as (order by y)")
    [('count', 'order by y rows between 1 preceding and current row')]
    """
    sql = sql.lower()
    pairs = _groups(sql)
    named: dict[str, list[tuple[int, str]]] = {}  # name -> (where its parenthesis opens, spec)
    for m in re.finditer(r"\bwindow\s+(\w+)\s+as\s*\(", sql):
        start = m.end() - 1
        named.setdefault(m.group(1), []).append((start, sql[start + 1:pairs[start]].strip()))

    def spec_of(name: str, pos: int) -> str:
        """The spec of window ``name`` for a call at ``pos``: the definition in the innermost
        query around the call (a CTE's parenthesis, else the file), after the call if there are two."""
        around = [(scope, start > pos, -abs(start - pos), spec) for start, spec in named.get(name, [])
                  if (scope := _enclosing(pairs, start)) == -1 or scope < pos < pairs[scope]]
        assert around, f"over {name}: no 'window {name} as (...)' around it"
        return max(around)[3]

    calls = []
    for m in re.finditer(r"\bover\b", sql):
        after = re.match(r"\s*(?:(\w+)|\()", sql[m.end():])
        assert after, f"cannot read the window after {sql[m.start():m.start() + 60]!r}"
        if after.group(1):
            spec = spec_of(after.group(1), m.start())
        else:
            start = m.end() + after.end() - 1
            spec = sql[start + 1:pairs[start]].strip()
            ref = re.match(r"(\w+)\b(?!\s*\()", spec)
            if ref and ref.group(1) in named:  # (w rows between ...) extends a named window
                spec = spec_of(ref.group(1), m.start()) + spec[ref.end():]
        # back from `over`: the call's closing parenthesis, past a filter (...) clause if any
        end = len(sql[:m.start()].rstrip()) - 1
        while True:
            assert sql[end] == ")", f"no function call before {sql[max(0, end - 60):m.end()]!r}"
            name = re.search(r"(\w+)\s*$", sql[:pairs[end]])
            assert name, f"no function name before {sql[pairs[end]:m.end()]!r}"
            if name.group(1) != "filter":
                break
            end = len(sql[:name.start()].rstrip()) - 1
        calls.append((name.group(1), spec))
    return calls


def window_order_problems(sql: str) -> list[str]:
    """Window calls in ``sql`` (stripped) whose result depends on how ties are broken."""
    calls = window_calls(sql)
    problems = [] if len(calls) == len(re.findall(r"\bover\b", sql, re.I)) else ["an `over` was not read"]
    for func, body in calls:
        if "order by" not in body:
            if func in ORDER_SENSITIVE and not ("partition by" in body and func in ("sum", "count")):
                problems.append(f"{func}() over ({body}) has no order")
            continue
        order = body.split("order by", 1)[1]
        if not any(re.search(rf"\b{k}\b", order) for k in TIE_BREAKERS):
            problems.append(f"{func}() orders by {order!r}, which may tie")
    return problems


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_window_functions_order_by_a_unique_tie_breaker(step):
    for path in step.sql_paths:
        problems = window_order_problems(_strip(db.read_sql(path)))
        assert not problems, f"{path}: " + "; ".join(problems)


def test_window_calls_with_nested_arguments_are_checked_too():
    """The calls a regex without balanced parentheses used to skip are read, with their windows,
    and a tie-prone order among them is caught."""
    funnel = _strip(db.read_sql("funnel/funnel.sql"))
    assert ("lag", "order by s.step") in window_calls(funnel)
    assert ("first_value", "order by s.step") in window_calls(funnel)
    broken = funnel.replace("lag(coalesce(r.customers, 0)) over (order by s.step)",
                            "lag(coalesce(r.customers, 0)) over (order by s.stage)")
    assert broken != funnel and window_order_problems(broken) == ["lag() orders by ' s.stage', which may tie"]
    deal = window_calls(_strip(db.read_sql("funnel/funnel_events__deal.sql")))
    assert [func for func, _ in deal] == ["row_number"] and deal[0][1].endswith("d.deal")
    # the same window name in two CTEs: each call reads its own query's window
    positions = window_calls(_strip(db.read_sql("funnel/funnel_positions.sql")))
    assert ("row_number", "partition by unit_id order by event_ts, stage_order, event_id") in positions
    assert ("count", "partition by unit_id order by pos rows between unbounded preceding and current row") in positions


def test_every_step_has_a_header_comment_saying_what_a_row_is():
    for step in STEPS:
        for path in step.sql_paths:
            first = db.read_sql(path).lstrip().splitlines()[0]
            assert first.startswith(f"-- {step.name}:"), f"{path} should start with '-- {step.name}: ...'"
