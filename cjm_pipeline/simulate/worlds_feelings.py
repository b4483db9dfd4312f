"""The pains and surveys of each simulated business (:mod:`cjm_pipeline.simulate.feelings`).

Each template config names the same under ``pains:`` and ``feedback:``. Scores are on 0..1 here
(the stage's mean), written on the survey's scale; the means differ by stage, so a journey map
should show which stage customers like least, and every pain met lowers later scores. A pain's
``forward_factor`` says how much less often the person moves on from the stage right after it.
"""

from __future__ import annotations

from dataclasses import replace

from .feelings import Feelings, PainModel, SurveyModel

#: Comments of negative answers, per business.
_FURNITURE = ("Менеджер так и не перезвонил", "Долго ждал ответа на звонок", "Доставку перенесли два раза",
              "Диван пришёл с царапиной, пишите на ivan.petrov@mail.ru", "Сборщик опоздал на три часа")
_SHOP = ("Заказ пришёл позже обещанного", "Курьер не позвонил заранее", "Не работала оплата картой")
_SCHOOL = ("Преподаватель не отвечает в чате", "Пробный урок перенесли", "Слишком много теории",
           "Списали деньги дважды, позвоните 8 916 555-12-34")
_CLINIC = ("Долго ждал в коридоре", "Врач торопился", "Не пришло напоминание о приёме", "Дорогие анализы")
_STORE = ("Очередь в примерочную 20 минут", "Нет моего размера", "Консультант был занят")
_TRAVEL = ("Долго отвечали в чате", "Трансфер опоздал", "Отель хуже, чем на фото")

CLASSIC = Feelings(
    pains=(PainModel("missed call", "question", "call:unanswered", forward_factor=0.45),),
    surveys=(SurveyModel("nps", "csat_answer", "1-5", {"interest": (0.05, 0.7), "question": (0.25, 0.5),
                                                       "purchase": (0.35, 0.85)}, comments=_FURNITURE),),
)

ECOMMERCE = Feelings(
    # after the payment: the last stage, so the late delivery lowers scores, not the forward moves
    pains=(PainModel("late delivery", "post_purchase", "event:support:delivery_late", chance=0.15),),
    surveys=(SurveyModel("support", "csat_answer", "1-5", {"checkout": (0.05, 0.6), "payment": (0.15, 0.75),
                                                          "post_purchase": (0.3, 0.85)}, comments=_SHOP),),
)

EDUCATION = Feelings(
    pains=(PainModel("missed trial lesson", "signup", "event:lms:trial_lesson_missed", chance=0.1, forward_factor=0.5),
           PainModel("failed payment", "signup", "event:lms:payment_failed", chance=0.06, forward_factor=0.4)),
    surveys=(SurveyModel("lms", "lesson_rating", "1-5", {"learning": (0.2, 0.75)}, comments=_SCHOOL),
             SurveyModel("lms", "nps_answer", "nps", {"signup": (0.05, 0.55), "certificate": (0.5, 0.8)},
                         comments=_SCHOOL)),
)

HEALTH = Feelings(
    pains=(PainModel("no-show", "booking", "event:clinic:no_show", chance=0.12, forward_factor=0.4),
           PainModel("missed call", "booking", "call:unanswered", forward_factor=0.6)),
    surveys=(SurveyModel("clinic", "rating", "1-5", {"booking": (0.1, 0.6), "consultation": (0.35, 0.78),
                                                    "aftercare": (0.2, 0.85)}, comments=_CLINIC),),
)

FASHION_RETAIL = Feelings(
    pains=(PainModel("fitting room queue", "fitting", "event:store:fitting_queue", chance=0.2, forward_factor=0.5),
           PainModel("return", "payment", "event:pos:return", chance=0.08, forward_factor=0.5)),
    surveys=(SurveyModel("store", "survey_answer", "1-5", {"fitting": (0.15, 0.6), "decision": (0.1, 0.7),
                                                          "payment": (0.3, 0.82)}, comments=_STORE),),
)

TRAVEL = Feelings(
    pains=(PainModel("visa questions", "booking", "event:trips:visa_question", chance=0.2, forward_factor=0.5),
           PainModel("missed call", "consultation", "call:unanswered", forward_factor=0.6)),
    surveys=(SurveyModel("trips", "chat_rating", "1-5", {"booking": (0.1, 0.65), "trip": (0.3, 0.8)},
                         comments=_TRAVEL),),
)


def renamed(feelings: Feelings, names: dict[str, str]) -> Feelings:
    """The same pains and surveys with the stages renamed (``classic_ru``)."""
    return Feelings(pains=tuple(replace(p, stage=names[p.stage]) for p in feelings.pains),
                    surveys=tuple(replace(s, stages={names[k]: v for k, v in s.stages.items()})
                                  for s in feelings.surveys))
