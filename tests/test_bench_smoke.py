"""The benchmark harness at 100k events (``make bench-smoke``), so it never rots: it runs, writes its
table and JSON, and the pandas peer gives exactly the pipeline's funnel and transition numbers.
Speed is never asserted: the figures depend on the machine."""

import doctest
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import compare, data, peers_pandas, phases, run, table  # noqa: E402
from cjm_pipeline import db, pipeline  # noqa: E402

STEPS = ["awareness", "interest", "question", "purchase", "advocacy", "repeat_purchase"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One harness run at 100k events (retentioneering pointed at a virtualenv that is not there)."""
    out = tmp_path_factory.mktemp("bench")
    results = run.main(["--sizes", "100k", "--out", str(out), "--keep", "--rete-python", str(out / "none" / "python")])
    return out, results


@pytest.mark.slow
def test_harness_writes_table_and_json(smoke):
    out, results = smoke
    saved = json.loads((out / "results.json").read_text())
    assert [r["size"] for r in saved["runs"]] == [100_000]
    r = saved["runs"][0]
    assert r["pipeline"]["status"] == "success" and r["floor"]["status"] == "success"
    assert r["data"]["events"] >= 100_000 and r["data"]["next_day_events"] > 0
    timed = r["pipeline"]["phases"]
    names = [p["name"] for p in timed]
    # the ingest, every step in the pipeline's order, the export
    assert names[0] == "ingest" and names[-1] == "export"
    assert [n for n in names if n in pipeline.STEP_NAMES] == list(pipeline.STEP_NAMES)
    rows = {p["name"]: p["rows"] for p in timed}
    assert rows["ingest"] == rows["events"] == r["data"]["events"]
    # every figure measured, and every ratio computed from the measurements of this run
    floor_s, events = r["floor_s"], r["data"]["events"]
    assert floor_s > 0
    for p in timed:
        gap = p["extra"].get("kind") == "gap"  # (between steps: may round to nothing)
        assert (p["seconds"] >= 0 if gap else p["seconds"] > 0) and p["peak_rss"] > 0, p
        assert p["ratio_to_floor"] == pytest.approx(p["seconds"] / floor_s), p
        assert p["events_per_s"] == pytest.approx(events / max(p["seconds"], 1e-9)), p
    total = r["total"]
    assert total["seconds"] == pytest.approx(sum(p["seconds"] for p in timed))
    assert total["ratio_to_floor"] == pytest.approx(total["seconds"] / floor_s) and total["peak_rss"] > 0
    assert {"ingest", "staging", "events", "identity", "stages", "journey", "funnel", "outputs", "export"} <= set(r["layers"])
    assert sum(v["seconds"] for v in r["layers"].values()) == pytest.approx(total["seconds"])
    for layer in r["layers"].values():
        assert layer["ratio_to_floor"] == pytest.approx(layer["seconds"] / floor_s)
    pandas = r["peers"]["pandas"]
    assert pandas["seconds"] > 0 and pandas["pipeline_speedup"] == pytest.approx(pandas["seconds"] / r["peers"]["pipeline_s"])
    inc = r["incremental"]
    assert inc["seconds"] > 0 and inc["ratio_to_full"] == pytest.approx(inc["seconds"] / total["seconds"])

    # the printed table: the columns, a line per phase with its layer, rows, seconds and ratio to the
    # floor, the total, the layer sums, the peers and the incremental run
    text = (out / "results.txt").read_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("phase "))
    assert all(column in header for column in ("layer", "rows out", "wall s", "events/s", "peak RSS", "× floor"))
    for p in timed:
        if p["extra"].get("kind") == "gap":
            continue
        layer = p["extra"].get("layer") or p["extra"]["kind"]
        start = f"{p['name']:<26} {layer:<9} {table.fmt_num(p['rows']):>12} {p['seconds']:>9.2f} "
        line = next((line for line in lines if line.startswith(start)), None)
        assert line and line.endswith(table.fmt_ratio(p["ratio_to_floor"])), (start, line)
    assert any(line.startswith("total ") and line.endswith(table.fmt_ratio(total["ratio_to_floor"])) for line in lines)
    assert "floor (read the Parquet" in text and "\nlayers: ingest " in text
    assert f"pipeline steps {', '.join(phases.PEER_STEPS)}:" in text and "identical numbers" in text
    assert f"incremental (+1 day, {inc['new_events']:,} new events, {inc['files_loaded']} new files)" in text


@pytest.mark.slow
def test_incremental_run_loads_only_the_new_day(smoke):
    _, results = smoke
    r = results["runs"][0]
    inc = r["incremental"]
    assert inc["files_loaded"] == len(data.SOURCES)
    assert inc["files_skipped"] == r["pipeline"]["files_loaded"]
    assert inc["new_events"] == r["data"]["next_day_events"]
    assert r["incremental_run"]["rows_loaded"] == r["data"]["events"] + r["data"]["next_day_events"]


@pytest.mark.slow
def test_pandas_peer_agrees_with_the_pipeline(smoke):
    _, results = smoke
    peers = results["runs"][0]["peers"]
    assert peers["pandas"]["status"] == "success"
    assert peers["pandas"]["differences"] == []
    assert peers["pandas"]["agrees"] is True
    assert peers["retentioneering"]["status"] == "unavailable"
    assert "none/python" in peers["retentioneering"]["error"]


@pytest.mark.slow
def test_pandas_peer_matches_the_warehouse_tables(smoke):
    """Independently of the harness: the peer on the kept warehouse's classified_events
    (after the incremental run) against that warehouse's funnel and transitions."""
    out, _ = smoke
    con = db.connect(out / "run-100k" / "warehouse.duckdb", read_only=True)
    try:
        events = db.query(con, "select customer_id, event_id, event_ts, stage, stage_order from classified_events")
        funnel = db.query(con, "select * from funnel order by step")
        transitions = db.query(con, "select * from transitions")
    finally:
        con.close()
    peer_funnel = peers_pandas.ordered_funnel(events, STEPS, 90 * 86_400)
    peer_matrix = peers_pandas.transition_matrix(events)
    assert funnel["customers"].iloc[-1] > 0
    assert compare.funnel_differences(funnel, peer_funnel.to_dict("records")) == []
    assert compare.transition_differences(transitions, peer_matrix.to_dict("records")) == []
    # the comparison can fail: one customer more at the last step is reported
    bumped = peer_funnel.assign(customers=peer_funnel["customers"] + (peer_funnel["step"] == 5))
    assert compare.funnel_differences(funnel, bumped.to_dict("records")) != []


def test_pandas_funnel_reanchors_and_respects_the_window():
    """A step-1 event more than 90 days before step 2 does not count; a later one re-anchors."""
    t0 = pd.Timestamp("2025-01-01")
    rows = [("c", "e1", t0, "awareness", 1), ("c", "e2", t0 + pd.Timedelta(days=100), "awareness", 1),
            ("c", "e3", t0 + pd.Timedelta(days=101), "interest", 2), ("d", "e4", t0, "awareness", 1),
            ("d", "e5", t0 + pd.Timedelta(days=91), "interest", 2)]
    events = pd.DataFrame(rows, columns=peers_pandas.COLUMNS)
    funnel = peers_pandas.ordered_funnel(events, ["awareness", "interest"], 90 * 86_400)
    assert funnel["customers"].tolist() == [2, 1]
    assert funnel.loc[0, "ttc_median_s"] == 86_400.0
    assert funnel["reached_any_order"].tolist() == [2, 2]


def _seconds(path):
    table = pq.read_table(path)
    return table, table.column("event_time").cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()


def test_world_is_deterministic_and_split_at_the_next_day(tmp_path):
    a = data.make_world(20_000, tmp_path / "a", seed=5)
    b = data.make_world(20_000, tmp_path / "b", seed=5)
    c = data.make_world(20_000, tmp_path / "c", seed=6)
    assert a.events == b.events >= 20_000 and a.next_day_events > 0
    assert len(a.history_files()) == len(data.SOURCES)
    for path in a.history_files():
        twin = b.root / path.relative_to(a.root)
        assert pd.read_parquet(path).equals(pd.read_parquet(twin))
    assert not pd.read_parquet(a.history_files()[0]).equals(pd.read_parquet(c.history_files()[0]))
    next_day = data.epoch(data.START) + data.HISTORY_DAYS * data.DAY
    ids = set()
    for source in data.SOURCES:
        history, h_sec = _seconds(a.history_dir(source) / "events.parquet")
        later, l_sec = _seconds(a.next_day_dir(source) / "events.parquet")
        assert h_sec.min() >= data.epoch(data.START) and h_sec.max() < next_day
        assert ((l_sec >= next_day) & (l_sec < next_day + data.DAY)).all()  # may be empty at this size
        ids |= {f"{source}:{i}" for i in history.column("event_id").to_pylist()}
        ids |= {f"{source}:{i}" for i in later.column("event_id").to_pylist()}
    assert len(ids) == a.events + a.next_day_events  # no id repeats across the history and the new day


def test_world_is_reused_only_when_it_is_the_same(tmp_path):
    world = data.make_world(5_000, tmp_path / "w", seed=1)
    stamp = world.history_files()[0].stat().st_mtime_ns
    assert data.make_world(5_000, tmp_path / "w", seed=1) == world
    assert world.history_files()[0].stat().st_mtime_ns == stamp
    other = data.make_world(6_000, tmp_path / "w", seed=1)
    assert other.events >= 6_000 and other.history_files()[0].stat().st_mtime_ns != stamp


def test_bench_config_classifies_like_the_worlds_own_config(tmp_path):
    """The harness's rules (by event type) are the scale mode's cjm.yaml rules (by source and type)."""
    world = data.make_world(5_000, tmp_path / "w", seed=2)
    own = yaml.safe_load((world.root / "cjm.yaml").read_text(encoding="utf-8"))
    bench = yaml.safe_load(phases.write_config(world, tmp_path / "run", memory_limit=None).read_text(encoding="utf-8"))
    assert [s["name"] for s in bench["stages"]] == [s["name"] for s in own["stages"]] == STEPS
    for mine, theirs in zip(bench["stages"], own["stages"]):
        assert sorted(mine["rules"][0]["event_type"]) == sorted(t for r in theirs["rules"] for t in r["event_type"])
    with pytest.raises(ValueError, match="'visit' belongs to stages 'a' and 'b'"):
        data.stage_rules({"stages": [{"name": "a", "rules": [{"source": "web", "event_type": ["visit"]}]},
                                     {"name": "b", "rules": [{"source": "crm", "event_type": ["visit"]}]}]})


def test_benchmark_doctests():
    """benchmarks/ is outside pytest's doctest collection (testpaths): its examples are run here."""
    for module in (data, run, table):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)


@pytest.mark.slow
def test_report_of_a_failed_run_keeps_the_phases_until_it_stopped(smoke):
    """A run that stops (out of memory at a limit) is reported with the phases it finished."""
    _, results = smoke
    record = json.loads(json.dumps(results["runs"][0]))
    for key in ("total", "layers", "incremental", "incremental_run", "peers"):
        record.pop(key, None)
    pipe = record["pipeline"]
    pipe["phases"] = pipe["phases"][:8]
    pipe.update(status="failed", error="event_identifiers: Out of Memory Error: could not allocate block\nmore")
    text = table.format_report(dict(results, runs=[run._summarise(record)]))
    assert "pipeline failed: event_identifiers: Out of Memory Error: could not allocate block" in text
    assert "phases until it stopped:" in text and "\nstg_events " in text and "\ntotal " not in text


def test_relative_out_folder_is_made_absolute(tmp_path, monkeypatch):
    """Configs live in <out>/run-<size>/ and name the data folder: a relative --out must not leak into them."""
    monkeypatch.chdir(tmp_path)
    args = run.parse_args(["--out", "rel/bench", "--sizes", "100k,1M"])
    assert args.out == str(tmp_path / "rel" / "bench") and args.sizes == [100_000, 1_000_000]
    assert data.make_world(2_000, "rel/world").root == tmp_path / "rel" / "world"
