"""The ``cjm`` command line: a thin layer over the library.

Errors the user can fix end with one line ``Error: ...`` and exit code 1; ``--debug``
shows the traceback instead. On a terminal the steps show as a progress line; otherwise
(cron, Airflow) each step is one plain, timestamped log line on stderr.
"""

from __future__ import annotations

import datetime as dt
import functools
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import click

from . import __version__, db, export, journey_map, pipeline
from .config import FUNNEL_MODES, FUNNEL_UNITS, OUTPUT_FORMATS, funnel_with, load_config
from .errors import CjmError
from .pii import policy_for
from .predict_cli import predict_command
from .report import LANGS, make_report
from .report.i18n import fmt_duration
from .schema import FORMATS
from .simulate import FORMATS as WORLD_FORMATS
from .simulate import IDENTITIES, TEMPLATES, simulate
from .simulate.templates import init_project
from .steps import STEPS, order_of
from .validate import validate as validate_config
from .warehouse import Warehouse

CONFIG_OPTION = click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False),
                             help="Pipeline config (YAML), e.g. configs/sample.yaml.")


def handle_errors(fn):
    """CjmError -> one-line message and exit code 1 (with --debug: the traceback)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CjmError as e:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            raise click.ClickException(str(e)) from None
    return wrapper


class Reporter:
    """Step progress: a rewritten line on a terminal, plain log lines otherwise."""

    def __init__(self, quiet: bool = False):
        self.tty = sys.stderr.isatty()
        self.quiet = quiet

    def log(self, message: str) -> None:
        if self.quiet:
            return
        if self.tty:
            click.echo("\r\033[K" + message, err=True)
        else:
            stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            click.echo(f"{stamp} cjm: {message}", err=True)

    def step(self, step, i: int, n: int) -> None:
        if self.tty and not self.quiet:
            click.echo(f"\r\033[K[{i:>2}/{n}] {step.name} ...", err=True, nl=False)

    def done(self) -> None:
        if self.tty and not self.quiet:
            click.echo("\r\033[K", err=True, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cjm")
@click.option("--debug", is_flag=True, help="Show full tracebacks and SQL errors.")
def main(debug: bool) -> None:
    """cjm: customer journey maps measured from your data.

    \b
    Quick start:
      cjm validate -c configs/sample.yaml
      cjm run -c configs/sample.yaml
      cjm funnel -c configs/sample.yaml --window 30d
    """


@main.command()
@CONFIG_OPTION
@click.option("--until", metavar="STEP", help="Stop after this step (see `cjm steps`); skips exports.")
@click.option("--full-refresh", is_flag=True, help="Forget what was loaded and re-read every input file.")
@click.option("--rebuild", is_flag=True, help="Recompute every step (default: only what new files touch; same tables).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
@handle_errors
def run(config_path: str, until: str | None, full_refresh: bool, rebuild: bool, quiet: bool) -> None:
    """Ingest new files, bring every table up to date and export the CSVs.

    A nightly run recomputes only the customers its new files touch when the last run built everything
    with this config and version; else (or with --rebuild) every step is rebuilt, and it says why.

    The tables are built on the config's engine: DuckDB (the default) or Apache Spark
    (`engine: spark`; they are copied back into the DuckDB warehouse).

    \b
    Example:
      cjm run -c configs/sample.yaml
      cjm run -c configs/sample.yaml --until classified_events
      cjm run -c configs/sample_spark.yaml
    """
    cfg = load_config(config_path)
    rep = Reporter(quiet)
    try:
        result = pipeline.run(cfg, until=until, full_refresh=full_refresh, rebuild=rebuild, log=rep.log,
                              on_step=rep.step)
    finally:
        rep.done()
    t = result.totals
    loaded = sum(1 for f in result.loads if f.status == "loaded")
    skipped = sum(1 for f in result.loads if f.status == "skipped")
    unreadable = sum(1 for f in result.loads if f.status == "quarantined")
    click.echo(f"cjm run {result.run_id}: {result.status} in {result.seconds:.1f} s ({result.build})")
    click.echo(f"  input: {loaded} new file(s), {skipped} already loaded"
               + (f", {unreadable} unreadable file(s) quarantined" if unreadable else "") + f"; rows in {t['rows_in']:,}: "
               f"loaded {t['rows_loaded']:,}, duplicate {t['rows_duplicate']:,}, quarantined {t['rows_quarantined']:,}")
    if result.accounting is not None and len(result.accounting) > 1:
        for row in result.accounting.itertuples():
            click.echo(f"    {row.source}: rows in {row.rows_in:,}: loaded {row.rows_loaded:,}, "
                       f"duplicate {row.rows_duplicate:,}, quarantined {row.rows_quarantined:,}")
    counts = {r.step: r.rows for r in result.steps}
    if "journeys" in counts:
        click.echo(f"  customers: {counts['journeys']:,}; classified events: {counts['classified_events']:,}")
    click.echo(f"  warehouse: {cfg.warehouse_path}")
    if result.exports:
        click.echo(f"  outputs: {cfg.output_dir}/ ({', '.join(Path(p).name for p in result.exports)})")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}")
    if t["rows_quarantined"]:
        click.echo(f"  {t['rows_quarantined']} row(s) quarantined: see quarantine.csv or the `quarantine` table")


@main.command()
@CONFIG_OPTION
@click.option("--data", is_flag=True, help="Test the stage rules on the input files (read into memory; "
              "nothing is written) instead of the warehouse's events.")
@click.option("--strict", is_flag=True, help="Exit with code 1 when a rule or a stage matches no event.")
@handle_errors
def validate(config_path: str, data: bool, strict: bool) -> None:
    """Check a config: every problem at once, source paths included; then test its stage
    rules on the warehouse's events (or, with --data, on the input files) and warn about
    each rule and stage that matches no event. The warehouse is only read.

    \b
    Example:
      cjm validate -c configs/sample.yaml
      cjm validate -c configs/sample.yaml --data --strict
    """
    result = validate_config(config_path, data=data)
    click.echo("\n".join(result.lines(config_path)))
    if strict and result.issues:
        raise click.ClickException(f"{len(result.issues)} stage rule warning(s) (--strict)")


def output_options(fn):
    """--mode/--window (recompute in memory), --out, --format, --excel: shared by the table commands."""
    options = [
        click.option("--mode", type=click.Choice(FUNNEL_MODES), help="Funnel mode (default: the config's)."),
        click.option("--window", metavar="DURATION", help="Conversion window, e.g. 30d, 12h (default: the config's)."),
        click.option("--unit", type=click.Choice(FUNNEL_UNITS),
                     help="What the funnel counts: customer, deal (CRM deal or lead) or session (default: the config's)."),
        click.option("--step-window", "step_windows", multiple=True, metavar="STAGE=DURATION",
                     help="A per-step window from the previous step, e.g. --step-window purchase=7d (repeatable)."),
        click.option("--out", "out_path", type=click.Path(dir_okay=False),
                     help="Write the table to this file (without it the table is only printed: the published "
                          "outputs of the last run are never replaced)."),
        click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), help="File format (default: the config's)."),
        click.option("--excel", is_flag=True, help="CSV for a Russian-locale Excel: ';', decimal comma, UTF-8 with BOM."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


FUNNEL_NAME_OPTION = click.option("--funnel", "funnel_name", metavar="NAME",
                                  help="One of the config's named funnels (default: the main funnel).")


def parse_step_windows(values: tuple[str, ...]) -> dict[str, str]:
    """``("purchase=7d", ...)`` from --step-window as ``{stage: duration}``."""
    out = {}
    for value in values:
        stage, sep, duration = value.partition("=")
        if not sep or not stage.strip() or not duration.strip():
            raise CjmError(f"--step-window: {value!r} is not STAGE=DURATION (e.g. purchase=7d)")
        out[stage.strip()] = duration.strip()
    return out


def write_table_command(config_path: str, table: str, show: list[str], *,
                        mode: str | None, window: str | None, out_path: str | None, fmt: str | None,
                        excel: bool, funnel_name: str | None = None, unit: str | None = None,
                        step_windows: tuple[str, ...] = ()) -> None:
    """Read (or, with --mode/--window/--funnel, recompute in memory) one output table, print it and write it."""
    cfg = load_config(config_path)
    base = cfg.funnel
    if funnel_name:
        try:
            base = cfg.named_funnel(funnel_name)
        except KeyError as e:
            raise CjmError(f"--funnel: {e.args[0]} in {config_path}") from None
    output = replace(cfg.output, format=fmt or ("csv" if excel else cfg.output.format), excel=excel or cfg.output.excel)
    overrides = parse_step_windows(step_windows)
    funnel = funnel_with(base, window=window, mode=mode, unit=unit,
                         step_windows={**base.step_windows, **overrides} if overrides else None)
    cfg = replace(cfg, output=output, funnel=funnel)
    with Warehouse(cfg.warehouse_path).connect() as con:
        if mode or window or unit or overrides or funnel_name or table == "funnel":
            pipeline.recompute_funnel(con, cfg.funnel, where="--")
        frame = db.read_table(con, table, order_by=order_of(table))
        path = Path(out_path) if out_path else None
        if path is not None:  # a re-sliced table never replaces a published output: only where --out says
            export.write_output(con, cfg, table, path)
            run_id = f"{table}-" + dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            export.write_sidecar(path, {**export.metadata(con, cfg, run_id=run_id), "table": table})
    shown = frame[[c for c in show if c in frame.columns]].head(30).rename(columns=export.column_names(cfg, table))
    for col in [c for c in shown.columns if c.endswith("_s")]:  # durations read as '2 d 3 h'; files keep seconds
        shown[col[:-2]] = shown.pop(col).map(fmt_duration)
    click.echo(shown.to_string(index=False))
    if len(frame) > 30:
        click.echo(f"... {len(frame) - 30} more rows")
    where = f"written to {path}" if path else "not written (--out FILE writes it; the published outputs stay as they are)"
    click.echo(f"{table} ({cfg.funnel.mode}, window {cfg.funnel.window}, counting {export.unit_plural(cfg.funnel.unit)}): "
               f"{len(frame)} rows {where}")


@main.command()
@CONFIG_OPTION
@output_options
@FUNNEL_NAME_OPTION
@handle_errors
def funnel(config_path: str, **options) -> None:
    """Recompute the funnel from the warehouse, without re-ingesting.

    Nothing in the warehouse or the published outputs changes: the funnel is rebuilt in memory
    from the stored classified events, printed, and written only to --out (with a .meta.json sidecar).

    \b
    Example:
      cjm funnel -c configs/sample.yaml --mode strict --window 30d --out build/funnel_30d.csv
      cjm funnel -c configs/sample.yaml --excel --out build/funnel_excel.csv
      cjm funnel -c configs/shop.yaml --funnel checkout --window 7d
    """
    write_table_command(config_path, "funnel", [
        "step", "stage", "customers", "conversion_from_previous", "conversion_from_start", "implied", "ttc_median_s"],
        **options)


@main.command()
@CONFIG_OPTION
@output_options
@FUNNEL_NAME_OPTION
@handle_errors
def journeys(config_path: str, **options) -> None:
    """Write the per-customer journeys (stage path, back-steps, conversion).

    With --mode or --window, the funnel columns are recomputed in memory first.

    \b
    Example:
      cjm journeys -c configs/sample.yaml --format parquet --out build/journeys.parquet
    """
    write_table_command(config_path, "journeys", [
        "customer_id", "stage_path", "furthest_stage", "n_back_steps", "converted"], **options)


@main.command()
@CONFIG_OPTION
@output_options
@handle_errors
def loops(config_path: str, **options) -> None:
    """Write the loops table: back-steps per edge, resolved share, return time, conversion.

    \b
    Example:
      cjm loops -c configs/sample.yaml --excel --out build/loops.csv
    """
    write_table_command(config_path, "loops", [
        "from_stage", "to_stage", "customers", "occurrences", "resolved_share", "looper_conversion",
        "non_looper_conversion"], **options)


@main.command()
def steps() -> None:
    """List the pipeline steps in order: output table, inputs and grain.

    \b
    Example:
      cjm steps
    """
    for i, s in enumerate(STEPS, start=1):
        grain = f" grain({', '.join(s.grain)})" if s.grain else ""
        click.echo(f"{i:>2}. {s.name:<24} <- {', '.join(s.inputs)}{grain}")
        if s.doc:
            click.echo(f"    {s.doc}")


@main.command()
def formats() -> None:
    """List the source formats (the `format:` of a source) with their options and defaults, and the
    zone of times a format's files write without one (a source's `timezone:` overrides it).

    \b
    Example:
      cjm formats
    """
    for name, spec in FORMATS.items():
        click.echo(f"{name:<19} {spec.summary}")
        if spec.reads_files:
            click.echo(f"    times without a zone: {spec.timezone or 'the config timezone (the account zone)'}")
        for key, default in spec.options.items():
            click.echo(f"    options.{key}: default {default!r}")


@main.command()
@CONFIG_OPTION
@click.argument("key")
@click.option("--events", "max_events", default=40, show_default=True, help="Journey events to print.")
@handle_errors
def customer(config_path: str, key: str, max_events: int) -> None:
    """Explain one customer: identifiers, the records that link them, merges and the journey.

    KEY is a customer_id, an identifier written type:value (phones and e-mails in any
    spelling; with identity.pii: hash they are hashed with the salt first), or an event id.

    \b
    Example:
      cjm customer -c configs/sample_multi.yaml phone:+79689314526
      cjm customer -c configs/sample_multi.yaml "phone:8 (968) 931-45-26"
      cjm customer -c configs/sample_multi.yaml ym_client_id:1738487894743709809
    """
    cfg = load_config(config_path)
    info = Warehouse(cfg.warehouse_path, policy_for(cfg)).explain_customer(key)
    ids, links, merges, journey = info["identifiers"], info["links"], info["merges"], info["journey"]
    click.echo(f"customer {info['customer_id']}: {len(ids)} identifier(s), {len(journey)} event(s)")
    click.echo("\nidentifiers (role: links = joins records; blocked / hub = attribute only):")
    for r in ids.itertuples():
        click.echo(f"  {r.identifier:<45} {r.role:<7} {r.events:>4} event(s)  {', '.join(r.sources)}  "
                   f"first seen {r.first_seen}")
    click.echo(f"\nrecords that link identifiers ({len(links)}):")
    for r in links.head(30).itertuples():
        click.echo(f"  {r.event_ts}  {r.source}/{r.event_type}  {' + '.join(r.identifiers)}")
    if len(links) > 30:
        click.echo(f"  ... {len(links) - 30} more")
    if len(merges):
        click.echo("\nmerges:")
        for r in merges.itertuples():
            click.echo(f"  run {r.run_id}: {', '.join(r.merged_ids)} -> {r.customer_id} via {r.linking_identifier}")
    click.echo("\njourney:")
    for r in journey.head(max_events).itertuples():
        stage = r.stage if isinstance(r.stage, str) else "-"
        channel = r.channel if isinstance(r.channel, str) else ""
        click.echo(f"  {r.event_ts}  {stage:<18} {r.source}/{r.event_type}  {channel}")
    if len(journey) > max_events:
        click.echo(f"  ... {len(journey) - max_events} more (--events N)")


@main.command("report")
@CONFIG_OPTION
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False),
              help="Write the report here (default: report.html in the output folder).")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help="Language of the labels.")
@click.option("--png", "png_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write each chart as a PNG into DIR (needs kaleido and Chrome or Chromium).")
@handle_errors
def report(config_path: str, out_path: str | None, lang: str, png_dir: str | None) -> None:
    """Write one self-contained HTML report: summary, charts and key tables.

    It reads the tables of the last `cjm run` (nothing is recomputed) and opens offline:
    plotly.js is embedded in the file.

    \b
    Example:
      cjm report -c configs/sample.yaml
      cjm report -c configs/sample.yaml --lang ru -o build/report_ru.html --png build/slides
    """
    result = make_report(config_path, out_path, lang, png_dir)
    size_kb = result.path.stat().st_size / 1024
    click.echo(f"report: {result.path} ({size_kb:,.0f} KB, {len(result.charts)} charts)")
    if result.pngs:
        click.echo(f"  png: {len(result.pngs)} file(s) in {Path(png_dir)}/")
    for message in result.warnings:
        click.echo(f"warning: {message}", err=True)


@main.command("map")
@CONFIG_OPTION
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write map.html, map.csv or map.xlsx.")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help="Language of the grid.")
@handle_errors
def map_command(config_path: str, out_path: str | None, lang: str) -> None:
    """Print the journey map of the last run (touchpoints, feelings, pains, KPIs, next steps per stage).

    Comments have phones and e-mails masked unless output.pii: clear. Example:
    cjm map -c configs/sample_multi.yaml --out build/map.html --lang ru
    """
    cfg = load_config(config_path)
    frame = Warehouse(cfg.warehouse_path).journey_map(mask=cfg.output.pii != "clear")
    click.echo("\n".join(journey_map.map_text(frame)))
    if out_path:
        click.echo(f"journey map: {len(frame)} rows written to {journey_map.write_map(frame, out_path, lang=lang)}")


@main.command("simulate")
@click.option("-t", "--template", required=True, type=click.Choice(TEMPLATES), help="The business to simulate.")
@click.option("-n", "--customers", type=click.IntRange(min=1), default=None,
              help="People to simulate.  [default: 1000; with --events: as many as needed]")
@click.option("-d", "--days", type=click.IntRange(min=1), default=120, show_default=True, help="Days of data.")
@click.option("-s", "--seed", type=int, default=1, show_default=True, help="Random seed: the same options give the same files.")
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--start", default="2025-01-01", show_default=True, help="First day (the template's local time).")
@click.option("--format", "scale_format", type=click.Choice(WORLD_FORMATS), default="real", show_default=True,
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
@handle_errors
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
    kind = scale_format if scale_format != "real" else f"{identity} identity"
    click.echo(f"cjm simulate: {template}, {s.get('people', customers):,} people, {days} days from {start}, "
               f"seed {seed} ({kind}) in {result.seconds:.1f} s")
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
        feel = f", feedback and pains: {s['answers']:,} answers, {s['pains']:,} pains" if "answers" in s else ""
        click.echo(f"  truth: {Path(out) / 'truth'}/ (records, events, paths, people{feel})")
    click.echo(f"  written to {out}/")


@main.command("init")
@click.option("-t", "--template", required=True, type=click.Choice(TEMPLATES), help="The template to start from.")
@click.option("--force", is_flag=True, help="Overwrite an existing cjm.yaml.")
@click.argument("folder", type=click.Path(file_okay=False))
@handle_errors
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


main.add_command(predict_command)  # cjm predict (cjm_pipeline/predict_cli.py)
