"""Charts of the moves between stages: the step-indexed flow of ``step_flows``, the Sankey and the
matrix of ``transitions``, and ``loops``.

Like :mod:`cjm_pipeline.report.charts` (which makes them reachable as ``charts.sankey_chart``
and so on), each function takes the DataFrame of one table and returns a plotly figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .i18n import fmt_duration, fmt_int, fmt_pct, is_missing, labels
from .style import BAR_COLOR, KIND_COLORS, KIND_SOLID, PALETTE, floats, ints, layout, no_data, require, strs


def _stage_order(transitions: pd.DataFrame) -> list[str]:
    """Stage names in stage order, from the from- and to-sides of the transition matrix."""
    pairs = pd.concat([
        transitions[["from_stage", "from_order"]].set_axis(["stage", "order"], axis=1),
        transitions[["to_stage", "to_order"]].set_axis(["stage", "order"], axis=1),
    ])
    pairs = pairs[pairs["order"].notna()].drop_duplicates()
    pairs = pairs.assign(order=pairs["order"].astype("int64")).sort_values(["order", "stage"])
    return list(dict.fromkeys(strs(pairs["stage"])))


#: Colours of the step-indexed flow's links: the journey ends, or goes on beyond the last column.
END_COLOR = "rgba(190, 190, 190, 0.35)"
END_NODE = "#d9d9d9"
#: Stage colours of the flow's nodes (no red: red links are back-steps).
STAGE_COLORS = [c for c in PALETTE if c != KIND_SOLID["back"]]


def flow_chart(step_flows: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """The step-indexed flow (``step_flows``): column k holds the customers' k-th stage visit, so
    a return to an earlier stage is a link to a later column, never a loop (retentioneering's
    StepSankey, Amplitude's Journeys). Nodes carry their stage and customers; link colour is the
    move's kind (back-steps red); a journey that ends, or goes on beyond the last column, flows into
    a small grey node.
    """
    lab = labels(lang)
    title = lab["flow_title"]
    require(step_flows, ("step", "from_stage", "from_order", "to_stage", "to_order", "kind", "customers"),
            "step_flows")
    f = step_flows[step_flows["customers"] > 0]
    if f.empty:
        return no_data(title, lang)
    f = f.sort_values(["step", "from_order", "to_order"], na_position="last", kind="stable")
    last = int(f["step"].max())
    orders = dict(zip(strs(f["from_stage"]), ints(f["from_order"])))
    colors = {stage: STAGE_COLORS[(order - 1) % len(STAGE_COLORS)] for stage, order in orders.items()}
    nodes: dict[tuple[int, str], int] = {}   # (column, stage or '(end)' / '(more)') -> value
    for step, stage, customers in zip(ints(f["step"]), strs(f["from_stage"]), ints(f["customers"])):
        nodes[(step, stage)] = nodes.get((step, stage), 0) + customers
    for step, kind, customers in zip(ints(f["step"]), strs(f["kind"]), ints(f["customers"])):
        if kind in ("end", "more"):
            key = (step + 1, "(" + kind + ")")
            nodes[key] = nodes.get(key, 0) + customers
    keys = sorted(nodes, key=lambda k: (k[0], k[1].startswith("("), orders.get(k[1], 0), k[1]))
    index = {k: i for i, k in enumerate(keys)}
    columns = max(k[0] for k in keys)
    tallest = max(sum(v for k, v in nodes.items() if k[0] == c) for c in range(1, columns + 1))
    x, y, filled = [], [], {}
    for col, name in keys:  # each column stacked top down in stage order, ends at the bottom
        x.append(0.01 + 0.98 * (col - 1) / max(columns - 1, 1))
        top = filled.get(col, 0.0)
        y.append(0.02 + 0.96 * (top + nodes[(col, name)] / 2) / tallest)
        filled[col] = top + nodes[(col, name)]
    names = {"(end)": lab["node_end"], "(more)": lab["node_more"]}
    node_labels = [f"{names.get(name, name)} · {fmt_int(nodes[(col, name)], lang)}" if not name.startswith("(")
                   else "" for col, name in keys]
    node_colors = [END_NODE if name.startswith("(") else colors.get(name, BAR_COLOR) for _, name in keys]
    hover = [f"{lab['flow_step'].format(n=col)}: {names.get(name, name)}" for col, name in keys]
    source, target, values, link_colors, link_hover = [], [], [], [], []
    for step, frm, to, kind, customers in zip(ints(f["step"]), strs(f["from_stage"]), strs(f["to_stage"]),
                                               strs(f["kind"]), ints(f["customers"])):
        source.append(index[(step, frm)])
        target.append(index[(step + 1, to)])
        values.append(customers)
        link_colors.append(END_COLOR if kind in ("end", "more") else KIND_COLORS.get(kind, KIND_COLORS["forward"]))
        link_hover.append(f"{lab['flow_step'].format(n=step)} → {step + 1}: {frm} → {names.get(to, to)} "
                          f"({lab.get('kind_' + kind, kind)})")
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": node_labels, "color": node_colors, "x": x, "y": y, "pad": 10, "thickness": 14,
              "customdata": hover, "hovertemplate": "%{customdata}: %{value:,}<extra></extra>",
              "line": {"width": 0}},
        link={"source": source, "target": target, "value": values, "color": link_colors, "customdata": link_hover,
              "hovertemplate": f"%{{customdata}}<br>{lab['customers']}: %{{value:,}}<extra></extra>"},
    ))
    steps = [{"text": lab["flow_step"].format(n=c), "x": 0.01 + 0.98 * (c - 1) / max(columns - 1, 1), "y": 1.04,
              "xref": "paper", "yref": "paper", "showarrow": False, "font": {"size": 12, "color": "#555"}}
             for c in range(1, min(columns, last) + 1)]
    legend = "   ".join(f"<span style='color:{KIND_SOLID[k]}'>■</span> {lab['kind_' + k]}"
                        for k in ("forward", "skip", "back"))
    note = {"text": legend + "   " + lab["flow_note"].format(n=last), "showarrow": False, "xref": "paper",
            "yref": "paper", "x": 0, "y": -0.1, "xanchor": "left", "yanchor": "top", "font": {"size": 12}}
    fig.update_layout(annotations=steps + [note])
    fig = layout(fig, title, lang, 580)
    fig.update_layout(margin={"b": 90})
    return fig


def sankey_chart(transitions: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """A Sankey of the transition matrix: (start) → stages → (end), link width = transitions.

    Back-steps are drawn (as circular links back to the earlier stage), coloured apart from
    forward moves and skips; the hover of a link gives its kind, customers and median gap.
    A return to an earlier stage makes a loop here: :func:`flow_chart` (the report's) draws the
    same journeys step by step, returns as later columns.
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
