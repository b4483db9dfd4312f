"""A world's clock and dice: local days and active hours, and weighted draws.

:class:`Clock` places a person's moments on the template's weekday and hour profiles in
its time zone; :func:`weighted` draws a key of a weight table. Both draw from the
``random.Random`` they are given, so a person's draws stay in their own sequence.
"""

from __future__ import annotations

import random

from .model import WorldModel


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    """A key of ``weights`` drawn with the weights given (one ``rng.choices`` draw).

    >>> weighted(random.Random(1), {"a": 0.0, "b": 1.0})
    'b'
    """
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


__all__ = ["Clock", "weighted"]
