"""Incremental, idempotent loading of real-format exports (the multi-source sample).

* Loading the same folder twice changes nothing.
* Three nightly drops (overlapping re-exports, an older version of some amoCRM leads first)
  give the same ``events`` as one full drop: the same events, the same content, the latest
  version of each changed record.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data" / "sample"))
import generate_multi  # noqa: E402

#: Columns that say where a row came from (file, load), not what it is.
PROVENANCE = ["_load_id", "_file", "_row"]


@pytest.fixture(scope="module")
def full_drop(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full")
    generate_multi.main(["--customers", "150", "--out", str(out)])
    return out


def config_for(folder: Path, data: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((ROOT / "configs" / "sample_multi.yaml").read_text(encoding="utf-8"))
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


def write_nightly_drops(full: Path, root: Path) -> list[Path]:
    """Split the full drop into three nightly drops that overlap, as a nightly export job would."""
    drops = [root / f"night{k}" for k in (1, 2, 3)]
    for d in drops:
        for sub in ("metrica", "calltouch", "amocrm"):
            (d / sub).mkdir(parents=True)
    # Metrica: visits in time order, re-exporting a few visits of the previous night
    header, lines = None, []
    for f in sorted((full / "metrica").glob("*.tsv")):
        text = f.read_text(encoding="utf-8").splitlines()
        header = text[0]
        lines += text[1:]
    for d, part in zip(drops, chunks(lines, 3, overlap=5)):
        (d / "metrica" / f"visits_{d.name}.tsv").write_text("\n".join([header, *part]) + "\n", encoding="utf-8")
    # Calltouch: calls in time order, overlapping pages
    records = []
    for f in sorted((full / "calltouch").glob("*.json")):
        records += json.loads(f.read_text(encoding="utf-8"))["records"]
    for d, part in zip(drops, chunks(records, 3, overlap=3)):
        page = {"page": 1, "pageTotal": 1, "pageSize": 1000, "recordsTotal": len(part), "records": part}
        (d / "calltouch" / f"calls_{d.name}.json").write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    # amoCRM: status-change events overlapping; pipelines on the first night; contacts twice
    events = []
    for f in sorted((full / "amocrm").glob("events_*.json")):
        events += json.loads(f.read_text(encoding="utf-8"))["_embedded"]["events"]
    amo_page = lambda kind, items: {"_page": 1, "_embedded": {kind: items}}  # noqa: E731
    for d, part in zip(drops, chunks(events, 3, overlap=4)):
        (d / "amocrm" / f"events_{d.name}.json").write_text(json.dumps(amo_page("events", part)), encoding="utf-8")
    shutil.copy(full / "amocrm" / "pipelines.json", drops[0] / "amocrm" / "pipelines.json")
    contacts = json.loads((full / "amocrm" / "contacts.json").read_text(encoding="utf-8"))["_embedded"]["contacts"]
    half = contacts[: len(contacts) // 2]
    (drops[0] / "amocrm" / "contacts_night1.json").write_text(json.dumps(amo_page("contacts", half)), encoding="utf-8")
    (drops[2] / "amocrm" / "contacts_night3.json").write_text(json.dumps(amo_page("contacts", contacts)),
                                                             encoding="utf-8")
    # leads: night 1 sees closed leads while they were still in talks (an older version)
    leads = json.loads((full / "amocrm" / "leads.json").read_text(encoding="utf-8"))["_embedded"]["leads"]
    older = []
    for lead in leads:
        if lead["closed_at"]:
            older.append({**lead, "status_id": generate_multi.ST_TALKS, "closed_at": None,
                          "updated_at": lead["created_at"] + 3600, "price": lead["price"] // 2})
    (drops[0] / "amocrm" / "leads_night1.json").write_text(json.dumps(amo_page("leads", older)), encoding="utf-8")
    (drops[2] / "amocrm" / "leads_night3.json").write_text(json.dumps(amo_page("leads", leads)), encoding="utf-8")
    return drops


EVENT_ORDER = ["event_id"]


def test_loading_the_same_folder_twice_changes_nothing(full_drop, tmp_path):
    config = config_for(tmp_path, full_drop)
    first = run(config)
    assert {f.status for f in first.loads} == {"loaded"}
    before = table(config, "events", EVENT_ORDER)
    second = run(config)
    assert {f.status for f in second.loads} == {"skipped"}
    pd.testing.assert_frame_equal(table(config, "events", EVENT_ORDER), before)
    assert second.totals == first.totals


def test_three_nightly_drops_give_the_same_events_as_one_full_drop(full_drop, tmp_path):
    full_config = config_for(tmp_path / "full", full_drop)
    run(full_config)

    drops = write_nightly_drops(full_drop, tmp_path / "drops")
    landing = tmp_path / "nightly" / "data"
    nightly_config = config_for(tmp_path / "nightly", landing)
    for sub in ("metrica", "calltouch", "amocrm"):
        (landing / sub).mkdir(parents=True)
    results = []
    for drop in drops:  # each night the new files land next to the old ones
        for f in drop.rglob("*.*"):
            shutil.copy(f, landing / f.parent.name / f.name)
        results.append(run(nightly_config))
    assert [sum(f.status == "loaded" for f in r.loads) for r in results] == [6, 3, 5]

    full_events = table(full_config, "events", EVENT_ORDER)
    nightly_events = table(nightly_config, "events", EVENT_ORDER)
    pd.testing.assert_frame_equal(nightly_events, full_events)
    # the overlaps and the older lead versions were recognised as duplicates, not lost
    acc = results[-1].accounting.set_index("source")
    assert (acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined).all()
    assert acc.loc["metrica", "rows_duplicate"] == 10 and acc.loc["calltouch", "rows_duplicate"] == 6
    assert acc.loc["amocrm", "rows_duplicate"] > 0
    # changed leads carry their latest state (the full drop's), not night 1's
    lead_props = full_events.loc[full_events.event_id.str.endswith(":created")
                                 & full_events.event_type.eq("lead_created"), "properties"]
    assert lead_props.str.contains('"status_id": "142"').any()
    # and the downstream tables agree too
    for name, order in (("funnel", ["step"]), ("transitions", ["from_stage", "to_stage"])):
        pd.testing.assert_frame_equal(table(nightly_config, name, order), table(full_config, name, order))
