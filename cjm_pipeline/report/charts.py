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

from .flows import flow_chart, loops_chart, sankey_chart, transition_heatmap
from .i18n import breakdown_label, fmt_duration, fmt_int, fmt_pct, is_missing, labels
from .style import (BAR_COLOR, DROP_COLOR, KIND_COLORS, KIND_SOLID, MET_COLOR, NOT_MET_COLOR, PALETTE,
                    TARGET_COLOR, date_axis, dates, floats, ints, layout, no_data, require, strs)

__all__ = [
    "funnel_chart", "funnel_breakdown_chart", "flow_chart", "sankey_chart", "transition_heatmap", "ttc_histograms",
    "trends_chart", "loops_chart", "kpi_title", "kpi_chart", "stock_chart",
    "KIND_COLORS", "KIND_SOLID", "BAR_COLOR", "DROP_COLOR", "MET_COLOR", "NOT_MET_COLOR", "TARGET_COLOR", "PALETTE",
]


# --------------------------------------------------------------------------- funnel


def funnel_chart(funnel: pd.DataFrame, *, lang: str = "en", title: str | None = None,
                 unit: str = "customer") -> go.Figure:
    """Bars of units (``unit``: customers, deals or sessions, as the axis says) per funnel step.
    Under each bar the stage, its units and the conversion from entry; on top of each bar after
    the first, a red segment of the units lost since the previous step (its ``dropped``) labelled
    ``−1,097 (35.1%)`` with the drop-off rate; between two bars, the conversion from the previous step.
    """
    lab = labels(lang)
    title = title or lab["funnel_title"]
    units = lab.get(f"units_{unit}", lab["customers"])
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
        hovertemplate=(f"%{{customdata[0]}}<br>{units}: %{{y:,}}<br>"
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
                      yaxis={"title": units, "rangemode": "tozero", "range": [0, top * 1.1]})
    return layout(fig, title, lang, 480)


def funnel_breakdown_chart(breakdown: pd.DataFrame, name: str, *, lang: str = "en",
                           max_values: int = 8, unit: str = "customer", period: str | None = None) -> go.Figure:
    """One breakdown of ``funnel_breakdown`` side by side: per step a group of bars, one per
    value, of the conversion from entry (labelled with the percentage; units in the hover).
    The ``max_values`` values with the most entries are shown, by entries; the ``cohort``
    breakdown shows the last ``max_values`` periods instead, contiguous (a period without entries
    is an empty group), in date order, its incomplete cohorts hatched and marked as in the trends.
    """
    lab = labels(lang)
    require(breakdown, ("breakdown", "value", "step", "stage", "customers", "conversion_from_start"),
             "funnel_breakdown")
    title = lab["breakdown_title"].format(name=breakdown_label(name, lang))
    b = breakdown[breakdown["breakdown"] == name]
    if b.empty:
        return no_data(title, lang)
    units = lab.get(f"units_{unit}", lab["customers"])
    entries = (b[b["step"] == b["step"].min()].groupby("value")["customers"].sum()
               .sort_values(ascending=False, kind="stable"))
    complete = {}
    if name == "cohort":
        periods = cohort_periods([v for v in entries.index if v not in ("(other)", "(none)")], period)
        total = len(periods)
        values = periods[-max_values:]
        if "is_complete" in b.columns:
            known = {v: bool(c) for v, c in zip(b["value"], b["is_complete"]) if not is_missing(c)}
            complete = {v: _completeness(periods, known, v) for v in values}
        if total > len(values):
            title += f" ({lab['breakdown_periods'].format(shown=len(values), total=total)})"
    else:
        total = len(entries)
        values = list(entries.index[:max_values])
        if total > len(values):
            title += f" ({lab['breakdown_top'].format(shown=len(values), total=total)})"
    steps = b[["step", "stage"]].drop_duplicates().sort_values("step")
    stages = strs(steps["stage"])
    fig = go.Figure()
    for i, value in enumerate(values):
        v = b[b["value"] == value].set_index("step").reindex(steps["step"])
        conv = floats(v["conversion_from_start"])
        customers = ints(v["customers"])
        is_open = complete.get(value) is False
        fig.add_trace(go.Bar(
            name=(f"{value} ({fmt_int(entries.get(value, 0), lang)})"
                  + (f" · {lab['incomplete_short']}" if is_open else "")),
            x=stages, y=conv, marker={"color": PALETTE[i % len(PALETTE)],
                                      "pattern": {"shape": "/" if is_open else ""}},
            text=["" if c is None or k == 0 else fmt_pct(c, lang, 0) for k, c in enumerate(conv)],
            textposition="outside", textangle=0, textfont={"size": 11}, cliponaxis=False,
            customdata=[[str(value), c] for c in customers],
            hovertemplate=(f"%{{customdata[0]}} · %{{x}}<br>{lab['conversion_from_start']}: %{{y:.1%}}"
                           f"<br>{units}: %{{customdata[1]:,}}<extra></extra>"),
        ))
    fig.update_layout(barmode="group", bargap=0.2, bargroupgap=0.05, uniformtext={"minsize": 9, "mode": "show"},
                      yaxis={"title": lab["conversion_from_start"], "tickformat": ".0%", "rangemode": "tozero"},
                      xaxis={"title": lab["stage"]},
                      legend={"title": {"text": breakdown_label(name, lang)}})
    return layout(fig, title, lang, 440)


def _completeness(periods: list[str], known: dict[str, bool], value: str) -> bool | None:
    """Whether cohort ``value`` is complete; a period without entries (not in ``known``) takes it from
    its neighbours: complete when a later period is, incomplete when an earlier one is not."""
    if value in known:
        return known[value]
    i = periods.index(value)
    if any(known.get(p) is True for p in periods[i + 1:]):
        return True
    if any(known.get(p) is False for p in periods[:i]):
        return False
    return None


def cohort_periods(values: list[str], period: str | None) -> list[str]:
    """Every period from the first to the last of ``values`` (``YYYY-MM-DD`` starts of ``period``:
    day, week or month), gaps filled, so a chart's cohorts are contiguous.

    >>> cohort_periods(["2025-01-13", "2024-12-30"], "week")
    ['2024-12-30', '2025-01-06', '2025-01-13']
    """
    if not values:
        return []
    first, last = min(values), max(values)
    freq = {"day": "D", "month": "MS"}.get(period or "week", "7D")
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(first, last, freq=freq)]


# --------------------------------------------------------------------------- time and trends


def ttc_histograms(ttc_histogram: pd.DataFrame, *, lang: str = "en", unit: str = "customer") -> go.Figure:
    """Time to convert, one histogram per funnel step (``step → next step``): units per
    time bin, labelled with the share of the step's converters; bins named in ``lang``.
    """
    lab = labels(lang)
    title = lab["ttc_title"]
    require(ttc_histogram, ("step", "stage", "next_stage", "bin_index", "bin_label", "customers", "share"),
             "ttc_histogram")
    h = ttc_histogram
    if h.empty:
        return no_data(title, lang)
    bins = h[["bin_index", "bin_label"]].drop_duplicates().sort_values("bin_index")
    names = lab["ttc_bins"].split("|")
    bin_labels = [names[int(i) - 1] if 1 <= int(i) <= len(names) else str(t)
                  for i, t in zip(bins["bin_index"], strs(bins["bin_label"]))]
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
    fig.update_yaxes(title_text=lab.get(f"units_{unit}", lab["customers"]), col=1)
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


def fmt_gap(gap: float | None, unit: str, lang: str = "en") -> str:
    """A KPI gap (positive = better than the target): ``+6.6 pp``, ``−7.1 pp``, ``+56 min``.

    >>> fmt_gap(0.06598, "ratio"), fmt_gap(-0.07097, "ratio", "ru"), fmt_gap(3333.0, "seconds"), fmt_gap(None, "ratio")
    ('+6.6 pp', '−7,1 п. п.', '+56 min', '–')
    """
    if gap is None or is_missing(gap):
        return "–"
    if unit == "seconds":
        text = fmt_duration(abs(gap), lang)
    else:
        number = f"{abs(gap) * 100:.1f}"
        text = f"{number.replace('.', ',') if lang == 'ru' else number} {labels(lang)['pp']}"
    return ("+" if gap >= 0 else "−") + text


def kpi_chart(stage_kpis: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Stage KPIs, one small panel per KPI: the target (grey) beside the actual value, green
    when met, red when not, grey when the funnel has no value, labelled with the gap (positive:
    better than the target). Ratios are in percent, durations in the unit of the larger of the
    two; a panel whose two values differ more than 20-fold has a log axis, so an actual of a
    thousandth of the target is still a bar one can read.
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
        gap = getattr(r, "gap", None)
        if r.unit == "seconds":
            scale, unit = _duration_unit(max(target, actual or 0), lang)
            texts = [fmt_duration(target, lang), fmt_duration(actual, lang) if actual is not None else lab["no_value"]]
            tickformat, suffix = ",.3~g", f" {unit}"
        else:
            scale, suffix, tickformat = 1.0, "", ".2~%"
            texts = [fmt_pct(target, lang), fmt_pct(actual, lang, 2 if actual and actual < 0.01 else 1)
                     if actual is not None else lab["no_value"]]
        if actual is not None:
            texts[1] += f" ({fmt_gap(None if is_missing(gap) else float(gap), str(r.unit), lang)})"
        status = lab["no_value"] if met is None else (lab["met"] if met else lab["not_met"])
        low, high = sorted((target, actual if actual is not None else target))
        log = low > 0 and high / low > 20
        fig.add_trace(go.Bar(
            x=[lab["target"], lab["actual"]], y=[target / scale, None if actual is None else actual / scale],
            marker={"color": [TARGET_COLOR, color]}, text=texts, textposition="outside", cliponaxis=False,
            customdata=[[target, status], [actual, status]], showlegend=False, name=titles[i],
            hovertemplate=f"{titles[i]}<br>%{{x}}: %{{text}} (%{{customdata[1]}})<extra></extra>",
        ), row=i // cols + 1, col=i % cols + 1)
        axis = {"type": "log", "range": [math.log10(low / scale) - 0.5, math.log10(high / scale) + 0.5],
                "title": {"text": lab["log_scale"], "font": {"size": 10}}} if log else {"rangemode": "tozero"}
        fig.update_yaxes(tickformat=tickformat, ticksuffix=suffix, row=i // cols + 1, col=i % cols + 1, **axis)
    fig.update_annotations(font_size=12)
    return layout(fig, title, lang, 120 + 300 * nrows)


def _duration_unit(seconds: float, lang: str) -> tuple[float, str]:
    lab = labels(lang)
    for size, key in ((86400, "unit_d"), (3600, "unit_h"), (60, "unit_min")):
        if seconds >= size:
            return float(size), lab[key]
    return 1.0, lab["unit_s"]


def stock_chart(stage_stock: pd.DataFrame, *, lang: str = "en", inactivity: str | None = None) -> go.Figure:
    """The active stock over time: for each day, active customers by the stage they are in at the
    end of it, stacked with the last stage at the bottom, and on top, in grey, the ``(lapsed)``
    band: customers inactive for longer than ``inactivity`` (the text of ``journey.stock_inactivity``,
    for the title) until their next visit.
    """
    lab = labels(lang)
    title = lab["stock_active_title"]
    if inactivity:
        title += f" ({lab['stock_lapsed_note'].format(inactivity=inactivity)})"
    require(stage_stock, ("day", "stage_order", "stage", "customers"), "stage_stock")
    if stage_stock.empty:
        return no_data(title, lang)
    days = sorted(stage_stock["day"].unique())
    x = dates(days)
    staged = stage_stock[stage_stock["stage_order"].notna()]
    stages = staged[["stage_order", "stage"]].drop_duplicates().sort_values("stage_order", ascending=False)
    fig = go.Figure()
    n = len(stages)
    for i, (order, stage) in enumerate(zip(stages["stage_order"].tolist(), strs(stages["stage"]))):
        s = staged[staged["stage_order"] == order].set_index("day").reindex(days)
        fig.add_trace(go.Scatter(
            x=x, y=[c or 0 for c in ints(s["customers"])], name=stage, mode="lines", stackgroup="stock",
            line={"width": 0.5, "color": PALETTE[(n - 1 - i) % len(PALETTE)]},
            hovertemplate=f"%{{x}} · {stage}: %{{y:,}}<extra></extra>",
        ))
    lapsed = stage_stock[stage_stock["stage_order"].isna()]
    if not lapsed.empty:
        s = lapsed.set_index("day").reindex(days)
        fig.add_trace(go.Scatter(
            x=x, y=[c or 0 for c in ints(s["customers"])], name=lab["lapsed"], mode="lines", stackgroup="stock",
            line={"width": 0.5, "color": "#c7c7c7"}, fillcolor="rgba(199, 199, 199, 0.45)",
            hovertemplate=f"%{{x}} · {lab['lapsed']}: %{{y:,}}<extra></extra>",
        ))
    fig.update_layout(xaxis={"title": lab["day"], **date_axis(lang)}, yaxis={"title": lab["customers"]},
                      hovermode="x unified", legend={"traceorder": "reversed"})
    return layout(fig, title, lang, 440)
