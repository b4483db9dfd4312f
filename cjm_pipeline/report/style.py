"""The look every figure shares: colours, the common layout, and table values as plain lists.

Data arrays are passed to plotly as plain lists (:func:`floats`, :func:`ints`, :func:`strs`,
:func:`dates`), so a figure's JSON holds readable numbers; missing values become ``None``.

>>> floats([1, None, float("nan")]), ints([2.0, pd.NA]), strs(["a", None]), dates(["2025-01-31 10:00"])
([1.0, None, None], [2, None], ['a', ''], ['2025-01-31'])
"""

from __future__ import annotations

from typing import Any, Iterable

import pandas as pd
import plotly.graph_objects as go

from .i18n import is_missing, labels

#: Colours of the transition kinds; back-steps stand apart in red.
KIND_COLORS = {
    "forward": "rgba(55, 106, 176, 0.55)",
    "skip": "rgba(44, 160, 101, 0.55)",
    "back": "rgba(214, 39, 40, 0.65)",
    "revisit": "rgba(242, 142, 43, 0.45)",
    "start": "rgba(150, 150, 150, 0.35)",
    "end": "rgba(150, 150, 150, 0.35)",
}
#: The same colours, opaque: the Sankey's legend.
KIND_SOLID = {"forward": "#376ab0", "skip": "#2ca065", "back": "#d62728"}
BAR_COLOR = "#376ab0"
DROP_COLOR = "rgba(214, 39, 40, 0.35)"
MET_COLOR = "#2ca065"
NOT_MET_COLOR = "#d62728"
TARGET_COLOR = "#9e9e9e"
PALETTE = ["#376ab0", "#f28e2b", "#2ca065", "#d62728", "#8c6bb1", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def separators(lang: str) -> str:
    """plotly's ``layout.separators``: decimal mark then thousands separator."""
    return ", " if lang == "ru" else ".,"


def floats(values: Iterable[Any]) -> list[float | None]:
    """Numbers as plain floats, missing values (NaN, pd.NA) as None."""
    return [None if is_missing(v) else float(v) for v in values]


def ints(values: Iterable[Any]) -> list[int | None]:
    return [None if is_missing(v) else int(v) for v in values]


def strs(values: Iterable[Any]) -> list[str]:
    return ["" if is_missing(v) else str(v) for v in values]


def dates(values: Iterable[Any]) -> list[str]:
    """Dates as ISO ``YYYY-MM-DD`` strings."""
    return [pd.Timestamp(v).strftime("%Y-%m-%d") for v in values]


def date_axis(lang: str) -> dict[str, Any]:
    """A date x-axis; Russian dates as ``29.12.24`` (plotly.js has no Russian month names built in)."""
    return {"type": "date", "tickformat": "%d.%m.%y"} if lang == "ru" else {"type": "date"}


def require(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, frame.columns))})")


def no_data(title: str, lang: str) -> go.Figure:
    """A figure that says there is nothing to draw."""
    fig = go.Figure()
    fig.update_layout(title=title, height=220, xaxis={"visible": False}, yaxis={"visible": False},
                      separators=separators(lang),
                      annotations=[{"text": labels(lang)["no_data"], "showarrow": False, "font": {"size": 16},
                                    "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}])
    return fig


def layout(fig: go.Figure, title: str, lang: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"}, height=height,
                      separators=separators(lang), template="plotly_white",
                      margin={"l": 70, "r": 30, "t": 80, "b": 60}, font={"family": "Arial, sans-serif", "size": 13})
    return fig
