"""Exported files carry no phone numbers or e-mail addresses in clear unless the config asks."""

from __future__ import annotations

import pandas as pd

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import config_from_dict

ROWS = ("event_time,event_type,email,phone\n"
        "2025-01-01 10:00:00,visit,ivan@mail.ru,8 (916) 123-45-67\n"
        "2025-01-01 10:05:00,visit,ivan@mail.ru,+7 916 123 45 67,extra field\n"   # a ragged line: quarantined raw
        "2025-01-01 10:06:00,visit,petr@yandex.ru,89031112233\n")


def run(tmp_path, pii: str | None):
    (tmp_path / "events.csv").write_text(ROWS, encoding="utf-8")
    output = {"dir": str(tmp_path / "out")} | ({"pii": pii} if pii else {})
    cfg = config_from_dict({
        "warehouse": str(tmp_path / "cjm.duckdb"), "sources": [{"name": "s", "format": "generic_events",
                                                                "path": "events.csv"}],
        "stages": [{"name": "visit", "rules": [{"event_type": "visit"}]},
                   {"name": "buy", "rules": [{"event_type": "purchase"}]}],
        "output": output,
    }, base_dir=tmp_path)
    pipeline.run(cfg)
    return cfg, (tmp_path / "out" / "quarantine.csv").read_text(encoding="utf-8")


def test_quarantine_export_masks_phones_and_emails_by_default(tmp_path):
    cfg, text = run(tmp_path, None)
    assert "<email>" in text and "<phone>" in text
    for clear in ("ivan@mail.ru", "916) 123", "+7 916 123 45 67"):
        assert clear not in text
    assert "2025-01-01 10:05:00" in text  # the rest of the line is still there to fix it
    # the warehouse keeps the raw text for whoever fixes the file
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        raw = db.scalar(con, "select raw_text from quarantine")
    finally:
        con.close()
    assert "ivan@mail.ru" in raw and "+7 916 123 45 67" in raw


def test_output_pii_clear_exports_the_raw_text(tmp_path):
    _, text = run(tmp_path, "clear")
    assert "ivan@mail.ru" in text and "+7 916 123 45 67" in text
    frame = pd.read_csv(tmp_path / "out" / "quarantine.csv")
    assert len(frame) == 1
