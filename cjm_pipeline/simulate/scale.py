"""The benchmark mode: a template's journeys for millions of people, as ``generic_events`` Parquet.

The people walk the template's stage model in chunks (:mod:`cjm_pipeline.simulate.scale_walk`:
numpy, one event per step, plus page views around web steps); this module turns each
chunk's steps into events with identifiers and writes them.

Output under ``out`` (one Parquet file per source, one row group per chunk)::

    web/events.parquet       visits, goals, purchases (anonymous_id = the device; phone on forms
                             and purchases) and page views (unstaged)
    calls/events.parquet     calls (phone; the device's anonymous_id when the call came from the site)
    crm/events.parquet       leads and status changes (phone, crm_contact_id, sometimes email)
    offline/events.parquet   every generic source's rows (phone, sometimes email)
    truth/<source>.parquet   event_id, person_id and true stage (null: no stage) of each event
                             (left out with ``truth=False``)
    truth/scale.json         options and counts
    cjm.yaml                 a pipeline config for these files (stages by source and event_type)

Two options for benchmark worlds (off by default, so a template's world is unchanged):

* ``journeys`` (a Zipf exponent, e.g. 2.5): each person makes ``min(Zipf(journeys),
  MAX_JOURNEYS)`` journeys instead of one, a long tail of very active people (see
  :mod:`cjm_pipeline.simulate.scale_walk`).
* ``split_at`` (epoch seconds): every source is written as two files, the events before the
  instant in ``<source>/<split_dirs[0]>/events.parquet`` and the rest in
  ``<source>/<split_dirs[1]>/events.parquet`` (both always exist). One world cut in two: the
  same people go on after the split and event ids never repeat; ``events`` counts only the
  first part and ``cjm.yaml`` reads only it. The benchmarks simulate 366 days and split off
  the last one as the nightly increment.

People are made in chunks of ``chunk_customers``; each chunk draws from its own generator
``SeedSequence([seed, template, chunk])`` and is written before the next is made, so memory
stays constant however many people there are, and the same options give the same bytes.
Person ``p`` has the phone ``+79<code><7 digits>`` (unique below 160 million people) and
devices ``1_700_000_000_000_000_000 + 4p + d``.
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from .files import iso_utc
from .identities import OPERATOR_CODES
from .model import WorldModel
from .scale_walk import CHANNELS, ScaleModel, Steps, pick, walk_chunk

SOURCES = ("web", "calls", "crm", "offline")
#: Share of calls answered (``answered`` "1"; an unanswered call is the journey map's pain).
ANSWERED = 0.85
#: Scores of NPS answers by the event type's variant (``score``, the journey map's feedback).
NPS_SCORES = {"promoter": ("9", "10"), "passive": ("7", "8"), "detractor": ("0", "3", "5", "6")}
PAGE_VIEWS_PER_WEB_STEP = 3.0
DEVICE_BASE = 1_700_000_000_000_000_000
CONTACT_BASE = 40_000_000

_TS = pa.timestamp("s", tz="UTC")
_DICT = pa.dictionary(pa.int16(), pa.string())
SCHEMAS = {
    "web": pa.schema([("event_id", pa.int64()), ("event_time", _TS), ("event_type", _DICT),
                      ("anonymous_id", pa.int64()), ("phone", pa.string()), ("channel", _DICT)]),
    "calls": pa.schema([("event_id", pa.int64()), ("event_time", _TS), ("event_type", _DICT),
                        ("phone", pa.string()), ("anonymous_id", pa.int64()), ("channel", _DICT),
                        ("answered", pa.string())]),
    "crm": pa.schema([("event_id", pa.int64()), ("event_time", _TS), ("event_type", _DICT),
                      ("phone", pa.string()), ("email", pa.string()), ("crm_contact_id", pa.int64()),
                      ("revenue", pa.float64())]),
    "offline": pa.schema([("event_id", pa.int64()), ("event_time", _TS), ("event_type", _DICT),
                          ("phone", pa.string()), ("email", pa.string()), ("score", pa.string())]),
}
TRUTH_SCHEMA = pa.schema([("event_id", pa.int64()), ("person_id", pa.int64()), ("stage", pa.string())])


# --------------------------------------------------------------------------- identifiers as Arrow strings


def phones(person: np.ndarray) -> pa.Array:
    """``+79<code><7 digits>`` of global person numbers (unique below 160 million)."""
    codes = pa.array([f"+79{c}" for c in OPERATOR_CODES])
    head = pc.take(codes, pa.array(person % len(OPERATOR_CODES)))
    tail = pc.utf8_lpad(pc.cast(pa.array((person // len(OPERATOR_CODES) * 7919 + 104729) % 10**7), pa.string()),
                        7, "0")
    return pc.binary_join_element_wise(head, tail, "")


def emails(person: np.ndarray) -> pa.Array:
    domains = pa.array(["@mail.ru", "@yandex.ru", "@gmail.com", "@bk.ru"])
    return pc.binary_join_element_wise(pa.scalar("client"), pc.cast(pa.array(person), pa.string()),
                                       pc.take(domains, pa.array(person % 4)), "")


def _only(make, person: np.ndarray, keep: np.ndarray) -> pa.Array:
    """``make(person)`` where ``keep``, null elsewhere (only the kept strings are built)."""
    built = make(person[keep])
    index = np.cumsum(keep) - 1
    return pc.take(built, pa.array(index, mask=~keep)) if len(built) else pa.nulls(len(person), pa.string())


# --------------------------------------------------------------------------- one chunk's tables


def chunk_tables(rng: np.random.Generator, sm: ScaleModel, steps: Steps, first_person: int, people: int,
                 first_event: int, stage_names: list[str]) -> dict[str, tuple[pa.Table, pa.Table]]:
    """The data and truth tables of one chunk per source, each sorted by time."""
    n_dev = sm.device_counts[pick(sm.devices, rng.random(people))]
    has_email = rng.random(people) < sm.email_share
    kinds = sm.kinds
    k_source = np.array([SOURCES.index(k.source) for k in kinds])
    k_ident = np.array([k.identifies for k in kinds])
    k_won = np.array([k.event_type.startswith("deal_") and k.event_type.endswith("won") for k in kinds] + [False])
    types = pa.array([k.event_type for k in kinds] + ["page_view"], pa.string())
    channel_names = pa.array(CHANNELS, pa.string())
    src = k_source[steps.kind]
    # page views around web steps (unstaged)
    web = src == 0
    n_views = rng.poisson(PAGE_VIEWS_PER_WEB_STEP, web.sum())
    v_person = np.repeat(steps.person[web], n_views)
    v_time = np.repeat(steps.time[web], n_views) + rng.integers(5, 600, n_views.sum())
    person = np.concatenate([steps.person, v_person])
    time = np.concatenate([steps.time, v_time])
    kind = np.concatenate([steps.kind, np.full(len(v_person), len(kinds))])
    stage = np.concatenate([steps.stage, np.full(len(v_person), -1)])
    source = np.concatenate([src, np.zeros(len(v_person), dtype=np.int64)])
    identifies = np.concatenate([k_ident[steps.kind], np.zeros(len(v_person), dtype=bool)])
    event_id = first_event + np.arange(len(person), dtype=np.int64)
    glob = first_person + person
    out = {}
    # the journey map's columns draw from a generator of their own: the rest of the world stays as it was
    extra = np.random.default_rng([first_person, first_event, 18])
    for s_index, name in enumerate(SOURCES):
        mask = source == s_index
        if not mask.any():
            continue
        order = np.argsort(time[mask], kind="stable")
        idx = np.flatnonzero(mask)[order]
        p, g = person[idx], glob[idx]
        cols = {"event_id": pa.array(event_id[idx]), "event_time": pa.array(time[idx], _TS),
                "event_type": pa.DictionaryArray.from_arrays(pa.array(kind[idx].astype(np.int16)), types)}
        devs = np.maximum(n_dev[p], 1)
        primary = DEVICE_BASE + 4 * g
        if name == "web":
            other = rng.random(len(idx)) >= 0.8
            cols["anonymous_id"] = pa.array(primary + np.where(other, rng.integers(0, 4, len(idx)) % devs, 0))
            cols["phone"] = _only(phones, g, identifies[idx])
            cols["channel"] = pa.DictionaryArray.from_arrays(
                pa.array(sm.channels[rng.integers(0, len(sm.channels), len(idx))]), channel_names)
        elif name == "calls":
            cols["phone"] = phones(g)
            from_site = (rng.random(len(idx)) < 0.7) & (n_dev[p] > 0)
            cols["anonymous_id"] = pa.array(np.where(from_site, primary, 0), mask=~from_site)
            cols["channel"] = pa.DictionaryArray.from_arrays(
                pa.array(np.full(len(idx), CHANNELS.index("phone"), dtype=np.int16)), channel_names)
            cols["answered"] = pa.array(np.where(extra.random(len(idx)) < ANSWERED, "1", "0"))
        elif name == "crm":
            cols["phone"] = phones(g)
            cols["email"] = _only(emails, g, has_email[p])
            cols["crm_contact_id"] = pa.array(CONTACT_BASE + g)
            won = k_won[kind[idx]]
            cols["revenue"] = pa.array(np.where(won, rng.choice([4990.0, 12900.0, 32500.0], len(idx)), 0.0), mask=~won)
        else:
            cols["phone"] = phones(g)
            cols["email"] = _only(emails, g, has_email[p] & (rng.random(len(idx)) < 0.5))
            names = np.array([k.event_type for k in kinds] + ["page_view"], dtype=object)[kind[idx]]
            scores = np.full(len(idx), None, dtype=object)
            for variant, choices in NPS_SCORES.items():
                hit = names == f"nps_answer_{variant}"
                scores[hit] = extra.choice(choices, int(hit.sum()))
            cols["score"] = pa.array(scores, pa.string())
        data = pa.table(cols, schema=SCHEMAS[name])
        st = stage[idx]
        stage_text = pc.take(pa.array(stage_names + [None], pa.string()), pa.array(np.where(st < 0, len(stage_names), st)))
        truth = pa.table({"event_id": cols["event_id"], "person_id": pa.array(g + 1), "stage": stage_text},
                         schema=TRUTH_SCHEMA)
        out[name] = (data, truth)
    return out


# --------------------------------------------------------------------------- the config and the writer


def scale_config(m: WorldModel, sm: ScaleModel, sources: list[str], folder: str = "") -> dict:
    """A pipeline config for the Parquet files: each stage's rules by source and event type.
    Each source reads ``<source>/<folder>`` (the whole ``<source>/`` when ``folder`` is empty)."""
    stages = []
    for i, st in enumerate(m.stages):
        by_source: dict[str, list[str]] = {}
        for k in sm.kinds:
            if k.stage == i:
                by_source.setdefault(k.source, []).append(k.event_type)
        stages.append({"name": st.name, "rules": [{"source": s, "event_type": t} for s, t in by_source.items()]})
    return {
        "base_dir": ".",
        "warehouse": "build/cjm.duckdb",
        "timezone": m.timezone,
        "memory_limit": "4GB",
        "sources": [{"name": s, "format": "generic_events", "path": f"{s}/{folder + '/' if folder else ''}"}
                    for s in sources],
        "stages": stages,
        **scale_map_sections(sm, sources),
        "funnel": {"mode": "ordered", "window": "90d", "breakdowns": ["first_channel", "entry_source", "cohort"]},
        "output": {"dir": "build/out", "format": "parquet"},
    }


def scale_map_sections(sm: ScaleModel, sources: list[str]) -> dict:
    """The journey map's sections for the Parquet files: the NPS answers' scores and unanswered calls.

    >>> from cjm_pipeline.simulate.worlds import model
    >>> scale_map_sections(ScaleModel.of(model("classic")), ["web", "calls", "crm", "offline"])["pains"]
    [{'name': 'missed call', 'source': 'calls', 'event_type': 'call', 'properties.answered': '0'}]
    """
    nps = sorted({k.event_type for k in sm.kinds if k.event_type.startswith("nps_answer_")})
    out: dict = {}
    if nps and "offline" in sources:
        out["feedback"] = [{"name": "NPS", "source": "offline", "event_type": nps, "score": "properties.score",
                            "scale": "nps"}]
    if "calls" in sources:
        out["pains"] = [{"name": "missed call", "source": "calls", "event_type": "call", "properties.answered": "0"}]
    return out


def _event_seconds(data: pa.Table) -> np.ndarray:
    """Epoch seconds of a chunk table's events (built in seconds; Parquet read back is in ms)."""
    return data.column("event_time").cast(pa.int64()).to_numpy()


def _trim(tables: dict[str, tuple[pa.Table, pa.Table]], first: int, remaining: int, split_at: int | None = None
          ) -> tuple[dict[str, tuple[pa.Table, pa.Table]], int | None]:
    """Keep the chunk's first people whose events reach ``remaining``; None when all are kept.
    With ``split_at``, only the events before it count (the people kept keep their later ones)."""
    local = [t.column("person_id").to_numpy() - first - 1 for _, t in tables.values()]
    counted = local if split_at is None else [p[_event_seconds(d) < split_at]
                                              for p, (d, _) in zip(local, tables.values())]
    per_person = np.bincount(np.concatenate(counted)) if counted else np.zeros(0, np.int64)
    total = np.cumsum(per_person)
    if len(total) == 0 or total[-1] < remaining:
        return tables, None
    keep = int(np.searchsorted(total, remaining)) + 1
    out = {}
    for (name, (data, truth_table)), people in zip(tables.items(), local):
        mask = pa.array(people < keep)
        out[name] = (data.filter(mask), truth_table.filter(mask))
    return out, keep


class _Files:
    """The Parquet writers of a world: per source, one file or (split) one per part."""

    def __init__(self, out: Path, truth: bool, parts: tuple[str, ...]):
        self.out, self.truth, self.parts = out, truth, parts
        self.data: dict[tuple[str, str], pq.ParquetWriter] = {}
        self.truth_writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, dict[str, int]] = {part: {s: 0 for s in SOURCES} for part in parts}

    def path(self, source: str, part: str) -> Path:
        return self.out / source / part / "events.parquet" if part else self.out / source / "events.parquet"

    def open(self, source: str) -> None:
        """Create the source's files (every part, so an empty part is still a file with the schema)."""
        if (source, self.parts[0]) in self.data:
            return
        for part in self.parts:
            path = self.path(source, part)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.data[(source, part)] = pq.ParquetWriter(path, SCHEMAS[source], compression="zstd")
        if self.truth:
            (self.out / "truth").mkdir(parents=True, exist_ok=True)
            self.truth_writers[source] = pq.ParquetWriter(self.out / "truth" / f"{source}.parquet", TRUTH_SCHEMA,
                                                          compression="zstd")

    def write(self, source: str, part: str, data: pa.Table) -> None:
        self.data[(source, part)].write_table(data)
        self.counts[part][source] += data.num_rows

    def sources(self) -> list[str]:
        return [s for s in SOURCES if (s, self.parts[0]) in self.data]

    def close(self) -> None:
        for w in (*self.data.values(), *self.truth_writers.values()):
            w.close()


def write_scale(m: WorldModel, customers: int, start: int, days: int, seed: int, out: Path, options: dict, *,
                chunk_customers: int = 100_000, truth: bool = True, events: int | None = None,
                journeys: float | None = None, split_at: int | None = None,
                split_dirs: tuple[str, str] = ("history", "later")) -> tuple[list[Path], dict]:
    """Write the Parquet world chunk by chunk; return the files and the summary.

    With ``events``, people are added until their events reach that many (the last person's
    events are all kept, so there may be a few more); ``customers`` is then an upper bound.
    ``journeys``: see :func:`~cjm_pipeline.simulate.scale_walk.walk_chunk` (None: one journey per person).

    ``split_at`` (epoch seconds, inside the simulated days) splits every source in two files
    by event time: ``<source>/<split_dirs[0]>/events.parquet`` before it (the history; only
    these count towards ``events``, and ``cjm.yaml`` reads only these) and
    ``<source>/<split_dirs[1]>/events.parquet`` from it on. One world, so the same people
    continue after the split, and event ids never repeat across the two.
    """
    if split_at is not None and not start < split_at < start + days * 86400:
        raise ValueError(f"split_at: {split_at} is not inside the simulated days")
    sm = ScaleModel.of(m)
    out.mkdir(parents=True, exist_ok=True)
    parts = ("",) if split_at is None else split_dirs
    files = _Files(out, truth, parts)
    staged = later_staged = 0
    next_event = 1
    people_made = 0
    template_key = zlib.crc32(m.template.encode())
    n_chunks = math.ceil(customers / chunk_customers)
    chunks = 0
    try:
        for chunk in range(n_chunks):
            first = chunk * chunk_customers
            people = min(chunk_customers, customers - first)
            rng = np.random.default_rng(np.random.SeedSequence([seed, template_key, chunk]))
            steps = walk_chunk(rng, sm, people, start, days, m.max_steps, journeys)
            tables = chunk_tables(rng, sm, steps, first, people, next_event, m.stage_names)
            next_event += sum(d.num_rows for d, _ in tables.values())
            kept = None
            if events is not None:
                tables, kept = _trim(tables, first, events - sum(files.counts[parts[0]].values()), split_at)
            for name, (data, truth_table) in tables.items():
                files.open(name)
                if split_at is None:
                    files.write(name, "", data)
                else:
                    before = pa.array(_event_seconds(data) < split_at)
                    files.write(name, parts[0], data.filter(before))
                    files.write(name, parts[1], data.filter(pc.invert(before)))
                if truth:
                    files.truth_writers[name].write_table(truth_table)
            in_world = steps.person < kept if kept is not None else np.ones(len(steps.person), dtype=bool)
            early = in_world if split_at is None else in_world & (steps.time < split_at)
            staged += int(early.sum())
            later_staged += int((in_world & ~early).sum())
            people_made += kept if kept is not None else people
            chunks += 1
            if kept is not None:
                break
    finally:
        files.close()
    sources = files.sources()
    config = scale_config(m, sm, sources, parts[0])
    header = (f"# cjm scale world: template {m.template}, {people_made:,} people, {days} days, seed {seed}\n"
              f"# written by `cjm simulate --format parquet`; generic_events Parquet, one file per source\n")
    if split_at is not None:
        header += (f"# the sources read {parts[0]}/ only; the events from {iso_utc(split_at)} on are in "
                   f"<source>/{parts[1]}/ (read <source>/ for both)\n")
    (out / "cjm.yaml").write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                  encoding="utf-8")
    counts = files.counts[parts[0]]
    summary = {**options, "format": "parquet", "people": people_made, "chunk_customers": chunk_customers,
               "chunks": chunks, "events": sum(counts.values()), "staged_events": staged, "events_by_source": counts,
               "stages": m.stage_names,
               "event_types": {k.event_type: m.stage_names[k.stage] for k in sm.kinds}}
    if journeys is not None:
        summary["journeys_zipf"] = journeys
    if split_at is not None:
        later = files.counts[parts[1]]
        summary["split"] = {"at": iso_utc(split_at), "dirs": list(split_dirs), "later_events": sum(later.values()),
                            "later_staged_events": later_staged, "later_events_by_source": later}
    (out / "truth").mkdir(parents=True, exist_ok=True)
    (out / "truth" / "scale.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
    written = [files.path(s, part) for part in parts for s in sources] + [out / "cjm.yaml"]
    written += [out / "truth" / f"{s}.parquet" for s in sources if truth] + [out / "truth" / "scale.json"]
    return written, summary


__all__ = ["write_scale", "chunk_tables", "scale_config", "phones", "emails", "SOURCES", "SCHEMAS", "TRUTH_SCHEMA"]
