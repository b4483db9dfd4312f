"""The printed report of a benchmark run (``results.txt``): one table per size, then the floor,
the layers, the peers and the incremental run, from the dict ``benchmarks.run`` writes as JSON."""

from __future__ import annotations


def fmt_bytes(n: int | None) -> str:
    """``1536 * 2**20`` → ``'1.5 GiB'``.

    >>> fmt_bytes(1536 * 2**20), fmt_bytes(300 * 2**20), fmt_bytes(None)
    ('1.5 GiB', '300 MiB', '-')
    """
    if n is None:
        return "-"
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def fmt_num(x, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def fmt_ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def format_report(results: dict) -> str:
    m = results["machine"]
    lines = [f"cjm_pipeline {m['cjm_pipeline']} benchmark · {m['cpu']} · {m['cores']} cores · "
             f"{fmt_bytes(m['ram_bytes'])} RAM · DuckDB {m['duckdb']} · pandas {m['pandas']} · Python {m['python']}",
             f"command: {results['command']}"]
    for run in results["runs"]:
        lines += [""] + format_run(run)
    return "\n".join(lines) + "\n"


def format_run(run: dict) -> list[str]:
    data, pipe = run["data"], run["pipeline"]
    load = ", ".join(f"{x:.1f}" for x in run["load_before"])
    lines = [f"== {run['label']}: {data['events']:,} events, {data['people']:,} people "
             f"({fmt_bytes(data['bytes'])} Parquet) · memory_limit {pipe.get('memory_limit') or 'none'} · "
             f"load average before {load}"]
    floor = run["floor"]
    if run.get("floor_s"):
        lines.append(f"floor (read the Parquet, sort by customer and time, write a table): {run['floor_s']:.1f} s, "
                     f"peak RSS {fmt_bytes(floor['phases'][0]['peak_rss'])}")
    else:
        lines.append(f"floor {floor.get('status')}: {floor.get('error')}")
    if pipe.get("status") != "success":
        lines.append(f"pipeline {pipe.get('status')}: {(pipe.get('error') or '').strip().splitlines()[0]}")
        if not pipe.get("phases"):
            return lines
        lines.append("phases until it stopped:")
    else:
        lines.append(f"customers after stitching: {pipe['customers']:,}; "
                     f"warehouse {fmt_bytes(pipe['warehouse_bytes'])}")
    header = f"{'phase':<26} {'layer':<9} {'rows out':>12} {'wall s':>9} {'events/s':>12} {'peak RSS':>10} {'× floor':>8}"
    lines += [header, "-" * len(header)]
    for p in pipe["phases"]:
        if p["extra"].get("kind") == "gap" and p["seconds"] < 0.05:
            continue
        layer = p["extra"].get("layer") or p["extra"].get("kind", "")
        lines.append(f"{p['name']:<26} {layer:<9} {fmt_num(p['rows']):>12} {p['seconds']:>9.2f} "
                     f"{fmt_num(p['events_per_s']):>12} {fmt_bytes(p['peak_rss']):>10} {fmt_ratio(p['ratio_to_floor']):>8}")
    if "total" not in run:
        return lines
    total = run["total"]
    lines.append(f"{'total':<26} {'':<9} {'':>12} {total['seconds']:>9.2f} {fmt_num(total['events_per_s']):>12} "
                 f"{fmt_bytes(total['peak_rss']):>10} {fmt_ratio(total['ratio_to_floor']):>8}")
    lines.append("layers: " + " · ".join(f"{name} {v['seconds']:.1f} s ({fmt_ratio(v['ratio_to_floor'])})"
                                         for name, v in run["layers"].items()))
    lines += format_peers(run.get("peers", {}))
    inc = run.get("incremental")
    if inc:
        lines.append(f"incremental (+1 day, {inc['new_events']:,} new events, {inc['files_loaded']} new files): "
                     f"{inc['seconds']:.1f} s = {inc['ratio_to_full'] * 100:.0f} % of the full rebuild "
                     f"({inc['full_seconds']:.1f} s); its ingest {inc['ingest_s']:.1f} s")
    elif run.get("incremental_run"):
        lines.append(f"incremental {run['incremental_run']['status']}: {run['incremental_run'].get('error')}")
    return lines


def format_peers(peers: dict) -> list[str]:
    if "skipped" in peers:
        return [f"peers: skipped ({peers['skipped']})"]
    if "pipeline_s" not in peers:
        return []
    lines = [f"peers on the classified events (pipeline steps {', '.join(peers['pipeline_steps'])}: "
             f"{peers['pipeline_s']:.1f} s):"]
    for name in ("pandas", "retentioneering"):
        peer = peers.get(name, {})
        if peer.get("status") != "success":
            lines.append(f"  {name:<16} {peer.get('status')}: {peer.get('error')}")
            continue
        speed = peer["pipeline_speedup"]
        verdict = "identical numbers" if peer["agrees"] else f"{len(peer['differences'])} differences: " + \
            "; ".join(peer["differences"][:3])
        versus = f"pipeline {speed:.2f}× faster" if speed >= 1 else f"pipeline {1 / speed:.2f}× slower"
        lines.append(f"  {name:<16} {peer['seconds']:8.1f} s ({' + '.join(peer['timed_phases'])}), "
                     f"peak RSS {fmt_bytes(peer['peak_rss'])}: {versus}; {verdict}")
    return lines
