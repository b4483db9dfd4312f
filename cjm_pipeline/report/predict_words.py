"""The words of the report's predictions and attribution section, in English and Russian.

:data:`PREDICT_LABELS` has the same keys in both languages; :mod:`cjm_pipeline.report.i18n` adds
them to its :data:`~cjm_pipeline.report.i18n.LABELS`, so every text is read with ``labels(lang)[key]``.
"""

from __future__ import annotations

PREDICT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "predict_heading": "Predictions and attribution",
        "attribution_title": "Attribution: the goal's conversions credited to channels, model by model",
        "entry_channels_title": "Channels that bring customers into each stage (the touch before entering it)",
        "calibration_title": "Back-test calibration: predicted probability against the observed share, by decile",
        "model_first_touch": "first touch", "model_last_touch": "last touch", "model_linear": "linear",
        "model_time_decay": "time decay", "model_position_based": "position-based 40/20/40",
        "model_markov": "Markov (removal effect)",
        "model_model": "stage and time in it", "model_baseline": "baseline: the stage's overall rate",
        "predicted": "Predicted probability", "observed": "Observed share", "perfect": "perfect calibration",
        "channel": "Channel", "conversions": "Conversions", "revenue": "Revenue",
        "share_of_entries": "Share of the stage's entries",
        "quality_heading": "How good are the predictions? The back-test",
        "quality_note": ("Fitted only on what was known at {cutoff} UTC (the data cutoff minus the window, {window}), "
                         "the predictions for the {n} journeys open then were compared with what happened next: "
                         "{converters} reached “{goal}” within the window."),
        "verdict_beats": ("The model beats the naive baseline (each stage's overall rate): Brier score {brier} "
                          "against {baseline} (lower is better), ROC AUC {auc} against {baseline_auc}."),
        "verdict_not": ("The model does not beat the naive baseline: Brier score {brier} against {baseline} (lower "
                        "is better). Read its probabilities no finer than each stage's overall rate."),
        "verdict_none": ("No back-test yet: it needs events spanning twice the window ({window}). With less "
                         "history, set predict.window shorter."),
        "verdict_undefined": "The back-test scored {n} journeys, but {which} converted: its quality cannot be judged yet.",
        "verdict_few": " Only {n} of them reached the goal: too few to judge yet.",
        "nobody": "none", "everybody": "all",
        "outlook_heading": "Where each stage leads: the chain of stage visits, and the journeys open now",
        "attribution_heading": "Conversions per channel, model by model (share of the model's conversions)",
        "col_model": "model", "col_converters": "reached the goal", "col_brier": "Brier score", "col_auc": "ROC AUC",
        "col_p_goal": "reaches the goal (chain)", "col_p_goal_observed": "reaches the goal (observed)",
        "col_expected_visits": "expected visits", "col_likely_next": "likeliest next stage",
        "col_time_to_goal": "median time to the goal", "col_open_journeys": "open journeys",
        "col_p_goal_window": "goal within the window (mean)", "col_channel": "channel",
        "col_visits_counted": "visits counted",
    },
    "ru": {
        "predict_heading": "Прогнозы и атрибуция",
        "attribution_title": "Атрибуция: конверсии цели по каналам, модель за моделью",
        "entry_channels_title": "Каналы, приводящие клиентов на каждый этап (касание перед входом)",
        "calibration_title": "Калибровка на проверке по истории: прогноз и фактическая доля по децилям",
        "model_first_touch": "первое касание", "model_last_touch": "последнее касание", "model_linear": "линейная",
        "model_time_decay": "с затуханием", "model_position_based": "по позиции 40/20/40",
        "model_markov": "марковская (эффект удаления)",
        "model_model": "этап и время на нём", "model_baseline": "базовая: общая доля этапа",
        "predicted": "Прогноз вероятности", "observed": "Фактическая доля", "perfect": "идеальная калибровка",
        "channel": "Канал", "conversions": "Конверсии", "revenue": "Выручка",
        "share_of_entries": "Доля входов на этап",
        "quality_heading": "Насколько хороши прогнозы? Проверка по истории",
        "quality_note": ("Модель обучена только на том, что было известно к {cutoff} UTC (срез данных минус окно, "
                         "{window}); прогнозы для {n} открытых тогда путей сравнены с тем, что было дальше: "
                         "{converters} дошли до «{goal}» в пределах окна."),
        "verdict_beats": ("Модель лучше наивной базовой (общей доли каждого этапа): оценка Брайера {brier} против "
                          "{baseline} (меньше — лучше), ROC AUC {auc} против {baseline_auc}."),
        "verdict_not": ("Модель не лучше наивной базовой: оценка Брайера {brier} против {baseline} (меньше — "
                        "лучше). Её вероятности точнее общей доли этапа не читайте."),
        "verdict_none": ("Проверки по истории пока нет: нужны события за два окна ({window}). Если истории меньше, "
                         "задайте predict.window короче."),
        "verdict_undefined": "Проверка оценила {n} путей, но дошли до цели {which}: о качестве судить пока рано.",
        "verdict_few": " До цели дошли только {n}: судить пока рано.",
        "nobody": "никто", "everybody": "все",
        "outlook_heading": "Куда ведёт каждый этап: цепь визитов этапов и открытые сейчас пути",
        "attribution_heading": "Конверсии по каналам и моделям (доля конверсий модели)",
        "col_model": "модель", "col_converters": "дошли", "col_brier": "оценка Брайера", "col_auc": "ROC AUC",
        "col_p_goal": "дойдёт до цели (цепь)", "col_p_goal_observed": "дошли до цели (факт)",
        "col_expected_visits": "ожидаемо визитов", "col_likely_next": "вероятный следующий этап",
        "col_time_to_goal": "медиана времени до цели", "col_open_journeys": "открытых путей",
        "col_p_goal_window": "цель в пределах окна (среднее)", "col_channel": "канал",
        "col_visits_counted": "учтено визитов",
    },
}
