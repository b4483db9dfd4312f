"""People walking a template's journey model.

:func:`simulate_world` makes ``customers`` people; each walks the stage model
(:class:`~cjm_pipeline.simulate.model.StageModel`: forward, skip, back, stay, exit, with
dwell times) from an entry stage, and every step is **realised** by one touch kind of the
stage (:meth:`~cjm_pipeline.simulate.touches.Touches.touch`: a Metrica visit or goal, a
call, an amoCRM lead or status change, a generic row, with their side effects). A journey
that ends with an open lead sees it closed as lost. Everything is kept as plain records
(:mod:`cjm_pipeline.simulate.records`) that the writers turn into files; the truth (which
person, which stage) is taken from the same records, so it is exactly what the files say.

Times are whole epoch seconds (UTC). Each person draws from their own ``random.Random``
seeded with ``(seed, template, person index)``; ids (visits, calls, leads ...) are numbered
in person order. The same options therefore give the same world, byte for byte.
"""

from __future__ import annotations

import math
import random

from .clock import Clock, weighted
from .feelings import Feeler
from .identities import shared_identities
from .model import IdentityModel, WorldModel
from .records import Call, World
from .touches import Touches


class Journey(Touches):
    """One person walking the model; each step's touch is appended to the world, and after it the
    pains and survey answers of :mod:`cjm_pipeline.simulate.feelings` (a pain lowers the chance of
    the next move forward)."""

    def run(self) -> None:
        m, rng = self.m, self.rng
        if self.entry_time >= self.w.end:
            return
        if self.company_phone and m.crm:
            self._ensure_contact(self.entry_time)
        entries = {k: v for k, v in m.entry.items() if self._stage_possible(m.stage_names.index(k))}
        if not entries:
            return
        feeler = Feeler(self, m.feelings, random.Random(f"{self.w.seed}:{m.template}:{self.index}:feel")) \
            if m.feelings else None
        stage = m.stage_names.index(weighted(rng, entries))
        t = self.entry_time
        for _ in range(m.max_steps):
            self.realise(stage, t)
            pain = feeler.pain(m.stage_names[stage], t) if feeler else None
            nxt = self._next_stage(stage, pain.forward_factor if pain else 1.0)
            st = m.stages[stage]
            t_next = self._next_time(t, st)
            last = nxt is None or t_next >= self.w.end
            if feeler:
                feeler.after(m.stage_names[stage], t, min(t + 7 * 86400, self.w.end) if last else t_next, pain)
            if last:
                self._noise(t, min(t + 7 * 86400, self.w.end))
                break
            self._noise(t, t_next)
            stage, t = nxt, t_next
        self._finish(t)

    def _next_stage(self, i: int, damp: float = 1.0) -> int | None:
        """The next stage after a touch of stage ``i`` (None: the journey ends); ``damp`` (a pain's
        ``forward_factor``) multiplies the forward and skip chances, the rest going to the exit."""
        st = self.m.stages[i]
        r = self.rng.random()
        n = len(self.m.stages)
        forward, skip = st.forward * damp, st.skip * damp
        if r < forward and i + 1 < n:
            return i + 1
        r -= st.forward
        if damp != 1.0 and r < 0:  # a forward move the pain took away ends the journey
            return None
        if r < skip and i + 2 < n:
            return min(n - 1, i + 2 + (1 if self.rng.random() < 0.25 else 0))
        r -= st.skip
        if damp != 1.0 and r < 0:
            return None
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


__all__ = ["Journey", "simulate_world", "staff_calls"]
