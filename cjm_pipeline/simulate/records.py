"""The records of a simulated world: what each touch leaves behind in a business's systems.

Plain dataclasses (:class:`Visit`, :class:`Call`, :class:`Lead`, :class:`Contact`,
:class:`Row`) that the writers turn into files, the ground truth about each person
(:class:`PersonInfo`), the survey answers and pains met (:class:`Answer`, :class:`PainHit`), and the
:class:`World` that holds them all. Times are whole epoch
seconds (UTC); ids are numbered per kind by :meth:`World.next_id`, in person order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Traffic, WorldModel


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
class Answer:
    """A survey answer (``truth/feedback.csv``): the stage the person was in and the pains met before it."""

    event_id: str
    person: str
    time: int
    stage: str
    score: int
    pains: int


@dataclass
class PainHit:
    """A pain a person met (``truth/pains.csv``): its event and the stage it happened in."""

    event_id: str
    person: str
    time: int
    stage: str
    pain: str


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
    answers: list[Answer] = field(default_factory=list)
    pain_hits: list[PainHit] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str, first: int) -> int:
        """The next number of a kind of id (visits, calls, leads ...), starting at ``first``."""
        n = self.counters.get(kind, first - 1) + 1
        self.counters[kind] = n
        return n


__all__ = ["World", "Visit", "Call", "Lead", "Contact", "Row", "Answer", "PainHit", "PersonInfo"]
