"""The shop's own tracker: how one person's visits, orders and mailing become rows of the event log.

The rows of :mod:`cjm_pipeline.simulate.eventlog` (the ``ecommerce`` template's one event
log), person by person, from the records of the walk
(:func:`~cjm_pipeline.simulate.journeys.simulate_world`). How the world shows in the log:

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

Each person's rows draw from their own ``random.Random`` (``(seed, template, "log", index)``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from .clock import weighted
from .identities import spell_phone
from .records import World

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
        the first visit's second, 1000 s apart (:class:`~cjm_pipeline.simulate.touches.Touches`)."""
        if self.p.first_client_id is None:
            self.p.first_client_id = client_id
        return (int(client_id[:-9]) - int(self.p.first_client_id[:-9])) // 1000

    def visit(self, v, purchases_done: list[int]) -> None:
        p, rng = self.p, self.p.rng
        cid = self.device(v)
        if cid not in p.devices:
            p.devices[cid] = weighted(rng, DEVICE_KINDS)
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
            self.add(t, "page", "page_view", url=self.url(weighted(rng, INFO_PAGES)), **web, **self.logged(cid))
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
    """Each person of the world as the shop knows them (city, e-mail habits, account, favourite category)."""
    first_contact: dict[str, tuple[int, int]] = {}
    for c in sorted(world.contacts, key=lambda c: c.contact_id):
        first_contact.setdefault(c.person, (c.created, c.contact_id))
    people = []
    for index, info in enumerate(world.people):
        rng = random.Random(f"{world.seed}:{world.model.template}:log:{index}")
        email = info.email
        person = Person(info.person_id, index, rng, info.phone[2:], email, weighted(rng, CITIES),
                        rng.choice(["capital", "upper", "spaces"]) if rng.random() < MESSY_EMAIL_SHARE else "",
                        weighted(rng, CONTACT_PREFERENCE), bool(email) and rng.random() < ACCOUNT_SHARE,
                        contact=first_contact.get(info.person_id), favourite=rng.choice(CATEGORIES),
                        n_devices=info.devices)
        people.append(person)
    return people


def shop_rows(world: World) -> list[LogRow]:
    """Every good row of the world's log in time order (order ids and stages not yet set)."""
    m = world.model
    visits, leads, mails = defaultdict(list), defaultdict(list), defaultdict(list)
    for v in world.visits:
        visits[v.person].append(v)
    for lead in world.leads:
        leads[lead.person].append(lead)
    for r in world.rows:
        if r.source == "mailing":  # (the help desk's tickets and surveys are not the shop's log)
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


__all__ = ["shop_rows", "LogRow", "PersonLog", "CATEGORIES"]
