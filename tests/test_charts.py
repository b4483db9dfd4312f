"""cjm_pipeline.report.charts: each figure holds the stage names and numbers of the table it draws."""

import json
import math

import pandas as pd
import plotly.graph_objects as go
import pytest

import cjm_pipeline as cjm
from cjm_pipeline.report import charts, flows, i18n
from cjm_pipeline.report.charts import KIND_COLORS, MET_COLOR, NOT_MET_COLOR
from cjm_pipeline.report.i18n import fmt_int, fmt_pct

SAMPLE_STAGES = ["awareness", "interest", "consideration", "checkout", "purchase", "repeat_purchase"]


@pytest.fixture(scope="module")
def wh(ran, sample_config):
    return cjm.open(cjm.load_config(sample_config))


@pytest.fixture(scope="module")
def tables(wh):
    names = ["funnel", "funnel_breakdown", "funnel_trends", "ttc_histogram", "transitions", "loops",
             "stage_kpis", "stage_stock", "step_flows"]
    # shuffled, so every chart has to order the rows itself
    return {n: wh.table(n).sample(frac=1, random_state=7).reset_index(drop=True) for n in names}


def shapes_and_annotations_text(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


# --------------------------------------------------------------------------- funnel


def test_funnel_chart_bars_are_the_funnel_customers_with_drop_off_and_conversion_labels(tables):
    funnel = tables["funnel"].sort_values("step")
    fig = charts.funnel_chart(tables["funnel"])
    reached, lost = fig.data
    assert list(reached.y) == funnel["customers"].tolist()
    assert list(fig.layout.xaxis.ticktext) == [
        f"<b>{s}</b><br>{fmt_int(c)} · {fmt_pct(p)}"
        for s, c, p in zip(funnel["stage"], funnel["customers"], funnel["conversion_from_start"])]
    assert [t.split("<br>")[0] for t in fig.layout.xaxis.ticktext] == [f"<b>{s}</b>" for s in SAMPLE_STAGES]
    # the red segment on step k is the previous step's `dropped`: the bars stack up to the previous step
    dropped = funnel["dropped"].tolist()
    assert lost.y[0] is None and list(lost.y[1:]) == [int(d) for d in dropped[:-1]]
    customers = funnel["customers"].tolist()
    assert all(customers[k] + lost.y[k] == customers[k - 1] for k in range(1, len(customers)))
    notes = shapes_and_annotations_text(fig)
    first = funnel.iloc[0]
    assert f"−{fmt_int(first['dropped'])} ({fmt_pct(first['drop_off_rate'])})" in notes
    assert "−1,046 (32.3%)" in notes  # the README's numbers for the sample
    for conv in funnel["conversion_from_previous"].dropna():
        assert f"→ {fmt_pct(conv)}" in notes
    assert "→ 67.7%" in notes and len([n for n in notes if n.startswith("→")]) == len(funnel) - 1


def test_funnel_chart_in_russian_uses_russian_labels_and_number_format(tables):
    fig = charts.funnel_chart(tables["funnel"], lang="ru")
    assert fig.layout.title.text == i18n.LABELS["ru"]["funnel_title"]
    assert fig.layout.separators == ", "
    assert "−1\u00a0046 (32,3%)" in shapes_and_annotations_text(fig)
    assert fig.layout.yaxis.title.text == "Клиенты"


def test_funnel_chart_draws_cyrillic_stage_names_as_configured():
    funnel = pd.DataFrame({
        "step": [2, 1, 3], "stage": ["Интерес", "Знакомство", "Покупка"], "customers": [40, 100, 10],
        "conversion_from_previous": [0.4, None, 0.25], "conversion_from_start": [0.4, 1.0, 0.1],
        "dropped": pd.array([30, 60, None], dtype="Int64"), "drop_off_rate": [0.75, 0.6, None],
    })
    fig = charts.funnel_chart(funnel, lang="ru")
    assert [t.split("<br>")[0] for t in fig.layout.xaxis.ticktext] == ["<b>Знакомство</b>", "<b>Интерес</b>",
                                                                        "<b>Покупка</b>"]
    assert list(fig.data[0].y) == [100, 40, 10]
    assert "−60 (60,0%)" in shapes_and_annotations_text(fig)
    assert "Знакомство" in json.loads(fig.to_json())["layout"]["xaxis"]["ticktext"][0]


def test_funnel_breakdown_chart_is_one_bar_group_per_value(tables):
    bd = tables["funnel_breakdown"]
    fig = charts.funnel_breakdown_chart(bd, "first_channel")
    fc = bd[bd["breakdown"] == "first_channel"]
    entries = fc[fc["step"] == 1].set_index("value")["customers"].sort_values(ascending=False, kind="stable")
    assert [t.name for t in fig.data] == [f"{v} ({fmt_int(n)})" for v, n in entries.items()]
    for trace, value in zip(fig.data, entries.index):
        rows = fc[fc["value"] == value].sort_values("step")
        assert list(trace.x) == SAMPLE_STAGES
        assert list(trace.y) == pytest.approx(rows["conversion_from_start"].tolist())
        assert [c[1] for c in trace.customdata] == rows["customers"].tolist()
        assert list(trace.text[1:]) == [fmt_pct(c, digits=0) for c in rows["conversion_from_start"].iloc[1:]]
    assert "first channel" in fig.layout.title.text


def test_funnel_breakdown_chart_keeps_the_values_with_most_entries(tables):
    bd = tables["funnel_breakdown"]
    fig = charts.funnel_breakdown_chart(bd, "first_channel", max_values=4)
    channels = bd[(bd["breakdown"] == "first_channel") & (bd["step"] == 1)]
    top = channels.sort_values("customers", ascending=False, kind="stable").head(4)["value"].tolist()
    assert [t.name.split(" ")[0] for t in fig.data] == top
    assert f"top 4 of {len(channels)} values" in fig.layout.title.text


def test_cohort_breakdown_shows_the_last_periods_contiguous_and_marks_incomplete_ones(tables):
    bd = tables["funnel_breakdown"]
    cohorts = bd[(bd["breakdown"] == "cohort") & (bd["step"] == 1)].sort_values("value")
    weeks = cohorts["value"].tolist()
    # a week without entries (dropped here) is still a group of the chart: periods are contiguous
    gap = bd[~((bd["breakdown"] == "cohort") & (bd["value"] == weeks[-3]))]
    fig = charts.funnel_breakdown_chart(gap, "cohort", max_values=4, period="week")
    assert [t.name.split(" ")[0] for t in fig.data] == weeks[-4:]  # the last 4 weeks, in date order
    assert f"the last 4 of {len(weeks)} periods" in fig.layout.title.text
    assert list(fig.data[1].y) == [None] * 6  # the week without entries
    complete = dict(zip(cohorts["value"], cohorts["is_complete"]))
    assert not any(complete[w] for w in weeks[-4:])  # the sample's last weeks are all within the window
    for trace in fig.data:
        assert trace.marker.pattern.shape == "/" and "incomplete" in trace.name
    # the first week is complete: drawn plain
    first = charts.funnel_breakdown_chart(bd[bd["value"].isin(weeks[:2]) | (bd["breakdown"] != "cohort")], "cohort",
                                          period="week")
    assert complete[weeks[0]] and first.data[0].marker.pattern.shape == "" and "incomplete" not in first.data[0].name


# --------------------------------------------------------------------------- flows


def test_sankey_shows_every_transition_with_back_steps_coloured_apart(tables):
    t = tables["transitions"]
    fig = charts.sankey_chart(t)
    sankey = fig.data[0]
    assert list(sankey.node.label) == ["(start)"] + SAMPLE_STAGES + ["(end)"]
    link = sankey.link
    assert sum(link.value) == int(t["transitions"].sum())
    assert len(link.value) == len(t)
    labels = list(sankey.node.label)
    back = t[t["kind"] == "back"]
    assert len(back) > 0
    drawn_back = {(labels[s], labels[g]): v for s, g, v, c in zip(link.source, link.target, link.value, link.color)
                  if c == KIND_COLORS["back"]}
    assert drawn_back == {(r.from_stage, r.to_stage): r.transitions for r in back.itertuples()}
    assert drawn_back[("checkout", "interest")] == 13
    # every other link has another colour
    assert sum(c == KIND_COLORS["back"] for c in link.color) == len(back)
    assert KIND_COLORS["back"] not in {KIND_COLORS["forward"], KIND_COLORS["skip"]}


def test_flow_chart_is_step_indexed_so_a_return_is_a_later_column(tables):
    steps = tables["step_flows"]
    fig = charts.flow_chart(steps)
    sankey = fig.data[0]
    x, labels = list(sankey.node.x), list(sankey.node.label)
    # every link goes one column to the right: a back-step is never a loop
    assert all(x[t] > x[s] for s, t in zip(sankey.link.source, sankey.link.target))
    assert len(set(x)) == steps["step"].max() + 1  # visits 1..N, and the ends after the last
    assert sum(sankey.link.value) == steps["customers"].sum()
    # each stage node carries its customers: visit 1 of awareness is every customer who started there
    first = steps[(steps["step"] == 1) & (steps["from_stage"] == "awareness")]["customers"].sum()
    assert f"awareness · {fmt_int(first)}" in labels
    back = steps[steps["kind"] == "back"]
    assert len(back) and sum(c == KIND_COLORS["back"] for c in sankey.link.color) == len(back)
    # journeys that end are small grey nodes without a label, grey links
    ends = steps[steps["kind"].isin(["end", "more"])]
    grey = [v for v, c in zip(sankey.link.value, sankey.link.color) if c == flows.END_COLOR]
    assert sum(grey) == ends["customers"].sum()
    assert all(label == "" for label, color in zip(labels, sankey.node.color) if color == flows.END_NODE)


def test_transition_heatmap_cells_are_the_matrix(tables):
    t = tables["transitions"]
    fig = charts.transition_heatmap(t)
    other, back = fig.data
    rows, cols = list(other.y), list(other.x)
    assert rows == ["(start)"] + SAMPLE_STAGES and cols == SAMPLE_STAGES + ["(end)"]
    for r in t.itertuples():
        i = rows.index("(start)" if pd.isna(r.from_order) else r.from_stage)
        j = cols.index("(end)" if pd.isna(r.to_order) else r.to_stage)
        layer, empty = (back, other) if r.kind == "back" else (other, back)
        assert layer.z[i][j] == r.transitions and empty.z[i][j] is None
    assert back.z[rows.index("interest")][cols.index("awareness")] == 942
    assert other.z[rows.index("(start)")][cols.index("awareness")] == 3235
    # back-steps only go to an earlier stage
    for i, row in enumerate(back.z):
        for j, v in enumerate(row):
            if v is not None:
                assert SAMPLE_STAGES.index(cols[j]) < SAMPLE_STAGES.index(rows[i])


# --------------------------------------------------------------------------- time and trends


def test_ttc_histograms_one_panel_per_step_with_the_binned_customers(tables):
    h = tables["ttc_histogram"]
    fig = charts.ttc_histograms(h)
    steps = h[["step", "stage", "next_stage"]].drop_duplicates().sort_values("step")
    assert [a.text for a in fig.layout.annotations] == [f"{s} → {n}" for s, n in zip(steps["stage"], steps["next_stage"])]
    bins = h[["bin_index", "bin_label"]].drop_duplicates().sort_values("bin_index")["bin_label"].tolist()
    assert bins[0] == "<1m" and bins[-1] == "30d+"
    assert len(fig.data) == len(steps)
    for trace, step in zip(fig.data, steps["step"]):
        assert list(trace.x) == bins
        by_bin = h[h["step"] == step].set_index("bin_label")["customers"]
        assert list(trace.y) == [int(by_bin.get(b, 0)) for b in bins]
        assert sum(trace.y) == int(by_bin.sum())


def test_trends_mark_incomplete_periods(tables):
    ft = tables["funnel_trends"]
    fig = charts.trends_chart(ft, period="week")
    assert fig.layout.title.text == "Conversion by entry week"
    periods = ft[["period_start", "is_complete"]].drop_duplicates().sort_values("period_start")
    done = [d.strftime("%Y-%m-%d") for d in periods.loc[periods["is_complete"], "period_start"]]
    open_ = [d.strftime("%Y-%m-%d") for d in periods.loc[~periods["is_complete"], "period_start"]]
    assert done and open_
    entries = fig.data[0]
    assert list(entries.y) == ft[ft["step"] == 1].sort_values("period_start")["customers"].tolist()
    lines = {t.name: t for t in fig.data[1:]}
    last = ft[ft["step"] == ft["step"].max()].sort_values("period_start")
    stage = last["stage"].iloc[0]
    solid, dotted = lines[stage], lines[f"{stage} (incomplete)"]
    assert list(solid.x) == done and solid.line.dash is None
    assert list(dotted.x) == [done[-1]] + open_ and dotted.line.dash == "dot"
    assert list(dotted.y) == pytest.approx(last["conversion_from_start"].tolist()[len(done) - 1:])
    assert [s for s in dotted.marker.symbol][1:] == ["circle-open"] * len(open_)
    band = fig.layout.shapes[0]
    assert band.x0 < open_[0] <= open_[-1] < band.x1
    assert any("incomplete" in a.text for a in fig.layout.annotations)


# --------------------------------------------------------------------------- loops, KPIs, stock


def test_loops_chart_one_bar_per_back_edge(tables):
    loops = tables["loops"].sort_values(["customers", "from_order", "to_order"], ascending=[False, True, True])
    fig = charts.loops_chart(tables["loops"])
    customers, loopers, non_loopers = fig.data
    edges = [f"{a} → {b}" for a, b in zip(loops["from_stage"], loops["to_stage"])]
    assert list(customers.y) == edges and edges[0] == "interest → awareness"
    assert list(customers.x) == loops["customers"].tolist()
    assert customers.text[0] == f"736 ({fmt_pct(loops['share_of_visitors'].iloc[0], digits=0)}), resolved 81%"
    assert list(loopers.x) == pytest.approx(loops["looper_conversion"].tolist())
    assert list(non_loopers.x) == pytest.approx(loops["non_looper_conversion"].tolist())
    assert "7.9%" in loopers.text and "2.0%" in non_loopers.text  # checkout → awareness, README's numbers


def test_kpi_chart_target_against_actual_coloured_by_met(tables):
    kpis = tables["stage_kpis"]
    fig = charts.kpi_chart(kpis)
    assert len(fig.data) == len(kpis)
    titles = [a.text for a in fig.layout.annotations]
    assert "interest: conversion to next ≥ 55.0%" in titles
    assert "checkout: drop-off ≤ 40.0%" in titles
    by_title = dict(zip(titles, fig.data))
    for r in kpis.itertuples():
        trace = by_title[charts.kpi_title(r.stage, r.kpi, r.target, r.unit)]
        assert [c[0] for c in trace.customdata] == pytest.approx([r.target, r.actual])
        assert trace.marker.color[1] == (MET_COLOR if r.met else NOT_MET_COLOR)
        if r.unit == "ratio":
            assert list(trace.y) == pytest.approx([r.target, r.actual])
    not_met = by_title["interest: conversion to next ≥ 55.0%"]
    assert not_met.marker.color[1] == NOT_MET_COLOR and list(not_met.text) == ["55.0%", "47.9% (−7.1 pp)"]
    hour = by_title["interest: median time to next ≤ 1 h"]
    assert list(hour.y) == pytest.approx([1.0, 267.0 / 3600]) and hour.marker.color[1] == MET_COLOR
    assert hour.text[1] == "4 min (+56 min)"  # 56 minutes under the limit: a positive gap is better


def test_kpi_chart_is_readable_when_the_actual_is_a_thousandth_of_the_target(tables):
    kpis = tables["stage_kpis"].copy()
    row = kpis.index[(kpis["stage"] == "interest") & (kpis["kpi"] == "conversion_to_next_min")][0]
    kpis.loc[row, ["actual", "gap", "met"]] = [0.00055, 0.00055 - 0.55, False]
    fig = charts.kpi_chart(kpis)
    titles = [a.text for a in fig.layout.annotations]
    i = titles.index("interest: conversion to next ≥ 55.0%")
    axis = fig.layout[f"yaxis{i + 1 if i else ''}"]
    assert axis.type == "log"  # a linear axis would draw the actual 0.2 px high
    low, high = axis.range
    assert low < math.log10(0.00055) < math.log10(0.55) < high
    assert fig.data[i].text[1] == "0.06% (−54.9 pp)"
    others = [fig.layout[f"yaxis{j + 1 if j else ''}"].type for j in range(len(titles)) if j != i]
    assert "log" not in others  # values of one order of magnitude keep a linear axis from zero


def test_stock_chart_stacks_one_area_per_stage(tables):
    stock = tables["stage_stock"]
    fig = charts.stock_chart(stock, inactivity="90d")
    # the last stage at the bottom, the lapsed band on top
    assert [t.name for t in fig.data] == SAMPLE_STAGES[::-1] + ["lapsed (inactive)"]
    assert all(t.stackgroup == "stock" for t in fig.data)
    assert "inactive for 90d" in fig.layout.title.text
    assert fig.data[-1].y[-1] > 0  # by the end of the sample some customers have lapsed
    for trace in fig.data:
        rows = stock[stock["stage"] == (trace.name if trace.name in SAMPLE_STAGES else "(lapsed)")].sort_values("day")
        assert list(trace.x) == [d.strftime("%Y-%m-%d") for d in rows["day"]]
        assert list(trace.y) == rows["customers"].tolist()
    last_day = stock["day"].max()
    assert sum(t.y[-1] for t in fig.data) == int(stock.loc[stock["day"] == last_day, "customers"].sum())


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("draw, table", [
    (charts.funnel_chart, "funnel"), (charts.sankey_chart, "transitions"), (charts.transition_heatmap, "transitions"),
    (charts.ttc_histograms, "ttc_histogram"), (charts.trends_chart, "funnel_trends"), (charts.loops_chart, "loops"),
    (charts.kpi_chart, "stage_kpis"), (charts.stock_chart, "stage_stock"), (charts.flow_chart, "step_flows"),
])
def test_an_empty_table_draws_a_no_data_figure(tables, draw, table):
    fig = draw(tables[table].head(0), lang="ru")
    assert len(fig.data) == 0 and [a.text for a in fig.layout.annotations] == ["Нет данных"]


def test_a_table_without_its_columns_is_refused():
    with pytest.raises(ValueError, match="funnel: missing column"):
        charts.funnel_chart(pd.DataFrame({"step": [1], "stage": ["a"]}))


def test_unknown_language_is_refused(tables):
    with pytest.raises(ValueError, match="unknown language 'de'"):
        charts.funnel_chart(tables["funnel"], lang="de")


def test_both_languages_have_the_same_labels():
    assert i18n.LABELS["en"].keys() == i18n.LABELS["ru"].keys()
