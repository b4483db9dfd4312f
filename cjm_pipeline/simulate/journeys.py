"""People walking a template's journey model, and the records their touches leave behind.

:func:`simulate_world` makes ``customers`` people; each walks the stage model
(:class:`~cjm_pipeline.simulate.model.StageModel`: forward, skip, back, stay, exit, with
dwell times) from an entry stage, and every step is **realised** by one touch kind of the
stage: a Metrica visit or goal, a call, an amoCRM lead or status change, a generic row.
Touches have side effects that real systems have too: a site form creates a lead, an
answered call may, a won deal needs a lead, a journey that ends with an open lead sees it
closed as lost. Everything is kept as plain records (:class:`Visit`, :class:`Call`,
:class:`Lead`, :class:`Contact`, :class:`Row`) that the writers turn into files; the truth
(which person, which stage) is taken from the same records, so it is exactly what the files say.

Times are whole epoch seconds (UTC). Each person draws from their own ``random.Random``
seeded with ``(seed, template, person index)``; ids (visits, calls, leads ...) are numbered
in person order. The same options therefore give the same world, byte for byte.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from .model import TRAFFIC, GenericSource, IdentityModel, Traffic, WorldModel, signature_of

SESSION_GAP_S = 1800
"""A visit goes on while its hits are less than 30 minutes apart (Metrica's default)."""

FIRST_NAMES = ("ivan", "anna", "olga", "sergey", "maria", "dmitry", "elena", "pavel", "irina", "alexey",
               "natalia", "mikhail", "tatiana", "andrey", "ekaterina", "nikolay", "yulia", "artem")
LAST_NAMES = ("petrov", "ivanova", "smirnov", "kuznetsova", "popov", "sokolova", "lebedev", "kozlova",
              "novikov", "morozova", "volkov", "fedorova")
#: The women's names of FIRST_NAMES: their surnames take the feminine form (Kozlova, not Kozlov).
FEMALE_NAMES = frozenset({"anna", "olga", "maria", "elena", "irina", "natalia", "tatiana", "ekaterina", "yulia"})
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "rambler.ru")
#: Mobile operator codes after +7 9.. (none that the placeholder blocklist could match).
OPERATOR_CODES = ("16", "03", "26", "85", "77", "67", "15", "05", "31", "60", "62", "68", "25", "19", "50", "52")
PLACEHOLDER_EMAILS = ("test@test.ru", "noemail@mail.ru", "no@no.ru", "mail@mail.ru")
PLACEHOLDER_PHONE = "9999999999"


def surname(first: str, last: str) -> str:
    """``last`` (a Russian surname in -ov/-ova, -ev/-eva) in the gender of the first name ``first``.

    >>> surname("mikhail", "kozlova"), surname("anna", "petrov"), surname("anna", "ivanova")
    ('kozlov', 'petrova', 'ivanova')
    """
    base = last[:-1] if last.endswith("a") else last
    return base + "a" if first in FEMALE_NAMES else base


# --------------------------------------------------------------------------- records


@dataclass
class Visit:
    """A Metrica visit: its goals and e-commerce purchases."""

    visit_id: int
    person: str
    client_id: str
    start: int
    last: int
    new: bool
    traffic: Traffic
    landing: str
    goals: list[tuple[str, int]] = field(default_factory=list)
    purchases: list[tuple[str, int, int]] = field(default_factory=list)
    pages: int = 1
    first_watch: int = 0


@dataclass
class Call:
    """A Calltouch call."""

    call_id: int
    person: str
    time: int
    caller: str
    ya_client_id: str | None
    answered: bool
    duration: int
    traffic: Traffic | None
    session_id: int
    ct_client_id: int | None
    manager: str = ""


@dataclass
class Lead:
    """An amoCRM lead: its pipeline and its status history ``[(time, status key)]``."""

    lead_id: int
    person: str
    pipeline: str
    created: int
    contact_ids: list[int]
    ym_client_id: str | None
    name: str
    price: int
    history: list[tuple[int, str]]

    @property
    def status(self) -> str:
        return self.history[-1][1]

    @property
    def closed(self) -> bool:
        return self.status in ("won", "lost")


@dataclass
class Contact:
    """An amoCRM contact: phones and e-mails as a manager typed them."""

    contact_id: int
    person: str
    created: int
    name: str
    phones: list[str]
    emails: list[str]
    client_ids: list[str] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)


@dataclass
class Row:
    """One row of a generic source."""

    source: str
    event_id: str
    person: str
    time: int
    event_type: str
    signature: str
    ids: dict[str, str]
    properties: dict[str, str]
    channel: str | None = None
    revenue: int | None = None


@dataclass
class PersonInfo:
    """Ground truth about one person (``truth/people.csv``)."""

    person_id: str
    devices: int
    phone: str
    email: str | None
    company_phone: str | None = None
    shares_phone_with: str | None = None


@dataclass
class World:
    """Every record of a simulated world, ready for the writers."""

    model: WorldModel
    start: int
    end: int
    seed: int
    people: list[PersonInfo] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str, first: int) -> int:
        """The next number of a kind of id (visits, calls, leads ...), starting at ``first``."""
        n = self.counters.get(kind, first - 1) + 1
        self.counters[kind] = n
        return n


# --------------------------------------------------------------------------- phones, e-mails and times


def spell_phone(digits: str, rng: random.Random, style: str) -> str:
    """A 10-digit Russian number (``9161234567``) the way a person or system writes it.

    ``style``: ``caller`` (call tracking: mostly bare digits), ``manager`` (a CRM contact)
    or ``cashier`` (a till or a form).

    >>> sorted({spell_phone("9161234567", random.Random(i), "manager") for i in range(40)})[:3]
    ['+7 (916) 123-45-67', '+7 916 123 45 67', '+79161234567']
    """
    d = digits
    if len(d) == 10 and d[0] != "9":  # a landline: (495) 123-45-67
        options = [f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"7{d}"]
        return rng.choice(options)
    if style == "caller":
        return rng.choice([f"7{d}", f"7{d}", f"7{d}", f"8{d}", f"+7{d}"])
    if style == "manager":
        return rng.choice([f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
                           f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"8{d}", f"+7{d}", f"8 {d[:3]} {d[3:]}"])
    return rng.choice([f"8-{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:]}", d, f"+7{d}", f"8{d}", f"+7 ({d[:3]}) {d[3:6]}-{d[6:]}"])


def phone_digits(index: int) -> str:
    """A unique mobile number (10 digits) for person ``index``: a bijection of the index.

    >>> phone_digits(0), phone_digits(1)
    ('9160104729', '9030112648')
    """
    return "9" + OPERATOR_CODES[index % len(OPERATOR_CODES)] + f"{(index * 7919 + 104729) % 10**7:07d}"


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class Clock:
    """Local-time helpers of one world: day starts, seasonality, snapping to active hours."""

    def __init__(self, model: WorldModel, start: int, end: int):
        self.offset = model.utc_offset_hours * 3600
        self.start, self.end = start, end
        self.weekdays = model.weekdays
        self.wmax = max(model.weekdays)
        self.hours = model.hours

    def moment_on_or_after(self, rng: random.Random, t: int) -> int:
        """A time on the local day of ``t`` or a later one, the day accepted by its weekday
        weight and the hour drawn from the hour profile; always after ``t``."""
        local_day = (t + self.offset) // 86400
        for _ in range(14):
            weekday = (local_day + 3) % 7  # 1970-01-01 was a Thursday
            if rng.random() * self.wmax <= self.weekdays[weekday]:
                break
            local_day += 1
        hour = rng.choices(range(24), weights=self.hours)[0]
        moment = local_day * 86400 - self.offset + hour * 3600 + rng.randrange(3600)
        return moment if moment > t else t + rng.randint(300, 5400)

    def entry(self, rng: random.Random, days: int) -> int:
        """When a person first shows up: a day of the period (early days a little likelier, so
        late arrivals are fewer and every journey has some time), then a weekday and an hour."""
        day = int(rng.random() ** 1.15 * days)
        return self.moment_on_or_after(rng, self.start + day * 86400)


# --------------------------------------------------------------------------- one person's journey


class Journey:
    """One person walking the model; the touches are appended to the world."""

    def __init__(self, world: World, index: int, rng: random.Random, identity: IdentityModel,
                 shared: dict[int, dict[str, str]]):
        self.w, self.m, self.rng, self.idm = world, world.model, rng, identity
        self.index = index
        self.pid = f"p{index + 1:06d}"
        self.clock = Clock(self.m, world.start, world.end)
        n_dev = int(weighted(rng, {str(k): v for k, v in identity.devices.items()})) if self.m.web else 0
        self.entry_time = self.clock.entry(rng, (world.end - world.start) // 86400)
        self.devices = [f"{self.entry_time + 1000 * d}{rng.randrange(10**8, 10**9)}" for d in range(n_dev)]
        self.used: list[int] = []
        self.phone = phone_digits(index)
        extra = shared.get(index, {})
        if "family_phone" in extra:
            self.phone = extra["family_phone"]
        self.company_phone = extra.get("company_phone")
        self.email = None
        if rng.random() < identity.email_share:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            self.email = f"{first}.{surname(first, last)}{index + 1}@{rng.choice(MAIL_DOMAINS)}"
        self.card = f"{7700000000 + index * 37 % 10**9:010d}"
        self.user_id = f"stu{100000 + index}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        self.name = f"{first.capitalize()} {surname(first, last).capitalize()}"
        self.visit: Visit | None = None
        self.last_web = 0
        self.open_leads: dict[str, Lead] = {}
        self.last_lead: dict[str, Lead] = {}
        self.contact: Contact | None = None
        self.tokens: list[set[tuple[str, str]]] = []
        world.people.append(PersonInfo(self.pid, n_dev, "+7" + self.phone, self.email, self.company_phone,
                                       extra.get("shares_with")))

    # ------------------------------------------------------------------ the walk

    def run(self) -> None:
        m, rng = self.m, self.rng
        if self.entry_time >= self.w.end:
            return
        if self.company_phone and m.crm:
            self._ensure_contact(self.entry_time)
        entries = {k: v for k, v in m.entry.items() if self._stage_possible(m.stage_names.index(k))}
        if not entries:
            return
        stage = m.stage_names.index(weighted(rng, entries))
        t = self.entry_time
        for _ in range(m.max_steps):
            self.realise(stage, t)
            nxt = self._next_stage(stage)
            st = m.stages[stage]
            t_next = self._next_time(t, st)
            if nxt is None or t_next >= self.w.end:
                self._noise(t, min(t + 7 * 86400, self.w.end))
                break
            self._noise(t, t_next)
            stage, t = nxt, t_next
        self._finish(t)

    def _next_stage(self, i: int) -> int | None:
        st = self.m.stages[i]
        r = self.rng.random()
        n = len(self.m.stages)
        if r < st.forward and i + 1 < n:
            return i + 1
        r -= st.forward
        if r < st.skip and i + 2 < n:
            return min(n - 1, i + 2 + (1 if self.rng.random() < 0.25 else 0))
        r -= st.skip
        if r < st.back:
            if st.back_to:
                return self.m.stage_names.index(self.rng.choice(st.back_to))
            earlier = [j for j in range(i) if self.m.repeatable(j)]
            if earlier:
                return self.rng.choices(earlier, weights=[2.0 ** j for j in earlier])[0]
            return None
        r -= st.back
        if r < st.stay:
            return i
        return None

    def _next_time(self, t: int, st) -> int:
        if self.rng.random() < st.session:
            return t + max(5, int(self.rng.lognormvariate(math.log(150), 0.9)))
        days = self.rng.lognormvariate(math.log(st.median_days), st.spread)
        return self.clock.moment_on_or_after(self.rng, t + int(days * 86400))

    def _stage_possible(self, i: int) -> bool:
        return any(self.available(k) for k in self.m.stages[i].kinds)

    def realise(self, stage: int, t: int) -> bool:
        """Write one touch of the stage at ``t``; False when no kind is possible for this person."""
        kinds = {k: w for k, w in self.m.stages[stage].kinds.items() if self.available(k)}
        if not kinds:
            return False
        self.touch(weighted(self.rng, kinds), t, self.m.stages[stage].traffic)
        return True

    def _noise(self, t0: int, t1: int) -> None:
        for kind, chance in self.m.noise.items():
            if t1 - t0 > 120 and self.rng.random() < chance and self.available(kind):
                self.touch(kind, self.rng.randint(t0 + 60, t1 - 60), None)

    def _finish(self, t: int) -> None:
        """Leads still open when the journey ends are mostly closed as lost, days later."""
        for key, lead in list(self.open_leads.items()):
            if self.rng.random() < self.m.crm.lost_at_exit:
                when = self.clock.moment_on_or_after(self.rng, max(t, lead.history[-1][0]) + 86400 * self.rng.randint(2, 20))
                if when < self.w.end:
                    self._set_status(lead, "lost", when)
        if self.idm.bridge:
            self._bridge(t)

    # ------------------------------------------------------------------ touch kinds

    def available(self, kind: str) -> bool:
        parts = kind.split(":")
        head = parts[0]
        if head == "visit":
            if len(parts) > 1:  # visit:return
                return bool(self.used)
            return len(self.used) < len(self.devices)
        if head in ("goal", "form", "purchase"):
            return bool(self.devices)
        if head == "lead":
            return parts[1] not in self.open_leads
        if head == "status":
            lead = self.open_leads.get(parts[1])
            return lead is None or lead.status != parts[2]
        if head == "event":
            src = self.m.generic_source(parts[1])
            return self._id_value(src.requires) is not None
        return True  # call

    def touch(self, kind: str, t: int, traffic: dict[str, float] | None) -> None:
        parts = kind.split(":")
        head = parts[0]
        if head == "visit":
            if len(parts) > 1:
                self._new_visit(t, self.rng.choice(self.used), traffic)
            else:
                self._new_visit(t, len(self.used), traffic)
        elif head == "goal":
            self._goal(parts[1], t, traffic)
        elif head == "form":
            visit = self._goal(parts[1], t, traffic)
            cid = visit.client_id if self.rng.random() >= self.idm.lost_client_id else None
            self._new_lead(self.m.crm.main.key, t + self.rng.randint(20, 240), cid, self.m.crm.form_lead_name)
        elif head == "purchase":
            self._purchase(t, traffic)
        elif head == "call":
            self._call(t)
        elif head == "lead":
            self._new_lead(parts[1], t, None, self.m.crm.pipeline(parts[1]).lead_name)
        elif head == "status":
            self._status(parts[1], parts[2], t)
        elif head == "event":
            self._row(parts[1], parts[2], parts[3] if len(parts) > 3 else "", t)

    # ------------------------------------------------------------------ web

    def _new_visit(self, t: int, device: int, traffic: dict[str, float] | None) -> Visit:
        t = max(t, self.last_web + 1)
        new = device not in self.used
        if new:
            self.used.append(device)
        web = self.m.web
        mix = traffic or (web.traffic_first if new else web.traffic_return)
        visit = Visit(self.w.next_id("visit", 7234567890123400001), self.pid, self.devices[device], t, t, new,
                      TRAFFIC[weighted(self.rng, mix)], self.rng.choice(web.landing),
                      pages=self.rng.randint(1, 4))
        self.w.visits.append(visit)
        self.visit, self.last_web = visit, t
        self.tokens.append({("ym", visit.client_id)})
        return visit

    def _current_visit(self, t: int, traffic: dict[str, float] | None) -> Visit:
        """The visit going on at ``t``, or a new one started seconds before (mostly on the last device)."""
        if self.visit is not None and 0 <= t - self.visit.last <= SESSION_GAP_S:
            return self.visit
        if self.used and (self.rng.random() < 0.8 or len(self.used) == len(self.devices)):
            device = self.devices.index(self.visit.client_id) if self.visit else self.used[0]
        else:
            device = self.rng.randrange(len(self.devices))
        return self._new_visit(t - self.rng.randint(15, 180), device, traffic)

    def _goal(self, key: str, t: int, traffic: dict[str, float] | None) -> Visit:
        visit = self._current_visit(t, traffic)
        when = max(t, visit.last + 1)
        visit.goals.append((key, when))
        visit.last = self.last_web = when
        visit.pages += self.rng.randint(1, 3)
        return visit

    def _purchase(self, t: int, traffic: dict[str, float] | None) -> None:
        visit = self._current_visit(t, traffic)
        when = max(t, visit.last + 1)
        number = self.w.next_id("order", 100001)
        price = self.rng.choice(self.m.crm.prices if self.m.crm else (2990, 4590, 7990, 12900))
        visit.purchases.append((f"ORD-{number}", when, price))
        visit.last = self.last_web = when
        lead = self.open_leads.get(self.m.crm.main.key) if self.m.crm else None
        if lead is not None:
            self._set_status(lead, "won", when + self.rng.randint(60, 900))

    # ------------------------------------------------------------------ calls

    def _call(self, t: int) -> None:
        calls, rng = self.m.calls, self.rng
        recent = self.visit is not None and t - self.last_web < 3 * 86400
        cid = self.visit.client_id if recent and rng.random() >= self.idm.lost_client_id else None
        phone = self.company_phone if self.company_phone and rng.random() < 0.6 else self.phone
        answered = rng.random() < calls.answered
        session = self.w.next_id("ct_session", 987650001)
        ct_client = (500000000 + self.index * 4 + self.devices.index(cid)) if cid else None
        call = Call(self.w.next_id("call", 123456001), self.pid, t, spell_phone(phone, rng, "caller"), cid, answered,
                    rng.randint(40, 900) if answered else 0, self.visit.traffic if cid else None, session, ct_client,
                    rng.choice(calls.managers) if answered else "")
        self.w.calls.append(call)
        tokens = {("ct_session", str(session))}
        if phone != self.company_phone:
            tokens.add(("phone", phone))
        if cid:
            tokens |= {("ym", cid), ("ct_client", str(ct_client))}
        self.tokens.append(tokens)
        crm = self.m.crm
        if crm and answered and crm.main.key not in self.open_leads and rng.random() < calls.to_lead:
            self._new_lead(crm.main.key, t + rng.randint(60, 900), cid, crm.call_lead_name)

    # ------------------------------------------------------------------ CRM

    def _ensure_contact(self, t: int) -> Contact:
        if self.contact is None:
            self.contact = self._new_contact(t)
        return self.contact

    def _new_contact(self, t: int) -> Contact:
        rng, idm = self.rng, self.idm
        phones = []
        if self.company_phone:
            phones.append(spell_phone(self.company_phone, rng, "manager"))
            if rng.random() < 0.5:
                phones.append(spell_phone(self.phone, rng, "manager"))
        else:
            phones.append(spell_phone(self.phone, rng, "manager"))
        if rng.random() < idm.placeholder_phone:
            pool = [PLACEHOLDER_PHONE, *self.m.company_phones]
            phones.append(spell_phone(rng.choice(pool), rng, "manager"))
        emails = []
        if self.email and rng.random() >= idm.placeholder_email:
            emails.append(self.email.upper() if rng.random() < 0.08 else self.email)
        elif rng.random() < 0.5 and (self.email or idm.placeholder_email):
            emails.append(rng.choice([*PLACEHOLDER_EMAILS, f"info@{self.m.domain}"]))
        contact = Contact(self.w.next_id("contact", 31000001), self.pid, t, self.name, phones, emails)
        self.w.contacts.append(contact)
        tokens = {("contact", str(contact.contact_id))}
        if not self.company_phone or len(phones) > 1:
            tokens.add(("phone", self.phone))
        if self.email and self.email.lower() in [e.lower() for e in emails]:
            tokens.add(("email", self.email))
        self.tokens.append(tokens)
        return contact

    def _new_lead(self, pipeline: str, t: int, client_id: str | None, name: str) -> Lead | None:
        if t >= self.w.end or t < self.w.start:
            return None
        crm, rng = self.m.crm, self.rng
        contact = self._ensure_contact(t - rng.randint(0, 60))
        contacts = [contact]
        if rng.random() < self.idm.duplicate_contact and self.contact.lead_ids:
            contacts = [self._new_contact(t)]
        lead = Lead(self.w.next_id("lead", 4821001), self.pid, pipeline, t, [c.contact_id for c in contacts],
                    client_id, name, rng.choice(crm.prices), [(t, crm.pipeline(pipeline).statuses[0][0])])
        for c in contacts:
            c.lead_ids.append(lead.lead_id)
            c.created = min(c.created, t)
        self.w.leads.append(lead)
        self.open_leads[pipeline] = lead
        self.last_lead[pipeline] = lead
        tokens = {("lead", str(lead.lead_id))} | {("contact", str(c)) for c in lead.contact_ids}
        if client_id:
            tokens.add(("ym", client_id))
        self.tokens.append(tokens)
        return lead

    def _status(self, pipeline: str, status: str, t: int) -> None:
        lead = self.open_leads.get(pipeline)
        if lead is None:
            last = self.last_lead.get(pipeline)
            if last is not None and last.status == "lost" and status not in ("won", "lost") and self.rng.random() < 0.5:
                lead = last  # a lost lead reopened
                self.open_leads[pipeline] = lead
            else:
                created = max(self.w.start, t - self.rng.randint(3600, 2 * 86400))
                name = self.m.crm.pipeline(pipeline).lead_name
                lead = self._new_lead(pipeline, created, None, name)
                if lead is None:
                    return
        self._set_status(lead, status, max(t, lead.history[-1][0] + 60))

    def _set_status(self, lead: Lead, status: str, t: int) -> None:
        if t >= self.w.end:
            return
        lead.history.append((t, status))
        if status in ("won", "lost"):
            self.open_leads.pop(lead.pipeline, None)
        else:
            self.open_leads[lead.pipeline] = lead

    # ------------------------------------------------------------------ generic rows

    def _id_value(self, column: str) -> str | None:
        """The person's value of a generic identifier column (None when they have none)."""
        if column == "phone":
            return self.phone
        if column == "email":
            return self.email
        if column == "customer_id":
            return self.card
        if column == "user_id":
            return self.user_id
        if column == "crm_contact_id":
            return str(self.contact.contact_id) if self.contact else None
        raise KeyError(f"unknown identifier column {column!r}")

    def _row(self, source: str, event_type: str, variant: str, t: int, *, bridge: bool = False) -> None:
        src = self.m.generic_source(source)
        rng = self.rng
        spec = src.events[event_type]
        ids: dict[str, str] = {}
        tokens: set[tuple[str, str]] = set()
        if (not bridge and src.placeholder_phone and self.m.company_phones
                and rng.random() < self.idm.offline_unlinked):
            # the customer gives no number: the cashier types the store's own phone (a placeholder),
            # next to the loyalty card when one is shown
            ids["phone"] = spell_phone(rng.choice(self.m.company_phones), rng, "cashier")
            if "customer_id" in src.ids and rng.random() < 0.7:
                ids["customer_id"] = self.card
                tokens.add(("customer_id", self.card))
        else:
            for column in src.ids:
                value = self._id_value(column)
                if value is None:
                    continue
                if column == "phone":
                    ids[column] = spell_phone(value, rng, "cashier")
                elif (column == "email" and src.requires != "email" and not bridge
                      and rng.random() < self.idm.placeholder_email):
                    ids[column] = rng.choice(PLACEHOLDER_EMAILS)
                    continue
                else:
                    ids[column] = value
                tokens.add(("contact" if column == "crm_contact_id" else column, value))
        props = {k: rng.choice(v) for k, v in src.properties.items()}
        props.update({k: rng.choice(v) for k, v in spec.variants[variant].items()})
        number = self.w.next_id(f"row:{source}", 1)
        sig = f"event:{source}:{event_type}" + (f":{variant}" if variant else "")
        self.w.rows.append(Row(source, f"{source[:3]}-{number:07d}", self.pid, t, event_type, sig, ids, props,
                               spec.channel, rng.choice(spec.revenue) if spec.revenue else None))
        self.tokens.append(tokens)

    # ------------------------------------------------------------------ the clean world's bridge

    def _bridge(self, t: int) -> None:
        """Join every identifier of this person in one record when their records do not link
        on their own: a CRM contact with all of them, or the template's bridge event."""
        if len(self.tokens) <= 1 or connected(self.tokens):
            return
        when = max(self.w.start, min(self.entry_time, self.w.end - 1))
        if self.m.crm is not None:
            contact = self._ensure_contact(when)
            if self.email and self.email not in contact.emails:
                contact.emails.append(self.email)
            contact.client_ids = [self.devices[d] for d in sorted(self.used)]
            tokens = {("contact", str(contact.contact_id)), ("phone", self.phone)}
            tokens |= {("ym", c) for c in contact.client_ids}
            if self.email:
                tokens.add(("email", self.email))
            self.tokens.append(tokens)
        elif self.m.bridge_event is not None:
            _, source, event_type, *variant = self.m.bridge_event.split(":")
            self._row(source, event_type, variant[0] if variant else "", when, bridge=True)
        if not connected(self.tokens):
            raise AssertionError(f"{self.m.template}: person {self.pid}'s records do not link even with a bridge "
                                 "record; the clean world needs every record to carry a shared identifier")


def connected(groups: list[set[tuple[str, str]]]) -> bool:
    """True when the records (each a set of identifier tokens) form one connected component.

    >>> connected([{("a", "1")}, {("a", "1"), ("b", "2")}, {("b", "2")}]), connected([{("a", "1")}, {("b", "2")}])
    (True, False)
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in groups:
        items = sorted(g)
        for a in items[1:]:
            parent[find(a)] = find(items[0])
    if any(not g for g in groups):
        return False
    roots = {find(next(iter(g))) for g in groups}
    return len(roots) == 1


# --------------------------------------------------------------------------- the world


def shared_identities(model: WorldModel, identity: IdentityModel, customers: int, seed: int) -> dict[int, dict[str, str]]:
    """Who shares a phone: company reception phones (4-6 people each) and a few family phones."""
    rng = random.Random(f"{seed}:{model.template}:shared")
    out: dict[int, dict[str, str]] = {}
    order = list(range(customers))
    rng.shuffle(order)
    n_company = int(customers * identity.company_share) if model.crm else 0
    pos, company = 0, 0
    while n_company - pos >= 4:
        size = min(rng.randint(4, 6), n_company - pos)
        phone = "495" + f"{(company * 104723 + 5550000) % 10**7:07d}"
        for idx in order[pos:pos + size]:
            out[idx] = {"company_phone": phone}
        pos += size
        company += 1
    n_family = int(customers * identity.family_share) // 2
    for k in range(n_family):
        a, b = order[pos + 2 * k], order[pos + 2 * k + 1]
        out[b] = {"family_phone": phone_digits(a), "shares_with": f"p{a + 1:06d}"}
        out.setdefault(a, {})["shares_with"] = f"p{b + 1:06d}"
    return out


def staff_calls(world: World, identity: IdentityModel, customers: int) -> None:
    """Test calls from the office's own number: company numbers in the call log, no customer."""
    calls = world.model.calls
    if calls is None:
        return
    rng = random.Random(f"{world.seed}:{world.model.template}:staff")
    clock = Clock(world.model, world.start, world.end)
    days = (world.end - world.start) // 86400
    for _ in range(int(round(customers * identity.staff_calls / 100))):
        t = clock.entry(rng, days)
        if t >= world.end:
            continue
        call_id = world.next_id("call", 123456001)
        world.calls.append(Call(call_id, f"staff-call-{call_id}", t, rng.choice([calls.redirect_number,
                                f"8{calls.redirect_number[1:]}"]), None, True, rng.randint(10, 60), None,
                                world.next_id("ct_session", 987650001), None, rng.choice(calls.managers)))


def simulate_world(model: WorldModel, customers: int, start: int, days: int, seed: int) -> World:
    """All the records of ``customers`` people over ``days`` days from ``start`` (UTC epoch seconds)."""
    world = World(model, start, start + days * 86400, seed)
    identity = model.identity
    shared = shared_identities(model, identity, customers, seed)
    for index in range(customers):
        rng = random.Random(f"{seed}:{model.template}:{index}")
        Journey(world, index, rng, identity, shared).run()
    staff_calls(world, identity, customers)
    return world


__all__ = ["World", "Visit", "Call", "Lead", "Contact", "Row", "PersonInfo", "simulate_world", "spell_phone",
           "connected", "signature_of", "GenericSource"]
