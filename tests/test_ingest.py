"""Ingest of the ``generic_events`` format, end to end: files -> raw layer -> stg_events ->
events / quarantine / source_accounting.

Each test writes small files into ``tmp_path``, builds a config with ``config_from_dict``,
runs the pipeline up to ``source_accounting`` and reads the tables back read-only.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import config_from_dict
from cjm_pipeline.errors import InputDataError

STAGES = [
    {"name": "visit", "rules": [{"event_type": "visit"}]},
    {"name": "purchase", "rules": [{"event_type": "purchase"}]},
]


# --------------------------------------------------------------------------- helpers


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def source(path: str, name: str = "shop", **extra) -> dict:
    return {"name": name, "format": "generic_events", "path": path, **extra}


def make_cfg(tmp_path: Path, *sources: dict, timezone: str = "Europe/Moscow"):
    return config_from_dict({
        "warehouse": "wh/cjm.duckdb",
        "timezone": timezone,
        "sources": list(sources),
        "stages": STAGES,
        "output": {"dir": "out"},
    }, base_dir=tmp_path)


def run(cfg, **kw):
    return pipeline.run(cfg, until="source_accounting", **kw)


def table(cfg, name: str, order_by=("_source", "source", "_file", "file", "_row", "row_number")):
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        return db.read_table(con, name, order_by=order_by)
    finally:
        con.close()


def sql(cfg, text: str, params: dict | None = None):
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        return db.query(con, text, params)
    finally:
        con.close()


def events(cfg):
    return table(cfg, "events")


def accounting(cfg) -> dict:
    acc = table(cfg, "source_accounting", order_by=("source",))
    rows = {r["source"]: {k: int(r[k]) for k in ("files", "rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined")}
            for r in acc.to_dict("records")}
    for r in rows.values():
        assert r["rows_in"] == r["rows_loaded"] + r["rows_duplicate"] + r["rows_quarantined"]
    return rows


def props(frame, i: int = 0) -> dict:
    """The properties map of row ``i`` as a dict (pandas gives a list of pairs or a dict)."""
    value = frame["properties"].iloc[i]
    return dict(value) if not isinstance(value, dict) else value


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def utc_by_id(cfg) -> dict[str, dt.datetime]:
    ev = events(cfg)
    return {str(row["event_id"]).split(":", 1)[1]: row["event_ts"].to_pydatetime() for _, row in ev.iterrows()}


# --------------------------------------------------------------------------- event_time formats


#: (case id, event_time as written in the file, expected event_ts in UTC); the config's
#: time zone is Europe/Moscow (UTC+3 all year).
TIME_CASES = [
    ("iso_offset_msk", "2025-01-01T10:00:00+03:00", "2025-01-01 07:00:00"),
    ("iso_offset_yekaterinburg", "2025-01-01T10:00:00+05:00", "2025-01-01 05:00:00"),
    ("iso_offset_no_colon", "2025-01-01T10:00:00+0300", "2025-01-01 07:00:00"),
    ("iso_offset_after_space", "2025-01-01 10:00:00 +0300", "2025-01-01 07:00:00"),
    ("iso_z", "2025-01-01T10:00:00Z", "2025-01-01 10:00:00"),
    ("iso_z_fraction", "2025-01-01T10:00:00.250Z", "2025-01-01 10:00:00.250"),
    ("iso_z_after_space", "2025-01-01 10:00:00 Z", "2025-01-01 10:00:00"),
    ("utc_suffix", "2025-01-01 10:00:00 UTC", "2025-01-01 10:00:00"),
    ("zone_name_suffix", "2025-01-01 10:00:00 Europe/Samara", "2025-01-01 06:00:00"),
    ("naive_is_moscow", "2025-01-01 10:00:00", "2025-01-01 07:00:00"),
    ("naive_iso_t_is_moscow", "2025-01-01T10:00:00", "2025-01-01 07:00:00"),
    ("naive_no_seconds", "2025-01-01 10:00", "2025-01-01 07:00:00"),
    ("naive_date_only", "2025-01-01", "2024-12-31 21:00:00"),
    ("naive_slashes", "2025/01/01 10:00", "2025-01-01 07:00:00"),
    ("naive_fraction", "2025-01-01 10:00:00.5", "2025-01-01 07:00:00.500"),
    ("epoch_seconds", "1735714800", "2025-01-01 07:00:00"),
    ("epoch_seconds_fraction", "1735714800.5", "2025-01-01 07:00:00.500"),
    ("epoch_milliseconds", "1735714800123", "2025-01-01 07:00:00.123"),
    ("epoch_microseconds", "1735714800123456", "2025-01-01 07:00:00.123456"),
    ("dd_mm_yyyy_hh_mm", "01.01.2025 10:00", "2025-01-01 07:00:00"),
    ("dd_mm_yyyy_hh_mm_ss", "01.01.2025 10:00:30", "2025-01-01 07:00:30"),
    ("dd_mm_yyyy_date_only", "01.01.2025", "2024-12-31 21:00:00"),
]


@pytest.fixture(scope="module")
def time_formats(tmp_path_factory):
    """One run over a file with every time format; event_id = case id."""
    tmp_path = tmp_path_factory.mktemp("time_formats")
    rows = "".join(f"{case},{raw},visit,GA1.2.1712345678.1\n" for case, raw, _ in TIME_CASES)
    write(tmp_path / "events.csv", "event_id,event_time,event_type,client_id\n" + rows)
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    return utc_by_id(cfg), table(cfg, "quarantine")


@pytest.mark.parametrize(("case", "raw", "expected_utc"), TIME_CASES, ids=[c[0] for c in TIME_CASES])
def test_event_time_formats_stored_as_naive_utc(time_formats, case, raw, expected_utc):
    loaded, quarantine = time_formats
    assert case not in " ".join(quarantine["raw_text"]), quarantine.to_string()
    assert loaded[case] == ts(expected_utc)


def test_time_with_unknown_zone_is_quarantined_not_misread(tmp_path):
    # 'MSK' is not a zone DuckDB knows; dropping it silently would misplace the event by hours
    # when the source is not in Moscow time.
    write(tmp_path / "events.csv", "event_time,event_type,client_id\n"
                                   "2025-01-01 10:00:00 MSK,visit,c1\n"
                                   "2025-01-01 10:00:00 Europe/Nowhere,visit,c1\n"
                                   "2025-01-01 25:00:00,visit,c1\n")
    cfg = make_cfg(tmp_path, source("events.csv", timezone="Asia/Novosibirsk"))
    run(cfg)
    assert events(cfg).empty
    assert table(cfg, "quarantine")["reason"].str.startswith("event_time: cannot parse").tolist() == [True] * 3


def test_event_ts_column_is_timestamp_without_time_zone(tmp_path):
    write(tmp_path / "events.csv", "event_time,event_type,client_id\n2025-01-01T10:00:00+03:00,visit,c1\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    types = sql(cfg, "select column_name, data_type from information_schema.columns "
                     "where table_name = 'events' and column_name = 'event_ts'")
    assert types["data_type"].tolist() == ["TIMESTAMP"]


def test_midnight_straddling_moscow_and_utc(tmp_path):
    # 01:30 Moscow on 1 January is still 31 December in UTC; 23:30Z on 31 December is
    # 02:30 on 1 January in Moscow but must stay 31 December 23:30 in UTC.
    write(tmp_path / "events.csv",
          "event_id,event_time,event_type,client_id\n"
          "a,2025-01-01 01:30:00,visit,c1\n"
          "b,2024-12-31T23:30:00Z,visit,c1\n"
          "c,01.01.2025 02:59,purchase,c1\n"
          "d,2025-01-01T00:15:00+03:00,visit,c1\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    assert utc_by_id(cfg) == {
        "a": ts("2024-12-31 22:30:00"),
        "b": ts("2024-12-31 23:30:00"),
        "c": ts("2024-12-31 23:59:00"),
        "d": ts("2024-12-31 21:15:00"),
    }


def test_source_timezone_overrides_config_timezone(tmp_path):
    # Same naive wall-clock time in two sources: the CRM in Yekaterinburg (UTC+5) and the
    # site in Moscow (the config's time zone, UTC+3). Explicit offsets ignore both.
    write(tmp_path / "crm.csv", "event_id,event_time,event_type,crm_contact_id\n"
                                "k1,2025-03-10 09:00:00,purchase,77001\n"
                                "k2,2025-03-10T09:00:00+03:00,purchase,77001\n")
    write(tmp_path / "site.csv", "event_id,event_time,event_type,client_id\ns1,2025-03-10 09:00:00,visit,GA1.2.3\n")
    cfg = make_cfg(tmp_path, source("crm.csv", name="crm", timezone="Asia/Yekaterinburg"),
                   source("site.csv", name="site"))
    run(cfg)
    ev = events(cfg).set_index("event_id")["event_ts"]
    assert ev["crm:k1"] == ts("2025-03-10 04:00:00")
    assert ev["crm:k2"] == ts("2025-03-10 06:00:00")
    assert ev["site:s1"] == ts("2025-03-10 06:00:00")


def test_utc_config_timezone_keeps_naive_times(tmp_path):
    write(tmp_path / "events.csv", "event_id,event_time,event_type,client_id\ne1,2025-01-01 10:00:00,visit,c1\n")
    cfg = make_cfg(tmp_path, source("events.csv"), timezone="UTC")
    run(cfg)
    assert utc_by_id(cfg) == {"e1": ts("2025-01-01 10:00:00")}


# --------------------------------------------------------------------------- CSV dialects


def test_cp1251_semicolon_with_cyrillic_headers_mapped(tmp_path):
    text = (
        "Дата;Событие;Телефон;Город;Товар;Сумма\r\n"
        "15.02.2025 14:05;purchase;+7 (916) 123-45-67;Москва;Чайник электрический «Витязь»;4 990,00\r\n"
        "15.02.2025 14:10;visit;8 916 765-43-21;Санкт-Петербург;Утюг;\r\n"
    )
    write(tmp_path / "crm_export.csv", text, encoding="cp1251")
    cfg = make_cfg(tmp_path, source("crm_export.csv", columns={
        "Дата": "event_time", "Событие": "event_type", "Телефон": "phone", "Сумма": "revenue"}))
    run(cfg)
    ev = events(cfg)
    assert ev["event_type"].tolist() == ["purchase", "visit"]
    assert ev["event_ts"].tolist() == [ts("2025-02-15 11:05:00"), ts("2025-02-15 11:10:00")]
    assert ev["phone"].tolist() == ["+79161234567", "+79167654321"]
    assert ev["revenue"].iloc[0] == pytest.approx(4990.0)
    assert props(ev, 0) == {"Город": "Москва", "Товар": "Чайник электрический «Витязь»"}
    assert props(ev, 1)["Город"] == "Санкт-Петербург"
    assert table(cfg, "quarantine").empty


def test_utf8_with_bom_first_header_recognised(tmp_path):
    text = "\ufeffevent_time,event_type,email,Город\n2025-01-05 12:00:00,visit,Ivan.Petrov@Mail.ru,Казань\n"
    write(tmp_path / "bom.csv", text)
    cfg = make_cfg(tmp_path, source("bom.csv"))
    run(cfg)
    ev = events(cfg)
    assert ev["event_ts"].tolist() == [ts("2025-01-05 09:00:00")]
    assert ev["email"].tolist() == ["ivan.petrov@mail.ru"]
    assert props(ev) == {"Город": "Казань"}


def test_utf8_with_bom_and_cyrillic_mapping(tmp_path):
    # Excel's "CSV UTF-8" export: BOM, ';' and Cyrillic headers; the BOM must not stick to "Дата".
    text = "\ufeffДата;Тип;ID клиента\n05.01.2025 12:00;visit;100500\n"
    write(tmp_path / "excel.csv", text)
    cfg = make_cfg(tmp_path, source("excel.csv", columns={"Дата": "event_time", "Тип": "event_type",
                                                         "ID клиента": "customer_id"}))
    run(cfg)
    ev = events(cfg)
    assert ev["customer_key"].tolist() == ["100500"]
    assert ev["event_ts"].tolist() == [ts("2025-01-05 09:00:00")]


def test_tab_separated(tmp_path):
    text = ("event_time\tevent_type\tanonymous_id\tutm_source\tКомментарий\n"
            "2025-01-01 10:00:00\tvisit\tab12\tyandex\tзвонок, перезвонить; срочно\n")
    write(tmp_path / "events.tsv", text)
    cfg = make_cfg(tmp_path, source("events.tsv"))
    run(cfg)
    ev = events(cfg)
    assert ev["utm_source"].tolist() == ["yandex"]
    assert props(ev) == {"Комментарий": "звонок, перезвонить; срочно"}


def test_excel_unicode_text_utf16_tab_separated(tmp_path):
    # Excel's "Unicode text" export: UTF-16 LE with a BOM, tab-separated.
    text = "Дата\tСобытие\tКлиент\tМенеджер\r\n20.03.2025 18:45\tpurchase\t100500\tОльга Смирнова\r\n"
    (tmp_path / "deals.txt").write_bytes(text.encode("utf-16"))
    cfg = make_cfg(tmp_path, source("deals.txt", columns={"Дата": "event_time", "Событие": "event_type",
                                                         "Клиент": "crm_contact_id"}))
    run(cfg)
    ev = events(cfg)
    assert ev["event_ts"].tolist() == [ts("2025-03-20 15:45:00")]
    assert ev["crm_contact_id"].tolist() == ["100500"]
    assert props(ev) == {"Менеджер": "Ольга Смирнова"}


def test_explicit_encoding_and_delimiter_override(tmp_path):
    # koi8-r would be mis-sniffed as cp1251; '\t' is written as the two characters backslash-t.
    text = "event_time\tevent_type\tclient_id\tгород\n2025-01-01 10:00:00\tvisit\tc1\tНовосибирск\n"
    write(tmp_path / "koi.txt", text, encoding="koi8-r")
    cfg = make_cfg(tmp_path, source("koi.txt", encoding="koi8-r", delimiter="\\t"))
    run(cfg)
    assert props(events(cfg)) == {"город": "Новосибирск"}


def test_explicit_delimiter_beats_sniffing(tmp_path):
    # The last header has more commas than the line has ';': sniffing would pick ','.
    text = ("event_time;event_type;client_id;Адрес: город, улица, дом, кв\n"
            "2025-01-01 10:00:00;visit;c1;Москва, Тверская, 7, 12\n")
    write(tmp_path / "events.csv", text)
    cfg = make_cfg(tmp_path, source("events.csv", delimiter=";"))
    run(cfg)
    assert props(events(cfg)) == {"Адрес: город, улица, дом, кв": "Москва, Тверская, 7, 12"}


def test_quoted_fields_with_delimiter_and_newlines(tmp_path):
    text = (
        'event_time,event_type,client_id,comment,url\n'
        '2025-01-01 10:00:00,visit,c1,"Добрый день, интересует доставка\nв Химки","https://shop.example.ru/?a=1,2"\n'
        '2025-01-01 10:05:00,visit,c2,"кавычки ""ёлочки"" и запятая, тут",https://shop.example.ru/\n'
    )
    write(tmp_path / "events.csv", text)
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    ev = events(cfg)
    assert table(cfg, "quarantine").empty
    assert [props(ev, i)["comment"] for i in range(2)] == [
        "Добрый день, интересует доставка\nв Химки", 'кавычки "ёлочки" и запятая, тут']
    assert ev["url"].tolist() == ["https://shop.example.ru/?a=1,2", "https://shop.example.ru/"]
    assert ev["_row"].tolist() == [1, 2]


def test_gzip_csv(tmp_path):
    text = "event_time;event_type;client_id;Город\n2025-01-01 10:00:00;visit;c1;Самара\n2025-01-01 11:00:00;purchase;c1;Самара\n"
    (tmp_path / "events.csv.gz").write_bytes(gzip.compress(text.encode("cp1251")))
    cfg = make_cfg(tmp_path, source("events.csv.gz"))
    run(cfg)
    ev = events(cfg)
    assert ev["event_type"].tolist() == ["visit", "purchase"]
    assert props(ev) == {"Город": "Самара"}


def test_trailing_delimiter_unnamed_column(tmp_path):
    # 1C/Excel exports often end every line with the delimiter: an unnamed last column.
    text = "event_time;event_type;client_id;\n2025-01-01 10:00:00;visit;c1;\n2025-01-01 10:01:00;visit;c2;\n"
    write(tmp_path / "export_1c.csv", text, encoding="cp1251")
    cfg = make_cfg(tmp_path, source("export_1c.csv"))
    run(cfg)
    assert len(events(cfg)) == 2
    assert table(cfg, "quarantine").empty


def test_file_with_no_extra_columns_has_empty_properties(tmp_path):
    write(tmp_path / "events.csv", "event_time,event_type,client_id\n2025-01-01 10:00:00,visit,c1\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    assert props(events(cfg)) == {}


def test_header_only_file_loads_nothing(tmp_path):
    write(tmp_path / "events.csv", "event_time,event_type,client_id\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    assert events(cfg).empty
    assert accounting(cfg)["shop"]["rows_in"] == 0


def test_header_with_quoted_line_break(tmp_path):
    text = ('event_time,event_type,client_id,"Комментарий\nменеджера"\n'
            "2025-01-01 10:00:00,visit,c1,перезвонить\n"
            "2025-01-01 10:05:00,visit,c2,\n")
    write(tmp_path / "events.csv", text)
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    ev = events(cfg)
    assert table(cfg, "quarantine").empty
    assert ev["_row"].tolist() == [1, 2]
    assert props(ev, 0) == {"Комментарий\nменеджера": "перезвонить"}


def test_headers_named_like_internal_columns(tmp_path):
    # '_row' and 'file_row_number' are ordinary file columns: properties, not row numbers.
    write(tmp_path / "events.csv", "event_time,event_type,client_id,_row,_load_id\n2025-01-01 10:00:00,visit,c1,77,x\n")
    _parquet(tmp_path / "events.parquet", event_time=pa.array(["2025-01-01 10:00:00"]), event_type=pa.array(["visit"]),
             client_id=pa.array(["c2"]), _row=pa.array([5], pa.int64()), file_row_number=pa.array([9], pa.int64()))
    cfg = make_cfg(tmp_path, source("events.csv", name="csv"), source("events.parquet", name="pq"))
    run(cfg)
    ev = events(cfg)
    assert ev["_row"].tolist() == [1, 1]
    assert props(ev, 0) == {"_load_id": "x", "_row": "77"}
    assert props(ev, 1) == {"_row": "5", "file_row_number": "9"}


def test_columns_differing_only_in_case(tmp_path):
    # DuckDB identifiers are case-insensitive; both columns must survive, and the exact
    # unified name wins over another spelling of it.
    write(tmp_path / "events.csv",
          "event_time,event_type,Email,email,City,city\n"
          "2025-01-01 10:00:00,visit,Old@Mail.ru,new@mail.ru,Москва,Moscow\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    ev = events(cfg)
    assert ev["email"].tolist() == ["new@mail.ru"]
    assert props(ev) == {"City": "Москва", "Email": "Old@Mail.ru", "city": "Moscow"}


# --------------------------------------------------------------------------- Parquet, folders, globs


def _parquet(path: Path, **columns) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_with_timestamp_and_int64_columns(tmp_path):
    _parquet(
        tmp_path / "events.parquet",
        event_time=pa.array([dt.datetime(2025, 1, 1, 10, 0), dt.datetime(2025, 1, 1, 23, 30)], pa.timestamp("us")),
        event_type=pa.array(["visit", "purchase"]),
        client_id=pa.array([1712345678901234567, 1712345678901234568], pa.int64()),
        order_number=pa.array([None, 2], pa.int64()),
        revenue=pa.array([None, 12990.5], pa.float64()),
        city=pa.array(["Москва", "Тула"]),
    )
    cfg = make_cfg(tmp_path, source("events.parquet"))
    run(cfg)
    ev = events(cfg)
    # a naive Parquet timestamp is wall-clock time in the source's zone, like a naive CSV time
    assert ev["event_ts"].tolist() == [ts("2025-01-01 07:00:00"), ts("2025-01-01 20:30:00")]
    assert ev["client_id"].tolist() == ["1712345678901234567", "1712345678901234568"]
    assert ev["revenue"].iloc[1] == pytest.approx(12990.5)
    assert props(ev, 1) == {"city": "Тула", "order_number": "2"}
    assert ev["_row"].tolist() == [1, 2]
    assert table(cfg, "quarantine").empty


def test_parquet_timestamp_with_time_zone_is_converted(tmp_path):
    _parquet(
        tmp_path / "events.parquet",
        Event_Time=pa.array([dt.datetime(2025, 1, 1, 10, 0)], pa.timestamp("ms", tz="UTC")),
        Event_Type=pa.array(["visit"]),
        User_ID=pa.array([42], pa.int64()),
    )
    cfg = make_cfg(tmp_path, source("events.parquet"))
    run(cfg)
    ev = events(cfg)
    assert ev["event_ts"].tolist() == [ts("2025-01-01 10:00:00")]
    assert ev["user_id"].tolist() == ["42"]


def test_folder_source_reads_csv_and_parquet_files(tmp_path):
    folder = tmp_path / "exports"
    write(folder / "2025-01-01.csv", "event_time,event_type,client_id\n2025-01-01 10:00:00,visit,c1\n")
    write(folder / "sub" / "2025-01-02.csv", "event_time;event_type;client_id\n2025-01-02 10:00:00;visit;c2\n",
          encoding="cp1251")
    _parquet(folder / "2025-01-03.parquet", event_time=pa.array(["2025-01-03 10:00:00"]),
             event_type=pa.array(["purchase"]), client_id=pa.array(["c3"]))
    write(folder / "README.md", "not data")
    cfg = make_cfg(tmp_path, source("exports"))
    run(cfg)
    ev = events(cfg)
    assert sorted(ev["client_id"]) == ["c1", "c2", "c3"]
    assert accounting(cfg)["shop"]["files"] == 3


def test_glob_source_reads_matching_files_only(tmp_path):
    for day in (1, 2, 3):
        write(tmp_path / "in" / f"events_2025-01-0{day}.csv",
              f"event_time,event_type,client_id\n2025-01-0{day} 10:00:00,visit,c{day}\n")
    write(tmp_path / "in" / "orders_2025-01-01.csv", "event_time,event_type,client_id\n2025-01-01 10:00:00,purchase,c9\n")
    cfg = make_cfg(tmp_path, source("in/events_*.csv"))
    run(cfg)
    ev = events(cfg)
    assert sorted(ev["client_id"]) == ["c1", "c2", "c3"]
    assert sorted(Path(f).name for f in ev["_file"]) == [f"events_2025-01-0{d}.csv" for d in (1, 2, 3)]


# --------------------------------------------------------------------------- ids and properties


def test_19_digit_ids_stay_exact(tmp_path):
    write(tmp_path / "events.csv",
          "event_id,event_time,event_type,anonymous_id,user_id,order_id\n"
          "9007199254740993123,2025-01-01 10:00:00,visit,1712345678901234567,9223372036854775807,1712345678901234599\n")
    _parquet(tmp_path / "events.parquet",
             event_time=pa.array(["2025-01-01 11:00:00"]), event_type=pa.array(["visit"]),
             anonymous_id=pa.array([1712345678901234567], pa.int64()),
             order_id=pa.array([9007199254740993], pa.int64()))
    cfg = make_cfg(tmp_path, source("events.csv", name="csv"), source("events.parquet", name="pq"))
    run(cfg)
    ev = events(cfg).set_index("source")
    assert ev.loc["csv", "event_id"] == "csv:9007199254740993123"
    assert ev.loc["csv", "anonymous_id"] == "1712345678901234567"
    assert ev.loc["csv", "user_id"] == "9223372036854775807"
    assert ev.loc["pq", "anonymous_id"] == "1712345678901234567"
    frame = events(cfg)
    assert props(frame, 0)["order_id"] == "1712345678901234599"
    assert props(frame, 1)["order_id"] == "9007199254740993"


def test_revenue_in_russian_number_formats(tmp_path):
    written = ["4990", "4 990,50", "4\u00a0990,50", "4\u202f990,50", "4990.50", "-150,00", ""]
    rows = "".join(f'2025-01-01 10:00:00;purchase;c{i};"{w}"\n' for i, w in enumerate(written, start=1))
    write(tmp_path / "orders.csv", "event_time;event_type;client_id;revenue\n" + rows)
    cfg = make_cfg(tmp_path, source("orders.csv"))
    run(cfg)
    ev = events(cfg)
    got = dict(zip(ev["_row"], ev["revenue"]))
    assert [got[i] for i in range(1, 7)] == pytest.approx([4990.0, 4990.5, 4990.5, 4990.5, 4990.5, -150.0])
    assert math.isnan(got[7])  # empty revenue is null
    assert table(cfg, "quarantine").empty


def test_other_columns_kept_as_text_properties_and_unified_names_case_insensitive(tmp_path):
    write(tmp_path / "events.csv",
          "Event_Time,EVENT_TYPE,Client_ID,UTM_Source,Utm_Medium,URL,Revenue,Order_Number,Скидка,is_new\n"
          '2025-01-01 10:00:00,purchase,GA1.2.777,yandex,cpc,https://shop.example.ru/cart,"1 500,00",7,10%,true\n')
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    ev = events(cfg)
    row = ev.iloc[0]
    assert (row["client_id"], row["utm_source"], row["utm_medium"], row["url"]) == (
        "GA1.2.777", "yandex", "cpc", "https://shop.example.ru/cart")
    assert row["revenue"] == pytest.approx(1500.0)
    assert props(ev) == {"Order_Number": "7", "Скидка": "10%", "is_new": "true"}


PHONES = [
    ("+7 (916) 123-45-67", "+79161234567"),
    ("8 (916) 123-45-67", "+79161234567"),
    ("8-916-123-45-67", "+79161234567"),
    ("7 916 1234567", "+79161234567"),
    ("9161234567", "+79161234567"),
    ("+7 916 123 45 67 ", "+79161234567"),
    ("00 375 29 123-45-67", "+375291234567"),
    ("+375 (29) 123-45-67", "+375291234567"),
]


@pytest.fixture(scope="module")
def phones(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("phones")
    rows = "".join(f'2025-01-01 10:00:00;call;"{written}"\n' for written, _ in PHONES)
    write(tmp_path / "events.csv", "event_time;event_type;phone\n" + rows)
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    ev = events(cfg)
    return dict(zip(ev["_row"], ev["phone"]))


@pytest.mark.parametrize("index", range(len(PHONES)), ids=[p[0] for p in PHONES])
def test_phones_normalised_to_e164(phones, index):
    # a CRM writes 8 (916) ..., the site form +7 (916) ...: one person, one identifier
    assert phones[index + 1] == PHONES[index][1]


# --------------------------------------------------------------------------- quarantine


def test_quarantine_reasons_and_row_numbers(tmp_path):
    write(tmp_path / "events.csv",
          "event_time,event_type,client_id,phone,revenue\n"
          "2025-01-01 10:00:00,visit,c1,,\n"                 # 1 ok
          "вчера вечером,visit,c1,,\n"                       # 2 unparseable time
          ",visit,c1,,\n"                                    # 3 empty time
          "2025-01-01 10:00:00,,c1,,\n"                      # 4 empty event_type
          "2025-01-01 10:00:00,visit,,,\n"                   # 5 no identifier (empty)
          "2025-01-01 10:00:00,visit,null,-,\n"              # 6 placeholders
          "2025-01-01 10:00:00,visit,undefined,0,\n"         # 7 placeholders
          "2025-01-01 10:00:00,purchase,c1,,пятьсот\n"       # 8 bad revenue
          "2025-01-01 10:00:00,purchase,c1,,1 990\n"         # 9 ok
          "2025-13-45 10:00:00,visit,c1,,\n"                 # 10 impossible date
          "   ,visit,c1,,\n")                                # 11 blank time
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    q = table(cfg, "quarantine")
    reasons = dict(zip(q["row_number"].tolist(), q["reason"].tolist()))
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 10, 11]
    assert reasons[2].startswith("event_time: cannot parse") and "вчера вечером" in reasons[2]
    assert reasons[3] == "event_time: empty"
    assert reasons[4] == "event_type: empty"
    for r in (5, 6, 7):
        assert reasons[r].startswith("identifiers:")
    assert reasons[8].startswith("revenue:") and "пятьсот" in reasons[8]
    assert reasons[10].startswith("event_time: cannot parse")
    assert reasons[11] == "event_time: empty"
    assert set(q["file"]) == {str(tmp_path / "events.csv")}
    assert events(cfg)["_row"].tolist() == [1, 9]
    assert accounting(cfg)["shop"] == {"files": 1, "rows_in": 11, "rows_loaded": 2, "rows_duplicate": 0,
                                       "rows_quarantined": 9}


NULL_IDENTIFIERS = ["", "null", "NULL", "undefined", "-", "0", " ", "None", "(null)"]


@pytest.fixture(scope="module")
def null_identifiers(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("null_identifiers")
    rows = "".join(f'2025-01-01 10:00:00,visit,"{t}","{t}","{t}","{t}"\n' for t in NULL_IDENTIFIERS)
    write(tmp_path / "events.csv", "event_time,event_type,client_id,email,phone,customer_id\n" + rows
          + "2025-01-01 10:00:00,visit,null,,,42\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    return table(cfg, "quarantine"), events(cfg)


@pytest.mark.parametrize("index", range(len(NULL_IDENTIFIERS)), ids=[repr(t) for t in NULL_IDENTIFIERS])
def test_identifier_placeholders_count_as_no_identifier(null_identifiers, index):
    quarantine, loaded = null_identifiers
    reasons = dict(zip(quarantine["row_number"], quarantine["reason"]))
    assert reasons[index + 1].startswith("identifiers:")
    assert loaded["_row"].tolist() == [len(NULL_IDENTIFIERS) + 1]  # the one row with a real customer_id


def test_ragged_row_quarantined_with_raw_text_and_following_rows_keep_numbers(tmp_path):
    write(tmp_path / "events.csv",
          "event_time,event_type,client_id,city\n"
          "2025-01-01 10:00:00,visit,c1,Москва\n"                       # 1
          '2025-01-01 10:01:00,visit,c2,"Ростов-на-Дону,\nулица"\n'      # 2 (two physical lines)
          "2025-01-01 10:02:00,visit,c3,Москва,лишнее поле\n"           # 3 too many fields
          "2025-01-01 10:03:00,visit,c4,Пермь\n"                        # 4
          "2025-01-01 10:04:00,visit,c5\n"                              # 5 too few fields
          "2025-01-01 10:05:00,purchase,c6,Омск\n")                     # 6
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    q = table(cfg, "quarantine")
    assert q["row_number"].tolist() == [3, 5]
    assert q["raw_text"].tolist() == ["2025-01-01 10:02:00,visit,c3,Москва,лишнее поле", "2025-01-01 10:04:00,visit,c5"]
    assert "expected 4 fields, got 5" in q["reason"].iloc[0]
    ev = events(cfg)
    assert dict(zip(ev["client_id"], ev["_row"])) == {"c1": 1, "c2": 2, "c4": 4, "c6": 6}
    assert accounting(cfg)["shop"] == {"files": 1, "rows_in": 6, "rows_loaded": 4, "rows_duplicate": 0,
                                       "rows_quarantined": 2}


def test_row_numbers_across_many_batches(tmp_path, monkeypatch):
    # Small read blocks so the file arrives in many batches, with ragged rows in several.
    from cjm_pipeline.ingest import generic
    monkeypatch.setattr(generic, "_BLOCK", 512)
    monkeypatch.setattr(generic, "_PARQUET_BATCH", 7)
    ragged = {5, 37, 38, 120, 199}
    lines = []
    for i in range(1, 201):
        extra = ",лишнее" if i in ragged else ""
        lines.append(f"2025-01-01 10:00:00,visit,c{i},Москва{extra}\n")
    write(tmp_path / "big.csv", "event_time,event_type,client_id,city\n" + "".join(lines))
    _parquet(tmp_path / "big.parquet", event_time=pa.array(["2025-01-01 10:00:00"] * 50),
             event_type=pa.array(["visit"] * 50), client_id=pa.array([f"p{i}" for i in range(1, 51)]))
    cfg = make_cfg(tmp_path, source("big.csv", name="csv"), source("big.parquet", name="pq"))
    run(cfg)
    q = table(cfg, "quarantine")
    assert q["row_number"].tolist() == sorted(ragged)
    assert q["raw_text"].str.contains("c37,").tolist() == [False, True, False, False, False]
    ev = events(cfg)
    for _, row in ev.iterrows():
        assert row["client_id"][1:] == str(row["_row"])
    assert len(ev) == 200 - len(ragged) + 50
    assert accounting(cfg)["csv"]["rows_in"] == 200


def test_quarantine_row_numbers_in_cp1251_semicolon_file(tmp_path):
    text = ("Дата;Событие;Клиент\r\n"
            "01.02.2025 09:00;visit;100\r\n"
            "01.02.2025 09:05;visit;101;лишнее\r\n"
            "31.02.2025 09:10;visit;102\r\n"
            "01.02.2025 09:15;;103\r\n")
    write(tmp_path / "crm.csv", text, encoding="cp1251")
    cfg = make_cfg(tmp_path, source("crm.csv", columns={"Дата": "event_time", "Событие": "event_type",
                                                       "Клиент": "crm_contact_id"}))
    run(cfg)
    q = table(cfg, "quarantine")
    assert q["row_number"].tolist() == [2, 3, 4]
    assert q["raw_text"].iloc[0] == "01.02.2025 09:05;visit;101;лишнее"
    assert q["reason"].iloc[1].startswith("event_time: cannot parse")
    assert q["reason"].iloc[2] == "event_type: empty"


# --------------------------------------------------------------------------- accounting and duplicates


def test_accounting_balances_with_duplicates_and_quarantine(tmp_path):
    write(tmp_path / "events.csv",
          "event_time,event_type,client_id,url\n"
          "2025-01-01 10:00:00,visit,c1,https://shop.example.ru/\n"
          "2025-01-01 10:00:00,visit,c1,https://shop.example.ru/\n"     # exact duplicate
          "2025-01-01 10:00:00,visit,c1,https://shop.example.ru/\n"     # exact duplicate
          "2025-01-01 10:01:00,visit,c1,https://shop.example.ru/\n"
          "когда-то,visit,c1,\n"
          "2025-01-01 10:02:00,visit,c1,x,y\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    result = run(cfg)
    assert accounting(cfg)["shop"] == {"files": 1, "rows_in": 6, "rows_loaded": 2, "rows_duplicate": 2,
                                       "rows_quarantined": 2}
    assert result.totals == {"rows_in": 6, "rows_loaded": 2, "rows_duplicate": 2, "rows_quarantined": 2}
    assert events(cfg)["_row"].tolist() == [1, 4]


def test_same_given_event_id_twice_is_one_event(tmp_path):
    write(tmp_path / "events.csv",
          "event_id,event_time,event_type,client_id,status\n"
          "ord-1001,2025-01-01 10:00:00,purchase,c1,new\n"
          "ord-1001,2025-01-01 10:30:00,purchase,c1,paid\n"
          "ord-1002,2025-01-01 11:00:00,purchase,c2,new\n")
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    ev = events(cfg)
    assert ev["event_id"].tolist() == ["shop:ord-1001", "shop:ord-1002"]
    assert props(ev, 0) == {"status": "new"}  # the first by file and row
    assert accounting(cfg)["shop"]["rows_duplicate"] == 1


def test_accounting_per_source(tmp_path):
    write(tmp_path / "a.csv", "event_time,event_type,client_id\n2025-01-01 10:00:00,visit,c1\n2025-01-01 10:00:00,visit,c1\n")
    write(tmp_path / "b.csv", "event_time,event_type,client_id\n2025-01-01 10:00:00,visit,c1\nx,visit,c1\n")
    cfg = make_cfg(tmp_path, source("a.csv", name="web"), source("b.csv", name="crm"))
    run(cfg)
    acc = accounting(cfg)
    assert acc["web"] == {"files": 1, "rows_in": 2, "rows_loaded": 1, "rows_duplicate": 1, "rows_quarantined": 0}
    assert acc["crm"] == {"files": 1, "rows_in": 2, "rows_loaded": 1, "rows_duplicate": 0, "rows_quarantined": 1}
    # the same content in two sources is two events (the source is part of the id)
    assert len(events(cfg)) == 2


# --------------------------------------------------------------------------- incremental loads


DAY1 = ("event_time,event_type,client_id,city\n"
        "2025-01-01 10:00:00,visit,c1,Москва\n"
        "2025-01-01 10:05:00,purchase,c1,Москва\n"
        "2025-01-01 11:00:00,visit,c2,Казань\n")
DAY2 = ("event_time,event_type,client_id,city\n"
        "2025-01-01 11:00:00,visit,c2,Казань\n"       # overlap with day 1
        "2025-01-02 09:00:00,visit,c3,Уфа\n"
        "2025-01-02 09:30:00,purchase,c3,Уфа\n")


def test_second_run_skips_loaded_file_and_events_are_identical(tmp_path):
    write(tmp_path / "in" / "day1.csv", DAY1)
    cfg = make_cfg(tmp_path, source("in"))
    first = run(cfg)
    before = events(cfg)
    second = run(cfg)
    assert [f.status for f in first.loads] == ["loaded"]
    assert [f.status for f in second.loads] == ["skipped"]
    after = events(cfg)
    assert before.drop(columns=["properties"]).equals(after.drop(columns=["properties"]))
    assert [props(before, i) for i in range(len(before))] == [props(after, i) for i in range(len(after))]
    assert accounting(cfg)["shop"]["rows_in"] == 3


def test_new_file_with_overlapping_rows_counts_overlap_as_duplicates(tmp_path):
    write(tmp_path / "in" / "day1.csv", DAY1)
    cfg = make_cfg(tmp_path, source("in"))
    run(cfg)
    ids_day1 = set(events(cfg)["event_id"])
    write(tmp_path / "in" / "day2.csv", DAY2)
    result = run(cfg)
    assert sorted((Path(f.file).name, f.status) for f in result.loads) == [("day1.csv", "skipped"), ("day2.csv", "loaded")]
    ev = events(cfg)
    assert len(ev) == 5
    assert ids_day1 <= set(ev["event_id"])
    assert accounting(cfg)["shop"] == {"files": 2, "rows_in": 6, "rows_loaded": 5, "rows_duplicate": 1,
                                       "rows_quarantined": 0}
    # the overlapping row is kept from the first load
    kazan = ev[ev["client_id"] == "c2"]
    assert [Path(f).name for f in kazan["_file"]] == ["day1.csv"]


def test_renamed_copy_of_loaded_file_is_skipped(tmp_path):
    write(tmp_path / "in" / "day1.csv", DAY1)
    cfg = make_cfg(tmp_path, source("in"))
    run(cfg)
    write(tmp_path / "in" / "day1 (copy).csv", DAY1)
    result = run(cfg)
    assert all(f.status == "skipped" for f in result.loads)
    assert accounting(cfg)["shop"]["rows_in"] == 3


def test_full_refresh_reloads_everything(tmp_path):
    write(tmp_path / "in" / "day1.csv", DAY1)
    write(tmp_path / "in" / "day2.csv", DAY2)
    cfg = make_cfg(tmp_path, source("in"))
    run(cfg)
    before = events(cfg)
    result = run(cfg, full_refresh=True)
    assert [f.status for f in result.loads] == ["loaded", "loaded"]
    after = events(cfg)
    assert before["event_id"].tolist() == after["event_id"].tolist()
    assert before["event_ts"].tolist() == after["event_ts"].tolist()
    assert accounting(cfg)["shop"] == {"files": 2, "rows_in": 6, "rows_loaded": 5, "rows_duplicate": 1,
                                       "rows_quarantined": 0}
    assert int(sql(cfg, "select count(*) as n from _cjm_loads")["n"].iloc[0]) == 2


# --------------------------------------------------------------------------- event_id stability


def test_hash_event_id_independent_of_column_order(tmp_path):
    a = ("event_time,event_type,client_id,utm_source,город,order_id,device\n"
         "2025-01-01 10:00:00,purchase,c1,yandex,Москва,1712345678901234567,mobile\n")
    b = ("device,order_id,город,utm_source,client_id,event_type,event_time\n"
         "mobile,1712345678901234567,Москва,yandex,c1,purchase,2025-01-01 10:00:00\n")
    write(tmp_path / "a.csv", a)
    write(tmp_path / "b.csv", b)
    cfg = make_cfg(tmp_path, source("a.csv", name="s1"), source("b.csv", name="s2"))
    run(cfg)
    ev = events(cfg).set_index("source")
    assert ev.loc["s1", "event_id"].split(":", 1)[1] == ev.loc["s2", "event_id"].split(":", 1)[1]


def test_hash_event_id_same_for_csv_and_parquet_export(tmp_path):
    write(tmp_path / "a.csv", "event_time,event_type,client_id,order_number\n2025-01-01 10:00:00,purchase,c1,3\n")
    _parquet(tmp_path / "b.parquet", order_number=pa.array(["3"]), client_id=pa.array(["c1"]),
             event_type=pa.array(["purchase"]), event_time=pa.array(["2025-01-01 10:00:00"]))
    cfg = make_cfg(tmp_path, source("a.csv", name="s1"), source("b.parquet", name="s2"))
    run(cfg)
    ids = events(cfg)["event_id"].str.split(":", n=1).str[1]
    assert ids.nunique() == 1


def test_hash_event_id_stable_across_full_refresh(tmp_path):
    write(tmp_path / "a.csv", DAY1)
    cfg = make_cfg(tmp_path, source("a.csv"))
    run(cfg)
    before = sorted(events(cfg)["event_id"])
    run(cfg, full_refresh=True)
    assert sorted(events(cfg)["event_id"]) == before


def test_hash_event_id_distinguishes_properties_containing_separators(tmp_path):
    # Two different records whose properties would print alike as '{a=1, b=2}'.
    write(tmp_path / "a.csv",
          "event_time,event_type,client_id,a,b\n"
          '2025-01-01 10:00:00,visit,c1,"1, b=2",\n'
          "2025-01-01 10:00:00,visit,c1,1,2\n")
    cfg = make_cfg(tmp_path, source("a.csv"))
    run(cfg)
    assert len(events(cfg)) == 2


def test_hash_event_id_distinguishes_moved_values(tmp_path):
    # The same text in different unified columns must not collide.
    write(tmp_path / "a.csv",
          "event_time,event_type,client_id,utm_source,utm_medium\n"
          "2025-01-01 10:00:00,visit,c1,yandex,\n"
          "2025-01-01 10:00:00,visit,c1,,yandex\n")
    cfg = make_cfg(tmp_path, source("a.csv"))
    run(cfg)
    assert len(events(cfg)) == 2


# --------------------------------------------------------------------------- clear errors


def _error(tmp_path, src: dict) -> str:
    cfg = make_cfg(tmp_path, src)
    with pytest.raises(InputDataError) as info:
        run(cfg)
    return str(info.value)


def test_error_missing_event_time_column(tmp_path):
    write(tmp_path / "events.csv", "date,event_type,client_id\n2025-01-01,visit,c1\n")
    msg = _error(tmp_path, source("events.csv"))
    assert "events.csv" in msg and "event_time" in msg and "'date'" in msg


def test_error_missing_event_type_column(tmp_path):
    write(tmp_path / "events.csv", "event_time;Действие;client_id\n2025-01-01;visit;c1\n", encoding="cp1251")
    msg = _error(tmp_path, source("events.csv"))
    assert "events.csv" in msg and "event_type" in msg and "Действие" in msg


def test_error_no_identifier_column(tmp_path):
    write(tmp_path / "events.csv", "event_time,event_type,city\n2025-01-01,visit,Москва\n")
    msg = _error(tmp_path, source("events.csv"))
    assert "events.csv" in msg and "identifier" in msg and "city" in msg


def test_error_columns_mapping_names_header_not_in_file(tmp_path):
    write(tmp_path / "events.csv", "Дата,event_type,client_id\n2025-01-01,visit,c1\n")
    msg = _error(tmp_path, source("events.csv", columns={"Дата события": "event_time"}))
    assert "events.csv" in msg and "Дата события" in msg and "'Дата'" in msg


def test_error_empty_file(tmp_path):
    write(tmp_path / "events.csv", "")
    msg = _error(tmp_path, source("events.csv"))
    assert "events.csv" in msg and "empty" in msg


def test_error_path_matching_no_files(tmp_path):
    (tmp_path / "in").mkdir()
    msg = _error(tmp_path, source("in/events_*.csv"))
    assert "events_*.csv" in msg and "no input files" in msg


def test_error_missing_file(tmp_path):
    msg = _error(tmp_path, source("nope.csv"))
    assert "nope.csv" in msg


def test_error_non_utf8_file_with_forced_utf8(tmp_path):
    write(tmp_path / "events.csv", "event_time;event_type;client_id;Город\n2025-01-01;visit;c1;Москва\n", encoding="cp1251")
    msg = _error(tmp_path, source("events.csv", encoding="utf-8"))
    assert "events.csv" in msg and "utf-8" in msg and "encoding" in msg


def test_non_utf8_bytes_after_the_sniffed_sample_quarantine_that_row(tmp_path):
    # The first 64 KiB are ASCII; a cp1251 row comes later: that row is quarantined, naming the
    # encoding, and shown as cp1251; every other row loads (issue 20: never guess, never lose).
    rows = "".join(f"2025-01-01 10:00:00,visit,c{i},Moscow\n" for i in range(3000))
    data = ("event_time,event_type,client_id,city\n" + rows).encode() + "2025-01-01 10:00:00,visit,c1,Москва\n".encode("cp1251")
    (tmp_path / "events.csv").write_bytes(data)
    cfg = make_cfg(tmp_path, source("events.csv"))
    run(cfg)
    q = sql(cfg, "select row_number, reason, raw_text from quarantine")
    assert q.values.tolist() == [[3001, "encoding: not valid UTF-8 like the rest of the file (column 'city'); "
                                        "the raw text shows it read as cp1251", "2025-01-01 10:00:00,visit,c1,Москва"]]
    assert int(sql(cfg, "select count(*) as n from raw_events")["n"].iloc[0]) == 3000


def test_error_unreadable_parquet(tmp_path):
    (tmp_path / "events.parquet").write_bytes(b"PAR1 not really")
    msg = _error(tmp_path, source("events.parquet"))
    assert "events.parquet" in msg


def test_full_refresh_with_a_missing_source_keeps_the_warehouse(tmp_path):
    write(tmp_path / "in" / "day1.csv", DAY1)
    cfg = make_cfg(tmp_path, source("in/*.csv"))
    run(cfg)
    (tmp_path / "in" / "day1.csv").rename(tmp_path / "in" / "day1.bak")
    with pytest.raises(InputDataError):
        run(cfg, full_refresh=True)
    assert int(sql(cfg, "select count(*) as n from raw_events")["n"].iloc[0]) == 3


def test_failed_file_is_not_recorded_as_loaded(tmp_path):
    write(tmp_path / "in" / "a.csv", "event_time,event_type,client_id\n2025-01-01 10:00:00,visit,c1\n")
    write(tmp_path / "in" / "b.csv", "event_time,event_type,city\n2025-01-01 10:00:00,visit,Москва\n")
    cfg = make_cfg(tmp_path, source("in"))
    with pytest.raises(InputDataError):
        run(cfg)
    (tmp_path / "in" / "b.csv").write_text("event_time,event_type,client_id\n2025-01-01 11:00:00,visit,c2\n",
                                           encoding="utf-8")
    run(cfg)
    assert sorted(events(cfg)["client_id"]) == ["c1", "c2"]
    assert accounting(cfg)["shop"]["rows_in"] == 2
