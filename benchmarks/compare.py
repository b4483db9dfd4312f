"""Do the peers give the pipeline's numbers? Each function returns the differences found
(empty: identical), as short sentences for the report.

* pandas vs the pipeline: every column of ``funnel`` (counts exactly, rates and times to
  1e-9 relative) and of ``transitions`` (cells, kind, counts, median gap);
* retentioneering vs the pipeline's ``transitions``: its event-to-event counts off the diagonal
  (a repeat of one stage is not a transition once visits collapse repeats), ``path_start`` /
  ``path_end`` as ``(start)`` / ``(end)``;
* retentioneering's windowless funnel vs the pandas peer's windowless funnel (the pipeline
  always applies its conversion window).
"""

from __future__ import annotations

import math

import pandas as pd

FUNNEL_EXACT = ("customers", "reached_any_order", "implied", "incomplete", "dropped")
FUNNEL_CLOSE = ("conversion_from_previous", "conversion_from_start", "drop_off_rate", "ttc_median_s", "ttc_p25_s",
                "ttc_p75_s", "ttc_p90_s", "ttc_mean_s")
RETE_NAMES = {"path_start": "(start)", "path_end": "(end)"}


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _same(a, b, exact: bool) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if exact:
        return int(a) == int(b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def funnel_differences(sql: pd.DataFrame, peer: list[dict]) -> list[str]:
    """Differences between the pipeline's ``funnel`` table and a peer's funnel rows."""
    other = {r["step"]: r for r in peer}
    problems = []
    for row in sql.sort_values("step").to_dict("records"):
        theirs = other.pop(int(row["step"]), None)
        if theirs is None:
            problems.append(f"funnel step {row['step']} ({row['stage']}): missing in the peer")
            continue
        for column in FUNNEL_EXACT + FUNNEL_CLOSE:
            if column in theirs and not _same(row[column], theirs[column], column in FUNNEL_EXACT):
                problems.append(f"funnel step {row['step']} {column}: pipeline {row[column]}, peer {theirs[column]}")
    problems += [f"funnel step {step}: only in the peer" for step in other]
    return problems


def _cell(from_stage, to_stage) -> tuple[str, str]:
    return str(from_stage), str(to_stage)


def _transition_cells_differences(sql: pd.DataFrame, theirs: dict, who: str, columns: tuple[tuple[str, bool], ...],
                                  *, check_kind: bool) -> list[str]:
    """Each row of the pipeline's ``transitions`` against ``theirs[(from, to)]``, column by column
    (``exact`` or within float tolerance); cells only one side has are differences too."""
    problems = []
    for row in sql.to_dict("records"):
        key = _cell(row["from_stage"], row["to_stage"])
        cell = theirs.pop(key, None)
        if cell is None:
            problems.append(f"transition {key[0]} -> {key[1]}: missing in {who}")
            continue
        if check_kind and row["kind"] != cell["kind"]:
            problems.append(f"transition {key[0]} -> {key[1]} kind: pipeline {row['kind']}, {who} {cell['kind']}")
        for column, exact in columns:
            if not _same(row[column], cell[column], exact):
                problems.append(f"transition {key[0]} -> {key[1]} {column}: pipeline {row[column]}, {who} {cell[column]}")
    problems += [f"transition {a} -> {b}: only in {who}" for a, b in theirs]
    return problems


def transition_differences(sql: pd.DataFrame, peer: list[dict]) -> list[str]:
    """Differences between the pipeline's ``transitions`` table and the pandas peer's matrix."""
    theirs = {_cell(r["from_stage"], r["to_stage"]): r for r in peer}
    return _transition_cells_differences(sql, theirs, "the peer",
                                         (("transitions", True), ("customers", True), ("median_gap_s", False)),
                                         check_kind=True)


def rete_transition_differences(sql: pd.DataFrame, cells: list[dict]) -> list[str]:
    """Retentioneering's off-diagonal transition counts against the pipeline's ``transitions``."""
    theirs = {}
    for c in cells:
        a, b = RETE_NAMES.get(c["from"], c["from"]), RETE_NAMES.get(c["to"], c["to"])
        if a != b:
            theirs[(a, b)] = c
    return _transition_cells_differences(sql, theirs, "retentioneering",
                                         (("transitions", True), ("customers", True)), check_kind=False)


def funnel_count_differences(expected: list[dict], peer: list[dict], who: str) -> list[str]:
    """Customers per step, ``expected`` (pandas windowless) against ``peer``."""
    theirs = {r["step"]: r["customers"] for r in peer}
    return [f"funnel step {r['step']} customers: pandas {r['customers']}, {who} {theirs.get(r['step'])}"
            for r in expected if theirs.get(r["step"]) != r["customers"]]


def _cells_agree(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except ValueError:
        return False


def csv_differences(expected, actual, *, limit: int = 5) -> list[str]:
    """Two exported CSV files cell by cell: text exactly, numbers within 1e-9 (two engines may
    round a percentile in the last digit). Empty when they agree."""
    import csv
    from pathlib import Path

    expected, actual = Path(expected), Path(actual)
    with expected.open(encoding="utf-8", newline="") as f:
        want = list(csv.reader(f))
    with actual.open(encoding="utf-8", newline="") as f:
        got = list(csv.reader(f))
    if len(want) != len(got):
        return [f"{actual.name}: {len(got)} lines, expected {len(want)}"]
    problems = [f"{actual.name} line {i}: {g} != {w}" for i, (w, g) in enumerate(zip(want, got), start=1)
                if len(w) != len(g) or not all(map(_cells_agree, w, g))]
    return problems[:limit]
