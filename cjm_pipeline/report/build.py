"""Read, draw, write: the report of a config's warehouse.

:func:`read_report_data` reads the tables the last ``cjm run`` published (through
:class:`~cjm_pipeline.warehouse.Warehouse`, read-only, each table in its one sort order,
:func:`cjm_pipeline.steps.order_of`), :func:`report_charts` draws them with
:mod:`cjm_pipeline.report.charts`, :func:`~cjm_pipeline.report.html.render_html` makes the
page and :func:`make_report` writes it (:func:`build_report` is the same for scripts: it
returns the path and turns what went wrong into warnings).

With ``png_dir`` each chart is also written as a PNG for slides. plotly 7 exports images
with kaleido ≥ 1, which drives an installed Chrome or Chromium; where that does not work
the HTML is still written and a :class:`ReportWarning` says why (``cjm report`` prints it
as a ``warning:`` line).

>>> TABLES[:3], _slug("properties.City name")
(('funnel', 'funnel_breakdown', 'funnel_trends'), 'properties-city-name')
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import db
from ..config import PipelineConfig, load_config
from ..coverage import coverage_issues
from ..errors import CjmError, WarehouseError
from ..journey_map import masked
from ..steps import order_of
from ..warehouse import Warehouse
from . import charts
from .html import Chart, ReportData, render_html
from .i18n import LANGS, labels
from .predict_page import TABLES as PREDICT_TABLES
from .predict_page import predict_charts

#: The tables the report shows (a missing one is drawn as empty).
TABLES: tuple[str, ...] = ("funnel", "funnel_breakdown", "funnel_trends", "ttc_histogram", "transitions", "loops",
                           "stage_stock", "stage_kpis", "barriers", "stage_dwell", "paths", "stage_coverage",
                           "step_flows", "journey_map") + PREDICT_TABLES

PNG_WIDTH = 1200


class ReportWarning(UserWarning):
    """Something the report could not do (PNG export) while the HTML itself was written."""


class ReportImageError(CjmError):
    """PNG export does not work here (no kaleido, no Chrome/Chromium, or it failed)."""


@dataclass
class ReportResult:
    """What :func:`make_report` did: the HTML file, its charts, the PNGs written and the warnings."""

    path: Path
    charts: list[Chart]
    pngs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def read_report_data(wh: Warehouse) -> ReportData:
    """The published tables and the run's facts, in one read-only connection."""
    with wh.connect() as con:
        present = db.existing_tables(con)
        missing = [t for t in ("funnel", "transitions", "journeys") if t not in present]
        if missing:
            raise WarehouseError(f"warehouse {wh.path} has no table {', '.join(missing)}; "
                                 "run `cjm run -c CONFIG` (without --until) first")
        tables = {name: db.read_table(con, name, order_by=order_of(name)) if name in present else pd.DataFrame()
                  for name in TABLES}
        customers, first_seen, last_seen = db.execute(
            con, "select count(*), min(first_seen), max(last_seen) from journeys")[0]
        meta: dict[str, Any] = {}
        if "_cjm_outputs" in present:
            stored = db.scalar(con, "select metadata from _cjm_outputs where table_name = 'funnel' and kind = 'run' "
                                    "order by written_at desc limit 1")
            if stored:
                meta = json.loads(stored)
        run: dict[str, Any] = {}
        if "_cjm_runs" in present:
            rows = db.execute(con, "select run_id, started_at, status from _cjm_runs where status = 'success' "
                                   "order by started_at desc limit 1")
            run = dict(zip(("run_id", "started_at", "status"), rows[0])) if rows else {}
        issues = coverage_issues(con)  # stage rules that match no event: the report's banner
    return ReportData(tables, int(customers), first_seen, last_seen, meta, run, issues=issues)


# --------------------------------------------------------------------------- charts


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "x"


def report_charts(data: ReportData, lang: str = "en") -> list[Chart]:
    """Every chart of the report, in order, drawn from the tables."""
    t = data.tables
    period = (data.meta.get("funnel") or {}).get("trend_period")
    unit = data.meta.get("unit") or "customer"
    out = [Chart("funnel", charts.funnel_chart(t["funnel"], lang=lang, unit=unit))]
    if not t["funnel_breakdown"].empty:
        present = list(dict.fromkeys(t["funnel_breakdown"]["breakdown"].tolist()))
        configured = [b for b in (data.meta.get("funnel") or {}).get("breakdowns") or [] if b in present]
        for name in configured + [b for b in present if b not in configured]:
            out.append(Chart(f"breakdown-{_slug(str(name))}", charts.funnel_breakdown_chart(
                t["funnel_breakdown"], str(name), lang=lang, unit=unit,
                period=(data.meta.get("funnel") or {}).get("cohort_period"))))
    out += [
        Chart("flow", charts.flow_chart(t["step_flows"], lang=lang) if not t["step_flows"].empty
              else charts.sankey_chart(t["transitions"], lang=lang)),  # (a warehouse from before step_flows)
        Chart("transitions", charts.transition_heatmap(t["transitions"], lang=lang)),
    ]
    if not t["ttc_histogram"].empty:
        out.append(Chart("ttc", charts.ttc_histograms(t["ttc_histogram"], lang=lang, unit=unit)))
    if not t["funnel_trends"].empty:
        out.append(Chart("trends", charts.trends_chart(t["funnel_trends"], lang=lang, period=period)))
    if not t["loops"].empty:
        out.append(Chart("loops", charts.loops_chart(t["loops"], lang=lang)))
    if not t["stage_kpis"].empty:
        out.append(Chart("kpis", charts.kpi_chart(t["stage_kpis"], lang=lang)))
    if not t["stage_stock"].empty:
        out.append(Chart("stock", charts.stock_chart(t["stage_stock"], lang=lang,
                                                     inactivity=data.meta.get("stock_inactivity"))))
    out += [Chart(key, figure) for key, figure in predict_charts(t, lang)]  # attribution, entry channels, calibration
    return out


def write_pngs(chart_list: list[Chart], png_dir: str | Path) -> list[Path]:
    """Each chart as ``<png_dir>/NN_<key>.png``; :class:`ReportImageError` when export does not work here."""
    try:
        import kaleido  # noqa: F401 - plotly 7 exports images only through kaleido >= 1
    except ImportError:
        raise ReportImageError("the kaleido package is not installed; plotly 7 exports images with "
                               "kaleido >= 1 and a Chrome or Chromium: pip install 'kaleido>=1'") from None
    import plotly.io as pio

    folder = Path(png_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:02d}_{c.key}.png" for i, c in enumerate(chart_list, start=1)]
    try:
        pio.write_images([c.figure for c in chart_list], paths, width=PNG_WIDTH,
                         height=[int(c.figure.layout.height or 500) for c in chart_list])
    except Exception as e:  # noqa: BLE001 - kaleido raises many kinds (no Chrome, a crashed browser, timeouts)
        first = (str(e).strip().splitlines() or [""])[0]
        raise ReportImageError(f"kaleido could not export images ({type(e).__name__}: {first}); it needs "
                               "Chrome or Chromium installed (e.g. apt-get install chromium, or "
                               "`plotly_get_chrome`)") from None
    missing = [p for p in paths if not p.is_file() or p.stat().st_size == 0]
    if missing:
        raise ReportImageError(f"kaleido wrote no image for {', '.join(p.name for p in missing)}")
    return paths


# --------------------------------------------------------------------------- entry points


def _config(config_or_path: PipelineConfig | str | Path) -> PipelineConfig:
    if isinstance(config_or_path, PipelineConfig):
        return config_or_path
    return load_config(config_or_path)


def make_report(config_or_path: PipelineConfig | str | Path, out: str | Path | None = None, lang: str = "en",
                png_dir: str | Path | None = None) -> ReportResult:
    """Build the report and say what happened: the HTML path, the charts, the PNGs and warnings."""
    if lang not in LANGS:
        raise CjmError(f"unknown report language {lang!r}; use one of {', '.join(LANGS)}")
    cfg = _config(config_or_path)
    data = read_report_data(Warehouse(cfg.warehouse_path))
    data.min_complete_share = cfg.output.min_complete_share
    if cfg.output.pii != "clear":  # the map quotes comments: phones and e-mails masked, as in the exports
        data.tables["journey_map"] = masked(data.tables["journey_map"], "journey_map")
    chart_list = report_charts(data, lang)
    path = Path(out) if out else cfg.output_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(data, chart_list, lang, config_path=cfg.config_path), encoding="utf-8")
    tmp.replace(path)
    result = ReportResult(path=path, charts=chart_list)
    if png_dir is not None:
        try:
            result.pngs = write_pngs(chart_list, png_dir)
        except ReportImageError as e:
            result.warnings.append(labels(lang)["png_warning"].format(reason=e))
    return result


def build_report(config_or_path: PipelineConfig | str | Path, out: str | Path | None = None, lang: str = "en",
                 png_dir: str | Path | None = None) -> Path:
    """Write the HTML report of the config's warehouse and return its path.

    ``out`` defaults to ``<output dir>/report.html``; ``lang`` is ``en`` or ``ru``; with
    ``png_dir`` each chart is also written there as a PNG, and when that cannot work here
    a :class:`ReportWarning` says why (the HTML is written all the same).
    """
    result = make_report(config_or_path, out, lang, png_dir)
    for message in result.warnings:
        warnings.warn(message, ReportWarning, stacklevel=2)
    return result.path
