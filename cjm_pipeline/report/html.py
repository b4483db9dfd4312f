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
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from .. import __version__
from ..coverage import CoverageIssue
from .charts import fmt_gap
from .i18n import _counted, barrier_sentence, fmt_duration, fmt_int, fmt_pct, is_missing, labels
from .map_page import MAP_CSS, map_grid
from .predict_page import predict_html

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
    issues: list[CoverageIssue] = field(default_factory=list)
    """Stage rules and stages that matched no event (:mod:`cjm_pipeline.coverage`): the banner."""
    min_complete_share: float = 0.25
    """``output.min_complete_share``: below it, the headline says it is not yet meaningful."""


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
nav ul{columns:3;font-size:14px;padding-left:18px}nav li{break-inside:avoid;page-break-inside:avoid}
.banner{border:1px solid #e0b4b4;background:#fff6f6;border-radius:6px;padding:10px 16px;margin:14px 0}
.banner h2{border:0;margin:4px 0 6px;font-size:18px;color:#a01818}.banner li{font-size:14px;line-height:1.6}
.card.not-meaningful .value{color:#9e9e9e}.card .caveat{font-size:13px;color:#8a6d00;margin-top:6px}
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
                cells.append(f"<td>{_esc('' if is_missing(value) else value)}</td>")
            else:
                cells.append(f"<td class='num'>{_esc(fmt(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def top_barriers(barriers: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` barriers for the summary: the first of each kind (biggest drop-off, most
    frequent back-step, slowest step), then the next ranks if a kind is missing."""
    if barriers.empty:
        return barriers
    kinds = ["empty_stage", "drop_off", "back_steps", "slow_step"]
    b = barriers.assign(_kind=barriers["barrier_kind"].map(lambda k: kinds.index(k) if k in kinds else 9))
    b = b.sort_values(["rank", "_kind"], kind="stable")
    return b.head(n).drop(columns="_kind")


def headline(funnel: pd.DataFrame) -> dict[str, Any]:
    """The headline's numbers from the funnel table: entries (step 1), complete entries (their
    window has closed: ``customers - incomplete`` at step 1), how many of those reached the goal
    step (the last step's ``customers - incomplete``) and their conversion (None without any).

    >>> f = pd.DataFrame({"step": [1, 2], "stage": ["a", "b"], "customers": [10, 4], "incomplete": [6, 3]})
    >>> h = headline(f); (h["complete"], h["converted"], h["conversion"], h["complete_share"])
    (4, 1, 0.25, 0.4)
    """
    f = funnel.sort_values("step")
    first, last = f.iloc[0], f.iloc[-1]
    entries = int(first["customers"])
    incomplete = int(first["incomplete"]) if "incomplete" in f.columns and pd.notna(first["incomplete"]) else 0
    complete = entries - incomplete
    converted = int(last["customers"]) - (int(last["incomplete"]) if "incomplete" in f.columns
                                          and pd.notna(last["incomplete"]) else 0)
    return {"entries": entries, "incomplete": incomplete, "complete": complete, "converted": converted,
            "conversion": converted / complete if complete else None,
            "complete_share": complete / entries if entries else None, "goal": last["stage"], "first": first["stage"]}


def _card(key: str, label: str, value: str, notes: list[str], extra_class: str = "") -> str:
    body = "".join(f"<div class='{cls}'>{_esc(text)}</div>" for cls, text in notes)
    return (f"<div class='card{(' ' + extra_class) if extra_class else ''}' id='summary-{key}'>"
            f"<div class='label'>{_esc(label)}</div><div class='value'>{_esc(value)}</div>{body}</div>")


def summary_html(data: ReportData, lang: str) -> str:
    """The summary: customers, entries, the conversion of complete entries (with the incomplete
    ones beside it), the entries made mid-way, and the three biggest barriers in words."""
    lab = labels(lang)
    funnel = data.tables["funnel"].sort_values("step") if not data.tables["funnel"].empty else data.tables["funnel"]
    window = data.meta.get("window") or ""
    unit = data.meta.get("unit") or "customer"
    cards = [_card("customers", lab["customers_total"], fmt_int(data.customers, lang),
                   [("note", lab["customers_note"])])]
    if not funnel.empty:
        h = headline(funnel)
        counted = f" ({lab[f'col_units_{unit}']})" if unit != "customer" else ""
        cards.append(_card("entered", lab["entered"], fmt_int(h["entries"], lang),
                           [("note", lab["entered_note"].format(stage=h["first"]) + counted)]))
        notes = [("note", lab["headline_note"].format(
            converted=fmt_int(h["converted"], lang), complete=fmt_int(h["complete"], lang), stage=h["goal"],
            window=window, entries=_entries_word(h["complete"], lang, of=True)))]
        if h["incomplete"]:
            notes.append(("note incomplete", lab["headline_incomplete"].format(
                n=fmt_int(h["incomplete"], lang), share=fmt_pct(1 - (h["complete_share"] or 0), lang, 0),
                entries=_entries_word(h["incomplete"], lang))))
        weak = h["complete"] == 0 or (h["complete_share"] or 0) < data.min_complete_share
        if h["complete"] == 0:
            notes.append(("caveat", lab["headline_none_complete"]))
        elif weak:
            notes.append(("caveat", lab["headline_not_meaningful"].format(
                share=fmt_pct(h["complete_share"], lang, 0), minimum=fmt_pct(data.min_complete_share, lang, 0))))
        cards.append(_card("conversion", lab["headline"], fmt_pct(h["conversion"], lang), notes,
                           "not-meaningful" if weak else ""))
        midway = int(funnel["entered_midway"].fillna(0).sum()) if "entered_midway" in funnel.columns else 0
        if midway:
            note = lab["midway_note_furthest" if data.meta.get("funnel_mode") == "furthest" else "midway_note"]
            cards.append(_card("midway", lab["midway_title"], fmt_int(midway, lang), [("note", note)]))
    parts = [f"<section id='summary'><h2>{_esc(lab['summary'])}</h2><div class='cards'>{''.join(cards)}</div>"]
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


def _entries_word(n: int, lang: str, *, of: bool = False) -> str:
    """``entries`` / ``входа`` in the form ``n`` asks for (``of``: after "of", Russian «из»)."""
    return _counted(n, "entries_of" if of else "entries", lang).rsplit(" ", 1)[1]


def issue_text(issue: CoverageIssue, lang: str) -> str:
    """A :class:`~cjm_pipeline.coverage.CoverageIssue` in words, in ``lang``.

    >>> issue_text(CoverageIssue("key", "покупка", "stages[4].rules[0]", "event_type", ("purchse",),
    ...                          (("purchase", 444),)), "ru")
    "stages[4].rules[0] (этап «покупка»): event_type 'purchse': ни одного события; возможно, имелось в виду 'purchase' (444 события)?"
    """
    lab = labels(lang)
    values = ", ".join(f"'{v}'" for v in issue.patterns)
    suggestions = [f"'{value}' ({_counted(events, 'events', lang)})" for value, events in issue.suggestions]
    suggest = ""
    if suggestions:
        items = suggestions[0] if len(suggestions) == 1 else (", ".join(suggestions[:-1]) + f" {lab['or']} "
                                                               + suggestions[-1])
        suggest = lab["did_you_mean"].format(items=items)
    alone = "; ".join(lab["alone"].format(key=k, n=_counted(n, "events", lang)) for k, n in issue.counts)
    n = _counted(issue.counts[0][1], "events", lang) if issue.counts else ""
    return lab[f"issue_{issue.kind}"].format(where=issue.where, stage=issue.stage, key=issue.key or "",
                                             values=values, suggest=suggest, alone=alone, n=n)


def banner_html(data: ReportData, lang: str) -> str:
    """The banner over the summary when stage rules or stages matched no event (none otherwise)."""
    if not data.issues:
        return ""
    lab = labels(lang)
    items = "".join(f"<li>{_esc(issue_text(i, lang))}</li>" for i in data.issues)
    return (f"<section class='banner' id='rule-warnings'><h2>{_esc(lab['banner_title'])}</h2>"
            f"<p class='meta'>{_esc(lab['banner_note'])}</p><ul>{items}</ul></section>")


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

    unit = data.meta.get("unit") or "customer"
    section("funnel", lab["table_funnel"], html_table(t["funnel"], [
        ("step", lab["col_step"], n), ("stage", lab["col_stage"], None),
        ("customers", lab.get(f"col_units_{unit}", lab["col_customers"]), n),
        ("conversion_from_previous", lab["col_conv_prev"], p), ("conversion_from_start", lab["col_conv_start"], p),
        ("dropped", lab["col_dropped"], n), ("drop_off_rate", lab["col_drop_off_rate"], p),
        ("reached_any_order", lab["col_reached_any_order"], n), ("incomplete", lab["col_incomplete"], n),
        ("entered_midway", lab["col_entered_midway"], n), ("ttc_median_s", lab["col_ttc_median"], d),
    ], lab["empty_table"]))
    barriers = t["barriers"]
    if not barriers.empty:  # empty stages first: nobody can get past them
        barriers = barriers.assign(_later=barriers["barrier_kind"].ne("empty_stage")).sort_values(
            ["_later", "barrier_kind", "rank"]).assign(
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
            met_text=["–" if is_missing(m) else (lab["yes"] if m else lab["no"]) for m in kpis["met"]],
            gap_text=[fmt_gap(None if is_missing(g) else float(g), str(u), lang)
                      for g, u in zip(kpis["gap"], kpis["unit"])])
    section("kpis", lab["table_kpis"], html_table(kpis, [
        ("stage", lab["col_stage"], None), ("kpi_name", lab["col_kpi"], None),
        ("target_text", lab["col_target"], str), ("actual_text", lab["col_actual"], str),
        ("gap_text", lab["col_gap"], str), ("met_text", lab["col_met"], None),
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
        coverage = coverage.assign(stage=[lab["no_stage"] if is_missing(o) else s
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
        f"<title>{_esc(title)}</title>\n<style>{CSS}{MAP_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_esc(title)}</h1><div class='meta'>{'<br>'.join(facts)}</div></header>\n"
        f"{banner_html(data, lang)}{map_grid(data.tables.get('journey_map', pd.DataFrame()), lang)}\n"
        f"{summary_html(data, lang)}\n"
        f"<nav><h2>{_esc(lab['contents'])}</h2><ul>{nav}<li><a href='#tables'>{_esc(lab['tables'])}</a></li></ul></nav>\n"
        f"<section id='charts'><h2>{_esc(lab['charts'])}</h2>\n{figures}\n</section>\n"
        f"{predict_html(data.tables, meta, lang)}\n"
        f"<section id='tables'><h2>{_esc(lab['tables'])}</h2>{tables_html(data, lang)}</section>\n"
        f"<footer>{_esc(lab['footer'].format(version=__version__))}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )
