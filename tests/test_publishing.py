"""A nightly run publishes all at once or not at all, and readers never block it (cjm_pipeline.publish).

* Killed (SIGKILL) before every step, after an exported file, before and after the warehouse
  switch: the published warehouse file and the published output files stay byte for byte those
  of the previous run; the attempt is recorded (``killed``) by the next run, which gives the
  same tables, files and identity merges as an uninterrupted night.
* A read-only connection held open in another process through a whole run: the run succeeds,
  the reader keeps reading the previous run whole, a new reader reads the new one.
* A second run while one holds the warehouse fails at once, naming the first; a failed run is
  recorded with its error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import cjm_pipeline as cjm
from cjm_pipeline import db, pipeline, publish
from cjm_pipeline.config import load_config
from cjm_pipeline.errors import CjmError
from cjm_pipeline.steps import STEPS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KILLER = ROOT / "tests" / "killer.py"
SOURCES = ("metrica", "calltouch", "amocrm", "nps")


@pytest.fixture(scope="module")
def world() -> Path:
    """The multi-source sample: four months of four sources; its March and April merge customers of
    January and February (a record linking two of them)."""
    return ROOT / "data" / "sample" / "multi"


def make_project(folder: Path, world: Path, months: tuple[str, ...]) -> Path:
    """The multi-source sample's config, reading the world's files of ``months`` (copied), with the
    Excel dialect (UTF-8 with BOM) and a named funnel, so every kind of output file is written."""
    data = folder / "data"
    for source in SOURCES:
        (data / source).mkdir(parents=True, exist_ok=True)
        for f in (world / source).iterdir():
            if not any(c.isdigit() for c in f.stem) or any(m in f.stem for m in months):
                shutil.copy(f, data / source / f.name)
    cfg = yaml.safe_load((ROOT / "configs" / "sample_multi.yaml").read_text(encoding="utf-8"))
    cfg.update(base_dir=str(folder), warehouse=str(folder / "wh" / "cjm.duckdb"),
               output={"dir": str(folder / "out"), "excel": True},
               funnels=[{"name": "sales", "from_stage": "question", "window": "30d"}])
    for src in cfg["sources"]:
        src["path"] = str(data / src["name"])
    path = folder / "cjm.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def add_months(folder: Path, world: Path, months: tuple[str, ...]) -> None:
    for source in SOURCES:
        for f in (world / source).iterdir():
            if any(m in f.stem for m in months):
                shutil.copy(f, folder / "data" / source / f.name)


def published_state(config: Path) -> dict[str, str]:
    """sha256 of the published warehouse file and of every published output file (through the links)."""
    cfg = load_config(config)
    state = {"warehouse": hashlib.sha256(cfg.warehouse_path.read_bytes()).hexdigest()}
    out = cfg.output_dir
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if rel.parts[0] == "runs" or p.is_dir():
            continue
        state[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


def sidecar_runs(config: Path) -> set[str]:
    out = load_config(config).output_dir
    return {json.loads(p.read_text(encoding="utf-8"))["run_id"] for p in out.rglob("*.meta.json")
            if "runs" not in p.relative_to(out).parts}


def killed_run(config: Path, point: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(KILLER), str(config), point], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


#: Columns that differ between two runs of the same data (ids and times of the run).
VOLATILE = {"run_id", "merged_at", "first_run", "first_seen_at", "written_at", "_load_id", "path",
            "latest"}  # cfg_time_range.latest: the run's clock plus times.ahead


def _cell(value) -> str:
    """A cell as text; a float to 12 significant digits: a parallel sum of doubles may differ from run
    to run in its last bits (the order the threads add in), which no output shows."""
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def tables(config: Path) -> dict[str, list]:
    """Every table of the published warehouse (main schema and named funnels), volatile columns left
    out and the project's folder written as <project>."""
    con = db.connect(load_config(config).warehouse_path, read_only=True)
    folder = str(config.parent)
    try:
        out = {}
        for schema, name in db.execute(con, "select schema_name, table_name from duckdb_tables() "
                                            "where not starts_with(table_name, '_cjm_') order by all"):
            if name == "identity_run_merges":  # the merges of the last run alone (identity_merges: all of them)
                continue
            cols = [c for c in db.query(con, f"select * from {schema}.{name} limit 0").columns if c not in VOLATILE]
            rows = db.execute(con, "select " + ", ".join(db.quote_ident(c) for c in cols)
                              + f" from {schema}.{name} order by all")
            out[f"{schema}.{name}"] = [tuple(_cell(v).replace(folder, "<project>") for v in r) for r in rows]
        return out
    finally:
        con.close()


#: A decimal number as the CSV exports write it (decimal comma).
DECIMAL = re.compile(r"(?<![\w.,])-?\d+,\d+(?:e[-+]?\d+)?(?![\w,])")


def outputs(config: Path) -> dict[str, str]:
    """The published output files, run ids left out of the sidecars."""
    out = load_config(config).output_dir
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if rel.parts[0] in ("runs", "latest") or p.is_dir():
            continue
        text = p.read_text(encoding="utf-8-sig").replace(str(config.parent), "<project>")
        if p.suffix == ".csv":  # decimals to 12 significant digits, as _cell does for the tables
            text = DECIMAL.sub(lambda m: f"{float(m.group().replace(',', '.')):.12g}", text)
        if p.name.endswith(".meta.json"):
            meta = json.loads(text)
            for key in ("run_id", "config_sha256"):
                meta.pop(key)
            text = json.dumps(meta, sort_keys=True)
        files[str(rel)] = text
    return files


KILL_POINTS = ([f"step:{i}" for i in range(1, len(STEPS) + 1)]
               + ["export:1", "export:2", "export:15", "publish:before", "publish:outputs"])


def test_a_killed_run_leaves_the_previous_run_whole_and_the_next_run_finishes_the_night(world, tmp_path):
    # the reference: two nights, uninterrupted
    ref = make_project(tmp_path / "ref", world, ("2025-01", "2025-02"))
    pipeline.run(load_config(ref))
    add_months(tmp_path / "ref", world, ("2025-03", "2025-04"))
    pipeline.run(load_config(ref))

    # the same two nights, the second killed at every point first
    proj = make_project(tmp_path / "proj", world, ("2025-01", "2025-02"))
    pipeline.run(load_config(proj))
    before = published_state(proj)
    night_one = sidecar_runs(proj)
    assert len(night_one) == 1
    add_months(tmp_path / "proj", world, ("2025-03", "2025-04"))
    for point in KILL_POINTS:
        done = killed_run(proj, point)
        assert done.returncode == -9, f"{point}: the run was not killed:\n{done.stdout}\n{done.stderr}"
        if point == "publish:outputs":  # killed between the two switches: the warehouse is the new one
            assert published_state(proj)["warehouse"] != before["warehouse"]
            assert sidecar_runs(proj) == night_one  # and the files still the previous run's, whole
            break
        assert published_state(proj) == before, f"killed at {point}: the published state changed"
        assert sidecar_runs(proj) == night_one, f"killed at {point}: outputs of two runs"

    result = pipeline.run(load_config(proj))
    assert any("stopped after publishing its warehouse" in w for w in result.warnings)
    runs = cjm.open(load_config(proj)).runs()
    assert (runs["status"] == "killed").sum() == len(KILL_POINTS) - 1
    assert (runs["status"] == "success").sum() == 3  # night one, the run killed after publishing, this one
    got, want = tables(proj), tables(ref)
    assert [t for t in want if got.get(t) != want[t]] == []
    assert outputs(proj) == outputs(ref)
    assert sidecar_runs(proj) == {result.run_id}
    merges = db.connect(load_config(proj).warehouse_path, read_only=True)
    try:
        assert db.scalar(merges, "select count(*) from identity_merges") > 0  # the night really merges customers
    finally:
        merges.close()
    # only the published run folders are kept
    assert len(list((load_config(proj).output_dir / "runs").iterdir())) <= publish.KEEP_RUNS


def test_a_reader_holding_the_warehouse_open_never_blocks_a_run(world, tmp_path):
    config = make_project(tmp_path, world, ("2025-01", "2025-02"))
    pipeline.run(load_config(config))
    warehouse = load_config(config).warehouse_path
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, duckdb
        con = duckdb.connect({str(warehouse)!r}, read_only=True)
        print(con.execute("select count(*) from _cjm_runs").fetchall()[0][0], flush=True)
        sys.stdin.readline()   # held open until the test has run the pipeline
        print(con.execute("select count(*) from _cjm_runs").fetchall()[0][0], flush=True)
        print(con.execute("select count(*) from events").fetchall()[0][0], flush=True)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"
        events_before = cjm.open(warehouse).sql("select count(*) n from events")["n"][0]
        add_months(tmp_path, world, ("2025-03",))
        result = pipeline.run(load_config(config))  # a run while the reader is open
        assert result.status == "success"
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    runs_seen, events_seen = map(int, out.split())
    assert (runs_seen, events_seen) == (1, events_before)  # the reader kept the previous run, whole
    wh = cjm.open(warehouse)
    assert len(wh.runs()) == 2 and wh.sql("select count(*) n from events")["n"][0] > events_before


def test_a_second_run_fails_at_once_naming_the_first(world, tmp_path):
    config = make_project(tmp_path, world, ("2025-01",))
    cfg = load_config(config)
    with publish.RunLock(cfg.warehouse_path, "someone-else"):
        started = time.monotonic()
        with pytest.raises(CjmError, match="another `cjm run` is working on this warehouse.*someone-else"):
            pipeline.run(cfg)
        assert time.monotonic() - started < 5
        assert publish.RunLock.held(cfg.warehouse_path)
    assert not publish.RunLock.held(cfg.warehouse_path)


def test_a_failed_run_is_recorded_with_its_error_and_publishes_nothing(world, tmp_path):
    config = make_project(tmp_path, world, ("2025-01",))
    pipeline.run(load_config(config))
    before = published_state(config)
    broken = tmp_path / "data" / "metrica" / "visits_2025-09.tsv"
    broken.write_text("not a Metrica export\n", encoding="utf-8")
    with pytest.raises(CjmError):
        pipeline.run(load_config(config))
    assert published_state(config) == before
    runs = cjm.open(load_config(config)).runs()
    assert list(runs["status"]) == ["failed", "success"]
    assert "visits_2025-09.tsv" in runs["error"].iloc[0]
    assert not any(p.name.endswith(".next") for p in load_config(config).warehouse_path.parent.iterdir())
    broken.unlink()
    pipeline.run(load_config(config))  # the failed attempt is carried into the published _cjm_runs
    con = db.connect(load_config(config).warehouse_path, read_only=True)
    try:
        assert [r[0] for r in db.execute(con, "select status from _cjm_runs order by started_at")] == [
            "success", "failed", "success"]
    finally:
        con.close()


def test_outputs_are_links_into_the_latest_run_folder(world, tmp_path):
    config = make_project(tmp_path, world, ("2025-01",))
    first = pipeline.run(load_config(config))
    out = load_config(config).output_dir
    assert os.readlink(out / "latest") == os.path.join("runs", first.run_id)
    assert os.readlink(out / "funnel.csv") == os.path.join("latest", "funnel.csv")
    assert (out / "funnels" / "sales" / "funnel.csv").is_file()
    assert (out / "funnel.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # excel: the BOM is in the published file
    second = pipeline.run(load_config(config))
    assert os.readlink(out / "latest") == os.path.join("runs", second.run_id)
    assert json.loads((out / "funnel.meta.json").read_text(encoding="utf-8"))["run_id"] == second.run_id
