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
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

import cjm_pipeline as cjm
from cjm_pipeline.report import build_report
from cjm_pipeline.report.i18n import fmt_int, fmt_pct
from conftest import ROOT

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


#: Measures what a reader sees once the charts are drawn (a test-only script, like ERROR_COLLECTOR):
#: per chart, the node positions of a Sankey and the bar heights (px); the line boxes of each item
#: of the contents list (2 or more: the item is split between columns); the summary's cards.
LAYOUT_PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {charts: {}, contents: [], cards: {}};
  document.querySelectorAll('figure.cjm-chart').forEach(function (fig) {
    var nodes = [], bars = [];
    fig.querySelectorAll('.sankey-node').forEach(function (n) {
      var r = n.getBoundingClientRect(); nodes.push([Math.round(r.left), Math.round(r.height)]);
    });
    fig.querySelectorAll('.point path').forEach(function (b) { bars.push(b.getBoundingClientRect().height); });
    out.charts[fig.getAttribute('data-chart')] = {nodes: nodes, bars: bars};
  });
  document.querySelectorAll('nav li').forEach(function (li) {
    out.contents.push([li.textContent, li.getClientRects().length]);
  });
  document.querySelectorAll('#summary .card').forEach(function (c) {
    out.cards[c.id] = {text: c.innerText, cls: c.className};
  });
  document.documentElement.setAttribute('data-layout', JSON.stringify(out));
}, 2000); });
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


def render(chromium: str, page: Path, tmp_path: Path, width: int = 1400) -> ChartDom:
    """Open ``page`` in headless Chromium (a window ``width`` px wide) and parse the DOM it ends with."""
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1000",
         "--virtual-time-budget=20000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<html" in proc.stdout, f"Chromium dumped no DOM: {proc.stderr[-2000:]}"
    dom = ChartDom()
    dom.feed(proc.stdout)
    return dom


def with_error_collector(page: str) -> str:
    """A test-only copy of the report: the error collector is the first script of the page, the
    layout probe the next."""
    assert page.count("<head>") == 1
    return page.replace("<head>", "<head>\n" + ERROR_COLLECTOR + LAYOUT_PROBE, 1)


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
    assert {"funnel", "flow", "transitions", "ttc", "trends", "loops", "kpis", "stock"} <= set(keys)
    test_copy = tmp_path / f"browser_{lang}.html"
    test_copy.write_text(with_error_collector(html), encoding="utf-8")

    dom = render(chromium, test_copy, tmp_path, width=1100)  # a laptop's screen

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
    flow, steps = dom.charts["flow"], wh.table("step_flows")
    assert flow["classes"]["sankey-link"] == len(steps)
    assert all(s in " ".join(flow["text"]) for s in set(steps["from_stage"]))
    assert dom.charts["transitions"]["classes"]["heatmap-label"] == len(transitions)
    for key in ("ttc", "loops", "kpis") + tuple(k for k in keys if k.startswith("breakdown-")):
        assert dom.charts[key]["classes"]["point"] > 0, f"no bars drawn in chart {key}"
    assert dom.charts["trends"]["classes"]["js-line"] >= 2
    stock = dom.charts["stock"]["classes"]  # a band per stage and the lapsed band
    assert stock["scatter"] == stock["fills"] == len(stages) + 1 and stock["js-fill"] >= len(stages) + 1
    assert ("lapsed (inactive)" if lang == "en" else "выбыли (неактивны)") in " ".join(dom.charts["stock"]["text"])

    layout = json.loads(dom.root["data-layout"])
    # the headline is the conversion of complete entries, the incomplete ones beside it
    funnel = wh.funnel()
    complete = funnel["customers"].iloc[0] - funnel["incomplete"].iloc[0]
    converted = funnel["customers"].iloc[-1] - funnel["incomplete"].iloc[-1]
    card = layout["cards"]["summary-conversion"]["text"]
    assert fmt_pct(converted / complete, lang) in card and fmt_int(complete, lang) in card
    assert fmt_int(funnel["incomplete"].iloc[0], lang) in card
    # the step-indexed flow: one column of nodes per visit number (and the ends), every link to the right
    columns = sorted({x for x, _ in layout["charts"]["flow"]["nodes"]})
    assert len(columns) == steps["step"].max() + 1
    # no item of the contents list is split between two columns
    assert [text for text, boxes in layout["contents"] if boxes != 1] == []


@pytest.fixture(scope="module")
def mistaken(tmp_path_factory):
    """The sample with a typo in the last stage's rule, a KPI whose actual is about a thousandth of its
    target (267 s against 3 days) and a stricter output.min_complete_share."""
    folder = tmp_path_factory.mktemp("mistaken")
    data = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))
    data["stages"][-1]["rules"] = [{"event_type": "purchse", "properties.order_number": "2"}]
    data["stages"][1]["kpi"] = {"median_time_to_next_max": "3d"}
    data.update(warehouse=str(folder / "cjm.duckdb"), output={"dir": str(folder / "out"), "min_complete_share": 0.5})
    cfg = cjm.config_from_dict(data, base_dir=ROOT / "configs")
    result = cjm.run(cfg)
    return cfg, result


def test_a_reader_sees_the_typo_the_empty_stage_an_honest_headline_and_a_readable_kpi(chromium, mistaken, tmp_path):
    cfg, result = mistaken
    assert any("event_type 'purchse' matched no event; did you mean 'purchase' (444 events)?" in w
               for w in result.warnings)
    html = build_report(cfg, tmp_path / "report.html").read_text(encoding="utf-8")
    test_copy = tmp_path / "browser.html"
    test_copy.write_text(with_error_collector(html), encoding="utf-8")

    dom = render(chromium, test_copy, tmp_path)

    assert json.loads(dom.root.get("data-js-errors", "null")) == []
    layout = json.loads(dom.root["data-layout"])
    text = " ".join(layout["cards"][k]["text"] for k in layout["cards"])
    # the banner names the rule and what was probably meant; the empty stage is the first barrier
    banner = html[html.index("id='rule-warnings'"):]
    banner = unescape(banner[:banner.index("</section>")])
    assert "stages[5].rules[0] (stage “repeat_purchase”): event_type 'purchse' matched no event; " \
           "did you mean 'purchase' (444 events)?" in banner
    summary = html[html.index("id='summary-barriers'"):]
    assert summary.index("Empty stage") < summary.index("Biggest drop-off")
    # 29% of the entries are complete, under the configured 50%: the headline says so
    assert "Not yet meaningful: only 29% of the entries are complete (below 50%)" in text
    assert "not-meaningful" in layout["cards"]["summary-conversion"]["cls"]
    # the KPI whose actual is a thousandth of its target: both bars are drawn tall enough to read
    bars = layout["charts"]["kpis"]["bars"]
    assert len(bars) == 2 * len(cjm.open(cfg).table("stage_kpis")) - 0 and min(bars) > 10, bars


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
