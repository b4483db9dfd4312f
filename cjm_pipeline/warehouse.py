"""Read a warehouse from Python (notebooks, scripts): every method returns a pandas DataFrame.

>>> import cjm_pipeline as cjm                                   # doctest: +SKIP
>>> wh = cjm.open("build/cjm.duckdb")                            # doctest: +SKIP
>>> wh.funnel()                       # as built by the last run  # doctest: +SKIP
>>> wh.funnel(window="30d")           # recomputed, nothing written # doctest: +SKIP

The warehouse file is only ever opened read-only, and only for the duration of one
call, so a nightly ``cjm run`` can write between two cells of a notebook. A recomputed
funnel is built in a scratch in-memory database that attaches the warehouse read-only,
so exploring never changes the numbers the nightly run published.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from . import db, journey_map, publish
from .config import FunnelConfig, PipelineConfig, funnel_with
from .errors import WarehouseError
from .ingest.records import normalise_identifiers
from .pii import CLEAR, HASH_PREFIX, PII_TYPES, PiiPolicy, policy_for
from .pipeline import named_funnel_schema, recompute_funnel
from .steps import order_of


class Warehouse:
    """A handle on a warehouse file; see the module docstring."""

    def __init__(self, path: str | Path, pii: PiiPolicy = CLEAR):
        self.path = Path(path)
        self.pii = pii
        """How phone and e-mail keys are looked up (``identity.pii: hash``: by their salted hash)."""
        if not self.path.exists():
            raise WarehouseError(f"warehouse {self.path} does not exist; run `cjm run -c CONFIG` first")

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A scratch in-memory connection with the warehouse attached read-only and on the search path.

        Tables created on it live in memory only and shadow the warehouse's tables of the same name.
        """
        con = db.connect(":memory:")
        try:
            db.attach_read_only(con, self.path, "wh")
            yield con
        finally:
            con.close()

    def tables(self) -> list[str]:
        """Names of the warehouse's tables."""
        with self.connect() as con:
            return sorted(db.existing_tables(con))

    def table(self, name: str) -> pd.DataFrame:
        """A whole table."""
        with self.connect() as con:
            return db.read_table(con, name, order_by=order_of(name))

    def sql(self, query: str, **params: Any) -> pd.DataFrame:
        """Any select over the warehouse, values bound as ``$name`` parameters."""
        with self.connect() as con:
            return db.query(con, query, params)

    def funnel(self, *, window: str | None = None, mode: str | None = None, unit: str | None = None,
               step_windows: dict[str, str] | None = None) -> pd.DataFrame:
        """The funnel, one row per step; with ``window``, ``mode``, ``unit`` (customer, deal, session)
        or ``step_windows`` (``{stage: duration}``, added to the stored ones), recomputed without
        writing anything (:func:`cjm_pipeline.pipeline.recompute_funnel`)."""
        if window is None and mode is None and unit is None and not step_windows:
            return self._read("funnel")
        with self.connect() as con:
            stored = self._stored_funnel(con)
            funnel = funnel_with(stored, where="", window=window, mode=mode, unit=unit,
                                 step_windows={**stored.step_windows, **(step_windows or {})})
            recompute_funnel(con, funnel, where="step_windows: " if step_windows else "")
            return db.read_table(con, "funnel", order_by=order_of("funnel"))

    def named_funnel(self, name: str, table: str = "funnel") -> pd.DataFrame:
        """A table of one of the config's ``funnels:`` (schema ``funnel_<name>``), e.g. ``funnel`` or
        ``funnel_trends``."""
        schema, table = named_funnel_schema(name), db.check_table_name(table)
        with self.connect() as con:
            found = db.scalar(con, "select count(*) from duckdb_tables() where database_name = 'wh' "
                                   "and schema_name = $s and table_name = $t", {"s": schema, "t": table})
            if not found:
                raise WarehouseError(f"the warehouse has no table {schema}.{table}; is '{name}' in the config's funnels:?")
            return db.read_table(con, table, order_by=order_of(table), schema=f"wh.{schema}")

    def transitions(self) -> pd.DataFrame:
        """The stage transition matrix, with (start) and (end) rows."""
        return self._read("transitions")

    def journeys(self) -> pd.DataFrame:
        """One row per customer: stage path, furthest stage, back-steps, conversion."""
        return self._read("journeys")

    def journey_map(self, *, mask: bool = True) -> pd.DataFrame:
        """The journey map: one row per stage, section (touchpoints, feelings, pains, kpis, next) and
        item, with customers, share, value and note (``docs/semantics.md``, "Journey map"). Comments
        quoted from answers have phones and e-mails masked unless ``mask=False``."""
        with self.connect() as con:
            return journey_map.read_map(con, mask=mask)

    def predictions(self, customer: str | None = None) -> pd.DataFrame:
        """The open journeys at the data cutoff, one row per customer: current stage, time in it, the
        likeliest next stage and the probability of reaching the goal within the window
        (``docs/semantics.md``, "Predictions for open journeys"). ``customer``: only that one (a
        customer id, an identifier such as ``phone:+79161234567`` or an event id; no row when their
        journey is not open)."""
        if customer is None:
            return self._read("journey_predictions")
        return self.sql("select * from journey_predictions where customer_id = $c", c=self.resolve_customer(customer))

    def attribution(self) -> pd.DataFrame:
        """The goal's conversions and revenue per channel, by first touch, last touch, linear, time
        decay, position-based and Markov (removal effect) attribution, side by side."""
        return self._read("attribution")

    def stage_coverage(self) -> pd.DataFrame:
        return self._read("stage_coverage")

    def quarantine(self) -> pd.DataFrame:
        """Input rows that could not be loaded, with the reason."""
        return self._read("quarantine")

    def accounting(self) -> pd.DataFrame:
        """Per source: rows in = loaded + duplicate + quarantined."""
        return self._read("source_accounting")

    def runs(self) -> pd.DataFrame:
        """Every attempt at a run, newest first: the published ``_cjm_runs``, plus the attempts the
        run journal recorded since (running now, failed, killed: see :mod:`cjm_pipeline.publish`)."""
        table = self.sql("select * from _cjm_runs order by started_at desc")
        later = [r for r in publish.Journal(self.path).runs() if r["run_id"] not in set(table["run_id"])]
        if not later:
            return table
        running = publish.RunLock.held(self.path)
        rows = pd.DataFrame([{c: (("running" if running else "killed") if c == "status"
                                  and r["_last_event"] != "finished" else r.get(c)) for c in table.columns}
                             for r in later])
        rows["started_at"] = pd.to_datetime(rows["started_at"], errors="coerce")
        rows["finished_at"] = pd.to_datetime(rows["finished_at"], errors="coerce")
        return pd.concat([rows, table], ignore_index=True).sort_values("started_at", ascending=False,
                                                                        ignore_index=True, kind="stable")

    def customer_events(self, customer_id: str) -> pd.DataFrame:
        """One customer's events in journey order, with their stages."""
        return self.sql("select * from classified_events where customer_id = $c "
                        "order by event_ts, stage_order nulls last, event_id", c=customer_id)

    def resolve_customer(self, key: str) -> str:
        """The customer_id for a customer id, an identifier (``phone:+79161234567``; phones and
        e-mails in any spelling, hashed first when the warehouse keeps hashes) or an event id."""
        key = lookup_key(key, self.pii)
        with self.connect() as con:
            found = db.scalar(con, "select coalesce("
                                   "(select any_value(customer_id) from identity_map where customer_id = $k), "
                                   "(select any_value(customer_id) from identity_map where identifier = $k), "
                                   "(select any_value(customer_id) from customer_events where event_id = $k))",
                              {"k": key})
        if not found:
            raise WarehouseError(f"no customer, identifier or event {key!r} in {self.path}; identifiers are written "
                                 "type:value, e.g. phone:+79161234567, email:ivan@mail.ru, ym_client_id:1696470418...")
        return found

    def explain_customer(self, key: str) -> dict[str, Any]:
        """Why these records are one person: ``customer_id``, its ``identifiers`` (with their role:
        links, blocked or hub), the ``links`` (records joining two or more of them), the
        ``merges`` that made it, and its ``journey`` (events with stages). ``key`` is a
        customer id, an identifier or an event id."""
        customer_id = self.resolve_customer(key)
        with self.connect() as con:
            params = {"customer_id": customer_id}
            return {
                "customer_id": customer_id,
                "identifiers": db.query(con, db.read_sql("queries/customer_identifiers.sql"), params),
                "links": db.query(con, db.read_sql("queries/customer_links.sql"), params),
                "merges": db.query(con, "select * from identity_merges where customer_id = $customer_id "
                                        "or list_contains(merged_ids, $customer_id) order by merged_at", params),
                "journey": db.query(con, "select event_ts, source, event_type, stage, channel, event_id "
                                         "from classified_events where customer_id = $customer_id "
                                         "order by event_ts, stage_order nulls last, event_id", params),
            }

    def _read(self, name: str) -> pd.DataFrame:
        """A whole table, sorted as every reader sorts it (:func:`cjm_pipeline.steps.order_of`)."""
        with self.connect() as con:
            return db.read_table(con, name, order_by=order_of(name))

    @staticmethod
    def _stored_funnel(con: duckdb.DuckDBPyConnection) -> FunnelConfig:
        """The funnel settings (window, mode, entry range, breakdowns) the last run published."""
        if not db.table_exists(con, "_cjm_outputs"):
            return FunnelConfig()
        meta = db.scalar(con, "select metadata from _cjm_outputs where table_name = 'funnel' and kind = 'run' "
                              "order by written_at desc limit 1")
        if not meta:
            return FunnelConfig()
        return FunnelConfig(**json.loads(meta)["funnel"])


def lookup_key(key: str, pii: PiiPolicy = CLEAR) -> str:
    """A ``type:value`` key as identity_map stores it: a phone or e-mail normalised (and hashed
    under ``identity.pii: hash``, as are the phones and e-mails inside any other key, such as an
    e-mail used as ``user_id`` or in an event id); anything else as given.

    >>> lookup_key("phone:8 (916) 123-45-67"), lookup_key("email: Ivan@Mail.RU"), lookup_key("c-123")
    ('phone:+79161234567', 'email:ivan@mail.ru', 'c-123')
    """
    id_type, sep, value = key.partition(":")
    if not sep or value.startswith(HASH_PREFIX):
        return key
    if id_type not in PII_TYPES:
        return f"{id_type}:{pii.protect(id_type, value)}" if pii.hashing else key
    found = [i["id_value"] for i in normalise_identifiers([(id_type, value)]) if i["id_value"]]
    return f"{id_type}:{pii.protect(id_type, found[0])}" if found else key


def open(path: str | Path | PipelineConfig) -> Warehouse:  # noqa: A001 - the public name is cjm_pipeline.open
    """Open a warehouse read-only, by its path or by a loaded config (which also tells how to
    look up phones and e-mails when it keeps them hashed: ``identity.pii``)."""
    if isinstance(path, PipelineConfig):
        return Warehouse(path.warehouse_path, policy_for(path))
    return Warehouse(path)

