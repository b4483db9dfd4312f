"""Declarative journeys for tests (PostHog's ``journeys_for``).

>>> r = journeys_for({"c1": [("a", "2025-01-01 10:00"), ("b", "2025-01-02 10:00")]}, stages=["a", "b"])
>>> r.funnel["customers"].tolist()
[1, 1]

Each customer is a list of events ``(event_type, "YYYY-MM-DD HH:MM[:SS]")`` or
``(event_type, time, {property: value, ...})``; times are UTC. The keys ``crm_deal`` and
``crm_lead`` become identifiers of the event (as a CRM format parser emits them). By default there is one
stage per name in ``stages`` whose rule is ``{event_type: <stage name>}``; pass
``stage_rules`` (a list of config stage dicts) for anything else; ``mode`` and
``window`` set the funnel, ``funnel`` any other funnel setting. Event ids are
``<customer>-<index>`` so ties are broken in list order unless a test says otherwise.
The helper builds the ``events`` table directly and runs every step after it, so the
result holds the real tables, with customer ids mapped back to the dict's keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import config_from_dict

EVENTS_SCHEMA = """
create or replace table events (
    event_id varchar, event_ts timestamp, source varchar, source_system varchar, event_type varchar,
    channel varchar, utm_source varchar, utm_medium varchar, utm_campaign varchar, url varchar,
    revenue double, customer_key varchar, anonymous_id varchar, user_id varchar, client_id varchar,
    email varchar, phone varchar, crm_contact_id varchar,
    identifiers struct(id_type varchar, id_value varchar, raw varchar)[], properties map(varchar, varchar),
    updated_ts timestamp, _load_id bigint, _file varchar, _row bigint
)
"""

#: Event keys that become format-style identifiers (id_type, value) rather than properties.
IDENTIFIER_KEYS = ("crm_deal", "crm_lead")

UNIFIED = ("channel", "utm_source", "utm_medium", "utm_campaign", "url", "revenue",
           "anonymous_id", "user_id", "client_id", "email", "phone", "crm_contact_id", "source")


@dataclass
class JourneyResult:
    con: Any
    names: dict[str, str]  # customer_id -> the test's customer key

    def table(self, name: str, order_by: tuple[str, ...] = ()) -> pd.DataFrame:
        frame = db.read_table(self.con, name, order_by=order_by)
        if "customer_id" in frame.columns:
            frame["customer_id"] = frame["customer_id"].map(lambda c: self.names.get(c, c))
            frame = frame.sort_values([c for c in ("customer_id", *order_by) if c in frame.columns], kind="stable")
            frame = frame.reset_index(drop=True)
        return frame

    @property
    def funnel(self) -> pd.DataFrame:
        return self.table("funnel", ("step",))

    @property
    def transitions(self) -> pd.DataFrame:
        return self.table("transitions", ("from_order", "to_order", "from_stage", "to_stage"))

    @property
    def stage_transitions(self) -> pd.DataFrame:
        return self.table("stage_transitions", ("transition_index",))

    @property
    def visits(self) -> pd.DataFrame:
        return self.table("stage_visits", ("visit_index",))

    @property
    def journeys(self) -> pd.DataFrame:
        return self.table("journeys")

    @property
    def customer_steps(self) -> pd.DataFrame:
        return self.table("funnel_customer_steps", ("step",))

    def reached(self) -> dict[str, int]:
        """Customer key -> furthest funnel step (0 when they never entered)."""
        j = self.journeys
        return dict(zip(j["customer_id"], j["funnel_step_reached"]))


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def make_config(stages: list[str] | None = None, stage_rules: list[dict] | None = None, window: str = "90d",
                mode: str = "ordered", funnel: dict | None = None, sections: dict | None = None):
    if stage_rules is None:
        stage_rules = [{"name": s, "rules": [{"event_type": s}]} for s in stages]
    return config_from_dict({
        "sources": [{"name": "test", "format": "generic_events", "path": "unused.csv"}],
        "stages": stage_rules,
        "funnel": {"window": window, "mode": mode, **(funnel or {})},
        **(sections or {}),
    })


_SPARK = []


def spark_engine():
    """One local Spark engine for the whole test session (a JVM takes seconds to start)."""
    if not _SPARK:
        import tempfile

        from cjm_pipeline.config import SparkConfig
        from cjm_pipeline.engines.spark import SparkEngine
        _SPARK.append(SparkEngine(SparkConfig(master="local[2]"), tempfile.mkdtemp(prefix="cjm-spark-")))
    return _SPARK[0]


def events_frame(journeys: dict[str, list[tuple]]) -> pd.DataFrame:
    rows = []
    for customer, events in journeys.items():
        for i, event in enumerate(events):
            event_type, when, *rest = event
            props = dict(rest[0]) if rest else {}
            unified = {k: props.pop(k) for k in list(props) if k in UNIFIED}
            ids = [(k, str(props.pop(k))) for k in IDENTIFIER_KEYS if k in props]
            rows.append({
                "event_id": unified.pop("event_id", None) or f"{customer}-{i:04d}",
                "event_ts": _ts(when),
                "source": unified.pop("source", "test"),
                "event_type": event_type,
                "customer_key": customer,
                **unified,
                "id_types": [t for t, _ in ids],
                "id_values": [v for _, v in ids],
                "prop_keys": list(props),
                "prop_values": [str(v) for v in props.values()],
            })
    return pd.DataFrame(rows)


def load_events(con, journeys: dict[str, list[tuple]]) -> None:
    """Create the ``events`` table holding these journeys."""
    db.execute(con, EVENTS_SCHEMA)
    frame = events_frame(journeys)
    if frame.empty:
        return
    for col in UNIFIED:
        if col not in frame.columns:
            frame[col] = None
    db.register(con, "_journeys", frame)
    db.execute(con, """
        insert into events by name
        select event_id, event_ts, source, 'generic' as source_system, event_type,
            channel, utm_source, utm_medium, utm_campaign, url, try_cast(revenue as double) as revenue,
            customer_key, anonymous_id, user_id, client_id, email, phone, crm_contact_id,
            map(cast(prop_keys as varchar[]), cast(prop_values as varchar[])) as properties,
            list_transform(list_zip(cast(id_types as varchar[]), cast(id_values as varchar[])),
                           lambda x: {'id_type': x[1], 'id_value': x[2], 'raw': x[2]}) as identifiers,
            1 as _load_id, 'test' as _file, row_number() over () as _row
        from _journeys
    """)
    db.unregister(con, "_journeys")


def journeys_for(journeys: dict[str, list[tuple]], stages: list[str] | None = None, *,
                 stage_rules: list[dict] | None = None, window: str = "90d", mode: str = "ordered",
                 funnel: dict | None = None, engine: str = "duckdb", sections: dict | None = None) -> JourneyResult:
    """Run every step after ``events`` on these journeys; see the module docstring.
    ``engine="spark"`` runs the steps on Spark (local) and copies their tables into the result's
    DuckDB connection, so the result reads the same either way. ``sections`` adds other config
    sections (``feedback``, ``pains``, ...)."""
    cfg = make_config(stages, stage_rules, window, mode, funnel, sections)
    con = db.connect(":memory:")
    load_events(con, journeys)
    pipeline.write_config_tables(con, cfg)
    first = pipeline.STEP_NAMES.index("event_identifiers")
    steps = pipeline.STEPS[first:]
    if engine == "spark":
        spark = spark_engine()
        spark.load_from_duckdb(con, [t for t in (*pipeline.SOURCE_TABLES, "events") if db.table_exists(con, t)])
        pipeline.run_steps(spark, cfg, steps)
        spark.save_to_duckdb(con, [s.name for s in steps if s.materialize == "table"])
        for view in (s for s in steps if s.materialize == "view"):  # (made in DuckDB, as a run does)
            db.run_view_sql(con, view.name, view.sql_path())
    else:
        pipeline.run_steps(con, cfg, steps)
    names = dict(db.execute(con, "select customer_id, substr(identifier, 13) from identity_map "
                                 "where identifier like 'customer_id:%'"))
    return JourneyResult(con, {k: v for k, v in names.items()})
