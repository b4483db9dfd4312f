"""More words of the report, in English and Russian: the honest headline, the rule banner, units,
the step-indexed flow, the active stock, KPI gaps and time bins.

:data:`EXTRA_LABELS` has the same keys in both languages; :mod:`cjm_pipeline.report.i18n` adds
them to its :data:`~cjm_pipeline.report.i18n.LABELS`, so every text is still read with
``labels(lang)[key]``.
"""

from __future__ import annotations

EXTRA_LABELS: dict[str, dict[str, str]] = {
    "en": {
        # what the funnel counts (funnel.unit)
        "units_customer": "Customers", "units_deal": "Deals", "units_session": "Sessions",
        "col_units_customer": "customers", "col_units_deal": "deals", "col_units_session": "sessions",
        "forms_deals": "deal|deals|deals", "forms_deals_of": "deal|deals|deals",
        "forms_sessions": "session|sessions|sessions", "forms_sessions_of": "session|sessions|sessions",
        "forms_events": "event|events|events", "forms_entries": "entry|entries|entries",
        "forms_entries_of": "entry|entries|entries",
        # the headline: conversion of complete entries
        "headline": "Converted (complete entries)",
        "headline_note": "{converted} of {complete} complete {entries} reached “{stage}” within {window}",
        "headline_incomplete": "{n} more {entries} ({share}) are still within their window and not counted",
        "headline_none_complete": "No entry is complete yet: every window is still open",
        "headline_not_meaningful": ("Not yet meaningful: only {share} of the entries are complete (below {minimum}); "
                                    "most windows are still open"),
        "midway_title": "Entered mid-way",
        "midway_note": ("first funnel event at step 2 or later (CRM-only or call-only customers, say); the funnel "
                        "counts them at a step only after a step-1 event"),
        "midway_note_furthest": "first funnel event at step 2 or later; the furthest mode counts them (earlier steps implied)",
        # rules that match nothing
        "banner_title": "Stage rules that match no event",
        "banner_note": "The funnel counts 0 at such a stage. Check the rules in the config (a typo?):",
        "issue_key": "{where} (stage “{stage}”): {key} {values} matched no event{suggest}",
        "issue_property": "{where} (stage “{stage}”): no event has the property {values}{suggest}",
        "issue_combination": "{where} (stage “{stage}”): its keys match events separately ({alone}) but never together",
        "issue_shadowed": "{where} (stage “{stage}”): matches {n}, but an earlier rule takes each of them",
        "issue_stage": "stage “{stage}” ({where}): no event has this stage, so nobody can reach it",
        "did_you_mean": "; did you mean {items}?",
        "or": "or",
        "alone": "{key} alone: {n}",
        # barriers
        "barrier_empty_stage": "Empty stage",
        "empty_stage_sentence": "{stage}: no event matched its rules, so nobody can reach it",
        # the step-indexed flow
        "kind_revisit": "revisit (same session)", "kind_more": "goes on",
        "flow_title": "Stage flow by step: each customer's 1st, 2nd, 3rd … stage visit, left to right",
        "flow_step": "visit {n}",
        "node_more": "(more)",
        "flow_note": "a return to an earlier stage is a later column; grey: the journey ends (or goes on beyond visit {n})",
        # the active stock
        "stock_active_title": "Active stock: customers by current stage at the end of each day",
        "stock_lapsed_note": "inactive for {inactivity}: lapsed",
        "lapsed": "lapsed (inactive)",
        # KPIs
        "col_gap": "gap (+ better)",
        "pp": "pp",
        "log_scale": "log scale",
        # breakdowns by cohort
        "breakdown_periods": "the last {shown} of {total} periods",
        # funnel table
        "col_incomplete": "incomplete", "col_entered_midway": "entered mid-way",
        # time-to-convert bins (ttc_histogram.bin_index 1..9)
        "ttc_bins": "<1m|1–10m|10m–1h|1–6h|6–24h|1–3d|3–7d|7–30d|30d+",
    },
    "ru": {
        "units_customer": "Клиенты", "units_deal": "Сделки", "units_session": "Сессии",
        "col_units_customer": "клиенты", "col_units_deal": "сделки", "col_units_session": "сессии",
        "forms_deals": "сделка|сделки|сделок", "forms_deals_of": "сделки|сделок|сделок",
        "forms_sessions": "сессия|сессии|сессий", "forms_sessions_of": "сессии|сессий|сессий",
        "forms_events": "событие|события|событий", "forms_entries": "вход|входа|входов",
        "forms_entries_of": "входа|входов|входов",
        "headline": "Конверсия (завершённые входы)",
        "headline_note": "{converted} из {complete} завершённых {entries} дошли до «{stage}» за {window}",
        "headline_incomplete": "ещё {n} {entries} ({share}) в пределах окна и не учтены",
        "headline_none_complete": "Завершённых входов пока нет: все окна ещё открыты",
        "headline_not_meaningful": ("Пока не показательно: завершено только {share} входов (меньше {minimum}); "
                                    "у большинства окно ещё открыто"),
        "midway_title": "Вошли с середины",
        "midway_note": ("первое событие воронки на шаге 2 или дальше (например, только CRM или только звонок); "
                        "воронка учитывает их на шаге только после события шага 1"),
        "midway_note_furthest": "первое событие воронки на шаге 2 или дальше; режим furthest их учитывает (ранние шаги подразумеваются)",
        "banner_title": "Правила этапов, под которые не подошло ни одно событие",
        "banner_note": "На таком этапе воронка показывает 0. Проверьте правила в конфигурации (опечатка?):",
        "issue_key": "{where} (этап «{stage}»): {key} {values}: ни одного события{suggest}",
        "issue_property": "{where} (этап «{stage}»): ни у одного события нет свойства {values}{suggest}",
        "issue_combination": "{where} (этап «{stage}»): ключи по отдельности находят события ({alone}), вместе — ни одного",
        "issue_shadowed": "{where} (этап «{stage}»): подходит {n}, но каждое забирает правило выше",
        "issue_stage": "этап «{stage}» ({where}): ни одного события этого этапа, до него никто не может дойти",
        "did_you_mean": "; возможно, имелось в виду {items}?",
        "or": "или",
        "alone": "только {key}: {n}",
        "barrier_empty_stage": "Пустой этап",
        "empty_stage_sentence": "{stage}: ни одно событие не подошло под правила этапа, до него никто не может дойти",
        "kind_revisit": "возврат (та же сессия)", "kind_more": "дальше",
        "flow_title": "Поток по шагам: 1-й, 2-й, 3-й … визит этапа каждого клиента слева направо",
        "flow_step": "визит {n}",
        "node_more": "(дальше)",
        "flow_note": "возврат на ранний этап — следующий столбец; серым: путь заканчивается (или идёт дальше визита {n})",
        "stock_active_title": "Активный запас: клиенты по текущему этапу на конец дня",
        "stock_lapsed_note": "неактивны {inactivity}: выбыли",
        "lapsed": "выбыли (неактивны)",
        "col_gap": "отклонение (+ лучше)",
        "pp": "п. п.",
        "log_scale": "логарифмическая шкала",
        "breakdown_periods": "последние {shown} из {total} периодов",
        "col_incomplete": "неполные", "col_entered_midway": "вошли с середины",
        "ttc_bins": "<1 мин|1–10 мин|10 мин–1 ч|1–6 ч|6–24 ч|1–3 дн.|3–7 дн.|7–30 дн.|30+ дн.",
    },
}
