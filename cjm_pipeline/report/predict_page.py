"""The report's predictions and attribution: three charts, one section, and ``cjm predict``'s text.

* :func:`attribution_chart` (``attribution``: the models side by side), :func:`entry_channels_chart`
  (``stage_entry_channels``) and :func:`calibration_chart` (``prediction_calibration``), each a
  function of one table, like every chart of :mod:`cjm_pipeline.report.charts`;
* :func:`predict_html`: the section "Predictions and attribution": how good the predictions are
  (the back-test against the naive baseline, and a plain sentence when the model does not beat
  it), where each stage leads (``stage_outlook``) and the conversions per channel and model;
* :func:`predictions_text`: what ``cjm predict`` prints.

What the numbers mean: ``docs/semantics.md`` ("Predictions for open journeys", "Honest quality",
"Attribution").

>>> q = pd.DataFrame({"model": ["baseline", "model"], "customers": [50, 50], "reached_goal": [5, 5],
...                   "brier": [0.09, 0.1], "auc": [0.6, 0.55], "beats_baseline": [None, False],
...                   "backtest_cutoff_at": [pd.Timestamp("2025-03-01")] * 2})
>>> verdict(q, {"window": "30d", "goal_stage": "purchase"}, "en")[0]
'not'
"""

from __future__ import annotations

import html
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from ..predict import FEW
from .i18n import fmt_duration, fmt_int, fmt_pct, is_missing, labels
from .style import PALETTE, floats, layout, no_data, require, strs

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov")
#: The tables this part of the report reads.
TABLES = ("attribution", "stage_entry_channels", "stage_outlook", "prediction_quality", "prediction_calibration")


def _channels_by_credit(attribution: pd.DataFrame) -> list[str]:
    """Channels credited by some model, most credited first (by the Markov model, then the linear
    one), '(none)' last."""
    def credit(model: str) -> dict[str, float]:
        rows = attribution[attribution["model"] == model]
        return dict(zip(rows["channel"], rows["conversions"].astype(float)))
    markov, linear = credit("markov"), credit("linear")
    credited = set(attribution.loc[attribution["conversions"].astype(float) > 0, "channel"])
    return sorted(credited, key=lambda c: (c == "(none)", -markov.get(c, 0.0), -linear.get(c, 0.0), str(c)))


def attribution_chart(attribution: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Conversions per channel (x), one bar per model, side by side; hover: share and revenue."""
    lab = labels(lang)
    title = lab["attribution_title"]
    require(attribution, ("channel", "model", "conversions", "share", "revenue"), "attribution")
    if attribution.empty or not float(attribution["conversions"].sum()):
        return no_data(title, lang)
    channels = _channels_by_credit(attribution)
    fig = go.Figure()
    for i, model in enumerate(MODELS):
        rows = attribution[attribution["model"] == model].set_index("channel").reindex(channels)
        fig.add_trace(go.Bar(
            x=channels, y=floats(rows["conversions"]), name=lab[f"model_{model}"], marker={"color": PALETTE[i]},
            customdata=[[fmt_pct(s, lang), f"{r:,.0f}" if not is_missing(r) else ""]
                        for s, r in zip(rows["share"], rows["revenue"])],
            hovertemplate=f"%{{x}} · {lab[f'model_{model}']}<br>{lab['conversions']}: %{{y:.1f}} (%{{customdata[0]}})"
                          f"<br>{lab['revenue']}: %{{customdata[1]}}<extra></extra>"))
    fig.update_layout(barmode="group", xaxis={"title": lab["channel"]}, yaxis={"title": lab["conversions"]},
                      legend={"orientation": "h", "y": -0.2})
    return layout(fig, title, lang, 480)


def entry_channels_chart(stage_entry_channels: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Per stage (rows, in funnel order), the share of its entries each channel brought (stacked)."""
    lab = labels(lang)
    title = lab["entry_channels_title"]
    require(stage_entry_channels, ("stage", "stage_order", "channel", "visits", "share"), "stage_entry_channels")
    if stage_entry_channels.empty:
        return no_data(title, lang)
    t = stage_entry_channels.sort_values(["stage_order", "channel"])
    stages = list(dict.fromkeys(t["stage"]))
    totals = t.groupby("channel")["visits"].sum()
    channels = sorted(totals.index, key=lambda c: (c == "(none)", -int(totals[c]), str(c)))
    fig = go.Figure()
    for i, channel in enumerate(channels):
        rows = t[t["channel"] == channel].set_index("stage").reindex(stages)
        fig.add_trace(go.Bar(
            y=stages, x=floats(rows["share"]), name=str(channel), orientation="h",
            marker={"color": PALETTE[i % len(PALETTE)]}, customdata=[fmt_int(v, lang) for v in rows["visits"]],
            hovertemplate=f"%{{y}} · {channel}: %{{x:.1%}} (%{{customdata}})<extra></extra>"))
    fig.update_layout(barmode="stack", xaxis={"title": lab["share_of_entries"], "tickformat": ".0%"},
                      yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.2, "traceorder": "normal"})
    return layout(fig, title, lang, 160 + 40 * len(stages))


def calibration_chart(prediction_calibration: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Observed share against mean prediction per decile, for the model and the baseline, with the diagonal."""
    lab = labels(lang)
    title = lab["calibration_title"]
    require(prediction_calibration, ("model", "decile", "customers", "mean_predicted", "observed_rate"),
            "prediction_calibration")
    if prediction_calibration.empty:
        return no_data(title, lang)
    top = float(max(prediction_calibration["mean_predicted"].max(), prediction_calibration["observed_rate"].max()))
    fig = go.Figure(go.Scatter(x=[0, top], y=[0, top], mode="lines", name=lab["perfect"],
                               line={"dash": "dash", "color": "#9e9e9e"}, hoverinfo="skip"))
    for i, model in enumerate(("model", "baseline")):
        rows = prediction_calibration[prediction_calibration["model"] == model].sort_values("decile")
        fig.add_trace(go.Scatter(
            x=floats(rows["mean_predicted"]), y=floats(rows["observed_rate"]), mode="lines+markers",
            name=lab[f"model_{model}"], marker={"color": PALETTE[i], "size": 9},
            customdata=[fmt_int(v, lang) for v in rows["customers"]],
            hovertemplate=f"{lab['predicted']}: %{{x:.1%}}<br>{lab['observed']}: %{{y:.1%}} (%{{customdata}})"
                          "<extra></extra>"))
    fig.update_layout(xaxis={"title": lab["predicted"], "tickformat": ".0%"},
                      yaxis={"title": lab["observed"], "tickformat": ".0%"}, legend={"orientation": "h", "y": -0.2})
    return layout(fig, title, lang, 480)


def predict_charts(tables: dict[str, pd.DataFrame], lang: str = "en") -> list[tuple[str, go.Figure]]:
    """The section's charts as ``(key, figure)``, those whose table the warehouse has."""
    out = []
    for key, table, draw in (("attribution", "attribution", attribution_chart),
                             ("entry-channels", "stage_entry_channels", entry_channels_chart),
                             ("calibration", "prediction_calibration", calibration_chart)):
        frame = tables.get(table)
        if frame is not None and len(frame.columns):
            out.append((key, draw(frame, lang=lang)))
    return out


# --------------------------------------------------------------------------- the section


def _esc(value: Any) -> str:
    return html.escape("" if value is None or is_missing(value) else str(value))


def _table(frame: pd.DataFrame, columns: list[tuple[str, str, Callable[[Any], str] | None]], key: str) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for _, h, _ in columns)
    rows = "".join("<tr>" + "".join(f"<td class='num'>{_esc(fmt(r.get(c)))}</td>" if fmt else f"<td>{_esc(r.get(c))}</td>"
                                    for c, _, fmt in columns) + "</tr>" for r in frame.to_dict("records"))
    return f"<table id='{key}'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def verdict(quality: pd.DataFrame, meta: dict[str, Any], lang: str) -> tuple[str, str]:
    """``(kind, sentence)`` about the back-test: ``beats``, ``not`` (the model does not beat the
    baseline), ``undefined`` (nobody or everybody reached the goal) or ``none`` (nothing to score)."""
    lab = labels(lang)
    rows = {r["model"]: r for r in quality.to_dict("records")} if not quality.empty else {}
    model, base = rows.get("model", {}), rows.get("baseline", {})
    n, reached = int(model.get("customers") or 0), int(model.get("reached_goal") or 0)
    window = meta.get("predict_window") or meta.get("window") or ""
    if not n:
        return "none", lab["verdict_none"].format(window=window)
    if reached in (0, n):
        return "undefined", lab["verdict_undefined"].format(n=fmt_int(n, lang),
                                                            which=lab["nobody" if not reached else "everybody"])
    numbers = {"brier": _num(model.get("brier"), lang), "baseline": _num(base.get("brier"), lang),
               "auc": _num(model.get("auc"), lang, 3), "baseline_auc": _num(base.get("auc"), lang, 3)}
    beats = model.get("beats_baseline")
    kind = "beats" if (not is_missing(beats) and bool(beats)) else "not"
    few = lab["verdict_few"].format(n=fmt_int(reached, lang)) if reached < FEW else ""
    return kind, lab[f"verdict_{kind}"].format(**numbers) + few


def _num(value: Any, lang: str, digits: int = 4) -> str:
    if value is None or is_missing(value):
        return "–"
    text = f"{float(value):.{digits}f}"
    return text.replace(".", ",") if lang == "ru" else text


def predict_html(tables: dict[str, pd.DataFrame], meta: dict[str, Any], lang: str) -> str:
    """The section "Predictions and attribution" (empty for a warehouse built before it existed)."""
    if any(tables.get(t) is None or not len(tables[t].columns) for t in TABLES):
        return ""
    lab = labels(lang)
    quality, outlook, attribution = tables["prediction_quality"], tables["stage_outlook"], tables["attribution"]
    p = lambda v: fmt_pct(v, lang)  # noqa: E731
    n = lambda v: fmt_int(v, lang)  # noqa: E731
    parts = [f"<section id='predictions'><h2>{_esc(lab['predict_heading'])}</h2>",
             f"<h3>{_esc(lab['quality_heading'])}</h3>"]
    kind, sentence = verdict(quality, meta, lang)
    model = quality[quality["model"] == "model"].to_dict("records")
    if model and kind != "none":
        m = model[0]
        note = lab["quality_note"].format(
            cutoff=pd.Timestamp(m["backtest_cutoff_at"]).strftime("%Y-%m-%d %H:%M"), n=n(m["customers"]),
            converters=n(m["reached_goal"]), goal=meta.get("goal_stage", ""),
            window=meta.get("predict_window") or meta.get("window", ""))
        parts.append(f"<p class='meta'>{_esc(note)}</p>")
    parts.append(f"<p id='prediction-verdict' class='verdict {kind}{' warn' if kind != 'beats' else ''}'>"
                 f"{_esc(sentence)}</p>")
    if kind != "none":
        shown = quality.assign(model_name=[lab.get(f"model_{m}", m) for m in quality["model"]],
                               _o=[m != "model" for m in quality["model"]]).sort_values("_o", kind="stable")
        parts.append(_table(shown, [("model_name", lab["col_model"], None), ("customers", lab["col_open_journeys"], n),
                                    ("reached_goal", lab["col_converters"], n),
                                    ("brier", lab["col_brier"], lambda v: _num(v, lang)),
                                    ("auc", lab["col_auc"], lambda v: _num(v, lang, 3))], "table-prediction-quality"))
    parts.append(f"<h3>{_esc(lab['outlook_heading'])}</h3>")
    parts.append(_table(outlook, [
        ("stage", lab["col_stage"], None), ("visits", lab["col_visits_counted"], n),
        ("p_goal", lab["col_p_goal"], p), ("p_goal_observed", lab["col_p_goal_observed"], p),
        ("expected_visits", lab["col_expected_visits"], lambda v: _num(v, lang, 1)),
        ("likely_next_stage", lab["col_likely_next"], None),
        ("median_time_to_goal_s", lab["col_time_to_goal"], lambda v: fmt_duration(v, lang)),
        ("open_journeys", lab["col_open_journeys"], n), ("mean_p_goal_window", lab["col_p_goal_window"], p),
    ], "table-stage-outlook"))
    parts.append(f"<h3>{_esc(lab['attribution_heading'])}</h3>")
    if attribution.empty:
        parts.append(f"<p class='meta'>{_esc(lab['empty_table'])}</p>")
    else:
        wide = attribution.pivot_table(index="channel", columns="model", values=["conversions", "share"], aggfunc="sum")
        rows = [{"channel": c, **{m: f"{wide.loc[c, ('conversions', m)]:.1f} ({p(wide.loc[c, ('share', m)])})"
                                  for m in MODELS if ('conversions', m) in wide.columns}}
                for c in _channels_by_credit(attribution)]
        parts.append(_table(pd.DataFrame(rows), [("channel", lab["col_channel"], None)]
                            + [(m, lab[f"model_{m}"], None) for m in MODELS], "table-attribution"))
    parts.append("</section>")
    return "".join(parts)


# --------------------------------------------------------------------------- cjm predict


def predictions_text(predictions: pd.DataFrame, outlook: pd.DataFrame, quality: pd.DataFrame,
                     meta: dict[str, Any], customer: str | None = None) -> str:
    """What ``cjm predict`` prints: the open journeys per stage and the back-test's verdict, or
    one customer's prediction (``customer``: the key they were asked by)."""
    goal, window = meta.get("goal_stage", ""), meta.get("predict_window") or meta.get("window", "")
    if customer is not None:
        if predictions.empty:
            return (f"customer {customer}: no open journey (no stage visit began within the last {window} "
                    "before the data cutoff)")
        r = predictions.iloc[0]
        basis = {"stage_and_time": "stage and time in it", "stage": "the stage's overall rate"}.get(r["basis"], "none")
        return "\n".join([
            f"customer {r['customer_id']}: in '{r['current_stage']}' for {fmt_duration(r['time_in_stage_s'])} "
            f"(since {pd.Timestamp(r['entered_at']):%Y-%m-%d %H:%M} UTC)",
            f"  likeliest next stage: {r['likely_next_stage']} ({fmt_pct(r['likely_next_probability'])})",
            f"  reaches '{goal}' within {window}: {fmt_pct(r['p_goal_window'])} ({basis}; "
            f"{fmt_int(r['reference_visits'])} past visits)",
            f"  ever reaches it (the chain): {fmt_pct(r['p_goal_eventually'])}"])
    lines = [f"open journeys at the data cutoff: {fmt_int(len(predictions))} (window {window}; goal '{goal}')",
             f"  {'stage':<24} {'open':>8}  {'likeliest next':<28} {'goal in window':>14} {'goal ever':>10}"]
    for r in outlook.sort_values("stage_order").to_dict("records"):
        nxt = "" if is_missing(r["likely_next_stage"]) else f"{r['likely_next_stage']} ({fmt_pct(r['likely_next_probability'])})"
        lines.append(f"  {str(r['stage']):<24} {fmt_int(r['open_journeys']):>8}  {nxt:<28} "
                     f"{fmt_pct(r['mean_p_goal_window']):>14} {fmt_pct(r['p_goal']):>10}")
    lines.append("back-test: " + verdict(quality, meta, "en")[1])
    return "\n".join(lines)
