"""Checks of the journey map's config sections, ``feedback:`` and ``pains:`` (:mod:`.map_sections`).

An entry's rule keys are checked as a stage rule's (:func:`~cjm_pipeline.config.checks.check_rule`);
its own keys (``score``, ``scale``, ``comment``, ``stage``, ``negative_max``, ``name``) here.
:func:`check_map_sections` is run with the other checks when a config is loaded.

>>> check_map_sections({"feedback": [{"event_type": "nps_answer", "score": "score", "scale": "0-10"}],
...                     "pains": [{"name": "missed call"}]}, ["a", "b"])[:2]
["feedback[0].score: 'score' is not a column; write the source's column holding the score as properties.<column>, e.g. properties.score", "feedback[0].scale: unknown scale '0-10'; did you mean 'nps'? (the 0-10 scale) (valid: nps, 1-5, 1-10, 0-100; nps is 0-10)"]
"""

from __future__ import annotations

from typing import Any

from ..schema import PROPERTY_PREFIX, RULE_COLUMNS
from .checks import check_rule, suggest
from .map_sections import FEEDBACK_KEYS, PAIN_KEYS, SCALES, rule_part


def check_map_sections(sections: dict[str, Any], stage_names: list[str]) -> list[str]:
    """Problems with ``feedback:`` and ``pains:`` (``sections`` holds both lists)."""
    return check_feedback(sections.get("feedback") or [], stage_names) + check_pains(sections.get("pains") or [],
                                                                                     stage_names)


def _map_entry(entry: Any, where: str, own_keys: tuple[str, ...], stage_names: list[str]) -> list[str]:
    """Problems with one feedback or pain entry: its rule keys (as a stage rule's) and its ``stage``."""
    example = "event_type: nps_answer, score: properties.score, scale: nps" if "score" in own_keys \
        else "event_type: payment_error"
    if not isinstance(entry, dict):
        return [f"{where}: an entry is a mapping such as {{{example}}}"]
    rule = rule_part(entry, own_keys)
    if not rule:
        return [f"{where}: no key to match events with; add one as in a stage rule, e.g. {example.split(',')[0]}"]
    problems = []
    for key in rule:  # a rule key close to one of the entry's own keys is probably that key
        close = suggest(key, own_keys)
        if close and key not in RULE_COLUMNS and not key.startswith(PROPERTY_PREFIX):
            problems.append(f"{where}.{key}: unknown key{close} (valid: {', '.join(own_keys)}, "
                            f"or a rule key: {', '.join(RULE_COLUMNS)}, properties.<name>)")
            return problems
    problems += check_rule(rule, where)
    stage = entry.get("stage")
    if stage is not None and stage not in stage_names:
        problems.append(f"{where}.stage: unknown stage {stage!r}{suggest(str(stage), stage_names)}"
                        f" (stages: {', '.join(stage_names)})")
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        problems.append(f"{where}.name: a non-empty string is required")
    elif name in ("(all)", "low scores", "back-steps"):
        problems.append(f"{where}.name: {name!r} is the name of the map's own row; choose another")
    return problems


def _property_key(value: Any, where: str, what: str) -> list[str]:
    if not isinstance(value, str) or not value.startswith(PROPERTY_PREFIX) or len(value) <= len(PROPERTY_PREFIX):
        return [f"{where}: {value!r} is not a column; write the source's column holding the {what} as "
                f"properties.<column>, e.g. properties.{what}"]
    return []


def check_feedback(entries: list[Any], stage_names: list[str]) -> list[str]:
    """Problems with ``feedback:``: rule keys, the score and comment columns, the scale, the stage."""
    problems = []
    names = []
    for i, entry in enumerate(entries or []):
        where = f"feedback[{i}]"
        problems += _map_entry(entry, where, FEEDBACK_KEYS, stage_names)
        if not isinstance(entry, dict):
            continue
        if "score" not in entry:
            problems.append(f"{where}.score: required: the column holding the score, e.g. properties.score")
        else:
            problems += _property_key(entry["score"], f"{where}.score", "score")
        if "comment" in entry:
            problems += _property_key(entry["comment"], f"{where}.comment", "comment")
        scale = str(entry.get("scale", ""))
        if "scale" not in entry:
            problems.append(f"{where}.scale: required (valid: {', '.join(SCALES)}; nps is 0-10)")
        elif scale not in SCALES:
            hint = "; did you mean 'nps'? (the 0-10 scale)" if scale.replace(" ", "") in ("0-10", "0..10") \
                else suggest(scale, SCALES)
            problems.append(f"{where}.scale: unknown scale {entry['scale']!r}{hint}"
                            f" (valid: {', '.join(SCALES)}; nps is 0-10)")
        negative = entry.get("negative_max")
        if negative is not None:
            if isinstance(negative, bool) or not isinstance(negative, (int, float)):
                problems.append(f"{where}.negative_max: expected a number on the scale, got {negative!r}")
            elif scale in SCALES and not SCALES[scale][0] <= negative <= SCALES[scale][1]:
                problems.append(f"{where}.negative_max: {negative!r} is off the scale {scale} "
                                f"({SCALES[scale][0]:g}-{SCALES[scale][1]:g})")
        if entry.get("name"):
            names.append((where, str(entry["name"])))
    return problems + _duplicate_names(names)


def check_pains(entries: list[Any], stage_names: list[str]) -> list[str]:
    """Problems with ``pains:``: rule keys, the stage and the names."""
    problems = []
    names = []
    for i, entry in enumerate(entries or []):
        problems += _map_entry(entry, f"pains[{i}]", PAIN_KEYS, stage_names)
        if isinstance(entry, dict) and entry.get("name"):
            names.append((f"pains[{i}]", str(entry["name"])))
    return problems + _duplicate_names(names)


def _duplicate_names(names: list[tuple[str, str]]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for where, name in names:
        if name in seen:
            problems.append(f"{where}.name: duplicate name {name!r}; each entry needs its own")
        seen.add(name)
    return problems
