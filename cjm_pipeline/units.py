"""Units a config is written in, parsed once: durations (``90d``) and memory sizes (``4GiB``).

A leaf module: the config reads values with these at load time, and the DuckDB seam
(:mod:`cjm_pipeline.db`) checks a memory size with the same rule before it reaches a ``SET``.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*$", re.I)


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``90d``, ``12h``, ``30m``, ``2w`` or ``45s``.

    >>> parse_duration("90d")
    7776000
    >>> parse_duration("30m")
    1800
    """
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r}; write a number and a unit s, m, h, d or w, e.g. '90d'")
    return int(m.group(1)) * _DURATION_SECONDS[m.group(2)]


class Duration(str):
    """A duration as the config wrote it (``"90d"``: sidecars and messages quote it as written),
    with its length in :attr:`seconds`, parsed once when the value is made.

    >>> d = Duration("2w")
    >>> d, d.seconds
    ('2w', 1209600)
    >>> Duration("90 days")
    Traceback (most recent call last):
    ...
    ValueError: not a duration: '90 days'; write a number and a unit s, m, h, d or w, e.g. '90d'
    """

    seconds: int

    def __new__(cls, text: str) -> "Duration":
        if isinstance(text, Duration):
            return text
        seconds = parse_duration(text)
        self = super().__new__(cls, str(text))
        self.seconds = seconds
        return self


def parse_memory_size(text: str) -> str:
    """A memory size as DuckDB's ``memory_limit`` takes it (digits and a unit), or ValueError.

    >>> parse_memory_size(" 4 GiB"), parse_memory_size("512mb")
    ('4GiB', '512mb')
    >>> parse_memory_size("4 gigs")
    Traceback (most recent call last):
    ...
    ValueError: not a memory size: '4 gigs'; write e.g. '4GB', '4GiB' or '512MB'
    """
    m = _SIZE.fullmatch(str(text))
    if not m:
        raise ValueError(f"not a memory size: {text!r}; write e.g. '4GB', '4GiB' or '512MB'")
    return f"{m.group(1)}{m.group(2)}"
