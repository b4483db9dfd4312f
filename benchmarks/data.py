"""Benchmark data: a year of events from four sources, as Parquet, at any size, made by the
simulator's scale mode (:mod:`cjm_pipeline.simulate.scale`).

:func:`make_world` is the one entry point. It writes ``generic_events`` Parquet for the four
sources ``web``, ``calls``, ``crm`` and ``offline``: 365 days of history from 2025-01-01
(UTC) in ``<source>/history/events.parquet``, and the next day (2026-01-01) in
``<source>/next_day/events.parquet`` for the nightly incremental run. Both come from one
simulated world of 366 days split at midnight, so the people of the history go on into the
new day (and a few new people arrive), and event ids are numbered across the whole world,
so the new day's ids never repeat the history's.

The world is the ``classic`` template (:data:`TEMPLATE`): a furniture shop, a mid-size
business with a site (Metrica-like visits, goals, callback forms, purchases), call tracking,
a CRM (leads, deal statuses, repeat sales) and an NPS survey; the only template whose scale
mode fills all four sources, which is what issue 8 asks for. ``ecommerce`` has no calls.

The people behind the events (see the scale mode's docstring for the walk itself):

* each person makes ``min(Zipf(2.5), 400)`` journeys (:data:`JOURNEYS_ZIPF`): three in four
  make one, a long tail makes dozens to hundreds, the later ones after exponential gaps with
  a per-person mean (lognormal, median five days); journeys after the horizon are cut;
* a journey walks the template's stages (awareness > interest > question > purchase >
  advocacy > repeat_purchase) with the template's transition and dwell model; each web step
  comes with page views (unstaged);
* at 1M events: about 63,000 people, 45 % of them come in one session (events at most 30
  minutes apart), per person median 10 events, p99 about 110, max above 3,000; the top 1 %
  of people make 14 % of the events. About 31 % of the events carry a stage.
* identifiers: each person has a phone (on forms, purchases, calls, CRM and survey rows), one
  to three devices (``anonymous_id``; calls from the site carry the device), a CRM contact
  id and, for most, an e-mail in the CRM. People who never leave a phone stay apart.

The pipeline's stages are the ones the scale mode writes into the world's ``cjm.yaml``
(:data:`STAGE_RULES`, checked against the written file). Generation is vectorised numpy in
chunks of :data:`CHUNK_CUSTOMERS` people, each chunk with its own generator, so memory stays
constant whatever the size and the same seed gives the same files. People are added until
their history events reach ``n_events`` (whole people, so a few more; ``World.events`` has
the exact count).

    .venv/bin/python -m benchmarks.data 1M build/bench/data/1M
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from cjm_pipeline.simulate import MAX_CUSTOMERS, world_model
from cjm_pipeline.simulate import scale

#: Bump when the data changes, so cached worlds are regenerated.
GENERATOR_VERSION = 3
DEFAULT_SEED = 20250101
TEMPLATE = "classic"
#: Zipf exponent of the number of journeys per person (see :func:`scale_walk.journey_starts`).
JOURNEYS_ZIPF = 2.5
SOURCES = scale.SOURCES
START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
DAY = 86_400
HISTORY_DAYS = 365
CHUNK_CUSTOMERS = 50_000
#: The folders of a source's two parts: the history and the next day.
PARTS = ("history", "next_day")


def stage_rules(config: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(stage, event types)`` of a config's stages, in funnel order, without the sources.

    The harness classifies by event type alone, which is the same as the config's
    source-and-type rules as long as no event type belongs to two stages: checked here.

    >>> cfg = {"stages": [{"name": "a", "rules": [{"source": "web", "event_type": ["visit"]}]},
    ...                   {"name": "b", "rules": [{"source": "crm", "event_type": ["deal_won"]},
    ...                                           {"source": "web", "event_type": ["purchase"]}]}]}
    >>> stage_rules(cfg)
    (('a', ('visit',)), ('b', ('deal_won', 'purchase')))
    """
    rules, owner = [], {}
    for stage in config["stages"]:
        types = [t for rule in stage["rules"] for t in rule["event_type"]]
        for t in types:
            if owner.setdefault(t, stage["name"]) != stage["name"]:
                raise ValueError(f"event type {t!r} belongs to stages {owner[t]!r} and {stage['name']!r}: "
                                 "the benchmark config cannot classify by event type alone")
        rules.append((stage["name"], tuple(dict.fromkeys(types))))
    return tuple(rules)


def _template_config() -> dict:
    m = world_model(TEMPLATE)
    return scale.scale_config(m, scale.ScaleModel.of(m), list(SOURCES), PARTS[0])


#: The benchmark's journey: stage name -> event types (list order = funnel order), as the
#: scale mode writes them into the world's ``cjm.yaml``.
STAGE_RULES = stage_rules(_template_config())

#: The journey map's ``feedback:`` and ``pains:`` as the scale mode writes them (NPS answers from
#: the offline source, unanswered calls), so the benchmark times the map's steps on real work.
MAP_SECTIONS = {k: v for k, v in _template_config().items() if k in ("feedback", "pains")}


@dataclass(frozen=True)
class World:
    """The files of a generated world and what is in them."""

    root: Path
    seed: int
    n_events: int
    """The size asked for."""
    events: int
    """History events written (at least ``n_events``)."""
    next_day_events: int
    people: int
    """People in the world (some of them only in the next day)."""
    chunks: int
    start: str
    """First day of the history (UTC)."""
    next_day: str
    """The day after the history, in the ``next_day`` files."""
    template: str = TEMPLATE

    def history_dir(self, source: str) -> Path:
        """The folder of a source's 365 days of history."""
        return self.root / source / PARTS[0]

    def next_day_dir(self, source: str) -> Path:
        """The folder holding a source's file of the next day."""
        return self.root / source / PARTS[1]

    def history_files(self) -> list[Path]:
        """Every history file of every source."""
        return sorted(p for s in SOURCES for p in self.history_dir(s).glob("*.parquet"))


def epoch(day: dt.datetime) -> int:
    """Seconds since 1970 of a UTC datetime.

    >>> epoch(START)
    1735689600
    """
    return int(day.timestamp())


def _generator() -> dict:
    """What makes a cached world reusable besides its size and seed."""
    return {"version": GENERATOR_VERSION, "template": TEMPLATE, "journeys": JOURNEYS_ZIPF,
            "chunk_customers": CHUNK_CUSTOMERS}


def make_world(n_events: int, out_dir: str | Path, seed: int = DEFAULT_SEED) -> World:
    """Generate (or reuse, when ``out_dir`` already holds it) a world of ``n_events`` history events."""
    root = Path(out_dir).resolve()
    manifest = root / "manifest.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("version") == _generator() and saved["seed"] == seed and saved["n_events"] == n_events:
            return World(**{k: v for k, v in saved.items() if k != "version"} | {"root": root})
    manifest.unlink(missing_ok=True)
    for name in (*SOURCES, "truth", "cjm.yaml"):
        target = root / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    next_day = START + dt.timedelta(days=HISTORY_DAYS)
    options = {"template": TEMPLATE, "days": HISTORY_DAYS + 1, "seed": seed, "start": START.date().isoformat(),
               "identity": "realistic", "timezone": "UTC", "benchmark_events": n_events}
    _, summary = scale.write_scale(
        world_model(TEMPLATE), MAX_CUSTOMERS, epoch(START), HISTORY_DAYS + 1, seed, root, options,
        chunk_customers=CHUNK_CUSTOMERS, truth=False, events=n_events, journeys=JOURNEYS_ZIPF,
        split_at=epoch(next_day), split_dirs=PARTS)
    written = stage_rules(yaml.safe_load((root / "cjm.yaml").read_text(encoding="utf-8")))
    if written != STAGE_RULES:
        raise RuntimeError(f"{root / 'cjm.yaml'}: its stages are not benchmarks.data.STAGE_RULES")
    world = World(root=root, seed=seed, n_events=n_events, events=summary["events"],
                  next_day_events=summary["split"]["later_events"], people=summary["people"],
                  chunks=summary["chunks"], start=START.date().isoformat(), next_day=next_day.date().isoformat())
    saved = asdict(world) | {"root": str(root), "version": _generator()}
    manifest.write_text(json.dumps(saved, indent=2))
    return world


def parse_size(text: str) -> int:
    """``'1M'`` → 1_000_000; also ``k`` and plain integers.

    >>> parse_size("1M"), parse_size("100k"), parse_size("2500")
    (1000000, 100000, 2500)
    """
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 10**3), ("m", 10**6), ("g", 10**9)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description="Generate a benchmark world (generic_events Parquet, scale mode).")
    ap.add_argument("size", help="history events, e.g. 1M, 100k")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    world = make_world(parse_size(args.size), args.out_dir, args.seed)
    print(json.dumps(asdict(world) | {"root": str(world.root)}, indent=2))


if __name__ == "__main__":
    main()
