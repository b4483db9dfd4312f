"""identity.pii: hash keeps no phone or e-mail in clear anywhere in the warehouse, and stitches
exactly as clear mode does; generic phone columns are normalised with phonenumbers at ingest."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import cjm_pipeline
from cjm_pipeline import db, pipeline
from cjm_pipeline.cli import main
from cjm_pipeline.config import config_from_dict, load_config
from cjm_pipeline.errors import CjmError
from cjm_pipeline.pii import mask_text

REPO = Path(__file__).resolve().parent.parent
SALT_ENV = "CJM_PII_SALT"


def multi_config(tmp_path: Path, pii: str):
    cfg = load_config(REPO / "configs" / "sample_multi.yaml")
    return replace(cfg, warehouse=str(tmp_path / f"{pii}.duckdb"),
                   output=replace(cfg.output, dir=str(tmp_path / f"out_{pii}")),
                   identity=replace(cfg.identity, pii=pii))


def all_text(path: Path) -> str:
    """Every value of every table of a warehouse, as text (nested lists and maps included)."""
    con = db.connect(path, read_only=True)
    try:
        parts = []
        for (table,) in con.execute("select table_name from information_schema.tables "
                                    "where table_type = 'BASE TABLE'").fetchall():
            frame = con.execute(f"select * from {db.quote_ident(table)}").df()
            parts.append(frame.astype(str).to_csv(index=False))
        return "\n".join(parts)
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pii")
    mp = pytest.MonkeyPatch()
    mp.setenv(SALT_ENV, "test-salt-3f9a")
    try:
        clear, hashed = multi_config(tmp, "clear"), multi_config(tmp, "hash")
        results = pipeline.run(clear), pipeline.run(hashed)
    finally:
        mp.undo()
    return clear, hashed, results


def read(cfg, sql: str):
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        return db.query(con, sql)
    finally:
        con.close()


@pytest.mark.slow
def test_hash_mode_stitches_exactly_like_clear_mode(runs):
    clear, hashed, _ = runs
    sizes = "select n, count(*) as customers from (select customer_id, count(*) n from customer_events group by all) " \
            "group by n order by n"
    assert read(clear, sizes).equals(read(hashed, sizes))
    assert read(clear, "select * from funnel order by step").equals(read(hashed, "select * from funnel order by step"))
    hubs = "select count(*) from identity_hubs"
    assert read(clear, hubs).iloc[0, 0] == read(hashed, hubs).iloc[0, 0]


@pytest.mark.slow
def test_hash_mode_keeps_no_phone_or_email_in_clear(runs):
    clear, hashed, _ = runs
    personal = read(clear, "select distinct id_type, id_value from event_identifiers "
                           "where id_type in ('phone', 'email') and not blocked")
    assert len(personal) > 500  # the sample has real-looking contacts to hide
    text = all_text(hashed.warehouse_path)
    emails_in_text = {e.lower() for e in re.findall(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text)}
    # phones in any spelling: the last 10 digits of every run of digits and separators
    digit_runs = {re.sub(r"\D", "", m)[-10:] for m in re.findall(r"\+?\d[\d ()\-]{8,18}\d", text)}
    emails = set(personal.loc[personal["id_type"] == "email", "id_value"])
    phones = {v[-10:] for v in personal.loc[personal["id_type"] == "phone", "id_value"]}
    assert emails and phones
    assert emails & emails_in_text == set()
    assert phones & digit_runs == set()
    # the identifiers are there, hashed
    ids = read(hashed, "select id_type, id_value, blocked from event_identifiers where id_type in ('phone', 'email')")
    unblocked = ids[~ids["blocked"]]
    assert unblocked["id_value"].str.fullmatch(r"sha256:[0-9a-f]{64}").all()


@pytest.mark.slow
def test_blocklisted_values_stay_in_clear_and_keep_joining_nobody(runs):
    _, hashed, _ = runs
    blocked = read(hashed, "select distinct id_value from event_identifiers where blocked and id_type = 'phone'")
    assert "+74957770000" in set(blocked["id_value"])  # the office number of configs/sample_multi.yaml


@pytest.mark.slow
def test_customer_lookup_hashes_any_spelling(runs, monkeypatch):
    clear, hashed, _ = runs
    monkeypatch.setenv(SALT_ENV, "test-salt-3f9a")
    phone = read(clear, "select substr(identifier, 7) from identity_map where identifier like 'phone:%' "
                        "order by identifier limit 1").iloc[0, 0]
    national = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
    clear_wh, hashed_wh = cjm_pipeline.open(clear), cjm_pipeline.open(hashed)
    in_clear = clear_wh.explain_customer(f"phone:{national}")
    in_hash = hashed_wh.explain_customer(f"phone:{national}")
    assert len(in_hash["journey"]) == len(in_clear["journey"]) > 0
    assert in_hash["identifiers"]["identifier"].str.contains("sha256:").any()
    assert not in_hash["identifiers"]["identifier"].str.contains(phone[2:], regex=False).any()


@pytest.mark.slow
def test_a_hash_run_needs_the_salt_and_one_kind_per_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    hashed = multi_config(tmp_path, "hash")
    with pytest.raises(CjmError, match=f"environment variable {SALT_ENV}"):
        pipeline.run(hashed)
    assert not hashed.warehouse_path.exists() or "raw_events" not in db.existing_tables(
        db.connect(hashed.warehouse_path, read_only=True))
    clear = replace(hashed, identity=replace(hashed.identity, pii="clear"))
    pipeline.run(clear, until="events")
    monkeypatch.setenv(SALT_ENV, "s")
    with pytest.raises(CjmError, match="--full-refresh"):
        pipeline.run(hashed, until="events")
    pipeline.run(hashed, until="events", full_refresh=True)


# --------------------------------------------------------------------------- generic sources

STAGES = [{"name": "visit", "rules": [{"event_type": "visit"}]}, {"name": "call", "rules": [{"event_type": "call"}]}]


def generic_cfg(tmp_path: Path, text: str, pii: str = "clear"):
    (tmp_path / "calls.csv").write_text(text, encoding="utf-8")
    return config_from_dict({"warehouse": "wh.duckdb", "sources": [{"name": "calls", "format": "generic_events",
                                                                     "path": "calls.csv"}],
                             "stages": STAGES, "identity": {"pii": pii}, "output": {"dir": "out"}},
                            base_dir=tmp_path)


CALLS = (
    "event_time;event_type;phone;email\n"
    "2025-01-01 10:00;call;8 (916) 123-45-67, 8 903 765-43-21;\n"
    "2025-01-02 10:00;call;+7 903 765 43 21 доб. 12;Ivan@Mail.ru\n"
    "2025-01-03 10:00;call;123;\n"
    "2025-01-04 10:00;call;9161234567;\n"
    "2025-01-05 10:00;call;+7 916 123 45 67;extra;field\n"
)


def test_generic_phone_cells_are_normalised_with_phonenumbers(tmp_path):
    cfg = generic_cfg(tmp_path, CALLS)
    pipeline.run(cfg)
    ids = read(cfg, "select e._row, i.id_value from event_identifiers i join events e using (event_id) "
                    "where i.id_type = 'phone' order by e._row, i.id_value")
    assert ids.values.tolist() == [[1, "+79037654321"], [1, "+79161234567"], [2, "+79037654321"],
                                   [4, "+79161234567"]]
    # two numbers in one cell join rows 1, 2 and 4 into one customer
    assert read(cfg, "select count(distinct customer_id) from customer_events").iloc[0, 0] == 1
    q = read(cfg, "select row_number, reason from quarantine order by row_number")
    assert q.values.tolist()[0] == [3, "identifiers: no usable identifier in phone='123'"]
    assert q["row_number"].tolist() == [3, 5]


def test_generic_hash_mode_masks_unreadable_rows_and_hashes_the_cells(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, "salt-1")
    cfg = generic_cfg(tmp_path, CALLS, pii="hash")
    pipeline.run(cfg)
    text = all_text(cfg.warehouse_path)
    for clear in ("9161234567", "916) 123-45-67", "ivan@mail.ru", "Ivan@Mail.ru", "765 43 21"):
        assert clear not in text, clear
    assert "+7 916 123 45 67" not in text and "<phone>;extra;field" in text
    phones = read(cfg, "select phone from events order by _row")["phone"].tolist()
    assert all(p.startswith("sha256:") for p in phones)
    assert read(cfg, "select count(distinct customer_id) from customer_events").iloc[0, 0] == 1
    # another salt: other hashes
    monkeypatch.setenv(SALT_ENV, "salt-2")
    other = replace(cfg, warehouse=str(tmp_path / "other.duckdb"))
    pipeline.run(other)
    assert set(read(other, "select phone from events")["phone"]).isdisjoint(phones)


def test_mask_text_matches_the_export_mask():
    """pii.mask_text (ingest) and the quarantine export (export_cells.masked_source) mask the same way."""
    from cjm_pipeline.export_cells import masked_source
    samples = ["2025-01-01;call;8 (916) 123-45-67;Ivan@Mail.ru", "x,+7 903 765-43-21,y", "no contact 12345"]
    cfg = config_from_dict(
        {"sources": [{"name": "calls", "format": "generic_events", "path": "x.csv"}], "stages": STAGES})
    con = db.connect()
    try:
        db.execute(con, "create table quarantine as select 'calls' as source, unnest($t) as raw_text, "
                        "unnest($t) as reason", {"t": samples})
        name = masked_source(con, cfg, "quarantine")
        got = db.execute(con, f"select raw_text, reason from {name}")
    finally:
        con.close()
    assert [r[0] for r in got] == [r[1] for r in got] == [mask_text(s) for s in samples]


def test_cli_customer_in_hash_mode(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, "salt-1")
    cfg = generic_cfg(tmp_path, CALLS, pii="hash")
    path = tmp_path / "cjm.yaml"
    path.write_text("warehouse: wh.duckdb\nsources: [{name: calls, format: generic_events, path: calls.csv}]\n"
                    "stages:\n  - {name: visit, rules: [{event_type: visit}]}\n  - {name: call, rules: [{event_type: call}]}\n"
                    "identity: {pii: hash}\noutput: {dir: out}\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["run", "-c", str(path), "-q"]).exit_code == 0
    result = CliRunner().invoke(main, ["customer", "-c", str(path), "phone:8 916 123-45-67"])
    assert result.exit_code == 0, result.output
    assert "sha256:" in result.output and "9161234567" not in result.output
    assert cfg.identity.pii == "hash"
