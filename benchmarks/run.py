"""The benchmark harness (issue 8): per size, generate a year of events, run and time the
pipeline step by step, the floor, the peers and a nightly incremental run; print a table and
write ``<out>/results.json``.

Per size (each measured phase in a child process of its own, so its peak RSS is its own):

1. data: :func:`benchmarks.data.make_world` (reused when ``<out>/data/<size>`` holds it);
2. the pipeline, a full rebuild from a fresh warehouse, timed per phase (ingest, every step,
   export), with the config's ``memory_limit`` (``--memory-limit``; default none: DuckDB's 80 %
   of RAM);
3. the floor: DuckDB reading the same Parquet and sorting it by customer and time; every
   phase and layer is also reported as a ratio to it, the figure that carries across machines;
4. the peers, on the pipeline's ``classified_events`` exported to Parquet: the pandas
   ordered funnel and transition matrix (checked identical to the pipeline's tables), and
   retentioneering's funnel, transition and step matrix where its virtualenv exists
   (``--rete-python``; ``make bench`` creates it), else reported unavailable with the reason;
5. incremental: the one new day's files added to the sources, the pipeline run again on the
   same warehouse (ingest skips files already loaded by sha256; the steps rebuild fully).

    .venv/bin/python -m benchmarks.run --sizes 1M,10M
    .venv/bin/python -m benchmarks.run --sizes 50M --memory-limit 4GiB --no-peers
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .compare import funnel_count_differences, funnel_differences, rete_transition_differences, transition_differences
from .data import DEFAULT_SEED, STAGE_RULES, make_world, parse_size
from .phases import FUNNEL_WINDOW_S, PEER_STEPS, write_config
from .table import format_report

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "bench"
DEFAULT_RETE_PYTHON = ROOT / "build" / "bench-rete" / "bin" / "python"
FUNNEL_STEPS = [name for name, _ in STAGE_RULES]


def size_label(n: int) -> str:
    """``1000000`` → ``'1M'``, ``100000`` → ``'100k'``.

    >>> size_label(10_000_000), size_label(100_000), size_label(2500)
    ('10M', '100k', '2500')
    """
    for suffix, factor in (("M", 10**6), ("k", 10**3)):
        if n % factor == 0:
            return f"{n // factor}{suffix}"
    return str(n)


def machine() -> dict:
    """The machine and library versions the figures were taken on."""
    import duckdb
    import numpy
    import pandas
    import pyarrow

    import cjm_pipeline

    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) * 1024 for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal")), None)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_bytes": mem, "platform": platform.platform(),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "numpy": numpy.__version__, "pyarrow": pyarrow.__version__, "cjm_pipeline": cjm_pipeline.__version__}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def child(args: list[str], out_json: Path, log: Path, timeout: float | None, python: str | None = None,
          env: dict | None = None) -> dict:
    """Run one measured phase in a child process; its JSON, or status/error on failure."""
    out_json.unlink(missing_ok=True)
    started = time.perf_counter()
    cmd = [python or sys.executable, *args]
    try:
        with open(log, "w") as log_file:
            proc = subprocess.run(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, timeout=timeout,
                                  env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"stopped after {timeout:.0f} s", "wall_s": time.perf_counter() - started}
    if proc.returncode != 0 or not out_json.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        return {"status": "failed", "error": f"{how}; last lines of {log.name}:\n" + "\n".join(tail),
                "returncode": proc.returncode, "wall_s": time.perf_counter() - started}
    result = json.loads(out_json.read_text())
    result.setdefault("status", "success")
    result["wall_s"] = time.perf_counter() - started
    return result


def phase_seconds(result: dict) -> float:
    return sum(p["seconds"] for p in result.get("phases", []))


def peak(result: dict) -> int:
    return max((p["peak_rss"] for p in result.get("phases", [])), default=0)


# --------------------------------------------------------------------------- one size


def bench_size(n: int, args: argparse.Namespace, log=print) -> dict:
    """Everything measured at one size, as a dict for results.json."""
    label = size_label(n)
    run_dir = Path(args.out) / f"run-{label}"
    run_dir.mkdir(parents=True, exist_ok=True)
    record: dict = {"size": n, "label": label, "load_before": os.getloadavg(),
                    "started_at": dt.datetime.now().isoformat(timespec="seconds")}
    log(f"[{label}] data ...")
    t0 = time.perf_counter()
    world = make_world(n, Path(args.out) / "data" / label, args.seed)
    record["data"] = asdict(world) | {"root": str(world.root), "seconds": time.perf_counter() - t0,
                                      "bytes": sum(p.stat().st_size for p in world.history_files())}
    config = write_config(world, run_dir, memory_limit=args.memory_limit)
    log(f"[{label}] pipeline (full rebuild) ...")
    pipe = child(["-m", "benchmarks.phases", "pipeline", "--config", str(config), "--fresh",
                  "--out", str(run_dir / "pipeline.json")], run_dir / "pipeline.json", run_dir / "pipeline.log", None)
    record["pipeline"] = pipe
    log(f"[{label}] floor ...")
    floor_args = ["-m", "benchmarks.phases", "floor", "--world", str(world.root), "--db", str(run_dir / "floor.duckdb"),
                  "--out", str(run_dir / "floor.json")]
    if args.memory_limit:
        floor_args += ["--memory-limit", args.memory_limit]
    record["floor"] = child(floor_args, run_dir / "floor.json", run_dir / "floor.log", None)
    if pipe["status"] != "success":
        log(f"[{label}] pipeline {pipe['status']}: {pipe['error'].splitlines()[0]}")
        _clean(run_dir, args.keep)
        return _summarise(record)
    if args.peers and n <= args.peers_max:
        record["peers"] = bench_peers(run_dir, args, log, label)
    else:
        record["peers"] = {"skipped": "--no-peers" if not args.peers else f"size above --peers-max {args.peers_max:,}"}
    if args.incremental:
        log(f"[{label}] incremental (+1 day) ...")
        inc_config = write_config(world, run_dir, memory_limit=args.memory_limit, incremental=True)
        record["incremental_run"] = child(
            ["-m", "benchmarks.phases", "pipeline", "--config", str(inc_config), "--out", str(run_dir / "incremental.json")],
            run_dir / "incremental.json", run_dir / "incremental.log", None)
    _clean(run_dir, args.keep)
    record["load_after"] = os.getloadavg()
    return _summarise(record)


def _clean(run_dir: Path, keep: bool) -> None:
    """Delete the warehouse (and its spill folder), the peer input and the outputs, unless ``keep``."""
    if keep:
        return
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "peers.parquet"):
        (run_dir / name).unlink(missing_ok=True)
    for folder in ("out", "warehouse.duckdb.tmp"):
        shutil.rmtree(run_dir / folder, ignore_errors=True)


def bench_peers(run_dir: Path, args: argparse.Namespace, log, label: str) -> dict:
    """Export the classified events, run the peers on them, check their numbers."""
    from cjm_pipeline import db

    warehouse = run_dir / "warehouse.duckdb"
    peers_input = run_dir / "peers.parquet"
    t0 = time.perf_counter()
    con = db.connect(warehouse, read_only=True)
    try:
        db.execute(con, "copy (select customer_id, event_id, event_ts, stage, stage_order from classified_events) "
                        "to $path (format parquet)", {"path": str(peers_input)})
        funnel = db.query(con, "select * from funnel order by step")
        transitions = db.query(con, "select * from transitions")
    finally:
        con.close()
    peers: dict = {"input_export_s": time.perf_counter() - t0}
    log(f"[{label}] peer: pandas ...")
    pandas_args = ["-m", "benchmarks.peers_pandas", "--input", str(peers_input), "--steps", ",".join(FUNNEL_STEPS),
                   "--window-s", str(FUNNEL_WINDOW_S), "--out", str(run_dir / "pandas.json")]
    rete_ok = Path(args.rete_python).exists()
    if rete_ok:
        pandas_args.append("--windowless-check")
    pd_result = child(pandas_args, run_dir / "pandas.json", run_dir / "pandas.log", args.peer_timeout)
    if pd_result["status"] == "success":
        pd_result["differences"] = (funnel_differences(funnel, pd_result["funnel"])
                                    + transition_differences(transitions, pd_result["transitions"]))
        pd_result["agrees"] = not pd_result["differences"]
    peers["pandas"] = pd_result
    if not rete_ok:
        peers["retentioneering"] = {"status": "unavailable",
                                    "error": f"no virtualenv with retentioneering at {args.rete_python} "
                                             "(make bench creates one)"}
        return peers
    log(f"[{label}] peer: retentioneering ...")
    rete = child([str(ROOT / "benchmarks" / "peers_retentioneering.py"), "--input", str(peers_input),
                  "--steps", ",".join(FUNNEL_STEPS), "--out", str(run_dir / "rete.json")],
                 run_dir / "rete.json", run_dir / "rete.log", args.peer_timeout, python=str(args.rete_python),
                 env={"RETENTIONEERING_NO_TRACK": "1"})
    if rete["status"] == "failed" and "No module named 'retentioneering'" in rete["error"]:
        rete["status"] = "unavailable"
    if rete["status"] == "success":
        rete["differences"] = rete_transition_differences(transitions, rete["transitions"])
        if pd_result.get("funnel_windowless"):
            rete["differences"] += funnel_count_differences(pd_result["funnel_windowless"], rete["funnel"],
                                                            "retentioneering")
        rete["agrees"] = not rete["differences"]
    peers["retentioneering"] = rete
    return peers


def _summarise(record: dict) -> dict:
    """Ratios to the floor, throughput, layer sums, peer and incremental ratios."""
    floor_s = phase_seconds(record["floor"]) if record["floor"].get("status") == "success" else None
    events = record["data"]["events"]
    pipe = record["pipeline"]
    record["floor_s"] = floor_s
    for p in pipe.get("phases", []):
        _rates(p, events, floor_s)
    if pipe.get("status") != "success":
        return record
    layers: dict[str, dict] = {}
    for p in pipe["phases"]:
        name = p["extra"].get("layer") or p["extra"].get("kind", "gap")
        layer = layers.setdefault(name, {"seconds": 0.0, "peak_rss": 0})
        layer["seconds"] += p["seconds"]
        layer["peak_rss"] = max(layer["peak_rss"], p["peak_rss"])
    for layer in layers.values():
        layer["ratio_to_floor"] = layer["seconds"] / floor_s if floor_s else None
    total_s = phase_seconds(pipe)
    record["layers"] = layers
    record["total"] = {"seconds": total_s, "events_per_s": events / total_s, "peak_rss": peak(pipe),
                       "ratio_to_floor": total_s / floor_s if floor_s else None}
    peers = record.get("peers", {})
    subset = [p for p in pipe["phases"] if p["name"] in PEER_STEPS]
    if "pandas" in peers:
        peers["pipeline_steps"] = [p["name"] for p in subset]
        peers["pipeline_s"] = sum(p["seconds"] for p in subset)
        for name, timed in (("pandas", ("read", "funnel", "transitions")),
                            ("retentioneering", ("read", "eventstream", "funnel", "transition_matrix"))):
            peer = peers.get(name, {})
            if peer.get("status") == "success":
                peer["seconds"] = sum(p["seconds"] for p in peer["phases"] if p["name"] in timed)
                peer["timed_phases"] = list(timed)
                peer["pipeline_speedup"] = peer["seconds"] / peers["pipeline_s"]
                peer["peak_rss"] = peak(peer)
    inc = record.get("incremental_run")
    if inc and inc.get("status") == "success":
        inc_s = phase_seconds(inc)
        record["incremental"] = {"seconds": inc_s, "full_seconds": total_s, "ratio_to_full": inc_s / total_s,
                                 "new_events": record["data"]["next_day_events"], "peak_rss": peak(inc),
                                 "ingest_s": inc["phases"][0]["seconds"], "files_loaded": inc["files_loaded"],
                                 "files_skipped": inc["files_skipped"]}
        for p in inc["phases"]:
            _rates(p, events, floor_s)
    return record


def _rates(phase: dict, events: int, floor_s: float | None) -> None:
    seconds = max(phase["seconds"], 1e-9)
    phase["events_per_s"] = events / seconds
    phase["rows_per_s"] = phase["rows"] / seconds if phase.get("rows") is not None else None
    phase["ratio_to_floor"] = phase["seconds"] / floor_s if floor_s else None


# --------------------------------------------------------------------------- entry point


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1M,10M", help="history events per run, comma-separated (default 1M,10M)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="folder for data, warehouses and results (build/bench)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the pipeline and the floor, "
                                                         "e.g. 4GiB (default: none, DuckDB's 80%% of RAM)")
    ap.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True, help="run the pandas and "
                                                                                         "retentioneering peers")
    ap.add_argument("--peers-max", type=parse_size, default=parse_size("10M"),
                    help="largest size the peers run at (default 10M)")
    ap.add_argument("--peer-timeout", type=float, default=3600, help="seconds before a peer is stopped")
    ap.add_argument("--rete-python", default=str(DEFAULT_RETE_PYTHON),
                    help="python of a virtualenv with retentioneering (default build/bench-rete/bin/python)")
    ap.add_argument("--incremental", action=argparse.BooleanOptionalAction, default=True,
                    help="add the next day's files and run again (nightly incremental)")
    ap.add_argument("--keep", action="store_true", help="keep the warehouses and peer inputs")
    ap.add_argument("--report", metavar="RESULTS_JSON", help="only print the table of an earlier run's results.json "
                                                             "(ratios recomputed)")
    args = ap.parse_args(argv)
    args.out = str(Path(args.out).resolve())
    try:
        args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes: not a list of sizes: {args.sizes!r} (e.g. 1M,10M or 100k)")
    if args.memory_limit:
        from cjm_pipeline.db import _size
        try:
            _size(args.memory_limit)
        except ValueError:
            ap.error(f"--memory-limit: not a size: {args.memory_limit!r} (e.g. 4GiB or 512MB)")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.report:
        results = json.loads(Path(args.report).read_text())
        results["runs"] = [_summarise(r) for r in results["runs"]]
        print(format_report(results))
        return results
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
               "settings": {"sizes": args.sizes, "seed": args.seed, "memory_limit": args.memory_limit,
                            "funnel": {"mode": "ordered", "window_s": FUNNEL_WINDOW_S, "steps": FUNNEL_STEPS}},
               "runs": []}
    for n in args.sizes:
        results["runs"].append(bench_size(n, args, log=lambda m: print(m, file=sys.stderr, flush=True)))
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    report = format_report(results)
    (out / "results.txt").write_text(report)
    print(report)
    return results


if __name__ == "__main__":
    main()
