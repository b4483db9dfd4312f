"""Wall time and peak resident memory (RSS) of the phases of one process.

Standard library only: ``peers_retentioneering.py`` imports it from another virtualenv.

Peak RSS per phase is the kernel's high-water mark ``VmHWM`` of ``/proc/self/status``,
reset at each phase boundary by writing ``5`` to ``/proc/self/clear_refs`` (Linux ≥ 4.0),
so it is exact, not sampled. Where that reset is not allowed, a background thread samples
``VmRSS`` every 10 ms instead (a peak shorter than that can be missed). DuckDB runs inside
the process, so its memory is in these figures.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(key: str) -> int:
    match = re.search(rf"^{key}:\s+(\d+) kB", _STATUS.read_text(), re.M)
    return int(match.group(1)) if match else 0


class PeakRSS:
    """The peak RSS (bytes) between calls of :meth:`take`."""

    def __init__(self, interval: float = 0.01):
        self.method = "VmHWM reset by clear_refs"
        self._max = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            self.method = f"VmRSS sampled every {interval * 1000:.0f} ms"
            self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
            self._thread.start()

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            rss = _status_kib("VmRSS")
            with self._lock:
                self._max = max(self._max, rss)

    def take(self) -> int:
        """The peak since the last call (or since start), then start a new interval."""
        if self._thread is None:
            peak = _status_kib("VmHWM")
            _CLEAR_REFS.write_text("5")
            return peak * 1024
        rss = _status_kib("VmRSS")
        with self._lock:
            peak, self._max = max(self._max, rss), rss
        return peak * 1024

    def close(self) -> None:
        self._stop.set()


@dataclass
class Phase:
    """One timed interval: its name, wall seconds, peak RSS, and what it produced."""

    name: str
    seconds: float
    peak_rss: int
    rows: int | None = None
    extra: dict = field(default_factory=dict)


class Timeline:
    """Consecutive phases of this process: each :meth:`close` ends the running interval."""

    def __init__(self):
        self.rss = PeakRSS()
        self.phases: list[Phase] = []
        self._t = time.perf_counter()

    def close(self, name: str, rows: int | None = None, **extra) -> Phase:
        now = time.perf_counter()
        phase = Phase(name, now - self._t, self.rss.take(), rows, extra)
        self._t = now
        self.phases.append(phase)
        return phase

    def restart(self) -> None:
        """Start a new interval without recording the time since the last one."""
        self.rss.take()
        self._t = time.perf_counter()

    def as_dicts(self) -> list[dict]:
        return [asdict(p) for p in self.phases]
