"""The measured phases, each run in a child process of its own (so each one's peak RSS is its
own): the pipeline (a full rebuild or a nightly incremental run) and the floor.

* ``pipeline``: ``cjm_pipeline.pipeline.run`` on a benchmark config, timed per phase:
  ``ingest`` (new files into ``raw_events``, and the config tables), every step, the gaps
  between steps, and ``export`` (identity state, accounting, the output files, the run
  record). Peak RSS per phase from :mod:`benchmarks.measure`.
* ``floor``: DuckDB reading the same Parquet files and sorting them by customer (the first
  of CRM contact, e-mail, phone, cookie) and time into a table: what any engine has to pay
  at least once to lay a year of events out by customer.

    .venv/bin/python -m benchmarks.phases pipeline --config run/bench.yaml --fresh --out pipeline.json
    .venv/bin/python -m benchmarks.phases floor --world data/1M --db run/floor.duckdb --out floor.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import yaml

from .data import MAP_SECTIONS, SOURCES, STAGE_RULES, World, make_world
from .measure import Timeline

#: The funnel and journey steps the peers compute too (stage timeline + ordered funnel).
PEER_STEPS = ("stage_visits", "stage_transitions", "transitions", "funnel_events", "funnel_positions",
              "funnel_attempts", "funnel_customer_steps", "funnel")
FUNNEL_WINDOW = "90d"
FUNNEL_WINDOW_S = 90 * 86_400


def write_config(world: World, run_dir: Path, *, memory_limit: str | None, incremental: bool = False) -> Path:
    """The benchmark's pipeline config (YAML in ``run_dir``): the four generic sources, stages by
    event type, the journey map's feedback and pains, the ordered funnel over all stages.

    Each source reads its folder ``run_dir/sources/<source>/``, which links to the world's history
    files; ``incremental`` adds the links to the next day's files, as a nightly export lands in
    the folder a cron job reads, and leaves the config as it was (so the run continues the last
    build rather than rebuilding: :mod:`cjm_pipeline.incremental`)."""
    if not incremental:  # a fresh full run: the history alone
        shutil.rmtree(run_dir / "sources", ignore_errors=True)
    for s in SOURCES:
        folder = run_dir / "sources" / s
        folder.mkdir(parents=True, exist_ok=True)
        for f in sorted(world.history_dir(s).glob("*.parquet")) + (
                sorted(world.next_day_dir(s).glob("*.parquet")) if incremental else []):
            link = folder / f"{f.parent.name}-{f.name}"
            if not link.exists():
                link.symlink_to(f.resolve())
    cfg = {
        "warehouse": str(run_dir / "warehouse.duckdb"),
        "timezone": "UTC",
        "sources": [{"name": s, "format": "generic_events", "path": str(run_dir / "sources" / s)} for s in SOURCES],
        "stages": [{"name": name, "rules": [{"event_type": list(types)}]} for name, types in STAGE_RULES],
        **MAP_SECTIONS,
        "funnel": {"mode": "ordered", "window": FUNNEL_WINDOW},
        "output": {"dir": str(run_dir / "out")},
    }
    if memory_limit:
        cfg["memory_limit"] = memory_limit
    path = run_dir / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def pipeline_phase(config_path: str, fresh: bool) -> dict:
    """Run the pipeline once; its phases with seconds, rows and peak RSS."""
    from cjm_pipeline import db, pipeline
    from cjm_pipeline.config import load_config

    cfg = load_config(config_path)
    if fresh:
        for suffix in ("", ".wal"):
            Path(str(cfg.warehouse_path) + suffix).unlink(missing_ok=True)
    layer = {s.name: s.layer for s in pipeline.STEPS}
    timeline = Timeline()
    current = ["ingest"]

    def on_step(step, i, n):
        timeline.close(current[0], kind="ingest" if current[0] == "ingest" else "gap")
        current[0] = step.name

    def log(message: str) -> None:
        print(message, flush=True)  # the child's log file: progress of long runs
        done = re.match(rf"step {re.escape(current[0])}: (?:(\d+) rows|view)", message)
        if done:  # (a view is built in no time: its query runs inside the step that reads it)
            rows = int(done.group(1)) if done.group(1) else None
            timeline.close(current[0], rows=rows, kind="step", layer=layer[current[0]])
            current[0] = "(between steps)"

    try:
        result = pipeline.run(cfg, log=log, on_step=on_step)
    except Exception as e:  # noqa: BLE001 - a failed run is a result too (e.g. out of memory at a limit)
        failed = current[0] if current[0] != "(between steps)" else "export"
        timeline.close(failed, kind="failed", layer=layer.get(failed, failed))
        return {"status": "failed", "error": f"{failed}: {e}", "phases": timeline.as_dicts(),
                "rss_method": timeline.rss.method, "memory_limit": cfg.memory_limit}
    timeline.close("export", kind="export")
    timeline.phases[0].rows = sum(f.rows_read for f in result.loads)
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        customers = db.scalar(con, "select count(distinct customer_id) from classified_events")
        staged = db.scalar(con, "select count(*) from classified_events where stage is not null")
    finally:
        con.close()
    return {
        "phases": [p for p in timeline.as_dicts() if p["name"] != "(between steps)" or p["seconds"] > 0.05],
        "gaps_s": sum(p.seconds for p in timeline.phases if p.name == "(between steps)"),
        "run_seconds": result.seconds, "status": result.status, "rss_method": timeline.rss.method,
        "files_loaded": sum(1 for f in result.loads if f.status == "loaded"),
        "files_skipped": sum(1 for f in result.loads if f.status == "skipped"),
        "rows_loaded": result.totals["rows_loaded"], "customers": customers, "staged_events": staged,
        "warehouse_bytes": Path(cfg.warehouse_path).stat().st_size, "memory_limit": cfg.memory_limit,
    }


FLOOR_SQL = """
create or replace table floor_sorted as
select *
from read_parquet($files, union_by_name = true)
order by coalesce(cast(crm_contact_id as varchar), email, cast(phone as varchar), cast(anonymous_id as varchar)),
    event_time
"""


def floor_phase(world: World, db_path: str, memory_limit: str | None) -> dict:
    """Read every history file and write it sorted by customer and time into a DuckDB table."""
    from cjm_pipeline import db

    files = [str(p) for p in world.history_files()]
    Path(db_path).unlink(missing_ok=True)
    timeline = Timeline()
    con = db.connect(db_path, memory_limit=memory_limit)
    try:
        timeline.restart()
        db.execute(con, FLOOR_SQL, {"files": files})
        rows = db.scalar(con, "select count(*) from floor_sorted")
        timeline.close("floor", rows=rows)
    finally:
        con.close()
    Path(db_path).unlink(missing_ok=True)
    return {"phases": timeline.as_dicts(), "rss_method": timeline.rss.method, "files": len(files)}


def main() -> None:
    ap = argparse.ArgumentParser(description="one measured benchmark phase (run by benchmarks.run)")
    sub = ap.add_subparsers(dest="phase", required=True)
    p = sub.add_parser("pipeline")
    p.add_argument("--config", required=True)
    p.add_argument("--fresh", action="store_true", help="delete the warehouse first (a full rebuild)")
    p.add_argument("--out", required=True)
    f = sub.add_parser("floor")
    f.add_argument("--world", required=True, help="folder of a world made by benchmarks.data")
    f.add_argument("--db", required=True)
    f.add_argument("--memory-limit")
    f.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.phase == "pipeline":
        result = pipeline_phase(args.config, args.fresh)
    else:
        manifest = json.loads((Path(args.world) / "manifest.json").read_text())
        world = make_world(manifest["n_events"], args.world, manifest["seed"])
        result = floor_phase(world, args.db, args.memory_limit)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
