"""A simulated world written as ONE generic event log: the CSV an analyst exports from a shop's own tracker.

``cjm simulate --template ecommerce --format generic`` walks the same people as the real
format (:func:`~cjm_pipeline.simulate.journeys.simulate_world`) and writes what the shop's
own backend logged about them, one row per event, instead of the Metrica / amoCRM / mailing
exports::

    events.csv          ts,event_type,anonymous_id,user_id,email,phone,crm_contact_id,channel,
                        utm_source,utm_medium,utm_campaign,url,revenue,order_id,order_number,device,city
    truth/records.csv   every row: person_id, signature, true stage and its defect (if any)
    truth/events.csv    the events the pipeline must load (good rows), with the true stage
    truth/paths.csv     each person's true stage path
    truth/people.csv    each person: devices, phone, e-mail, rows, stage path
    truth/world.json    the options, the counts and the line numbers of the broken rows

How the world shows in the log (Moscow wall-clock time, naive; UTF-8, ``\\n``):

* every Metrica visit is a ``visit`` row (the device's ClientID as ``anonymous_id``; people
  with two or three devices make some return visits on another one), channel,
  UTM, landing page, device kind), followed by the pages of the visit: catalogue goals are
  ``page_view`` rows of ``/catalog/<category>``, product goals a ``page_view`` and a
  ``product_view`` of ``/product/<id>``, review goals ``page_view`` of
  ``/product/<id>/reviews``, cart goals ``add_to_cart``, checkout goals a ``checkout`` row
  carrying the e-mail and/or phone typed in the form, e-commerce purchases ``purchase``; the
  other pages of the visit (home, delivery, blog, unclaimed product pages) are ``page_view``
  rows without a stage;
* amoCRM: an order taken by phone (a lead a manager creates) is a ``phone_order`` row; an
  order paid on delivery (won without a web purchase) a ``purchase`` row without a cookie;
  a lost order ``order_cancelled``; CRM rows carry the phone as a manager typed it and
  ``crm_contact_id`` (``amo-<contact id>``);
* the mailing service's opens and clicks are ``email_open`` / ``email_click`` rows (e-mail only);
* people with an e-mail subscribe to the newsletter on the site now and then
  (``newsletter_subscribe``: the cookie and the e-mail); 55 % of them open an account at
  their first checkout: later sessions are logged in (``user_id``), and a new device logs in
  at its visit now and then, which is what joins a person's devices; e-mails are sometimes
  typed with capitals or spaces, phones in many spellings.

**True stages** (:data:`LOG_STAGES`, the stages of ``configs/sample.yaml``) are the
template's stages renamed, taken from each row's signature (:data:`SIGNATURE_STAGES`):
first_contact and every later visit -> ``awareness``, catalogue -> ``interest``, cart ->
``consideration``, checkout -> ``checkout``, payment -> ``purchase`` for the person's first
order and ``repeat_purchase`` for the next ones (``order_number``); post-purchase mail and the
pages without a goal have no stage.

**Dirty rows** (``dirty=True``, the default): 5 rows with unparseable timestamps (copies of
page views), 3 rows without any identifier and 10 exact duplicates (a tracker firing twice,
1-4 rows after the original), placed at fixed fractions of the file; ``truth/records.csv``
marks each one (``defect``: ``bad_time``, ``no_identifier``, ``duplicate``; ``copy_of``: the
original's row) and ``truth/world.json`` lists their line numbers.

Only the ``ecommerce`` template has a shop log (its pages, orders and mailing); the same
options give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CjmError
from .journeys import World, spell_phone
from .writers import csv_text

#: The header of the log.
LOG_COLUMNS = ["ts", "event_type", "anonymous_id", "user_id", "email", "phone", "crm_contact_id", "channel",
               "utm_source", "utm_medium", "utm_campaign", "url", "revenue", "order_id", "order_number", "device",
               "city"]
#: Columns that identify a person (a row with none of them is quarantined).
ID_COLUMNS = ("anonymous_id", "user_id", "email", "phone", "crm_contact_id")
#: The log's stages, in funnel order (configs/sample.yaml).
LOG_STAGES = ("awareness", "interest", "consideration", "checkout", "purchase", "repeat_purchase")
#: Signature of a written event -> its stage in the log (``purchase`` becomes ``repeat_purchase``
#: from the person's second order on); signatures not listed have no stage.
SIGNATURE_STAGES = {
    "visit": "awareness", "visit:return": "awareness",
    "goal:catalog": "interest", "goal:product": "interest", "goal:reviews": "interest",
    "goal:cart": "consideration",
    "goal:checkout": "checkout", "lead:main": "checkout",
    "purchase": "purchase", "status:main:won": "purchase",
}
#: Templates whose world has a shop log.
LOG_TEMPLATES = ("ecommerce",)
LOG_FILE = "events.csv"
SOURCE = "shop"
TRUTH_RECORD_COLUMNS = ["source", "file", "row", "record_id", "person_id", "event_type", "signature", "stage",
                        "defect", "copy_of"]
TRUTH_EVENT_COLUMNS = ["event_id", "source", "person_id", "event_ts", "event_type", "signature", "stage"]
TRUTH_PATH_COLUMNS = ["person_id", "seq", "event_ts", "stage", "event_id"]
TRUTH_PEOPLE_COLUMNS = ["person_id", "devices", "phone", "email", "city", "identified", "rows", "staged_rows",
                        "stage_path"]

CITIES = {"Москва": 34, "Санкт-Петербург": 15, "Екатеринбург": 5, "Новосибирск": 5, "Казань": 5,
          "Нижний Новгород": 4, "Краснодар": 5, "Ростов-на-Дону": 4, "Самара": 3, "Уфа": 3, "Воронеж": 3,
          "Пермь": 3, "Челябинск": 3, "Красноярск": 2, "Тюмень": 2, "Калининград": 2, "Сочи": 2}
DEVICE_KINDS = {"mobile": 60, "desktop": 33, "tablet": 7}
CATEGORIES = ("shoes", "sneakers", "boots", "bags", "accessories", "outerwear", "dresses", "jeans", "kids", "sport")
INFO_PAGES = {"": 30, "delivery": 12, "contacts": 6, "about": 4, "blog/kak-vybrat-razmer": 8,
              "blog/uhod-za-obuvyu": 5, "blog/trendy-vesna-2025": 6, "sale": 10, "payment": 5}
CONTACT_PREFERENCE = {"both": 80, "email": 12, "phone": 8}
ACCOUNT_SHARE = 0.55        # people with an e-mail who open an account at their first checkout
NEW_DEVICE_LOGIN = 0.5      # a visit from a device not logged in yet logs in
MESSY_EMAIL_SHARE = 0.06    # people whose e-mail is sometimes typed with capitals or spaces
CRM_EMAIL = 0.5             # a CRM row carries the e-mail too
OTHER_DEVICE = 0.45         # a return visit of a person with several devices is made on another one
SUBSCRIBE = 0.12            # a visit of a person with an e-mail ends with a newsletter subscription (once)

BAD_TIMESTAMPS = ("31.02.2025 25:61", "not a date", "", "2025-13-45 10:00:00", "2025-02-30 24:00:00")
BAD_TS_AT = (0.04, 0.31, 0.58, 0.86, 1.0)   # fractions of the good rows (1.0 = the last line)
NO_ID_AT = (0.17, 0.49, 0.93)
DUPLICATE_AT = (0.02, 0.11, 0.22, 0.35, 0.44, 0.52, 0.63, 0.71, 0.80, 0.97)
DEFECTS = ("bad_time", "no_identifier", "duplicate")


@dataclass
class LogRow:
    """One row of the log and what the truth knows about it."""

    t: int
    person: str
    seq: int
    signature: str
    fields: dict[str, str]
    defect: str = ""
    copy_of: LogRow | None = None
    """The row a duplicate or a broken-time row was copied from."""
    stage: str | None = None
    row: int = 0


@dataclass
class Person:
    """What the shop's log knows of one person while their rows are written."""

    pid: str
    index: int
    rng: random.Random
    phone: str
    email: str | None
    city: str
    email_style: str
    preference: str
    has_account: bool
    devices: dict[str, str] = field(default_factory=dict)
    account_at: int | None = None
    logged_in: set[str] = field(default_factory=set)
    contact: tuple[int, int] | None = None  # (created, contact id)
    favourite: str = "shoes"
    n_devices: int = 1
    other_devices: dict[int, str] = field(default_factory=dict)
    """Device number -> its ClientID in the log (the walk's, or one made for a device the walk left unused)."""
    first_client_id: str | None = None
    subscribed: bool = False
    seq: int = 0


def check_template(template: str) -> None:
    """Raise when a template has no shop log."""
    if template not in LOG_TEMPLATES:
        raise CjmError(f"format generic: template {template!r} has no shop event log "
                       f"(templates with one: {', '.join(LOG_TEMPLATES)}); use --format real")


def _local(t: int, offset: int) -> str:
    return dt.datetime.fromtimestamp(t + offset, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _iso_utc(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _channel(traffic: tuple[str, str, str, str, str]) -> str:
    """The shop's channel name of a Metrica traffic tuple."""
    source, engine = traffic[0], traffic[1]
    if source == "ad":
        return "paid_social" if engine == "vk" else "paid_search"
    return source


# --------------------------------------------------------------------------- one person's rows


class PersonLog:
    """Writes the rows of one person's records (visits, leads, mailing rows)."""

    def __init__(self, world: World, person: Person, host: str):
        self.w, self.p, self.host = world, person, host
        self.rows: list[LogRow] = []

    def add(self, t: int, signature: str, event_type: str, **fields: str) -> None:
        p = self.p
        values = {"event_type": event_type, "city": p.city, **{k: v for k, v in fields.items() if v}}
        self.rows.append(LogRow(t, p.pid, p.seq, signature, values))
        p.seq += 1

    def url(self, path: str) -> str:
        return f"https://{self.host}/{path}"

    def email_text(self) -> str:
        """The person's e-mail as typed on this row (now and then with capitals or spaces)."""
        p = self.p
        if not p.email_style or p.rng.random() < 0.5:
            return p.email
        if p.email_style == "capital":
            local, domain = p.email.split("@")
            return f"{local.capitalize()}@{domain.capitalize()}"
        return p.email.upper() if p.email_style == "upper" else f" {p.email} "

    def contact_id(self, t: int) -> str:
        c = self.p.contact
        return f"amo-{c[1]}" if c is not None and c[0] <= t else ""

    def form_contacts(self) -> dict[str, str]:
        """E-mail and/or phone as the person types them into the checkout form."""
        p = self.p
        fields = {}
        if p.email and p.preference in ("both", "email"):
            fields["email"] = self.email_text()
        if not p.email or p.preference in ("both", "phone"):
            fields["phone"] = spell_phone(p.phone, p.rng, "cashier")
        return fields

    # ------------------------------------------------------------------ web

    def device(self, v) -> str:
        """The browser of a visit: a return visit is now and then made on another of the person's
        devices (a ClientID of its own, made at its first visit), as people switch phone and laptop."""
        p, rng = self.p, self.p.rng
        own = self.device_index(v.client_id)
        if v.new or p.n_devices < 2 or rng.random() >= OTHER_DEVICE:
            p.other_devices.setdefault(own, v.client_id)
            return v.client_id
        d = rng.choice([k for k in range(p.n_devices) if k != own])
        if d not in p.other_devices:
            p.other_devices[d] = f"{v.start}{rng.randrange(10**8, 10**9)}"
        return p.other_devices[d]

    def device_index(self, client_id: str) -> int:
        """Which of the person's devices a ClientID of the walk is: the walk numbers them from
        the first visit's second, 1000 s apart (:class:`~cjm_pipeline.simulate.journeys.Journey`)."""
        if self.p.first_client_id is None:
            self.p.first_client_id = client_id
        return (int(client_id[:-9]) - int(self.p.first_client_id[:-9])) // 1000

    def visit(self, v, purchases_done: list[int]) -> None:
        p, rng = self.p, self.p.rng
        cid = self.device(v)
        if cid not in p.devices:
            p.devices[cid] = _pick(rng, DEVICE_KINDS)
        web = {"anonymous_id": cid, "device": p.devices[cid], "channel": _channel(v.traffic)}
        login = {}
        if p.account_at is not None and v.start > p.account_at:
            if cid in p.logged_in:
                login = {"user_id": self.user_id()}
            elif rng.random() < NEW_DEVICE_LOGIN:  # the login row joins this device to the account
                p.logged_in.add(cid)
                login = {"user_id": self.user_id(), "email": self.email_text()}
        utm = dict(zip(("utm_source", "utm_medium", "utm_campaign"), v.traffic[2:]))
        self.add(v.start, "visit" if v.new else "visit:return", "visit", url=self.url(self.landing(v.landing)),
                 **web, **utm, **login)
        if p.email and not p.subscribed and rng.random() < SUBSCRIBE:  # the footer form: this cookie and the e-mail
            p.subscribed = True
            self.add(v.start + rng.randint(20, 300), "subscribe", "newsletter_subscribe", url=self.url("subscribe"),
                     email=self.email_text(), **web, **self.logged(cid))
        for k in range(max(0, v.pages - 1)):  # the visit's other pages: no goal, no stage
            t = v.start + (k + 1) * rng.randint(8, 90)
            self.add(t, "page", "page_view", url=self.url(_pick(rng, INFO_PAGES)), **web, **self.logged(cid))
        for key, t in v.goals:
            self.goal(key, t, web)
        for _order, t, price in v.purchases:
            self.add(t, "purchase", "purchase", url=self.url("checkout/success"), revenue=f"{price}.00",
                     crm_contact_id=self.contact_id(t), **web, **self.logged(cid), **self.form_contacts())
            purchases_done.append(t)

    def landing(self, page: str) -> str:
        """A landing page of the template with the category or product filled in."""
        if page == "catalog/":
            return f"catalog/{self.p.favourite}"
        if page == "product/":
            return f"product/{self.product()}"
        return page

    def user_id(self) -> str:
        return f"u{10001 + self.p.index}"

    def logged(self, cid: str) -> dict[str, str]:
        return {"user_id": self.user_id()} if cid in self.p.logged_in else {}

    def product(self) -> str:
        rng = self.p.rng
        return str(100 + CATEGORIES.index(self.p.favourite) * 60 + rng.randrange(60)) if rng.random() < 0.7 \
            else str(rng.randrange(100, 700))

    def goal(self, key: str, t: int, web: dict[str, str]) -> None:
        p, rng, cid = self.p, self.p.rng, web["anonymous_id"]
        sig = f"goal:{key}"
        if key == "catalog":
            category = p.favourite if rng.random() < 0.6 else rng.choice(CATEGORIES)
            suffix = rng.choice(["", "", "", "?page=2", "?sort=price_asc"])
            self.add(t, sig, "page_view", url=self.url(f"catalog/{category}{suffix}"), **web, **self.logged(cid))
            for k in range(rng.choice([0, 1, 1, 2])):  # product pages opened from the list, no detail hit
                self.add(t + 20 * (k + 1) + rng.randint(0, 15), "page", "page_view",
                         url=self.url(f"product/{self.product()}"), **web, **self.logged(cid))
        elif key == "product":
            url = self.url(f"product/{self.product()}")
            self.add(t - 1, "page", "page_view", url=url, **web, **self.logged(cid))
            self.add(t, sig, "product_view", url=url, **web, **self.logged(cid))
        elif key == "reviews":
            self.add(t, sig, "page_view", url=self.url(f"product/{self.product()}/reviews"), **web,
                     **self.logged(cid))
        elif key == "cart":
            self.add(t, sig, "add_to_cart", url=self.url(f"product/{self.product()}"), **web, **self.logged(cid))
            self.add(t + rng.randint(5, 40), "page", "page_view", url=self.url("cart"), **web, **self.logged(cid))
        elif key == "checkout":
            if p.has_account and p.account_at is None:
                p.account_at = t
                p.logged_in.add(cid)
            self.add(t, sig, "checkout", url=self.url("checkout"), crm_contact_id=self.contact_id(t), **web,
                     **self.logged(cid), **self.form_contacts())
        else:
            raise ValueError(f"no log row for goal {key!r}")

    # ------------------------------------------------------------------ CRM and mailing

    def crm(self, lead, form_name: str, web_purchases: list[int]) -> None:
        """Rows of one amoCRM lead: a phone order, an order paid on delivery, a cancellation."""
        rng = self.p.rng
        for i, (t, status) in enumerate(lead.history):
            ids = {"crm_contact_id": self.contact_id(t) or f"amo-{lead.contact_ids[0]}",
                   "phone": spell_phone(self.p.phone, rng, "manager")}
            if self.p.email and rng.random() < CRM_EMAIL:
                ids["email"] = self.email_text()
            if i == 0:
                if lead.name != form_name:  # a manager took the order on the phone
                    self.add(t, "lead:main", "phone_order", **ids)
            elif status == "won":
                if not any(0 < t - w <= 900 for w in web_purchases):  # else the web purchase's own lead
                    self.add(t, "status:main:won", "purchase", revenue=f"{lead.price}.00", **ids)
            elif status == "lost":
                self.add(t, "status:main:lost", "order_cancelled", **ids)
            else:
                self.add(t, f"status:main:{status}", "order_status", **ids)

    def mail(self, r) -> None:
        email = r.ids.get("email")
        if not email:
            return
        if email == self.p.email:
            email = self.email_text()
        self.add(r.time, r.signature, r.event_type, email=email, channel="email", utm_source="newsletter",
                 utm_medium="email", utm_campaign=r.properties.get("campaign", ""))


def _people(world: World) -> list[Person]:
    first_contact: dict[str, tuple[int, int]] = {}
    for c in sorted(world.contacts, key=lambda c: c.contact_id):
        first_contact.setdefault(c.person, (c.created, c.contact_id))
    people = []
    for index, info in enumerate(world.people):
        rng = random.Random(f"{world.seed}:{world.model.template}:log:{index}")
        email = info.email
        person = Person(info.person_id, index, rng, info.phone[2:], email, _pick(rng, CITIES),
                        rng.choice(["capital", "upper", "spaces"]) if rng.random() < MESSY_EMAIL_SHARE else "",
                        _pick(rng, CONTACT_PREFERENCE), bool(email) and rng.random() < ACCOUNT_SHARE,
                        contact=first_contact.get(info.person_id), favourite=rng.choice(CATEGORIES),
                        n_devices=info.devices)
        people.append(person)
    return people


def log_rows(world: World) -> list[LogRow]:
    """Every good row of the world's log, in time order, with its true stage and order number."""
    m = world.model
    check_template(m.template)
    visits, leads, mails = defaultdict(list), defaultdict(list), defaultdict(list)
    for v in world.visits:
        visits[v.person].append(v)
    for lead in world.leads:
        leads[lead.person].append(lead)
    for r in world.rows:
        mails[r.person].append(r)
    rows: list[LogRow] = []
    for p in _people(world):
        log = PersonLog(world, p, m.web.host)
        web_purchases: list[int] = []
        for v in sorted(visits[p.pid], key=lambda v: (v.start, v.visit_id)):
            log.visit(v, web_purchases)
        for lead in sorted(leads[p.pid], key=lambda ld: ld.lead_id):
            log.crm(lead, m.crm.form_lead_name, web_purchases)
        for r in sorted(mails[p.pid], key=lambda r: (r.time, r.event_id)):
            log.mail(r)
        rows += _unique(log.rows)
    rows = [r for r in rows if world.start <= r.t < world.end]
    rows.sort(key=lambda r: (r.t, r.person, r.seq))
    _orders(rows)
    return rows


def _unique(rows: list[LogRow]) -> list[LogRow]:
    """Move a row that would be an exact copy of another (same second, same page) a second later:
    the only exact duplicates in the log are the deliberate ones."""
    seen: set[tuple] = set()
    for r in sorted(rows, key=lambda r: (r.t, r.seq)):
        while (r.t, tuple(sorted(r.fields.items()))) in seen:
            r.t += 1
        seen.add((r.t, tuple(sorted(r.fields.items()))))
    return rows


def _orders(rows: list[LogRow]) -> None:
    """Order ids in time order, each person's order number, and the true stage of every row."""
    orders: Counter = Counter()
    number = 104000
    for r in rows:
        stage = SIGNATURE_STAGES.get(r.signature)
        if r.fields["event_type"] == "purchase":
            number += 1
            orders[r.person] += 1
            r.fields["order_id"] = f"ORD-{number}"
            r.fields["order_number"] = str(orders[r.person])
            if orders[r.person] > 1:
                stage = "repeat_purchase"
        r.stage = stage


# --------------------------------------------------------------------------- dirty rows


def add_defects(rows: list[LogRow], seed: int, template: str, offset: int) -> list[LogRow]:
    """The log with its deliberately broken rows inserted (see the module docstring)."""
    rng = random.Random(f"{seed}:{template}:defects")
    n = len(rows)
    inserts: list[tuple[int, int, LogRow]] = []

    def spot(fraction: float) -> int:
        return min(n, int(fraction * n))

    page_views = [i for i, r in enumerate(rows) if r.fields["event_type"] == "page_view"]
    for k, (fraction, bad) in enumerate(zip(BAD_TS_AT, BAD_TIMESTAMPS)):
        source = rng.choice(page_views)
        copy = LogRow(rows[source].t, rows[source].person, -1, rows[source].signature, dict(rows[source].fields),
                      "bad_time", rows[source])
        copy.fields["ts"] = bad
        inserts.append((spot(fraction), k, copy))
    blanks = [("visit", "direct", "", "desktop"), ("page_view", "", "catalog/sale", "desktop"),
              ("add_to_cart", "paid_search", f"product/{rng.randrange(100, 700)}", "mobile")]
    for k, (fraction, (event_type, channel, path, device)) in enumerate(zip(NO_ID_AT, blanks)):
        at = spot(fraction)
        t = rows[min(at, n - 1)].t
        fields = {"ts": _local(t, offset), "event_type": event_type, "channel": channel,
                  "url": f"https://tovary-shop.ru/{path}", "device": device}
        inserts.append((at, 10 + k, LogRow(t, f"nobody-{k + 1}", -1, "", {c: v for c, v in fields.items() if v},
                                           "no_identifier")))
    for k, fraction in enumerate(DUPLICATE_AT):
        source = min(spot(fraction), n - 1)
        copy = LogRow(rows[source].t, rows[source].person, -1, rows[source].signature, dict(rows[source].fields),
                      "duplicate", rows[source], rows[source].stage)
        inserts.append((source + 1 + rng.randint(0, 3), 20 + k, copy))
    inserts.sort(key=lambda item: (item[0], item[1]))
    out: list[LogRow] = []
    j = 0
    for i in range(n + 1):
        while j < len(inserts) and inserts[j][0] == i:
            out.append(inserts[j][2])
            j += 1
        if i < n:
            out.append(rows[i])
    return out


# --------------------------------------------------------------------------- files


def _write(path: Path, text: str, files: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    files.append(path)


def write_log(world: World, out: Path, options: dict, *, dirty: bool = True, truth: bool = True
              ) -> tuple[list[Path], dict]:
    """``out/events.csv`` and the truth (``truth/world.json`` always, the rest when ``truth``)."""
    offset = world.model.utc_offset_hours * 3600
    good = log_rows(world)
    for r in good:
        r.fields["ts"] = _local(r.t, offset)
    rows = add_defects(good, world.seed, world.model.template, offset) if dirty else good
    for number, r in enumerate(rows, start=1):
        r.row = number
    files: list[Path] = []
    _write(out / LOG_FILE, csv_text(LOG_COLUMNS, ([r.fields.get(c, "") for c in LOG_COLUMNS] for r in rows)), files)
    summary = _summary(world, rows, options, dirty)
    if truth:
        _write_truth(world, out, rows, files)
    _write(out / "truth" / "world.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n", files)
    return files, summary


def _identified(rows: list[LogRow]) -> set[str]:
    """People with a row that carries a personal identifier (not only a cookie)."""
    return {r.person for r in rows if not r.defect and any(r.fields.get(c) for c in ID_COLUMNS[1:])}


def _summary(world: World, rows: list[LogRow], options: dict, dirty: bool) -> dict:
    good = [r for r in rows if not r.defect]
    people = {r.person for r in good}
    reached = {s: len({r.person for r in good if r.stage == s}) for s in LOG_STAGES}
    line = {d: [r.row + 1 for r in rows if r.defect == d] for d in DEFECTS}  # + 1: the header is line 1
    return {
        **options, "format": "generic", "dirty": dirty, "file": LOG_FILE, "source": SOURCE,
        "stages": list(LOG_STAGES),
        "people": len(world.people), "people_with_rows": len(people),
        "people_identified": len(_identified(rows) & people),
        "devices": len({r.fields["anonymous_id"] for r in good if r.fields.get("anonymous_id")}),
        "rows": len(rows), "good_rows": len(good), "staged_rows": sum(1 for r in good if r.stage),
        "defects": {d: len(v) for d, v in line.items()}, "defect_lines": line,
        "event_types": dict(sorted(Counter(r.fields["event_type"] for r in rows).items())),
        "people_reaching": reached,
    }


def _write_truth(world: World, out: Path, rows: list[LogRow], files: list[Path]) -> None:
    records = [(SOURCE, LOG_FILE, r.row, f"row:{r.row}", r.person, r.fields.get("event_type", ""), r.signature,
                r.stage or "", r.defect, "" if r.copy_of is None else r.copy_of.row) for r in rows]
    _write(out / "truth" / "records.csv", csv_text(TRUTH_RECORD_COLUMNS, records), files)
    good = [r for r in rows if not r.defect]
    by_person = sorted(good, key=lambda r: (r.person, r.t, r.row))
    _write(out / "truth" / "events.csv", csv_text(TRUTH_EVENT_COLUMNS, (
        (f"{SOURCE}:row:{r.row}", SOURCE, r.person, _iso_utc(r.t), r.fields["event_type"], r.signature, r.stage or "")
        for r in by_person)), files)
    order = {s: i for i, s in enumerate(LOG_STAGES)}
    staged: dict[str, list[LogRow]] = defaultdict(list)
    for r in sorted((r for r in good if r.stage), key=lambda r: (r.person, r.t, order[r.stage], r.row)):
        staged[r.person].append(r)
    path_rows, stage_paths = [], {}
    for person, steps in staged.items():
        stage_paths[person] = ">".join(s.stage for i, s in enumerate(steps) if i == 0 or steps[i - 1].stage != s.stage)
        path_rows += [(person, k, _iso_utc(s.t), s.stage, f"{SOURCE}:row:{s.row}") for k, s in enumerate(steps, 1)]
    _write(out / "truth" / "paths.csv", csv_text(TRUTH_PATH_COLUMNS, path_rows), files)
    counts = Counter(r.person for r in good)
    cities = {r.person: r.fields["city"] for r in good}
    devices = defaultdict(set)
    for r in good:
        if r.fields.get("anonymous_id"):
            devices[r.person].add(r.fields["anonymous_id"])
    identified = _identified(rows)
    people = [(p.person_id, len(devices[p.person_id]), p.phone, p.email or "", cities.get(p.person_id, ""),
               int(p.person_id in identified), counts[p.person_id], len(staged[p.person_id]),
               stage_paths.get(p.person_id, "")) for p in world.people]
    _write(out / "truth" / "people.csv", csv_text(TRUTH_PEOPLE_COLUMNS, people), files)


__all__ = ["write_log", "log_rows", "add_defects", "check_template", "LOG_COLUMNS", "LOG_STAGES", "SIGNATURE_STAGES",
           "LOG_TEMPLATES", "DEFECTS", "ID_COLUMNS"]
