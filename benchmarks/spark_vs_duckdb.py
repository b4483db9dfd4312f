"""DuckDB and Spark (local mode) on the same world: the whole pipeline once per engine.

    python -m benchmarks.spark_vs_duckdb --size 10M          # make bench-spark
    python -m benchmarks.spark_vs_duckdb --size 100k --out build/bench-spark-smoke

Both runs read the benchmark's world (``benchmarks.data``: a year of generic events from four
sources, as Parquet) with the benchmark's config, each on a fresh warehouse and in its own child
process. A run's wall time is split into what comes before the steps (ingest: files to the DuckDB
raw layer, the same code for both engines; for Spark also starting the JVM and copying the source
tables to Parquet), the steps (the sum of the step times on the engine) and the rest (for Spark
copying the step tables back into the warehouse; export; the run record). Peak memory is the largest
resident set of the whole process tree (Python, and the JVM for Spark), sampled every 0.2 s.
Then the exported CSVs of the two runs are compared cell by cell (numbers within 1e-9).
Results: ``<out>/results.json`` and ``<out>/results.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from .compare import csv_differences
from .data import make_world, parse_size
from .phases import write_config
from .run import machine, size_label


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status", encoding="utf-8") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


def one_run(config_path: str, out_json: str) -> None:
    """(child) Run the pipeline once; write its timings."""
    from cjm_pipeline import pipeline
    from cjm_pipeline.config import load_config

    cfg = load_config(config_path)
    marks = {"start": time.perf_counter()}

    def on_step(step, i, n):
        marks.setdefault("steps", time.perf_counter())

    def log(message: str) -> None:
        print(message, flush=True)

    result = pipeline.run(cfg, log=log, on_step=on_step)
    marks["end"] = time.perf_counter()
    step_seconds = sum(s.seconds for s in result.steps)
    Path(out_json).write_text(json.dumps({
        "engine": cfg.engine, "seconds": marks["end"] - marks["start"],
        "ingest_s": marks["steps"] - marks["start"], "steps_s": step_seconds,
        "rows_loaded": result.totals["rows_loaded"],
        "step_seconds": {s.step: round(s.seconds, 2) for s in result.steps},
    }), encoding="utf-8")


def measure(config: Path, out_json: Path, log_path: Path) -> dict:
    """Run :func:`one_run` in a child process, sampling the peak RSS of its process tree."""
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.spark_vs_duckdb", "--one", str(config),
                                 str(out_json)], stdout=log, stderr=subprocess.STDOUT)
        peak = [0]

        def sample():
            while proc.poll() is None:
                peak[0] = max(peak[0], tree_rss(proc.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        sampler.join()
    if code:
        raise SystemExit(f"the run failed (exit {code}); see {log_path}")
    result = json.loads(out_json.read_text(encoding="utf-8")) | {"peak_rss": peak[0]}
    out_json.write_text(json.dumps(result), encoding="utf-8")
    return result


def csv_mismatches(a: Path, b: Path) -> list[str]:
    """Exported CSVs of run ``a`` that differ in run ``b`` (numbers within 1e-9)."""
    return [path.name for path in sorted(a.glob("*.csv")) if csv_differences(path, b / path.name)]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="10M", help="events in the world (e.g. 100k, 1M, 10M)")
    ap.add_argument("--out", default="build/bench-spark", help="results and warehouses go here")
    ap.add_argument("--data", default=None, help="folder of the world (default <out>/data-<size>)")
    ap.add_argument("--master", default="local[*]", help="Spark master URL")
    ap.add_argument("--driver-memory", default="12g", help="spark.driver.memory (local mode: all of Spark)")
    ap.add_argument("--engines", default="duckdb,spark",
                    help="engines to run; the other's last result in <out> is reused (e.g. --engines spark)")
    ap.add_argument("--one", nargs=2, metavar=("CONFIG", "OUT_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        one_run(*args.one)
        return {}
    n = parse_size(args.size)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    world = make_world(n, args.data or out / f"data-{size_label(n)}")
    runs = {}
    wanted = {e.strip() for e in args.engines.split(",")}
    for engine in ("duckdb", "spark"):
        run_dir = out / engine
        if engine not in wanted:
            runs[engine] = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
            print(f"{engine}: reusing {run_dir / 'result.json'}", flush=True)
            continue
        config = write_config(world, run_dir, memory_limit=None)
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        Path(data["warehouse"]).unlink(missing_ok=True)
        if engine == "spark":
            data["engine"] = "spark"
            data["spark"] = {"master": args.master, "tables": str(run_dir / "tables"),
                             "conf": {"spark.driver.memory": args.driver_memory}}
        config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        print(f"{engine}: running on {world.events:,} events ...", flush=True)
        runs[engine] = measure(config, run_dir / "result.json", run_dir / "run.log")
        print(f"{engine}: {runs[engine]['seconds']:.1f} s", flush=True)
    mismatches = csv_mismatches(out / "duckdb" / "out", out / "spark" / "out")
    import pyspark
    import sqlglot
    record = {"machine": machine() | {"pyspark": pyspark.__version__, "sqlglot": sqlglot.__version__},
              "events": world.events, "runs": runs, "csv_mismatches": mismatches}
    (out / "results.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    d, s = runs["duckdb"], runs["spark"]
    lines = [f"DuckDB vs Spark ({args.master}) on {world.events:,} events, {machine().get('cores', '?')} cores",
             f"{'':28}{'duckdb':>12}{'spark':>12}{'spark/duckdb':>14}"]
    for key, label in (("seconds", "total (s)"), ("ingest_s", "before the steps (s)"), ("steps_s", "steps (s)")):
        lines.append(f"{label:28}{d[key]:12.1f}{s[key]:12.1f}{s[key] / d[key]:14.1f}")
    lines.append(f"{'peak RSS, process tree (GiB)':28}{d['peak_rss'] / 2**30:12.2f}{s['peak_rss'] / 2**30:12.2f}")
    lines.append("slowest Spark steps: " + ", ".join(
        f"{k} {v:.0f} s" for k, v in sorted(s["step_seconds"].items(), key=lambda kv: -kv[1])[:6]))
    lines.append("exported CSVs: " + ("identical (numbers within 1e-9)" if not mismatches
                                      else "DIFFER: " + ", ".join(mismatches)))
    (out / "results.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return record


if __name__ == "__main__":
    main()
