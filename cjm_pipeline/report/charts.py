"""Charts of the journey tables: DataFrames in, plotly figures out.

This module only draws. Every function takes the DataFrame of one output table, exactly
as :class:`cjm_pipeline.Warehouse` returns it (or as read from the exported CSV), and
returns a :class:`plotly.graph_objects.Figure`; nothing here reads a warehouse or writes
a file. Rows may come in any order: each chart orders by the table's own order columns.
Stage names are drawn as configured (Cyrillic works).

>>> import cjm_pipeline as cjm                                   # doctest: +SKIP
>>> from cjm_pipeline.report import charts                       # doctest: +SKIP
>>> wh = cjm.open("build/cjm.duckdb")                            # doctest: +SKIP
>>> charts.funnel_chart(wh.funnel(), lang="ru").show()           # doctest: +SKIP

The figures of flows between stages (Sankey, transition matrix, loops) are drawn in
:mod:`cjm_pipeline.report.flows` and reachable from here, so every chart is
``charts.<name>``. Labels and number formats come from :mod:`cjm_pipeline.report.i18n`,
colours and the common layout from :mod:`cjm_pipeline.report.style`.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .flows import loops_chart, sankey_chart, transition_heatmap
from .i18n import breakdown_label, fmt_duration, fmt_int, fmt_pct, is_missing, labels
from .style import (BAR_COLOR, DROP_COLOR, KIND_COLORS, KIND_SOLID, MET_COLOR, NOT_MET_COLOR, PALETTE,
                    TARGET_COLOR, date_axis, dates, floats, ints, layout, no_data, require, strs)

__all__ = [
    "funnel_chart", "funnel_breakdown_chart", "sankey_chart", "transition_heatmap", "ttc_histograms",
    "trends_chart", "loops_chart", "kpi_title", "kpi_chart", "stock_chart",
    "KIND_COLORS", "KIND_SOLID", "BAR_COLOR", "DROP_COLOR", "MET_COLOR", "NOT_MET_COLOR", "TARGET_COLOR", "PALETTE",
]


# --------------------------------------------------------------------------- funnel


def funnel_chart(funnel: pd.DataFrame, *, lang: str = "en", title: str | None = None) -> go.Figure:
    """Bars of customers per funnel step. Under each bar the stage, its customers and the
    conversion from entry; on top of each bar after the first, a red segment of the
    customers lost since the previous step (its ``dropped``) labelled ``−1,097 (35.1%)``
    with the drop-off rate; between two bars, the conversion from the previous step.
    """
    lab = labels(lang)
    title = title or lab["funnel_title"]
    require(funnel, ("step", "stage", "customers", "conversion_from_start", "conversion_from_previous",
                      "dropped", "drop_off_rate"), "funnel")
    if funnel.empty:
        return no_data(title, lang)
    f = funnel.sort_values("step").reset_index(drop=True)
    x = list(range(len(f)))
    stages = strs(f["stage"])
    customers = ints(f["customers"])
    conv_start = floats(f["conversion_from_start"])
    conv_prev = floats(f["conversion_from_previous"])
    dropped = ints(f["dropped"])
    drop_rate = floats(f["drop_off_rate"])
    # the customers lost before step k are the previous step's `dropped`
    lost = [None] + dropped[:-1]
    lost_rate = [None] + drop_rate[:-1]
    ticks = [f"<b>{s}</b><br>{fmt_int(c, lang)} · {fmt_pct(p, lang)}" for s, c, p in zip(stages, customers, conv_start)]

    fig = go.Figure()
    fig.add_trace(go.Bar(
        name=lab["reached"], x=x, y=customers, marker={"color": BAR_COLOR},
        text=[fmt_int(c, lang) for c in customers], textposition="inside", textangle=0,
        insidetextanchor="middle", textfont={"color": "white"},
        customdata=[[s, p] for s, p in zip(stages, conv_start)],
        hovertemplate=(f"%{{customdata[0]}}<br>{lab['customers']}: %{{y:,}}<br>"
                       f"{lab['conversion_from_start']}: %{{customdata[1]:.1%}}<extra></extra>"),
    ))
    fig.add_trace(go.Bar(
        name=lab["dropped"], x=x, y=lost, marker={"color": DROP_COLOR},
        customdata=[[s] for s in stages],
        hovertemplate=f"%{{customdata[0]}}<br>{lab['dropped']}: %{{y:,}}<extra></extra>",
    ))
    top = max(c or 0 for c in customers)
    annotations = []
    for k in range(1, len(f)):
        if lost[k] is not None:
            annotations.append({
                "x": k, "y": (customers[k] or 0) + lost[k], "xref": "x", "yref": "y", "yanchor": "bottom",
                "text": f"−{fmt_int(lost[k], lang)} ({fmt_pct(lost_rate[k], lang)})", "showarrow": False,
                "font": {"size": 12, "color": "#a01818"},
            })
        if conv_prev[k] is not None:
            annotations.append({
                "x": k - 0.5, "y": (customers[k] or 0) + top * 0.04, "xref": "x", "yref": "y",
                "text": f"→ {fmt_pct(conv_prev[k], lang)}", "showarrow": False,
                "font": {"size": 12, "color": "#222"}, "bgcolor": "rgba(255,255,255,0.9)",
            })
    fig.update_layout(barmode="stack", bargap=0.35, annotations=annotations,
                      uniformtext={"minsize": 10, "mode": "hide"},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
                      xaxis={"tickmode": "array", "tickvals": x, "ticktext": ticks},
                      yaxis={"title": lab["customers"], "rangemode": "tozero", "range": [0, top * 1.1]})
    return layout(fig, title, lang, 480)


def funnel_breakdown_chart(breakdown: pd.DataFrame, name: str, *, lang: str = "en",
                           max_values: int = 8) -> go.Figure:
    """One breakdown of ``funnel_breakdown`` side by side: per step a group of bars, one per
    value, of the conversion from entry (labelled with the percentage; customers in the
    hover). The ``max_values`` values with the most entries are shown; cohorts and dates
    in date order, others by entries.
    """
    lab = labels(lang)
    require(breakdown, ("breakdown", "value", "step", "stage", "customers", "conversion_from_start"),
             "funnel_breakdown")
    title = lab["breakdown_title"].format(name=breakdown_label(name, lang))
    b = breakdown[breakdown["breakdown"] == name]
    if b.empty:
        return no_data(title, lang)
    entries = (b[b["step"] == b["step"].min()].groupby("value")["customers"].sum()
               .sort_values(ascending=False, kind="stable"))
    total = len(entries)
    values = list(entries.index[:max_values])
    if name == "cohort":
        values = sorted(values)
    if total > len(values):
        title += f" ({lab['breakdown_top'].format(shown=len(values), total=total)})"
    steps = b[["step", "stage"]].drop_duplicates().sort_values("step")
    stages = strs(steps["stage"])
    fig = go.Figure()
    for i, value in enumerate(values):
        v = b[b["value"] == value].set_index("step").reindex(steps["step"])
        conv = floats(v["conversion_from_start"])
        customers = ints(v["customers"])
        fig.add_trace(go.Bar(
            name=f"{value} ({fmt_int(entries[value], lang)})", x=stages, y=conv,
            marker={"color": PALETTE[i % len(PALETTE)]},
            text=["" if c is None or k == 0 else fmt_pct(c, lang, 0) for k, c in enumerate(conv)],
            textposition="outside", textangle=0, textfont={"size": 11}, cliponaxis=False,
            customdata=[[str(value), c] for c in customers],
            hovertemplate=(f"%{{customdata[0]}} · %{{x}}<br>{lab['conversion_from_start']}: %{{y:.1%}}"
                           f"<br>{lab['customers']}: %{{customdata[1]:,}}<extra></extra>"),
        ))
    fig.update_layout(barmode="group", bargap=0.2, bargroupgap=0.05, uniformtext={"minsize": 9, "mode": "show"},
                      yaxis={"title": lab["conversion_from_start"], "tickformat": ".0%", "rangemode": "tozero"},
                      xaxis={"title": lab["stage"]},
                      legend={"title": {"text": breakdown_label(name, lang)}})
    return layout(fig, title, lang, 440)


# --------------------------------------------------------------------------- time and trends


def ttc_histograms(ttc_histogram: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Time to convert, one histogram per funnel step (``step → next step``): customers per
    time bin, labelled with the share of the step's converters.
    """
    lab = labels(lang)
    title = lab["ttc_title"]
    require(ttc_histogram, ("step", "stage", "next_stage", "bin_index", "bin_label", "customers", "share"),
             "ttc_histogram")
    h = ttc_histogram
    if h.empty:
        return no_data(title, lang)
    bins = h[["bin_index", "bin_label"]].drop_duplicates().sort_values("bin_index")
    bin_labels = strs(bins["bin_label"])
    steps = h[["step", "stage", "next_stage"]].drop_duplicates().sort_values("step")
    n = len(steps)
    cols = 2 if n > 1 else 1
    nrows = math.ceil(n / cols)
    titles = [f"{s} → {t}" for s, t in zip(strs(steps["stage"]), strs(steps["next_stage"]))]
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=titles, vertical_spacing=0.5 / max(nrows, 1),
                        horizontal_spacing=0.08)
    for i, step in enumerate(steps["step"].tolist()):
        s = h[h["step"] == step].set_index("bin_index").reindex(bins["bin_index"])
        customers = [c or 0 for c in ints(s["customers"])]
        shares = [c or 0.0 for c in floats(s["share"])]
        fig.add_trace(go.Bar(
            x=bin_labels, y=customers, name=titles[i], showlegend=False, marker={"color": PALETTE[i % len(PALETTE)]},
            text=[fmt_pct(sh, lang, 0) if c else "" for c, sh in zip(customers, shares)], textposition="outside",
            cliponaxis=False,
            hovertemplate=f"{titles[i]}<br>%{{x}}: %{{y:,}} ({lab['share']} %{{text}})<extra></extra>",
        ), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=bin_labels)
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text=lab["customers"], col=1)
    return layout(fig, title, lang, 120 + 260 * nrows)


def trends_chart(funnel_trends: pd.DataFrame, *, lang: str = "en", period: str | None = None) -> go.Figure:
    """Conversion from entry by entry period, one line per step after the first, with the
    entries as bars on a second axis. Incomplete periods (``is_complete`` false: some
    entries' windows have not ended) are drawn dotted with open markers over a shaded band,
    because their conversion can still grow.
    """
    lab = labels(lang)
    require(funnel_trends, ("period_start", "step", "stage", "customers", "conversion_from_start", "is_complete"),
             "funnel_trends")
    title = lab["trends_title"].format(period=lab.get(f"period_{period}", lab["period_any"]))
    ft = funnel_trends.sort_values(["period_start", "step"])
    if ft.empty:
        return no_data(title, lang)
    periods = ft[["period_start", "is_complete"]].drop_duplicates("period_start").sort_values("period_start")
    x_all = dates(periods["period_start"])
    complete = [bool(c) for c in periods["is_complete"]]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    first = int(ft["step"].min())
    entries = ft[ft["step"] == first].set_index("period_start").reindex(periods["period_start"])
    fig.add_trace(go.Bar(
        x=x_all, y=ints(entries["customers"]), name=lab["entries"], marker={"color": "rgba(158,158,158,0.35)"},
        hovertemplate=f"%{{x}}<br>{lab['entries']}: %{{y:,}}<extra></extra>",
    ), secondary_y=True)
    steps = ft[ft["step"] > first][["step", "stage"]].drop_duplicates().sort_values("step")
    for i, (step, stage) in enumerate(zip(steps["step"].tolist(), strs(steps["stage"]))):
        s = ft[ft["step"] == step].set_index("period_start").reindex(periods["period_start"])
        y = floats(s["conversion_from_start"])
        color = PALETTE[(i + 1) % len(PALETTE)]
        done_x = [d for d, c in zip(x_all, complete) if c]
        done_y = [v for v, c in zip(y, complete) if c]
        # the dotted part starts at the last complete period so the line is continuous
        open_idx = [k for k, c in enumerate(complete) if not c]
        if open_idx and open_idx[0] > 0:
            open_idx = [open_idx[0] - 1] + open_idx
        fig.add_trace(go.Scatter(
            x=done_x, y=done_y, name=stage, legendgroup=stage, mode="lines+markers",
            line={"color": color, "width": 2}, marker={"size": 7},
            hovertemplate=f"%{{x}} · {stage}: %{{y:.1%}} ({lab['complete']})<extra></extra>",
        ), secondary_y=False)
        fig.add_trace(go.Scatter(
            x=[x_all[k] for k in open_idx], y=[y[k] for k in open_idx],
            name=f"{stage} ({lab['incomplete_short']})", legendgroup=stage, showlegend=False,
            mode="lines+markers", line={"color": color, "width": 2, "dash": "dot"},
            marker={"size": 8, "symbol": ["circle" if complete[k] else "circle-open" for k in open_idx]},
            customdata=[[lab["complete"] if complete[k] else lab["incomplete_short"]] for k in open_idx],
            hovertemplate=f"%{{x}} · {stage}: %{{y:.1%}} (%{{customdata[0]}})<extra></extra>",
        ), secondary_y=False)
    shapes, annotations = [], []
    first_open = next((k for k, c in enumerate(complete) if not c), None)
    if first_open is not None:
        step_days = 7
        if len(x_all) > 1:
            step_days = max(1, (pd.Timestamp(x_all[-1]) - pd.Timestamp(x_all[-2])).days)
        half = pd.Timedelta(days=step_days / 2)
        x0 = (pd.Timestamp(x_all[first_open]) - half).strftime("%Y-%m-%d %H:%M")
        x1 = (pd.Timestamp(x_all[-1]) + half).strftime("%Y-%m-%d %H:%M")
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                       "fillcolor": "rgba(255, 193, 7, 0.13)", "line": {"width": 0}, "layer": "below"})
        annotations.append({"x": x0, "xref": "x", "y": 1.0, "yref": "paper", "xanchor": "left", "yanchor": "bottom",
                            "showarrow": False, "text": "⟶ " + lab["incomplete"], "font": {"size": 12, "color": "#8a6d00"}})
    fig.update_layout(shapes=shapes, annotations=annotations, hovermode="closest",
                      legend={"orientation": "h", "y": -0.18, "x": 0},
                      xaxis={"title": lab["entry_period"], **date_axis(lang)})
    fig.update_yaxes(title_text=lab["conversion_from_start"], tickformat=".0%", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text=lab["entries"], rangemode="tozero", showgrid=False, tickmode="auto", nticks=6,
                     tickformat=",d", secondary_y=True)
    return layout(fig, title, lang, 480)


# --------------------------------------------------------------------------- KPIs, stock


def kpi_title(stage: str, kpi: str, target: float, unit: str, lang: str = "en") -> str:
    """``interest: conversion to next ≥ 50.0%``.

    >>> kpi_title("checkout", "drop_off_rate_max", 0.4, "ratio")
    'checkout: drop-off ≤ 40.0%'
    """
    lab = labels(lang)
    value = fmt_duration(target, lang) if unit == "seconds" else fmt_pct(target, lang)
    return f"{stage}: {lab.get('kpi_' + kpi, kpi)} {value}"


def kpi_chart(stage_kpis: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Stage KPIs, one small panel per KPI: the target (grey) beside the actual value, green
    when met, red when not, grey when the funnel has no value. Ratios are in percent,
    durations in the unit of the larger of the two.
    """
    lab = labels(lang)
    title = lab["kpi_title"]
    require(stage_kpis, ("stage_order", "stage", "kpi", "target", "actual", "unit", "met"), "stage_kpis")
    if stage_kpis.empty:
        return no_data(title, lang)
    order = {k: i for i, k in enumerate(("conversion_to_next_min", "median_time_to_next_max", "drop_off_rate_max"))}
    k = stage_kpis.assign(_k=stage_kpis["kpi"].map(lambda v: order.get(v, 99))).sort_values(["stage_order", "_k"])
    rows = list(k.itertuples(index=False))
    n = len(rows)
    cols = min(n, 4)
    nrows = math.ceil(n / cols)
    titles = [kpi_title(str(r.stage), str(r.kpi), float(r.target), str(r.unit), lang) for r in rows]
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=titles, horizontal_spacing=0.07,
                        vertical_spacing=0.35 / max(nrows, 1))
    for i, r in enumerate(rows):
        target, actual = float(r.target), (None if is_missing(r.actual) else float(r.actual))
        met = None if is_missing(r.met) else bool(r.met)
        color = TARGET_COLOR if met is None else (MET_COLOR if met else NOT_MET_COLOR)
        if r.unit == "seconds":
            scale, unit = _duration_unit(max(target, actual or 0), lang)
            texts = [fmt_duration(target, lang), fmt_duration(actual, lang) if actual is not None else lab["no_value"]]
            tickformat, suffix = ",.1f", f" {unit}"
        else:
            scale, suffix, tickformat = 1.0, "", ".0%"
            texts = [fmt_pct(target, lang), fmt_pct(actual, lang) if actual is not None else lab["no_value"]]
        status = lab["no_value"] if met is None else (lab["met"] if met else lab["not_met"])
        fig.add_trace(go.Bar(
            x=[lab["target"], lab["actual"]], y=[target / scale, None if actual is None else actual / scale],
            marker={"color": [TARGET_COLOR, color]}, text=texts, textposition="outside", cliponaxis=False,
            customdata=[[target, status], [actual, status]], showlegend=False, name=titles[i],
            hovertemplate=f"{titles[i]}<br>%{{x}}: %{{text}} (%{{customdata[1]}})<extra></extra>",
        ), row=i // cols + 1, col=i % cols + 1)
        fig.update_yaxes(tickformat=tickformat, ticksuffix=suffix, rangemode="tozero",
                         row=i // cols + 1, col=i % cols + 1)
    fig.update_annotations(font_size=12)
    return layout(fig, title, lang, 120 + 300 * nrows)


def _duration_unit(seconds: float, lang: str) -> tuple[float, str]:
    lab = labels(lang)
    for size, key in ((86400, "unit_d"), (3600, "unit_h"), (60, "unit_min")):
        if seconds >= size:
            return float(size), lab[key]
    return 1.0, lab["unit_s"]


def stock_chart(stage_stock: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Stage stock over time as a cumulative flow diagram: for each day, customers by the
    stage they are in at the end of it, stacked with the last stage at the bottom.
    """
    lab = labels(lang)
    title = lab["stock_title"]
    require(stage_stock, ("day", "stage_order", "stage", "customers"), "stage_stock")
    if stage_stock.empty:
        return no_data(title, lang)
    days = sorted(stage_stock["day"].unique())
    x = dates(days)
    stages = stage_stock[["stage_order", "stage"]].drop_duplicates().sort_values("stage_order", ascending=False)
    fig = go.Figure()
    n = len(stages)
    for i, (order, stage) in enumerate(zip(stages["stage_order"].tolist(), strs(stages["stage"]))):
        s = stage_stock[stage_stock["stage_order"] == order].set_index("day").reindex(days)
        fig.add_trace(go.Scatter(
            x=x, y=[c or 0 for c in ints(s["customers"])], name=stage, mode="lines", stackgroup="stock",
            line={"width": 0.5, "color": PALETTE[(n - 1 - i) % len(PALETTE)]},
            hovertemplate=f"%{{x}} · {stage}: %{{y:,}}<extra></extra>",
        ))
    fig.update_layout(xaxis={"title": lab["day"], **date_axis(lang)}, yaxis={"title": lab["customers"]},
                      hovermode="x unified", legend={"traceorder": "reversed"})
    return layout(fig, title, lang, 440)
