"""Conformance: the pipeline on Spark (local) gives the same tables and CSVs as on DuckDB.

* The generic sample: ``cjm run -c configs/sample_spark.yaml`` (from the CLI) writes the same
  CSVs as the DuckDB run, and every step table in the two warehouses agrees.
* The multi-source sample (Metrica, Calltouch, amoCRM formats): every step table agrees.
* Funnel and journey test cases (ordered, strict and furthest modes, per-step windows, deal and
  session units, entry ranges, trends, breakdowns, loops, barriers, and seeded random journeys
  against their Python references) run with ``journeys_for`` on both engines: each case's own
  assertions check the Spark result, and every table after ``events`` (paths, dwell and stock
  included) is compared.

This needs PySpark (the ``[spark]`` extra) and a Java runtime, which ``.ci/run`` installs. The
tests fail, never skip, when either is missing, unless ``CJM_SKIP_SPARK=1``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import journeys
from cjm_pipeline import cli, db, pipeline, runs
from cjm_pipeline.config import config_from_dict, load_config
from conformance import all_differences

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.compare import csv_differences  # noqa: E402  (the benchmark compares its runs' CSVs the same way)

pytestmark = pytest.mark.slow  # Spark in local mode: minutes


def _missing() -> str | None:
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed (pip install -e '.[spark]')"
    if not shutil.which("java"):
        return "no Java runtime on PATH (apt-get install default-jre-headless)"
    return None


@pytest.fixture(autouse=True)
def _spark_present():
    problem = _missing()
    if problem and os.environ.get("CJM_SKIP_SPARK") == "1":
        pytest.skip(f"CJM_SKIP_SPARK=1: {problem}")
    if problem:
        pytest.fail(f"the Spark conformance suite needs PySpark and Java: {problem}; "
                    "`make install` / .ci/run install them, CJM_SKIP_SPARK=1 skips")


def _config(path: Path, tmp: Path, name: str, **changes) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["base_dir"] = str(ROOT)
    data["warehouse"] = str(tmp / f"{name}.duckdb")
    data.setdefault("output", {})["dir"] = str(tmp / f"out_{name}")
    data.update(changes)
    if data.get("engine") == "spark":
        data["spark"] = {**data.get("spark", {}), "master": "local[2]", "tables": str(tmp / f"{name}_tables")}
    return data


def test_spark_sample_config_is_the_sample_on_another_engine():
    duck, spark = load_config(ROOT / "configs/sample.yaml"), load_config(ROOT / "configs/sample_spark.yaml")
    assert spark.engine == "spark" and duck.engine == "duckdb"
    assert (spark.sources, spark.stages, spark.funnel, spark.identity) == (duck.sources, duck.stages, duck.funnel,
                                                                           duck.identity)
    assert spark.spark.master == "local[*]"


def test_sample_on_spark_writes_the_same_csvs_as_on_duckdb(tmp_path):
    duck = config_from_dict(_config(ROOT / "configs/sample.yaml", tmp_path, "duck"), base_dir=ROOT)
    pipeline.run(duck)
    spark_yaml = tmp_path / "spark.yaml"
    spark_yaml.write_text(yaml.safe_dump(_config(ROOT / "configs/sample_spark.yaml", tmp_path, "spark"),
                                         allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["run", "-c", str(spark_yaml)])
    assert result.exit_code == 0, result.output
    assert "spark: " in result.output

    csvs = sorted(p.name for p in (tmp_path / "out_duck").glob("*.csv"))
    assert "funnel.csv" in csvs and "journeys.csv" in csvs
    assert sorted(p.name for p in (tmp_path / "out_spark").glob("*.csv")) == csvs
    problems = []
    for name in csvs:
        problems += csv_differences(tmp_path / "out_duck" / name, tmp_path / "out_spark" / name)
    assert not problems, "\n".join(problems)

    # every step table, not only the exported ones; and the Parquet tables are there
    with db.connect(tmp_path / "duck.duckdb", read_only=True) as d, db.connect(tmp_path / "spark.duckdb",
                                                                               read_only=True) as s:
        problems = all_differences(d, s, pipeline.STEP_NAMES)
        assert not problems, "\n".join(problems)
        assert db.scalar(s, "select count(*) from classified_events") == 41_470
    assert (tmp_path / "spark_tables" / "classified_events").is_dir()


def test_multi_source_sample_agrees_table_by_table(tmp_path):
    path = ROOT / "configs/sample_multi.yaml"
    duck = config_from_dict(_config(path, tmp_path, "duck"), base_dir=ROOT)
    spark = config_from_dict(_config(path, tmp_path, "spark", engine="spark"), base_dir=ROOT)
    pipeline.run(duck, export_outputs=False)
    pipeline.run(spark, export_outputs=False)
    with db.connect(duck.warehouse_path, read_only=True) as d, db.connect(spark.warehouse_path, read_only=True) as s:
        assert db.scalar(s, "select count(*) from raw_events where _source = 'metrica'") > 0
        problems = all_differences(d, s, pipeline.STEP_NAMES)
        assert not problems, "\n".join(problems)


#: (test module, test function, its arguments): cases whose own assertions then check Spark too.
#: One case per mode, unit and journey table (each costs about 20 s on Spark in local mode); ties,
#: paths and top-N ordering are covered by the samples and by tests/test_spark_translate.py.
JOURNEY_CASES = (
    ("test_funnel_cases", "test_simple_funnel_counts_and_rates", {}),
    ("test_funnel_cases", "test_trends_count_each_periods_best_attempt", {}),
    ("test_funnel_cases", "test_entry_range_selects_entries_and_follows_conversions_past_its_end",
     {"mode": "strict"}),
    ("test_funnel_modes", "test_furthest_counts_implied_steps_whatever_the_order", {}),
    ("test_funnel_units", "test_step_window_is_measured_from_the_previous_step_and_picks_a_later_event_when_needed",
     {}),
    ("test_funnel_units", "test_session_unit_splits_a_customer_at_gaps_longer_than_the_session_gap", {}),
    ("test_funnel_units", "test_deal_unit_prefers_the_deal_open_at_the_time_and_the_deal_id_over_the_lead_id", {}),
    ("test_loops_paths", "test_loops_resolved_abandoned_two_loops_median_and_conversion", {}),
    ("test_dwell_kpis", "test_barriers_leave_out_steps_without_loss_and_format_seconds", {}),
    ("test_breakdowns", "test_random_journeys_match_the_reference", {"seed": 0}),
    ("test_loops_paths", "test_loops_match_reference", {"seed": 1}),
)

AFTER_EVENTS = pipeline.STEP_NAMES[pipeline.STEP_NAMES.index("event_identifiers"):]


@pytest.mark.parametrize("module, case, kwargs", JOURNEY_CASES, ids=[c[1] for c in JOURNEY_CASES])
def test_journey_case_on_both_engines(module, case, kwargs, monkeypatch):
    mod = importlib.import_module(module)
    calls = []
    # the run's start time lands in identity_map.first_seen_at: the same on both engines
    monkeypatch.setattr(runs, "utcnow", lambda: dt.datetime(2026, 1, 1))

    def on_both_engines(*args, **kw):
        on_duckdb = journeys.journeys_for(*args, **kw)
        on_spark = journeys.journeys_for(*args, engine="spark", **kw)
        problems = all_differences(on_duckdb.con, on_spark.con, AFTER_EVENTS)
        assert not problems, "\n".join(problems)
        calls.append(case)
        return on_spark

    monkeypatch.setattr(mod, "journeys_for", on_both_engines)
    # a module may cache its built journeys (functools.lru_cache): not across engines
    caches = [f for f in vars(mod).values() if callable(getattr(f, "cache_clear", None))]
    for f in caches:
        f.cache_clear()
    try:
        getattr(mod, case)(**kwargs)
    finally:
        for f in caches:
            f.cache_clear()
    assert calls, f"{module}.{case} never called journeys_for"
