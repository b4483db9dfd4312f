"""A warehouse written by an older version runs on this one (cjm_pipeline.runs.migrate, ensure_tables)."""

from __future__ import annotations

from pathlib import Path

import cjm_pipeline as cjm
from cjm_pipeline import db, pipeline
from cjm_pipeline.config import config_from_dict

CSV = "event_time,event_type,anonymous_id,phone\n2025-01-01 10:00,visit,a1,\n2025-01-02 10:00,call,,8 (916) 123-45-67\n" \
      "2025-01-03 10:00,visit,a1,+7 916 123 45 67\n"


def config(tmp_path: Path):
    (tmp_path / "events.csv").write_text(CSV, encoding="utf-8")
    return config_from_dict({
        "warehouse": str(tmp_path / "wh.duckdb"), "output": {"dir": str(tmp_path / "out")},
        "sources": [{"name": "shop", "format": "generic_events", "path": str(tmp_path / "events.csv")}],
        "stages": [{"name": "awareness", "rules": [{"event_type": "visit"}]},
                   {"name": "question", "rules": [{"event_type": "call"}]}],
    }, base_dir=tmp_path)


def test_phone_cells_loaded_before_ingest_normalised_them_are_normalised_once(tmp_path):
    cfg = config(tmp_path)
    pipeline.run(cfg, export_outputs=False)
    # what a warehouse of an older version holds: the phone cells, but no phone in the identifiers list
    con = db.connect(cfg.warehouse_path)
    try:
        db.execute(con, "update raw_events set identifiers = null")
        db.execute(con, "alter table _cjm_identity_state drop column first_seen_at")
    finally:
        con.close()
    result = pipeline.run(cfg, export_outputs=False, log=(logged := []).append)
    assert any("2 raw row(s) loaded by an older version" in m for m in logged)
    wh = cjm.open(cfg)
    phones = wh.sql("select distinct identifier from event_identifiers where id_type = 'phone'")["identifier"]
    assert list(phones) == ["phone:+79161234567"]  # both spellings, one normalised phone
    assert wh.sql("select count(distinct customer_id) n from classified_events")["n"][0] == 1  # a1 and the call
    assert result.status == "success"
    again = pipeline.run(cfg, export_outputs=False, log=(logged := []).append)  # nothing left to migrate
    assert again.status == "success" and not any("older version" in m for m in logged)
