"""Bad files and bad values (issue 20, points 7-16): each is loaded, quarantined with its reason,
or stopped with one line naming the file, and every run still accounts for each input row
(``rows_in = rows_loaded + rows_duplicate + rows_quarantined``).

The files are in ``tests/fixtures/bad/``; the large ones (a header of 8,000 columns, a truncated
``.csv.gz`` of the generic sample, a cell of 5,000 phone numbers) are made here from real data.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from cjm_pipeline import db, pipeline
from cjm_pipeline.cli import main
from cjm_pipeline.config import config_from_dict, load_config
from cjm_pipeline.errors import ConfigError, InputDataError
from cjm_pipeline.ingest.records import Event, RecordWriter, normalise_phones
from cjm_pipeline import ingest

REPO = Path(__file__).resolve().parent.parent
BAD = REPO / "tests" / "fixtures" / "bad"
SAMPLE = REPO / "data" / "sample" / "events.csv"
STAGES = [{"name": "visit", "rules": [{"event_type": ["visit", "page_view"]}]},
          {"name": "purchase", "rules": [{"event_type": "purchase"}]}]


def run_file(tmp_path: Path, path: Path, *, source: dict | None = None, until: str | None = None, **sections):
    """One generic source on one file, run into ``tmp_path``; returns (config, result)."""
    cfg = config_from_dict({
        "warehouse": "wh.duckdb", "timezone": "Europe/Moscow", "output": {"dir": "out"}, "stages": STAGES,
        "sources": [{"name": "s", "format": "generic_events", "path": str(path), **(source or {})}], **sections,
    }, base_dir=tmp_path)
    return cfg, pipeline.run(cfg, until=until)


def read(cfg, sql: str, params: dict | None = None) -> list[tuple]:
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        return db.execute(con, sql, params)
    finally:
        con.close()


def accounting(result) -> tuple[int, int, int, int]:
    row = result.accounting.iloc[0]
    rows = int(row.rows_in), int(row.rows_loaded), int(row.rows_duplicate), int(row.rows_quarantined)
    assert rows[0] == sum(rows[1:]), rows
    return rows


# --------------------------------------------------------------------------- 7. old-Mac line endings


def test_a_file_with_cr_line_endings_is_read(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "old_mac_cr.csv", until="source_accounting",
                           source={"columns": {"Дата": "event_time", "Событие": "event_type", "Телефон": "phone"}})
    assert accounting(result) == (4, 4, 0, 0)
    rows = read(cfg, "select _row, event_ts, properties['Город'], properties['Комментарий'] from events order by _row")
    assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
        (1, "2025-02-01 07:15:00", "Москва", "первый визит"), (2, "2025-02-01 07:20:00", "Москва", "каталог"),
        (3, "2025-02-02 15:05:00", "Санкт-Петербург", "заказ №1"), (4, "2025-02-03 06:00:00", "Екатеринбург", None)]


# --------------------------------------------------------------------------- 8. a truncated .csv.gz


def truncated_sample(tmp_path: Path, keep: float) -> Path:
    data = gzip.compress(SAMPLE.read_bytes())
    path = tmp_path / "events.csv.gz"
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.slow
def test_a_truncated_gzip_loads_its_readable_rows_and_quarantines_the_rest(tmp_path):
    path = truncated_sample(tmp_path, 0.6)
    cfg, result = run_file(tmp_path, path, until="source_accounting", source={"columns": {"ts": "event_time"}})
    rows_in, loaded, duplicate, quarantined = accounting(result)
    assert 20_000 < rows_in < 41_488
    (tail,) = read(cfg, "select row_number, reason, raw_text from quarantine where reason like 'file:%'")
    assert tail[0] == rows_in and "ends early" in tail[1] and "end-of-stream marker" in tail[1]
    # every row before the tail is the sample's own row, as the whole file loads it
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        sample_rows = list(csv.reader(f))[1:rows_in]
    last = read(cfg, "select _row, properties['city'], anonymous_id from raw_events order by _row desc limit 1")[0]
    assert last[0] == rows_in - 1
    assert (last[1], last[2] or None) == (sample_rows[-1][16], sample_rows[-1][2] or None)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert lines[rows_in].startswith(tail[2]) and len(tail[2]) < len(lines[rows_in])  # the unfinished next line


def test_a_gzip_broken_before_its_header_is_one_line_naming_the_file(tmp_path):
    path = truncated_sample(tmp_path, 0.001)
    config = tmp_path / "cjm.yaml"
    config.write_text(f"warehouse: wh.duckdb\nsources: [{{name: s, format: generic_events, path: {path.name}}}]\n"
                      "stages: [{name: a, rules: [{event_type: a}]}, {name: b, rules: [{event_type: b}]}]\n",
                      encoding="utf-8")
    out = CliRunner().invoke(main, ["run", "-c", str(config), "-q"])
    assert out.exit_code == 1
    assert out.output.count("\n") == 1 and out.output.startswith("Error: source 's', file ")
    assert "events.csv.gz" in out.output and "Aborted" not in out.output


# --------------------------------------------------------------------------- 9. a header wider than the sniff window


@pytest.mark.slow
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_header_wider_than_the_sniff_window_is_read_whole(tmp_path, delimiter):
    extra = [f"свойство_{i:05d}" for i in range(8000)]  # ~130 KB of header, twice the sniff window
    header = ["event_time", "event_type", "client_id", *extra]
    path = tmp_path / "wide.csv"
    lines = [header, ["2025-01-01 10:00", "visit", "w1", *[f"v{i}" for i in range(8000)]],
             ["2025-01-01 10:05", "purchase", "w1", *["x"] * 8000]]
    path.write_text("\n".join(delimiter.join(r) for r in lines) + "\n", encoding="utf-8")
    cfg, result = run_file(tmp_path, path, until="source_accounting")
    assert accounting(result) == (2, 2, 0, 0)
    (n, last), = read(cfg, "select cardinality(properties), properties['свойство_07999'] from events where _row = 1")
    assert (n, last) == (8000, "v7999")


# --------------------------------------------------------------------------- 10. mixed encodings


def test_a_utf8_file_with_cp1251_rows_quarantines_those_rows_and_keeps_the_rest_exact(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "mixed_encoding.csv", until="source_accounting")
    assert accounting(result) == (5, 3, 0, 2)
    assert [r[0] for r in read(cfg, "select properties['city'] from events order by _row")] == ["Москва", "Казань", "Тверь"]
    assert read(cfg, "select properties['comment'] from events where _row = 4") == [("ёлка",)]
    quarantined = read(cfg, "select row_number, reason, raw_text from quarantine order by row_number")
    assert [q[0] for q in quarantined] == [3, 5]
    assert quarantined[0][1] == ("encoding: not valid UTF-8 like the rest of the file (column 'city'); "
                                 "the raw text shows it read as cp1251")
    assert quarantined[0][2] == "2025-02-01 12:00,visit,c3,Тверь,"
    assert "'comment'" in quarantined[1][1] and quarantined[1][2].endswith("Сочи,звонок")


def test_a_large_utf8_file_with_a_cp1251_row_after_the_sniff_window(tmp_path):
    """The sniffed sample is all UTF-8; the bad row comes 200 KB later and is still only that row."""
    head = "event_time,event_type,client_id,city\n"
    good = "".join(f"2025-02-01 10:00,visit,c{i},Москва\n" for i in range(5000))
    path = tmp_path / "big.csv"
    path.write_bytes((head + good).encode() + "2025-02-02 10:00,visit,z,Тверь\n".encode("cp1251")
                     + "2025-02-03 10:00,visit,y,Казань\n".encode())
    cfg, result = run_file(tmp_path, path, until="source_accounting")
    assert accounting(result) == (5002, 5001, 0, 1)
    assert read(cfg, "select row_number from quarantine") == [(5001,)]
    assert read(cfg, "select count(*) from events where properties['city'] in ('Москва', 'Казань')") == [(5001,)]


def test_a_cp1251_file_is_still_read_as_cp1251(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes("event_time;event_type;client_id;city\n2025-02-01 10:00;visit;c1;Тверь\n".encode("cp1251"))
    cfg, result = run_file(tmp_path, path, until="source_accounting")
    assert accounting(result) == (1, 1, 0, 0)
    assert read(cfg, "select properties['city'] from events") == [("Тверь",)]


# --------------------------------------------------------------------------- 11. an empty export


@pytest.mark.parametrize("content", [b"event_time;event_type;client_id;city", b"event_time,event_type,client_id\r",
                                     b"event_time,event_type,client_id\r\n\r\n"])
def test_an_empty_export_loads_no_rows_and_fails_nothing(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    cfg, result = run_file(tmp_path, path, until="source_accounting")
    assert accounting(result) == (0, 0, 0, 0)
    assert read(cfg, "select count(*) from _cjm_loads") == [(1,)]


def test_the_empty_export_fixture(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "empty_no_newline.csv", until="source_accounting")
    assert accounting(result) == (0, 0, 0, 0)


# --------------------------------------------------------------------------- 12. absurd times


@pytest.mark.slow
def test_times_outside_the_plausible_range_are_quarantined_with_the_reason(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "absurd_times.csv")
    assert accounting(result) == (7, 2, 0, 5)
    reasons = dict(read(cfg, "select row_number, reason from quarantine"))
    assert reasons == {
        1: "event_time: '0000-01-01 10:00' is before the earliest plausible time (times.earliest: 1990-01-01)",
        2: "event_time: '99999999999' is later than the run's start plus times.ahead (1d)",
        3: "event_time: cannot parse '2025-01-01T10:00:00+25:00' as a time",
        4: "event_time: '1970-01-01 00:00:00' is before the earliest plausible time (times.earliest: 1990-01-01)",
        5: "event_time: '2099-12-31 23:59' is later than the run's start plus times.ahead (1d)",
    }
    meta = json.loads((tmp_path / "out" / "funnel.meta.json").read_text(encoding="utf-8"))
    assert meta["data_cutoff_utc"] == "2025-01-01 07:00:00"  # not 5138 or 2099
    assert read(cfg, "select count(*), min(day), max(day) from stage_stock")[0][0] < 20_000


def test_the_plausible_range_is_configurable(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "absurd_times.csv", until="source_accounting",
                           times={"earliest": "1960-01-01", "ahead": "36500d"})
    assert accounting(result) == (7, 4, 0, 3)
    assert {r[0] for r in read(cfg, "select row_number from quarantine")} == {1, 2, 3}


def test_a_plausible_range_that_excludes_the_present_is_a_config_error():
    with pytest.raises(ConfigError, match=r"times.earliest: '2999-01-01' is in the future"):
        config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "x.csv"}], "stages": STAGES,
                          "times": {"earliest": "2999-01-01"}})


# --------------------------------------------------------------------------- 13. too many identifiers


@pytest.mark.slow
def test_a_row_with_5000_phones_is_quarantined_without_gluing_anybody(tmp_path):
    phones = ", ".join(f"8 916 {1000000 + i:07d}" for i in range(5000))
    path = tmp_path / "phones.csv"
    path.write_text(f'event_time,event_type,phone\n2025-01-01 10:00,visit,"{phones}"\n'
                    "2025-01-02 10:00,visit,8 916 100-00-01\n2025-01-03 10:00,visit,+7 916 100 00 02\n",
                    encoding="utf-8")
    cfg, result = run_file(tmp_path, path)
    assert accounting(result) == (3, 2, 0, 1)
    (reason,), = read(cfg, "select reason from quarantine where row_number = 1")
    assert reason.startswith("identifiers: more than 50 in one record (identity.max_identifiers_per_record: 50)")
    # rows 2 and 3 share none of their numbers: the 5,000-number row did not join them
    assert read(cfg, "select count(distinct customer_id) from customer_events") == [(2,)]
    # the 3.9 GB of issue 20 came from 5,000 identifiers carried through every step: none is
    assert read(cfg, "select count(*) from raw_events where _row = 1") == [(0,)]


def test_the_identifier_cap_is_configurable_and_counts_numbers_not_cells(tmp_path):
    path = tmp_path / "phones.csv"
    path.write_text('event_time,event_type,phone\n2025-01-01 10:00,visit,"89161234567, 89031112233, 89261112233"\n'
                    "2025-01-02 10:00,visit,89161234567\n", encoding="utf-8")
    cfg, result = run_file(tmp_path, path, until="source_accounting", identity={"max_identifiers_per_record": 2})
    assert accounting(result) == (2, 1, 0, 1)
    assert read(cfg, "select row_number from quarantine") == [(1,)]


def test_a_format_parser_record_over_the_cap_is_quarantined_whole(tmp_path):
    """A record of two events (a visit and its goal) with 60 phones: neither event loads."""
    con = db.connect(tmp_path / "wh.duckdb")
    try:
        ingest.ensure_tables(con)
        many = [("phone", f"+7 916 {2000000 + i:07d}") for i in range(60)]
        records = [Event(1, "2025-01-01 10:00:00", "visit", "v1", part=0, identifiers=many),
                   Event(1, "2025-01-01 10:01:00", "goal", "v1:g", part=1, identifiers=many),
                   Event(2, "2025-01-01 11:00:00", "visit", "v2", identifiers=[("phone", "89161234567")])]
        writer = RecordWriter(con, load_id=1, source="s", file="f", max_identifiers=50)
        assert writer.write_all(records) == (2, 1)
        assert db.execute(con, "select _row, event_type from raw_events") == [(2, "visit")]
        (row, reason, raw), = db.execute(con, "select _row, reason, raw_text from raw_rejects")
    finally:
        con.close()
    assert row == 1 and reason.startswith("identifiers: more than 50") and raw.endswith("identifiers: phone x60")


def test_the_phone_search_stops_after_the_cap():
    cell = ", ".join(f"8 916 {1000000 + i:07d}" for i in range(500))
    assert len(normalise_phones(cell, "RU", 10)) == 11
    assert len(normalise_phones(cell, "RU")) == 500


# --------------------------------------------------------------------------- 14. formula injection


@pytest.mark.slow
def test_cells_a_spreadsheet_would_run_are_neutralised_in_every_csv_and_numbers_stay(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "formula_injection.csv",
                           funnel={"breakdowns": ["first_channel", "properties.city"]})
    assert accounting(result) == (4, 4, 0, 0)
    out = tmp_path / "out"
    for path in out.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                        float(cell.replace(",", "."))  # only a plain number may start so (-0.5)
    journeys = {r["customer_id"]: r for r in csv.DictReader(io.StringIO((out / "journeys.csv").read_text("utf-8")))}
    assert sorted(r["first_channel"] for r in journeys.values()) == ["'\tтаб", "'=cmd|' /C calc'!A0"]
    values = {r["value"] for r in csv.DictReader(io.StringIO((out / "funnel_breakdown.csv").read_text("utf-8")))}
    assert {"'=HYPERLINK(\"http://evil\")", "'@home"} <= values
    # the warehouse keeps the values as they came; only the spreadsheet files are guarded
    assert ("=cmd|' /C calc'!A0",) in read(cfg, "select first_channel from journeys")


def test_a_negative_number_in_a_text_cell_is_left_as_a_number(tmp_path):
    from cjm_pipeline.export_cells import formula_safe_source
    con = db.connect()
    try:
        db.execute(con, "create table t as select * from (values ('-10', 1.5), ('-x', -2.5), ('=1+1', 0.0), "
                        "('+7 916 123-45-67', 1.0), ('a-b', 2.0)) v(label, amount)")
        view = formula_safe_source(con, "t")
        got = db.execute(con, f"select label, amount from {view}")
    finally:
        con.close()
    assert got == [("-10", 1.5), ("'-x", -2.5), ("'=1+1", 0.0), ("'+7 916 123-45-67", 1.0), ("a-b", 2.0)]


# --------------------------------------------------------------------------- 15. null spellings


def test_only_an_empty_cell_is_null_and_placeholders_only_mean_no_identifier(tmp_path):
    cfg, result = run_file(tmp_path, BAD / "null_spellings.csv", until="source_accounting")
    assert accounting(result) == (4, 3, 0, 1)
    props = read(cfg, "select _row, properties['city'], properties['comment'] from events order by _row")
    assert props == [(1, "NA", "N/A"), (2, "nan", "#N/A"), (4, "", "none")]
    # NULL, N/A as client_id / email are no identifier: row 3 has none (its city "NULL" is text)
    assert read(cfg, "select row_number, reason from quarantine") == [
        (3, "identifiers: none of customer_id, anonymous_id, user_id, client_id, email, phone, crm_contact_id "
            "has a value")]
    assert read(cfg, "select email from events where _row = 2") == [(None,)]


# --------------------------------------------------------------------------- 16. a "billion laughs" config


def billion_laughs(path: Path) -> Path:
    """The classic file: nine levels of ten aliases each, 10^9 "lol"s if expanded (82 aliases: under
    the alias cap, so the expansion itself must be limited)."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]")
    lines += ["sources: *lol8", "stages: *lol8"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_billion_laughs_config_is_refused_in_one_short_line(tmp_path):
    path = billion_laughs(tmp_path / "bomb.yaml")
    assert 600 < path.stat().st_size < 800
    tracemalloc.start()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    message = str(caught.value)
    assert "expand it to more than 100,000 values" in message and len(message) < 300
    assert peak < 20 << 20
    out = CliRunner().invoke(main, ["validate", "-c", str(path)])
    assert out.exit_code == 1 and len(out.output) < 400


def test_aliases_that_expand_to_a_few_values_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("rule: &visit {event_type: visit}\n"
                    "warehouse: wh.duckdb\nsources: [{name: s, format: generic_events, path: x.csv}]\n"
                    "stages:\n  - {name: a, rules: [*visit]}\n  - {name: b, rules: [*visit, {event_type: buy}]}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="rule: unknown key"):
        load_config(path)  # the aliases are read (the only problem is the helper key itself)


def test_a_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("stages: &s [*s]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


def test_input_data_error_names_source_and_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputDataError, match=r"source 's', file .*empty.csv: the file is empty \(no header row\)"):
        run_file(tmp_path, path, until="source_accounting")


# --------------------------------------------------------------------------- the same for format parsers


def test_a_format_parser_reads_cr_line_endings(tmp_path):
    from cjm_pipeline.config import SourceConfig
    from cjm_pipeline.ingest.textfiles import read_delimited
    path = tmp_path / "OpportunityHistory.csv"
    path.write_bytes(b"OpportunityId,CreatedDate,StageName\r0061,2023-02-07 20:47:49,Prospecting\r"
                     b"0062,2023-02-08 10:00:00,Closed Won\r")
    table = read_delimited(path, SourceConfig("sf", "salesforce", str(path)))
    assert table.header == ["OpportunityId", "CreatedDate", "StageName"]
    assert [(n, r["StageName"]) for n, r in table.rows] == [(1, "Prospecting"), (2, "Closed Won")]


def test_a_truncated_gzip_of_a_format_is_one_line_naming_the_file(tmp_path):
    lines = ["OpportunityId,CreatedDate,StageName,Amount"] + [
        f"006{i:05d},2023-02-07 20:47:49,Prospecting,{i}" for i in range(20000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "OpportunityHistory.csv.gz").write_bytes(data[: len(data) // 2])
    config = tmp_path / "cjm.yaml"
    config.write_text("warehouse: wh.duckdb\nsources: [{name: sf, format: salesforce, path: OpportunityHistory.csv.gz}]\n"
                      "stages: [{name: a, rules: [{event_type: deal_stage_changed}]}, {name: b, rules: [{event_type: x}]}]\n",
                      encoding="utf-8")
    out = CliRunner().invoke(main, ["run", "-c", str(config), "-q"])
    assert out.exit_code == 1 and out.output.count("\n") == 1
    assert out.output.startswith("Error: source 'sf', file ") and "OpportunityHistory.csv.gz" in out.output
    assert "cannot be read" in out.output and "Aborted" not in out.output


def test_a_format_file_with_a_cp1251_row_among_utf8_ones_stops_naming_the_file(tmp_path):
    """Format parsers read a whole record set: a row in another encoding is one line naming the file
    (never the whole file decoded as cp1251, which turned 'Москва' into 'РњРѕСЃРєРІР°')."""
    from cjm_pipeline.config import SourceConfig
    from cjm_pipeline.ingest.textfiles import read_delimited
    path = tmp_path / "OpportunityHistory.csv"
    path.write_bytes("OpportunityId,CreatedDate,StageName\n0061,2023-02-07 20:47:49,Москва\n".encode() * 1
                     + "0062,2023-02-08 10:00:00,Тверь\n".encode("cp1251")
                     + "0063,2023-02-09 10:00:00,Казань\n".encode())
    with pytest.raises(InputDataError, match=r"source 'sf', file .*OpportunityHistory.csv: not valid utf-8 text"):
        list(read_delimited(path, SourceConfig("sf", "salesforce", str(path))).rows)
