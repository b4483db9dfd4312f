"""The journey map's config sections: ``feedback:`` (what customers say: scores per stage) and
``pains:`` (events that hurt: a missed call, a payment error, a lost deal).

Each entry matches events like a stage rule (the same keys and value syntax, see
:func:`cjm_pipeline.config.checks.check_rule`) and adds a few keys of its own:

* a feedback entry: ``score`` (the ``properties.<column>`` holding the answer's score, required),
  ``scale`` (:data:`SCALES`, required), ``comment`` (the ``properties.<column>`` holding a free-text
  comment), ``stage`` (the stage every answer of the entry belongs to, instead of the stage the
  customer was in when answering), ``negative_max`` (the highest score that is negative; default
  :func:`default_negative_max`) and ``name``;
* a pain entry: ``name`` and ``stage``.

The YAML entries stay mappings in :class:`~cjm_pipeline.config.model.PipelineConfig` (rule keys
are open-ended, like a stage rule's); :func:`feedback_entries` and :func:`pain_entries` split them
into the rule and the typed options. What each measure means: ``docs/semantics.md``, "Journey map".

>>> [e.name for e in feedback_entries([{"event_type": "nps_answer", "score": "properties.score", "scale": "nps"},
...                                    {"source": "reviews", "score": "properties.stars", "scale": "1-5"}])]
['nps_answer', 'reviews']
>>> pain_entries([{"event_type": "call", "properties.answered": "false"}])[0].name
'call · answered=false'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..schema import PROPERTY_PREFIX

#: Feedback scales: the lowest and the highest score. ``nps`` is the 0-10 "how likely are you to
#: recommend" question, whose answers also make the NPS (promoters 9-10, detractors 0-6).
SCALES: dict[str, tuple[float, float]] = {"nps": (0, 10), "1-5": (1, 5), "1-10": (1, 10), "0-100": (0, 100)}

#: Keys of a feedback entry that are not rule keys.
FEEDBACK_KEYS = ("name", "score", "scale", "comment", "stage", "negative_max")
#: Keys of a pain entry that are not rule keys.
PAIN_KEYS = ("name", "stage")

#: Share of a non-NPS scale, from its bottom, whose scores are negative (1-2 of 5, 1-4 of 10, 0-40 of 100).
NEGATIVE_SHARE_OF_SCALE = 0.4


def default_negative_max(scale: str) -> float:
    """The highest negative score of a scale: a detractor (6) on the NPS scale, else the bottom
    40 % of the scale.

    >>> [default_negative_max(s) for s in SCALES]
    [6.0, 2.6, 4.6, 40.0]
    """
    lo, hi = SCALES[scale]
    if scale == "nps":
        return 6.0
    return round(lo + NEGATIVE_SHARE_OF_SCALE * (hi - lo), 6)


def rule_part(entry: dict[str, Any], own_keys: tuple[str, ...]) -> dict[str, Any]:
    """The keys of an entry that match events (everything but the entry's own keys)."""
    return {str(k): v for k, v in entry.items() if str(k) not in own_keys}


def describe_rule(rule: dict[str, Any]) -> str:
    """A short readable name for a rule: its event type(s), then the other keys.

    >>> describe_rule({"event_type": "deal_stage_changed", "properties.stage_semantic": "lost"})
    'deal_stage_changed · stage_semantic=lost'
    >>> describe_rule({"source": "reviews", "event_type": ["review", "rating"]})
    'review|rating · source=reviews'
    """
    def text(v: Any) -> str:
        return "|".join(map(str, v)) if isinstance(v, list) else str(v)

    head = [text(rule["event_type"])] if "event_type" in rule else []
    rest = [f"{k[len(PROPERTY_PREFIX):] if k.startswith(PROPERTY_PREFIX) else k}={text(v)}"
            for k, v in rule.items() if k != "event_type"]
    if not head and len(rest) == 1 and rest[0].startswith("source="):
        return rest[0][len("source="):]
    return " · ".join(head + rest) or "(any event)"


def _unique(names: list[str]) -> list[str]:
    """Names made unique by a number: ``a``, ``a (2)``."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


@dataclass(frozen=True)
class FeedbackEntry:
    """One ``feedback:`` entry: which events are answers, where their score (and comment) is."""

    name: str
    rule: dict[str, Any]
    score: str
    """``properties.<column>`` holding the score (text; parsed as a number, a decimal comma allowed)."""
    scale: str
    comment: str | None = None
    stage: str | None = None
    negative_max: float | None = None

    @property
    def score_property(self) -> str:
        return self.score[len(PROPERTY_PREFIX):]

    @property
    def comment_property(self) -> str | None:
        return self.comment[len(PROPERTY_PREFIX):] if self.comment else None

    @property
    def bounds(self) -> tuple[float, float]:
        return SCALES[self.scale]

    @property
    def negative_threshold(self) -> float:
        return float(self.negative_max) if self.negative_max is not None else default_negative_max(self.scale)


@dataclass(frozen=True)
class PainEntry:
    """One ``pains:`` entry: which events are the pain."""

    name: str
    rule: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None


def feedback_entries(raw: list[dict[str, Any]] | None) -> list[FeedbackEntry]:
    """The typed feedback entries of a (checked) config section, names made unique."""
    items = [e for e in raw or [] if isinstance(e, dict)]
    names = _unique([str(e.get("name") or describe_rule(rule_part(e, FEEDBACK_KEYS))) for e in items])
    return [FeedbackEntry(name=name, rule=rule_part(e, FEEDBACK_KEYS), score=str(e.get("score", "")),
                          scale=str(e.get("scale", "")), comment=e.get("comment"), stage=e.get("stage"),
                          negative_max=e.get("negative_max"))
            for name, e in zip(names, items)]


def pain_entries(raw: list[dict[str, Any]] | None) -> list[PainEntry]:
    """The typed pain entries of a (checked) config section, names made unique."""
    items = [e for e in raw or [] if isinstance(e, dict)]
    names = _unique([str(e.get("name") or describe_rule(rule_part(e, PAIN_KEYS))) for e in items])
    return [PainEntry(name=name, rule=rule_part(e, PAIN_KEYS), stage=e.get("stage")) for name, e in zip(names, items)]
