"""Helpers for format tests: parse one file, or run the pipeline on one source.

``parse_file("metrica_visits", path)`` returns the parser's records (Event / Reject /
Reference). ``load_source(tmp_path, "metrica_visits", path)`` runs the pipeline up to
``event_identifiers`` on one source and returns a :class:`Loaded` with the ``events``,
``event_identifiers``, ``quarantine`` and ``source_accounting`` tables as pandas frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import SourceConfig, config_from_dict
from cjm_pipeline.ingest.registry import registry
from cjm_pipeline.ingest.records import Event, Reference, Reject

FIXTURES = Path(__file__).parent / "fixtures"

#: A stage list that matches every event, so the whole pipeline runs on any source.
ANY_STAGE = [{"name": "any", "rules": [{"event_type": "re:.*"}]},
             {"name": "purchase", "rules": [{"event_type": "purchase"}]}]


def source(fmt: str, path: str | Path, **kw) -> SourceConfig:
    return SourceConfig(name=kw.pop("name", "src"), format=fmt, path=str(path), **kw)


def parse_file(fmt: str, path: str | Path, **kw) -> list[Event | Reject | Reference]:
    """Every record the format's parser yields for one file."""
    return list(registry()[fmt].parse(Path(path), source(fmt, path, **kw)))


def events_of(records) -> list[Event]:
    return [r for r in records if isinstance(r, Event)]


@dataclass
class Loaded:
    events: pd.DataFrame
    identifiers: pd.DataFrame
    quarantine: pd.DataFrame
    accounting: pd.DataFrame
    warehouse: Path

    def ids(self, event_id: str) -> set[str]:
        """The identifiers ('phone:+7916...') of one event (``event_id`` with the source prefix)."""
        return set(self.identifiers.loc[self.identifiers.event_id == event_id, "identifier"])


def config_for(tmp_path: Path, sources: list[dict], timezone: str = "Europe/Moscow", stages=None):
    return config_from_dict({
        "warehouse": str(tmp_path / "cjm.duckdb"),
        "timezone": timezone,
        "sources": sources,
        "stages": stages or ANY_STAGE,
        "output": {"dir": str(tmp_path / "out")},
    }, base_dir=tmp_path)


def load_sources(tmp_path: Path, sources: list[dict], *, timezone: str = "Europe/Moscow",
                 until: str = "event_identifiers") -> Loaded:
    """Run the pipeline up to ``until`` on the given source dicts; return its tables."""
    cfg = config_for(tmp_path, sources, timezone)
    pipeline.run(cfg, until=until, export_outputs=False)
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        return Loaded(
            events=db.query(con, "select * from events order by event_id"),
            identifiers=db.query(con, "select * from event_identifiers order by event_id, identifier"),
            quarantine=db.query(con, "select * from quarantine order by file, row_number"),
            accounting=db.query(con, "select * from source_accounting order by source"),
            warehouse=cfg.warehouse_path,
        )
    finally:
        con.close()


def load_source(tmp_path: Path, fmt: str, path: str | Path, *, timezone: str = "Europe/Moscow", **kw) -> Loaded:
    """Run the pipeline on one source of format ``fmt`` (extra keys go to the source config)."""
    return load_sources(tmp_path, [{"name": kw.pop("name", "src"), "format": fmt, "path": str(path), **kw}],
                        timezone=timezone)
