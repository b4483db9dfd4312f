"""The journey model of a simulated business: what people do, and how it shows in the data.

A :class:`WorldModel` describes one template's business. Its parts:

* :class:`StageModel` per journey stage, in funnel order: the **touch kinds** that realise
  the stage (weighted), and the stage's transition probabilities: ``forward`` to the next
  stage, ``skip`` over it, ``back`` to an earlier stage, ``stay`` (another touch of this
  stage), the rest ends the journey. ``session`` is the chance the next step follows in the
  same session (seconds to minutes later), else it follows after a lognormal number of days
  (median ``median_days``, spread ``spread``: a long tail). ``traffic`` is the channel mix of
  the visits this stage starts.
* the systems the business runs: Yandex Metrica (:class:`WebModel`), Calltouch
  (:class:`CallModel`), amoCRM (:class:`CrmModel`) and generic event exports
  (:class:`GenericSource`: a POS, a loyalty system, an LMS, a mailing service ...);
* :class:`IdentityModel`: devices per person and the identity traps (shared phones,
  placeholders, staff calls, lost ClientIDs); :meth:`IdentityModel.clean` switches them off;
* weekday and hour seasonality.

**Touch kinds** (the strings in :attr:`StageModel.kinds` and :attr:`WorldModel.noise`):

==========================  ==================================================================
``visit``                   a first visit from a device the person has not used yet (Metrica
                            ``isNewUser`` = 1)
``visit:return``            a visit from a device used before, without goals
``goal:<key>``              a Metrica goal (:attr:`WebModel.goals`) in the current visit, or in
                            a new visit started seconds before
``form:<key>``              a site form: the goal, then an amoCRM lead in the main pipeline
                            carrying the visit's ClientID
``purchase``                a Metrica e-commerce purchase (and the open main lead is won)
``call``                    a Calltouch call; an answered call may become a lead
``lead:<pipeline>``         an amoCRM lead created by a manager
``status:<pipeline>:<key>`` the open lead of the pipeline moves to a status (``won``, ``lost``
                            or an open status key); a lead is created first when none is open
``event:<source>:<type>[:<variant>]``  a row of a generic source
==========================  ==================================================================

Each written event has a **signature** (the same strings; ``visit`` only for a first visit,
``lead:<p>`` for the lead a form or call creates, ``contact`` for a CRM contact). The stage
of a signature is the stage whose ``kinds`` list it; a signature no stage lists has no
stage. The template's pipeline config classifies the same events into the same stages; the
end-to-end tests check that it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: amoCRM's fixed status ids of every pipeline.
WON_STATUS, LOST_STATUS = 142, 143

#: Visit traffic: (Metrica TrafficSource, AdvEngine, utm_source, utm_medium, utm_campaign).
Traffic = tuple[str, str, str, str, str]

TRAFFIC: dict[str, Traffic] = {
    "yandex_direct": ("ad", "ya_direct", "yandex", "cpc", "search_brand"),
    "yandex_rsya": ("ad", "ya_direct", "yandex", "cpc", "rsya_retargeting"),
    "vk_ads": ("ad", "vk", "vk", "cpc", "vk_lookalike"),
    "organic": ("organic", "", "", "", ""),
    "direct": ("direct", "", "", "", ""),
    "social": ("social", "", "vk", "social", "community"),
    "telegram": ("social", "", "telegram", "social", "channel_post"),
    "referral": ("referral", "", "", "", ""),
    "partner": ("referral", "", "partner", "referral", "partner_site"),
    "email": ("email", "", "newsletter", "email", "weekly"),
}


@dataclass(frozen=True)
class StageModel:
    """One journey stage: how it shows in the data and where people go from it."""

    name: str
    kinds: dict[str, float]
    forward: float = 0.5
    skip: float = 0.0
    back: float = 0.0
    stay: float = 0.0
    session: float = 0.4
    """Chance that the next step follows in the same session (seconds to minutes later)."""
    median_days: float = 2.0
    """Median gap in days to the next step when it is not in the same session."""
    spread: float = 1.1
    """Sigma of the lognormal gap in days: 1.1 puts 10% of the gaps past 4x the median."""
    traffic: dict[str, float] | None = None
    """Channel mix of the visits started for this stage (keys of :data:`TRAFFIC`)."""
    back_to: tuple[str, ...] = ()
    """Where a back-step goes (one of these, evenly); default: an earlier stage, the nearer the likelier."""

    @property
    def exit(self) -> float:
        """Chance that the journey ends after a touch of this stage."""
        return max(0.0, 1.0 - self.forward - self.skip - self.back - self.stay)


@dataclass(frozen=True)
class WebModel:
    """Yandex Metrica on the site: the counter, its goals and the traffic mixes."""

    host: str
    counter_id: int
    goals: dict[str, tuple[int, str]]
    """Goal key -> (goal id, page path the goal is reached on)."""
    traffic_first: dict[str, float]
    """Channel mix of a device's first visit."""
    traffic_return: dict[str, float]
    """Channel mix of later visits."""
    landing: tuple[str, ...] = ("", "catalog/", "sale/")


@dataclass(frozen=True)
class CallModel:
    """Calltouch call tracking: the number on the site and where calls are forwarded."""

    tracking_number: str
    redirect_number: str
    answered: float = 0.85
    to_lead: float = 0.6
    """Share of answered calls that a manager turns into an amoCRM lead (when none is open)."""
    managers: tuple[str, ...] = ("Ирина Смирнова", "Олег Петров")


@dataclass(frozen=True)
class Pipeline:
    """An amoCRM pipeline: its open statuses in order (the first is where leads start)."""

    key: str
    pipeline_id: int
    name: str
    statuses: tuple[tuple[str, int, str], ...]
    """(key, status id, name) of the open statuses; ``won`` (142) and ``lost`` (143) are implied."""
    lead_name: str = "Сделка"

    def status_id(self, key: str) -> int:
        """The amoCRM status id of a status key (``won`` -> 142, ``lost`` -> 143)."""
        if key == "won":
            return WON_STATUS
        if key == "lost":
            return LOST_STATUS
        for k, sid, _ in self.statuses:
            if k == key:
                return sid
        raise KeyError(f"pipeline {self.key!r} has no status {key!r} (statuses: "
                       f"{', '.join(k for k, _, _ in self.statuses)}, won, lost)")

    @property
    def open_keys(self) -> tuple[str, ...]:
        return tuple(k for k, _, _ in self.statuses)


@dataclass(frozen=True)
class CrmModel:
    """amoCRM: the account, its pipelines (the first is the main one) and lead prices."""

    subdomain: str
    account_id: int
    pipelines: tuple[Pipeline, ...]
    prices: tuple[int, ...]
    lost_at_exit: float = 0.75
    """Chance that a lead still open when the journey ends is closed as lost."""
    form_lead_name: str = "Заявка с сайта"
    call_lead_name: str = "Входящий звонок"

    def pipeline(self, key: str) -> Pipeline:
        for p in self.pipelines:
            if p.key == key:
                return p
        raise KeyError(f"no pipeline {key!r} (pipelines: {', '.join(p.key for p in self.pipelines)})")

    @property
    def main(self) -> Pipeline:
        return self.pipelines[0]


@dataclass(frozen=True)
class GenericEvent:
    """One event type of a generic source; each variant sets properties (a value or choices)."""

    variants: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=lambda: {"": {}})
    revenue: tuple[int, ...] = ()
    channel: str | None = None


@dataclass(frozen=True)
class GenericSource:
    """A CSV export read as ``generic_events``: one event per row, monthly files."""

    name: str
    """The config's source name and the folder under ``data/``."""
    system: str
    """What exports it (for the docs and the config comments)."""
    ids: tuple[str, ...]
    """Identifier columns written: phone, email, customer_id (a loyalty card), user_id, crm_contact_id."""
    requires: str
    """The identifier a row cannot be written without (the person must have it)."""
    events: dict[str, GenericEvent]
    delimiter: str = ","
    encoding: str = "utf-8"
    time_format: str = "iso"
    """``iso`` (with the offset), ``local`` (naive ``YYYY-MM-DD HH:MM:SS``) or ``dmy`` (``DD.MM.YYYY HH:MM:SS``)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Unified column -> the file's header (the config maps them back with ``columns:``)."""
    properties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Properties every row gets (choices drawn per row), e.g. the store."""
    placeholder_phone: bool = False
    """A till or a reception desk: when the customer gives no card or number, staff type the
    company's own phone (:attr:`IdentityModel.offline_unlinked` of the rows)."""


@dataclass(frozen=True)
class IdentityModel:
    """How people show their identity, and the traps real data sets for stitching."""

    devices: dict[int, float] = field(default_factory=lambda: {1: 0.72, 2: 0.21, 3: 0.07})
    """Browsers / devices per person (each its own Metrica ClientID) -> weight."""
    email_share: float = 0.6
    """Share of people who have an e-mail address they give."""
    lost_client_id: float = 0.12
    """Chance that a form lead or a call does not carry the visit's ClientID."""
    placeholder_email: float = 0.06
    """Chance that a manager or cashier writes a placeholder e-mail instead of the real one."""
    placeholder_phone: float = 0.03
    """Chance that a CRM contact gets a placeholder phone (+7 999 999-99-99) besides the real one."""
    company_share: float = 0.05
    """Share of people who work at a client company and give its reception phone."""
    family_share: float = 0.01
    """Share of people who share a phone with one other person (it links them: a real error)."""
    staff_calls: float = 2.0
    """Test calls per 100 people from the office's own number."""
    duplicate_contact: float = 0.05
    """Chance that a new lead gets a second, duplicate contact of the same person."""
    offline_unlinked: float = 0.08
    """Chance that a generic row carries a placeholder instead of the person's identifier."""
    bridge: bool = False
    """Write a record joining all of a person's identifiers (the clean world)."""

    def clean(self) -> IdentityModel:
        """The linkable world: one device, no placeholders, no shared phones, every identifier
        of a person joined by at least one record (a CRM contact or a loyalty profile)."""
        devices = {1: 1.0} if any(n > 0 for n in self.devices) else {0: 1.0}
        return replace(self, devices=devices, lost_client_id=0.0, placeholder_email=0.0, placeholder_phone=0.0,
                       company_share=0.0, family_share=0.0, staff_calls=0.0, offline_unlinked=0.0, bridge=True)


#: Monday .. Sunday activity (relative).
WEEKDAYS_OFFICE = (1.0, 1.0, 0.97, 0.95, 0.85, 0.5, 0.45)
WEEKDAYS_RETAIL = (0.7, 0.7, 0.75, 0.8, 0.95, 1.0, 0.9)
#: Hour 0 .. 23 activity (relative, local time).
HOURS_ONLINE = (0.2, 0.1, 0.05, 0.03, 0.03, 0.05, 0.15, 0.35, 0.6, 0.8, 0.9, 0.95,
                0.95, 0.9, 0.9, 0.9, 0.85, 0.85, 0.9, 1.0, 1.0, 0.9, 0.7, 0.4)
HOURS_STORE = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.6, 0, 0)


@dataclass(frozen=True)
class WorldModel:
    """Everything the simulator needs to know about one template's business."""

    template: str
    title: str
    timezone: str
    utc_offset_hours: int
    """The zone's offset (fixed: Russian zones have no daylight saving since 2014)."""
    stages: tuple[StageModel, ...]
    entry: dict[str, float]
    """Stage name -> weight of starting the journey there."""
    identity: IdentityModel
    web: WebModel | None = None
    calls: CallModel | None = None
    crm: CrmModel | None = None
    generic: tuple[GenericSource, ...] = ()
    noise: dict[str, float] = field(default_factory=dict)
    """Touch kinds without a stage -> chance of one after each step (mailing opens, return visits)."""
    bridge_event: str | None = None
    """For a world without a CRM: the generic ``event:<source>:<type>`` that joins a person's identifiers."""
    domain: str = "example.ru"
    """The company's own e-mail domain (managers type it as a placeholder)."""
    company_phones: tuple[str, ...] = ()
    """The company's own numbers besides the call-tracking ones (a hotline, the stores)."""
    weekdays: tuple[float, ...] = WEEKDAYS_OFFICE
    hours: tuple[float, ...] = HOURS_ONLINE
    max_steps: int = 40
    feelings: "Feelings | None" = None
    """Pains and surveys (:class:`cjm_pipeline.simulate.feelings.Feelings`): what the journey map measures."""

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def stage_of(self, signature: str) -> str | None:
        """The stage of a written event's signature; None when no stage lists it.

        >>> from cjm_pipeline.simulate.worlds import model
        >>> m = model("classic")
        >>> m.stage_of("goal:catalog"), m.stage_of("visit"), m.stage_of("visit:return"), m.stage_of("contact")
        ('interest', 'awareness', None, None)
        """
        return self._signature_stages().get(signature)

    def _signature_stages(self) -> dict[str, str]:
        cached = self.__dict__.get("_sig_cache")
        if cached is None:
            cached = {}
            for stage in self.stages:
                for kind in stage.kinds:
                    cached.setdefault(signature_of(kind), stage.name)
            object.__setattr__(self, "_sig_cache", cached)
        return cached

    def repeatable(self, index: int) -> bool:
        """True when stage ``index`` can be visited again (a back-step target): it has a touch
        kind besides ``visit`` (a first visit from a new device happens once per device)."""
        return any(k != "visit" for k in self.stages[index].kinds)

    def generic_source(self, name: str) -> GenericSource:
        for g in self.generic:
            if g.name == name:
                return g
        raise KeyError(f"template {self.template!r} has no generic source {name!r} "
                       f"(sources: {', '.join(g.name for g in self.generic)})")

    def source_names(self) -> list[str]:
        """The config source names of the systems this world writes, in a fixed order."""
        names = [n for n, part in (("metrica", self.web), ("calltouch", self.calls), ("amocrm", self.crm)) if part]
        return names + [g.name for g in self.generic]

    def with_identity(self, identity: IdentityModel) -> WorldModel:
        return replace(self, identity=identity)


def signature_of(kind: str) -> str:
    """The signature of the main event a touch kind writes.

    >>> signature_of("form:callback"), signature_of("status:main:won"), signature_of("event:pos:purchase:first")
    ('goal:callback', 'status:main:won', 'event:pos:purchase:first')
    """
    if kind.startswith("form:"):
        return "goal:" + kind[5:]
    return kind


def check_model(m: WorldModel) -> list[str]:
    """Problems with a world model (kinds naming unknown goals, pipelines, sources; bad probabilities).

    >>> from cjm_pipeline.simulate.worlds import MODELS
    >>> [p for name in MODELS for p in check_model(MODELS[name])]
    []
    """
    problems = []
    names = m.stage_names
    for name in m.entry:
        if name not in names:
            problems.append(f"{m.template}: entry stage {name!r} is not a stage")
    for i, st in enumerate(m.stages):
        total = st.forward + st.skip + st.back + st.stay
        if total > 1 + 1e-9:
            problems.append(f"{m.template}: stage {st.name!r}: forward+skip+back+stay = {total:.2f} > 1")
        if i == len(m.stages) - 1 and (st.forward or st.skip):
            problems.append(f"{m.template}: the last stage {st.name!r} cannot go forward or skip")
        if st.back and not any(m.repeatable(j) for j in range(i)):
            problems.append(f"{m.template}: stage {st.name!r} steps back, but no earlier stage can be visited "
                            "again (a stage realised only by `visit`, a new device, cannot)")
        for kind in st.kinds:
            problems += [f"{m.template}: stage {st.name!r}: {p}" for p in _check_kind(m, kind)]
        for target in st.back_to:
            if target not in names[:i] or not m.repeatable(names.index(target)):
                problems.append(f"{m.template}: stage {st.name!r}: back_to {target!r} is not an earlier stage "
                                "that can be visited again")
    for kind in m.noise:
        problems += [f"{m.template}: noise: {p}" for p in _check_kind(m, kind)]
        if m.stage_of(signature_of(kind)) is not None:
            problems.append(f"{m.template}: noise kind {kind!r} has a stage; noise must be unstaged")
    for kind in m.feelings.kinds() if m.feelings else []:
        problems += [f"{m.template}: feelings: {p}" for p in _check_kind(m, kind)]
        if m.stage_of(kind) is not None:
            problems.append(f"{m.template}: feelings: {kind!r} has a stage; pains and answers must be unstaged")
    for name in [p.stage for p in m.feelings.pains] + [s for v in m.feelings.surveys for s in v.stages] \
            if m.feelings else []:
        if name not in names:
            problems.append(f"{m.template}: feelings: {name!r} is not a stage")
    if m.identity.bridge and m.crm is None and m.bridge_event is None and len(m.generic) > 1:
        problems.append(f"{m.template}: the clean world needs a CRM or a bridge_event to join identifiers")
    return problems


def _check_kind(m: WorldModel, kind: str) -> list[str]:
    parts = kind.split(":")
    head = parts[0]
    if head in ("visit", "goal", "form", "purchase") and m.web is None:
        return [f"{kind!r} needs Metrica (web)"]
    if head in ("goal", "form") and (len(parts) != 2 or parts[1] not in m.web.goals):
        return [f"{kind!r}: unknown goal (goals: {', '.join(m.web.goals)})"]
    if head == "form" and m.crm is None:
        return [f"{kind!r} needs a CRM"]
    if head == "call" and m.calls is None:
        return [f"{kind!r} needs Calltouch"]
    if head in ("lead", "status"):
        if m.crm is None:
            return [f"{kind!r} needs a CRM"]
        try:
            p = m.crm.pipeline(parts[1])
            if head == "status":
                p.status_id(parts[2])
        except (KeyError, IndexError) as e:
            return [f"{kind!r}: {e}"]
    if head == "event":
        if len(parts) < 3:
            return [f"{kind!r}: write event:<source>:<type>[:<variant>]"]
        try:
            src = m.generic_source(parts[1])
        except KeyError as e:
            return [f"{kind!r}: {e}"]
        ev = src.events.get(parts[2])
        if ev is None:
            return [f"{kind!r}: source {parts[1]!r} has no event type {parts[2]!r}"]
        variant = parts[3] if len(parts) > 3 else ""
        if variant not in ev.variants:
            return [f"{kind!r}: no variant {variant!r} (variants: {', '.join(map(repr, ev.variants))})"]
    if head not in ("visit", "goal", "form", "purchase", "call", "lead", "status", "event"):
        return [f"unknown touch kind {kind!r}"]
    return []
