"""Charts of the journey tables: DataFrames in, plotly figures out.

This module only draws. Every function takes the DataFrame of one output table, exactly
as :class:`cjm_pipeline.Warehouse` returns it (or as read from the exported CSV), and
returns a :class:`plotly.graph_objects.Figure`; nothing here reads a warehouse or writes
a file. Rows may come in any order: each chart orders by the table's own order columns.
Stage names are drawn as configured (Cyrillic works).

>>> import cjm_pipeline as cjm                                   # doctest: +SKIP
>>> from cjm_pipeline import charts                              # doctest: +SKIP
>>> wh = cjm.open("build/cjm.duckdb")                            # doctest: +SKIP
>>> charts.funnel_chart(wh.funnel(), lang="ru").show()           # doctest: +SKIP

Labels come in English and Russian from one dict, :data:`LABELS`; numbers are formatted
for the language (``3,127`` and ``64.9%`` against ``3 127`` and ``64,9%``). Data arrays
are passed to plotly as plain lists, so a figure's JSON holds readable numbers.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LANGS = ("en", "ru")

#: Every text the charts and the HTML report show, per language.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        # charts
        "customers": "Customers",
        "stage": "Stage",
        "step": "Step",
        "reached": "reached the step",
        "dropped": "lost since the previous step",
        "conversion_from_start": "Conversion from entry",
        "conversion_from_previous": "Conversion from the previous step",
        "funnel_title": "Funnel: customers per step, drop-off and conversion",
        "breakdown_title": "Funnel by {name}: conversion from entry per step",
        "breakdown_top": "top {shown} of {total} values by entries",
        "entries": "Entries",
        "sankey_title": "Stage flows: forward moves, skips and back-steps",
        "heatmap_title": "Transition matrix: moves from a stage (rows) to a stage (columns)",
        "from_stage": "From stage",
        "to_stage": "To stage",
        "transitions": "Transitions",
        "median_gap": "Median gap",
        "kind_forward": "forward",
        "kind_skip": "skip",
        "kind_back": "back-step",
        "kind_start": "start",
        "kind_end": "end",
        "node_start": "(start)",
        "node_end": "(end)",
        "ttc_title": "Time to convert: from each step to the next",
        "share": "Share",
        "trends_title": "Conversion by entry {period}",
        "period_day": "day",
        "period_week": "week",
        "period_month": "month",
        "period_any": "period",
        "entry_period": "Entry period",
        "incomplete": "incomplete: the window has not ended for every entry",
        "incomplete_short": "incomplete",
        "complete": "complete",
        "loops_title": "Loops: back-steps per edge",
        "loop_customers": "Customers who stepped back",
        "loop_customers_title": "Customers who stepped back (% of the stage's visitors), share resolved",
        "loopers": "Loopers reach the last stage",
        "non_loopers": "Non-loopers reach the last stage",
        "conversion": "Conversion",
        "share_of_visitors": "of the stage's visitors",
        "resolved": "resolved",
        "kpi_title": "Stage KPIs: target against actual",
        "target": "Target",
        "actual": "Actual",
        "met": "met",
        "not_met": "not met",
        "no_value": "no value",
        "kpi_conversion_to_next_min": "conversion to next ≥",
        "kpi_median_time_to_next_max": "median time to next ≤",
        "kpi_drop_off_rate_max": "drop-off ≤",
        "stock_title": "Stage stock: customers by current stage at the end of each day",
        "day": "Day",
        "no_data": "No data",
        "breakdown_first_channel": "first channel",
        "breakdown_last_channel": "last channel",
        "breakdown_entry_source": "entry source",
        "breakdown_cohort": "entry cohort",
        "unit_s": "s", "unit_min": "min", "unit_h": "h", "unit_d": "d",
        # report
        "report_title": "Customer journey report",
        "generated": "Generated",
        "config": "Config",
        "run": "Run",
        "data_period": "Data",
        "funnel_settings": "Funnel",
        "mode": "mode",
        "window": "window",
        "summary": "Summary",
        "customers_total": "Customers",
        "customers_note": "people after identity stitching",
        "entered": "Entered the funnel",
        "entered_note": "reached “{stage}”",
        "converted": "Converted",
        "converted_note": "reached “{stage}” within {window}",
        "incomplete_entries": "{n} of the entries are still within their window (incomplete)",
        "barriers": "Biggest barriers",
        "barrier_drop_off": "Biggest drop-off",
        "barrier_back_steps": "Most frequent back-step",
        "barrier_slow_step": "Slowest step",
        "no_barriers": "No barriers found.",
        "drop_off_sentence": "{stage} → {to_stage} loses {value} of {customers} customers ({rate})",
        "back_steps_sentence": "{stage} → {to_stage}: {customers_n} stepped back ({transitions_n})",
        "slow_step_sentence": "{stage} → {to_stage} takes a median of {duration} ({customers_n})",
        "forms_customers": "customer|customers|customers", "forms_customers_of": "customer|customers|customers",
        "forms_times": "time|times|times",
        "contents": "Contents",
        "charts": "Charts",
        "tables": "Tables",
        "table_funnel": "Funnel",
        "table_barriers": "Barriers",
        "table_loops": "Loops",
        "table_kpis": "Stage KPIs",
        "table_dwell": "Time in stage",
        "table_paths": "Top stage paths (collapsed)",
        "table_coverage": "Stage coverage",
        "col_step": "step", "col_stage": "stage", "col_customers": "customers",
        "col_conv_prev": "conversion from previous", "col_conv_start": "conversion from entry",
        "col_dropped": "dropped", "col_drop_off_rate": "drop-off rate",
        "col_reached_any_order": "reached in any order", "col_ttc_median": "median time to next",
        "col_kind": "kind", "col_rank": "rank", "col_description": "barrier",
        "col_edge": "back-step", "col_occurrences": "occurrences", "col_share_of_visitors": "share of visitors",
        "col_resolved_share": "resolved", "col_median_return": "median return",
        "col_looper_conversion": "looper conversion", "col_non_looper_conversion": "non-looper conversion",
        "col_kpi": "KPI", "col_target": "target", "col_actual": "actual", "col_met": "met",
        "col_visits": "visits", "col_open_visits": "open visits", "col_dwell_median": "median dwell",
        "col_dwell_p90": "90th percentile",
        "col_path": "path", "col_share": "share", "col_cumulative_share": "cumulative share",
        "col_conversion": "conversion", "col_median_duration": "median duration",
        "col_events": "events", "col_share_of_events": "share of events",
        "no_stage": "(no stage)",
        "yes": "yes", "no": "no",
        "empty_table": "nothing to show",
        "png_warning": "PNG export skipped: {reason}",
        "footer": "Made by cjm {version}. Numbers are the tables of the last run; see the README, “Semantics”.",
    },
    "ru": {
        "customers": "Клиенты",
        "stage": "Этап",
        "step": "Шаг",
        "reached": "дошли до шага",
        "dropped": "выбыли после предыдущего шага",
        "conversion_from_start": "Конверсия от входа",
        "conversion_from_previous": "Конверсия от предыдущего шага",
        "funnel_title": "Воронка: клиенты на шагах, отток и конверсия",
        "breakdown_title": "Воронка в разрезе «{name}»: конверсия от входа по шагам",
        "breakdown_top": "топ {shown} из {total} значений по числу входов",
        "entries": "Входы",
        "sankey_title": "Потоки между этапами: вперёд, через этап и шаги назад",
        "heatmap_title": "Матрица переходов: из этапа (строки) в этап (столбцы)",
        "from_stage": "Из этапа",
        "to_stage": "В этап",
        "transitions": "Переходы",
        "median_gap": "Медиана интервала",
        "kind_forward": "вперёд",
        "kind_skip": "через этап",
        "kind_back": "шаг назад",
        "kind_start": "начало",
        "kind_end": "конец",
        "node_start": "(начало)",
        "node_end": "(конец)",
        "ttc_title": "Время до конверсии: от каждого шага до следующего",
        "share": "Доля",
        "trends_title": "Конверсия по {period} входа",
        "period_day": "дням",
        "period_week": "неделям",
        "period_month": "месяцам",
        "period_any": "периодам",
        "entry_period": "Период входа",
        "incomplete": "неполные: окно конверсии ещё не закончилось для всех входов",
        "incomplete_short": "неполный",
        "complete": "полный",
        "loops_title": "Петли: шаги назад по рёбрам",
        "loop_customers": "Клиенты, сделавшие шаг назад",
        "loop_customers_title": "Сделали шаг назад (% посетителей этапа), доля вернувшихся",
        "loopers": "С петлёй доходят до последнего этапа",
        "non_loopers": "Без петли доходят до последнего этапа",
        "conversion": "Конверсия",
        "share_of_visitors": "посетителей этапа",
        "resolved": "вернулись",
        "kpi_title": "KPI этапов: цель и факт",
        "target": "Цель",
        "actual": "Факт",
        "met": "выполнен",
        "not_met": "не выполнен",
        "no_value": "нет значения",
        "kpi_conversion_to_next_min": "конверсия в следующий ≥",
        "kpi_median_time_to_next_max": "медиана времени до следующего ≤",
        "kpi_drop_off_rate_max": "отток ≤",
        "stock_title": "Запас на этапах: клиенты по текущему этапу на конец дня",
        "day": "День",
        "no_data": "Нет данных",
        "breakdown_first_channel": "первый канал",
        "breakdown_last_channel": "последний канал",
        "breakdown_entry_source": "источник входа",
        "breakdown_cohort": "когорта входа",
        "unit_s": "с", "unit_min": "мин", "unit_h": "ч", "unit_d": "дн.",
        "report_title": "Отчёт о пути клиента",
        "generated": "Создан",
        "config": "Конфигурация",
        "run": "Запуск",
        "data_period": "Данные",
        "funnel_settings": "Воронка",
        "mode": "режим",
        "window": "окно",
        "summary": "Сводка",
        "customers_total": "Клиенты",
        "customers_note": "людей после склейки идентификаторов",
        "entered": "Вошли в воронку",
        "entered_note": "дошли до «{stage}»",
        "converted": "Конверсия",
        "converted_note": "дошли до «{stage}» за {window}",
        "incomplete_entries": "у {n} входов окно конверсии ещё не закончилось (неполные)",
        "barriers": "Главные барьеры",
        "barrier_drop_off": "Самый большой отток",
        "barrier_back_steps": "Самый частый шаг назад",
        "barrier_slow_step": "Самый медленный шаг",
        "no_barriers": "Барьеров не найдено.",
        "drop_off_sentence": "{stage} → {to_stage}: теряется {value} из {customers_of} ({rate})",
        "back_steps_sentence": "{stage} → {to_stage}: шаг назад сделали {customers_n} ({transitions_n})",
        "slow_step_sentence": "{stage} → {to_stage}: медиана времени перехода {duration} ({customers_n})",
        "forms_customers": "клиент|клиента|клиентов", "forms_customers_of": "клиента|клиентов|клиентов",
        "forms_times": "раз|раза|раз",
        "contents": "Содержание",
        "charts": "Графики",
        "tables": "Таблицы",
        "table_funnel": "Воронка",
        "table_barriers": "Барьеры",
        "table_loops": "Петли",
        "table_kpis": "KPI этапов",
        "table_dwell": "Время на этапе",
        "table_paths": "Частые пути по этапам (свёрнутые)",
        "table_coverage": "Покрытие этапами",
        "col_step": "шаг", "col_stage": "этап", "col_customers": "клиенты",
        "col_conv_prev": "конверсия от предыдущего", "col_conv_start": "конверсия от входа",
        "col_dropped": "выбыли", "col_drop_off_rate": "доля оттока",
        "col_reached_any_order": "дошли в любом порядке", "col_ttc_median": "медиана времени до следующего",
        "col_kind": "вид", "col_rank": "место", "col_description": "барьер",
        "col_edge": "шаг назад", "col_occurrences": "случаев", "col_share_of_visitors": "доля посетителей",
        "col_resolved_share": "вернулись", "col_median_return": "медиана возврата",
        "col_looper_conversion": "конверсия с петлёй", "col_non_looper_conversion": "конверсия без петли",
        "col_kpi": "KPI", "col_target": "цель", "col_actual": "факт", "col_met": "выполнен",
        "col_visits": "визиты", "col_open_visits": "открытые визиты", "col_dwell_median": "медиана",
        "col_dwell_p90": "90-й перцентиль",
        "col_path": "путь", "col_share": "доля", "col_cumulative_share": "накопленная доля",
        "col_conversion": "конверсия", "col_median_duration": "медиана длительности",
        "col_events": "события", "col_share_of_events": "доля событий",
        "no_stage": "(без этапа)",
        "yes": "да", "no": "нет",
        "empty_table": "нет данных",
        "png_warning": "PNG не записаны: {reason}",
        "footer": "Сделано cjm {version}. Числа взяты из таблиц последнего запуска; определения в README, «Semantics».",
    },
}

#: Colours of the transition kinds; back-steps stand apart in red.
KIND_COLORS = {
    "forward": "rgba(55, 106, 176, 0.55)",
    "skip": "rgba(44, 160, 101, 0.55)",
    "back": "rgba(214, 39, 40, 0.65)",
    "start": "rgba(150, 150, 150, 0.35)",
    "end": "rgba(150, 150, 150, 0.35)",
}
#: The same colours, opaque: the Sankey's legend.
KIND_SOLID = {"forward": "#376ab0", "skip": "#2ca065", "back": "#d62728"}
BAR_COLOR = "#376ab0"
DROP_COLOR = "rgba(214, 39, 40, 0.35)"
MET_COLOR = "#2ca065"
NOT_MET_COLOR = "#d62728"
TARGET_COLOR = "#9e9e9e"
PALETTE = ["#376ab0", "#f28e2b", "#2ca065", "#d62728", "#8c6bb1", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


# --------------------------------------------------------------------------- labels and numbers


def labels(lang: str = "en") -> dict[str, str]:
    """The label dict of ``lang`` (``en`` or ``ru``).

    >>> labels("ru")["customers"]
    'Клиенты'
    """
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    return LABELS[lang]


def _missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x))
    except TypeError:
        return False


def fmt_int(n: Any, lang: str = "en") -> str:
    """A count with thousands separators: ``3,127`` (en), ``3 127`` (ru, a no-break space).

    >>> fmt_int(3127), fmt_int(3127, "ru"), fmt_int(None)
    ('3,127', '3\\xa0127', '–')
    """
    if _missing(n):
        return "–"
    text = f"{int(round(float(n))):,}"
    return text.replace(",", "\u00a0") if lang == "ru" else text


def fmt_pct(x: Any, lang: str = "en", digits: int = 1) -> str:
    """A fraction as a percentage: ``64.9%`` (en), ``64,9%`` (ru).

    >>> fmt_pct(0.649185), fmt_pct(0.649185, "ru"), fmt_pct(float("nan"))
    ('64.9%', '64,9%', '–')
    """
    if _missing(x):
        return "–"
    text = f"{100 * float(x):.{digits}f}%"
    return text.replace(".", ",") if lang == "ru" else text


def fmt_duration(seconds: Any, lang: str = "en") -> str:
    """Seconds in the largest fitting unit: ``39 s``, ``2.1 min``, ``3.4 h``, ``24.2 d``.

    >>> fmt_duration(39), fmt_duration(129), fmt_duration(2087119.5), fmt_duration(2087119.5, "ru")
    ('39 s', '2.1 min', '24.2 d', '24,2 дн.')
    """
    if _missing(seconds):
        return "–"
    lab = labels(lang)
    s = float(seconds)
    if s >= 86400:
        text = f"{s / 86400:.1f} {lab['unit_d']}"
    elif s >= 3600:
        text = f"{s / 3600:.1f} {lab['unit_h']}"
    elif s >= 60:
        text = f"{s / 60:.1f} {lab['unit_min']}"
    else:
        text = f"{s:.0f} {lab['unit_s']}"
    return text.replace(".", ",", 1) if lang == "ru" else text


def breakdown_label(name: str, lang: str = "en") -> str:
    """A breakdown's display name: ``first channel``; ``properties.city`` stays ``city``.

    >>> breakdown_label("first_channel", "ru"), breakdown_label("properties.city")
    ('первый канал', 'city')
    """
    key = f"breakdown_{name}"
    lab = labels(lang)
    if key in lab:
        return lab[key]
    return name.split(".", 1)[1] if name.startswith("properties.") else name


def _separators(lang: str) -> str:
    """plotly's ``layout.separators``: decimal mark then thousands separator."""
    return ", " if lang == "ru" else ".,"


def _floats(values: Iterable[Any]) -> list[float | None]:
    """Numbers as plain floats, missing values (NaN, pd.NA) as None."""
    return [None if _missing(v) else float(v) for v in values]


def _ints(values: Iterable[Any]) -> list[int | None]:
    return [None if _missing(v) else int(v) for v in values]


def _strs(values: Iterable[Any]) -> list[str]:
    return ["" if _missing(v) else str(v) for v in values]


def _dates(values: Iterable[Any]) -> list[str]:
    """Dates as ISO ``YYYY-MM-DD`` strings."""
    return [pd.Timestamp(v).strftime("%Y-%m-%d") for v in values]


def _date_axis(lang: str) -> dict[str, Any]:
    """A date x-axis; Russian dates as ``29.12.24`` (plotly.js has no Russian month names built in)."""
    return {"type": "date", "tickformat": "%d.%m.%y"} if lang == "ru" else {"type": "date"}


def _require(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, frame.columns))})")


def _empty(title: str, lang: str) -> go.Figure:
    """A figure that says there is nothing to draw."""
    fig = go.Figure()
    fig.update_layout(title=title, height=220, xaxis={"visible": False}, yaxis={"visible": False},
                      separators=_separators(lang),
                      annotations=[{"text": labels(lang)["no_data"], "showarrow": False, "font": {"size": 16},
                                    "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}])
    return fig


def _layout(fig: go.Figure, title: str, lang: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"}, height=height,
                      separators=_separators(lang), template="plotly_white",
                      margin={"l": 70, "r": 30, "t": 80, "b": 60}, font={"family": "Arial, sans-serif", "size": 13})
    return fig


# --------------------------------------------------------------------------- funnel


def funnel_chart(funnel: pd.DataFrame, *, lang: str = "en", title: str | None = None) -> go.Figure:
    """Bars of customers per funnel step. Under each bar the stage, its customers and the
    conversion from entry; on top of each bar after the first, a red segment of the
    customers lost since the previous step (its ``dropped``) labelled ``−1,097 (35.1%)``
    with the drop-off rate; between two bars, the conversion from the previous step.
    """
    lab = labels(lang)
    title = title or lab["funnel_title"]
    _require(funnel, ("step", "stage", "customers", "conversion_from_start", "conversion_from_previous",
                      "dropped", "drop_off_rate"), "funnel")
    if funnel.empty:
        return _empty(title, lang)
    f = funnel.sort_values("step").reset_index(drop=True)
    x = list(range(len(f)))
    stages = _strs(f["stage"])
    customers = _ints(f["customers"])
    conv_start = _floats(f["conversion_from_start"])
    conv_prev = _floats(f["conversion_from_previous"])
    dropped = _ints(f["dropped"])
    drop_rate = _floats(f["drop_off_rate"])
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
    return _layout(fig, title, lang, 480)


def funnel_breakdown_chart(breakdown: pd.DataFrame, name: str, *, lang: str = "en",
                           max_values: int = 8) -> go.Figure:
    """One breakdown of ``funnel_breakdown`` side by side: per step a group of bars, one per
    value, of the conversion from entry (labelled with the percentage; customers in the
    hover). The ``max_values`` values with the most entries are shown; cohorts and dates
    in date order, others by entries.
    """
    lab = labels(lang)
    _require(breakdown, ("breakdown", "value", "step", "stage", "customers", "conversion_from_start"),
             "funnel_breakdown")
    title = lab["breakdown_title"].format(name=breakdown_label(name, lang))
    b = breakdown[breakdown["breakdown"] == name]
    if b.empty:
        return _empty(title, lang)
    entries = (b[b["step"] == b["step"].min()].groupby("value")["customers"].sum()
               .sort_values(ascending=False, kind="stable"))
    total = len(entries)
    values = list(entries.index[:max_values])
    if name == "cohort":
        values = sorted(values)
    if total > len(values):
        title += f" ({lab['breakdown_top'].format(shown=len(values), total=total)})"
    steps = b[["step", "stage"]].drop_duplicates().sort_values("step")
    stages = _strs(steps["stage"])
    fig = go.Figure()
    for i, value in enumerate(values):
        v = b[b["value"] == value].set_index("step").reindex(steps["step"])
        conv = _floats(v["conversion_from_start"])
        customers = _ints(v["customers"])
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
    return _layout(fig, title, lang, 440)


# --------------------------------------------------------------------------- flows


def _stage_order(transitions: pd.DataFrame) -> list[str]:
    """Stage names in stage order, from the from- and to-sides of the transition matrix."""
    pairs = pd.concat([
        transitions[["from_stage", "from_order"]].set_axis(["stage", "order"], axis=1),
        transitions[["to_stage", "to_order"]].set_axis(["stage", "order"], axis=1),
    ])
    pairs = pairs[pairs["order"].notna()].drop_duplicates()
    pairs = pairs.assign(order=pairs["order"].astype("int64")).sort_values(["order", "stage"])
    return list(dict.fromkeys(_strs(pairs["stage"])))


def sankey_chart(transitions: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """A Sankey of the transition matrix: (start) → stages → (end), link width = transitions.

    Back-steps are drawn (as circular links back to the earlier stage), coloured apart from
    forward moves and skips; the hover of a link gives its kind, customers and median gap.
    """
    lab = labels(lang)
    title = lab["sankey_title"]
    _require(transitions, ("from_stage", "from_order", "to_stage", "to_order", "kind", "transitions",
                           "customers", "median_gap_s"), "transitions")
    t = transitions[transitions["transitions"] > 0]
    if t.empty:
        return _empty(title, lang)
    stages = _stage_order(t)
    start, end = lab["node_start"], lab["node_end"]
    has_start = bool((t["kind"] == "start").any())
    has_end = bool((t["kind"] == "end").any())
    nodes = ([start] if has_start else []) + stages + ([end] if has_end else [])
    index = {name: i for i, name in enumerate(nodes)}

    def node_of(name: Any, order: Any, side: str) -> int:
        if _missing(order):
            return index[start if side == "from" else end]
        return index[str(name)]

    t = t.sort_values(["kind", "from_order", "to_order"], na_position="first", kind="stable")
    kinds = _strs(t["kind"])
    source = [node_of(s, o, "from") for s, o in zip(t["from_stage"], t["from_order"])]
    target = [node_of(s, o, "to") for s, o in zip(t["to_stage"], t["to_order"])]
    values = _ints(t["transitions"])
    kind_names = [lab.get(f"kind_{k}", k) for k in kinds]
    customdata = [[kn, c, fmt_duration(g, lang)] for kn, c, g in
                  zip(kind_names, _ints(t["customers"]), t["median_gap_s"].tolist())]
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
    return _layout(fig, title, lang, 520)


def transition_heatmap(transitions: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """The transition matrix as a heatmap: rows are from-stages (and (start)), columns
    to-stages (and (end)); each cell shows its transitions. Back-steps (below the diagonal)
    are shaded red, other moves blue.
    """
    lab = labels(lang)
    title = lab["heatmap_title"]
    _require(transitions, ("from_stage", "from_order", "to_stage", "to_order", "kind", "transitions",
                           "customers"), "transitions")
    t = transitions[transitions["transitions"] > 0]
    if t.empty:
        return _empty(title, lang)
    stages = _stage_order(t)
    start, end = lab["node_start"], lab["node_end"]
    rows = ([start] if (t["kind"] == "start").any() else []) + stages
    cols = stages + ([end] if (t["kind"] == "end").any() else [])
    grid: dict[str, list[list[float | None]]] = {
        k: [[None] * len(cols) for _ in rows] for k in ("other", "back")}
    hover = [[["", 0] for _ in cols] for _ in rows]
    for row in t.itertuples(index=False):
        r = rows.index(start if _missing(row.from_order) else str(row.from_stage))
        c = cols.index(end if _missing(row.to_order) else str(row.to_stage))
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
    fig = _layout(fig, title, lang, 140 + 52 * len(rows))
    fig.update_layout(margin={"t": 130})
    return fig


# --------------------------------------------------------------------------- time and trends


def ttc_histograms(ttc_histogram: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Time to convert, one histogram per funnel step (``step → next step``): customers per
    time bin, labelled with the share of the step's converters.
    """
    lab = labels(lang)
    title = lab["ttc_title"]
    _require(ttc_histogram, ("step", "stage", "next_stage", "bin_index", "bin_label", "customers", "share"),
             "ttc_histogram")
    h = ttc_histogram
    if h.empty:
        return _empty(title, lang)
    bins = h[["bin_index", "bin_label"]].drop_duplicates().sort_values("bin_index")
    bin_labels = _strs(bins["bin_label"])
    steps = h[["step", "stage", "next_stage"]].drop_duplicates().sort_values("step")
    n = len(steps)
    cols = 2 if n > 1 else 1
    nrows = math.ceil(n / cols)
    titles = [f"{s} → {t}" for s, t in zip(_strs(steps["stage"]), _strs(steps["next_stage"]))]
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=titles, vertical_spacing=0.5 / max(nrows, 1),
                        horizontal_spacing=0.08)
    for i, step in enumerate(steps["step"].tolist()):
        s = h[h["step"] == step].set_index("bin_index").reindex(bins["bin_index"])
        customers = [c or 0 for c in _ints(s["customers"])]
        shares = [c or 0.0 for c in _floats(s["share"])]
        fig.add_trace(go.Bar(
            x=bin_labels, y=customers, name=titles[i], showlegend=False, marker={"color": PALETTE[i % len(PALETTE)]},
            text=[fmt_pct(sh, lang, 0) if c else "" for c, sh in zip(customers, shares)], textposition="outside",
            cliponaxis=False,
            hovertemplate=f"{titles[i]}<br>%{{x}}: %{{y:,}} ({lab['share']} %{{text}})<extra></extra>",
        ), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=bin_labels)
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text=lab["customers"], col=1)
    return _layout(fig, title, lang, 120 + 260 * nrows)


def trends_chart(funnel_trends: pd.DataFrame, *, lang: str = "en", period: str | None = None) -> go.Figure:
    """Conversion from entry by entry period, one line per step after the first, with the
    entries as bars on a second axis. Incomplete periods (``is_complete`` false: some
    entries' windows have not ended) are drawn dotted with open markers over a shaded band,
    because their conversion can still grow.
    """
    lab = labels(lang)
    _require(funnel_trends, ("period_start", "step", "stage", "customers", "conversion_from_start", "is_complete"),
             "funnel_trends")
    title = lab["trends_title"].format(period=lab.get(f"period_{period}", lab["period_any"]))
    ft = funnel_trends.sort_values(["period_start", "step"])
    if ft.empty:
        return _empty(title, lang)
    periods = ft[["period_start", "is_complete"]].drop_duplicates("period_start").sort_values("period_start")
    x_all = _dates(periods["period_start"])
    complete = [bool(c) for c in periods["is_complete"]]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    first = int(ft["step"].min())
    entries = ft[ft["step"] == first].set_index("period_start").reindex(periods["period_start"])
    fig.add_trace(go.Bar(
        x=x_all, y=_ints(entries["customers"]), name=lab["entries"], marker={"color": "rgba(158,158,158,0.35)"},
        hovertemplate=f"%{{x}}<br>{lab['entries']}: %{{y:,}}<extra></extra>",
    ), secondary_y=True)
    steps = ft[ft["step"] > first][["step", "stage"]].drop_duplicates().sort_values("step")
    for i, (step, stage) in enumerate(zip(steps["step"].tolist(), _strs(steps["stage"]))):
        s = ft[ft["step"] == step].set_index("period_start").reindex(periods["period_start"])
        y = _floats(s["conversion_from_start"])
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
                      xaxis={"title": lab["entry_period"], **_date_axis(lang)})
    fig.update_yaxes(title_text=lab["conversion_from_start"], tickformat=".0%", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text=lab["entries"], rangemode="tozero", showgrid=False, tickmode="auto", nticks=6,
                     tickformat=",d", secondary_y=True)
    return _layout(fig, title, lang, 480)


# --------------------------------------------------------------------------- loops, KPIs, stock


def loops_chart(loops: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Loops per back-edge ``from → to``: customers who made the back-step (labelled with
    the share of the from-stage's visitors and the resolved share), and beside it how
    often loopers and non-loopers reach the last stage.
    """
    lab = labels(lang)
    title = lab["loops_title"]
    _require(loops, ("from_stage", "from_order", "to_stage", "to_order", "customers", "share_of_visitors",
                     "resolved_share", "looper_conversion", "non_looper_conversion"), "loops")
    if loops.empty:
        return _empty(title, lang)
    lp = loops.sort_values(["customers", "from_order", "to_order"], ascending=[False, True, True], kind="stable")
    edges = [f"{f} → {t}" for f, t in zip(_strs(lp["from_stage"]), _strs(lp["to_stage"]))]
    customers = _ints(lp["customers"])
    share = _floats(lp["share_of_visitors"])
    resolved = _floats(lp["resolved_share"])
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
        values = _floats(lp[col])
        fig.add_trace(go.Bar(
            y=edges, x=values, orientation="h", name=name, marker={"color": color},
            text=[fmt_pct(v, lang) for v in values], textposition="outside", textangle=0, cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{name}: %{{x:.1%}}<extra></extra>",
        ), row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.25], row=1, col=2)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.12, "x": 1, "xanchor": "right"})
    return _layout(fig, title, lang, 160 + 48 * len(edges))


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
    _require(stage_kpis, ("stage_order", "stage", "kpi", "target", "actual", "unit", "met"), "stage_kpis")
    if stage_kpis.empty:
        return _empty(title, lang)
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
        target, actual = float(r.target), (None if _missing(r.actual) else float(r.actual))
        met = None if _missing(r.met) else bool(r.met)
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
    return _layout(fig, title, lang, 120 + 300 * nrows)


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
    _require(stage_stock, ("day", "stage_order", "stage", "customers"), "stage_stock")
    if stage_stock.empty:
        return _empty(title, lang)
    days = sorted(stage_stock["day"].unique())
    x = _dates(days)
    stages = stage_stock[["stage_order", "stage"]].drop_duplicates().sort_values("stage_order", ascending=False)
    fig = go.Figure()
    n = len(stages)
    for i, (order, stage) in enumerate(zip(stages["stage_order"].tolist(), _strs(stages["stage"]))):
        s = stage_stock[stage_stock["stage_order"] == order].set_index("day").reindex(days)
        fig.add_trace(go.Scatter(
            x=x, y=[c or 0 for c in _ints(s["customers"])], name=stage, mode="lines", stackgroup="stock",
            line={"width": 0.5, "color": PALETTE[(n - 1 - i) % len(PALETTE)]},
            hovertemplate=f"%{{x}} · {stage}: %{{y:,}}<extra></extra>",
        ))
    fig.update_layout(xaxis={"title": lab["day"], **_date_axis(lang)}, yaxis={"title": lab["customers"]},
                      hovermode="x unified", legend={"traceorder": "reversed"})
    return _layout(fig, title, lang, 440)
