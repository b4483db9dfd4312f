"""Semantic checks of a loaded config: one checker per section, each returning problems.

A problem is one line, ``<key path>: <what is wrong>; <what is valid or probably meant>``.
:func:`check_config` runs them all; :func:`cjm_pipeline.config.load.config_from_dict` raises
every problem of a file together, after the structural ones (unknown keys, wrong types).
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import re
import typing
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers

from ..db import regex_error
from ..schema import CANONICAL_COLUMNS, FORMATS, IDENTIFIER_TYPES, PROPERTY_PREFIX, RULE_COLUMNS
from ..units import Duration, parse_memory_size
from .model import (BREAKDOWNS, CSV_ENCODINGS, ENGINES, FUNNEL_MODES, FUNNEL_UNITS, OUTPUT_FORMATS, OUTPUT_PII,
                    PERIODS, PII_MODES, PRECISIONS, FunnelConfig, IdentityConfig, JourneyConfig, OutputConfig,
                    PipelineConfig, SourceConfig, StageConfig, TimesConfig, UNREADABLE_FILE)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def suggest(word: str, choices: typing.Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, else ``""``.

    >>> suggest("sorce", ["source", "event_type"])
    "; did you mean 'source'?"
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def one_of(where: str, value: Any, valid: typing.Sequence[str], what: str = "") -> list[str]:
    """A problem unless ``value`` is one of ``valid``: the closest valid value and all of them."""
    if value in valid:
        return []
    return [f"{where}: {'unknown ' + what + ' ' if what else ''}{value!r}{suggest(str(value), valid)}"
            f" (valid{' ' + what + 's' if what else ''}: {', '.join(valid)})"]


def check_config(cfg: PipelineConfig) -> list[str]:
    """Every semantic problem of a config (its structure already built)."""
    problems = check_identity(cfg.identity)
    problems += check_timezone(cfg.timezone, "timezone")
    problems += check_times(cfg.times)
    if cfg.memory_limit is not None:
        try:
            parse_memory_size(cfg.memory_limit)
        except ValueError:
            problems.append(f"memory_limit: {cfg.memory_limit!r} is not a size; write e.g. '4GB' or '512MB'")
    problems += check_engine(cfg)
    problems += check_sources(cfg.sources or [])
    problems += check_stages(cfg.stages or [])
    problems += check_funnel(cfg.funnel)
    stage_names = [s.name for s in cfg.stages or [] if s is not None]
    if len(stage_names) >= 2:
        problems += check_funnel_stages(cfg.funnel, stage_names)
    problems += check_named_funnels(cfg)
    problems += check_output(cfg.output)
    problems += check_journey(cfg.journey)
    problems += check_predict(cfg)
    return problems


def check_predict(cfg: PipelineConfig) -> list[str]:
    """``predict.window``, ``attribution.half_life``: longer than zero; ``predict.min_reference_visits`` ≥ 1."""
    problems = check_positive(cfg.predict.window, "predict.window")
    problems += check_positive(cfg.attribution.half_life, "attribution.half_life")
    if isinstance(cfg.predict.min_reference_visits, int) and cfg.predict.min_reference_visits < 1:
        problems.append(f"predict.min_reference_visits: must be at least 1, got {cfg.predict.min_reference_visits}")
    return problems


def check_journey(journey: JourneyConfig) -> list[str]:
    problems = check_positive(journey.back_step_min_gap, "journey.back_step_min_gap")
    return problems + check_positive(journey.stock_inactivity, "journey.stock_inactivity")


def check_engine(cfg: PipelineConfig) -> list[str]:
    problems = []
    if cfg.engine not in ENGINES:
        problems.append(f"engine: unknown engine {cfg.engine!r}{suggest(str(cfg.engine), ENGINES)}"
                        f" (valid: {', '.join(ENGINES)})")
    if cfg.engine == "spark" and not str(cfg.spark.master).strip():
        problems.append("spark.master: empty; write e.g. 'local[*]' or 'spark://host:7077'")
    return problems


def check_identity(ident: IdentityConfig) -> list[str]:
    problems = []
    valid = ("any", *IDENTIFIER_TYPES)
    for id_type, values in ident.blocklist.items():
        if id_type not in valid:
            problems.append(f"identity.blocklist.{id_type}: unknown identifier type{suggest(id_type, valid)}"
                            f" (valid: {', '.join(valid)})")
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, str) and v.startswith("re:"):
                problems += check_regex(v[3:], f"identity.blocklist.{id_type}")
    for t in ident.hub_types:
        if t not in IDENTIFIER_TYPES:
            problems.append(f"identity.hub_types: unknown identifier type {t!r}{suggest(t, IDENTIFIER_TYPES)}")
    if ident.pii not in PII_MODES:
        problems.append(f"identity.pii: {ident.pii!r}{suggest(str(ident.pii), PII_MODES)} (valid: clear, hash)")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident.pii_salt_env or ""):
        problems.append(f"identity.pii_salt_env: {ident.pii_salt_env!r} is not an environment variable name")
    for i, name in enumerate(ident.pii_columns):
        if not isinstance(name, str) or not name.strip():
            problems.append(f"identity.pii_columns[{i}]: expected a column or property name, got {name!r}")
    for key in ("max_contacts_per_identifier", "flag_component_size", "max_iterations", "max_identifiers_per_record"):
        value = getattr(ident, key)
        if isinstance(value, int) and value < 1:
            problems.append(f"identity.{key}: must be at least 1, got {value}")
    return problems


def check_times(times: TimesConfig) -> list[str]:
    """The plausible range of event times must hold the present (else every event is quarantined)."""
    if times.earliest is not None and times.earliest.at > dt.datetime.now():
        return [f"times.earliest: {str(times.earliest)!r} is in the future, so every event would be quarantined; "
                "write the date of the oldest events you expect, e.g. '2015-01-01' (default 1990-01-01)"]
    return []


def check_sources(sources: list[SourceConfig]) -> list[str]:
    problems = []
    if not sources:
        problems.append("sources: at least one source is required")
    seen: set[str] = set()
    for i, src in enumerate(sources):
        if src is not None:  # (an item that is not a mapping was reported while the file was read)
            problems += check_source(src, f"sources[{i}]", seen)
    return problems


def check_source(src: SourceConfig, where: str, seen: set[str]) -> list[str]:
    problems = []
    if not _NAME.match(src.name or ""):
        problems.append(f"{where}.name: {src.name!r} must be letters, digits and underscores, starting with a letter")
    elif src.name in seen:
        problems.append(f"{where}.name: duplicate source name '{src.name}'")
    seen.add(src.name)
    spec = FORMATS.get(src.format)
    if spec is None:
        problems.append(f"{where}.format: unknown format {src.format!r}{suggest(str(src.format), FORMATS)}"
                        f" (valid formats: {', '.join(FORMATS)})")
    else:
        for key in src.options:
            if key not in spec.options:
                problems.append(f"{where}.options.{key}: unknown option for format '{src.format}'"
                                f"{suggest(str(key), spec.options)}"
                                f" (valid options: {', '.join(spec.options) if spec.options else 'none'})")
        if not src.path and spec.reads_files:
            problems.append(f"{where}.path: required (a file, a glob or a folder)")
    if src.phone_region not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(f"{where}.phone_region: {src.phone_region!r} is not a region code"
                        f"{suggest(str(src.phone_region).upper(), sorted(phonenumbers.SUPPORTED_REGIONS))} (e.g. RU, KZ, BY)")
    if src.timezone is not None:
        problems += check_timezone(src.timezone, f"{where}.timezone")
    problems += one_of(f"{where}.on_unreadable_file", src.on_unreadable_file, UNREADABLE_FILE)
    for header, target in src.columns.items():
        if target not in CANONICAL_COLUMNS:
            problems.append(f"{where}.columns.{header}: {target!r} is not a unified column"
                            f"{suggest(str(target), CANONICAL_COLUMNS)} (valid: {', '.join(CANONICAL_COLUMNS)})")
    targets = list(src.columns.values())
    for dup in sorted({t for t in targets if targets.count(t) > 1}):
        problems.append(f"{where}.columns: several file columns are mapped to '{dup}'")
    if src.encoding != "auto":
        try:
            codecs.lookup(src.encoding)
        except LookupError:
            problems.append(f"{where}.encoding: unknown encoding {src.encoding!r} (e.g. auto, utf-8, cp1251)")
    if src.delimiter != "auto" and len(src.delimiter.encode("utf-8").decode("unicode_escape")) != 1:
        problems.append(f"{where}.delimiter: {src.delimiter!r} must be one character or 'auto'")
    return problems


def check_stages(stages: list[StageConfig]) -> list[str]:
    problems = []
    if len(stages) < 2:
        problems.append("stages: at least two stages are needed for a journey")
    seen: set[str] = set()
    for i, stage in enumerate(stages):
        where = f"stages[{i}]"
        if stage is None:
            continue
        if not isinstance(stage.name, str) or not stage.name.strip():
            problems.append(f"{where}.name: a non-empty string is required")
        elif stage.name in seen:
            problems.append(f"{where}.name: duplicate stage name '{stage.name}'")
        elif any(c in stage.name for c in ">,\n"):
            problems.append(f"{where}.name: {stage.name!r} may not contain '>', ',' or a line break "
                            "(they separate stage paths)")
        seen.add(stage.name)
        if not stage.rules:
            problems.append(f"{where}.rules: at least one rule is required")
        for j, rule in enumerate(stage.rules or []):
            problems += check_rule(rule, f"{where}.rules[{j}]")
        problems += check_stage_kpi(stage.kpi, f"{where}.kpi", is_last=i == len(stages) - 1)
        if stage.window is not None:
            problems += check_positive(stage.window, f"{where}.window")
    return problems


def check_named_funnels(cfg: PipelineConfig) -> list[str]:
    problems = []
    seen: set[str] = set()
    stage_names = [s.name for s in cfg.stages or [] if s is not None]
    for i, named in enumerate(cfg.funnels or []):
        where = f"funnels[{i}]."
        if named is None:
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]*", named.name or ""):
            problems.append(f"{where}name: {named.name!r} must be lower-case letters, digits and underscores, "
                            "starting with a letter (it names the schema funnel_<name> and an output folder)")
        elif named.name in seen:
            problems.append(f"{where}name: duplicate funnel name '{named.name}'")
        seen.add(named.name)
        problems += check_funnel(named, where)
        if len(stage_names) >= 2:
            problems += check_funnel_stages(named, stage_names, where)
    return problems


def check_output(output: OutputConfig) -> list[str]:
    problems = []
    if output.csv_encoding not in CSV_ENCODINGS:
        problems.append(f"output.csv_encoding: {output.csv_encoding!r}{suggest(output.csv_encoding, CSV_ENCODINGS)}"
                        f" (valid: {', '.join(CSV_ENCODINGS)})")
    if output.pii not in OUTPUT_PII:
        problems.append(f"output.pii: {output.pii!r} is not valid (mask or clear)")
    if output.format not in OUTPUT_FORMATS:
        problems.append(f"output.format: {output.format!r}{suggest(output.format, OUTPUT_FORMATS)}"
                        f" (valid: {', '.join(OUTPUT_FORMATS)})")
    if len(output.csv_delimiter) != 1:
        problems.append(f"output.csv_delimiter: {output.csv_delimiter!r} must be one character")
    if output.precision not in PRECISIONS:
        problems.append(f"output.precision: {output.precision!r}{suggest(str(output.precision), PRECISIONS)}"
                        f" (valid: {', '.join(PRECISIONS)})")
    if not 0 <= output.min_complete_share <= 1:
        value = output.min_complete_share
        hint = f" (a fraction; for {value:g}% write {value / 100:g})" if 1 < value <= 100 else ""
        problems.append(f"output.min_complete_share: must be between 0 and 1, got {value!r}{hint}")
    return problems


def check_funnel(funnel: FunnelConfig, where: str = "funnel.") -> list[str]:
    """Problems with the funnel settings; ``where`` prefixes the key names (``--`` for CLI options)."""
    problems = []
    if funnel.mode not in FUNNEL_MODES:
        problems.append(f"{where}mode: unknown mode {funnel.mode!r}{suggest(str(funnel.mode), FUNNEL_MODES)}"
                        f" (valid modes: {', '.join(FUNNEL_MODES)})")
    problems += check_positive(funnel.window, f"{where}window")
    lo, hi = funnel.entry_bounds()
    if lo and hi and lo >= hi:
        problems.append(f"{where}entry_to: the entry range is empty ({funnel.entry_from} .. {funnel.entry_to})")
    for b in funnel.breakdowns:
        if b not in BREAKDOWNS and not (b.startswith(PROPERTY_PREFIX) and len(b) > len(PROPERTY_PREFIX)):
            problems.append(f"{where}breakdowns: unknown breakdown {b!r}{suggest(b, BREAKDOWNS)}"
                            f" (valid: {', '.join(BREAKDOWNS)}, or properties.<name>)")
    if funnel.top_n < 1:
        problems.append(f"{where}top_n: must be at least 1")
    if funnel.unit not in FUNNEL_UNITS:
        problems.append(f"{where}unit: {funnel.unit!r}{suggest(str(funnel.unit), FUNNEL_UNITS)}"
                        f" (valid: {', '.join(FUNNEL_UNITS)})")
    problems += check_positive(funnel.session_gap, f"{where}session_gap")
    for stage, duration in funnel.step_windows.items():
        problems += check_positive(duration, f"{where}step_windows.{stage}")
    if funnel.step_windows and funnel.mode == "furthest":
        problems.append(f"{where}step_windows: per-step windows need an order of steps; the furthest mode has none "
                        "(use mode ordered or strict)")
    for key in ("trend_period", "cohort_period"):
        value = getattr(funnel, key)
        if value not in PERIODS:
            problems.append(f"{where}{key}: {value!r}{suggest(str(value), PERIODS)} (valid: {', '.join(PERIODS)})")
    return problems


def check_positive(value: Duration, where: str) -> list[str]:
    """A problem for a duration of zero (durations are typed at load: their syntax is checked there)."""
    return [f"{where}: must be longer than zero"] if value is not None and value.seconds <= 0 else []


def check_funnel_stages(funnel: FunnelConfig, stage_names: list[str], where: str = "funnel.") -> list[str]:
    """The funnel's stage sub-range and step windows name known stages, in order, with at least two steps."""
    problems = []
    for name in funnel.step_windows:
        if name not in stage_names:
            problems.append(f"{where}step_windows.{name}: unknown stage{suggest(str(name), stage_names)}"
                            f" (stages: {', '.join(stage_names)})")
    for key in ("from_stage", "to_stage"):
        name = getattr(funnel, key)
        if name is not None and name not in stage_names:
            problems.append(f"{where}{key}: unknown stage {name!r}{suggest(str(name), stage_names)}"
                            f" (stages: {', '.join(stage_names)})")
    if not problems:
        lo = stage_names.index(funnel.from_stage) if funnel.from_stage else 0
        hi = stage_names.index(funnel.to_stage) if funnel.to_stage else len(stage_names) - 1
        if hi - lo < 1:
            problems.append(f"{where.rstrip('.')}: from_stage {stage_names[lo]!r} must come before to_stage "
                            f"{stage_names[hi]!r} in the stage list (a funnel needs at least two steps)")
    return problems


def check_stage_kpi(kpi: dict[str, Any], where: str, *, is_last: bool = False) -> list[str]:
    """Problems with one stage's ``kpi`` mapping: known keys, fractions in 0..1, durations.

    >>> check_stage_kpi({"conversion_to_next": 0.5, "drop_off_rate_max": 35}, "stages[0].kpi")
    ["stages[0].kpi.conversion_to_next: unknown key; did you mean 'conversion_to_next_min'? (valid keys: conversion_to_next_min, median_time_to_next_max, drop_off_rate_max)", 'stages[0].kpi.drop_off_rate_max: must be between 0 and 1, got 35 (a fraction; for a percentage write 0.35 for 35%)']
    """
    problems = []
    units = StageConfig.KPI_UNITS
    for key, value in (kpi or {}).items():
        key, at = str(key), f"{where}.{key}"
        if key not in units:
            problems.append(f"{at}: unknown key{suggest(key, units)} (valid keys: {', '.join(units)})")
            continue
        if is_last:
            problems.append(f"{at}: the last stage has no next stage, so conversion, drop-off and time "
                            "to the next stage are undefined there; set this KPI on an earlier stage")
        elif units[key] == "seconds":
            try:
                problems += check_positive(Duration(value), at)
            except ValueError as e:
                problems.append(f"{at}: {e}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{at}: expected a number between 0 and 1, got {value!r}")
        elif not 0 <= value <= 1:
            hint = f" (a fraction; for a percentage write {value / 100:g} for {value:g}%)" if 1 < value <= 100 else ""
            problems.append(f"{at}: must be between 0 and 1, got {value!r}{hint}")
    return problems


def check_timezone(name: str, where: str) -> list[str]:
    try:
        ZoneInfo(name)
        return []
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return [f"{where}: unknown time zone {name!r}{suggest(str(name), available_timezones())}"
                " (use an IANA name such as 'Europe/Moscow' or 'UTC')"]


def check_regex(pattern: str, where: str) -> list[str]:
    """A problem for a pattern that the run's regex engine (RE2, :func:`cjm_pipeline.db.regex_error`)
    cannot compile; Python's ``re`` would accept lookarounds and backreferences the run rejects.

    >>> check_regex("(?=purchase)purchase", "stages[1].rules[0].event_type")
    ["stages[1].rules[0].event_type: invalid regular expression '(?=purchase)purchase' (RE2 syntax): invalid perl operator: (?=; lookarounds and backreferences are not supported"]
    """
    error = regex_error(pattern)
    if error is None:
        return []
    hint = "; lookarounds and backreferences are not supported" if re.search(r"\(\?<?[=!]|\\[1-9]", pattern) else ""
    return [f"{where}: invalid regular expression '{pattern}' (RE2 syntax): {error}{hint}"]


def check_rule(rule: Any, where: str) -> list[str]:
    """Problems with one stage rule (a mapping of key -> value, list of values, glob or ``re:`` regex)."""
    if not isinstance(rule, dict) or not rule:
        return [f"{where}: a rule is a non-empty mapping such as {{event_type: visit}}"]
    problems = []
    for key, value in rule.items():
        key = str(key)
        if not (key in RULE_COLUMNS or (key.startswith(PROPERTY_PREFIX) and len(key) > len(PROPERTY_PREFIX))):
            problems.append(f"{where}.{key}: unknown key{suggest(key, RULE_COLUMNS)}"
                            f" (valid: {', '.join(RULE_COLUMNS)}, or properties.<name> for any other column)")
            continue
        values = value if isinstance(value, list) else [value]
        if not values:
            problems.append(f"{where}.{key}: an empty list matches nothing")
        for v in values:
            if v is None or isinstance(v, (dict, list)):
                problems.append(f"{where}.{key}: {v!r} is not a value to match; write a string, a list of strings, "
                                "a glob ('*/catalog/*') or a regex ('re:^/product/')")
            elif isinstance(v, str) and v.startswith("re:"):
                problems += check_regex(v[3:], f"{where}.{key}")
    return problems
