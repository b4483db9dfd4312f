"""The journey map page: the ``journey_map`` table drawn as a grid, stages as columns and sections as rows.

The rows: what the stage is (its configured description), customers and conversion, time in the
stage, the top touchpoints with their lift, feelings (the normalised score and the NPS on a red to
green scale, the latest negative comments), the top pains, the KPIs met or missed, and where
customers go next. :func:`map_cells` reads the table into cells (plain data); :func:`map_grid`
draws them as HTML (the report's first page, :func:`map_document` the same page on its own for
``cjm map --out map.html``) and :func:`map_workbook` as an Excel sheet. The grid fits a laptop
screen (fixed columns, wrapped text) and prints on landscape pages.

Every number comes from the table; a cell reads only its stage's rows. What they mean:
``docs/semantics.md``, "Journey map".

>>> frame = pd.DataFrame([
...     {"stage_order": 1, "stage": "a", "description": "visits", "section": "kpis", "rank": 1, "item": "visitors",
...      "customers": 4, "share": 1.0, "value": 4.0, "note": "4 visits"},
...     {"stage_order": 1, "stage": "a", "description": "visits", "section": "feelings", "rank": 1, "item": "score",
...      "customers": 2, "share": 0.85, "value": 8.5, "note": "2 answers, scale nps"}])
>>> stages, rows = map_cells(frame, "en")
>>> [s.name for s in stages], [line.text for line in rows["customers"]["a"]], rows["feelings"]["a"][0].text
(['a'], ['4 customers'], 'score 85/100')
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .i18n import fmt_duration, fmt_int, fmt_pct, is_missing, labels

#: The grid's rows, in order (each a key of ``map_row_<key>`` in the labels).
ROWS = ("description", "customers", "time", "touchpoints", "feelings", "pains", "kpis", "next")
#: Touchpoints, pains and next stages shown per cell.
TOP_ITEMS = 3
#: Negative comments quoted per cell.
TOP_COMMENTS = 2
#: Configured KPI names (``stages[i].kpi`` keys): the KPI items of the kpis section.
#: The outlook items of the next section (from stage_outlook), after the next-stage probabilities.
OUTLOOK_ITEMS = ("(reach goal)", "(open now)")
KPI_KEYS = ("conversion_to_next_min", "median_time_to_next_max", "drop_off_rate_max")


@dataclass(frozen=True)
class Stage:
    name: str
    order: int
    description: str


@dataclass(frozen=True)
class Line:
    """One line of a cell: its text, a CSS class and, for a coloured value, its background."""

    text: str
    kind: str = ""
    colour: str | None = None
    title: str = ""


def score_colour(norm: Any) -> str | None:
    """A background from red (0) through yellow to green (1) for a normalised score.

    >>> score_colour(0), score_colour(1), score_colour(None)
    ('hsl(0, 70%, 85%)', 'hsl(120, 70%, 85%)', None)
    """
    if is_missing(norm):
        return None
    return f"hsl({round(120 * min(1.0, max(0.0, float(norm))))}, 70%, 85%)"


def _signed(x: float, digits: int = 0) -> str:
    text = f"{x:+.{digits}f}".replace("-", "−")
    return text


def _pain_name(item: str, lab: dict[str, str]) -> str:
    """A pain's name as shown: the built-in kinds in the report's language, configured names as written."""
    for kind in ("drop_off", "slow_step"):
        if item.startswith(kind + " → "):
            return lab[f"map_{kind}"].format(stage=item.split(" → ", 1)[1])
    return {"low scores": lab["map_low_scores"], "back-steps": lab["map_back_steps"],
            "empty_stage": lab["map_empty_stage"]}.get(item, item)


def map_cells(frame: pd.DataFrame, lang: str = "en") -> tuple[list[Stage], dict[str, dict[str, list[Line]]]]:
    """The grid's columns (stages in order) and, per row key and stage, the lines of its cell."""
    lab = labels(lang)
    pct = lambda v: fmt_pct(v, lang, 0 if is_missing(v) or abs(v) >= 0.095 or v == 0 else 1)  # noqa: E731
    if frame.empty:
        return [], {row: {} for row in ROWS}
    frame = frame.sort_values(["stage_order", "section_order" if "section_order" in frame else "section", "rank"])
    firsts = frame.drop_duplicates("stage")
    stages = [Stage(str(r.stage), int(r.stage_order), "" if is_missing(r.description) else str(r.description))
              for r in firsts.itertuples()]
    funnel_stages = [s.name for s in stages if not frame[(frame["stage"] == s.name) & (frame["section"] == "kpis")
                                                         & (frame["item"] == "funnel step")].empty]
    rows: dict[str, dict[str, list[Line]]] = {row: {} for row in ROWS}
    for stage in stages:
        own = frame[frame["stage"] == stage.name]
        section = {name: own[own["section"] == name] for name in ("touchpoints", "feelings", "pains", "kpis", "next")}
        kpis = {r.item: r for r in section["kpis"].itertuples()}
        rows["description"][stage.name] = [Line(lab["map_before_first_note"], "muted") if stage.order == 0
                                            else Line(stage.description, "description")]
        cell = []
        if "visitors" in kpis:
            cell.append(Line(lab["map_visitors"].format(n=fmt_int(kpis["visitors"].customers, lang)), "big"))
        if "funnel step" in kpis and funnel_stages and stage.name != funnel_stages[0]:
            cell.append(Line(lab["map_funnel_share"].format(pct=pct(kpis["funnel step"].share))))
        if "conversion to next" in kpis and stage.name in funnel_stages[:-1]:
            nxt = funnel_stages[funnel_stages.index(stage.name) + 1]
            cell.append(Line(lab["map_goes_on"].format(pct=pct(kpis["conversion to next"].value), stage=nxt)))
        if "forward rate" in kpis:
            cell.append(Line(lab["map_forward"].format(pct=pct(kpis["forward rate"].value)), "muted"))
        rows["customers"][stage.name] = cell
        rows["time"][stage.name] = ([Line(lab["map_median"].format(
            duration=fmt_duration(kpis["median time in stage"].value, lang)))] if "median time in stage" in kpis else [])
        rows["touchpoints"][stage.name] = [
            Line(f"{r.item} — {lab['map_share_of_visitors'].format(pct=pct(r.share))}"
                 + ("" if is_missing(r.value) else f", {lab['map_lift'].format(lift=_signed(100 * r.value))}"),
                 "good" if not is_missing(r.value) and r.value > 0.02 else
                 "bad" if not is_missing(r.value) and r.value < -0.02 else "", title=str(r.note))
            for r in section["touchpoints"].itertuples() if r.item != "(other)"][:TOP_ITEMS]
        rows["feelings"][stage.name] = _feelings(section["feelings"], lab, lang)
        rows["pains"][stage.name] = [
            Line(f"{_pain_name(str(r.item), lab)}" + ("" if is_missing(r.share) else " — " + (
                lab["map_lost"] if str(r.item).startswith("drop_off") else lab["map_share_of_visitors"]).format(
                    pct=pct(r.share))), "bad", title=str(r.note))
            for r in section["pains"].itertuples()][:TOP_ITEMS]
        rows["kpis"][stage.name] = [_kpi_line(r, lab, lang) for r in section["kpis"].itertuples() if r.item in KPI_KEYS]
        rows["next"][stage.name] = _next(section["next"], funnel_stages[-1] if funnel_stages else "", lab, lang, pct)
    return stages, rows


def _next(rows: pd.DataFrame, goal: str, lab: dict[str, str], lang: str, pct) -> list[Line]:
    """The next-stage probabilities (top :data:`TOP_ITEMS`), then the outlook: the chance to reach
    the goal and the journeys open in the stage now."""
    moves = rows[~rows["item"].isin(OUTLOOK_ITEMS)]
    lines = [Line(f"{lab['map_end'] if r.item == '(end)' else r.item} — {pct(r.share)}", title=str(r.note))
             for r in moves.itertuples()][:TOP_ITEMS] or [Line(lab["map_no_complete"], "muted")]
    outlook = {r.item: r for r in rows.itertuples() if r.item in OUTLOOK_ITEMS}
    if "(reach goal)" in outlook:
        r = outlook["(reach goal)"]
        lines.append(Line(lab["map_reach_goal"].format(pct=pct(r.share), stage=goal), "muted", title=str(r.note)))
    if "(open now)" in outlook:
        r = outlook["(open now)"]
        lines.append(Line(lab["map_open_now"].format(n=fmt_int(r.customers, lang), pct=pct(r.share)), "muted",
                          title=str(r.note)))
    return lines


def _feelings(rows: pd.DataFrame, lab: dict[str, str], lang: str) -> list[Line]:
    if rows.empty:
        return [Line(lab["map_no_answers"], "muted")]
    items = {r.item: r for r in rows.itertuples()}
    out = []
    if "score" in items:
        r = items["score"]
        out.append(Line(lab["map_score"].format(score=fmt_int(100 * r.share, lang)), "score", score_colour(r.share),
                        title=str(r.note)))
        out.append(Line(lab["map_answers"].format(n=fmt_int(r.customers, lang)), "muted"))
    if "NPS" in items:
        r = items["NPS"]
        out.append(Line(lab["map_nps"].format(nps=_signed(r.value)), "score", score_colour((r.value + 100) / 200),
                        title=str(r.note)))
    if "negative" in items and not is_missing(items["negative"].share):
        out.append(Line(lab["map_negative"].format(pct=fmt_pct(items["negative"].share, lang, 0)), "muted"))
    comments = [r for r in rows.itertuples() if r.item == "comment"][:TOP_COMMENTS]
    out += [Line(f"“{r.note}”", "comment") for r in comments]
    return out


def _kpi_line(r: Any, lab: dict[str, str], lang: str) -> Line:
    """A configured KPI: ``name target → actual: met`` (the note reads ``target <x>: met|missed|no value``)."""
    note = str(r.note)
    met = "met" if note.endswith(": met") else "missed" if note.endswith(": missed") else None
    found = re.match(r"target (-?[0-9.e+-]+)", note)
    show = (lambda v: fmt_duration(v, lang)) if r.item == "median_time_to_next_max" else (lambda v: fmt_pct(v, lang))
    target = show(float(found.group(1))) if found else ""
    verdict = lab[f"map_{met}"] if met else lab["map_no_value"]
    return Line(f"{lab.get(f'kpi_{r.item}', r.item)} {target} → {show(r.value)}: {verdict}",
                {"met": "good", "missed": "bad"}.get(met or "", "muted"), title=note)


MAP_CSS = """
.cjm-map{width:100%;border-collapse:collapse;table-layout:fixed;font-size:12.5px;margin:8px 0 18px}
.cjm-map th,.cjm-map td{border:1px solid #dfe3e8;padding:5px 7px;vertical-align:top;overflow-wrap:anywhere}
.cjm-map thead th{background:#376ab0;color:#fff;font-size:14px;text-align:left}
.cjm-map th.row{background:#f0f2f5;color:#333;width:120px;font-size:12.5px}
.cjm-map .line{display:block;margin:1px 0}.cjm-map .big{font-size:15px;font-weight:bold;color:#376ab0}
.cjm-map .muted{color:#777}.cjm-map .good{color:#1d7a45}.cjm-map .bad{color:#a01818}
.cjm-map .score{border-radius:4px;padding:1px 5px;font-weight:bold}
.cjm-map .comment{font-style:italic;color:#555}.cjm-map .description{color:#333}
.cjm-map-intro{color:#666;font-size:13px}
@media print{@page{size:A4 landscape;margin:8mm}.cjm-map{font-size:9pt}.cjm-map tr{break-inside:avoid}
#journey-map{break-after:page}}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def map_grid(frame: pd.DataFrame, lang: str = "en") -> str:
    """The map as an HTML ``<section id='journey-map'>`` (a table: a header row of stages, one row per section)."""
    lab = labels(lang)
    stages, rows = map_cells(frame, lang)
    parts = [f"<section id='journey-map'><h2>{_esc(lab['map_title'])}</h2>"
             f"<p class='cjm-map-intro'>{_esc(lab['map_intro'])}</p>"]
    if not stages:
        return "".join(parts) + f"<p class='meta'>{_esc(lab['empty_table'])}</p></section>"
    head = "".join(f"<th data-stage='{_esc(s.name)}'>{_esc(s.name if s.order else lab['map_before_first'])}</th>"
                   for s in stages)
    body = []
    for row in ROWS:
        cells = []
        for s in stages:
            lines = rows[row].get(s.name) or [Line(lab["map_none"], "muted")]
            cells.append("<td>" + "".join(
                f"<span class='line {line.kind}'"
                + (f" style='background:{line.colour}'" if line.colour else "")
                + (f" title='{_esc(line.title)}'" if line.title else "")
                + f">{_esc(line.text)}</span>" for line in lines) + "</td>")
        body.append(f"<tr data-row='{row}'><th class='row'>{_esc(lab['map_row_' + row])}</th>{''.join(cells)}</tr>")
    return ("".join(parts) + f"<table class='cjm-map'><thead><tr><th class='row'></th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></section>")


def map_document(frame: pd.DataFrame, lang: str = "en", *, title: str = "") -> str:
    """The map page on its own: one HTML file (no scripts) that opens offline and prints."""
    lab = labels(lang)
    heading = _esc(title or lab["map_title"])
    return (f"<!DOCTYPE html>\n<html lang='{lang}'>\n<head>\n<meta charset='utf-8'>\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>{heading}</title>\n"
            "<style>body{font-family:Arial,Helvetica,sans-serif;color:#222;margin:16px}"
            f"{MAP_CSS}</style>\n</head>\n<body>\n{map_grid(frame, lang)}\n</body>\n</html>\n")


def map_workbook(frame: pd.DataFrame, lang: str = "en"):
    """The map as an Excel workbook: the grid on the first sheet, the table on the second."""
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill
    except ImportError:
        raise ImportError("writing map.xlsx needs openpyxl: pip install openpyxl") from None
    import colorsys

    lab = labels(lang)
    stages, rows = map_cells(frame, lang)
    book = Workbook()
    sheet = book.active
    sheet.title = lab["map_sheet"]
    sheet.append([""] + [s.name if s.order else lab["map_before_first"] for s in stages])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 24
    for i in range(len(stages)):
        sheet.column_dimensions[chr(ord("B") + i) if i < 25 else "Z"].width = 34
    for row in ROWS:
        values = [lab["map_row_" + row]] + ["\n".join(line.text for line in rows[row].get(s.name, [])) for s in stages]
        sheet.append(values)
        r = sheet.max_row
        sheet.cell(r, 1).font = Font(bold=True)
        for j, s in enumerate(stages, start=2):
            sheet.cell(r, j).alignment = Alignment(wrap_text=True, vertical="top")
            colours = [line.colour for line in rows[row].get(s.name, []) if line.colour]
            if colours:
                hue = int(colours[0].split("(")[1].split(",")[0])
                red, green, blue = colorsys.hls_to_rgb(hue / 360, 0.85, 0.7)
                fill = f"{round(255 * red):02X}{round(255 * green):02X}{round(255 * blue):02X}"
                sheet.cell(r, j).fill = PatternFill("solid", fgColor=fill)
    data = book.create_sheet(lab["map_data_sheet"])
    data.append(list(frame.columns))
    for values in frame.itertuples(index=False):
        data.append([None if is_missing(v) else (v.item() if hasattr(v, "item") else v) for v in values])
    return book
