"""Incremental, idempotent loading of real-format exports, on worlds written by ``cjm simulate``.

* Loading the same folder twice changes nothing.
* Three nightly drops (overlapping re-exports of Metrica visits, Calltouch calls, amoCRM
  events and NPS answers; an older version of the closed amoCRM leads first) give the same
  ``events``, ``funnel`` and ``transitions`` as one full drop: the same events, the same
  content, the latest version of each changed record.
* The multi-source sample is the simulator's: ``data/sample/multi/`` is exactly what the
  command in ``configs/sample_multi.yaml`` writes, and that config is the template
  ``classic`` pointed at it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import load_config
from cjm_pipeline.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = ROOT / "configs" / "sample_multi.yaml"
SAMPLE_DATA = ROOT / "data" / "sample" / "multi"
TEMPLATE = ROOT / "configs" / "templates" / "classic.yaml"

#: Columns that say where a row came from (file, load), not what it is.
PROVENANCE = ["_load_id", "_file", "_row"]
#: amoCRM's closed statuses (won, lost): the same ids in every pipeline.
CLOSED = {142, 143}


@pytest.fixture(scope="module")
def full_drop(tmp_path_factory) -> Path:
    """A small world of the sample's template: every export as one full drop."""
    out = tmp_path_factory.mktemp("full")
    simulate("classic", 200, 120, 7, out)
    return out


def config_for(folder: Path, data: Path) -> Path:
    """configs/sample_multi.yaml with its warehouse and outputs in ``folder``, reading ``data/<source>/``."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    cfg["base_dir"] = str(folder)
    cfg["warehouse"] = str(folder / "cjm.duckdb")
    cfg["output"] = {"dir": str(folder / "out")}
    for src in cfg["sources"]:
        src["path"] = str(data / Path(src["path"]).name)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def run(config: Path):
    return pipeline.run(load_config(config), export_outputs=False)


def table(config: Path, name: str, order_by: list[str]) -> pd.DataFrame:
    cfg = load_config(config)
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        frame = db.read_table(con, name, order_by=order_by)
    finally:
        con.close()
    frame = frame.drop(columns=[c for c in PROVENANCE if c in frame.columns])
    for col in frame.columns:  # maps and lists compare as text
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: json.dumps(v, sort_keys=True, default=str)
                                        if isinstance(v, (dict, list)) else v)
    return frame.reset_index(drop=True)


def chunks(items: list, n: int, overlap: int) -> list[list]:
    """``items`` in ``n`` consecutive chunks, each repeating the last ``overlap`` items of the previous one."""
    size = -(-len(items) // n)
    return [items[max(0, i * size - overlap):(i + 1) * size] for i in range(n)]


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def amo_page(kind: str, items: list) -> dict:
    """One amoCRM API v4 page of ``kind`` (leads, contacts, events)."""
    return {"_page": 1, "_embedded": {kind: items}}


def split_lines(files: list[Path], drops: list[Path], sub: str, name: str, overlap: int) -> None:
    """Text exports with a header row (Metrica TSV, NPS CSV): the data lines of all ``files``
    in order, cut into one overlapping file per drop (``<sub>/<name>_<drop>.<ext>``), bytes as written."""
    header, lines = None, []
    for f in files:
        text = f.read_bytes().splitlines(keepends=True)
        header = text[0]
        lines += text[1:]
    for d, part in zip(drops, chunks(lines, len(drops), overlap)):
        (d / sub / f"{name}_{d.name}{files[0].suffix}").write_bytes(b"".join([header, *part]))


def latest_open_status(full: Path) -> dict[int, int]:
    """Per amoCRM pipeline, its last open status (the one a lead is in just before it closes)."""
    pipelines = read_json(full / "amocrm" / "pipelines.json")["_embedded"]["pipelines"]
    return {p["id"]: max((s for s in p["_embedded"]["statuses"] if s["id"] not in CLOSED),
                         key=lambda s: s["sort"])["id"] for p in pipelines}


def older_versions(leads: list[dict], open_status: dict[int, int]) -> list[dict]:
    """The closed leads as an earlier export saw them: still open, half the price, updated earlier."""
    older = []
    for lead in leads:
        if lead["status_id"] in CLOSED and lead["updated_at"] > lead["created_at"]:
            older.append({**lead, "status_id": open_status[lead["pipeline_id"]], "closed_at": None,
                          "updated_at": (lead["created_at"] + lead["updated_at"]) // 2, "price": lead["price"] // 2})
    return older


def write_nightly_drops(full: Path, root: Path) -> list[Path]:
    """Split the full drop into three nightly drops that overlap, as a nightly export job would."""
    drops = [root / f"night{k}" for k in (1, 2, 3)]
    for d in drops:
        for sub in ("metrica", "calltouch", "amocrm", "nps"):
            (d / sub).mkdir(parents=True)
    # Metrica visits and NPS answers: re-exporting a few lines of the previous night
    split_lines(sorted((full / "metrica").glob("*.tsv")), drops, "metrica", "visits", overlap=5)
    split_lines(sorted((full / "nps").glob("*.csv")), drops, "nps", "nps", overlap=2)
    # Calltouch: calls in time order, overlapping pages
    records = [r for f in sorted((full / "calltouch").glob("*.json")) for r in read_json(f)["records"]]
    for d, part in zip(drops, chunks(records, 3, overlap=3)):
        page = {"page": 1, "pageTotal": 1, "pageSize": 1000, "recordsTotal": len(part), "records": part}
        write_json(d / "calltouch" / f"calls_{d.name}.json", page)
    # amoCRM: events overlapping; pipelines on the first night; contacts twice
    events = [e for f in sorted((full / "amocrm").glob("events_*.json")) for e in read_json(f)["_embedded"]["events"]]
    for d, part in zip(drops, chunks(events, 3, overlap=4)):
        write_json(d / "amocrm" / f"events_{d.name}.json", amo_page("events", part))
    shutil.copy(full / "amocrm" / "pipelines.json", drops[0] / "amocrm" / "pipelines.json")
    contacts = read_json(full / "amocrm" / "contacts.json")["_embedded"]["contacts"]
    write_json(drops[0] / "amocrm" / "contacts_night1.json", amo_page("contacts", contacts[: len(contacts) // 2]))
    write_json(drops[2] / "amocrm" / "contacts_night3.json", amo_page("contacts", contacts))
    # leads: night 1 sees closed leads while they were still open (an older version)
    leads = read_json(full / "amocrm" / "leads.json")["_embedded"]["leads"]
    older = older_versions(leads, latest_open_status(full))
    assert len(older) >= 10, "the world has too few closed leads to test their replacement"
    write_json(drops[0] / "amocrm" / "leads_night1.json", amo_page("leads", older))
    write_json(drops[2] / "amocrm" / "leads_night3.json", amo_page("leads", leads))
    return drops


EVENT_ORDER = ["event_id"]


@pytest.mark.slow
def test_loading_the_same_folder_twice_changes_nothing(full_drop, tmp_path):
    config = config_for(tmp_path, full_drop)
    first = run(config)
    assert {f.status for f in first.loads} == {"loaded"}
    before = table(config, "events", EVENT_ORDER)
    second = run(config)
    assert {f.status for f in second.loads} == {"skipped"}
    pd.testing.assert_frame_equal(table(config, "events", EVENT_ORDER), before)
    assert second.totals == first.totals


@pytest.mark.slow
def test_three_nightly_drops_give_the_same_events_as_one_full_drop(full_drop, tmp_path):
    full_config = config_for(tmp_path / "full", full_drop)
    run(full_config)

    drops = write_nightly_drops(full_drop, tmp_path / "drops")
    landing = tmp_path / "nightly" / "data"
    nightly_config = config_for(tmp_path / "nightly", landing)
    for sub in ("metrica", "calltouch", "amocrm", "nps"):
        (landing / sub).mkdir(parents=True)
    results = []
    for drop in drops:  # each night the new files land next to the old ones
        for f in drop.rglob("*.*"):
            shutil.copy(f, landing / f.parent.name / f.name)
        results.append(run(nightly_config))
    assert [sum(f.status == "loaded" for f in r.loads) for r in results] == [7, 4, 6]

    full_events = table(full_config, "events", EVENT_ORDER)
    nightly_events = table(nightly_config, "events", EVENT_ORDER)
    pd.testing.assert_frame_equal(nightly_events, full_events)
    # the overlaps and the older lead versions were recognised as duplicates, not lost
    acc = results[-1].accounting.set_index("source")
    assert (acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined).all()
    assert acc.loc["metrica", "rows_duplicate"] == 10 and acc.loc["calltouch", "rows_duplicate"] == 6
    assert acc.loc["nps", "rows_duplicate"] == 4
    assert acc.loc["amocrm", "rows_duplicate"] > 0
    assert acc.rows_quarantined.sum() == 0
    # changed leads carry their latest state (the full drop's), not night 1's
    leads = full_events.loc[full_events.event_id.str.endswith(":created")
                            & full_events.event_type.eq("lead_created"), "properties"]
    assert leads.str.contains('"status_id": "142"').any() and leads.str.contains('"status_id": "143"').any()
    # and the downstream tables agree too
    for name, order in (("funnel", ["step"]), ("transitions", ["from_stage", "to_stage"])):
        pd.testing.assert_frame_equal(table(nightly_config, name, order), table(full_config, name, order))


# --------------------------------------------------------------------------- the sample is the simulator's


def sample_command() -> list[str]:
    """The ``cjm simulate`` command quoted in the header of configs/sample_multi.yaml."""
    found = re.search(r"^#\s+cjm simulate (.+)$", SAMPLE_CONFIG.read_text(encoding="utf-8"), re.MULTILINE)
    assert found, f"{SAMPLE_CONFIG}: the header names no `cjm simulate` command"
    return found.group(1).split()


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {f.relative_to(folder).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def test_the_multi_source_sample_is_what_its_command_writes(tmp_path):
    args = sample_command()
    options = dict(zip(args[::2], args[1::2]))
    assert options["--out"] == "data/sample/multi"
    simulate(options["--template"], int(options["--customers"]), int(options["--days"]), int(options["--seed"]),
             tmp_path / "multi")
    assert digest(tmp_path / "multi") == digest(SAMPLE_DATA)


def test_the_sample_config_is_the_template_pointed_at_the_sample():
    sample = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    template = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    for key in ("timezone", "identity", "stages", "funnel", "funnels"):
        assert sample[key] == template[key], key
    assert [s["path"] for s in sample["sources"]] == [f"data/sample/multi/{s['name']}/" for s in template["sources"]]
    strip = lambda s: {k: v for k, v in s.items() if k != "path"}  # noqa: E731
    assert [strip(s) for s in sample["sources"]] == [strip(s) for s in template["sources"]]
    assert (sample["base_dir"], sample["warehouse"], sample["output"]) == \
        ("..", "build/cjm_multi.duckdb", {"dir": "build/out_multi"})
