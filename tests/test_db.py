"""The DuckDB seam: exact parameter binding, quoting, table names."""

import pytest

from cjm_pipeline import db


def test_bind_passes_exactly_the_parameters_used():
    assert db.bind("select $a, $b", {"a": 1, "b": 2, "c": 3}) == {"a": 1, "b": 2}
    with pytest.raises(KeyError, match=r"\['b'\]"):
        db.bind("select $a, $b", {"a": 1})


def test_parameters_in_comments_are_ignored():
    assert db.params_used("select 1 -- uses $nothing\n, $x") == {"x"}


def test_values_with_quotes_are_bound_not_formatted(con):
    value = "O'Brien'; drop table t; --"
    db.execute(con, "create table t as select $v as name", {"v": value})
    assert db.scalar(con, "select name from t") == value


def test_table_names_are_checked(con):
    with pytest.raises(ValueError, match="not a plain table name"):
        db.create_table(con, "events; drop table x", "select 1")
    db.create_table(con, "ok_name", "select $x as x", {"x": 5})
    assert db.scalar(con, "select x from ok_name") == 5


def test_quote_ident_doubles_quotes(con):
    name = 'Дата "события"'
    db.execute(con, f"create table q as select 1 as {db.quote_ident(name)}")
    assert db.columns(con, "q") == [name]


def test_session_time_zone_is_utc(con):
    assert db.scalar(con, "select current_setting('TimeZone')") == "UTC"


def test_read_only_connection_to_missing_warehouse_is_a_clear_error(tmp_path):
    from cjm_pipeline.errors import WarehouseError
    with pytest.raises(WarehouseError, match="does not exist"):
        db.connect(tmp_path / "nope.duckdb", read_only=True)
