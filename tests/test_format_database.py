"""The ``database`` format against a real PostgreSQL server the tests start (tests/pg.py).

The CRM database (tests/pg.py:CRM_SQL) has contacts with Cyrillic names and phones in
several spellings, deals with a naive ``timestamp`` in Moscow time, a ``numeric(12,2)``
amount and a 19-digit ``bigint`` Metrica client id, and a stage history with
``timestamptz`` values the server sends with a +05:00 offset (the database's TimeZone).
"""

from __future__ import annotations

import datetime as dt

import pytest
from formats import config_for, load_sources
from pg import crm_template, pg_server  # noqa: F401 - pytest fixtures

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import SourceConfig
from cjm_pipeline.errors import ConfigError, InputDataError
from cjm_pipeline.ingest import database
from cjm_pipeline.ingest.records import Event

URL_ENV = "CJM_TEST_CRM_URL"

DEALS_SQL = """
select 'deal:' || d.id || ':created' as event_id,
       'deal_created' as "Event_Type",           -- unified names match case-insensitively
       d.created_at, d.amount, d.contact_id, d.id as deal_id, d.ym_client_id, c.phone,
       d.utm_source, d.utm_medium, d.utm_campaign,
       d.title, c.full_name as contact_name, d.closed_on
from deals as d
join contacts as c on c.id = d.contact_id
order by d.id
"""

STAGES_SQL = """
select 'deal:' || h.deal_id || ':stage:' || h.stage_id || ':' || extract(epoch from h.changed_at)::bigint as event_id,
       h.changed_at as event_time, 'deal_stage_changed' as event_type, 'crm' as channel,
       h.deal_id, d.contact_id as crm_contact_id,
       h.pipeline_id, h.stage_id, h.stage_name, h.stage_semantic, h.previous_stage_id
from deal_stage_history as h
join deals as d on d.id = h.deal_id
order by h.id
"""

CONTACTS_SQL = """
select 'contact:' || id || ':created' as event_id, created_at as event_time, 'contact_created' as event_type,
       'crm' as channel, id as crm_contact_id, phone, email, full_name
from contacts
order by id
"""


def deals_source(**options) -> dict:
    return {
        "name": "crm_deals", "format": "database", "timezone": "Europe/Moscow",
        "columns": {"created_at": "event_time", "amount": "revenue", "contact_id": "crm_contact_id"},
        "options": {"url_env": URL_ENV, "query": DEALS_SQL,
                    "identifiers": {"deal_id": "crm_deal", "ym_client_id": "ym_client_id"}, **options},
    }


def stages_source() -> dict:
    return {"name": "crm_stages", "format": "database",
            "options": {"url_env": URL_ENV, "query": STAGES_SQL, "identifiers": {"deal_id": "crm_deal"}}}


def contacts_source() -> dict:
    return {"name": "crm_contacts", "format": "database",
            "options": {"url_env": URL_ENV, "query": CONTACTS_SQL}}


ALL_SOURCES = [deals_source(), stages_source(), contacts_source()]


def epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


@pytest.fixture
def crm(pg_server, crm_template, monkeypatch):  # noqa: F811
    """A fresh copy of the CRM database; its URL is in CJM_TEST_CRM_URL. Returns its name."""
    name = pg_server.copy_database(crm_template)
    monkeypatch.setenv(URL_ENV, pg_server.url(name))
    return name


def src_config(source: dict) -> SourceConfig:
    return SourceConfig(**source)


def utc(text: str):
    import pandas as pd
    return pd.Timestamp(text)


# --------------------------------------------------------------------------- fetch: records


def test_fetch_turns_rows_into_events_with_exact_text(crm, monkeypatch):
    monkeypatch.setattr(database, "BATCH_ROWS", 2)  # several fetchmany batches
    fetched = database.fetch(None, src_config(deals_source()))
    assert fetched.label == "database:crm_deals"
    assert [type(r) for r in fetched.records] == [Event, Event, Event]
    first, second, imported = fetched.records
    assert [first.row, second.row, imported.row] == [1, 2, 3]
    assert first.event_id == "deal:9001:created" and first.event_type == "deal_created"
    assert first.event_time == "2024-03-01 01:30:00"  # naive timestamp: the source's time zone
    assert first.revenue == "1234567890.12"  # numeric(12,2): every digit
    assert second.revenue == "45990.00"
    assert (first.utm_source, first.utm_medium, first.utm_campaign) == ("yandex", "cpc", "kitchens_spring")
    assert first.identifiers == [("phone", "8 (916) 123-45-67"), ("crm_contact", "501"),
                                 ("crm_deal", "9001"), ("ym_client_id", "1696470418123456789")]
    assert first.properties == {"title": "Кухня «Модерн»", "contact_name": "Иван Петров", "closed_on": None}
    assert second.properties["closed_on"] == "2024-03-20"  # a date stays a date (a property)
    assert imported.event_time is None  # quarantined later, not dropped here


def test_fetch_timestamptz_keeps_its_offset(crm):
    fetched = database.fetch(None, src_config(stages_source()))
    times = [r.event_time for r in fetched.records]
    # the database's TimeZone is Asia/Yekaterinburg: the driver gives +05:00
    assert times == ["2024-03-01T03:30:00+05:00", "2024-03-03T01:30:00+05:00",
                     "2024-03-05T16:21:07+05:00", "2024-03-20T18:00:00+05:00"]
    assert fetched.records[1].properties == {"pipeline_id": "7", "stage_id": "MEETING", "stage_name": "Встреча назначена",
                                             "stage_semantic": "open", "previous_stage_id": "NEW"}
    assert fetched.records[1].channel == "crm"


def test_fetch_hash_ignores_row_order_but_not_content(crm, pg_server):  # noqa: F811
    src = src_config(contacts_source())
    asc = database.fetch(None, src)
    desc = database.fetch(None, SourceConfig(**{**contacts_source(), "options": {
        "url_env": URL_ENV, "query": CONTACTS_SQL.replace("order by id", "order by id desc")}}))
    assert asc.sha256 == desc.sha256
    assert [r.row for r in desc.records] == [1, 2, 3]
    pg_server.execute(crm, "update contacts set email = 'maria@example.ru' where id = 502")
    assert database.fetch(None, src).sha256 != asc.sha256


def test_fetch_array_column_gives_one_identifier_per_element(crm):
    src = SourceConfig(name="arr", format="database", options={"url_env": URL_ENV, "query": (
        "select timestamptz '2024-03-01 10:00+03' as event_time, 'call' as event_type, "
        "array['8 916 123-45-67', '+79037654321'] as phone, 4.5::numeric as revenue, 1e-7::numeric as tiny")})
    (event,) = database.fetch(None, src).records
    assert event.identifiers == [("phone", "8 916 123-45-67"), ("phone", "+79037654321")]
    assert event.revenue == "4.5"
    assert event.properties == {"tiny": "0.0000001"}  # never 1E-7


def test_fetch_is_read_only(crm, pg_server):  # noqa: F811
    def query(sql):
        return SourceConfig(name="bad", format="database", options={"url_env": URL_ENV, "query": sql})

    with pytest.raises(InputDataError, match="the query failed.*read-only transaction"):
        database.fetch(None, query("select now() as event_time, 'x' as event_type, "
                                   "nextval('deal_stage_history_id_seq') as customer_id"))
    with pytest.raises(InputDataError, match="the query failed"):
        database.fetch(None, query("with gone as (delete from deals returning id) "
                                   "select now() as event_time, 'x' as event_type, id as customer_id from gone"))
    import sqlalchemy as sa
    engine = sa.create_engine(pg_server.url(crm), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from deals").scalar() == 3
    engine.dispose()


# --------------------------------------------------------------------------- end to end


def test_end_to_end_events_identifiers_and_accounting(crm, tmp_path):
    loaded = load_sources(tmp_path, ALL_SOURCES, timezone="UTC")
    ev = loaded.events.set_index("event_id")

    # naive timestamp, Moscow (the source's timezone) -> UTC, across midnight
    deal = ev.loc["crm_deals:deal:9001:created"]
    assert deal.event_ts == utc("2024-02-29 22:30:00")
    assert deal.event_type == "deal_created" and deal.source == "crm_deals"
    assert deal.revenue == 1234567890.12
    assert deal.properties["title"] == "Кухня «Модерн»" and deal.properties["contact_name"] == "Иван Петров"
    assert ev.loc["crm_deals:deal:9002:created"].event_ts == utc("2024-03-05 11:21:07")
    assert loaded.ids("crm_deals:deal:9001:created") == {
        "ym_client_id:1696470418123456789", "crm_deal:9001", "crm_contact:501", "phone:+79161234567"}

    # timestamptz with +05:00 -> UTC (the config's default zone must not apply to it)
    changed = "2024-03-02 20:30:00+00:00"
    stage_id = f"crm_stages:deal:9001:stage:MEETING:{epoch(changed)}"
    assert ev.loc[stage_id].event_ts == utc("2024-03-02 20:30:00")
    assert ev.loc[stage_id].properties["stage_name"] == "Встреча назначена"
    assert ev.loc[stage_id].channel == "crm"
    assert loaded.ids(stage_id) == {"crm_deal:9001", "crm_contact:501"}
    won = f"crm_stages:deal:9002:stage:WON:{epoch('2024-03-20 13:00:00+00:00')}"
    assert ev.loc[won].event_ts == utc("2024-03-20 13:00:00")

    # contacts: Cyrillic names, phones in several spellings, two in one cell, e-mail cleaned
    assert ev.loc["crm_contacts:contact:501:created"].event_ts == utc("2024-02-29 21:10:00")
    assert ev.loc["crm_contacts:contact:503:created"].properties["full_name"] == "ООО «Ромашка»"
    assert loaded.ids("crm_contacts:contact:501:created") == {
        "crm_contact:501", "phone:+79161234567", "email:ivan.petrov@mail.ru"}
    assert loaded.ids("crm_contacts:contact:502:created") == {
        "crm_contact:502", "phone:+79037654321", "phone:+79260001122"}
    assert loaded.ids("crm_contacts:contact:503:created") == {
        "crm_contact:503", "phone:+79161112233", "email:info@romashka.ru"}

    assert len(ev) == 2 + 4 + 3
    # the deal imported without a creation time is quarantined, naming event_time
    q = loaded.quarantine
    assert len(q) == 1
    assert q.iloc[0].source == "crm_deals" and q.iloc[0].file == "database:crm_deals" and q.iloc[0].row_number == 3
    assert "event_time" in q.iloc[0].reason

    acc = loaded.accounting.set_index("source")
    assert acc.loc["crm_deals", ["rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined"]].tolist() == [3, 2, 0, 1]
    assert acc.loc["crm_stages", ["rows_in", "rows_loaded"]].tolist() == [4, 4]
    assert acc.loc["crm_contacts", ["rows_in", "rows_loaded"]].tolist() == [3, 3]

    con = db.connect(loaded.warehouse, read_only=True)
    try:
        raw = db.query(con, "select revenue, event_time from raw_events where _source = 'crm_deals' order by _row")
    finally:
        con.close()
    assert raw.revenue.tolist() == ["1234567890.12", "45990.00", "100.50"]  # exact text in the raw layer


def _loads(warehouse):
    con = db.connect(warehouse, read_only=True)
    try:
        return db.query(con, "select source, file, sha256, rows_read from _cjm_loads order by load_id")
    finally:
        con.close()


def test_second_run_skips_unchanged_results(crm, tmp_path):
    first = load_sources(tmp_path, ALL_SOURCES)
    loads = _loads(first.warehouse)
    assert loads.file.tolist() == ["database:crm_deals", "database:crm_stages", "database:crm_contacts"]

    result = pipeline.run(config_for(tmp_path, ALL_SOURCES), until="event_identifiers", export_outputs=False)
    assert [(fl.source, fl.status) for fl in result.loads] == [
        ("crm_deals", "skipped"), ("crm_stages", "skipped"), ("crm_contacts", "skipped")]
    again = load_sources(tmp_path, ALL_SOURCES)
    assert _loads(again.warehouse).equals(loads)
    assert again.events.drop(columns=["identifiers", "properties"]).equals(
        first.events.drop(columns=["identifiers", "properties"]))
    assert again.identifiers.equals(first.identifiers)


def test_a_new_stage_change_adds_exactly_that_event(crm, pg_server, tmp_path):  # noqa: F811
    before = load_sources(tmp_path, ALL_SOURCES)
    pg_server.execute(crm, "insert into deal_stage_history (deal_id, pipeline_id, stage_id, stage_name, stage_semantic, "
                           "previous_stage_id, changed_at) values "
                           "(9001, 7, 'WON', 'Успешно реализовано', 'won', 'MEETING', '2024-03-10 23:40:00+03')")
    after = load_sources(tmp_path, ALL_SOURCES)

    new_id = f"crm_stages:deal:9001:stage:WON:{epoch('2024-03-10 20:40:00+00:00')}"
    assert set(after.events.event_id) - set(before.events.event_id) == {new_id}
    assert set(before.events.event_id) <= set(after.events.event_id)
    new = after.events.set_index("event_id").loc[new_id]
    assert new.event_ts == utc("2024-03-10 20:40:00")
    assert new.properties["stage_semantic"] == "won" and new.properties["previous_stage_id"] == "MEETING"
    assert after.ids(new_id) == {"crm_deal:9001", "crm_contact:501"}

    loads = _loads(after.warehouse)
    assert loads.source.tolist() == ["crm_deals", "crm_stages", "crm_contacts", "crm_stages"]  # only stages re-read
    acc = after.accounting.set_index("source")
    assert acc.loc["crm_stages", ["rows_in", "rows_loaded", "rows_duplicate", "rows_quarantined"]].tolist() == [9, 5, 4, 0]
    assert acc.loc["crm_deals", "rows_in"] == 3


# --------------------------------------------------------------------------- errors


def test_missing_env_var_is_a_clear_error(crm, tmp_path, monkeypatch):
    monkeypatch.delenv(URL_ENV)
    with pytest.raises(InputDataError) as err:
        load_sources(tmp_path, [deals_source()])
    message = str(err.value)
    assert f"environment variable {URL_ENV}" in message and "not set" in message
    assert "crm_deals" in message


def test_url_in_config_instead_of_a_variable_name_is_refused_without_echoing_it(crm):
    secret = "postgresql+psycopg://crm:TopSecret42@db.example.ru/crm"
    with pytest.raises(InputDataError, match="NAME of an environment variable") as err:
        database.fetch(None, src_config(deals_source(url_env=secret)))
    assert "TopSecret42" not in str(err.value)


def test_connection_error_names_the_variable_and_hides_the_password(crm, monkeypatch, tmp_path):
    monkeypatch.setenv(URL_ENV, "postgresql+psycopg://crm:TopSecret42@/crm?host=/nonexistent-cjm-socket-dir")
    with pytest.raises(InputDataError, match="cannot connect to the database") as err:
        load_sources(tmp_path, [deals_source()])
    message = str(err.value)
    assert URL_ENV in message and "crm:***@" in message and "nonexistent-cjm-socket-dir" in message
    assert "TopSecret42" not in message


def test_query_error_is_reported(crm):
    src = src_config(deals_source(query="select * from dealz"))
    with pytest.raises(InputDataError, match='the query failed.*"dealz" does not exist'):
        database.fetch(None, src)


def test_bad_column_mapping_names_the_returned_columns_and_closest_match(crm, tmp_path):
    source = deals_source()
    source["columns"] = {"created": "event_time", "amount": "revenue"}
    with pytest.raises(InputDataError) as err:
        load_sources(tmp_path, [source])
    message = str(err.value)
    assert "'created' named in `columns:` is not in the query's result (closest match: 'created_at')" in message
    assert "'ym_client_id'" in message and "'contact_name'" in message  # the columns the query returned


def test_missing_required_column_names_the_closest_match(crm):
    src = src_config(deals_source(query=DEALS_SQL.replace('as "Event_Type"', "as eventtype")))
    with pytest.raises(InputDataError, match=r"'event_type' \(closest match: 'eventtype'\); "
                                             r"the query returned the columns \['event_id', 'eventtype'"):
        database.fetch(None, src)


def test_no_identifier_and_unknown_identifier_type(crm):
    query = "select now() as event_time, 'x' as event_type, 42 as deal_id"
    with pytest.raises(InputDataError, match="no identifier column"):
        database.fetch(None, SourceConfig("s", "database", "", options={"url_env": URL_ENV, "query": query}))
    with pytest.raises(InputDataError, match="unknown identifier type 'crm_dael' \\(closest match: 'crm_deal'\\)"):
        database.fetch(None, SourceConfig("s", "database", "", options={
            "url_env": URL_ENV, "query": query, "identifiers": {"deal_id": "crm_dael"}}))


def test_unknown_option_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="options.url: unknown option for format 'database'; did you mean 'url_env'"):
        config_for(tmp_path, [{"name": "s", "format": "database", "options": {"url": "x", "query": "y"}}])
