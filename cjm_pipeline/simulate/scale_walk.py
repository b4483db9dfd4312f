"""The benchmark mode's walk: a template's stage model in numpy, walked by a whole chunk of people at once.

The same stage model as the real-format mode (:mod:`cjm_pipeline.simulate.worlds`), walked
for a whole chunk of people at once with numpy: per step, every person still in the journey
draws the next stage from the stage's transition row (forward, skip, back, stay, exit) and
the gap from the stage's dwell model (same session, or lognormal days snapped to an hour of
the hour profile and a weekday of the weekday profile), and the touch kind from the stage's
kinds. Side effects of the real mode (a form creating a lead, a lead closed as lost) are
left out: each step is one event, plus page views around web steps.

Each person makes one journey, or with ``journeys`` (a Zipf exponent, e.g. 2.5) a per-person
activity multiplier: ``min(Zipf(journeys), MAX_JOURNEYS)`` journeys, each entering the
model afresh; the later ones follow after exponential gaps whose mean is the person's own
(lognormal, median :data:`JOURNEY_GAP_DAYS` days, sigma 1), snapped to the profiles.
Most people still make one journey, a long tail makes hundreds: the skew of real traffic
(with ``classic`` at 1M events and 2.5: 45 % of people in one session, events per person
p50 10, p99 109, max 3,544; one journey each gives p99 29, max 64). Drawn from the chunk's
generator after the first journeys, so it is deterministic per seed.

:mod:`cjm_pipeline.simulate.scale` turns the steps into events and writes them as Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import TRAFFIC, WorldModel

#: The channels of the scale worlds (the ``channel`` column's dictionary).
CHANNELS = ("paid", "organic", "direct", "referral", "social", "email", "phone")
#: Most journeys one person makes (the cap of the Zipf draw of ``journeys``).
MAX_JOURNEYS = 400
#: Median of the people's mean gap between two journeys, in days.
JOURNEY_GAP_DAYS = 5.0


@dataclass(frozen=True)
class Kind:
    """A touch kind as the scale mode writes it: source, event type, stage, and whether it identifies."""

    source: str
    event_type: str
    stage: int
    identifies: bool


def scale_kind(kind: str) -> tuple[str, str, bool]:
    """``(source, event_type, identifies)`` of a touch kind in the scale mode.

    >>> scale_kind("form:callback"), scale_kind("status:main:won"), scale_kind("event:nps:nps_answer:promoter")
    (('web', 'callback', True), ('crm', 'deal_won', False), ('offline', 'nps_answer_promoter', False))
    """
    parts = kind.split(":")
    head = parts[0]
    if head == "visit":
        return "web", "visit" if len(parts) == 1 else "visit_return", False
    if head in ("goal", "form"):
        return "web", parts[1], head == "form"
    if head == "purchase":
        return "web", "purchase", True
    if head == "call":
        return "calls", "call", False
    if head == "lead":
        return "crm", "lead_created" if parts[1] == "main" else f"lead_created_{parts[1]}", False
    if head == "status":
        return "crm", f"deal_{parts[2]}" if parts[1] == "main" else f"deal_{parts[1]}_{parts[2]}", False
    return "offline", "_".join(parts[2:]), False


@dataclass
class ScaleModel:
    """The numpy form of a world model: transition cumulative sums, dwell parameters, kinds."""

    n: int
    cum: np.ndarray
    """(n, n+1) cumulative transition probabilities; column n is the exit."""
    entry: np.ndarray
    session: np.ndarray
    log_days: np.ndarray
    spread: np.ndarray
    kinds: list[Kind]
    kind_cum: list[np.ndarray]
    kind_codes: list[np.ndarray]
    devices: np.ndarray
    device_counts: np.ndarray
    email_share: float
    hours: np.ndarray
    weekday_accept: np.ndarray
    offset: int
    channels: np.ndarray

    @classmethod
    def of(cls, m: WorldModel) -> ScaleModel:
        n = len(m.stages)
        P = np.zeros((n, n + 1))
        for i, st in enumerate(m.stages):
            if i + 1 < n:
                P[i, i + 1] += st.forward
            if i + 2 < n:
                P[i, i + 2] += st.skip * (0.75 if i + 3 < n else 1.0)
                if i + 3 < n:
                    P[i, i + 3] += st.skip * 0.25
            targets = [m.stage_names.index(b) for b in st.back_to] or [j for j in range(i) if m.repeatable(j)]
            if st.back and targets:
                w = np.ones(len(targets)) if st.back_to else np.array([2.0 ** j for j in targets])
                P[i, targets] += st.back * w / w.sum()
            P[i, i] += st.stay
            P[i, n] = max(0.0, 1.0 - P[i, :n].sum())
        kinds: list[Kind] = []
        seen: dict[tuple[str, str], int] = {}
        kind_cum, kind_codes = [], []
        for i, st in enumerate(m.stages):
            codes, weights = [], []
            for kind, weight in st.kinds.items():
                source, event_type, identifies = scale_kind(kind)
                if (source, event_type) in seen and kinds[seen[(source, event_type)]].stage != i:
                    raise ValueError(f"{m.template}: {source}/{event_type} would belong to two stages")
                if (source, event_type) not in seen:
                    seen[(source, event_type)] = len(kinds)
                    kinds.append(Kind(source, event_type, i, identifies))
                codes.append(seen[(source, event_type)])
                weights.append(weight)
            w = np.array(weights) / sum(weights)
            kind_cum.append(np.cumsum(w))
            kind_codes.append(np.array(codes))
        entry = np.array([m.entry.get(s, 0.0) for s in m.stage_names])
        dev = sorted(m.identity.devices.items())
        weekdays = np.array(m.weekdays, dtype=float)
        web = m.web
        mix = web.traffic_first if web else {"direct": 1.0}
        channels = np.array([CHANNELS.index(_channel(TRAFFIC[k][0]))
                             for k in mix for _ in range(int(round(mix[k])) or 1)], dtype=np.int16)
        return cls(
            n=n, cum=np.cumsum(P, axis=1), entry=np.cumsum(entry / entry.sum()),
            session=np.array([s.session for s in m.stages]),
            log_days=np.log([s.median_days for s in m.stages]), spread=np.array([s.spread for s in m.stages]),
            kinds=kinds, kind_cum=kind_cum, kind_codes=kind_codes,
            devices=np.cumsum([w for _, w in dev]) / sum(w for _, w in dev), device_counts=np.array([k for k, _ in dev]),
            email_share=m.identity.email_share, hours=np.cumsum(m.hours) / sum(m.hours),
            weekday_accept=weekdays / weekdays.max(), offset=m.utc_offset_hours * 3600, channels=channels,
        )


def _channel(traffic_source: str) -> str:
    return {"ad": "paid"}.get(traffic_source, traffic_source)


def pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the category each uniform number falls into (``cum``: cumulative probabilities).

    >>> pick(np.array([0.5, 0.75, 1.0]), np.array([0.1, 0.6, 0.99]))
    array([0, 1, 2])
    """
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def _snap(rng: np.random.Generator, sm: ScaleModel, t: np.ndarray) -> np.ndarray:
    """Times moved to an hour of the hour profile on their local day (a rejected weekday moves a day on)."""
    day = (t + sm.offset) // 86400
    reject = rng.random(len(t)) > sm.weekday_accept[(day + 3) % 7]
    day = day + reject
    hour = pick(sm.hours, rng.random(len(t)))
    snapped = day * 86400 - sm.offset + hour * 3600 + rng.integers(0, 3600, len(t))
    return np.where(snapped > t, snapped, t + rng.integers(300, 5400, len(t)))


def journey_starts(rng: np.random.Generator, sm: ScaleModel, first_t: np.ndarray, first_stage: np.ndarray,
                   exponent: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The journeys of every person: ``(person, start time, entry stage)``, one row per journey.

    A person makes ``min(Zipf(exponent), MAX_JOURNEYS)`` journeys; the first starts at
    ``first_t`` in ``first_stage``, each later one after an exponential gap whose mean is the
    person's own (lognormal, median :data:`JOURNEY_GAP_DAYS` days, sigma 1), snapped to an
    hour and a weekday of the profiles, entering the model afresh. Journeys are the walkers
    of :func:`walk_chunk`; those starting after the horizon are dropped there.
    """
    n = len(first_t)
    count = np.minimum(rng.zipf(exponent, n), MAX_JOURNEYS)
    gap_mean = np.exp(np.log(JOURNEY_GAP_DAYS * 86400.0) + rng.standard_normal(n))
    person = np.repeat(np.arange(n), count)
    first = np.cumsum(count) - count
    gaps = rng.exponential(1.0, len(person)) * gap_mean[person]
    gaps[first] = 0.0
    total = np.cumsum(gaps)
    offset = total - (total[first] - gaps[first])[person]
    later = np.ones(len(person), dtype=bool)
    later[first] = False
    t = first_t[person].copy()
    t[later] = _snap(rng, sm, t[later] + offset[later].astype(np.int64))
    stage = pick(sm.entry, rng.random(len(person)))
    stage[first] = first_stage
    return person, t, stage


@dataclass
class Steps:
    """The steps of one chunk: person (chunk index), stage, time, kind code."""

    person: np.ndarray
    stage: np.ndarray
    time: np.ndarray
    kind: np.ndarray


def walk_chunk(rng: np.random.Generator, sm: ScaleModel, people: int, start: int, days: int,
               max_steps: int, journeys: float | None = None) -> Steps:
    """Every person of a chunk walks the stage model; the steps in walk order.

    ``journeys`` (a Zipf exponent above 1) gives each person that many journeys, the later
    ones after exponential gaps (see :func:`journey_starts`); None: one journey each.
    """
    end = start + days * 86400
    day = np.floor(rng.random(people) ** 1.15 * days).astype(np.int64)
    t = _snap(rng, sm, start + day * 86400)
    stage = pick(sm.entry, rng.random(people))
    person = np.arange(people)
    if journeys is not None:
        person, t, stage = journey_starts(rng, sm, t, stage, journeys)
    alive = t < end
    person, stage, t = person[alive], stage[alive], t[alive]
    out_p, out_s, out_t = [], [], []
    for _ in range(max_steps):
        if len(person) == 0:
            break
        out_p.append(person)
        out_s.append(stage)
        out_t.append(t)
        nxt = (rng.random(len(person))[:, None] >= sm.cum[stage]).sum(axis=1)
        same = rng.random(len(person)) < sm.session[stage]
        gap_s = np.exp(np.log(150) + 0.9 * rng.standard_normal(len(person)))
        gap_d = np.exp(sm.log_days[stage] + sm.spread[stage] * rng.standard_normal(len(person)))
        t_next = np.where(same, t + np.maximum(5, gap_s.astype(np.int64)),
                          _snap(rng, sm, t + (gap_d * 86400).astype(np.int64)))
        keep = (nxt < sm.n) & (t_next < end)
        person, stage, t = person[keep], nxt[keep], t_next[keep]
    steps_p = np.concatenate(out_p) if out_p else np.zeros(0, np.int64)
    steps_s = np.concatenate(out_s) if out_s else np.zeros(0, np.int64)
    steps_t = np.concatenate(out_t) if out_t else np.zeros(0, np.int64)
    kind = np.zeros(len(steps_s), dtype=np.int64)
    u = rng.random(len(steps_s))
    for i in range(sm.n):
        mask = steps_s == i
        kind[mask] = sm.kind_codes[i][pick(sm.kind_cum[i], u[mask])]
    return Steps(steps_p, steps_s, steps_t, kind)



__all__ = ["ScaleModel", "Kind", "Steps", "scale_kind", "walk_chunk", "journey_starts", "pick", "CHANNELS",
           "MAX_JOURNEYS", "JOURNEY_GAP_DAYS"]
