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

* ``cfg_stages(stage, stage_order, window_s)``: ``window_s`` is the stage's own per-step window
  (``stages[i].window``) in seconds, which a funnel's ``step_windows`` may replace
  (:func:`cjm_pipeline.funnel.funnel_steps`)
* ``cfg_stage_rules(rule_id, stage, stage_order, rule_index, n_keys)``
* ``cfg_rule_conditions(rule_id, cond_key, property_name, match_kind, pattern)``
* ``cfg_stage_kpis(stage, stage_order, kpi, target, unit)``: the stages' KPI targets, one row
  per stage and KPI; ``unit`` is ``ratio`` (a fraction) or ``seconds`` (durations parsed).
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
        stages.append((stage.name, order, stage.window_seconds))
        kpis += [(stage.name, order, kpi, target, unit) for kpi, target, unit in stage.kpi_targets()]
        for index, rule in enumerate(stage.rules):
            rule_id = f"{stage.name}.{index}"
            rows = rule_conditions(rule)
            rules.append((rule_id, stage.name, order, index, len({k for k, _, _ in rows})))
            for key, kind, pattern in rows:
                prop = key[len(PROPERTY_PREFIX):] if key.startswith(PROPERTY_PREFIX) else None
                conds.append((rule_id, key, prop, kind, pattern))
    return {
        "cfg_stages": pd.DataFrame(stages, columns=["stage", "stage_order", "window_s"]).astype({"window_s": "Int64"}),
        "cfg_stage_rules": pd.DataFrame(rules, columns=["rule_id", "stage", "stage_order", "rule_index", "n_keys"]),
        "cfg_rule_conditions": pd.DataFrame(conds, columns=["rule_id", "cond_key", "property_name", "match_kind", "pattern"]),
        "cfg_stage_kpis": pd.DataFrame(kpis, columns=["stage", "stage_order", "kpi", "target", "unit"]).astype(
            {"stage": "string", "stage_order": "int64", "kpi": "string", "target": "float64", "unit": "string"}),
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
