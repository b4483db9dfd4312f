"""Stages: the config's ordered stages and rules become tables that SQL joins on.

Semantics (``docs/semantics.md``, "Stages and rules"): stages ``S1 … Sn`` are the configured list, in order.
Each event gets at most one stage: the first matching rule in configuration order (stage
order, then rule order within the stage). A rule matches when every key it names matches;
a key's value is an exact string, a list of alternatives, a glob with ``*`` (``?`` and
``[...]`` are glob wildcards too) or a regular expression written ``re:<pattern>``
(searched anywhere in the value, RE2 syntax). Keys are unified columns
(:data:`~cjm_pipeline.schema.RULE_COLUMNS`) or ``properties.<name>`` for any other column
of the source. Events that match no rule are kept and counted (``stage_coverage``).

The tables (rebuilt on every run, never SQL text):

* ``cfg_stages(stage, stage_order, window_s, description)``: ``window_s`` is the stage's own per-step
  window (``stages[i].window``) in seconds, which a funnel's ``step_windows`` may replace
  (:func:`cjm_pipeline.funnel.funnel_steps`); ``description`` the config's text (the journey map shows it)
* ``cfg_stage_rules(rule_id, stage, stage_order, rule_index, n_keys)``
* ``cfg_rule_conditions(rule_id, cond_key, property_name, match_kind, pattern)``
* ``cfg_stage_kpis(stage, stage_order, kpi, target, unit)``: the stages' KPI targets, one row
  per stage and KPI; ``unit`` is ``ratio`` (a fraction) or ``seconds`` (durations parsed).
* ``cfg_map_conditions(rule_id, cond_key, property_name, match_kind, pattern)``: the rules of the
  ``feedback:`` entries (rule ids ``feedback:<i>``) and the ``pains:`` entries (``pain:<i>``), in the
  form of ``cfg_rule_conditions``: the one matcher (``sql/stages/signature_rules.sql``) tests both.
* ``cfg_feedback(entry_index, rule_id, name, score_property, comment_property, scale, scale_label,
  scale_min, scale_max, negative_max, stage)`` and ``cfg_pains(entry_index, rule_id, name, stage)``: the
  entries' own settings (``stage``: the stage every event of the entry belongs to, else null).
* ``cfg_map(top_touchpoints, comments_per_stage)``: how many touchpoints per stage ``stage_touchpoints``
  lists before ``(other)``, and how many negative comments per stage ``journey_map`` quotes.
* (``cfg_funnel_steps`` and ``cfg_breakdowns`` come from :func:`cjm_pipeline.funnel.funnel_tables`.)

``property_name`` is the name after ``properties.``, else null.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .config import PipelineConfig
from .schema import PROPERTY_PREFIX


def stage_tables(cfg: PipelineConfig) -> dict[str, pd.DataFrame]:
    """The stage and rule tables for a config.

    >>> from cjm_pipeline.config import config_from_dict
    >>> cfg = config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
    ...     "stages": [{"name": "a", "rules": [{"event_type": "visit"}]},
    ...                {"name": "b", "rules": [{"event_type": ["cart", "buy"], "properties.plan": "pro*"}]}]})
    >>> conditions = stage_tables(cfg)["cfg_rule_conditions"]
    >>> conditions[["rule_id", "cond_key", "match_kind", "pattern"]].values.tolist()
    [['a.0', 'event_type', 'exact', 'visit'], ['b.0', 'event_type', 'exact', 'cart'], ['b.0', 'event_type', 'exact', 'buy'], ['b.0', 'properties.plan', 'glob', 'pro*']]
    >>> conditions["property_name"].isna().tolist()
    [True, True, True, False]
    """
    stages, rules, conds, kpis = [], [], [], []
    for order, stage in enumerate(cfg.stages, start=1):
        stages.append((stage.name, order, stage.window_seconds, stage.description or None))
        kpis += [(stage.name, order, kpi, target, unit) for kpi, target, unit in stage.kpi_targets()]
        for index, rule in enumerate(stage.rules):
            rule_id = f"{stage.name}.{index}"
            rows = rule_conditions(rule)
            rules.append((rule_id, stage.name, order, index, len({k for k, _, _ in rows})))
            for key, kind, pattern in rows:
                prop = key[len(PROPERTY_PREFIX):] if key.startswith(PROPERTY_PREFIX) else None
                conds.append((rule_id, key, prop, kind, pattern))
    return {
        "cfg_stages": pd.DataFrame(stages, columns=["stage", "stage_order", "window_s", "description"]).astype(
            {"window_s": "Int64", "description": "string"}),
        "cfg_stage_rules": pd.DataFrame(rules, columns=["rule_id", "stage", "stage_order", "rule_index", "n_keys"]),
        "cfg_rule_conditions": pd.DataFrame(conds, columns=["rule_id", "cond_key", "property_name", "match_kind", "pattern"]),
        "cfg_stage_kpis": pd.DataFrame(kpis, columns=["stage", "stage_order", "kpi", "target", "unit"]).astype(
            {"stage": "string", "stage_order": "int64", "kpi": "string", "target": "float64", "unit": "string"}),
        **map_tables(cfg),
    }


#: ``stage_touchpoints`` lists this many touchpoints per stage, the rest as ``(other)``.
TOP_TOUCHPOINTS = 10
#: ``journey_map`` quotes this many of the latest negative comments per stage.
COMMENTS_PER_STAGE = 3


def map_tables(cfg: PipelineConfig) -> dict[str, pd.DataFrame]:
    """The journey map's config tables: ``feedback:`` and ``pains:`` entries and their rules.

    >>> from cjm_pipeline.config import config_from_dict
    >>> cfg = config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
    ...     "stages": [{"name": "a", "rules": [{"event_type": "visit"}]}, {"name": "b", "rules": [{"event_type": "buy"}]}],
    ...     "feedback": [{"event_type": "nps_answer", "score": "properties.score", "scale": "nps"}],
    ...     "pains": [{"event_type": "call", "properties.answered": "false", "stage": "b"}]})
    >>> t = map_tables(cfg)
    >>> t["cfg_map_conditions"][["rule_id", "cond_key", "pattern"]].values.tolist()
    [['feedback:0', 'event_type', 'nps_answer'], ['pain:0', 'event_type', 'call'], ['pain:0', 'properties.answered', 'false']]
    >>> t["cfg_feedback"][["name", "score_property", "scale_min", "scale_max", "negative_max"]].values.tolist()
    [['nps_answer', 'score', 0.0, 10.0, 6.0]]
    >>> t["cfg_pains"][["rule_id", "name", "stage"]].values.tolist()
    [['pain:0', 'call · answered=false', 'b']]
    """
    conds, feedback, pains = [], [], []
    for rule_set, entries in (("feedback", cfg.feedback_entries()), ("pain", cfg.pain_entries())):
        for index, entry in enumerate(entries):
            rule_id = f"{rule_set}:{index}"
            for key, kind, pattern in rule_conditions(entry.rule):
                prop = key[len(PROPERTY_PREFIX):] if key.startswith(PROPERTY_PREFIX) else None
                conds.append((rule_id, key, prop, kind, pattern))
            if rule_set == "feedback":
                lo, hi = entry.bounds
                label = f"{entry.scale} ({lo:g}-{hi:g})" if entry.scale == "nps" else entry.scale
                feedback.append((index, rule_id, entry.name, entry.score_property, entry.comment_property, entry.scale,
                                 label, float(lo), float(hi), entry.negative_threshold, entry.stage))
            else:
                pains.append((index, rule_id, entry.name, entry.stage))
    text = "string"
    return {
        "cfg_map_conditions": pd.DataFrame(conds, columns=["rule_id", "cond_key", "property_name", "match_kind",
                                                           "pattern"]).astype(text),
        "cfg_feedback": pd.DataFrame(feedback, columns=[
            "entry_index", "rule_id", "name", "score_property", "comment_property", "scale", "scale_label", "scale_min",
            "scale_max", "negative_max", "stage"]).astype({"entry_index": "int64", "rule_id": text, "name": text,
                                                           "score_property": text, "comment_property": text,
                                                           "scale": text, "scale_label": text, "scale_min": "float64",
                                                           "scale_max": "float64", "negative_max": "float64",
                                                           "stage": text}),
        "cfg_pains": pd.DataFrame(pains, columns=["entry_index", "rule_id", "name", "stage"]).astype(
            {"entry_index": "int64", "rule_id": text, "name": text, "stage": text}),
        "cfg_map": pd.DataFrame([(TOP_TOUCHPOINTS, COMMENTS_PER_STAGE)],
                                columns=["top_touchpoints", "comments_per_stage"]).astype("int64"),
    }


def rule_conditions(rule: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(key, match_kind, pattern)`` rows for one rule; several rows of one key are alternatives.

    >>> rule_conditions({"event_type": ["visit", "page_view"], "url": "*/catalog/*"})
    [('event_type', 'exact', 'visit'), ('event_type', 'exact', 'page_view'), ('url', 'glob', '*/catalog/*')]
    """
    rows = []
    for key, value in rule.items():
        for v in value if isinstance(value, list) else [value]:
            text = _scalar_text(v)
            if text.startswith("re:"):
                rows.append((str(key), "regex", text[3:]))
            elif "*" in text:
                rows.append((str(key), "glob", text))
            else:
                rows.append((str(key), "exact", text))
    return rows


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
