"""Nightly runs recompute only what the night touched, and publish what a full rebuild would.

Thirty nights of the sample's four real-format sources land one by one, as a nightly export job
writes them: overlapping re-exports, a deal exported again with its new status and amount, a
contact export that links earlier customers, calls of an old day that arrive late. After nights
10, 20 and 30 (and after a config change) the warehouse is copied and rebuilt whole with
``--rebuild`` on the same files; every table (named funnels too) and every output file must be
equal to the nightly one's, floats to 12 significant digits as in ``test_publishing``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from cjm_pipeline import db, incremental, pipeline
from cjm_pipeline.config import load_config
from cjm_pipeline.simulate import simulate
from test_nightly import (CLOSED, amo_page, chunks, latest_open_status, older_versions, read_json, split_lines,
                          write_json)
from test_publishing import ROOT, SOURCES, outputs, tables

NIGHTS = 30


def write_drops(full: Path, root: Path, n: int) -> list[Path]:
    """The full drop cut into ``n`` nightly drops, each overlapping the night before."""
    drops = [root / f"night{k:02d}" for k in range(1, n + 1)]
    for d in drops:
        for sub in SOURCES:
            (d / sub).mkdir(parents=True)
    split_lines(sorted((full / "metrica").glob("*.tsv")), drops, "metrica", "visits", overlap=3)
    split_lines(sorted((full / "nps").glob("*.csv")), drops, "nps", "nps", overlap=1)
    calls = [r for f in sorted((full / "calltouch").glob("*.json")) for r in read_json(f)["records"]]
    parts = chunks(calls, n, overlap=2)
    late, parts[0] = parts[0][-4:], parts[0][:-4]  # calls of the first days arrive on night 28
    parts[27] = parts[27] + late
    for d, part in zip(drops, parts):
        page = {"page": 1, "pageTotal": 1, "pageSize": 1000, "recordsTotal": len(part), "records": part}
        write_json(d / "calltouch" / f"calls_{d.name}.json", page)
    events = [e for f in sorted((full / "amocrm").glob("events_*.json")) for e in read_json(f)["_embedded"]["events"]]
    for d, part in zip(drops, chunks(events, n, overlap=2)):
        write_json(d / "amocrm" / f"events_{d.name}.json", amo_page("events", part))
    shutil.copy(full / "amocrm" / "pipelines.json", drops[0] / "amocrm" / "pipelines.json")
    contacts = read_json(full / "amocrm" / "contacts.json")["_embedded"]["contacts"]
    write_json(drops[8] / "amocrm" / "contacts_a.json", amo_page("contacts", contacts[: len(contacts) // 2]))
    write_json(drops[18] / "amocrm" / "contacts_b.json", amo_page("contacts", contacts))
    leads = read_json(full / "amocrm" / "leads.json")["_embedded"]["leads"]
    write_json(drops[4] / "amocrm" / "leads_a.json", amo_page("leads", older_versions(leads, latest_open_status(full))))
    write_json(drops[24] / "amocrm" / "leads_b.json", amo_page("leads", leads))
    return drops


def project(folder: Path, landing: Path, *, blocklist: list[str] | None = None) -> Path:
    """The sample's config reading ``landing``, with a named funnel, its warehouse and outputs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((ROOT / "configs" / "sample_multi.yaml").read_text(encoding="utf-8"))
    cfg.update(base_dir=str(folder), warehouse=str(folder / "wh" / "cjm.duckdb"), output={"dir": str(folder / "out")},
               funnels=[{"name": "sales", "from_stage": "question", "window": "30d"}])
    if blocklist is not None:
        cfg["identity"]["blocklist"]["phone"] = blocklist
    for src in cfg["sources"]:
        src["path"] = str(landing / src["name"])
    path = folder / "cjm.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def rebuilt_copy(config: Path, folder: Path) -> Path:
    """The project copied to ``folder`` (same landing files, same config) and rebuilt whole there."""
    copy = folder / "cjm.yaml"
    folder.mkdir(parents=True)
    copy.write_text(config.read_text(encoding="utf-8").replace(str(config.parent), str(folder)), encoding="utf-8")
    (folder / "wh").mkdir()
    shutil.copy(load_config(config).warehouse_path, load_config(copy).warehouse_path)
    result = pipeline.run(load_config(copy), rebuild=True)
    assert result.build == "full: asked for (--rebuild)"
    assert not any(f.status == "loaded" for f in result.loads)
    return copy


#: A decimal number as the CSV exports write it (a decimal point: the project is not in the Excel dialect).
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?(?![\w.])")


def files(config: Path) -> dict[str, str]:
    """The published output files (``test_publishing.outputs``), decimals to 12 significant digits: a
    parallel sum of doubles differs in its last bits with the order of the rows it adds."""
    return {name: DECIMAL.sub(lambda m: f"{float(m.group()):.12g}", text) if name.endswith(".csv") else text
            for name, text in outputs(config).items()}


def assert_same(nightly: Path, rebuilt: Path) -> None:
    mine, theirs = tables(nightly), tables(rebuilt)
    assert sorted(mine) == sorted(theirs)
    different = [name for name in theirs if mine[name] != theirs[name]]
    assert not different, f"tables differ from a full rebuild: {different}"
    mine, theirs = files(nightly), files(rebuilt)
    assert sorted(mine) == sorted(theirs)
    assert not [name for name in theirs if mine[name] != theirs[name]]


@pytest.fixture(scope="module")
def drops(tmp_path_factory) -> list[Path]:
    full = tmp_path_factory.mktemp("full")
    simulate("classic", 300, 150, 11, full)
    return write_drops(full, tmp_path_factory.mktemp("drops"), NIGHTS)


@pytest.mark.slow
def test_thirty_nights_one_by_one_publish_what_a_full_rebuild_does(drops, tmp_path):
    landing = tmp_path / "landing"
    for sub in SOURCES:
        (landing / sub).mkdir(parents=True)
    config = project(tmp_path / "nightly", landing)
    builds = []
    for night, drop in enumerate(drops, start=1):
        for f in drop.rglob("*.*"):
            shutil.copy(f, landing / f.parent.name / f.name)
        result = pipeline.run(load_config(config))
        builds.append(result.build)
        if night in (10, 20, NIGHTS):
            assert_same(config, rebuilt_copy(config, tmp_path / f"rebuilt{night}"))
    assert builds[0] == "full: no complete build to continue"
    published = tables(config)
    assert "funnel_sales.funnel" in published and len(published["main.journeys"]) > 100
    incremental_nights = [b for b in builds if b.startswith("incremental: ")]
    assert len(incremental_nights) >= NIGHTS - 3, builds
    # a night recomputes a fraction of the customers
    con = db.connect(load_config(config).warehouse_path, read_only=True)
    try:
        customers = db.scalar(con, "select count(*) from journeys")
        merges = db.scalar(con, "select count(*) from identity_merges")
        versions = db.scalar(con, "select count(*) from events where event_type = 'lead_created' "
                                  "and properties['status_id'] in $closed", {"closed": [str(c) for c in CLOSED]})
    finally:
        con.close()
    touched = [int(b.split()[1]) for b in incremental_nights]
    assert max(touched) < customers / 2 and min(touched) > 0
    assert merges > 0 and versions > 0  # the nights did link customers and replace deals' versions

    # a config change rebuilds everything by itself, and says why; the night after continues it
    changed = project(tmp_path / "nightly", landing, blocklist=["+74951500000"])
    assert pipeline.run(load_config(changed)).build == "full: the config changed since the last build"
    assert pipeline.run(load_config(changed)).build.startswith("incremental: ")
    assert_same(changed, rebuilt_copy(changed, tmp_path / "rebuilt-config"))


def test_a_partial_run_or_another_engine_rebuilds_every_step(tmp_path):
    landing = ROOT / "data" / "sample" / "multi"
    config = project(tmp_path / "p", landing)
    cfg = load_config(config)
    assert pipeline.run(cfg, until="classified_events", export_outputs=False).build == \
        "full: --until builds only some steps"
    assert pipeline.run(cfg, export_outputs=False).build == "full: no complete build to continue"
    assert pipeline.run(cfg, export_outputs=False).build == "incremental: 0 customers recomputed"
    con = db.connect(cfg.warehouse_path)
    try:
        steps = pipeline.STEPS[:3]
        assert incremental.plan(con, cfg, "x", steps).reason == "--until builds only some steps"
        assert incremental.plan(con, cfg, "x", pipeline.STEPS, rebuild=True).reason == "asked for (--rebuild)"
        spark = replace(cfg, engine="spark")
        assert "spark engine rebuilds every step" in incremental.plan(con, spark, "x", pipeline.STEPS).reason
        assert incremental.plan(con, cfg, "x", pipeline.STEPS).incremental
        assert not db.table_exists(con, incremental.SCOPE)  # nothing of the scope is published
        assert incremental.SCOPE not in db.schemas(con)
    finally:
        con.close()
    assert pipeline.run(cfg, until="events", export_outputs=False).build.startswith("full: --until")
    assert pipeline.run(cfg, export_outputs=False).build == "full: no complete build to continue"


#: The stages of the small projects: a page view, a call, a purchase.
TINY_STAGES = (("view", "page_view"), ("call", "call"), ("purchase", "purchase"))


def tiny_project(tmp_path: Path, stages=TINY_STAGES, **sections) -> Path:
    """A generic-events project in ``tmp_path/p`` reading ``tmp_path/in``; ``stages`` as (stage, event type)."""
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "p").mkdir(exist_ok=True)
    config = tmp_path / "p" / "cjm.yaml"
    config.write_text(yaml.safe_dump({
        "warehouse": str(tmp_path / "p" / "wh" / "cjm.duckdb"), "timezone": "UTC",
        "output": {"dir": str(tmp_path / "p" / "out")},
        "sources": [{"name": "crm", "format": "generic_events", "path": str(tmp_path / "in")}],
        "stages": [{"name": name, "rules": [{"event_type": event_type}]} for name, event_type in stages],
        **sections,
    }), encoding="utf-8")
    return config


def night(tmp_path: Path, name: str, rows: list[str],
          header: str = "event_id,event_time,event_type,client_id,crm_contact_id,phone") -> None:
    (tmp_path / "in" / f"{name}.csv").write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")


def test_the_semantics_example_a_night_that_links_two_customers(tmp_path):
    """docs/semantics.md, "Nightly runs": night 2's link merges A's and B's customers in the scope."""
    config = tiny_project(tmp_path, stages=(("view", "page_view"), ("purchase", "purchase")))
    header = "event_id,event_time,event_type,client_id,email"
    night(tmp_path, "night1", ["e1,2025-03-01 10:00:00,page_view,A,", "e2,2025-03-01 12:00:00,purchase,B,"], header)
    first = pipeline.run(load_config(config))
    assert first.build == "full: no complete build to continue"
    night(tmp_path, "night2", ["e3,2025-03-02 09:00:00,crm_note,A,x@y.ru", "e4,2025-03-02 09:05:00,crm_note,B,x@y.ru"],
          header)
    second = pipeline.run(load_config(config))
    assert second.build == "incremental: 2 customers recomputed"  # A's and B's
    con = db.connect(load_config(config).warehouse_path, read_only=True)
    try:
        ids = db.execute(con, "select distinct customer_id from customer_events")
        funnel = db.execute(con, "select step, customers from funnel order by step")
        merged = db.execute(con, "select customer_id, merged_ids from identity_merges")
    finally:
        con.close()
    a = hashlib.md5(b"client_id:A").hexdigest()
    assert ids == [(a,)] and funnel == [(1, 1), (2, 1)]
    assert merged == [(a, [hashlib.md5(b"client_id:B").hexdigest()])]
    assert_same(config, rebuilt_copy(config, tmp_path / "rebuilt"))


def test_a_phone_that_becomes_a_hub_rebuilds_the_identity_steps_on(tmp_path):
    """A phone on a fourth CRM contact is a hub from then on (identity.max_contacts_per_identifier: 3):
    it stops linking the earlier events that carried it, so the run rebuilds everything from there."""
    config = tiny_project(tmp_path)
    night(tmp_path, "n1", [f"e{i},2025-03-0{i} 10:00:00,{t},c{i},{i},+7 916 000-00-01"
                           for i, t in ((1, "page_view"), (2, "call"), (3, "purchase"))])
    pipeline.run(load_config(config))
    night(tmp_path, "n2", ["e4,2025-03-05 10:00:00,call,c4,4,+7 916 000-00-01"])
    result = pipeline.run(load_config(config))
    assert result.build == "incremental up to the identity steps, then every step rebuilt"
    con = db.connect(load_config(config).warehouse_path, read_only=True)
    try:
        assert db.scalar(con, "select count(*) from identity_hubs") == 1
        assert db.scalar(con, "select count(distinct customer_id) from customer_events") == 4
    finally:
        con.close()
    night(tmp_path, "n3", ["e5,2025-03-06 10:00:00,purchase,c4,4,"])
    assert pipeline.run(load_config(config)).build == "incremental: 1 customers recomputed"
    assert_same(config, rebuilt_copy(config, tmp_path / "rebuilt"))


@pytest.mark.parametrize("unit", ["session", "deal"])
def test_a_funnel_of_sessions_or_deals_is_rebuilt_whole_and_the_rest_by_customer(tmp_path, unit):
    config = tiny_project(tmp_path, funnel={"unit": unit, "window": "7d"})
    night(tmp_path, "n1", ["e1,2025-03-01 10:00:00,page_view,a,,", "e2,2025-03-01 10:10:00,call,a,,",
                           "e3,2025-03-02 11:00:00,page_view,b,,"])
    pipeline.run(load_config(config))
    night(tmp_path, "n2", ["e4,2025-03-02 11:05:00,call,b,7,", "e5,2025-03-09 12:00:00,purchase,,7,"])
    # b's (joined by contact 7), and a's: its window (7 days from 03-01) ends between the cutoffs
    assert pipeline.run(load_config(config)).build == "incremental: 2 customers recomputed"
    assert_same(config, rebuilt_copy(config, tmp_path / "rebuilt"))
