"""Words and numbers of the charts and the report, in English and Russian.

Every text the charts and the HTML page show comes from one dict, :data:`LABELS`, one
entry per language with the same keys. Numbers are formatted for the language (``3,127``
and ``64.9%`` against ``3 127`` and ``64,9%``, with a no-break space); Russian nouns take
the form their count asks for (:func:`plural`), which the barrier sentences of the report's
summary need (:func:`barrier_sentence`).

>>> fmt_int(3127, "ru"), fmt_pct(0.649185, "ru"), labels("ru")["funnel_title"][:7]
('3\xa0127', '64,9%', 'Воронка')
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .map_words import MAP_LABELS
from .predict_words import PREDICT_LABELS
from .words import EXTRA_LABELS

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
        "barriers": "Biggest barriers",
        "barrier_drop_off": "Biggest drop-off",
        "barrier_back_steps": "Most frequent back-step",
        "barrier_slow_step": "Slowest step",
        "no_barriers": "No barriers found.",
        "drop_off_sentence": "{stage} → {to_stage} loses {value} of {customers_n} ({rate})",
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

for _lang, _extra in EXTRA_LABELS.items():  # the headline, banner, flow, stock and KPI words (words.py)
    LABELS[_lang].update(_extra)
for _lang, _extra in MAP_LABELS.items():  # the journey map page's words (map_words.py)
    LABELS[_lang].update(_extra)
for _lang, _extra in PREDICT_LABELS.items():  # the predictions and attribution section's words (predict_words.py)
    LABELS[_lang].update(_extra)


# --------------------------------------------------------------------------- labels and numbers


def labels(lang: str = "en") -> dict[str, str]:
    """The label dict of ``lang`` (``en`` or ``ru``).

    >>> labels("ru")["customers"]
    'Клиенты'
    """
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    return LABELS[lang]


def is_missing(x: Any) -> bool:
    """None, pd.NA, NaT (pandas' or numpy's) or a NaN: a value to show as ``–``; never a list.

    >>> [is_missing(v) for v in (None, pd.NA, pd.NaT, float("nan"), 0, "", [None])]
    [True, True, True, True, False, False, False]
    """
    return x is None or (pd.api.types.is_scalar(x) and bool(pd.isna(x)))


def fmt_int(n: Any, lang: str = "en") -> str:
    """A count with thousands separators: ``3,127`` (en), ``3 127`` (ru, a no-break space).

    >>> fmt_int(3127), fmt_int(3127, "ru"), fmt_int(None)
    ('3,127', '3\\xa0127', '–')
    """
    if is_missing(n):
        return "–"
    text = f"{int(round(float(n))):,}"
    return text.replace(",", "\u00a0") if lang == "ru" else text


def fmt_pct(x: Any, lang: str = "en", digits: int = 1) -> str:
    """A fraction as a percentage: ``64.9%`` (en), ``64,9%`` (ru).

    >>> fmt_pct(0.649185), fmt_pct(0.649185, "ru"), fmt_pct(float("nan"))
    ('64.9%', '64,9%', '–')
    """
    if is_missing(x):
        return "–"
    text = f"{100 * float(x):.{digits}f}%"
    return text.replace(".", ",") if lang == "ru" else text


def _round(x: float) -> int:
    """Half away from zero, as SQL's ``round`` (Python's ``round`` goes to the even neighbour)."""
    return int(math.floor(x + 0.5))


def fmt_duration(seconds: Any, lang: str = "en") -> str:
    """A duration in at most two units, the smaller one rounded: ``45 s``, ``4 min``, ``3 h 5 min``,
    ``2 d 3 h`` (the same words as ``barriers.description``; files keep seconds).

    >>> fmt_duration(39), fmt_duration(250), fmt_duration(11100), fmt_duration(2087119.5), fmt_duration(2087119.5, "ru")
    ('39 s', '4 min', '3 h 5 min', '24 d 4 h', '24 дн. 4 ч')
    >>> fmt_duration(86399), fmt_duration(3600), fmt_duration(-900)
    ('1 d', '1 h', '−15 min')
    """
    if is_missing(seconds):
        return "–"
    lab = labels(lang)
    s = float(seconds)
    sign, s = ("−" if s < 0 else ""), abs(s)
    if _round(s / 3600) >= 24:
        (big, small), units = divmod(_round(s / 3600), 24), ("unit_d", "unit_h")
    elif _round(s / 60) >= 60:
        (big, small), units = divmod(_round(s / 60), 60), ("unit_h", "unit_min")
    elif _round(s) >= 60:
        return f"{sign}{_round(s / 60)} {lab['unit_min']}"
    else:
        return f"{sign}{_round(s)} {lab['unit_s']}"
    return f"{sign}{big} {lab[units[0]]}" + (f" {small} {lab[units[1]]}" if small else "")


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


# --------------------------------------------------------------------------- sentences


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


def unit_noun(unit: Any) -> str:
    """The plural noun counting ``funnel.unit``: ``customers``, ``deals``, ``sessions``.

    >>> unit_noun("deal"), unit_noun(None)
    ('deals', 'customers')
    """
    return {"deal": "deals", "session": "sessions"}.get(unit if isinstance(unit, str) else "", "customers")


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
    if kind == "empty_stage":
        return lab["empty_stage_sentence"].format(stage=get("stage"))
    unit = get("unit") if "unit" in (row if isinstance(row, dict) else row.index) else "customer"
    noun = unit_noun(unit if kind != "back_steps" else "customer")
    customers = int(get("customers"))
    values = {"stage": get("stage"), "to_stage": get("to_stage"),
              "customers": fmt_int(customers, lang), "customers_n": _counted(customers, noun, lang),
              "customers_of": _counted(customers, noun + "_of", lang)}
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
