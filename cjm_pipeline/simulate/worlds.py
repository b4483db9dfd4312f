"""The simulated businesses behind the templates in ``configs/templates/``.

One :class:`~cjm_pipeline.simulate.model.WorldModel` per template. Each template config
classifies the events these models write into the same stages (the signature of every
touch kind belongs to the stage that lists it); ``tests/test_templates.py`` runs each one
end to end and checks the stages, the customers and the funnel against the ground truth.

Ids (Metrica goals, amoCRM pipelines and statuses, phone numbers) are the ones the
template configs name: change them together.
"""

from __future__ import annotations

from dataclasses import replace

from . import worlds_feelings
from .model import (
    HOURS_STORE, WEEKDAYS_RETAIL, CallModel, CrmModel, GenericEvent, GenericSource, IdentityModel, Pipeline,
    StageModel, WebModel, WorldModel,
)

#: A survey answer's columns (set by :mod:`cjm_pipeline.simulate.feelings`).
_ANSWER = {"score": (), "comment": ()}

# --------------------------------------------------------------------------- classic: a furniture shop

_CLASSIC_NPS = GenericSource(
    name="nps", system="an NPS survey service (Анкетолог-style CSV export: ';', DD.MM.YYYY times, Russian headers)",
    ids=("email", "phone"), requires="email",
    events={"nps_answer": GenericEvent(variants={
        "promoter": {"score": ("9", "10")}, "passive": {"score": ("7", "8")},
        "detractor": {"score": ("1", "3", "4", "5", "6")}}),
        "csat_answer": GenericEvent(variants={"": {"survey": ("Оценка сервиса",), **_ANSWER}})},
    delimiter=";", time_format="dmy",
    headers={"event_id": "ID ответа", "event_time": "Дата ответа", "event_type": "Тип", "email": "Email",
             "phone": "Телефон"},
    properties={"survey": ("После покупки",)},
)

CLASSIC = WorldModel(
    template="classic",
    title="A furniture shop: the classic six-stage marketing journey",
    timezone="Europe/Moscow", utc_offset_hours=3,
    domain="mebel-dom.ru",
    company_phones=("8005553535",),
    web=WebModel(
        host="mebel-dom.ru", counter_id=68971321,
        goals={"catalog": (312345601, "catalog/"), "product": (312345602, "product/"),
               "callback": (312345604, "contacts/"), "review": (312345605, "reviews/")},
        traffic_first={"yandex_direct": 35, "organic": 30, "vk_ads": 10, "social": 8, "referral": 10, "direct": 7},
        traffic_return={"direct": 40, "organic": 20, "yandex_rsya": 20, "email": 15, "social": 5},
        landing=("", "catalog/sofas/", "catalog/beds/", "sale/"),
    ),
    calls=CallModel(tracking_number="74951500000", redirect_number="74957770000"),
    crm=CrmModel(
        subdomain="mebeldom", account_id=28805383,
        pipelines=(
            Pipeline("main", 7001234, "Продажи", (("new", 61000001, "Неразобранное"),
                                                 ("contact", 61000002, "Первичный контакт"),
                                                 ("talks", 61000003, "Переговоры"),
                                                 ("decision", 61000004, "Принимают решение"))),
            Pipeline("repeat", 7001235, "Повторные продажи", (("new", 61000011, "Новый заказ"),),
                     lead_name="Повторный заказ"),
        ),
        prices=(18900, 32500, 54990, 74900, 129000, 189000),
    ),
    generic=(_CLASSIC_NPS,),
    stages=(
        StageModel("awareness", {"visit": 1.0}, forward=0.62, skip=0.05, session=0.85, median_days=3),
        StageModel("interest", {"goal:catalog": 0.55, "goal:product": 0.45}, forward=0.36, skip=0.05, stay=0.27,
                   session=0.7, median_days=4),
        StageModel("question", {"form:callback": 0.3, "call": 0.32, "lead:main": 0.08, "status:main:contact": 0.12,
                                "status:main:talks": 0.12, "status:main:decision": 0.06},
                   forward=0.42, skip=0.02, back=0.15, stay=0.2, session=0.3, median_days=3,
                   traffic={"direct": 40, "yandex_rsya": 30, "email": 20, "organic": 10}),
        StageModel("purchase", {"status:main:won": 0.65, "purchase": 0.35}, forward=0.32, skip=0.12, back=0.04,
                   session=0.05, median_days=14),
        StageModel("advocacy", {"event:nps:nps_answer:promoter": 0.6, "goal:review": 0.4}, forward=0.35, back=0.04,
                   stay=0.05, session=0.1, median_days=30),
        StageModel("repeat_purchase", {"status:repeat:won": 1.0}, forward=0.0, back=0.12, stay=0.22, session=0.0, median_days=45,
                   back_to=("question", "advocacy")),
    ),
    entry={"awareness": 0.9, "question": 0.1},
    identity=IdentityModel(),
    noise={"visit:return": 0.15, "event:nps:nps_answer:passive": 0.03, "event:nps:nps_answer:detractor": 0.03},
    feelings=worlds_feelings.CLASSIC,
)

#: classic with its stages named in Russian (the config proves Cyrillic works end to end).
CLASSIC_RU_NAMES = {
    "awareness": "Осведомленность", "interest": "Интерес", "question": "Вопрос", "purchase": "Покупка",
    "advocacy": "Адвокация", "repeat_purchase": "Повторная покупка",
}


def _renamed(model: WorldModel, template: str, names: dict[str, str]) -> WorldModel:
    stages = tuple(replace(s, name=names[s.name], back_to=tuple(names[b] for b in s.back_to)) for s in model.stages)
    feelings = worlds_feelings.renamed(model.feelings, names) if model.feelings else None
    return replace(model, template=template, stages=stages, entry={names[k]: v for k, v in model.entry.items()},
                   feelings=feelings)


CLASSIC_RU = replace(_renamed(CLASSIC, "classic_ru", CLASSIC_RU_NAMES),
                     title="Мебельный магазин: классический путь клиента из шести этапов")

# --------------------------------------------------------------------------- e-commerce: an online shop

_MAILING_ECOM = GenericSource(
    name="mailing", system="an e-mail service's activity export (Unisender-style CSV)",
    ids=("email",), requires="email",
    events={
        "email_open": GenericEvent(channel="email", variants={
            "newsletter": {"campaign": ("weekly_digest", "sale_announcement")},
            "post_purchase": {"campaign": ("thank_you", "review_request", "cross_sell")}}),
        "email_click": GenericEvent(channel="email", variants={
            "newsletter": {"campaign": ("weekly_digest", "sale_announcement")},
            "post_purchase": {"campaign": ("thank_you", "review_request", "cross_sell")}}),
    },
)

_SUPPORT = GenericSource(
    name="support", system="the help desk's ticket and survey export (Usedesk-style CSV)",
    ids=("email",), requires="email",
    events={"delivery_late": GenericEvent(), "csat_answer": GenericEvent(variants={"": dict(_ANSWER)})},
)

ECOMMERCE = WorldModel(
    template="ecommerce",
    title="An online shop: ads and search, catalogue, cart, checkout, payment, post-purchase mailing",
    timezone="Europe/Moscow", utc_offset_hours=3,
    domain="tovary-shop.ru",
    web=WebModel(
        host="tovary-shop.ru", counter_id=70123456,
        goals={"catalog": (41000001, "catalog/"), "product": (41000002, "product/"), "reviews": (41000003, "reviews/"),
               "cart": (41000004, "cart/"), "checkout": (41000005, "checkout/")},
        traffic_first={"yandex_direct": 38, "organic": 32, "vk_ads": 12, "yandex_rsya": 8, "social": 5, "direct": 5},
        traffic_return={"direct": 35, "email": 25, "yandex_rsya": 20, "organic": 20},
        landing=("", "catalog/", "sale/", "product/"),
    ),
    crm=CrmModel(
        subdomain="tovaryshop", account_id=29100777,
        pipelines=(Pipeline("main", 7102001, "Заказы", (("new", 62000001, "Новый заказ"),
                                                       ("confirmed", 62000002, "Подтверждён"),
                                                       ("delivery", 62000003, "Передан в доставку")),
                            lead_name="Заказ по телефону"),),
        prices=(1490, 2990, 4590, 7990, 12900, 24900), form_lead_name="Заказ с сайта",
    ),
    generic=(_MAILING_ECOM, _SUPPORT),
    stages=(
        StageModel("first_contact", {"visit": 1.0}, forward=0.7, skip=0.03, session=0.85, median_days=2),
        StageModel("catalogue", {"goal:catalog": 0.45, "goal:product": 0.4, "goal:reviews": 0.15},
                   forward=0.33, stay=0.37, session=0.75, median_days=3),
        StageModel("cart", {"goal:cart": 1.0}, forward=0.45, back=0.25, stay=0.05, session=0.6, median_days=2,
                   traffic={"yandex_rsya": 40, "direct": 30, "email": 30}),
        StageModel("checkout", {"form:checkout": 0.85, "lead:main": 0.15}, forward=0.62, back=0.1, session=0.5,
                   median_days=1),
        StageModel("payment", {"purchase": 0.55, "status:main:won": 0.45}, forward=0.55, back=0.08, session=0.1,
                   median_days=5),
        StageModel("post_purchase", {"event:mailing:email_click:post_purchase": 0.65,
                                     "event:mailing:email_open:post_purchase": 0.35},
                   forward=0.0, back=0.3, stay=0.2, session=0.0, median_days=10, back_to=("catalogue", "cart")),
    ),
    entry={"first_contact": 1.0},
    identity=IdentityModel(email_share=0.85, company_share=0.0),
    noise={"visit:return": 0.15, "event:mailing:email_open:newsletter": 0.25, "event:mailing:email_click:newsletter": 0.05},
    feelings=worlds_feelings.ECOMMERCE,
)

# --------------------------------------------------------------------------- education: online courses

_LMS = GenericSource(
    name="lms", system="the learning platform's activity export (GetCourse-style CSV)",
    ids=("user_id", "email"), requires="email",
    events={
        "lesson_completed": GenericEvent(variants={"": {"course": ("Python с нуля", "Аналитик данных", "SQL для всех")}}),
        "homework_submitted": GenericEvent(variants={"": {"course": ("Python с нуля", "Аналитик данных", "SQL для всех")}}),
        "webinar_attended": GenericEvent(variants={"": {"course": ("Python с нуля", "Аналитик данных", "SQL для всех")}}),
        "certificate_issued": GenericEvent(variants={"": {"course": ("Python с нуля", "Аналитик данных", "SQL для всех")}}),
        "trial_lesson_missed": GenericEvent(), "payment_failed": GenericEvent(),
        "lesson_rating": GenericEvent(variants={"": dict(_ANSWER)}), "nps_answer": GenericEvent(variants={"": dict(_ANSWER)}),
    },
    time_format="local",
    headers={"event_time": "created_at", "event_type": "action", "user_id": "student_id"},
)

EDUCATION = WorldModel(
    template="education",
    title="Online courses: ad, course and teacher pages, sign-up, learning, certificate",
    timezone="Europe/Moscow", utc_offset_hours=3,
    domain="skillpro-online.ru",
    company_phones=("8005001020",),
    web=WebModel(
        host="skillpro-online.ru", counter_id=71234567,
        goals={"course": (51000001, "courses/"), "teacher": (51000002, "teachers/"),
               "program": (51000003, "courses/program.pdf"), "signup": (51000004, "signup/")},
        traffic_first={"yandex_direct": 38, "vk_ads": 24, "telegram": 12, "organic": 16, "referral": 5, "direct": 5},
        traffic_return={"direct": 35, "email": 20, "yandex_rsya": 25, "telegram": 20},
        landing=("", "courses/python/", "courses/analyst/", "free-lesson/"),
    ),
    calls=CallModel(tracking_number="74952404040", redirect_number="74952404000", to_lead=0.7),
    crm=CrmModel(
        subdomain="skillpro", account_id=30200300,
        pipelines=(Pipeline("main", 7203001, "Продажи курсов", (("new", 63000001, "Новая заявка"),
                                                               ("consult", 63000002, "Консультация"),
                                                               ("invoice", 63000003, "Счёт выставлен"))),),
        prices=(14900, 29900, 59900, 89900), form_lead_name="Заявка на курс",
    ),
    generic=(_LMS,),
    stages=(
        StageModel("ad", {"visit": 1.0}, forward=0.68, skip=0.04, session=0.8, median_days=2),
        StageModel("course_pages", {"goal:course": 0.55, "goal:teacher": 0.25, "goal:program": 0.2},
                   forward=0.36, stay=0.34, session=0.7, median_days=3,
                   traffic={"telegram": 30, "yandex_rsya": 30, "direct": 25, "email": 15}),
        StageModel("signup", {"form:signup": 0.4, "call": 0.15, "lead:main": 0.05, "status:main:consult": 0.1,
                              "status:main:invoice": 0.1, "status:main:won": 0.2},
                   forward=0.42, back=0.12, stay=0.3, session=0.3, median_days=2),
        StageModel("learning", {"event:lms:lesson_completed": 0.7, "event:lms:homework_submitted": 0.2,
                                "event:lms:webinar_attended": 0.1},
                   forward=0.1, stay=0.78, session=0.15, median_days=3, spread=0.8),
        StageModel("certificate", {"event:lms:certificate_issued": 1.0}, forward=0.0, back=0.25, session=0.0, median_days=20,
                   back_to=("course_pages",)),
    ),
    entry={"ad": 1.0},
    identity=IdentityModel(email_share=0.92, company_share=0.03),
    noise={"visit:return": 0.12},
    feelings=worlds_feelings.EDUCATION,
)

# --------------------------------------------------------------------------- health: online consultations

_CLINIC = GenericSource(
    name="clinic", system="the clinic's medical information system (MIS) export: ';', cp1251, DD.MM.YYYY",
    ids=("customer_id", "phone"), requires="phone",
    events={
        "consultation": GenericEvent(variants={"online": {"format": ("онлайн",)}, "clinic": {"format": ("в клинике",)}},
                                     revenue=(2500, 3200, 4500)),
        "test_results": GenericEvent(),
        "follow_up": GenericEvent(),
        "prescription": GenericEvent(),
        "no_show": GenericEvent(),
        "rating": GenericEvent(variants={"": dict(_ANSWER)}),
    },
    delimiter=";", encoding="cp1251", time_format="dmy",
    headers={"event_id": "Номер записи", "event_time": "Дата", "event_type": "Событие", "customer_id": "Номер карты",
             "phone": "Телефон пациента", "revenue": "Сумма"},
    properties={"doctor": ("Терапевт", "Кардиолог", "Эндокринолог", "Невролог")},
    placeholder_phone=True,
)

HEALTH = WorldModel(
    template="health",
    title="An online clinic: search, service and doctor pages, booking, consultation, aftercare",
    timezone="Europe/Moscow", utc_offset_hours=3,
    domain="clinic-zdorovie.ru",
    company_phones=("4952201100",),
    web=WebModel(
        host="clinic-zdorovie.ru", counter_id=72345678,
        goals={"service": (52000001, "services/"), "doctor": (52000002, "doctors/"), "prices": (52000003, "prices/"),
               "booking": (52000004, "booking/")},
        traffic_first={"organic": 50, "yandex_direct": 28, "referral": 12, "direct": 10},
        traffic_return={"direct": 45, "organic": 30, "email": 10, "yandex_rsya": 15},
        landing=("", "services/", "doctors/"),
    ),
    calls=CallModel(tracking_number="74952200000", redirect_number="74952201000", to_lead=0.8),
    crm=CrmModel(
        subdomain="zdorovie", account_id=31300400,
        pipelines=(Pipeline("main", 7304001, "Запись на приём", (("new", 64000001, "Новая запись"),
                                                                ("confirmed", 64000002, "Подтверждена")),
                            lead_name="Запись по телефону"),),
        prices=(2500, 3200, 4500), form_lead_name="Онлайн-запись",
    ),
    generic=(_CLINIC,),
    stages=(
        StageModel("search", {"visit": 1.0}, forward=0.7, skip=0.04, session=0.85, median_days=2),
        StageModel("service_pages", {"goal:service": 0.5, "goal:doctor": 0.35, "goal:prices": 0.15},
                   forward=0.4, stay=0.3, session=0.75, median_days=2),
        StageModel("booking", {"form:booking": 0.42, "call": 0.38, "lead:main": 0.05, "status:main:confirmed": 0.15},
                   forward=0.6, back=0.08, stay=0.12, session=0.3, median_days=2),
        StageModel("consultation", {"event:clinic:consultation:online": 0.35, "event:clinic:consultation:clinic": 0.4,
                                    "status:main:won": 0.25},
                   forward=0.45, back=0.1, stay=0.05, session=0.2, median_days=7, back_to=("booking",)),
        StageModel("aftercare", {"event:clinic:test_results": 0.4, "event:clinic:follow_up": 0.35,
                                 "event:clinic:prescription": 0.25},
                   forward=0.0, back=0.18, stay=0.35, session=0.0, median_days=10, back_to=("booking", "service_pages")),
    ),
    entry={"search": 0.92, "booking": 0.08},
    identity=IdentityModel(email_share=0.5, company_share=0.0),
    noise={"visit:return": 0.1},
    feelings=worlds_feelings.HEALTH,
)

# --------------------------------------------------------------------------- fashion retail: stores and a loyalty card

_STORES = ("ТЦ Авиапарк", "ТЦ Метрополис", "Тверская, 15")

_STORE = GenericSource(
    name="store", system="in-store analytics: Wi-Fi and app check-ins, fitting rooms, stylists (CSV)",
    ids=("phone",), requires="phone",
    events={"store_visit": GenericEvent(channel="offline"), "fitting": GenericEvent(channel="offline"),
            "item_reserved": GenericEvent(channel="offline"), "stylist_consultation": GenericEvent(channel="offline"),
            "fitting_queue": GenericEvent(channel="offline"),
            "survey_answer": GenericEvent(channel="offline", variants={"": dict(_ANSWER)})},
    time_format="local", properties={"store": _STORES},
)
_POS = GenericSource(
    name="pos", system="the tills' receipts (1C:Розница export: ';', cp1251, DD.MM.YYYY, decimal comma)",
    ids=("customer_id", "phone"), requires="phone",
    events={"purchase": GenericEvent(channel="offline", revenue=(2990, 4590, 6990, 9990, 14990, 24990),
                                     variants={"": {"payment": ("карта", "наличные", "СБП")}}),
            "return": GenericEvent(channel="offline")},
    delimiter=";", encoding="cp1251", time_format="dmy",
    headers={"event_id": "Номер чека", "event_time": "Дата", "event_type": "Операция", "customer_id": "Карта лояльности",
             "phone": "Телефон", "revenue": "Сумма"},
    properties={"store": _STORES},
    placeholder_phone=True,
)
_LOYALTY = GenericSource(
    name="loyalty", system="the loyalty programme's profile changes (CSV)",
    ids=("customer_id", "phone", "email"), requires="phone",
    events={"profile_updated": GenericEvent()},
    headers={"customer_id": "card_number"},
)
_MAILING_FASHION = GenericSource(
    name="mailing", system="an e-mail service's activity export (CSV)",
    ids=("email",), requires="email",
    events={
        "email_open": GenericEvent(channel="email", variants={"new_arrivals": {"campaign": ("new_arrivals",)},
                                                              "sale": {"campaign": ("sale",)}}),
        "email_click": GenericEvent(channel="email", variants={"new_arrivals": {"campaign": ("new_arrivals",)},
                                                               "sale": {"campaign": ("sale",)}}),
    },
)

FASHION_RETAIL = WorldModel(
    template="fashion_retail",
    title="Fashion stores: store visit, fitting, decision, payment with a loyalty card, new-arrivals mailing",
    timezone="Europe/Moscow", utc_offset_hours=3,
    domain="moda-style.ru",
    company_phones=("4957305050", "4957305051", "4957305052"),
    generic=(_STORE, _POS, _LOYALTY, _MAILING_FASHION),
    stages=(
        StageModel("store_visit", {"event:store:store_visit": 1.0}, forward=0.55, stay=0.1, session=0.8,
                   median_days=7),
        StageModel("fitting", {"event:store:fitting": 1.0}, forward=0.5, back=0.15, stay=0.15, session=0.85,
                   median_days=5),
        StageModel("decision", {"event:store:item_reserved": 0.5, "event:store:stylist_consultation": 0.5},
                   forward=0.6, back=0.15, stay=0.05, session=0.6, median_days=2),
        StageModel("payment", {"event:pos:purchase": 1.0}, forward=0.5, back=0.15, stay=0.05, session=0.05,
                   median_days=10, back_to=("store_visit",)),
        StageModel("new_arrivals", {"event:mailing:email_click:new_arrivals": 1.0}, forward=0.0, back=0.5, stay=0.1,
                   session=0.0, median_days=12, back_to=("store_visit",)),
    ),
    entry={"store_visit": 1.0},
    identity=IdentityModel(devices={0: 1.0}, email_share=0.65, company_share=0.0, staff_calls=0.0,
                           offline_unlinked=0.2),
    noise={"event:mailing:email_open:new_arrivals": 0.25, "event:mailing:email_open:sale": 0.1,
           "event:loyalty:profile_updated": 0.12},
    bridge_event="event:loyalty:profile_updated",
    weekdays=WEEKDAYS_RETAIL, hours=HOURS_STORE,
    feelings=worlds_feelings.FASHION_RETAIL,
)

# --------------------------------------------------------------------------- travel: a tour agency

_PARTNERS = GenericSource(
    name="partners", system="the referral programme's export (CSV)",
    ids=("phone", "email"), requires="phone",
    events={"referral_code_used": GenericEvent(channel="referral",
                                               variants={"": {"program": ("Приведи друга", "Партнёр-блогер")}})},
)
_TRIPS = GenericSource(
    name="trips", system="trip support: the tour operator's and the messenger bot's events (CSV)",
    ids=("phone", "crm_contact_id"), requires="phone",
    events={"trip_started": GenericEvent(), "support_chat": GenericEvent(), "trip_finished": GenericEvent(),
            "visa_question": GenericEvent(), "chat_rating": GenericEvent(variants={"": dict(_ANSWER)})},
    properties={"destination": ("Турция", "ОАЭ", "Таиланд", "Абхазия", "Алтай")},
)
_FEEDBACK = GenericSource(
    name="feedback", system="after-trip surveys and next-trip offer e-mails (CSV)",
    ids=("email", "phone"), requires="email",
    events={
        "review_submitted": GenericEvent(variants={"positive": {"rating": ("4", "5")},
                                                   "negative": {"rating": ("1", "2", "3")}}),
        "offer_click": GenericEvent(channel="email", variants={"next_trip": {"offer": ("Раннее бронирование", "Горящий тур")}}),
    },
)

TRAVEL = WorldModel(
    template="travel",
    title="A tour agency: referral, tour programmes, phone consultation, booking and payment, trip, feedback",
    timezone="Asia/Yekaterinburg", utc_offset_hours=5,
    domain="ural-tour.ru",
    company_phones=("3432100100",),
    web=WebModel(
        host="ural-tour.ru", counter_id=73456789,
        goals={"tour": (53000001, "tours/"), "programme": (53000002, "tours/programme.pdf"),
               "hotel": (53000003, "hotels/"), "consult_form": (53000004, "consultation/")},
        traffic_first={"partner": 35, "referral": 20, "organic": 22, "yandex_direct": 15, "direct": 8},
        traffic_return={"direct": 45, "email": 25, "organic": 15, "yandex_rsya": 15},
        landing=("", "tours/turkey/", "tours/uae/", "hot/"),
    ),
    calls=CallModel(tracking_number="73432100000", redirect_number="73432101000", to_lead=0.75,
                    managers=("Светлана Орлова", "Денис Котов", "Алина Юсупова")),
    crm=CrmModel(
        subdomain="uraltour", account_id=32400500,
        pipelines=(Pipeline("main", 7405001, "Туры", (("new", 65000001, "Новая заявка"),
                                                     ("consultation", 65000002, "Консультация"),
                                                     ("selection", 65000003, "Подбор тура"),
                                                     ("booked", 65000004, "Бронь"))),),
        prices=(89000, 145000, 210000, 320000), form_lead_name="Заявка на подбор тура",
    ),
    generic=(_PARTNERS, _TRIPS, _FEEDBACK),
    stages=(
        StageModel("referral", {"visit": 0.7, "event:partners:referral_code_used": 0.3}, forward=0.62, skip=0.1,
                   session=0.7, median_days=3),
        StageModel("tour_programmes", {"goal:tour": 0.5, "goal:programme": 0.3, "goal:hotel": 0.2},
                   forward=0.4, stay=0.35, session=0.7, median_days=3,
                   traffic={"direct": 35, "organic": 25, "email": 25, "partner": 15}),
        StageModel("consultation", {"call": 0.5, "form:consult_form": 0.2, "lead:main": 0.05,
                                    "status:main:consultation": 0.1, "status:main:selection": 0.15},
                   forward=0.45, back=0.15, stay=0.25, session=0.2, median_days=3),
        StageModel("booking", {"status:main:booked": 0.45, "status:main:won": 0.55}, forward=0.6, back=0.08,
                   stay=0.2, session=0.1, median_days=12),
        StageModel("trip", {"event:trips:trip_started": 0.4, "event:trips:support_chat": 0.35,
                            "event:trips:trip_finished": 0.25},
                   forward=0.5, stay=0.45, session=0.05, median_days=4, spread=0.7),
        StageModel("feedback", {"event:feedback:review_submitted:positive": 0.5,
                                "event:feedback:offer_click:next_trip": 0.5},
                   forward=0.0, back=0.3, stay=0.1, session=0.0, median_days=20, back_to=("tour_programmes", "consultation")),
    ),
    entry={"referral": 1.0},
    identity=IdentityModel(email_share=0.7, company_share=0.04, devices={1: 0.6, 2: 0.3, 3: 0.1}),
    noise={"visit:return": 0.12, "event:feedback:review_submitted:negative": 0.02},
    feelings=worlds_feelings.TRAVEL,
)

#: Every template's world, by template name.
MODELS: dict[str, WorldModel] = {m.template: m for m in (CLASSIC, CLASSIC_RU, ECOMMERCE, EDUCATION, HEALTH,
                                                          FASHION_RETAIL, TRAVEL)}


def model(template: str) -> WorldModel:
    """The world model of a template; the error lists the templates there are.

    >>> model("classic").stage_names
    ['awareness', 'interest', 'question', 'purchase', 'advocacy', 'repeat_purchase']
    """
    try:
        return MODELS[template]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(template, MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown template {template!r}{hint} (templates: {', '.join(MODELS)})") from None
