"""``cjm simulate`` and ``cjm init``: click commands over :mod:`cjm_pipeline.simulate`.

Registered in :mod:`cjm_pipeline.cli` with ``main.add_command(simulate_command)`` and
``main.add_command(init_command)``.
"""

from __future__ import annotations

import functools
import shlex
from pathlib import Path

import click

from ..errors import CjmError
from . import FORMATS, IDENTITIES, TEMPLATES, simulate
from .templates import init_project


def _errors(fn):
    """CjmError -> one line ``Error: ...`` and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CjmError as e:
            raise click.ClickException(str(e)) from None
    return wrapper


@click.command("simulate")
@click.option("-t", "--template", required=True, type=click.Choice(TEMPLATES), help="The business to simulate.")
@click.option("-n", "--customers", type=click.IntRange(min=1), default=None,
              help="People to simulate.  [default: 1000; with --events: as many as needed]")
@click.option("-d", "--days", type=click.IntRange(min=1), default=120, show_default=True, help="Days of data.")
@click.option("-s", "--seed", type=int, default=1, show_default=True, help="Random seed: the same options give the same files.")
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--start", default="2025-01-01", show_default=True, help="First day (the template's local time).")
@click.option("--format", "scale_format", type=click.Choice(FORMATS), default="real", show_default=True,
              help="real: the exports the ingestors read; parquet: generic_events Parquet at scale (benchmarks); "
                   "generic: one shop event log, events.csv (ecommerce).")
@click.option("--identity", type=click.Choice(IDENTITIES), default="realistic", show_default=True,
              help="realistic: devices, shared phones, placeholders; clean: every person findable exactly.")
@click.option("--chunk-customers", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="parquet: people per chunk (memory stays constant).")
@click.option("--events", type=click.IntRange(min=1), default=None,
              help="parquet: stop when the events reach this many (--customers, if given, is an upper bound).")
@click.option("--journeys-zipf", "journeys", type=click.FloatRange(min=1.0, min_open=True), default=None,
              help="parquet: each person makes min(Zipf(x), 400) journeys, a long tail of heavy people "
                   "(the benchmarks use 2.5); default one journey each.")
@click.option("--no-truth", is_flag=True, help="parquet, generic: do not write the truth files "
              "(generic keeps truth/world.json: the counts and the broken rows' lines).")
@click.option("--dirty/--no-dirty", default=True, show_default=True,
              help="generic: add broken rows on purpose (unparseable times, no identifier, exact duplicates).")
@_errors
def simulate_command(template: str, customers: int, days: int, seed: int, out: str, start: str, scale_format: str,
                     identity: str, chunk_customers: int, events: int | None, journeys: float | None, no_truth: bool,
                     dirty: bool) -> None:
    """Write a simulated world of a template's business, with its ground truth.

    The real format writes Metrica visits, Calltouch calls, amoCRM pages and generic CSVs as
    the systems export them, and truth/ (the person behind every record, each person's true
    stage path). Run the template's config on it: `cjm init --template NAME DIR` makes one.

    \b
    Example:
      cjm simulate --template classic --customers 2000 --days 120 --seed 1 --out my_project/data
      cjm simulate --template ecommerce --format parquet --events 50000000 --out /data/bench
      cjm simulate --template ecommerce --format generic --customers 3000 --seed 1 --out shop_log
    """
    if customers is None and events is None:
        customers = 1000
    result = simulate(template, customers, days, seed, out, start=start, scale_format=scale_format,
                      identity=identity, chunk_customers=chunk_customers, truth=not no_truth, events=events, dirty=dirty,
                      journeys=journeys)
    s = result.summary
    people = s.get("people", customers)
    kind = scale_format if scale_format != "real" else f"{identity} identity"
    click.echo(f"cjm simulate: {template}, {people:,} people, {days} days from {start}, seed {seed} "
               f"({kind}) in {result.seconds:.1f} s")
    if scale_format == "parquet":
        by_source = ", ".join(f"{k} {v:,}" for k, v in s["events_by_source"].items() if v)
        click.echo(f"  events: {s['events']:,} ({by_source}); staged {s['staged_events']:,}")
        click.echo(f"  config: {Path(out) / 'cjm.yaml'}")
    elif scale_format == "generic":
        defects = ", ".join(f"{k} {v}" for k, v in s["defects"].items())
        click.echo(f"  rows: {s['rows']:,} ({s['good_rows']:,} good, staged {s['staged_rows']:,}; broken on purpose: "
                   f"{defects}); {s['people_identified']:,} of {s['people_with_rows']:,} people identified")
        click.echo(f"  log: {Path(out) / 'events.csv'}; truth: {Path(out) / 'truth'}/")
    else:
        by_source = ", ".join(f"{k} {v:,}" for k, v in s["records_by_source"].items())
        click.echo(f"  records: {s['records']:,} ({by_source}); events {s['events']:,}, staged {s['staged_events']:,}")
        click.echo(f"  truth: {Path(out) / 'truth'}/ (records, events, paths, people)")
    click.echo(f"  written to {out}/")


@click.command("init")
@click.option("-t", "--template", required=True, type=click.Choice(TEMPLATES), help="The template to start from.")
@click.option("--force", is_flag=True, help="Overwrite an existing cjm.yaml.")
@click.argument("folder", type=click.Path(file_okay=False))
@_errors
def init_command(template: str, force: bool, folder: str) -> None:
    """Start a project: copy a template config (with its comments) to FOLDER/cjm.yaml.

    \b
    Example:
      cjm init --template classic my_project
    """
    config = init_project(template, folder, force=force)
    data = Path(folder) / "data"
    click.echo(f"wrote {config} (template {template})")
    click.echo("next:")
    click.echo(f"  cjm simulate --template {template} --customers 2000 --days 120 --seed 1 --out {shlex.quote(str(data))}")
    click.echo(f"  cjm run -c {shlex.quote(str(config))}")


__all__ = ["simulate_command", "init_command"]
