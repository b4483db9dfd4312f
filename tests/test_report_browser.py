"""The HTML report in a real headless Chromium: every chart is drawn, offline, without JavaScript errors.

Chromium runs the page (``--dump-dom`` after a ``--virtual-time-budget``) with every host name
unresolvable, so a chart that needed a CDN would not render. A test-only copy of the report
gets a first script that records ``error`` events, unhandled rejections and ``console.error``
calls on ``<html data-js-errors>``; the dumped DOM is then read per chart: plotly's
``main-svg`` layers and the trace elements it drew.

CI installs Debian's ``chromium`` (``.ci/run``); without it this test fails, unless
``CJM_SKIP_BROWSER=1`` is set explicitly.
"""

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

import cjm_pipeline as cjm
from cjm_pipeline.report import build_report

pytestmark = pytest.mark.slow  # starts Chromium

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND"]

ERROR_COLLECTOR = """<script>
(function () {
  var errors = [];
  function save() { document.documentElement.setAttribute('data-js-errors', JSON.stringify(errors)); }
  window.addEventListener('error', function (e) {
    var where = e.filename ? ' @' + e.filename.split('/').pop() + ':' + e.lineno : '';
    var what = e.message || ('failed to load ' + ((e.target && (e.target.src || e.target.href)) || e.type));
    errors.push(String(what) + where); save();
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection: ' + String(e.reason && (e.reason.message || e.reason))); save();
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); save();
    return consoleError.apply(console, arguments);
  };
  window.addEventListener('load', function () { document.documentElement.setAttribute('data-loaded', 'yes'); });
  save();
})();
</script>"""


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CJM_CHROMIUM"), "chromium", "chromium-browser", "google-chrome",
                      "google-chrome-stable", "/usr/bin/chromium"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="session")
def chromium():
    if os.environ.get("CJM_SKIP_BROWSER") == "1":
        pytest.skip("CJM_SKIP_BROWSER=1: the browser test is skipped on request")
    found = find_chromium()
    if not found:
        pytest.fail("Chromium is not installed: the report's browser test needs it "
                    "(apt-get install -y --no-install-recommends chromium, as .ci/run does), "
                    "or set CJM_SKIP_BROWSER=1 to skip this test explicitly")
    return found


class ChartDom(HTMLParser):
    """Per ``<figure class="cjm-chart">`` of a dumped DOM: a Counter of classes and the SVG text."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, dict] = {}
        self.current: dict | None = None
        self.in_text = 0
        self.root: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = {k: v or "" for k, v in a.items()}
        if tag == "figure" and "cjm-chart" in (a.get("class") or "").split():
            self.current = self.charts[a["data-chart"]] = {"classes": Counter(), "text": []}
        if self.current is not None:
            for c in (a.get("class") or "").split():
                self.current["classes"][c] += 1
            if tag == "text":
                self.in_text += 1

    def handle_endtag(self, tag):
        if tag == "figure":
            self.current = None
        elif tag == "text" and self.in_text:
            self.in_text -= 1

    def handle_data(self, data):
        if self.current is not None and self.in_text:
            self.current["text"].append(data)


def render(chromium: str, page: Path, tmp_path: Path) -> ChartDom:
    """Open ``page`` in headless Chromium and parse the DOM it ends with."""
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000",
         "--virtual-time-budget=20000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<html" in proc.stdout, f"Chromium dumped no DOM: {proc.stderr[-2000:]}"
    dom = ChartDom()
    dom.feed(proc.stdout)
    return dom


def with_error_collector(page: str) -> str:
    """A test-only copy of the report: the error collector is the first script of the page."""
    assert page.count("<head>") == 1
    return page.replace("<head>", "<head>\n" + ERROR_COLLECTOR, 1)


@pytest.fixture(scope="module")
def sample(ran, sample_config):
    cfg = cjm.load_config(sample_config)
    wh = cjm.open(cfg)
    return cfg, wh


@pytest.mark.parametrize("lang, axis_title", [("en", "Customers"), ("ru", "Клиенты")])
def test_every_chart_renders_offline_without_javascript_errors(chromium, sample, tmp_path, lang, axis_title):
    cfg, wh = sample
    built = build_report(cfg, tmp_path / f"report_{lang}.html", lang=lang)
    html = built.read_text(encoding="utf-8")
    keys = re.findall(r"<figure class='cjm-chart' id='chart-([^']+)'", html)
    assert len(keys) == 12
    test_copy = tmp_path / f"browser_{lang}.html"
    test_copy.write_text(with_error_collector(html), encoding="utf-8")

    dom = render(chromium, test_copy, tmp_path)

    assert dom.root.get("data-loaded") == "yes", "the page never finished loading"
    assert json.loads(dom.root.get("data-js-errors", "null")) == [], "JavaScript errors in the report"
    assert list(dom.charts) == keys
    for key, chart in dom.charts.items():
        assert chart["classes"]["main-svg"] >= 2, f"plotly drew no SVG for chart {key}"
    stages = wh.funnel()["stage"].tolist()
    transitions = wh.transitions()
    funnel = dom.charts["funnel"]
    assert funnel["classes"]["trace"] >= 2 and funnel["classes"]["point"] >= 2 * len(stages) - 1
    text = " ".join(funnel["text"])
    assert all(s in text for s in stages) and axis_title in text
    sankey = dom.charts["sankey"]
    assert sankey["classes"]["sankey-link"] == len(transitions)
    assert sankey["classes"]["sankey-node"] == len(stages) + 2
    assert all(s in " ".join(sankey["text"]) for s in stages)
    assert dom.charts["transitions"]["classes"]["heatmap-label"] == len(transitions)
    for key in ("ttc", "loops", "kpis") + tuple(k for k in keys if k.startswith("breakdown-")):
        assert dom.charts[key]["classes"]["point"] > 0, f"no bars drawn in chart {key}"
    assert dom.charts["trends"]["classes"]["js-line"] >= 2
    stock = dom.charts["stock"]["classes"]
    assert stock["scatter"] == stock["fills"] == len(stages) and stock["js-fill"] >= len(stages)


def test_the_check_notices_a_report_whose_charts_cannot_draw(chromium, sample, tmp_path):
    """The same check on a copy without the inlined plotly.js: no SVG, and the errors are caught."""
    cfg, _ = sample
    html = build_report(cfg, tmp_path / "report.html").read_text(encoding="utf-8")
    bundle = re.search(r"<script[^>]*>\s*/\*\*\s*\* plotly\.js v.*?</script>", html, re.S)
    assert bundle
    broken = tmp_path / "broken.html"
    broken.write_text(with_error_collector(html.replace(bundle.group(0), "")), encoding="utf-8")

    dom = render(chromium, broken, tmp_path)

    errors = json.loads(dom.root["data-js-errors"])
    assert any("Plotly is not defined" in e for e in errors), errors
    assert all(chart["classes"]["main-svg"] == 0 for chart in dom.charts.values())
