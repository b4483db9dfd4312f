"""Config validation: every problem at once, with the key path and what is valid."""

import textwrap

import pytest

from cjm_pipeline.config import config_from_dict, load_config, parse_duration
from cjm_pipeline.errors import ConfigError

BASE = {
    "sources": [{"name": "shop", "format": "generic_events", "path": "events.csv"}],
    "stages": [
        {"name": "awareness", "rules": [{"event_type": "visit"}]},
        {"name": "interest", "rules": [{"event_type": "page_view", "url": "*/catalog/*"}]},
        {"name": "purchase", "rules": [{"event_type": "purchase"}]},
    ],
}


def problems_of(data):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data, file="cfg.yaml")
    return e.value.problems


def with_(path_fn):
    import copy
    data = copy.deepcopy(BASE)
    path_fn(data)
    return data


def test_valid_config_loads_with_defaults(tmp_path):
    cfg = config_from_dict(BASE, base_dir=tmp_path)
    assert cfg.funnel.window_seconds == 90 * 86400
    assert cfg.timezone == "UTC"
    assert cfg.warehouse_path == (tmp_path / "build" / "cjm.duckdb").resolve()


def test_unknown_rule_key_suggests_the_right_one():
    data = with_(lambda d: d["stages"][2]["rules"].append({"sorce": "crm"}))
    p = problems_of(data)
    assert p[0].startswith("stages[2].rules[1].sorce: unknown key; did you mean 'source'?")


def test_unknown_top_level_and_nested_keys():
    data = with_(lambda d: (d.update(timezon="UTC"), d["sources"][0].update(colums={})))
    p = "\n".join(problems_of(data))
    assert "timezon: unknown key; did you mean 'timezone'?" in p
    assert "sources[0].colums: unknown key; did you mean 'columns'?" in p


def test_all_problems_are_reported_together():
    def break_it(d):
        d["sources"][0]["format"] = "generic_event"
        d["stages"][1]["name"] = "awareness"
        d["funnel"] = {"window": "90 days", "mode": "orderd"}
        d["timezone"] = "Europe/Moskow"
    p = problems_of(with_(break_it))
    text = "\n".join(p)
    assert "sources[0].format: unknown format 'generic_event'; did you mean 'generic_events'?" in text
    assert "stages[1].name: duplicate stage name 'awareness'" in text
    assert "funnel.window:" in text and "'90d'" in text
    assert "funnel.mode: unknown mode 'orderd'; did you mean 'ordered'?" in text
    assert "timezone: unknown time zone 'Europe/Moskow'; did you mean 'Europe/Moscow'?" in text
    assert len(p) == 5


def test_yaml_traps_are_caught(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text(textwrap.dedent("""
        sources:
          - {name: shop, format: generic_events, path: e.csv}
        stages:
          - name: no
            rules: [{event_type: visit}]
          - name: interest
            rules: [{event_type: page_view}]
    """), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(f)
    msg = str(e.value)
    assert str(f) in msg and "stages[0].name: expected a string, got False" in msg and "quote it" in msg


def test_required_keys_and_types():
    p = problems_of({"sources": "events.csv", "stages": [{"rules": [{"event_type": "visit"}]}]})
    text = "\n".join(p)
    assert "sources: expected a list" in text
    assert "stages[0].name: required" in text


def test_bad_regex_and_empty_rule_values():
    data = with_(lambda d: d["stages"][0]["rules"].extend([{"url": "re:(unclosed"}, {"event_type": []}, {}]))
    text = "\n".join(problems_of(data))
    assert "stages[0].rules[1].url: invalid regular expression '(unclosed'" in text
    assert "stages[0].rules[2].event_type: an empty list matches nothing" in text
    assert "stages[0].rules[3]: a rule is a non-empty mapping" in text


def test_column_mapping_targets_must_be_unified_names():
    data = with_(lambda d: d["sources"][0].update(columns={"Дата": "event_tme", "Тип": "event_type"}))
    text = "\n".join(problems_of(data))
    assert "sources[0].columns.Дата: 'event_tme' is not a unified column; did you mean 'event_time'?" in text


def test_stage_names_cannot_contain_path_separator():
    data = with_(lambda d: d["stages"][0].update(name="a>b"))
    assert "may not contain '>'" in "\n".join(problems_of(data))


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [\n  - a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+: invalid YAML"):
        load_config(bad)


def test_relative_paths_resolve_against_base_dir_next_to_the_config(tmp_path):
    (tmp_path / "configs").mkdir()
    f = tmp_path / "configs" / "c.yaml"
    f.write_text("base_dir: ..\nwarehouse: build/w.duckdb\nsources: [{name: s, format: generic_events, path: d.csv}]\n"
                 "stages: [{name: a, rules: [{event_type: a}]}, {name: b, rules: [{event_type: b}]}]\n", encoding="utf-8")
    cfg = load_config(f)
    assert cfg.warehouse_path == (tmp_path / "build" / "w.duckdb").resolve()
    assert cfg.resolve("d.csv") == (tmp_path / "d.csv").resolve()
    assert len(cfg.config_sha256) == 64


@pytest.mark.parametrize("text,seconds", [("45s", 45), ("30m", 1800), ("12h", 43200), ("90d", 7776000), ("2w", 1209600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_sample_config_is_valid():
    from conftest import ROOT
    cfg = load_config(ROOT / "configs" / "sample.yaml")
    assert cfg.stage_names[0] == "awareness" and cfg.timezone == "Europe/Moscow"


def test_funnel_sub_range_and_entry_range_are_checked():
    def break_it(d):
        d["funnel"] = {"from_stage": "intrest", "entry_from": "2025-13-01", "breakdowns": ["first_chanel"],
                       "cohort_period": "weak"}
    text = "\n".join(problems_of(with_(break_it)))
    assert "funnel.from_stage: unknown stage 'intrest'; did you mean 'interest'?" in text
    assert "funnel.entry_from: '2025-13-01' is not a date" in text
    assert "funnel.breakdowns: unknown breakdown 'first_chanel'; did you mean 'first_channel'?" in text
    assert "funnel.cohort_period: 'weak'; did you mean 'week'?" in text
    reversed_range = with_(lambda d: d.update(funnel={"from_stage": "purchase", "to_stage": "interest"}))
    assert "must come before to_stage" in "\n".join(problems_of(reversed_range))
    empty = with_(lambda d: d.update(funnel={"entry_from": "2025-02-01", "entry_to": "2025-01-01"}))
    assert "funnel.entry_to: the entry range is empty" in "\n".join(problems_of(empty))


def test_yaml_dates_in_the_entry_range_are_accepted(tmp_path):
    import datetime as dt
    cfg = config_from_dict(with_(lambda d: d.update(funnel={"entry_from": dt.date(2025, 1, 1),
                                                           "entry_to": "2025-01-31 18:00"})))
    assert cfg.funnel.entry_bounds() == (dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 31, 18, 0))


def test_source_format_options_path_and_phone_region_are_checked():
    sources = [
        {"name": "ym", "format": "metrica_visit", "path": "v.tsv"},
        {"name": "amo", "format": "amocrm", "path": "amo/", "options": {"id_field": {}}},
        {"name": "ct", "format": "calltouch", "phone_region": "RUS", "path": "ct/"},
        {"name": "bx", "format": "bitrix24"},
        {"name": "db", "format": "database", "options": {"url_env": "X", "query": "select 1"}},
    ]
    problems = problems_of(with_(lambda d: d.update(sources=sources)))
    assert any(p.startswith("sources[0].format: unknown format 'metrica_visit'; did you mean 'metrica_visits'?")
               for p in problems)
    assert any(p.startswith("sources[1].options.id_field: unknown option for format 'amocrm'; "
                            "did you mean 'id_fields'?") for p in problems)
    assert any(p.startswith("sources[2].phone_region: 'RUS' is not a region code") for p in problems)
    assert "sources[3].path: required (a file, a glob or a folder)" in problems
    assert not any(p.startswith("sources[4]") for p in problems)  # a database source reads no files


def test_engine_and_spark_section_are_checked(tmp_path):
    cfg = config_from_dict(BASE, base_dir=tmp_path)
    assert cfg.engine == "duckdb" and cfg.spark.master == "local[*]"
    assert cfg.spark_tables_path == (tmp_path / "build" / "cjm_spark").resolve()
    cfg = config_from_dict({**BASE, "engine": "spark", "spark": {"master": "spark://10.0.0.5:7077", "tables": "/mnt/t",
                                                                 "conf": {"spark.executor.memory": "8g"}}})
    assert (cfg.spark.master, cfg.spark_tables_path, cfg.spark.conf) == (
        "spark://10.0.0.5:7077", tmp_path.__class__("/mnt/t"), {"spark.executor.memory": "8g"})
    assert problems_of({**BASE, "engine": "sprak"}) == [
        "engine: unknown engine 'sprak'; did you mean 'spark'? (valid: duckdb, spark)"]
    assert problems_of({**BASE, "engine": "spark", "spark": {"master": " "}}) == [
        "spark.master: empty; write e.g. 'local[*]' or 'spark://host:7077'"]
    assert problems_of({**BASE, "spark": {"mastr": "local[2]"}})[0].startswith(
        "spark.mastr: unknown key; did you mean 'master'?")
