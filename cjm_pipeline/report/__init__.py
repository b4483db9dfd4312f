"""The HTML report: one self-contained file with a summary, the charts and the key tables.

>>> from cjm_pipeline.report import build_report                          # doctest: +SKIP
>>> build_report("configs/sample.yaml")                  # -> build/out/report.html  # doctest: +SKIP
>>> build_report("configs/sample.yaml", "build/report_ru.html", lang="ru", png_dir="build/slides")  # doctest: +SKIP

The report reads the tables the last ``cjm run`` published (read-only), draws them and
writes one HTML file that opens offline. At the top: customers, the funnel's conversion and
the three biggest barriers in words (the biggest drop-off, the most frequent back-step and
the slowest step, from ``barriers``). Its modules, from the leaves up:

* :mod:`~cjm_pipeline.report.i18n`: every label in English and Russian, number formats, plural
  forms and the barrier sentences;
* :mod:`~cjm_pipeline.report.style`: colours, the common layout, table values as plain lists;
* :mod:`~cjm_pipeline.report.charts` (and :mod:`~cjm_pipeline.report.flows` for the Sankey,
  the transition matrix and loops): each chart a function of one table's DataFrame, e.g.
  ``charts.funnel_chart(wh.funnel(), lang="ru")``;
* :mod:`~cjm_pipeline.report.html`: the page (CSS, summary, tables, charts);
* :mod:`~cjm_pipeline.report.build`: read the warehouse, draw, write the HTML and the PNGs.
"""

from . import charts
from .build import (PNG_WIDTH, ReportImageError, ReportResult, ReportWarning, build_report, make_report,
                    read_report_data, report_charts, write_pngs)
from .i18n import LANGS, barrier_sentence

__all__ = [
    "build_report", "make_report", "ReportWarning", "ReportResult", "LANGS", "charts",
    # the steps of make_report, for scripts and tests
    "read_report_data", "report_charts", "write_pngs", "ReportImageError", "PNG_WIDTH", "barrier_sentence",
]
