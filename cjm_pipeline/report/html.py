"""The report page: one HTML file from the data the report read and its charts.

:func:`render_html` puts together the header (config, run, data period, funnel settings),
the summary (:func:`summary_html`: customers, entries, conversion and the three biggest
barriers in words), the charts (plotly.js inlined with the first one only, so the file opens
offline and every other figure reuses it) and the key tables (:func:`tables_html`). It only
formats: :class:`ReportData` and the :class:`Chart` list come from
:mod:`cjm_pipeline.report.build`.

>>> import pandas as pd
>>> print(html_table(pd.DataFrame({"stage": ["interest"], "customers": [3127]}),
...                  [("stage", "stage", None), ("customers", "customers", fmt_int)], "nothing to show"))
<table><thead><tr><th>stage</th><th>customers</th></tr></thead><tbody><tr><td>interest</td><td class='num'>3,127</td></tr></tbody></table>
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from .. import __version__
from .i18n import barrier_sentence, fmt_duration, fmt_int, fmt_pct, labels

#: plotly.js config of every chart: no "send to cloud" button, no logo; an offline file.
PLOT_CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True}


@dataclass
class Chart:
    """One chart of the report: a stable key (the HTML id ``chart-<key>``) and its figure."""

    key: str
    figure: go.Figure


@dataclass
class ReportData:
    """Everything the report shows, read from the warehouse."""

    tables: dict[str, pd.DataFrame]
    customers: int
    first_seen: Any
    last_seen: Any
    meta: dict[str, Any]
    run: dict[str, Any]


# --------------------------------------------------------------------------- HTML

CSS = """
body{font-family:Arial,Helvetica,sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1280px;margin:0 auto;padding:20px 28px 40px;background:#fff}
h1{font-size:26px;margin:6px 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 8px}
.meta{color:#666;font-size:13px;line-height:1.5}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin:12px 0}
.card{flex:1 1 220px;border:1px solid #e0e3e8;border-radius:6px;padding:12px 16px;background:#fafbfc}
.card .value{font-size:30px;font-weight:bold;color:#376ab0}.card .label{font-size:14px;color:#444}
.card .note{font-size:12px;color:#777;margin-top:4px}
ol.barriers{margin:6px 0 0;padding-left:22px;font-size:15px;line-height:1.7}
ol.barriers .kind{color:#a01818;font-weight:bold}
nav ul{columns:3;font-size:14px;padding-left:18px}
figure.cjm-chart{margin:18px 0;border:1px solid #eceef1;border-radius:6px;padding:6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 16px}
th,td{border:1px solid #e0e3e8;padding:4px 8px}th{background:#f0f2f5;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.warn{color:#8a6d00}footer{color:#888;font-size:12px;margin-top:30px}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _fmt_date(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def html_table(frame: pd.DataFrame, columns: list[tuple[str, str, Callable[[Any], str] | None]],
               empty: str) -> str:
    """A table of ``frame``: ``(column, header, formatter)``; a formatter makes a number right-aligned."""
    if frame.empty:
        return f"<p class='meta'>{_esc(empty)}</p>"
    head = "".join(f"<th>{_esc(h)}</th>" for _, h, _ in columns)
    rows = []
    for rec in frame.to_dict("records"):
        cells = []
        for col, _, fmt in columns:
            value = rec.get(col)
            if fmt is None:
                cells.append(f"<td>{_esc('' if _missing(value) else value)}</td>")
            else:
                cells.append(f"<td class='num'>{_esc(fmt(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def top_barriers(barriers: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` barriers for the summary: the first of each kind (biggest drop-off, most
    frequent back-step, slowest step), then the next ranks if a kind is missing."""
    if barriers.empty:
        return barriers
    kinds = ["drop_off", "back_steps", "slow_step"]
    b = barriers.assign(_kind=barriers["barrier_kind"].map(lambda k: kinds.index(k) if k in kinds else 9))
    b = b.sort_values(["rank", "_kind"], kind="stable")
    return b.head(n).drop(columns="_kind")


def summary_html(data: ReportData, lang: str) -> str:
    """The summary: customers, entries, conversion, and the three biggest barriers in words."""
    lab = labels(lang)
    funnel = data.tables["funnel"].sort_values("step") if not data.tables["funnel"].empty else data.tables["funnel"]
    window = data.meta.get("window") or ""
    cards = [f"<div class='card' id='summary-customers'><div class='label'>{_esc(lab['customers_total'])}</div>"
             f"<div class='value'>{_esc(fmt_int(data.customers, lang))}</div>"
             f"<div class='note'>{_esc(lab['customers_note'])}</div></div>"]
    if not funnel.empty:
        first, last = funnel.iloc[0], funnel.iloc[-1]
        cards.append(
            f"<div class='card' id='summary-entered'><div class='label'>{_esc(lab['entered'])}</div>"
            f"<div class='value'>{_esc(fmt_int(first['customers'], lang))}</div>"
            f"<div class='note'>{_esc(lab['entered_note'].format(stage=first['stage']))}</div></div>")
        cards.append(
            f"<div class='card' id='summary-conversion'><div class='label'>{_esc(lab['converted'])}</div>"
            f"<div class='value'>{_esc(fmt_pct(last['conversion_from_start'], lang))}</div>"
            f"<div class='note'>{_esc(fmt_int(last['customers'], lang))} · "
            f"{_esc(lab['converted_note'].format(stage=last['stage'], window=window))}</div></div>")
    parts = [f"<section id='summary'><h2>{_esc(lab['summary'])}</h2><div class='cards'>{''.join(cards)}</div>"]
    if not funnel.empty and "incomplete" in funnel.columns and int(funnel.iloc[0]["incomplete"] or 0) > 0:
        parts.append(f"<p class='meta warn'>{_esc(lab['incomplete_entries'].format(n=fmt_int(funnel.iloc[0]['incomplete'], lang)))}</p>")
    parts.append(f"<h3>{_esc(lab['barriers'])}</h3>")
    top = top_barriers(data.tables["barriers"])
    if top.empty:
        parts.append(f"<p>{_esc(lab['no_barriers'])}</p>")
    else:
        items = "".join(
            f"<li><span class='kind'>{_esc(lab.get('barrier_' + str(r['barrier_kind']), r['barrier_kind']))}:</span> "
            f"{_esc(barrier_sentence(r, lang))}</li>" for r in top.to_dict("records"))
        parts.append(f"<ol class='barriers' id='summary-barriers'>{items}</ol>")
    parts.append("</section>")
    return "".join(parts)


def tables_html(data: ReportData, lang: str) -> str:
    """The key tables: funnel, barriers, loops, KPIs, dwell, top paths and coverage."""
    lab = labels(lang)
    t = data.tables
    n = lambda v: fmt_int(v, lang)  # noqa: E731
    p = lambda v: fmt_pct(v, lang)  # noqa: E731
    d = lambda v: fmt_duration(v, lang)  # noqa: E731
    out = []

    def section(key: str, title: str, body: str) -> None:
        out.append(f"<section class='cjm-table' id='table-{key}'><h3>{_esc(title)}</h3>{body}</section>")

    section("funnel", lab["table_funnel"], html_table(t["funnel"], [
        ("step", lab["col_step"], n), ("stage", lab["col_stage"], None), ("customers", lab["col_customers"], n),
        ("conversion_from_previous", lab["col_conv_prev"], p), ("conversion_from_start", lab["col_conv_start"], p),
        ("dropped", lab["col_dropped"], n), ("drop_off_rate", lab["col_drop_off_rate"], p),
        ("reached_any_order", lab["col_reached_any_order"], n), ("ttc_median_s", lab["col_ttc_median"], d),
    ], lab["empty_table"]))
    barriers = t["barriers"]
    if not barriers.empty:
        barriers = barriers.assign(
            kind=[lab.get(f"barrier_{k}", k) for k in barriers["barrier_kind"]],
            sentence=[barrier_sentence(r, lang) for r in barriers.to_dict("records")])
    section("barriers", lab["table_barriers"], html_table(barriers, [
        ("kind", lab["col_kind"], None), ("rank", lab["col_rank"], n), ("sentence", lab["col_description"], None),
    ], lab["empty_table"]))
    loops = t["loops"]
    if not loops.empty:
        loops = loops.sort_values(["customers", "from_order", "to_order"], ascending=[False, True, True])
        loops = loops.assign(edge=[f"{a} → {b}" for a, b in zip(loops["from_stage"], loops["to_stage"])])
    section("loops", lab["table_loops"], html_table(loops, [
        ("edge", lab["col_edge"], None), ("customers", lab["col_customers"], n),
        ("occurrences", lab["col_occurrences"], n), ("share_of_visitors", lab["col_share_of_visitors"], p),
        ("resolved_share", lab["col_resolved_share"], p), ("median_return_s", lab["col_median_return"], d),
        ("looper_conversion", lab["col_looper_conversion"], p),
        ("non_looper_conversion", lab["col_non_looper_conversion"], p),
    ], lab["empty_table"]))
    kpis = t["stage_kpis"]
    if not kpis.empty:
        kpis = kpis.assign(
            kpi_name=[lab.get(f"kpi_{k}", k).rstrip(" ≥≤") for k in kpis["kpi"]],
            target_text=[fmt_duration(v, lang) if u == "seconds" else fmt_pct(v, lang)
                         for v, u in zip(kpis["target"], kpis["unit"])],
            actual_text=[fmt_duration(v, lang) if u == "seconds" else fmt_pct(v, lang)
                         for v, u in zip(kpis["actual"], kpis["unit"])],
            met_text=["–" if _missing(m) else (lab["yes"] if m else lab["no"]) for m in kpis["met"]])
    section("kpis", lab["table_kpis"], html_table(kpis, [
        ("stage", lab["col_stage"], None), ("kpi_name", lab["col_kpi"], None),
        ("target_text", lab["col_target"], str), ("actual_text", lab["col_actual"], str),
        ("met_text", lab["col_met"], None),
    ], lab["empty_table"]))
    section("dwell", lab["table_dwell"], html_table(t["stage_dwell"], [
        ("stage", lab["col_stage"], None), ("visits", lab["col_visits"], n), ("customers", lab["col_customers"], n),
        ("open_visits", lab["col_open_visits"], n), ("dwell_median_s", lab["col_dwell_median"], d),
        ("dwell_p90_s", lab["col_dwell_p90"], d),
    ], lab["empty_table"]))
    paths = t["paths"]
    if not paths.empty:
        paths = paths[paths["path_kind"] == "collapsed"].sort_values("rank").head(10)
    section("paths", lab["table_paths"], html_table(paths, [
        ("stage_path", lab["col_path"], None), ("customers", lab["col_customers"], n), ("share", lab["col_share"], p),
        ("cumulative_share", lab["col_cumulative_share"], p), ("conversion", lab["col_conversion"], p),
        ("median_duration_s", lab["col_median_duration"], d),
    ], lab["empty_table"]))
    coverage = t["stage_coverage"]
    if not coverage.empty:
        coverage = coverage.assign(stage=[lab["no_stage"] if _missing(o) else s
                                          for s, o in zip(coverage["stage"], coverage["stage_order"])])
    section("coverage", lab["table_coverage"], html_table(coverage, [
        ("stage", lab["col_stage"], None), ("events", lab["col_events"], n), ("customers", lab["col_customers"], n),
        ("share_of_events", lab["col_share_of_events"], p),
    ], lab["empty_table"]))
    return "".join(out)


def chart_html(chart: Chart, *, include_plotlyjs: bool) -> str:
    """One chart as a ``<figure class="cjm-chart" id="chart-<key>">`` holding the plotly div ``plot-<key>``."""
    height = int(chart.figure.layout.height or 500)
    div = chart.figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs, div_id=f"plot-{chart.key}",
                               config=PLOT_CONFIG, default_width="100%", default_height=f"{height}px")
    return f"<figure class='cjm-chart' id='chart-{chart.key}' data-chart='{chart.key}'>{div}</figure>"


def render_html(data: ReportData, chart_list: list[Chart], lang: str, *, config_path: str = "") -> str:
    """The whole report page; plotly.js is inlined with the first chart only."""
    lab = labels(lang)
    meta = data.meta
    title = lab["report_title"]
    facts = [
        f"{_esc(lab['config'])}: {_esc(config_path or meta.get('config_path', ''))}",
        f"{_esc(lab['run'])}: {_esc(data.run.get('run_id') or meta.get('run_id', '–'))}",
        f"{_esc(lab['data_period'])}: {_esc(_fmt_date(data.first_seen))} – {_esc(_fmt_date(data.last_seen))} UTC",
        f"{_esc(lab['funnel_settings'])}: {_esc(' → '.join(meta.get('funnel_stages') or []))} "
        f"({_esc(lab['mode'])} {_esc(meta.get('funnel_mode', '–'))}, {_esc(lab['window'])} {_esc(meta.get('window', '–'))})",
        f"{_esc(lab['generated'])}: {_esc(dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}",
    ]
    chart_titles = {c.key: (c.figure.layout.title.text or c.key) for c in chart_list}
    nav = "".join(f"<li><a href='#chart-{c.key}'>{_esc(chart_titles[c.key])}</a></li>" for c in chart_list)
    figures = "".join(chart_html(c, include_plotlyjs=(i == 0)) for i, c in enumerate(chart_list))
    return (
        f"<!DOCTYPE html>\n<html lang='{lang}'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<meta name='generator' content='cjm {__version__}'>\n"
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_esc(title)}</h1><div class='meta'>{'<br>'.join(facts)}</div></header>\n"
        f"{summary_html(data, lang)}\n"
        f"<nav><h2>{_esc(lab['contents'])}</h2><ul>{nav}<li><a href='#tables'>{_esc(lab['tables'])}</a></li></ul></nav>\n"
        f"<section id='charts'><h2>{_esc(lab['charts'])}</h2>\n{figures}\n</section>\n"
        f"<section id='tables'><h2>{_esc(lab['tables'])}</h2>{tables_html(data, lang)}</section>\n"
        f"<footer>{_esc(lab['footer'].format(version=__version__))}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )
