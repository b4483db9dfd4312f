"""Predictions and attribution as a user meets them: the exported files of a sample run, `cjm predict`,
`Warehouse.predictions()` / `.attribution()`, the report's section in both languages, and the config."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import cjm_pipeline as cjm
from cjm_pipeline.cli import main
from cjm_pipeline.config import config_from_dict
from cjm_pipeline.errors import ConfigError
from cjm_pipeline.report import make_report
from cjm_pipeline.report.predict_page import predict_html

TABLES = ("stage_next", "stage_outlook", "journey_predictions", "prediction_quality", "prediction_calibration",
          "attribution", "stage_entry_channels")


def test_a_run_exports_every_table_with_its_settings(ran, sample_config):
    out = sample_config.parent / "out"
    for table in TABLES:
        assert (out / f"{table}.csv").is_file(), table
    meta = json.loads((out / "attribution.meta.json").read_text(encoding="utf-8"))
    assert meta["predict_window"] == "90d" and meta["attribution_half_life"] == "7d"
    assert meta["goal_stage"] == "repeat_purchase"
    nxt = pd.read_csv(out / "stage_next.csv")
    assert nxt.groupby("from_stage")["probability"].sum().round(3).eq(1).all()
    attribution = pd.read_csv(out / "attribution.csv")
    journeys = pd.read_csv(out / "journeys.csv")
    converters = int(journeys["stage_path"].fillna("").str.contains("repeat_purchase").sum())
    per_model = attribution.groupby("model")["conversions"].sum()
    assert len(per_model) == 6 and per_model.round(6).eq(converters).all()
    # 120 days of data cannot back-test a 90-day window: an empty back-test (`cjm predict` and the report say so)
    quality = pd.read_csv(out / "prediction_quality.csv")
    assert quality["customers"].tolist() == [0, 0] and quality["brier"].isna().all()


def test_cjm_predict_prints_the_open_journeys_and_one_customer(ran, sample_config):
    runner = CliRunner()
    result = runner.invoke(main, ["predict", "-c", str(sample_config)])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(sample_config.parent / "out" / "journey_predictions.csv")
    assert f"open journeys at the data cutoff: {len(predictions):,}" in result.output
    assert "goal 'repeat_purchase'" in result.output and "No back-test yet" in result.output
    one = predictions.sort_values("customer_id").iloc[0]
    result = runner.invoke(main, ["predict", "-c", str(sample_config), "--customer", one["customer_id"]])
    assert result.exit_code == 0, result.output
    assert f"in '{one['current_stage']}'" in result.output and "likeliest next stage" in result.output
    result = runner.invoke(main, ["predict", "-c", str(sample_config), "--customer", "email:nobody@nowhere.example"])
    assert result.exit_code == 1 and "Error: no customer, identifier or event" in result.output


def test_the_warehouse_reads_predictions_and_attribution(ran, sample_config):
    cfg = cjm.load_config(sample_config)
    wh = cjm.open(cfg)
    predictions = wh.predictions()
    assert len(predictions) and predictions["p_goal_window"].between(0, 1).all()
    one = predictions["customer_id"].iloc[0]
    assert wh.predictions(one)["customer_id"].tolist() == [one]
    attribution = wh.attribution()
    assert attribution["model"].nunique() == 6 and attribution["model_order"].is_monotonic_increasing


@pytest.mark.parametrize("lang, heading", [("en", "Predictions and attribution"), ("ru", "Прогнозы и атрибуция")])
def test_the_report_shows_attribution_and_the_back_test(ran, sample_config, tmp_path, lang, heading):
    result = make_report(sample_config, tmp_path / f"report_{lang}.html", lang)
    html = result.path.read_text(encoding="utf-8")
    assert heading in html and "id='predictions'" in html and "id='table-attribution'" in html
    keys = [c.key for c in result.charts]
    assert {"attribution", "entry-channels", "calibration"} <= set(keys)
    assert "prediction-verdict' class='verdict none warn'" in html  # no back-test on 120 days


def _tables(beats: bool) -> dict[str, pd.DataFrame]:
    quality = pd.DataFrame({"model": ["baseline", "model"], "customers": [400, 400], "reached_goal": [40, 40],
                            "brier": [0.080, 0.085 if not beats else 0.070], "auc": [0.70, 0.68],
                            "beats_baseline": [None, beats], "backtest_cutoff_at": [pd.Timestamp("2025-03-01")] * 2})
    outlook = pd.DataFrame({"stage": ["a"], "visits": [10], "p_goal": [0.3], "p_goal_observed": [0.28],
                            "expected_visits": [2.0], "likely_next_stage": ["b"], "median_time_to_goal_s": [3600.0],
                            "open_journeys": [5], "mean_p_goal_window": [0.1]})
    attribution = pd.DataFrame({"channel": ["paid"] * 6, "model": ["first_touch", "last_touch", "linear", "time_decay",
                                                                   "position_based", "markov"],
                                "conversions": [4.0] * 6, "share": [1.0] * 6, "revenue": [100.0] * 6})
    return {"prediction_quality": quality, "stage_outlook": outlook, "attribution": attribution,
            "stage_entry_channels": pd.DataFrame({"stage": ["a"]}), "prediction_calibration": pd.DataFrame({"x": [1]})}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_report_says_so_when_the_model_does_not_beat_the_baseline(lang):
    meta = {"goal_stage": "purchase", "predict_window": "30d"}
    worse = predict_html(_tables(beats=False), meta, lang)
    better = predict_html(_tables(beats=True), meta, lang)
    assert "verdict not warn" in worse and "verdict beats" in better
    phrase = {"en": "does not beat the naive baseline", "ru": "не лучше наивной базовой"}[lang]
    assert phrase in worse and phrase not in better
    assert ("0.0850" if lang == "en" else "0,0850") in worse


def test_config_predict_and_attribution_keys_are_checked():
    base = {"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}],
            "stages": [{"name": "a", "rules": [{"event_type": "a"}]}, {"name": "b", "rules": [{"event_type": "b"}]}]}
    cfg = config_from_dict({**base, "predict": {"window": "14d", "min_reference_visits": 5},
                            "attribution": {"half_life": "3d"}})
    assert cfg.predict_window_seconds == 14 * 86400 and cfg.attribution.half_life.seconds == 3 * 86400
    assert config_from_dict(base).predict_window_seconds == 90 * 86400  # the funnel's window
    with pytest.raises(ConfigError) as e:
        config_from_dict({**base, "predict": {"windw": "7d", "min_reference_visits": 0},
                          "attribution": {"half_life": "7 days"}})
    text = str(e.value)
    assert "predict.windw: unknown key; did you mean 'window'?" in text
    assert "predict.min_reference_visits: must be at least 1, got 0" in text
    assert "attribution.half_life: not a duration: '7 days'" in text
    with pytest.raises(ConfigError, match="predict.window: must be longer than zero"):
        config_from_dict({**base, "predict": {"window": "0d"}})
