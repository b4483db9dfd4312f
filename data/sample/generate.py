#!/usr/bin/env python3
"""Generate ``data/sample/events.csv``: the synthetic event log of a small Russian online shop.

About 3,000 people visit ``shop.example.ru`` between 2025-01-01 and 2025-04-30 (Moscow
wall-clock time). Each person walks a small Markov model over the journey stages

    awareness (visit) -> interest (catalog / product pages) -> consideration
    (add to cart, chat question, phone call) -> checkout -> purchase -> review -> repeat

with drop-offs, back-steps (checkout -> back to the catalog), skips (call and order by
phone without browsing) and several sessions spread over days and weeks. People use one
to three devices (one cookie each); logging in, subscribing, checking out and buying put
the cookie and an email / phone / user id on the same row, which is what lets identity
stitching join the devices. About 40 % of people never identify.

A few deliberately broken rows are inserted at fixed places for the quarantine demo:
unparseable timestamps, rows without any identifier and exact duplicates.

Standard library only and a seeded ``random.Random``: the same seed and options give a
byte-identical file on any machine.

    python data/sample/generate.py                      # writes data/sample/events.csv
    python data/sample/generate.py --seed 7 --customers 500 --out /tmp/events.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

# --------------------------------------------------------------------------- options

DEFAULT_SEED = 20250101
DEFAULT_CUSTOMERS = 3000
DEFAULT_OUT = Path(__file__).resolve().parent / "events.csv"

WINDOW_START = datetime(2025, 1, 1, 0, 0, 0)
WINDOW_END = datetime(2025, 4, 30, 23, 59, 59)
MOSCOW_UTC_OFFSET = timedelta(hours=3)  # Moscow has no DST; used for the ClientID's unix part

COLUMNS = [
    "ts", "event_type", "anonymous_id", "user_id", "email", "phone", "crm_contact_id",
    "channel", "utm_source", "utm_medium", "utm_campaign", "url", "revenue",
    "order_id", "order_number", "device", "city",
]
ID_COLUMNS = ("anonymous_id", "user_id", "email", "phone", "crm_contact_id")

SITE = "https://shop.example.ru"

# --------------------------------------------------------------------------- people

CITIES = {  # city -> weight (share of customers)
    "Москва": 34, "Санкт-Петербург": 15, "Екатеринбург": 5, "Новосибирск": 5, "Казань": 5,
    "Нижний Новгород": 4, "Краснодар": 5, "Ростов-на-Дону": 4, "Самара": 3, "Уфа": 3,
    "Воронеж": 3, "Пермь": 3, "Челябинск": 3, "Красноярск": 2, "Тюмень": 2, "Калининград": 2,
    "Сочи": 2,
}
DEVICE_KINDS = {"mobile": 60, "desktop": 33, "tablet": 7}

IDENTIFY_SHARE = 0.60          # people who leave an email / phone / login at some point
DEVICE_COUNT_WEIGHTS = {1: 55, 2: 33, 3: 12}   # for people who identify; the others keep one cookie
REGISTERED_SHARE = 0.45        # identified people with an account (user_id)
REGISTERED_SHARE_MULTI = 0.85  # ... among those using two or three devices
LOGIN_PROB = 0.5               # a registered person is logged in during a session
IDENTIFY_EACH_DEVICE_PROB = 0.8  # a multi-device person identifies on each of their devices
NEWSLETTER_AT_IDENTIFY = 0.6   # non-registered identified people subscribe to the newsletter
NEWSLETTER_AT_PURCHASE = 0.2   # buyers tick "subscribe" at checkout
MESSY_EMAIL_SHARE = 0.06       # people whose email is sometimes typed with capitals or spaces
CONTACT_PREFERENCE = {"both": 80, "email": 12, "phone": 8}  # what a buyer fills in at checkout
QUESTION_EMAIL_PROB = 0.4      # an identified person leaves an email in the chat form
CALL_DURING_CONSIDERATION = 0.08  # an identified person also phones the shop while choosing

FIRST_NAMES = ["ivan", "alexey", "dmitry", "sergey", "andrey", "maxim", "artem", "nikita",
               "pavel", "roman", "anna", "maria", "elena", "olga", "natalia", "ekaterina",
               "tatiana", "irina", "svetlana", "yulia", "anastasia", "daria", "polina", "kseniya"]
FEMALE_FIRST_NAMES = set(FIRST_NAMES[10:])
LAST_NAMES = ["ivanov", "smirnov", "kuznetsov", "popov", "vasiliev", "petrov", "sokolov",
              "mikhailov", "novikov", "fedorov", "morozov", "volkov", "alekseev", "lebedev",
              "semenov", "egorov", "pavlov", "kozlov", "stepanov", "nikolaev", "orlov",
              "andreev", "makarov", "nikitin", "zakharov", "belov", "tarasov", "frolov"]
EMAIL_DOMAINS = {"mail.ru": 30, "yandex.ru": 24, "gmail.com": 20, "bk.ru": 6, "inbox.ru": 5,
                 "list.ru": 5, "rambler.ru": 4, "ya.ru": 6}

# --------------------------------------------------------------------------- shop

CATEGORIES = {  # slug -> (min price, max price), RUB
    "shoes": (2490, 12990), "sneakers": (3490, 14990), "boots": (4990, 18990),
    "bags": (1990, 15990), "accessories": (490, 4990), "outerwear": (5990, 24990),
    "dresses": (2490, 9990), "jeans": (2990, 7990), "kids": (990, 5990), "sport": (1490, 8990),
}
PRICE_POINTS = [490, 790, 990, 1290, 1490, 1990, 2490, 2990, 3490, 3990, 4490, 4990, 5490,
                5990, 6990, 7990, 8990, 9990, 11990, 12990, 14990, 16990, 18990, 21990, 24990]
PRODUCT_IDS = range(100, 700)
FREE_DELIVERY_FROM = 3000
DELIVERY_FEE = 299
PROMO_DISCOUNT = 0.10

# Pages that do not show interest in a product (a visit that sees only these is a bounce).
INFO_PAGES = {"/": 30, "/delivery": 12, "/contacts": 6, "/about": 4,
              "/blog/kak-vybrat-razmer-obuvi": 8, "/blog/uhod-za-kozhanoy-obuvyu": 5,
              "/blog/trendy-vesna-2025": 6, "/blog/chto-podarit-na-8-marta": 5,
              "/blog/podarki-na-23-fevralya": 4, "/promo/rasprodazha": 10}

# --------------------------------------------------------------------------- channels

FIRST_VISIT_CHANNELS = {"organic": 33, "paid_search": 30, "social": 14, "referral": 10, "direct": 13}
RETURN_VISIT_CHANNELS = {"organic": 22, "paid_search": 17, "social": 9, "email": 16, "direct": 29,
                         "referral": 7}
PAID_CAMPAIGNS = {"search_brand": 30, "search_obuv_msk": 25, "search_sumki_rf": 15,
                  "rsya_retargeting": 15, "rsya_vesna_2025": 15}
SOCIAL_SOURCES = {  # utm_source -> campaigns
    "vk": ["vk_zima_sale", "vk_8marta", "vk_vesna_novinki"],
    "telegram": ["tg_posev_fashion", "tg_channel_post"],
}
REFERRAL_SOURCES = {"otzovik.com": 25, "pikabu.ru": 15, "dzen.ru": 25, "irecommend.ru": 20,
                    "vc.ru": 15}
PROMO_MAILINGS = [  # (send time, campaign)
    (datetime(2025, 2, 10, 10, 0), "sale_14fevralya"),
    (datetime(2025, 2, 19, 10, 0), "podarki_23fevralya"),
    (datetime(2025, 3, 4, 10, 0), "sale_8marta"),
    (datetime(2025, 4, 15, 10, 0), "vesna_novinki"),
]
EMAIL_OPEN_PROB = 0.18   # a subscriber opens a given mailing

# --------------------------------------------------------------------------- time

# Relative traffic per hour of day, Moscow time: quiet nights, lunch bump, evening peak.
HOUR_WEIGHTS = [0.8, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2.0, 2.8, 3.4, 3.8,
                4.2, 4.3, 4.1, 4.0, 4.0, 4.3, 4.8, 5.6, 6.2, 6.0, 4.6, 2.6]
WEEKDAY_WEIGHTS = [1.00, 1.02, 1.00, 0.97, 0.90, 0.84, 1.06]  # Monday .. Sunday
DATE_FACTORS = [  # (first day, last day, factor): holidays and gift seasons
    (datetime(2025, 1, 1), datetime(2025, 1, 8), 0.65),    # New Year holidays
    (datetime(2025, 2, 9), datetime(2025, 2, 14), 1.25),   # Valentine's day
    (datetime(2025, 2, 17), datetime(2025, 2, 22), 1.30),  # 23 February
    (datetime(2025, 3, 2), datetime(2025, 3, 7), 1.40),    # 8 March
]
TREND = (0.85, 1.15)  # traffic grows from January to April

# --------------------------------------------------------------------------- journey model

# Macro-stage transitions: stage -> {next stage: probability}. "end" stops the journey.
# Until the first order people follow NEW; from the first purchase on, RETURNING (loyal
# customers come back and convert more readily). People who never identify cannot take
# the STAGES_NEEDING_CONTACT: those options are dropped and the rest renormalised.
TRANSITIONS_NEW = {
    "awareness": {"interest": 0.51, "awareness": 0.22, "call": 0.03, "end": 0.24},
    "interest": {"consideration": 0.30, "interest": 0.37, "end": 0.33},
    "consideration": {"checkout": 0.79, "interest": 0.09, "consideration": 0.05, "end": 0.07},
    "checkout": {"purchase": 0.52, "interest": 0.33, "end": 0.15},
    "call": {"purchase": 0.60, "interest": 0.20, "end": 0.20},
}
TRANSITIONS_RETURNING = {
    "purchase": {"review": 0.26, "interest": 0.48, "end": 0.26},
    "review": {"interest": 0.50, "end": 0.50},
    "interest": {"consideration": 0.75, "interest": 0.10, "end": 0.15},
    "consideration": {"checkout": 0.82, "interest": 0.08, "end": 0.10},
    "checkout": {"purchase": 0.85, "interest": 0.10, "end": 0.05},
}
# How the next stage is reached: (probability of staying in the same session, otherwise).
# Gap kinds: "revisit" (hours to weeks), "soon" (minutes to two days), "delivery" (after the
# parcel arrives), "repeat" (weeks later), "phone" (minutes after a call, no web session).
STEP_TIMING = {
    ("awareness", "interest"): (0.70, "revisit"),
    ("interest", "consideration"): (0.65, "revisit"),
    ("consideration", "checkout"): (0.60, "revisit"),
    ("consideration", "interest"): (0.50, "revisit"),
    ("checkout", "purchase"): (0.85, "soon"),
    ("checkout", "interest"): (0.50, "soon"),
    ("awareness", "call"): (0.0, "soon"),
    ("call", "purchase"): (0.0, "phone"),
    ("call", "interest"): (0.0, "soon"),
    ("purchase", "review"): (0.0, "delivery"),
    ("purchase", "interest"): (0.0, "repeat"),
    ("review", "interest"): (0.0, "repeat"),
}
STAGES_NEEDING_CONTACT = ("checkout", "call")  # people who never identify cannot take these
MAX_STEPS = 40
MAX_ORDERS = 4

# --------------------------------------------------------------------------- bad rows

BAD_TIMESTAMPS = ["31.02.2025 25:61", "not a date", "", "2025-13-45 10:00:00", "2025-02-30 24:00:00"]
BAD_TS_AT = [0.04, 0.31, 0.58, 0.86, 1.0]    # fractions of the good rows (1.0 = appended)
NO_ID_AT = [0.17, 0.49, 0.93]
DUPLICATE_AT = [0.02, 0.11, 0.22, 0.35, 0.44, 0.52, 0.63, 0.71, 0.80, 0.97]


# =========================================================================== model objects


@dataclass
class Device:
    """One browser / phone of a person: a single Yandex-Metrica-like ClientID cookie."""

    kind: str
    anonymous_id: str = ""  # issued at the first session on the device


@dataclass
class Person:
    """A customer and what the shop has learned about them so far."""

    idx: int
    city: str
    identifies: bool
    registered: bool
    email: str
    phone: str
    user_id: str
    email_style: str           # "" (always clean) or how the email is sometimes mistyped
    contact_preference: str    # which contacts they fill in at checkout
    favourite_category: str
    devices: list[Device]
    crm_contact_id: str = ""
    orders: int = 0
    email_known: bool = False  # the shop can send them email
    subscribed_at: datetime | None = None
    viewed_products: list[int] = field(default_factory=list)


@dataclass
class Session:
    """A web session in progress: its device, traffic source and the running clock."""

    device: Device
    channel: str
    t: datetime
    logged_in: bool


class WindowClosed(Exception):
    """The journey ran past the end of the observation window."""


# =========================================================================== helpers


def pick(rng: random.Random, weights: dict):
    """One key of ``weights`` drawn with probability proportional to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def fmt_ts(t: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (naive Moscow wall-clock time)."""
    return t.strftime("%Y-%m-%d %H:%M:%S")


def url(path: str) -> str:
    """Absolute shop URL for a path."""
    return SITE + path


def day_weight(day: datetime) -> float:
    """Relative traffic on a calendar day: trend x weekday x holidays."""
    span = (WINDOW_END - WINDOW_START).days
    trend = TREND[0] + (TREND[1] - TREND[0]) * (day - WINDOW_START).days / span
    factor = WEEKDAY_WEIGHTS[day.weekday()] * trend
    for first, last, f in DATE_FACTORS:
        if first <= day <= last:
            factor *= f
    return factor


def random_time_of_day(rng: random.Random, day: datetime) -> datetime:
    """A moment on ``day`` following the hour-of-day profile."""
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))


def build_catalog(rng: random.Random) -> tuple[dict[int, tuple[str, int]], dict[str, list[int]]]:
    """Products ``{id: (category, price)}`` and ``{category: [product ids]}``."""
    products: dict[int, tuple[str, int]] = {}
    by_category: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    categories = list(CATEGORIES)
    for pid in PRODUCT_IDS:
        cat = categories[pid % len(categories)] if rng.random() < 0.5 else rng.choice(categories)
        lo, hi = CATEGORIES[cat]
        price = rng.choice([p for p in PRICE_POINTS if lo <= p <= hi])
        products[pid] = (cat, price)
        by_category[cat].append(pid)
    return products, by_category


# =========================================================================== simulator


class ShopSimulator:
    """Generates people, walks their journeys and collects the event rows."""

    def __init__(self, seed: int, customers: int):
        self.rng = random.Random(seed)
        self.customers = customers
        self.products, self.products_by_category = build_catalog(self.rng)
        self.mailings = self._mailing_schedule()
        self.day_weights = self._first_visit_day_weights()
        self.issued: set[str] = set()  # every unique identifier handed out so far
        self.next_user_number = 10001
        self.rows: list[dict[str, str]] = []
        self.row_person: list[int] = []  # person index of each row (for statistics only)

    # ------------------------------------------------------------------ setup

    @staticmethod
    def _mailing_schedule() -> list[tuple[datetime, str]]:
        """Weekly Thursday digests plus the holiday promos, sorted by send time."""
        mailings = list(PROMO_MAILINGS)
        day = datetime(2025, 1, 9, 11, 0)
        while day <= WINDOW_END:
            mailings.append((day, f"digest_{day:%Y_%m_%d}"))
            day += timedelta(days=7)
        return sorted(mailings)

    @staticmethod
    def _first_visit_day_weights() -> list[tuple[datetime, float]]:
        """Every day of the window with its relative traffic."""
        days = []
        day = WINDOW_START
        while day <= WINDOW_END:
            days.append((day, day_weight(day)))
            day += timedelta(days=1)
        return days

    def _unique(self, make) -> str:
        """Call ``make()`` until it returns an identifier not issued before."""
        while True:
            value = make()
            if value not in self.issued:
                self.issued.add(value)
                return value

    def make_person(self, idx: int) -> Person:
        """Draw one person's static attributes."""
        rng = self.rng
        identifies = rng.random() < IDENTIFY_SHARE
        n_devices = pick(rng, DEVICE_COUNT_WEIGHTS) if identifies else 1
        kinds = [pick(rng, DEVICE_KINDS)]
        while len(kinds) < n_devices:  # a second device is usually of another kind
            kind = pick(rng, DEVICE_KINDS)
            if kind not in kinds or rng.random() < 0.2:
                kinds.append(kind)
        registered = identifies and rng.random() < (REGISTERED_SHARE_MULTI if n_devices > 1 else REGISTERED_SHARE)
        user_id = ""
        if registered:
            user_id = f"u{self.next_user_number}"
            self.next_user_number += rng.randint(1, 3)  # some accounts belong to no one here
        email_style = ""
        if rng.random() < MESSY_EMAIL_SHARE:
            email_style = rng.choice(["capital", "upper", "spaces"])
        return Person(
            idx=idx,
            city=pick(rng, CITIES),
            identifies=identifies,
            registered=registered,
            email=self._unique(self._make_email),
            phone=self._unique(lambda: f"+79{rng.randrange(10**9):09d}"),
            user_id=user_id,
            email_style=email_style,
            contact_preference=pick(rng, CONTACT_PREFERENCE),
            favourite_category=rng.choice(list(CATEGORIES)),
            devices=[Device(kind) for kind in kinds],
        )

    def _make_email(self) -> str:
        """A plausible lower-case Russian e-mail address."""
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        if first in FEMALE_FIRST_NAMES:
            last += "a"
        pattern = rng.randrange(5)
        if pattern == 0:
            local = f"{first}.{last}"
        elif pattern == 1:
            local = f"{first}{rng.randint(70, 99) if rng.random() < 0.5 else rng.randint(2000, 2010)}"
        elif pattern == 2:
            local = f"{last}.{first[0]}"
        elif pattern == 3:
            local = f"{first}_{last}{rng.randint(1, 99)}"
        else:
            local = f"{first[0]}{last}{rng.randint(1, 999)}"
        return f"{local}@{pick(rng, EMAIL_DOMAINS)}"

    # ------------------------------------------------------------------ journey path

    def simulate_path(self, person: Person) -> list[tuple[str, str]]:
        """The Markov walk: ``[(stage, how it is reached)]``; "start"/"same"/a gap kind."""
        rng = self.rng
        path = [("awareness", "start")]
        stage, orders = "awareness", 0
        while len(path) < MAX_STEPS:
            table = TRANSITIONS_RETURNING if orders else TRANSITIONS_NEW
            options = dict(table[stage])
            if not person.identifies:
                for blocked in STAGES_NEEDING_CONTACT:
                    options.pop(blocked, None)
            if orders >= MAX_ORDERS:
                options.pop("interest", None)
            nxt = pick(rng, options)
            if nxt == "end":
                break
            p_same, gap = STEP_TIMING.get((stage, nxt), (0.0, "revisit"))
            path.append((nxt, "same" if rng.random() < p_same else gap))
            orders += nxt == "purchase"
            stage = nxt
        return path

    # ------------------------------------------------------------------ timing

    def first_session_start(self) -> datetime:
        """When a person first arrives: day by seasonality, time by the hour profile."""
        days, weights = zip(*self.day_weights)
        return random_time_of_day(self.rng, self.rng.choices(days, weights=weights)[0])

    def next_session_start(self, after: datetime, gap: str) -> datetime:
        """Start of a later session, ``gap`` after the moment ``after``."""
        rng = self.rng
        if gap == "phone":
            return after + timedelta(minutes=rng.randint(3, 40))
        if gap == "soon":
            if rng.random() < 0.6:
                return after + timedelta(minutes=rng.randint(10, 240))
            days = rng.randint(1, 2)
        elif gap == "delivery":
            days = rng.randint(4, 12)
        elif gap == "repeat":
            days = rng.randint(7, 40)
        else:  # revisit: same day or a long-tailed number of days
            if rng.random() < 0.25:
                return after + timedelta(minutes=int(rng.uniform(30, 360)))
            days = max(1, min(60, round(rng.lognormvariate(math.log(3), 1.0))))
        day = (after + timedelta(days=days)).replace(hour=0, minute=0, second=0)
        while rng.random() > WEEKDAY_WEIGHTS[day.weekday()] / max(WEEKDAY_WEIGHTS):
            day += timedelta(days=1)  # shift off quieter weekdays now and then
        return random_time_of_day(rng, day)

    # ------------------------------------------------------------------ rows

    def email_value(self, person: Person) -> str:
        """The person's email as typed on this row (occasionally with capitals or spaces)."""
        if not person.email_style or self.rng.random() < 0.5:
            return person.email
        if person.email_style == "capital":
            local, domain = person.email.split("@")
            return f"{local.capitalize()}@{domain.capitalize()}"
        if person.email_style == "upper":
            return person.email.upper()
        return f" {person.email} "

    def add_row(self, person: Person, t: datetime, event_type: str, **fields: str) -> None:
        """Append one event row (``fields`` are CSV columns; the rest stay empty)."""
        if t > WINDOW_END:
            raise WindowClosed
        row = dict.fromkeys(COLUMNS, "")
        row.update(ts=fmt_ts(t), event_type=event_type, city=person.city)
        row.update(fields)
        self.rows.append(row)
        self.row_person.append(person.idx)

    def web_event(self, person: Person, s: Session, event_type: str, path: str,
                  think: float = 40.0, **fields: str) -> None:
        """A tracked web event in session ``s``, ``think`` seconds (on average) after the last."""
        s.t += timedelta(seconds=min(900, 3 + int(self.rng.expovariate(1 / think))))
        if s.logged_in:
            fields.setdefault("user_id", person.user_id)
        self.add_row(person, s.t, event_type, anonymous_id=s.device.anonymous_id, channel=s.channel,
                     url=url(path), device=s.device.kind, **fields)

    def choose_channel(self, person: Person, first: bool) -> tuple[str, dict[str, str]]:
        """A traffic source for a new session and its UTM fields."""
        rng = self.rng
        weights = dict(FIRST_VISIT_CHANNELS if first else RETURN_VISIT_CHANNELS)
        if not person.email_known:
            weights.pop("email", None)
        channel = pick(rng, weights)
        if channel == "paid_search":
            return channel, {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": pick(rng, PAID_CAMPAIGNS)}
        if channel == "social":
            source = rng.choice(list(SOCIAL_SOURCES))
            return channel, {"utm_source": source, "utm_medium": "social",
                             "utm_campaign": rng.choice(SOCIAL_SOURCES[source])}
        if channel == "referral":
            return channel, {"utm_source": pick(rng, REFERRAL_SOURCES), "utm_medium": "referral"}
        return channel, {}

    def latest_mailing(self, before: datetime) -> str:
        """The campaign of the last mailing sent before ``before`` (the one clicked)."""
        sent = [name for when, name in self.mailings if when < before]
        return sent[-1] if sent else "welcome"

    def open_session(self, person: Person, device: Device, start: datetime, first: bool,
                     landing: str, identify: bool, campaign: str = "") -> Session:
        """Emit the ``visit`` row (plus the email open that led to it) and return the session."""
        rng = self.rng
        if not device.anonymous_id:
            unix = int((start - MOSCOW_UTC_OFFSET - datetime(1970, 1, 1)).total_seconds())
            device.anonymous_id = self._unique(lambda: f"{unix}{rng.randrange(10**8, 10**9)}")
        channel, utm = self.choose_channel(person, first)
        if campaign and person.email_known:
            channel = "email"
        if channel == "email":
            campaign = campaign or self.latest_mailing(start)
            utm = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": campaign}
            opened = start - timedelta(minutes=rng.randint(1, 30))
            self.add_row(person, max(opened, WINDOW_START), "email_open", email=self.email_value(person),
                         channel="email", **utm)
        logged_in = person.registered and (identify or rng.random() < LOGIN_PROB)
        s = Session(device=device, channel=channel, t=start, logged_in=logged_in)
        fields = dict(utm)
        if logged_in:  # the login row links this cookie to the account and the email
            fields.update(user_id=person.user_id, email=self.email_value(person))
            person.email_known = True
        self.add_row(person, start, "visit", anonymous_id=device.anonymous_id, channel=channel,
                     url=url(landing), device=device.kind, **fields)
        if identify and not person.registered and person.subscribed_at is None:
            self.subscribe(person, s)
        return s

    def subscribe(self, person: Person, s: Session) -> None:
        """``newsletter_subscribe``: the email joins this session's cookie."""
        self.web_event(person, s, "newsletter_subscribe", "/subscribe", think=60,
                       email=self.email_value(person))
        person.email_known = True
        person.subscribed_at = s.t

    # ------------------------------------------------------------------ stage renderers

    def pick_product(self, person: Person) -> int:
        """A product to look at, usually from the person's favourite category."""
        rng = self.rng
        if person.viewed_products and rng.random() < 0.35:
            return rng.choice(person.viewed_products[-6:])
        cat = person.favourite_category if rng.random() < 0.7 else rng.choice(list(CATEGORIES))
        return rng.choice(self.products_by_category[cat])

    def view_product(self, person: Person, s: Session) -> int:
        """Open a product page: ``page_view`` and usually the ``product_view`` ecommerce hit."""
        pid = self.pick_product(person)
        self.web_event(person, s, "page_view", f"/product/{pid}")
        if self.rng.random() < 0.85:
            self.web_event(person, s, "product_view", f"/product/{pid}", think=2)
        person.viewed_products.append(pid)
        return pid

    def stage_awareness(self, person: Person, s: Session) -> None:
        """A bounce-ish visit: maybe one more info page."""
        if self.rng.random() < 0.35:
            self.web_event(person, s, "page_view", pick(self.rng, INFO_PAGES))

    def stage_interest(self, person: Person, s: Session) -> None:
        """Browse the catalog and open a few product pages."""
        rng = self.rng
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            cat = person.favourite_category if rng.random() < 0.6 else rng.choice(list(CATEGORIES))
            suffix = rng.choice(["", "", "", "?page=2", "?sort=price_asc"])
            self.web_event(person, s, "page_view", f"/catalog/{cat}{suffix}")
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                self.view_product(person, s)
        if rng.random() < 0.15:
            self.web_event(person, s, "page_view", pick(rng, INFO_PAGES))

    def stage_consideration(self, person: Person, s: Session) -> None:
        """Put something in the cart and/or ask support; some identified people also call."""
        rng = self.rng
        pid = self.view_product(person, s)
        roll = rng.random()
        if roll < 0.75:
            self.web_event(person, s, "add_to_cart", f"/product/{pid}", think=20)
            if rng.random() < 0.3:
                self.web_event(person, s, "add_to_cart", f"/product/{self.view_product(person, s)}", think=20)
        if roll > 0.6:  # chat question; sometimes with an email for the answer
            fields = {}
            if person.identifies and rng.random() < QUESTION_EMAIL_PROB:
                fields["email"] = self.email_value(person)
                person.email_known = True
            self.web_event(person, s, "question", f"/product/{pid}", think=90, **fields)
        if person.identifies and rng.random() < CALL_DURING_CONSIDERATION:
            self.phone_call(person, s.t + timedelta(minutes=rng.randint(1, 20)))

    def stage_checkout(self, person: Person, s: Session) -> None:
        """Open the cart and start checkout with contact details."""
        self.web_event(person, s, "page_view", "/cart", think=30)
        self.web_event(person, s, "checkout", "/checkout", think=60, **self.contact_fields(person))
        person.email_known = person.email_known or person.contact_preference != "phone"

    def stage_purchase_web(self, person: Person, s: Session) -> None:
        """Pay for the order on the site."""
        s.t += timedelta(seconds=self.rng.randint(60, 300))
        self.web_event(person, s, "purchase", "/checkout/success", think=5, **self.order_fields(person))
        if person.subscribed_at is None and person.contact_preference != "phone" \
                and self.rng.random() < NEWSLETTER_AT_PURCHASE:
            self.subscribe(person, s)

    def stage_review(self, person: Person, s: Session) -> None:
        """Leave a review of a bought product."""
        pid = self.rng.choice(person.viewed_products[-5:]) if person.viewed_products else self.pick_product(person)
        self.web_event(person, s, "page_view", f"/product/{pid}")
        self.web_event(person, s, "review", f"/product/{pid}#reviews", think=180,
                       email=self.email_value(person))

    def phone_call(self, person: Person, t: datetime) -> None:
        """An inbound call: only the phone (and the CRM contact once it exists)."""
        crm = person.crm_contact_id
        if not crm:
            self.ensure_crm_contact(person)
            if self.rng.random() < 0.6:  # the manager creates the contact while on the call
                crm = person.crm_contact_id
        self.add_row(person, t, "call", phone=person.phone, crm_contact_id=crm)

    def phone_order(self, person: Person, t: datetime) -> None:
        """An order taken by phone: CRM data only, no cookie."""
        fields = self.order_fields(person)
        fields.pop("user_id", None)
        if self.rng.random() < 0.5:
            fields.pop("email", None)
        fields["phone"] = person.phone
        self.add_row(person, t, "purchase", **fields)

    def ensure_crm_contact(self, person: Person) -> None:
        """Create the amoCRM contact on the first order or call."""
        if not person.crm_contact_id:
            person.crm_contact_id = self._unique(lambda: f"amo-{self.rng.randint(10000, 99999)}")

    def contact_fields(self, person: Person) -> dict[str, str]:
        """Email and/or phone as filled in at checkout."""
        fields = {}
        if person.contact_preference in ("both", "email"):
            fields["email"] = self.email_value(person)
        if person.contact_preference in ("both", "phone"):
            fields["phone"] = person.phone
        return fields

    def order_fields(self, person: Person) -> dict[str, str]:
        """Order columns: revenue from 1-3 items, order number, contacts, CRM id."""
        rng = self.rng
        self.ensure_crm_contact(person)
        person.orders += 1
        items = [self.pick_product(person) for _ in range(pick(rng, {1: 60, 2: 30, 3: 10}))]
        total = sum(self.products[pid][1] for pid in items)
        if rng.random() < 0.2:
            total = round(total * (1 - PROMO_DISCOUNT))
        if total < FREE_DELIVERY_FROM:
            total += DELIVERY_FEE
        fields = self.contact_fields(person)
        fields.update(revenue=f"{total:.2f}", order_id="PENDING", order_number=str(person.orders),
                      crm_contact_id=person.crm_contact_id)
        return fields

    # ------------------------------------------------------------------ one person

    def plan_sessions(self, person: Person, path: list[tuple[str, str]]) -> tuple[list[int], set[int]]:
        """Device of each web session and the sessions where the person identifies."""
        rng = self.rng
        web_starts = [i for i, (stage, how) in enumerate(path)
                      if how != "same" and how != "phone" and stage != "call"]
        n = len(web_starts)
        n_dev = len(person.devices)
        devices = [0] + [0 if n_dev == 1 or rng.random() < 0.55 else rng.randrange(1, n_dev) for _ in range(n - 1)]
        for d in range(1, n_dev):  # give every extra device at least one session when possible
            if d not in devices and n > d:
                devices[rng.randrange(1, n)] = d
        identify: set[int] = set()
        if person.identifies and n:
            identify.add(0 if rng.random() < 0.4 else rng.randrange(n))
            for d in range(1, n_dev):
                if d in devices and rng.random() < IDENTIFY_EACH_DEVICE_PROB:
                    identify.add(devices.index(d))
        return devices, identify

    def simulate_person(self, person: Person) -> None:
        """Walk one person's path and emit their rows (stops at the end of the window)."""
        path = self.simulate_path(person)
        devices, identify = self.plan_sessions(person, path)
        session_no = -1
        s: Session | None = None
        last_t = self.first_session_start()
        try:
            for stage, how in path:
                if stage == "call":
                    last_t = self.next_session_start(last_t, how)
                    self.phone_call(person, last_t)
                    s = None
                    continue
                if how == "phone":  # order taken on the phone right after the call
                    last_t = self.next_session_start(last_t, "phone")
                    self.phone_order(person, last_t)
                    continue
                if how != "same" or s is None:
                    session_no += 1
                    start = last_t if how == "start" else self.next_session_start(last_t, how)
                    device = person.devices[devices[min(session_no, len(devices) - 1)]]
                    campaign = "review_request" if stage == "review" else ""
                    landing = self.landing_page(person, stage)
                    s = self.open_session(person, device, start, how == "start", landing,
                                          session_no in identify, campaign)
                    if stage == "purchase":  # came back to finish an abandoned checkout
                        self.stage_checkout(person, s)
                self.render_stage(person, s, stage)
                last_t = s.t
        except WindowClosed:
            pass

    def landing_page(self, person: Person, stage: str) -> str:
        """Where a session starts: info pages for bounces, catalog or product otherwise."""
        rng = self.rng
        if stage == "awareness" or rng.random() < 0.3:
            return pick(rng, INFO_PAGES)
        if rng.random() < 0.5:
            return f"/catalog/{person.favourite_category}"
        return f"/product/{self.pick_product(person)}"

    def render_stage(self, person: Person, s: Session, stage: str) -> None:
        """Emit the events of one macro-stage inside session ``s``."""
        if stage == "awareness":
            self.stage_awareness(person, s)
        elif stage == "interest":
            self.stage_interest(person, s)
        elif stage == "consideration":
            self.stage_consideration(person, s)
        elif stage == "checkout":
            self.stage_checkout(person, s)
        elif stage == "purchase":
            self.stage_purchase_web(person, s)
        elif stage == "review":
            self.stage_review(person, s)

    def email_opens(self, person: Person) -> None:
        """Opens of the newsletters sent after the person subscribed."""
        rng = self.rng
        if person.subscribed_at is None:
            return
        for when, campaign in self.mailings:
            if when > person.subscribed_at and rng.random() < EMAIL_OPEN_PROB:
                delay = min(3 * 24 * 3600, int(rng.expovariate(1 / (5 * 3600))))  # seconds, mean 5 h
                opened = when + timedelta(seconds=delay)
                if opened <= WINDOW_END:
                    self.add_row(person, opened, "email_open", email=self.email_value(person), channel="email",
                                 utm_source="newsletter", utm_medium="email", utm_campaign=campaign)

    # ------------------------------------------------------------------ whole file

    def run(self) -> tuple[list[dict[str, str]], list[int]]:
        """Simulate everybody; return good rows sorted by time and their person indexes."""
        for idx in range(self.customers):
            person = self.make_person(idx)
            self.simulate_person(person)
            self.email_opens(person)
        order = sorted(range(len(self.rows)), key=lambda i: self.rows[i]["ts"])  # stable
        rows = [self.rows[i] for i in order]
        persons = [self.row_person[i] for i in order]
        for n, row in enumerate(r for r in rows if r["event_type"] == "purchase"):
            row["order_id"] = f"ORD-{104001 + n}"  # order ids grow with time
        return rows, persons


# =========================================================================== bad rows


def insert_bad_rows(rng: random.Random, rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], Counter]:
    """Insert unparseable-time rows, rows without identifiers and exact duplicates."""
    n = len(rows)
    inserts: list[tuple[int, int, dict[str, str]]] = []  # (insert before good row i, tie order, row)

    def spot(fraction: float) -> int:
        return min(n, int(fraction * n))

    page_views = [r for r in rows if r["event_type"] == "page_view"]
    for k, (fraction, bad_ts) in enumerate(zip(BAD_TS_AT, BAD_TIMESTAMPS)):
        row = dict(rng.choice(page_views))
        row["ts"] = bad_ts
        inserts.append((spot(fraction), k, row))

    no_id_templates = [
        ("visit", "direct", "/", "desktop"),
        ("page_view", "", "/catalog/sale", "desktop"),
        ("add_to_cart", "organic", f"/product/{rng.choice(PRODUCT_IDS)}", "mobile"),
    ]
    for k, (fraction, (event_type, channel, path, device)) in enumerate(zip(NO_ID_AT, no_id_templates)):
        at = spot(fraction)
        row = dict.fromkeys(COLUMNS, "")
        row.update(ts=rows[min(at, n - 1)]["ts"], event_type=event_type, channel=channel,
                   url=url(path), device=device)
        inserts.append((at, 10 + k, row))

    for k, fraction in enumerate(DUPLICATE_AT):
        source = min(spot(fraction), n - 1)
        inserts.append((source + 1 + rng.randint(0, 3), 20 + k, dict(rows[source])))  # tracker fired twice

    inserts.sort(key=lambda item: (item[0], item[1]))
    out: list[dict[str, str]] = []
    j = 0
    for i in range(n + 1):
        while j < len(inserts) and inserts[j][0] == i:
            out.append(inserts[j][2])
            j += 1
        if i < n:
            out.append(rows[i])
    counts = Counter(bad_ts=len(BAD_TS_AT), no_identifier=len(NO_ID_AT), duplicates=len(DUPLICATE_AT))
    return out, counts


# =========================================================================== output


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """UTF-8 (no BOM), comma-separated, header row, ``\\n`` line endings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def funnel(rows: list[dict[str, str]], persons: list[int]) -> dict[str, int]:
    """People reaching each journey stage (as the sample config's stage rules would see it)."""
    reached: dict[str, set[int]] = {k: set() for k in
                                    ("visit", "interest", "consideration", "checkout", "purchase", "review",
                                     "repeat_purchase")}
    for row, p in zip(rows, persons):
        et = row["event_type"]
        if et == "visit":
            reached["visit"].add(p)
        if et == "product_view" or (et == "page_view" and ("/catalog/" in row["url"] or "/product/" in row["url"])):
            reached["interest"].add(p)
        if et in ("add_to_cart", "question", "call"):
            reached["consideration"].add(p)
        if et in ("checkout", "purchase", "review"):
            reached[et].add(p)
        if et == "purchase" and row["order_number"] not in ("", "1"):
            reached["repeat_purchase"].add(p)
    return {k: len(v) for k, v in reached.items()}


def report(path: Path, good: list[dict[str, str]], persons: list[int], final: list[dict[str, str]],
           bad: Counter, customers: int) -> None:
    """Print row counts, event mix, funnel, identification and the file's sha256."""
    print(f"wrote {path}: {len(final)} rows ({len(good)} good + {sum(bad.values())} deliberately bad), "
          f"{path.stat().st_size / 1e6:.2f} MB")
    print(f"persons simulated: {customers}; persons with rows: {len(set(persons))}")
    print(f"bad rows: unparseable ts {bad['bad_ts']}, no identifier {bad['no_identifier']}, "
          f"exact duplicates {bad['duplicates']}")
    types = Counter(r["event_type"] for r in final)
    print("event_type counts:")
    for et, c in types.most_common():
        print(f"  {et:<22}{c:>7}  {100 * c / len(final):5.1f}%")
    identified = {p for r, p in zip(good, persons) if any(r[c] for c in ID_COLUMNS if c != "anonymous_id")}
    everyone = set(persons)
    print(f"never identify: {len(everyone - identified)} ({100 * len(everyone - identified) / len(everyone):.1f}%)")
    cookies = {r["anonymous_id"] for r in good if r["anonymous_id"]}
    print(f"distinct anonymous_id: {len(cookies)}")
    print("funnel (people reaching the stage):")
    for stage, c in funnel(good, persons).items():
        print(f"  {stage:<16}{c:>6}  {100 * c / len(everyone):5.1f}%")
    print(f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help="number of people")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")

    sim = ShopSimulator(args.seed, args.customers)
    good, persons = sim.run()
    final, bad = insert_bad_rows(sim.rng, good)
    write_csv(args.out, final)
    report(args.out, good, persons, final, bad, args.customers)


if __name__ == "__main__":
    main()
