"""How the simulator writes text files, the same bytes for the same world.

Shared by the writers of the real exports (:mod:`cjm_pipeline.simulate.writers`), the shop
event log (:mod:`cjm_pipeline.simulate.eventlog`) and the Parquet worlds
(:mod:`cjm_pipeline.simulate.scale`): CSV text with ``\\n`` line ends, wall-clock and UTC
time stamps of epoch seconds, a stage path, and writing a text file without newline
translation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path


def csv_text(columns: list[str], rows) -> str:
    """A CSV document (header, then rows; ``\\n`` line ends) as text.

    >>> csv_text(["a", "b"], [(1, "x,y")])
    'a,b\\n1,"x,y"\\n'
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def stamp(t: int, offset: int) -> str:
    """Epoch seconds ``t`` as wall-clock time ``offset`` seconds east of UTC (naive).

    >>> stamp(1735678800, 3 * 3600)
    '2025-01-01 00:00:00'
    """
    return dt.datetime.fromtimestamp(t + offset, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(t: int) -> str:
    """Epoch seconds as an ISO 8601 UTC time.

    >>> iso_utc(1767225600)
    '2026-01-01T00:00:00Z'
    """
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stage_path(stages: list[str]) -> str:
    """A person's stages in order, a stage repeated in a row written once, joined by ``>``.

    >>> stage_path(["awareness", "interest", "interest", "awareness"])
    'awareness>interest>awareness'
    """
    return ">".join(s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s)


def write_text(path: Path, text: str, files: list[Path], encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` as is (no newline translation), making its folder; note the file in ``files``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(text)
    files.append(path)


__all__ = ["csv_text", "stamp", "iso_utc", "stage_path", "write_text"]
