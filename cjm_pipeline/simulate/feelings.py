"""What customers feel and what hurts them, in a simulated world: survey answers and pains.

A template's :class:`Feelings` lists its pains (:class:`PainModel`) and its surveys
(:class:`SurveyModel`); its config lists the same under ``feedback:`` and ``pains:``. While a
person walks the journey (:class:`~cjm_pipeline.simulate.journeys.Journey`), after each touch of a
stage a :class:`Feeler` decides:

* **a pain** of the stage: ``call:unanswered`` when the touch was a call nobody answered (the call
  is the pain's event), or a row of a generic source (``event:<source>:<type>``) with a chance per
  touch. A pain makes the person's next move less likely to go forward: the stage's ``forward``
  and ``skip`` chances are multiplied by the pain's ``forward_factor`` for that move;
* **a survey answer** (chance per touch of the stage): a generic row whose score is the stage's
  mean (0-1) minus ``penalty`` per pain the person met so far, plus Gaussian noise, put on the
  survey's scale; a negative answer often carries a comment.

The draws come from the person's own second random stream (``(seed, template, index, "feel")``),
so a person who meets no pain walks exactly as the world without pains and surveys would have it;
pain rows and answers fall between the touch and the person's next step, inside the stage's visit.
The truth: ``truth/feedback.csv`` (every answer: event_id, person_id, event_ts, stage, score,
pains met before it) and ``truth/pains.csv`` (event_id, person_id, event_ts, stage, pain).

>>> on_scale(0.72, "nps"), on_scale(0.72, "1-5"), on_scale(1.4, "1-5"), on_scale(-0.2, "nps")
(7, 4, 5, 0)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .records import Answer, PainHit

#: Survey scales: lowest and highest score (as in the config's ``feedback:`` entries).
SCALES = {"nps": (0, 10), "1-5": (1, 5), "1-10": (1, 10), "0-100": (0, 100)}
#: Chance that a negative answer carries a comment.
COMMENT_SHARE = 0.7
#: The most pains that lower one person's scores.
MAX_PAINS = 3


@dataclass(frozen=True)
class PainModel:
    """A pain of the business: where it happens, what it writes, how it hurts the next move."""

    name: str
    """The pain's name in the template config's ``pains:``."""
    stage: str
    kind: str
    """``call:unanswered`` (a call touch nobody answered) or ``event:<source>:<type>`` (a generic row)."""
    chance: float = 0.0
    """Chance per touch of the stage (``event:`` kinds; a call is a pain whenever it goes unanswered)."""
    forward_factor: float = 0.5
    """The stage's forward and skip chances are multiplied by this for the move after the pain."""


@dataclass(frozen=True)
class SurveyModel:
    """A survey: a generic source's event type whose rows carry a score (and maybe a comment)."""

    source: str
    event_type: str
    scale: str
    stages: dict[str, tuple[float, float]]
    """Stage -> (chance of an answer after a touch of the stage, the stage's mean score on 0..1)."""
    penalty: float = 0.15
    """Off the 0..1 score per pain the person met so far (at most :data:`MAX_PAINS` count)."""
    spread: float = 0.12
    """Sigma of the Gaussian noise on 0..1."""
    negative_max: float = 0.4
    """Scores at or below this share of the scale are negative (the config's default)."""
    comments: tuple[str, ...] = ()
    """Comments negative answers carry (:data:`COMMENT_SHARE` of them)."""
    score_column: str = "score"
    comment_column: str = "comment"


@dataclass(frozen=True)
class Feelings:
    """A template's pains and surveys."""

    pains: tuple[PainModel, ...] = ()
    surveys: tuple[SurveyModel, ...] = field(default_factory=tuple)

    def kinds(self) -> list[str]:
        """The generic touch kinds the pains and surveys write (``event:<source>:<type>``)."""
        return [p.kind for p in self.pains if p.kind.startswith("event:")] + \
            [f"event:{s.source}:{s.event_type}" for s in self.surveys]


def on_scale(norm: float, scale: str) -> int:
    """A 0..1 score as a whole score on ``scale`` (clipped)."""
    lo, hi = SCALES[scale]
    return int(round(lo + min(1.0, max(0.0, norm)) * (hi - lo)))


class Feeler:
    """One person's pains and answers while they walk (see the module docstring)."""

    def __init__(self, person, feelings: Feelings, rng: random.Random):
        self.person, self.f, self.rng = person, feelings, rng
        self.met = 0

    def pain(self, stage: str, t: int) -> PainModel | None:
        """The pain (if any) that the touch of ``stage`` at ``t`` met."""
        p = self.person
        for pain in self.f.pains:
            if pain.stage != stage:
                continue
            if pain.kind == "call:unanswered":
                calls = p.w.calls
                if calls and calls[-1].person == p.pid and calls[-1].time == t and not calls[-1].answered:
                    return pain
            elif self.rng.random() < pain.chance and p.available(pain.kind):
                return pain
        return None

    def after(self, stage: str, t: int, t_end: int, pain: PainModel | None) -> None:
        """Write the pain's row (and its truth) and maybe survey answers, between ``t`` and ``t_end``."""
        p = self.person
        if t_end - t < 3:
            return
        if pain is not None:
            self.met += 1
            if pain.kind == "call:unanswered":
                call = p.w.calls[-1]
                p.w.pain_hits.append(PainHit(f"calltouch:call:{call.call_id}", p.pid, call.time, stage, pain.name))
            else:
                _, source, event_type = pain.kind.split(":")[:3]
                when = t + max(1, (t_end - t) // 3)
                row = p._row(source, event_type, "", when, rng=self.rng)
                p.w.pain_hits.append(PainHit(f"{source}:{row.event_id}", p.pid, when, stage, pain.name))
        for survey in self.f.surveys:
            if stage not in survey.stages or not p.available(f"event:{survey.source}:{survey.event_type}"):
                continue
            chance, mean = survey.stages[stage]
            if self.rng.random() >= chance:
                continue
            norm = mean - survey.penalty * min(self.met, MAX_PAINS) + self.rng.gauss(0, survey.spread)
            score = on_scale(norm, survey.scale)
            lo, hi = SCALES[survey.scale]
            props = {survey.score_column: str(score)}
            if (score - lo) / (hi - lo) <= survey.negative_max and survey.comments and self.rng.random() < COMMENT_SHARE:
                props[survey.comment_column] = self.rng.choice(survey.comments)
            when = t + max(2, 2 * (t_end - t) // 3)
            row = p._row(survey.source, survey.event_type, "", when, rng=self.rng, props=props)
            p.w.answers.append(Answer(f"{survey.source}:{row.event_id}", p.pid, when, stage, score, self.met))


__all__ = ["Feelings", "PainModel", "SurveyModel", "Feeler", "on_scale", "SCALES"]
