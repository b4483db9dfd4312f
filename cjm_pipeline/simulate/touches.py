"""One person of a world and the records each of their touches leaves behind.

:class:`Touches` is one person: their identifiers (devices, each its own Metrica ClientID,
a phone, often an e-mail, a loyalty card, an account, a name; drawn when the person is
made) and what they have left so far (the visit going on, the open leads, the CRM
contact). :meth:`Touches.touch` **realises** one touch kind (see
:mod:`cjm_pipeline.simulate.model`): a Metrica visit or goal, a call, an amoCRM lead or
status change, a generic row. Touches have side effects that real systems have too: a site
form creates a lead, an answered call may, a won deal needs a lead. Every record is a
plain record of :mod:`cjm_pipeline.simulate.records` appended to the world, and notes the
identifier tokens it carries, so the clean world can check (and bridge) that a person's
records link. :class:`~cjm_pipeline.simulate.journeys.Journey` walks the stage model on
top of it.
"""

from __future__ import annotations

import random

from .clock import Clock, weighted
from .identities import (FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS, PLACEHOLDER_EMAILS, PLACEHOLDER_PHONE, connected,
                         phone_digits, spell_phone, surname)
from .model import TRAFFIC, IdentityModel
from .records import Call, Contact, Lead, PersonInfo, Row, Visit, World

SESSION_GAP_S = 1800
"""A visit goes on while its hits are less than 30 minutes apart (Metrica's default)."""


class Touches:
    """One person of the world: their identifiers, and the records their touches append to it."""

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

    # ------------------------------------------------------------------ touch kinds

    def available(self, kind: str) -> bool:
        """Whether this person can make a touch of ``kind`` now (a device left for a first
        visit, no open lead of the pipeline for a new one, an identifier the source requires ...)."""
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
        """Realise one touch of ``kind`` at ``t`` (``traffic``: the channel mix of a visit it starts)."""
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

    def _row(self, source: str, event_type: str, variant: str, t: int, *, bridge: bool = False,
             rng: random.Random | None = None, props: dict[str, str] | None = None) -> Row:
        """Write one row of a generic source (``rng``: the stream to draw from, the person's own by
        default; ``props``: property values to set); return it."""
        src = self.m.generic_source(source)
        rng = rng or self.rng
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
        values = {k: rng.choice(v) for k, v in src.properties.items()}
        values.update({k: rng.choice(v) for k, v in spec.variants[variant].items() if v})
        values.update(props or {})
        number = self.w.next_id(f"row:{source}", 1)
        sig = f"event:{source}:{event_type}" + (f":{variant}" if variant else "")
        row = Row(source, f"{source[:3]}-{number:07d}", self.pid, t, event_type, sig, ids, values, spec.channel,
                  rng.choice(spec.revenue) if spec.revenue else None)
        self.w.rows.append(row)
        self.tokens.append(tokens)
        return row

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


__all__ = ["Touches", "SESSION_GAP_S"]
