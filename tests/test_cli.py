"""The cjm command line, through click's test runner."""

import json
import re

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cjm_pipeline import Warehouse, __version__, load_config
from cjm_pipeline.cli import main
from conftest import ROOT


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("command", ["run", "validate", "funnel", "journeys", "loops", "steps", "formats", "customer", "report"])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "cjm " in result.output


def test_run_on_sample_writes_outputs_and_accounts_for_every_row(ran, sample_config):
    out = sample_config.parent / "out"
    for name in ("funnel", "transitions", "journeys", "stage_coverage", "quarantine", "loops", "paths",
                 "stage_dwell", "stage_stock", "barriers", "stage_kpis"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.meta.json").exists()
    m = re.search(r"rows in ([\d,]+): loaded ([\d,]+), duplicate ([\d,]+), quarantined ([\d,]+)", ran.output)
    rows_in, loaded, dup, quarantined = (int(x.replace(",", "")) for x in m.groups())
    data_rows = sum(1 for _ in open(ROOT / "data" / "sample" / "events.csv", encoding="utf-8")) - 1
    assert rows_in == data_rows == loaded + dup + quarantined
    defects = json.loads((ROOT / "data" / "sample" / "truth" / "world.json").read_text(encoding="utf-8"))["defects"]
    assert dup == defects["duplicate"] == 10  # the simulator's deliberate bad rows (data/sample/README.md)
    assert quarantined == defects["bad_time"] + defects["no_identifier"] == 8
    funnel = pd.read_csv(out / "funnel.csv")
    assert funnel["stage"].tolist() == ["awareness", "interest", "consideration", "checkout", "purchase", "repeat_purchase"]
    assert funnel["customers"].is_monotonic_decreasing and funnel["customers"].iloc[-1] > 0
    meta = json.loads((out / "funnel.meta.json").read_text(encoding="utf-8"))
    assert meta["funnel_mode"] == "ordered" and meta["window"] == "90d" and meta["data_cutoff_utc"].startswith("2025-04-30")


@pytest.mark.slow
def test_second_run_skips_loaded_files_and_gives_the_same_funnel(ran, sample_config):
    out = sample_config.parent / "out"
    before = (out / "funnel.csv").read_bytes()
    result = CliRunner().invoke(main, ["run", "-c", str(sample_config)])
    assert result.exit_code == 0, result.output
    assert "0 new file(s), 1 already loaded" in result.output
    assert (out / "funnel.csv").read_bytes() == before


def test_funnel_recomputes_without_touching_the_warehouse(ran, sample_config, tmp_path):
    out = tmp_path / "funnel_1d.csv"
    published = (sample_config.parent / "out" / "funnel.csv").read_bytes()
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--window", "1d", "--out", str(out)])
    assert result.exit_code == 0, result.output
    narrow = pd.read_csv(out)
    wide = pd.read_csv(sample_config.parent / "out" / "funnel.csv")
    assert narrow["customers"].iloc[0] == wide["customers"].iloc[0]
    assert narrow["customers"].iloc[-2] < wide["customers"].iloc[-2]
    assert json.loads(out.with_suffix(".meta.json").read_text())["window"] == "1d"
    # the published tables are unchanged: reading them back gives the 90d funnel
    import cjm_pipeline
    wh = cjm_pipeline.open(yaml.safe_load(sample_config.read_text())["warehouse"])
    assert wh.funnel()["customers"].tolist() == wide["customers"].tolist()
    assert (sample_config.parent / "out" / "funnel.csv").read_bytes() == published


def test_a_resliced_funnel_never_replaces_the_published_one(ran, sample_config):
    out = load_config(sample_config).output_dir
    published = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--window", "1h"])
    assert result.exit_code == 0, result.output
    assert "not written" in result.output and "customers" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == published


def test_funnel_rejects_a_bad_window(ran, sample_config):
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--window", "ten days"])
    assert result.exit_code == 1
    assert "--window: not a duration" in result.output and "Traceback" not in result.output


def test_validate_reports_a_bad_config_in_one_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [{name: s, format: generic_events, path: e.csv}]\n"
                   "stages:\n  - {name: a, rules: [{event_type: a}]}\n  - {name: b, rules: [{event_typ: b}]}\n",
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "-c", str(bad)])
    assert result.exit_code == 1
    assert "stages[1].rules[0].event_typ: unknown key; did you mean 'event_type'?" in result.output
    assert "Traceback" not in result.output


def test_validate_ok(sample_config):
    result = CliRunner().invoke(main, ["validate", "-c", str(sample_config)])
    assert result.exit_code == 0 and "OK" in result.output and "awareness > interest" in result.output


def test_bad_event_file_names_file_and_columns(tmp_path):
    (tmp_path / "events.csv").write_text("when;what;who\n2025-01-01 10:00;visit;c1\n", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("warehouse: w.duckdb\nsources: [{name: shop, format: generic_events, path: events.csv}]\n"
                   "stages: [{name: a, rules: [{event_type: a}]}, {name: b, rules: [{event_type: b}]}]\n",
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "-c", str(cfg)])
    assert result.exit_code == 1
    assert "events.csv" in result.output and "event_time" in result.output and "['when', 'what', 'who']" in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(tmp_path):
    result = CliRunner().invoke(main, ["--debug", "validate", "-c", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and result.exception is not None


def test_until_stops_after_a_step_and_unknown_step_is_suggested(sample_config):
    result = CliRunner().invoke(main, ["run", "-c", str(sample_config), "--until", "clasified_events"])
    assert result.exit_code == 1 and "did you mean 'classified_events'?" in result.output


def test_steps_lists_the_pipeline():
    result = CliRunner().invoke(main, ["steps"])
    assert result.exit_code == 0
    assert "classified_events" in result.output and "grain(event_id)" in result.output


def test_python_api_reads_the_warehouse(ran, sample_config):
    import cjm_pipeline
    wh = cjm_pipeline.open(yaml.safe_load(sample_config.read_text())["warehouse"])
    assert {"funnel", "transitions", "journeys", "quarantine", "_cjm_runs"} <= set(wh.tables())
    j = wh.journeys()
    assert j["customer_id"].is_unique and (j["n_back_steps"] > 0).sum() > 100
    t = wh.transitions()
    assert set(t["kind"]) == {"start", "forward", "skip", "back", "end"}
    runs = wh.runs()
    assert (runs["rows_in"] == runs["rows_loaded"] + runs["rows_duplicate"] + runs["rows_quarantined"]).all()
    one = j.iloc[0]["customer_id"]
    assert (wh.customer_events(one)["customer_id"] == one).all()


def test_funnel_excel_dialect_opens_in_russian_excel(ran, sample_config, tmp_path):
    out = tmp_path / "funnel_excel.csv"
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--excel", "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    header, first, second = text.splitlines()[:3]
    assert header.startswith("step;stage_order;stage;customers;conversion_from_previous")
    assert first.split(";")[5] == "1,0"  # conversion_from_start at step 1, with a decimal comma
    frame = pd.read_csv(out, sep=";", decimal=",", encoding="utf-8-sig")
    published = pd.read_csv(sample_config.parent / "out" / "funnel.csv")
    pd.testing.assert_series_equal(frame["conversion_from_start"], published["conversion_from_start"])


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_funnel_other_formats_hold_the_same_numbers(ran, sample_config, tmp_path, fmt):
    out = tmp_path / f"funnel.{fmt}"
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out) if fmt == "parquet" else pd.read_json(out)
    published = pd.read_csv(sample_config.parent / "out" / "funnel.csv")
    assert frame["customers"].tolist() == published["customers"].tolist()


def test_funnel_modes_from_the_command_line(ran, sample_config, tmp_path):
    counts = {}
    for mode in ("ordered", "strict", "furthest"):
        out = tmp_path / f"{mode}.csv"
        result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--mode", mode, "--out", str(out)])
        assert result.exit_code == 0, result.output
        counts[mode] = pd.read_csv(out)
        assert json.loads(out.with_suffix(".meta.json").read_text())["funnel_mode"] == mode
    # a strict chain is also an ordered chain; furthest enters every customer with a staged event
    assert (counts["strict"]["customers"] <= counts["ordered"]["customers"]).all()
    assert counts["furthest"]["customers"].iloc[0] >= counts["ordered"]["customers"].iloc[0]
    assert counts["furthest"]["implied"].sum() > 0 and counts["ordered"]["implied"].sum() == 0


def test_funnel_units_and_step_windows_from_the_command_line(ran, sample_config, tmp_path):
    base = pd.read_csv(sample_config.parent / "out" / "funnel.csv")
    out = tmp_path / "sessions.csv"
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--unit", "session", "--out", str(out)])
    assert result.exit_code == 0, result.output
    sessions = pd.read_csv(out)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["unit"] == "session" and meta["session_gap"] == "30m"
    # the file names what it counts: sessions (the warehouse column stays `customers`)
    assert "sessions" in sessions.columns and "customers" not in sessions.columns
    assert "counting sessions" in result.output and " sessions " in result.output.splitlines()[0]
    # customers return in new sessions: more sessions than customers enter
    assert sessions["sessions"].iloc[0] > base["customers"].iloc[0]
    out = tmp_path / "fast_checkout.csv"
    result = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--step-window", "checkout=10m",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    fast = pd.read_csv(out)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["step_windows_seconds"] == {"checkout": 600}
    step = base.index[base["stage"] == "checkout"][0]
    assert fast["customers"].iloc[:step].tolist() == base["customers"].iloc[:step].tolist()
    assert fast["customers"].iloc[step] < base["customers"].iloc[step]
    # the Python API gives the same numbers, and recomputing writes nothing to the warehouse
    wh = Warehouse(load_config(sample_config).warehouse_path)
    assert wh.funnel(step_windows={"checkout": "10m"})["customers"].tolist() == fast["customers"].tolist()
    assert wh.funnel()["customers"].tolist() == base["customers"].tolist()
    assert wh.table("cfg_funnel_steps")["window_s"].isna().all()
    bad = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--step-window", "chekout=10m"])
    assert bad.exit_code == 1 and "did you mean 'checkout'?" in bad.output
    bad = CliRunner().invoke(main, ["funnel", "-c", str(sample_config), "--step-window", "checkout"])
    assert bad.exit_code == 1 and "STAGE=DURATION" in bad.output


@pytest.mark.parametrize("command,table", [("journeys", "journeys"), ("loops", "loops")])
def test_table_commands_write_the_published_table(ran, sample_config, tmp_path, command, table):
    out = tmp_path / f"{table}.parquet"
    result = CliRunner().invoke(main, [command, "-c", str(sample_config), "--format", "parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    published = pd.read_csv(sample_config.parent / "out" / f"{table}.csv")
    assert len(pd.read_parquet(out)) == len(published) and f"{len(published)} rows written" in result.output


def test_journeys_with_a_narrower_window_recompute_conversion(ran, sample_config, tmp_path):
    out = tmp_path / "j.csv"
    result = CliRunner().invoke(main, ["journeys", "-c", str(sample_config), "--window", "1h", "--out", str(out)])
    assert result.exit_code == 0, result.output
    narrow = pd.read_csv(out)["converted"].sum()
    wide = pd.read_csv(sample_config.parent / "out" / "journeys.csv")["converted"].sum()
    assert narrow < wide


def test_sample_stage_kpis_are_checked(ran, sample_config):
    kpis = pd.read_csv(sample_config.parent / "out" / "stage_kpis.csv")
    assert set(zip(kpis["stage"], kpis["kpi"])) == {
        ("interest", "conversion_to_next_min"), ("interest", "median_time_to_next_max"),
        ("checkout", "conversion_to_next_min"), ("checkout", "drop_off_rate_max")}
    funnel = pd.read_csv(sample_config.parent / "out" / "funnel.csv").set_index("stage")
    row = kpis.set_index(["stage", "kpi"]).loc[("interest", "conversion_to_next_min")]
    assert row["actual"] == pytest.approx(funnel.loc["consideration", "conversion_from_previous"])
    assert bool(row["met"]) == (row["actual"] >= 0.55) and not row["met"]  # the sample misses this target


@pytest.mark.slow
def test_python_funnel_recompute_keeps_the_published_settings(tmp_path):
    from conftest import sample_config_in
    import cjm_pipeline
    path = sample_config_in(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["funnel"].update(entry_from="2025-02-01", entry_to="2025-02-28")
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    cjm_pipeline.run(cjm_pipeline.load_config(path))
    wh = cjm_pipeline.open(cfg["warehouse"])
    published = wh.funnel()
    same_window = wh.funnel(window=cfg["funnel"]["window"])  # recomputed with the stored entry range
    assert same_window["customers"].tolist() == published["customers"].tolist()
    assert wh.funnel(window="1h")["customers"].iloc[0] == published["customers"].iloc[0]


@pytest.mark.slow
def test_named_funnels_are_built_beside_the_main_one(tmp_path):
    from conftest import sample_config_in
    import cjm_pipeline
    path = sample_config_in(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["funnels"] = [
        {"name": "checkout", "from_stage": "checkout", "to_stage": "purchase", "window": "7d"},
        {"name": "strict_short", "mode": "strict", "window": "1d", "to_stage": "checkout"},
    ]
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "-c", str(path)])
    assert result.exit_code == 0, result.output
    wh = cjm_pipeline.open(cfg["warehouse"])
    main_funnel = wh.funnel().set_index("stage")
    checkout = wh.named_funnel("checkout")
    assert checkout["stage"].tolist() == ["checkout", "purchase"]
    assert checkout["customers"].iloc[0] == main_funnel.loc["checkout", "reached_any_order"]
    short = wh.named_funnel("strict_short")
    assert short["stage"].tolist() == ["awareness", "interest", "consideration", "checkout"]
    assert (short["customers"].to_numpy() <= main_funnel["customers"].to_numpy()[:4]).all()
    out = tmp_path / "out" / "funnels"
    assert (out / "checkout" / "funnel.csv").exists() and (out / "strict_short" / "funnel_trends.csv").exists()
    meta = json.loads((out / "checkout" / "funnel.meta.json").read_text())
    assert meta["funnel_stages"] == ["checkout", "purchase"] and meta["window"] == "7d"
    # the main funnel's published settings are still the ones recomputations use
    assert wh.funnel(window=cfg["funnel"]["window"])["customers"].tolist() == wh.funnel()["customers"].tolist()
    with pytest.raises(cjm_pipeline.WarehouseError, match="no table funnel_nope.funnel"):
        wh.named_funnel("nope")


def test_named_funnel_config_errors():
    from cjm_pipeline.config import config_from_dict
    from cjm_pipeline.errors import ConfigError
    base = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))
    base["funnels"] = [{"name": "Bad Name"}, {"name": "x", "to_stage": "purchse", "mode": "strickt"}, {"name": "x"}]
    with pytest.raises(ConfigError) as e:
        config_from_dict(base)
    text = str(e.value)
    assert "funnels[0].name: 'Bad Name' must be lower-case letters" in text
    assert "funnels[1].to_stage: unknown stage 'purchse'; did you mean 'purchase'?" in text
    assert "funnels[1].mode: unknown mode 'strickt'; did you mean 'strict'?" in text
    assert "funnels[2].name: duplicate funnel name 'x'" in text


@pytest.mark.slow
def test_funnel_command_recomputes_a_named_funnel(tmp_path):
    from conftest import sample_config_in
    path = sample_config_in(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["funnels"] = [{"name": "checkout", "from_stage": "checkout", "to_stage": "purchase", "window": "7d"}]
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert CliRunner().invoke(main, ["run", "-c", str(path), "-q"]).exit_code == 0
    out = tmp_path / "checkout_1h.csv"
    result = CliRunner().invoke(main, ["funnel", "-c", str(path), "--funnel", "checkout", "--window", "1h",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    narrow = pd.read_csv(out)
    published = pd.read_csv(tmp_path / "out" / "funnels" / "checkout" / "funnel.csv")
    assert narrow["stage"].tolist() == ["checkout", "purchase"]
    assert narrow["customers"].iloc[0] == published["customers"].iloc[0]
    assert narrow["customers"].iloc[1] <= published["customers"].iloc[1]
    bad = CliRunner().invoke(main, ["funnel", "-c", str(path), "--funnel", "chekout"])
    assert bad.exit_code == 1 and "no funnel named 'chekout'" in bad.output and "checkout" in bad.output


def test_changed_read_settings_warn_that_loaded_files_are_not_re_read(tmp_path):
    (tmp_path / "events.csv").write_text("ts,type,anonymous_id\n2025-01-01 10:00,a,c1\n2025-01-01 11:00,b,c1\n",
                                         encoding="utf-8")
    cfg = {"warehouse": "w.duckdb", "output": {"dir": "out"},
           "sources": [{"name": "shop", "format": "generic_events", "path": "events.csv",
                        "columns": {"ts": "event_time", "type": "event_type"}}],
           "stages": [{"name": "a", "rules": [{"event_type": "a"}]}, {"name": "b", "rules": [{"event_type": "b"}]}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    first = CliRunner().invoke(main, ["run", "-c", str(path)])
    assert first.exit_code == 0 and "loaded with other" not in first.output  # (no channel: attribution warns)
    cfg["sources"][0]["delimiter"] = ","
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    second = CliRunner().invoke(main, ["run", "-c", str(path)])
    assert second.exit_code == 0
    assert "warning: source 'shop': 1 file(s) were loaded with other" in second.output and "--full-refresh" in second.output
    third = CliRunner().invoke(main, ["run", "-c", str(path), "--full-refresh"])
    assert third.exit_code == 0 and "loaded with other" not in third.output
