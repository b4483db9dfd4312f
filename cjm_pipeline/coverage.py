"""Stage rules that match nothing: found in ``rule_coverage``, explained with what the data holds.

A rule with a typo (``{event_type: purchse}``, ``properties.citi``) matches no event, and without
a word its stage counts 0 and the funnel stops there. The step ``rule_coverage``
(``sql/stages/rule_coverage.sql``) counts, per rule and key, the events the whole rule matches,
the key alone matches and the rule gives its stage; :func:`coverage_issues` turns what matched
nothing into :class:`CoverageIssue` items, each with the closest values observed in the events
(difflib over the distinct values of the key, or over the property names for ``properties.X``).

Every ``cjm run`` warns with them (``RunResult.warnings``), ``cjm validate`` too (on the
warehouse's events, or on the inputs with ``--data``) and the report shows them in a banner.
The definitions are in ``docs/semantics.md`` ("Rules that match nothing").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import duckdb

from . import db

#: Distinct values per key that "did you mean" compares a pattern with (the most frequent ones).
OBSERVED_LIMIT = 5000
#: Suggestions per issue.
SUGGESTIONS = 3

#: The kinds of issue, in the order they are listed for one stage.
KINDS = ("property", "key", "combination", "shadowed", "stage")


@dataclass(frozen=True)
class CoverageIssue:
    """One rule, key or stage that matched no event.

    ``kind``: ``key`` (a key's values match no event), ``property`` (no event has the property a
    ``properties.X`` key names), ``combination`` (each key matches events, never all together),
    ``shadowed`` (the rule matches events, but earlier rules take each of them) or ``stage`` (no
    event has the stage). ``where`` is the config path (``stages[4].rules[0]``, ``stages[4]``).
    ``suggestions`` are ``(value, events)``: close observed values, or property names.
    ``counts`` are ``(key, events)``: what each key matches alone (``combination``), or the
    events the rule matches (``shadowed``).
    """

    kind: str
    stage: str
    where: str
    key: str | None = None
    patterns: tuple[str, ...] = ()
    suggestions: tuple[tuple[str, int], ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    rules: int = 0
    """For a ``stage`` issue: how many rules the stage has."""

    def message(self) -> str:
        """The issue in one English line (the report words it in its own language: ``report/i18n.py``).

        >>> CoverageIssue("key", "purchase", "stages[4].rules[0]", "event_type", ("purchse",),
        ...               (("purchase", 444),)).message()
        "stages[4].rules[0] (stage 'purchase'): event_type 'purchse' matched no event; did you mean 'purchase' (444 events)?"
        """
        head = f"{self.where} (stage '{self.stage}')"
        if self.kind == "stage":
            return (f"stage '{self.stage}' ({self.where}) matched no event: none of its {self.rules} rule(s) gives "
                    "an event this stage, so nobody can reach it")
        if self.kind == "combination":
            alone = "; ".join(f"{key} alone: {events:,}" for key, events in self.counts)
            return f"{head}: its keys match events separately ({alone}) but no event matches all of them"
        if self.kind == "shadowed":
            events = self.counts[0][1] if self.counts else 0
            return (f"{head}: matches {events:,} event(s), but an earlier rule takes each of them "
                    "(an event takes the stage of the first rule it matches)")
        values = _quoted(self.patterns)
        if self.kind == "property":
            text = f"{head}: {self.key}: no event has a property {values}"
        else:
            text = f"{head}: {self.key} {values} matched no event"
        return text + did_you_mean(self.suggestions)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values) if len(values) <= 1 else "[" + ", ".join(f"'{v}'" for v in values) + "]"


def did_you_mean(suggestions: tuple[tuple[str, int], ...]) -> str:
    """``"; did you mean 'purchase' (444 events)?"``, ``""`` without suggestions.

    >>> did_you_mean((("city", 41470), ("region", 1)))
    "; did you mean 'city' (41,470 events) or 'region' (1 event)?"
    """
    if not suggestions:
        return ""
    items = [f"'{value}' ({events:,} event{'' if events == 1 else 's'})" for value, events in suggestions]
    return "; did you mean " + (", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else items[0]) + "?"


def closest(patterns: tuple[str, ...], observed: list[tuple[str, int]],
            n: int = SUGGESTIONS) -> tuple[tuple[str, int], ...]:
    """The observed ``(value, events)`` closest to any of ``patterns`` (difflib), best first.

    >>> closest(("purchse",), [("page_view", 28455), ("purchase", 444), ("visit", 5857)])
    (('purchase', 444),)
    """
    counts = dict(observed)
    scored: dict[str, float] = {}
    for pattern in patterns:
        text = pattern.strip("*")
        for value in difflib.get_close_matches(text, list(counts), n=n, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, text, value).ratio()
            scored[value] = max(scored.get(value, 0.0), ratio)
    best = sorted(scored, key=lambda v: (-scored[v], -counts[v], v))[:n]
    return tuple((v, int(counts[v])) for v in best)


def coverage_issues(con: duckdb.DuckDBPyConnection) -> list[CoverageIssue]:
    """Every rule, key and stage that matched no event, read from ``rule_coverage`` (and the
    ``events`` for suggestions), in stage and rule order; none when the table is missing."""
    if not db.table_exists(con, "rule_coverage"):
        return []
    rows = db.query(con, "select * from rule_coverage order by stage_order, rule_index, cond_key")
    if rows.empty:
        return []
    cache: dict[Any, list[tuple[str, int]]] = {}

    def observed(sql_file: str, params: dict[str, Any]) -> list[tuple[str, int]]:
        key = (sql_file, tuple(sorted(params.items())))
        if key not in cache:
            found = db.query(con, db.read_sql(sql_file), {**params, "limit": OBSERVED_LIMIT})
            cache[key] = [(str(v), int(n)) for v, n in found.itertuples(index=False)]
        return cache[key]

    issues: list[CoverageIssue] = []
    for (stage_order, stage), per_stage in rows.groupby(["stage_order", "stage"], sort=True):
        where_stage = f"stages[{int(stage_order) - 1}]"
        for (rule_index, _rule_id), rule in per_stage.groupby(["rule_index", "rule_id"], sort=True):
            where = f"{where_stage}.rules[{int(rule_index)}]"
            first = rule.iloc[0]
            if int(first["rule_events"]) > 0:
                if int(first["assigned_events"]) == 0:
                    issues.append(CoverageIssue("shadowed", stage, where,
                                                counts=(("rule", int(first["rule_events"])),)))
                continue
            dead = rule[rule["key_events"] == 0]
            for r in dead.itertuples(index=False):
                patterns = tuple(str(p) for p in r.patterns)
                if isinstance(r.property_name, str):
                    names = observed("queries/observed_property_keys.sql", {})
                    if r.property_name not in dict(names):
                        issues.append(CoverageIssue("property", stage, where, r.cond_key, (r.property_name,),
                                                    closest((r.property_name,), names)))
                        continue
                values = observed("queries/observed_values.sql",
                                  {"cond_key": r.cond_key, "property_name": r.property_name
                                   if isinstance(r.property_name, str) else ""})
                issues.append(CoverageIssue("key", stage, where, r.cond_key, patterns, closest(patterns, values)))
            if dead.empty:
                issues.append(CoverageIssue("combination", stage, where, counts=tuple(
                    (str(k), int(n)) for k, n in zip(rule["cond_key"], rule["key_events"]))))
        if int(per_stage["assigned_events"].sum()) == 0:
            issues.append(CoverageIssue("stage", stage, where_stage, rules=int(per_stage["rule_id"].nunique())))
    return issues
