"""The HTML report: one self-contained file with a summary, the charts and the key tables.

>>> from cjm_pipeline.report import build_report                          # doctest: +SKIP
>>> build_report("configs/sample.yaml")                  # -> build/out/report.html  # doctest: +SKIP
>>> build_report("configs/sample.yaml", "build/report_ru.html", lang="ru", png_dir="build/slides")  # doctest: +SKIP

The report reads the tables the last ``cjm run`` published (through
:class:`~cjm_pipeline.warehouse.Warehouse`, read-only), draws them with
:mod:`cjm_pipeline.charts` and writes one HTML file. plotly.js is embedded once, inline,
so the file opens offline (no CDN); every other figure reuses it. At the top: customers,
the funnel's conversion and the three biggest barriers in words (the biggest drop-off,
the most frequent back-step and the slowest step, from ``barriers``).

With ``png_dir`` each chart is also written as a PNG for slides. plotly 7 exports images
with kaleido ≥ 1, which drives an installed Chrome or Chromium; where that does not work
the HTML is still written and a :class:`ReportWarning` says why (``cjm report`` prints it
as a ``warning:`` line).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from . import __version__, charts, db
from .charts import LANGS, fmt_duration, fmt_int, fmt_pct, labels
from .config import PipelineConfig, load_config
from .errors import CjmError, WarehouseError
from .warehouse import Warehouse

#: Tables the report needs, with the columns they are ordered by.
TABLES: dict[str, tuple[str, ...]] = {
    "funnel": ("step",),
    "funnel_breakdown": ("breakdown", "value", "step"),
    "funnel_trends": ("period_start", "step"),
    "ttc_histogram": ("step", "bin_index"),
    "transitions": ("from_order", "to_order", "from_stage", "to_stage"),
    "loops": ("from_order", "to_order"),
    "stage_stock": ("day", "stage_order"),
    "stage_kpis": ("stage_order", "kpi"),
    "barriers": ("barrier_kind", "rank"),
    "stage_dwell": ("stage_order",),
    "paths": ("path_kind", "rank"),
    "stage_coverage": ("stage_order", "stage"),
}

#: plotly.js config of every chart: no "send to cloud" button, no logo; an offline file.
PLOT_CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True}

PNG_WIDTH = 1200


class ReportWarning(UserWarning):
    """Something the report could not do (PNG export) while the HTML itself was written."""


class ReportImageError(CjmError):
    """PNG export does not work here (no kaleido, no Chrome/Chromium, or it failed)."""


@dataclass
class Chart:
    """One chart of the report: a stable key (the HTML id ``chart-<key>``) and its figure."""

    key: str
    figure: go.Figure


@dataclass
class ReportResult:
    path: Path
    charts: list[Chart]
    pngs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


@dataclass
class ReportData:
    """Everything the report shows, read from the warehouse."""

    tables: dict[str, pd.DataFrame]
    customers: int
    first_seen: Any
    last_seen: Any
    meta: dict[str, Any]
    run: dict[str, Any]


def read_report_data(wh: Warehouse) -> ReportData:
    """The published tables and the run's facts, in one read-only connection."""
    with wh.connect() as con:
        present = db.existing_tables(con)
        missing = [t for t in ("funnel", "transitions", "journeys") if t not in present]
        if missing:
            raise WarehouseError(f"warehouse {wh.path} has no table {', '.join(missing)}; "
                                 "run `cjm run -c CONFIG` (without --until) first")
        tables = {name: db.read_table(con, name, order_by=order) if name in present else pd.DataFrame()
                  for name, order in TABLES.items()}
        customers, first_seen, last_seen = con.execute(
            "select count(*), min(first_seen), max(last_seen) from journeys").fetchall()[0]
        meta: dict[str, Any] = {}
        if "_cjm_outputs" in present:
            rows = con.execute("select metadata from _cjm_outputs where table_name = 'funnel' and kind = 'run' "
                               "order by written_at desc limit 1").fetchall()
            if rows and rows[0][0]:
                meta = json.loads(rows[0][0])
        run: dict[str, Any] = {}
        if "_cjm_runs" in present:
            res = con.execute("select run_id, started_at, status from _cjm_runs where status = 'success' "
                              "order by started_at desc limit 1")
            cols = [d[0] for d in res.description]
            rows = res.fetchall()
            run = dict(zip(cols, rows[0])) if rows else {}
    return ReportData(tables, int(customers), first_seen, last_seen, meta, run)


# --------------------------------------------------------------------------- words


def plural(n: int, forms: str, lang: str) -> str:
    """The form of a noun for ``n``: ``forms`` is ``one|few|many``.

    >>> plural(1, "customer|customers|customers", "en"), plural(21, "клиент|клиента|клиентов", "ru")
    ('customer', 'клиент')
    >>> plural(3, "клиент|клиента|клиентов", "ru"), plural(12, "клиент|клиента|клиентов", "ru")
    ('клиента', 'клиентов')
    """
    one, few, many = forms.split("|")
    if lang != "ru":
        return one if n == 1 else many
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _counted(n: int, noun: str, lang: str) -> str:
    """``1,718 times``, ``575 клиентов``: a count and its noun (``forms_<noun>`` in the labels)."""
    return f"{fmt_int(n, lang)} {plural(int(n), labels(lang)['forms_' + noun], lang)}"


def barrier_sentence(row: Any, lang: str = "en") -> str:
    """A ``barriers`` row in words, in ``lang`` (the table's own ``description`` is English only).

    >>> row = {"barrier_kind": "drop_off", "stage": "interest", "to_stage": "consideration",
    ...        "customers": 2030, "value": 1139.0, "rate": 0.561084, "transitions": None}
    >>> barrier_sentence(row)
    'interest → consideration loses 1,139 of 2,030 customers (56.1%)'
    >>> barrier_sentence(row, "ru")
    'interest → consideration: теряется 1\\xa0139 из 2\\xa0030 клиентов (56,1%)'
    """
    get = row.get if isinstance(row, dict) else row.__getitem__
    lab = labels(lang)
    kind = get("barrier_kind")
    customers = int(get("customers"))
    values = {"stage": get("stage"), "to_stage": get("to_stage"),
              "customers": fmt_int(customers, lang), "customers_n": _counted(customers, "customers", lang),
              "customers_of": _counted(customers, "customers_of", lang)}
    if kind == "drop_off":
        values.update(value=fmt_int(get("value"), lang), rate=fmt_pct(get("rate"), lang))
    elif kind == "back_steps":
        transitions = get("transitions")
        values.update(transitions_n=_counted(int(transitions) if transitions is not None and
                                             not pd.isna(transitions) else 0, "times", lang))
    elif kind == "slow_step":
        values.update(duration=fmt_duration(get("value"), lang))
    else:
        return str(get("description"))
    return lab[f"{kind}_sentence"].format(**values)


def top_barriers(barriers: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` barriers for the summary: the first of each kind (biggest drop-off, most
    frequent back-step, slowest step), then the next ranks if a kind is missing."""
    if barriers.empty:
        return barriers
    kinds = ["drop_off", "back_steps", "slow_step"]
    b = barriers.assign(_kind=barriers["barrier_kind"].map(lambda k: kinds.index(k) if k in kinds else 9))
    b = b.sort_values(["rank", "_kind"], kind="stable")
    return b.head(n).drop(columns="_kind")


# --------------------------------------------------------------------------- charts


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "x"


def report_charts(data: ReportData, lang: str = "en") -> list[Chart]:
    """Every chart of the report, in order, drawn from the tables."""
    t = data.tables
    period = (data.meta.get("funnel") or {}).get("trend_period")
    out = [Chart("funnel", charts.funnel_chart(t["funnel"], lang=lang))]
    if not t["funnel_breakdown"].empty:
        present = list(dict.fromkeys(t["funnel_breakdown"]["breakdown"].tolist()))
        configured = [b for b in (data.meta.get("funnel") or {}).get("breakdowns") or [] if b in present]
        for name in configured + [b for b in present if b not in configured]:
            out.append(Chart(f"breakdown-{_slug(str(name))}",
                             charts.funnel_breakdown_chart(t["funnel_breakdown"], str(name), lang=lang)))
    out += [
        Chart("sankey", charts.sankey_chart(t["transitions"], lang=lang)),
        Chart("transitions", charts.transition_heatmap(t["transitions"], lang=lang)),
    ]
    if not t["ttc_histogram"].empty:
        out.append(Chart("ttc", charts.ttc_histograms(t["ttc_histogram"], lang=lang)))
    if not t["funnel_trends"].empty:
        out.append(Chart("trends", charts.trends_chart(t["funnel_trends"], lang=lang, period=period)))
    if not t["loops"].empty:
        out.append(Chart("loops", charts.loops_chart(t["loops"], lang=lang)))
    if not t["stage_kpis"].empty:
        out.append(Chart("kpis", charts.kpi_chart(t["stage_kpis"], lang=lang)))
    if not t["stage_stock"].empty:
        out.append(Chart("stock", charts.stock_chart(t["stage_stock"], lang=lang)))
    return out


def write_pngs(chart_list: list[Chart], png_dir: str | Path) -> list[Path]:
    """Each chart as ``<png_dir>/NN_<key>.png``; :class:`ReportImageError` when export does not work here."""
    try:
        import kaleido  # noqa: F401 - plotly 7 exports images only through kaleido >= 1
    except ImportError:
        raise ReportImageError("the kaleido package is not installed; plotly 7 exports images with "
                               "kaleido >= 1 and a Chrome or Chromium: pip install 'kaleido>=1'") from None
    import plotly.io as pio

    folder = Path(png_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:02d}_{c.key}.png" for i, c in enumerate(chart_list, start=1)]
    try:
        pio.write_images([c.figure for c in chart_list], paths, width=PNG_WIDTH,
                         height=[int(c.figure.layout.height or 500) for c in chart_list])
    except Exception as e:  # noqa: BLE001 - kaleido raises many kinds (no Chrome, a crashed browser, timeouts)
        first = (str(e).strip().splitlines() or [""])[0]
        raise ReportImageError(f"kaleido could not export images ({type(e).__name__}: {first}); it needs "
                               "Chrome or Chromium installed (e.g. apt-get install chromium, or "
                               "`plotly_get_chrome`)") from None
    missing = [p for p in paths if not p.is_file() or p.stat().st_size == 0]
    if missing:
        raise ReportImageError(f"kaleido wrote no image for {', '.join(p.name for p in missing)}")
    return paths


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


# --------------------------------------------------------------------------- entry points


def _config(config_or_path: PipelineConfig | str | Path) -> PipelineConfig:
    if isinstance(config_or_path, PipelineConfig):
        return config_or_path
    return load_config(config_or_path)


def make_report(config_or_path: PipelineConfig | str | Path, out: str | Path | None = None, lang: str = "en",
                png_dir: str | Path | None = None) -> ReportResult:
    """Build the report and say what happened: the HTML path, the charts, the PNGs and warnings."""
    if lang not in LANGS:
        raise CjmError(f"unknown report language {lang!r}; use one of {', '.join(LANGS)}")
    cfg = _config(config_or_path)
    data = read_report_data(Warehouse(cfg.warehouse_path))
    chart_list = report_charts(data, lang)
    path = Path(out) if out else cfg.output_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(data, chart_list, lang, config_path=cfg.config_path), encoding="utf-8")
    tmp.replace(path)
    result = ReportResult(path=path, charts=chart_list)
    if png_dir is not None:
        try:
            result.pngs = write_pngs(chart_list, png_dir)
        except ReportImageError as e:
            result.warnings.append(labels(lang)["png_warning"].format(reason=e))
    return result


def build_report(config_or_path: PipelineConfig | str | Path, out: str | Path | None = None, lang: str = "en",
                 png_dir: str | Path | None = None) -> Path:
    """Write the HTML report of the config's warehouse and return its path.

    ``out`` defaults to ``<output dir>/report.html``; ``lang`` is ``en`` or ``ru``; with
    ``png_dir`` each chart is also written there as a PNG, and when that cannot work here
    a :class:`ReportWarning` says why (the HTML is written all the same).
    """
    result = make_report(config_or_path, out, lang, png_dir)
    for message in result.warnings:
        warnings.warn(message, ReportWarning, stacklevel=2)
    return result.path
