"""cjm report / build_report: one offline HTML file whose summary, charts and tables hold the
warehouse's numbers, in English and Russian, with Cyrillic stage names."""

import json
import re
import struct
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import cjm_pipeline as cjm
from cjm_pipeline import report
from cjm_pipeline.cli import report as report_command
from cjm_pipeline.report import ReportWarning, build_report, charts
from cjm_pipeline.report.i18n import fmt_int, fmt_pct
from conftest import ROOT

RU_STAGES = {"awareness": "Знакомство", "interest": "Интерес", "consideration": "Рассмотрение",
             "checkout": "Оформление", "purchase": "Покупка", "repeat_purchase": "Повторная покупка"}


def figure(page: str, key: str) -> dict:
    """The data and layout plotly is given for the chart ``key`` of a report page."""
    m = re.search(r'Plotly\.newPlot\(\s*"plot-' + re.escape(key) + r'",\s*', page)
    assert m, f"no chart plot-{key} in the report"
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(page, m.end())
    rest = page[end:]
    layout, _ = decoder.raw_decode(rest, rest.index("{"))
    return {"data": data, "layout": layout}


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment (tags dropped, entities kept as they are)."""
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", fragment))  # keeps no-break spaces


@pytest.fixture(scope="module")
def cfg(ran, sample_config):
    return cjm.load_config(sample_config)


@pytest.fixture(scope="module")
def wh(cfg):
    return cjm.open(cfg)


@pytest.fixture(scope="module")
def page_en(cfg, tmp_path_factory):
    path = build_report(cfg, tmp_path_factory.mktemp("report") / "report.html")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cyrillic(tmp_path_factory):
    """The sample run with Russian stage names, in its own warehouse."""
    folder = tmp_path_factory.mktemp("cyrillic")
    data = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))
    for stage in data["stages"]:
        stage["name"] = RU_STAGES[stage["name"]]
    data.update(warehouse=str(folder / "cjm.duckdb"), output={"dir": str(folder / "out")})
    cfg = cjm.config_from_dict(data, base_dir=ROOT / "configs")
    cjm.run(cfg)
    return cfg


def test_report_is_one_offline_file_with_plotly_inlined_once(page_en):
    assert page_en.startswith("<!DOCTYPE html>") and "<meta charset='utf-8'>" in page_en
    assert page_en.count("plotly.js v") == 1              # the bundle's header comment: one copy
    assert len(page_en) < 6_000_000
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page_en)  # nothing loaded from elsewhere
    bundle = re.search(r"<script[^>]*>\s*/\*\*\s*\* plotly\.js v.*?</script>", page_en, re.S)
    assert bundle and len(bundle.group(0)) > 3_000_000
    rest = page_en.replace(bundle.group(0), "")
    assert not re.findall(r"https?://", rest), "a URL outside the plotly.js bundle"
    assert page_en.count('"showSendToCloud": false') == page_en.count("Plotly.newPlot(") == 15  # 3 of predictions


def test_report_summary_has_customers_conversion_and_three_barriers_in_words(page_en, wh):
    start = page_en.index("<section id='summary'>")  # (after the journey map, the report's first section)
    summary = page_en[start:page_en.index("</section>", start)]
    customers = int(wh.sql("select count(*) as n from journeys")["n"].iloc[0])
    funnel = wh.funnel()
    cards = text_of(summary)
    assert f"Customers {fmt_int(customers)} " in cards and customers == 3986
    assert f"Entered the funnel {fmt_int(funnel['customers'].iloc[0])} " in cards
    # the headline: conversion of the complete entries only, the incomplete ones beside it
    entries, open_entries = funnel["customers"].iloc[0], funnel["incomplete"].iloc[0]
    converted = funnel["customers"].iloc[-1] - funnel["incomplete"].iloc[-1]
    assert (entries, open_entries, converted) == (3240, 2294, 11)
    assert f"Converted (complete entries) {fmt_pct(converted / (entries - open_entries))} " in cards  # 1.2%
    assert "11 of 946 complete entries reached “repeat_purchase” within 90d" in cards
    assert "2,294 more entries (71%) are still within their window and not counted" in cards
    assert "Not yet meaningful" not in cards  # 29% of the entries are complete, above the 25% default
    assert f"Entered mid-way {funnel['entered_midway'].sum()} " in cards
    barriers = re.findall(r"<li>(.*?)</li>", summary.split("id='summary-barriers'>")[1])
    assert [text_of(b).strip() for b in barriers] == [
        "Biggest drop-off: interest → consideration loses 1,143 of 2,194 customers (52.1%)",
        "Most frequent back-step: interest → awareness: 736 customers stepped back (942 times)",
        "Slowest step: purchase → repeat_purchase takes a median of 15 d 18 h (23 customers)",
    ]
    # the same barriers as the warehouse ranks first
    table = wh.table("barriers")
    first = table[table["rank"] == 1].set_index("barrier_kind")
    assert first.loc["drop_off", "value"] == 1143 and first.loc["back_steps", "customers"] == 736


def test_report_has_every_chart_drawn_from_the_tables(page_en, wh):
    keys = re.findall(r"<figure class='cjm-chart' id='chart-([^']+)'", page_en)
    these = ["funnel", "breakdown-first_channel", "breakdown-last_channel", "breakdown-entry_source",
             "breakdown-cohort", "flow", "transitions", "ttc", "trends", "loops", "kpis", "stock"]
    assert [k for k in keys if k in these] == these
    funnel = wh.funnel()
    fig = figure(page_en, "funnel")
    assert fig["data"][0]["y"] == funnel["customers"].tolist()
    assert [t.split("<br>")[0] for t in fig["layout"]["xaxis"]["ticktext"]] == [
        f"<b>{s}</b>" for s in funnel["stage"]]
    flow = figure(page_en, "flow")["data"][0]
    steps = wh.table("step_flows")
    assert sum(flow["link"]["value"]) == int(steps["customers"].sum())
    assert flow["link"]["color"].count(charts.KIND_COLORS["back"]) == int((steps["kind"] == "back").sum())
    assert all(flow["node"]["x"][t] > flow["node"]["x"][s] for s, t in zip(flow["link"]["source"],
                                                                           flow["link"]["target"]))
    loops = figure(page_en, "loops")["data"][0]
    assert loops["y"][0] == "interest → awareness" and loops["x"][0] == 736
    trends = figure(page_en, "trends")
    assert any(tr.get("line", {}).get("dash") == "dot" for tr in trends["data"])
    kpis = figure(page_en, "kpis")
    assert len(kpis["data"]) == len(wh.table("stage_kpis"))
    stock = figure(page_en, "stock")
    assert [tr["name"] for tr in stock["data"]] == funnel["stage"].tolist()[::-1] + ["lapsed (inactive)"]


def test_report_tables_hold_the_funnel_and_loops(page_en, wh):
    funnel_table = page_en[page_en.index("id='table-funnel'"):page_en.index("id='table-barriers'")]
    rows = re.findall(r"<tr>(.*?)</tr>", funnel_table.split("<tbody>")[1])
    assert len(rows) == len(wh.funnel())
    # step, stage, customers, conversions, dropped, drop-off, any order, incomplete, entered mid-way, median time
    assert text_of(rows[1]).split() == ["2", "interest", "2,194", "67.7%", "67.7%", "1,143", "52.1%", "2,194",
                                        "1,555", "0", "4", "min"]
    loops_table = page_en[page_en.index("id='table-loops'"):page_en.index("id='table-kpis'")]
    assert "checkout → awareness" in loops_table and "30.4%" in loops_table and "7.9%" in loops_table
    kpi_table = page_en[page_en.index("id='table-kpis'"):page_en.index("id='table-dwell'")]
    assert re.search(r"interest</td><td>conversion to next</td><td class='num'>55.0%</td>"
                     r"<td class='num'>47.9%</td><td class='num'>−7.1 pp</td><td>no</td>", kpi_table)
    assert re.search(r"interest</td><td>median time to next</td><td class='num'>1 h</td>"
                     r"<td class='num'>4 min</td><td class='num'>\+56 min</td><td>yes</td>", kpi_table)


@pytest.mark.slow
def test_report_in_russian_with_cyrillic_stage_names(cyrillic, cfg, tmp_path):
    path = build_report(cyrillic, lang="ru")
    assert path == cyrillic.output_dir / "report.html"
    page = path.read_text(encoding="utf-8")
    assert "<html lang='ru'>" in page and "<title>Отчёт о пути клиента</title>" in page
    start = page.index("<section id='summary'>")
    summary = text_of(page[start:page.index("</section>", start)])
    assert "Клиенты 3\u00a0986 " in summary and "Конверсия (завершённые входы) 1,2% " in summary
    assert "11 из 946 завершённых входов дошли до «Повторная покупка» за 90d" in summary
    assert "ещё 2\u00a0294 входа (71%) в пределах окна и не учтены" in summary
    assert "Самый большой отток: Интерес → Рассмотрение: теряется 1\u00a0143 из 2\u00a0194 клиентов (52,1%)" in summary
    assert "Самый частый шаг назад: Интерес → Знакомство: шаг назад сделали 736 клиентов (942 раза)" in summary
    fig = figure(page, "funnel")
    english = cjm.open(cfg).funnel()
    assert fig["data"][0]["y"] == english["customers"].tolist()      # same data, other names
    assert [t.split("<br>")[0] for t in fig["layout"]["xaxis"]["ticktext"]] == [
        f"<b>{s}</b>" for s in RU_STAGES.values()]
    assert fig["layout"]["separators"] == ", "
    flow = figure(page, "flow")["data"][0]
    assert "Знакомство · 3\u00a0235" in flow["node"]["label"]  # the first visit of 3,235 customers
    ttc = figure(page, "ttc")
    assert ttc["layout"]["xaxis"]["categoryarray"] == ["<1 мин", "1–10 мин", "10 мин–1 ч", "1–6 ч", "6–24 ч",
                                                       "1–3 дн.", "3–7 дн.", "7–30 дн.", "30+ дн."]
    assert "<td>Повторная покупка</td>" in page
    assert "Воронка: клиенты на шагах, отток и конверсия" in page


def test_report_default_path_is_the_output_folder(cfg):
    path = build_report(str(cfg.config_path))
    assert path == cfg.output_dir / "report.html" and path.stat().st_size > 1_000_000


def test_report_command(cfg, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(report_command, ["-c", cfg.config_path, "-o", str(out), "--lang", "ru"])
    assert result.exit_code == 0, result.output
    assert f"report: {out} (" in result.output and "15 charts" in result.output
    assert "Сводка" in out.read_text(encoding="utf-8")


def test_report_command_help_and_bad_input(tmp_path):
    runner = CliRunner()
    helped = runner.invoke(report_command, ["--help"])
    assert helped.exit_code == 0 and "Example:" in helped.output and "cjm report -c" in helped.output
    assert runner.invoke(report_command, ["-c", "x.yaml", "--lang", "de"]).exit_code == 2
    data = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))
    data.update(base_dir=str(ROOT), warehouse=str(tmp_path / "none.duckdb"))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    missing = runner.invoke(report_command, ["-c", str(config)])
    assert missing.exit_code == 1 and "Error: warehouse" in missing.output and "cjm run" in missing.output


def test_report_command_is_registered_in_the_cli():
    from cjm_pipeline.cli import main
    assert main.commands.get("report") is report_command


def test_png_export_failure_is_a_warning_not_a_failure(cfg, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("ChromeNotFoundError: no Chrome found\nmore detail")

    monkeypatch.setattr("plotly.io.write_images", broken)
    with pytest.warns(ReportWarning, match="PNG export skipped: kaleido could not export images "
                                           r"\(RuntimeError: ChromeNotFoundError: no Chrome found\)"):
        path = build_report(cfg, tmp_path / "r.html", png_dir=tmp_path / "png")
    assert path.is_file() and "plot-funnel" in path.read_text(encoding="utf-8")
    result = CliRunner().invoke(report_command, ["-c", cfg.config_path, "-o", str(tmp_path / "r2.html"),
                                                 "--png", str(tmp_path / "png2")])
    assert result.exit_code == 0
    assert "warning: PNG export skipped: kaleido could not export images" in result.output
    assert (tmp_path / "r2.html").is_file()


def test_png_export_without_kaleido_says_how_to_get_it(cfg, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)   # `import kaleido` raises ImportError
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_report(cfg, tmp_path / "r.html", lang="ru", png_dir=tmp_path / "png")
    messages = [str(w.message) for w in caught if issubclass(w.category, ReportWarning)]
    assert messages == ["PNG не записаны: the kaleido package is not installed; plotly 7 exports images with "
                        "kaleido >= 1 and a Chrome or Chromium: pip install 'kaleido>=1'"]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
def test_png_export_writes_each_chart(cfg, tmp_path):
    """Where kaleido and a Chrome/Chromium work (CI installs chromium), each chart becomes a PNG;
    where they do not, the report says so in a warning instead."""
    data = report.read_report_data(cjm.open(cfg))
    chart_list = [c for c in report.report_charts(data, "en") if c.key in ("funnel", "flow")]
    try:
        import kaleido  # noqa: F401
    except ImportError:
        with pytest.raises(report.ReportImageError, match="kaleido package is not installed"):
            report.write_pngs(chart_list, tmp_path)
        return
    paths = report.write_pngs(chart_list, tmp_path)
    assert [p.name for p in paths] == ["01_funnel.png", "02_flow.png"]
    for p, chart in zip(paths, chart_list):
        width, height = png_size(p)
        assert width == report.PNG_WIDTH and height == chart.figure.layout.height
        assert p.stat().st_size > 20_000                       # drawn, not blank


def test_barrier_sentences_in_both_languages(wh):
    barriers = wh.table("barriers")
    # the sample has every kind of barrier, so each kind's sentence is checked in both languages
    assert sorted(barriers["barrier_kind"].unique()) == ["back_steps", "drop_off", "slow_step"]
    in_russian = {"drop_off": "теряется", "back_steps": "шаг назад сделали", "slow_step": "медиана времени перехода"}
    for row in barriers.to_dict("records"):
        en = report.barrier_sentence(row, "en")
        ru = report.barrier_sentence(row, "ru")
        assert en.startswith(f"{row['stage']} → {row['to_stage']}") and ru.startswith(f"{row['stage']} → {row['to_stage']}")
        assert in_russian[row["barrier_kind"]] in ru and fmt_int(int(row["customers"]), "ru") in ru, ru
        # English matches the warehouse's own description up to thousands separators (durations: '15 d 18 h')
        assert en.replace(",", "") == row["description"].replace(",", "")
