"""Charts of the moves between stages: the Sankey and the matrix of ``transitions``, and ``loops``.

Like :mod:`cjm_pipeline.report.charts` (which makes them reachable as ``charts.sankey_chart``
and so on), each function takes the DataFrame of one table and returns a plotly figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .i18n import fmt_duration, fmt_int, fmt_pct, is_missing, labels
from .style import BAR_COLOR, KIND_COLORS, KIND_SOLID, floats, ints, layout, no_data, require, strs


def _stage_order(transitions: pd.DataFrame) -> list[str]:
    """Stage names in stage order, from the from- and to-sides of the transition matrix."""
    pairs = pd.concat([
        transitions[["from_stage", "from_order"]].set_axis(["stage", "order"], axis=1),
        transitions[["to_stage", "to_order"]].set_axis(["stage", "order"], axis=1),
    ])
    pairs = pairs[pairs["order"].notna()].drop_duplicates()
    pairs = pairs.assign(order=pairs["order"].astype("int64")).sort_values(["order", "stage"])
    return list(dict.fromkeys(strs(pairs["stage"])))


def sankey_chart(transitions: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """A Sankey of the transition matrix: (start) → stages → (end), link width = transitions.

    Back-steps are drawn (as circular links back to the earlier stage), coloured apart from
    forward moves and skips; the hover of a link gives its kind, customers and median gap.
    """
    lab = labels(lang)
    title = lab["sankey_title"]
    require(transitions, ("from_stage", "from_order", "to_stage", "to_order", "kind", "transitions",
                           "customers", "median_gap_s"), "transitions")
    t = transitions[transitions["transitions"] > 0]
    if t.empty:
        return no_data(title, lang)
    stages = _stage_order(t)
    start, end = lab["node_start"], lab["node_end"]
    has_start = bool((t["kind"] == "start").any())
    has_end = bool((t["kind"] == "end").any())
    nodes = ([start] if has_start else []) + stages + ([end] if has_end else [])
    index = {name: i for i, name in enumerate(nodes)}

    def node_of(name: Any, order: Any, side: str) -> int:
        if is_missing(order):
            return index[start if side == "from" else end]
        return index[str(name)]

    t = t.sort_values(["kind", "from_order", "to_order"], na_position="first", kind="stable")
    kinds = strs(t["kind"])
    source = [node_of(s, o, "from") for s, o in zip(t["from_stage"], t["from_order"])]
    target = [node_of(s, o, "to") for s, o in zip(t["to_stage"], t["to_order"])]
    values = ints(t["transitions"])
    kind_names = [lab.get(f"kind_{k}", k) for k in kinds]
    customdata = [[kn, c, fmt_duration(g, lang)] for kn, c, g in
                  zip(kind_names, ints(t["customers"]), t["median_gap_s"].tolist())]
    node_colors = (["#9e9e9e"] if has_start else []) + [BAR_COLOR] * len(stages) + (["#9e9e9e"] if has_end else [])
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": nodes, "color": node_colors, "pad": 18, "thickness": 16,
              "hovertemplate": "%{label}: %{value:,}<extra></extra>"},
        link={"source": source, "target": target, "value": values,
              "color": [KIND_COLORS.get(k, KIND_COLORS["forward"]) for k in kinds],
              "customdata": customdata, "label": kind_names,
              "hovertemplate": (f"%{{source.label}} → %{{target.label}} (%{{customdata[0]}})<br>"
                                f"{lab['transitions']}: %{{value:,}}<br>{lab['customers']}: %{{customdata[1]:,}}<br>"
                                f"{lab['median_gap']}: %{{customdata[2]}}<extra></extra>")},
    ))
    legend = "   ".join(f"<span style='color:{KIND_SOLID[k]}'>■</span> {lab['kind_' + k]}"
                        for k in ("forward", "skip", "back"))
    fig.update_layout(annotations=[{"text": legend, "showarrow": False, "xref": "paper", "yref": "paper",
                                    "x": 0, "y": 1.06, "xanchor": "left", "font": {"size": 13}}])
    return layout(fig, title, lang, 520)


def transition_heatmap(transitions: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """The transition matrix as a heatmap: rows are from-stages (and (start)), columns
    to-stages (and (end)); each cell shows its transitions. Back-steps (below the diagonal)
    are shaded red, other moves blue.
    """
    lab = labels(lang)
    title = lab["heatmap_title"]
    require(transitions, ("from_stage", "from_order", "to_stage", "to_order", "kind", "transitions",
                           "customers"), "transitions")
    t = transitions[transitions["transitions"] > 0]
    if t.empty:
        return no_data(title, lang)
    stages = _stage_order(t)
    start, end = lab["node_start"], lab["node_end"]
    rows = ([start] if (t["kind"] == "start").any() else []) + stages
    cols = stages + ([end] if (t["kind"] == "end").any() else [])
    grid: dict[str, list[list[float | None]]] = {
        k: [[None] * len(cols) for _ in rows] for k in ("other", "back")}
    hover = [[["", 0] for _ in cols] for _ in rows]
    for row in t.itertuples(index=False):
        r = rows.index(start if is_missing(row.from_order) else str(row.from_stage))
        c = cols.index(end if is_missing(row.to_order) else str(row.to_stage))
        layer = "back" if row.kind == "back" else "other"
        grid[layer][r][c] = float(row.transitions)
        hover[r][c] = [lab.get(f"kind_{row.kind}", str(row.kind)), int(row.customers)]
    fig = go.Figure()
    for layer, scale in (("other", "Blues"), ("back", "Reds")):
        fig.add_trace(go.Heatmap(
            z=grid[layer], x=cols, y=rows, colorscale=scale, showscale=False, xgap=2, ygap=2,
            texttemplate="%{z:,}", hoverongaps=False, customdata=hover, name=lab["kind_back"] if layer == "back" else "",
            hovertemplate=(f"%{{y}} → %{{x}} (%{{customdata[0]}})<br>{lab['transitions']}: %{{z:,}}<br>"
                           f"{lab['customers']}: %{{customdata[1]:,}}<extra></extra>"),
        ))
    fig.update_layout(xaxis={"title": lab["to_stage"], "side": "top", "type": "category"},
                      yaxis={"title": lab["from_stage"], "autorange": "reversed", "type": "category"})
    fig = layout(fig, title, lang, 140 + 52 * len(rows))
    fig.update_layout(margin={"t": 130})
    return fig



def loops_chart(loops: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Loops per back-edge ``from → to``: customers who made the back-step (labelled with
    the share of the from-stage's visitors and the resolved share), and beside it how
    often loopers and non-loopers reach the last stage.
    """
    lab = labels(lang)
    title = lab["loops_title"]
    require(loops, ("from_stage", "from_order", "to_stage", "to_order", "customers", "share_of_visitors",
                     "resolved_share", "looper_conversion", "non_looper_conversion"), "loops")
    if loops.empty:
        return no_data(title, lang)
    lp = loops.sort_values(["customers", "from_order", "to_order"], ascending=[False, True, True], kind="stable")
    edges = [f"{f} → {t}" for f, t in zip(strs(lp["from_stage"]), strs(lp["to_stage"]))]
    customers = ints(lp["customers"])
    share = floats(lp["share_of_visitors"])
    resolved = floats(lp["resolved_share"])
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.58, 0.42], horizontal_spacing=0.03,
                        subplot_titles=[lab["loop_customers_title"], lab["conversion"]])
    fig.add_trace(go.Bar(
        y=edges, x=customers, orientation="h", name=lab["loop_customers"], marker={"color": KIND_COLORS["back"]},
        text=[f"{fmt_int(c, lang)} ({fmt_pct(s, lang, 0)}), {lab['resolved']} {fmt_pct(r, lang, 0)}"
              for c, s, r in zip(customers, share, resolved)],
        textposition="auto", textangle=0, showlegend=False, customdata=[[s, r] for s, r in zip(share, resolved)],
        hovertemplate=(f"%{{y}}<br>{lab['customers']}: %{{x:,}} (%{{customdata[0]:.1%}} {lab['share_of_visitors']})"
                       f"<br>{lab['resolved']}: %{{customdata[1]:.1%}}<extra></extra>"),
    ), row=1, col=1)
    for name, col, color in ((lab["loopers"], "looper_conversion", KIND_COLORS["back"]),
                             (lab["non_loopers"], "non_looper_conversion", BAR_COLOR)):
        values = floats(lp[col])
        fig.add_trace(go.Bar(
            y=edges, x=values, orientation="h", name=name, marker={"color": color},
            text=[fmt_pct(v, lang) for v in values], textposition="outside", textangle=0, cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{name}: %{{x:.1%}}<extra></extra>",
        ), row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.25], row=1, col=2)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.12, "x": 1, "xanchor": "right"})
    return layout(fig, title, lang, 160 + 48 * len(edges))
