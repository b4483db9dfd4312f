"""The journey map on realistic data: the multi-source sample (template ``classic``), its files, the
report that opens on the map (in a real headless Chromium), and a simulated world whose truth the
map must recover: the per-stage score ordering and the pains' effect on forward rates.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import cjm_pipeline as cjm
from cjm_pipeline import pipeline
from cjm_pipeline.cli import main
from cjm_pipeline.config import config_from_dict, load_config
from cjm_pipeline.report import build_report
from cjm_pipeline.simulate import simulate_project
from test_report_browser import CHROMIUM_FLAGS, ERROR_COLLECTOR, chromium  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow  # whole pipeline runs, a simulated world, Chromium

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """configs/sample_multi.yaml run once, its warehouse and files in a temporary folder."""
    folder = tmp_path_factory.mktemp("multi")
    data = yaml.safe_load((ROOT / "configs" / "sample_multi.yaml").read_text(encoding="utf-8"))
    data.update(base_dir=str(ROOT), warehouse=str(folder / "cjm.duckdb"), output={"dir": str(folder / "out")})
    path = folder / "multi.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(path)
    result = pipeline.run(cfg)
    return cfg, path, result


def test_multi_sample_map_shows_touchpoints_nps_pains_and_kpis_per_stage(multi):
    cfg, _, result = multi
    m = cjm.open(cfg).journey_map()
    stages = cfg.stage_names
    assert [s for s in dict.fromkeys(m["stage"]) if s in stages] == stages
    by = {(s, sec): g for (s, sec), g in m.groupby(["stage", "section"])}
    for stage in stages:
        assert (stage, "touchpoints") in by and (stage, "kpis") in by, stage
        assert "visitors" in by[(stage, "kpis")]["item"].tolist()
        described = m[m["stage"] == stage]["description"].iloc[0]
        assert described == next(s.description for s in cfg.stages if s.name == stage)
    # feelings: the NPS survey (after a purchase) and the CSAT answers of the calls and deliveries
    for stage in ("question", "purchase", "advocacy"):
        items = by[(stage, "feelings")]["item"].tolist()
        assert "NPS: NPS" in items and "score" in items, (stage, items)
    assert "CSAT: score" in by[("question", "feelings")]["item"].tolist()
    # pains: the configured missed calls at the question stage, the funnel's drop-offs
    question_pains = by[("question", "pains")].set_index("item")
    assert question_pains.loc["missed call", "customers"] > 0
    assert question_pains.loc["missed call", "value"] < 0  # those who hit it move on less often
    assert any(i.startswith("drop_off → ") for i in by[("awareness", "pains")]["item"])
    assert "conversion_to_next_min" in by[("question", "kpis")]["item"].tolist()  # a configured KPI
    assert "interest" in by[("awareness", "next")]["item"].tolist()
    # the exports: every map table, with its sidecar
    for table in ("journey_map", "stage_touchpoints", "stage_feedback", "stage_pains", "feedback_invalid"):
        assert (cfg.output_dir / f"{table}.csv").is_file() and (cfg.output_dir / f"{table}.meta.json").is_file()
    with open(cfg.output_dir / "journey_map.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(m)
    comments = [r["note"] for r in rows if r["item"] == "comment"]
    assert comments and not any(re.search(r"@|\d{3}[- ]?\d{2}[- ]?\d{2}", c) for c in comments)


def test_cjm_map_prints_and_writes_html_csv_and_xlsx(multi, tmp_path):
    cfg, path, _ = multi
    frame = cjm.open(cfg).journey_map()
    for name in ("map.html", "map.csv", "map.xlsx"):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["map", "-c", str(path), "--out", str(out), "--lang", "ru"])
        assert result.exit_code == 0, result.output
        assert f"journey map: {len(frame)} rows written to {out}" in result.output
        assert "3. question: a callback request" in result.output
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "Карта пути клиента" in page and page.count("<th data-stage=") == frame["stage"].nunique()
    assert pd.read_csv(tmp_path / "map.csv").shape == frame.shape
    book = openpyxl.load_workbook(tmp_path / "map.xlsx")
    grid, data = book["Карта"], book["Данные"]
    assert [c.value for c in grid[1]][1:] == list(dict.fromkeys(
        "(до первого этапа)" if o == 0 else s for o, s in zip(frame["stage_order"], frame["stage"])))
    assert [c.value for c in grid["A"]][1:] == ["Что это за этап", "Клиенты и конверсия", "Время на этапе",
                                               "Главные точки контакта", "Ощущения", "Главные боли", "KPI",
                                               "Куда клиенты идут дальше"]
    assert data.max_row == len(frame) + 1
    bad = CliRunner().invoke(main, ["map", "-c", str(path), "--out", str(tmp_path / "map.pdf")])
    assert bad.exit_code == 1 and "write the map as map.html, map.csv, map.xlsx" in bad.output


def test_the_report_opens_on_the_map_in_chromium(multi, chromium, tmp_path):  # noqa: F811
    cfg, _, _ = multi
    page = build_report(cfg, tmp_path / "report.html", lang="ru").read_text(encoding="utf-8")
    copy = tmp_path / "browser.html"
    copy.write_text(page.replace("<head>", "<head>\n" + ERROR_COLLECTOR, 1), encoding="utf-8")
    proc = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--window-size=1366,900", "--virtual-time-budget=20000", "--dump-dom", copy.as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert json.loads(re.search(r'data-js-errors="([^"]*)"', dom).group(1).replace("&quot;", '"')) == []
    body = dom[dom.index("</header>"):]
    sections = re.findall(r'<section[^>]*id="([^"]+)"', body)
    assert sections[0] == "journey-map", sections[:3]  # the first thing after the title
    grid = body[body.index('id="journey-map"'):body.index("</table>")]
    assert re.findall(r'<th data-stage="([^"]+)"', grid) == ["(before first stage)", *cfg.stage_names]
    assert re.findall(r'<tr data-row="([^"]+)"', grid) == ["description", "customers", "time", "touchpoints",
                                                           "feelings", "pains", "kpis", "next"]
    assert "NPS" in grid and "оценка" in grid and "пропущенн" not in grid  # names stay as configured
    assert "missed call" in grid and re.search(r'style="background: ?hsl\(', grid)


def test_a_simulated_world_s_map_recovers_its_scores_and_the_pains_effect(tmp_path):
    config = simulate_project("classic", tmp_path, 3000, 120, seed=5)
    cfg = load_config(config)
    pipeline.run(cfg, export_outputs=False)
    wh = cjm.open(cfg)
    truth_answers = pd.read_csv(tmp_path / "data" / "truth" / "feedback.csv")
    truth_pains = pd.read_csv(tmp_path / "data" / "truth" / "pains.csv")
    stages = ["interest", "question", "purchase"]  # where the CSAT survey asks
    truth_mean = truth_answers.groupby("stage")["score"].mean()[stages]
    feedback = wh.table("stage_feedback")
    csat = feedback[feedback["feedback"] == "CSAT"].set_index("stage")["mean_score"][stages]
    # the stages in the same order of satisfaction, each mean close to the truth
    assert csat.sort_values().index.tolist() == truth_mean.sort_values().index.tolist()
    assert (csat - truth_mean).abs().max() < 0.25, pd.DataFrame({"map": csat, "truth": truth_mean})
    # every answer found, most at the stage the person was in
    events = wh.table("map_events")
    answers = events[(events["rule_set"] == "feedback") & (events["name"] == "CSAT")].set_index("event_id")
    assert set(answers.index) == set(truth_answers["event_id"])
    same = (answers.loc[truth_answers["event_id"], "stage"].to_numpy() == truth_answers["stage"].to_numpy()).mean()
    assert same > 0.7, same
    # the missed calls: exactly the simulated pains, and those who met one move on far less often
    missed = events[(events["rule_set"] == "pain") & (events["name"] == "missed call")]
    assert set(missed["event_id"]) == set(truth_pains["event_id"])
    pains = wh.table("stage_pains").set_index(["stage", "pain"])
    row = pains.loc[("question", "missed call")]
    assert row["forward_rate_hit"] < 0.75 * row["forward_rate_not_hit"], row
    assert row["lift"] < -0.1


def test_templates_name_feedback_and_pains_the_simulator_writes():
    """Every template's feedback and pain entries match events its world writes (and none is staged)."""
    from cjm_pipeline.simulate import world_model
    from cjm_pipeline.simulate.templates import TEMPLATE_DIR, template_names
    for name in template_names():
        cfg = config_from_dict(yaml.safe_load((TEMPLATE_DIR / f"{name}.yaml").read_text(encoding="utf-8")),
                               base_dir=TEMPLATE_DIR)
        m = world_model(name)
        assert cfg.feedback and cfg.pains, name
        written = {k.split(":")[2] for k in m.feelings.kinds()}
        named = {e.rule.get("event_type") for e in cfg.feedback_entries() + cfg.pain_entries()}
        assert written <= named, (name, written - named)
