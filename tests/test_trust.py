"""Numbers an analyst can trust at first sight (issue 17): no silent zeros, every config problem
at once, the run's regex engine, one meaning of "converted", units named, mid-way entries, the
latest cohorts, rounded rates. The report's side is in tests/test_report.py and, as a reader
sees it, tests/test_report_browser.py."""

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import cjm_pipeline as cjm
from cjm_pipeline import export
from cjm_pipeline.cli import main
from cjm_pipeline.report import build_report
from conftest import ROOT
from journeys import journeys_for


def sample_yaml(folder: Path, **changes) -> Path:
    """configs/sample.yaml with its warehouse and outputs in ``folder``, and ``changes`` applied."""
    data = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))
    data.update(base_dir=str(ROOT), warehouse=str(folder / "cjm.duckdb"), output={"dir": str(folder / "out")})
    for key, value in changes.items():
        data[key] = value
    path = folder / "cjm.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def with_typos(stages: list[dict]) -> list[dict]:
    """The sample's stages with the two mistakes of the issue: `purchse` and `properties.citi`."""
    stages = [dict(s) for s in stages]
    stages[4]["rules"] = [{"event_type": "purchse", "properties.order_number": "1"}]
    stages[3]["rules"] = [{"event_type": ["checkout", "phone_order"], "properties.citi": "Москва"}]
    return stages


SAMPLE_STAGES = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))["stages"]


# --------------------------------------------------------------------------- 1. rules that match nothing


@pytest.fixture(scope="module")
def typo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("typo")
    path = sample_yaml(folder, stages=with_typos(SAMPLE_STAGES))
    result = CliRunner().invoke(main, ["run", "-c", str(path)])
    return path, result


def test_a_rule_that_matches_nothing_is_a_warning_naming_it_and_the_closest_values(typo_run):
    _, result = typo_run
    assert result.exit_code == 0, result.output
    out = result.output
    assert ("warning: stages[4].rules[0] (stage 'purchase'): event_type 'purchse' matched no event; "
            "did you mean 'purchase' (444 events)?") in out
    assert ("warning: stages[3].rules[0] (stage 'checkout'): properties.citi: no event has a property 'citi'; "
            "did you mean 'city' (41,470 events)?") in out
    assert "warning: stage 'purchase' (stages[4]) matched no event" in out
    assert "warning: stage 'checkout' (stages[3]) matched no event" in out
    # the stages with a working rule are not mentioned
    assert not re.search(r"stage '(awareness|interest|consideration|repeat_purchase)'", out)


def test_an_empty_stage_is_the_first_barrier(typo_run):
    path, _ = typo_run
    cfg = cjm.load_config(path)
    barriers = cjm.open(cfg).table("barriers")
    empty = barriers[barriers["barrier_kind"] == "empty_stage"]
    assert empty["stage"].tolist() == ["checkout", "purchase"]
    # everybody at the step before checkout stops there
    funnel = cjm.open(cfg).funnel().set_index("stage")
    assert empty["customers"].iloc[0] == funnel.loc["consideration", "customers"] and empty["rate"].iloc[0] == 1
    page = build_report(cfg, Path(cfg.output_dir) / "report.html").read_text(encoding="utf-8")
    first = re.search(r"id='summary-barriers'><li><span class='kind'>([^<]+)</span>", page).group(1)
    assert first == "Empty stage:"
    assert "id='rule-warnings'" in page


def test_the_rule_coverage_agrees_with_the_classification():
    r = journeys_for({"c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("x", "2025-01-01 12:00")]},
                     stage_rules=[{"name": "a", "rules": [{"event_type": "a"}, {"event_type": ["a", "b"]}]},
                                  {"name": "b", "rules": [{"event_type": "b"}]}])
    try:
        coverage = r.table("rule_coverage").set_index("rule_id")
        classified = r.table("classified_events")["matched_rule_id"].value_counts()
        for rule_id, assigned in coverage["assigned_events"].items():
            assert assigned == classified.get(rule_id, 0), rule_id
        assert coverage.loc["a.1", "rule_events"] == 2 and coverage.loc["a.1", "assigned_events"] == 1
    finally:
        r.con.close()


def test_validate_tests_the_rules_on_the_warehouse_or_on_the_inputs(tmp_path):
    path = sample_yaml(tmp_path)
    fresh = CliRunner().invoke(main, ["validate", "-c", str(path)])
    assert fresh.exit_code == 0 and "stage rules not tested: no warehouse" in fresh.output
    on_inputs = CliRunner().invoke(main, ["validate", "-c", str(path), "--data"])
    assert on_inputs.exit_code == 0, on_inputs.output
    assert "stage rules tested on the 41,470 events of the input files: every rule and stage matches events" \
        in on_inputs.output
    assert not (tmp_path / "cjm.duckdb").exists()  # --data writes nothing
    assert CliRunner().invoke(main, ["run", "-c", str(path)]).exit_code == 0
    warehouse = tmp_path / "cjm.duckdb"
    before = warehouse.read_bytes()
    path = sample_yaml(tmp_path, stages=with_typos(SAMPLE_STAGES))  # the config changes after the run
    checked = CliRunner().invoke(main, ["validate", "-c", str(path)])
    assert checked.exit_code == 0, checked.output
    assert f"stage rules tested on the 41,470 events of the warehouse {warehouse}: 4 warning(s)" in checked.output
    assert "event_type 'purchse' matched no event; did you mean 'purchase' (444 events)?" in checked.output
    assert warehouse.read_bytes() == before  # validate only reads the warehouse
    strict = CliRunner().invoke(main, ["validate", "-c", str(path), "--data", "--strict"])
    assert strict.exit_code == 1 and "4 stage rule warning(s) (--strict)" in strict.output
    assert "did you mean 'city' (41,470 events)?" in strict.output


# --------------------------------------------------------------------------- 2, 3. every problem, once; RE2


def test_validate_reports_every_problem_of_the_file_in_one_pass(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "events.csv").write_text("event_time,event_type,client_id\n", encoding="utf-8")
    path = tmp_path / "cjm.yaml"
    path.write_text(yaml.safe_dump({
        "sources": [{"name": "shop", "format": "generic_events", "path": "evnts.csv"},
                    {"name": "web", "format": "generic_events", "path": "exports/*.csv"},
                    {"name": "crm", "format": "generic_events", "path": "empty"}],
        "stages": [{"name": "a", "rules": [{"evnt_type": "visit"}]}, {"name": "b", "rules": [{"event_type": "b"}]}],
        "funnel": {"windw": "30d"},
    }), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "-c", str(path)])
    assert result.exit_code == 1
    lines = [line.removeprefix("Error: ").split(": ", 1)[1] for line in result.output.splitlines()]
    assert any(line.startswith("funnel.windw: unknown key; did you mean 'window'?") for line in lines)
    assert any(line.startswith("stages[0].rules[0].evnt_type: unknown key; did you mean 'event_type'?")
               for line in lines)
    assert f"sources[0].path: {tmp_path / 'evnts.csv'} does not exist; did you mean 'events.csv'?" in lines
    assert f"sources[1].path: 'exports/*.csv' matches no file ({tmp_path / 'exports' / '*.csv'})" in lines
    assert any(line.startswith(f"sources[2].path: the folder {tmp_path / 'empty'} holds no file ending in .csv")
               for line in lines)
    assert len(lines) == 5


def test_validate_checks_regexes_with_the_engine_of_the_run(tmp_path):
    path = sample_yaml(tmp_path, identity={"blocklist": {"phone": [r"re:^\+7(?!9)"]}})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["stages"][4]["rules"] = [{"event_type": "re:(?=purchase)purchase"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert re.compile("(?=purchase)purchase") and re.compile(r"^\+7(?!9)")  # Python's re takes both
    result = CliRunner().invoke(main, ["validate", "-c", str(path)])
    assert result.exit_code == 1
    assert ("stages[4].rules[0].event_type: invalid regular expression '(?=purchase)purchase' (RE2 syntax): "
            "invalid perl operator: (?=; lookarounds and backreferences are not supported") in result.output
    assert "identity.blocklist.phone: invalid regular expression '^\\+7(?!9)' (RE2 syntax)" in result.output
    run = CliRunner().invoke(main, ["run", "-c", str(path)])
    assert run.exit_code == 1 and not (tmp_path / "cjm.duckdb").exists()  # refused before any step


# --------------------------------------------------------------------------- 4. one meaning of "converted"


def test_every_sidecar_states_the_one_meaning_of_converted_and_incomplete(ran, sample_config):
    out = sample_config.parent / "out"
    sidecars = sorted(out.glob("*.meta.json"))
    assert len(sidecars) >= 14
    for side in sidecars:
        meta = json.loads(side.read_text(encoding="utf-8"))
        assert meta["goal_stage"] == "repeat_purchase"
        assert meta["converted"].startswith("reached the funnel's goal step (its last step, 'repeat_purchase')")
        assert "journeys.converted, loops and paths" in meta["converted"]
        assert meta["complete"].startswith("an entry is complete when its whole window ended")


# --------------------------------------------------------------------------- 5. units named


@pytest.fixture(scope="module")
def session_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sessions")
    path = sample_yaml(folder, funnel={"mode": "ordered", "window": "90d", "unit": "session"})
    assert CliRunner().invoke(main, ["run", "-c", str(path)]).exit_code == 0
    return cjm.load_config(path)


def test_a_session_funnel_names_its_unit_in_every_file_and_the_report(session_run):
    cfg = session_run
    out = cfg.output_dir
    for table in export.UNIT_COUNTED:
        frame = pd.read_csv(out / f"{table}.csv")
        assert "sessions" in frame.columns and "customers" not in frame.columns, table
    barriers = pd.read_csv(out / "barriers.csv")
    assert "units" in barriers.columns and "customers" not in barriers.columns
    units = dict(zip(barriers["barrier_kind"], barriers["unit"]))
    assert units["drop_off"] == units["slow_step"] == "session" and units["back_steps"] == "customer"
    assert barriers[barriers["barrier_kind"] == "drop_off"]["description"].str.contains(" sessions ").all()
    assert "customers" in pd.read_csv(out / "journeys.csv").columns or len(pd.read_csv(out / "journeys.csv"))
    # the warehouse keeps its schema
    assert "customers" in cjm.open(cfg).funnel().columns
    page = build_report(cfg, out / "report.html").read_text(encoding="utf-8")
    assert '"title":{"text":"Sessions"}' in page.replace(" ", "")
    funnel_table = page[page.index("id='table-funnel'"):page.index("id='table-barriers'")]
    assert "<th>sessions</th>" in funnel_table and "<th>customers</th>" not in funnel_table
    printed = CliRunner().invoke(main, ["funnel", "-c", cfg.config_path])
    assert printed.exit_code == 0 and "counting sessions" in printed.output
    assert printed.output.splitlines()[0].split()[:3] == ["step", "stage", "sessions"]


# --------------------------------------------------------------------------- 6. entries made mid-way


def test_the_funnel_counts_units_whose_first_funnel_event_is_a_later_step():
    journeys = {
        "web": [("a", "2025-01-01 10:00"), ("b", "2025-01-01 11:00"), ("c", "2025-01-01 12:00")],
        "crm": [("b", "2025-01-02 10:00"), ("c", "2025-01-03 10:00")],   # a CRM lead: no site visit
        "call": [("c", "2025-01-02 10:00"), ("a", "2025-01-04 10:00")],  # a call, later a visit
        "none": [("x", "2025-01-02 10:00")],
    }
    ordered = journeys_for(journeys, ["a", "b", "c"])
    furthest = journeys_for(journeys, ["a", "b", "c"], mode="furthest")
    try:
        assert ordered.funnel["entered_midway"].tolist() == [0, 1, 1]
        assert ordered.funnel["customers"].tolist() == [2, 1, 1]  # 'crm' never enters; 'call' at its visit
        assert ordered.funnel["reached_any_order"].tolist() == [2, 2, 3]
        assert furthest.funnel["entered_midway"].tolist() == [0, 1, 1]  # a property of the data, not the mode
        assert furthest.funnel["customers"].tolist() == [3, 3, 3]
    finally:
        ordered.con.close()
        furthest.con.close()


# --------------------------------------------------------------------------- 12. the latest cohorts


def test_the_cohort_breakdown_keeps_the_latest_periods_and_says_which_are_complete():
    # weekly cohorts of 2025-01-06, -13, -20, -27: 3, 1, 2, 1 entries; top_n 2 keeps the latest two
    # weeks (not the two largest), the earlier ones are '(other)'; window 7d, data until 02-10
    when = {"2025-01-06": 3, "2025-01-13": 1, "2025-01-20": 2, "2025-01-27": 1}
    journeys = {f"{week}-{i}": [("a", f"{week} 10:00")] for week, n in when.items() for i in range(n)}
    journeys["last"] = [("x", "2025-02-04 12:00")]
    r = journeys_for(journeys, ["a", "b"], window="7d", funnel={"top_n": 2, "breakdowns": ["cohort"]})
    try:
        cohort = r.table("funnel_breakdown").query("step == 1").set_index("value")
        assert cohort["customers"].to_dict() == {"(other)": 4, "2025-01-20": 2, "2025-01-27": 1}
        # a week is complete when its end plus the window is before the last event (02-04 12:00)
        assert cohort["is_complete"].to_dict() == {"(other)": None, "2025-01-20": True, "2025-01-27": False}
    finally:
        r.con.close()


# --------------------------------------------------------------------------- 13. human units, rounded rates


def test_rates_in_files_have_four_significant_digits_unless_precision_is_full(ran, sample_config, tmp_path):
    funnel = pd.read_csv(sample_config.parent / "out" / "funnel.csv")
    assert funnel["conversion_from_previous"].iloc[1] == 0.6772  # 2194 / 3240 = 0.677160...
    assert funnel["ttc_mean_s"].iloc[0] == pytest.approx(179.50729261622607)  # seconds are never rounded
    kpis = pd.read_csv(sample_config.parent / "out" / "stage_kpis.csv")
    assert kpis["gap"].tolist() == [-0.07097, 3333.0, 0.06598, 0.06598]  # ratios rounded, seconds not
    cfg = cjm.load_config(sample_config)
    full = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, precision="full"))
    with cjm.open(cfg).connect() as con:
        export.write_output(con, full, "funnel", tmp_path / "funnel.csv")
    assert pd.read_csv(tmp_path / "funnel.csv")["conversion_from_previous"].iloc[1] == 2194 / 3240


def test_durations_in_the_command_line_read_in_days_hours_and_minutes(ran, sample_config):
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config)])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[-1] == "ttc_median" and "ttc_median_s" not in header
    assert rows[0].split()[-2:] == ["2", "min"] and rows[4].split()[-4:] == ["15", "d", "18", "h"]
