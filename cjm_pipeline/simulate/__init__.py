"""A ground-truth simulator: journeys of a template's business, written as real exports.

Public API::

    from cjm_pipeline.simulate import simulate, TEMPLATES

    result = simulate("classic", customers=500, days=120, seed=7, out=Path("world"))
    result.summary["records"], result.files[:3]

``simulate(template, customers, days, seed, out, *, start="2025-01-01", scale_format="real",
identity="realistic", chunk_customers=100_000, truth=True, events=None, dirty=True)`` returns a
:class:`SimulationResult`; ``simulate_project(template, folder, customers, days, seed)`` is
``cjm init`` plus ``cjm simulate`` (``folder/cjm.yaml`` and ``folder/data``).
:mod:`cjm_pipeline.simulate.evaluate` scores a pipeline run against the truth.

* ``template``: one of :data:`TEMPLATES` (``classic``, ``classic_ru``, ``ecommerce``,
  ``education``, ``health``, ``fashion_retail``, ``travel``); the model of each lives in
  :mod:`cjm_pipeline.simulate.worlds` and its pipeline config in ``configs/templates/``.
* ``scale_format="real"`` writes the exports the ingestors read (Metrica visits TSV,
  Calltouch JSON, amoCRM JSON, generic CSVs in their own dialects) plus the ground truth in
  ``truth/`` (see :mod:`cjm_pipeline.simulate.writers`); ``out`` is the folder a template
  config calls ``data/``.
* ``scale_format="parquet"`` is the benchmark mode (:mod:`cjm_pipeline.simulate.scale`):
  vectorised, written in chunks with constant memory, ``generic_events`` Parquet for the
  sources web, crm, calls and offline, a ready config ``cjm.yaml`` and the truth as Parquet.
* ``scale_format="generic"`` writes the world as ONE event log, ``out/events.csv``: what a
  shop's own tracker logged (visits, page and product views, carts, checkouts, orders, phone
  orders, cancellations, mailing opens), the generic CSV an analyst exports
  (:mod:`cjm_pipeline.simulate.eventlog`; the ``ecommerce`` template). ``dirty=True`` (the
  default) adds deliberately broken rows (unparseable times, rows without an identifier,
  exact duplicates); ``truth/world.json`` lists them, and ``truth=True`` adds the records,
  events, paths and people. ``data/sample/events.csv`` is this format.
* ``identity="realistic"`` (default) sets the identity traps of real data: several devices
  per person (each its own Metrica ClientID), phones spelt many ways, people never
  identified, shared reception phones (hubs), a few shared family phones, placeholder
  e-mails and phones, the company's own numbers on contacts, till rows and in the call log
  (staff test calls), forms and calls that lose the ClientID. ``identity="clean"`` keeps
  one device per person, none of the traps, and joins every person's identifiers in at
  least one record (a CRM contact or a loyalty profile): a world whose customers the
  pipeline can find exactly, so its funnel must equal the funnel of the true paths.

The same options give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors import CjmError
from .model import WorldModel, check_model
from .worlds import MODELS, model

#: Template names, in the order the docs list them.
TEMPLATES: tuple[str, ...] = tuple(MODELS)

IDENTITIES = ("realistic", "clean")
FORMATS = ("real", "parquet", "generic")


@dataclass
class SimulationResult:
    """What :func:`simulate` wrote."""

    out: Path
    template: str
    format: str
    summary: dict
    """The counts also written to ``truth/world.json`` (or ``truth/scale.json``)."""
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def world_model(template: str, identity: str = "realistic") -> WorldModel:
    """The world model of a template with the chosen identity realism."""
    try:
        m = model(template)
    except KeyError as e:
        raise CjmError(str(e.args[0])) from None
    if identity not in IDENTITIES:
        raise CjmError(f"identity: {identity!r} is not valid (valid: {', '.join(IDENTITIES)})")
    if identity == "clean":
        m = m.with_identity(m.identity.clean())
    problems = check_model(m)
    if problems:
        raise CjmError("the world model is inconsistent: " + "; ".join(problems))
    return m


def start_epoch(start: str | dt.date, timezone: str) -> int:
    """Local midnight of ``start`` in the template's zone, as UTC epoch seconds.

    >>> start_epoch("2025-01-01", "Europe/Moscow")
    1735678800
    """
    try:
        day = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    except ValueError:
        raise CjmError(f"start: {start!r} is not a date; write e.g. 2025-01-01") from None
    return int(dt.datetime.combine(day, dt.time(), ZoneInfo(timezone)).timestamp())


#: The file that marks a folder as written by the simulator (real format, parquet format).
MARKERS = ("truth/world.json", "truth/scale.json")


def _prepare(out: Path, names: list[str]) -> None:
    """Make room for a new world in ``out``: a folder written by the simulator before (it has
    a truth marker) loses the files and folders the simulator owns (only those); a folder
    with files of its own in those places is never touched: that is an error."""
    present = [n for n in names if (out / n).exists()]
    if not present:
        return
    if not any((out / marker).is_file() for marker in MARKERS):
        raise CjmError(f"out: {out} already holds {', '.join(present)} not written by `cjm simulate`; "
                       "choose an empty folder (the simulator replaces what it wrote before, nothing else)")
    for name in present:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


#: Most people a world can have: phones are unique below this (see :mod:`cjm_pipeline.simulate.scale`).
MAX_CUSTOMERS = 160_000_000


def simulate(template: str, customers: int | None, days: int, seed: int, out: str | Path, *, start: str = "2025-01-01",
             scale_format: str = "real", identity: str = "realistic", chunk_customers: int = 100_000,
             truth: bool = True, events: int | None = None, dirty: bool = True,
             journeys: float | None = None) -> SimulationResult:
    """Simulate ``customers`` people of a template's business over ``days`` days and write them to ``out``.

    ``chunk_customers`` and ``events`` apply to the parquet mode: people per chunk and a number
    of events to stop at (people are added until their events reach it; ``customers`` is then
    an upper bound, None for none); ``journeys`` (parquet): each person makes
    ``min(Zipf(journeys), 400)`` journeys (None: one each). ``truth`` (parquet and generic): whether to write the truth
    files (the generic format always writes ``truth/world.json``). ``dirty`` (generic): add the
    deliberately broken rows. Files the simulator owns under ``out`` are replaced.
    """
    if events is not None and (scale_format != "parquet" or events < 1):
        raise CjmError("events: a positive number, for the parquet format only")
    if journeys is not None and (scale_format != "parquet" or journeys <= 1):
        raise CjmError(f"journeys: a Zipf exponent above 1 (e.g. 2.5), for the parquet format only, got {journeys}")
    if customers is None:
        if events is None:
            raise CjmError("customers: give a number of people (or, for the parquet format, a number of events)")
        customers = MAX_CUSTOMERS
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise CjmError(f"customers: must be between 1 and {MAX_CUSTOMERS:,}, got {customers:,}")
    if days < 1:
        raise CjmError(f"days: must be at least 1, got {days}")
    if scale_format not in FORMATS:
        raise CjmError(f"format: {scale_format!r} is not valid (valid: {', '.join(FORMATS)})")
    m = world_model(template, identity)
    begin = start_epoch(start, m.timezone)
    out = Path(out)
    t0 = time.perf_counter()
    options = {"template": template, "customers": customers, "days": days, "seed": seed,
               "start": str(start), "identity": identity, "timezone": m.timezone}
    if scale_format == "parquet":
        from .scale import write_scale

        _prepare(out, ["web", "crm", "calls", "offline", "truth", "cjm.yaml"])
        files, summary = write_scale(m, customers, begin, days, seed, out, options,
                                     chunk_customers=chunk_customers, truth=truth, events=events,
                                     journeys=journeys)
        return SimulationResult(out, template, scale_format, summary, files, time.perf_counter() - t0)
    from .journeys import simulate_world

    if scale_format == "generic":
        from .eventlog import LOG_FILE, check_template, write_log

        check_template(template)
        _prepare(out, [LOG_FILE, "truth"])
        world = simulate_world(m, customers, begin, days, seed)
        files, summary = write_log(world, out, options, dirty=dirty, truth=truth)
        return SimulationResult(out, template, scale_format, summary, files, time.perf_counter() - t0)
    from .writers import write_world

    _prepare(out, [*m.source_names(), "truth"])
    world = simulate_world(m, customers, begin, days, seed)
    written, summary = write_world(world, out, options)
    return SimulationResult(out, template, scale_format, summary, written.files, time.perf_counter() - t0)


def simulate_project(template: str, folder: str | Path, customers: int, days: int, seed: int, *,
                     identity: str = "realistic", start: str = "2025-01-01", force: bool = False) -> Path:
    """``cjm init`` and ``cjm simulate`` in one: ``folder/cjm.yaml`` (the template) and its
    simulated ``folder/data``; returns the config's path."""
    from .templates import init_project

    config = init_project(template, folder, force=force)
    simulate(template, customers, days, seed, Path(folder) / "data", start=start, identity=identity)
    return config


__all__ = ["simulate", "simulate_project", "SimulationResult", "TEMPLATES", "world_model", "start_epoch",
           "IDENTITIES", "FORMATS", "MAX_CUSTOMERS"]
