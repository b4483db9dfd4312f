"""The pandas peer: the ordered funnel and the stage transition matrix, written the way an
analyst would in pandas, following docs/semantics.md exactly like the SQL steps do.

Input: the classified events (``customer_id, event_id, event_ts, stage, stage_order``; stage
null for events with no stage), as the pipeline's ``classified_events`` holds them. So the
peer starts where the funnel and journey layers start: identities are stitched and stages
assigned (neither peer does identity stitching).

* **Total order** of a customer's events: ``(event_ts, stage_order, event_id)``.
* **Ordered funnel** (``sql/funnel/funnel_attempts__ordered.sql``, ``funnel_customer_steps.sql``,
  ``funnel.sql``): every step-1 event is an attempt; an attempt is extended greedily, each
  step by the customer's first event of the next step after the current one (``merge_asof``
  forward), as long as it lies within ``window`` of the attempt's step-1 event. The
  customer's best attempt is the one reaching furthest, then the latest; its times give
  the time to convert; it is complete when its window ended by the data's last event.
* **Transitions** (``sql/journey/stage_visits.sql``, ``stage_transitions.sql``,
  ``transitions.sql``): consecutive staged events of one stage collapse into a visit;
  each move between visits is forward, skip or back, plus a start and an end row per
  customer; the matrix counts transitions, distinct customers and the median gap.

    .venv/bin/python -m benchmarks.peers_pandas --input peers.parquet --steps a,b,c --window-s 7776000 --out out.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .measure import Timeline

TOTAL_ORDER = ["customer_id", "event_ts", "stage_order", "event_id"]
COLUMNS = ["customer_id", "event_id", "event_ts", "stage", "stage_order"]
TRANSITION_KEYS = ["from_stage", "from_order", "to_stage", "to_order"]


def read_events(path: str | Path) -> pd.DataFrame:
    """The classified events from a Parquet file."""
    return pd.read_parquet(path, columns=COLUMNS)


def staged_in_order(events: pd.DataFrame, stages: list[str] | None = None) -> pd.DataFrame:
    """Events with a stage (of ``stages`` when given) in the total order, with ``cust``:
    a number per customer, increasing in the sort (customers are contiguous)."""
    staged = events[events["stage"].notna()]
    if stages is not None:
        staged = staged[staged["stage"].isin(stages)]
    staged = staged.astype({"stage_order": "int64"}).sort_values(TOTAL_ORDER, kind="stable").reset_index(drop=True)
    customer = staged["customer_id"]
    staged["cust"] = (customer != customer.shift()).cumsum().astype("int64")
    return staged


# --------------------------------------------------------------------------- ordered funnel


def funnel_attempts(staged: pd.DataFrame, steps: list[str], window_s: float | None,
                    entry_from=None, entry_to=None) -> pd.DataFrame:
    """One row per attempt (step-1 event in the entry range): ``cust, anchor_pos, anchor_ts,
    reached`` (furthest step) and ``ts_1 … ts_n`` (the chain's events; NaT past ``reached``)."""
    step_of = {stage: i + 1 for i, stage in enumerate(steps)}
    staged = staged.assign(step=staged["stage"].map(step_of), pos=np.arange(len(staged), dtype=np.int64))
    anchors = staged[staged["step"] == 1]
    if entry_from is not None:
        anchors = anchors[anchors["event_ts"] >= pd.Timestamp(entry_from)]
    if entry_to is not None:
        anchors = anchors[anchors["event_ts"] < pd.Timestamp(entry_to)]
    attempts = pd.DataFrame({"cust": anchors["cust"].to_numpy(), "anchor_pos": anchors["pos"].to_numpy(),
                             "anchor_ts": anchors["event_ts"].to_numpy(), "reached": 1}).set_index("anchor_pos",
                                                                                                 drop=False)
    attempts["ts_1"] = attempts["anchor_ts"]
    window = pd.Timedelta(seconds=window_s) if window_s is not None else None
    current = attempts[["cust", "anchor_pos", "anchor_ts"]].assign(pos=attempts["anchor_pos"]).reset_index(drop=True)
    for k in range(2, len(steps) + 1):
        attempts[f"ts_{k}"] = pd.NaT
        if current.empty:
            continue
        nxt = staged.loc[staged["step"] == k, ["cust", "pos", "event_ts"]].rename(columns={"pos": "next_pos"})
        merged = pd.merge_asof(current.sort_values("pos"), nxt, left_on="pos", right_on="next_pos", by="cust",
                               direction="forward", allow_exact_matches=False)
        ok = merged["next_pos"].notna()
        if window is not None:
            ok &= merged["event_ts"] <= merged["anchor_ts"] + window
        merged = merged[ok]
        attempts.loc[merged["anchor_pos"].to_numpy(), "reached"] = k
        attempts.loc[merged["anchor_pos"].to_numpy(), f"ts_{k}"] = merged["event_ts"].to_numpy()
        current = merged[["cust", "anchor_pos", "anchor_ts"]].assign(pos=merged["next_pos"].astype("int64"))
    return attempts.reset_index(drop=True)


def best_attempts(attempts: pd.DataFrame) -> pd.DataFrame:
    """Each customer's best attempt: furthest step, then latest step-1 event, then latest position."""
    ranked = attempts.sort_values(["cust", "reached", "anchor_ts", "anchor_pos"],
                                  ascending=[True, False, False, False], kind="stable")
    return ranked.drop_duplicates("cust", keep="first")


def ordered_funnel(events: pd.DataFrame, steps: list[str], window_s: float | None, entry_from=None,
                   entry_to=None) -> pd.DataFrame:
    """The ``funnel`` table's columns for the ordered mode (``window_s=None``: no window)."""
    staged = staged_in_order(events, steps)
    best = best_attempts(funnel_attempts(staged, steps, window_s, entry_from, entry_to))
    data_end = events["event_ts"].max()
    complete = (best["anchor_ts"] + pd.Timedelta(seconds=window_s) <= data_end) if window_s is not None else True
    any_order = events[events["stage"].isin(steps)].groupby("stage")["customer_id"].nunique()
    rows = []
    for k, stage in enumerate(steps, start=1):
        at_k = best["reached"] >= k
        row = {"step": k, "stage": stage, "customers": int(at_k.sum()),
               "reached_any_order": int(any_order.get(stage, 0)), "implied": 0,
               "incomplete": int((at_k & ~complete).sum())}
        gaps = pd.Series(dtype="float64")
        if k < len(steps):
            on = best[best["reached"] >= k + 1]
            gaps = (on[f"ts_{k + 1}"] - on[f"ts_{k}"]).dt.total_seconds()
            gaps = gaps[gaps >= 0]
        for name, q in (("median", 0.5), ("p25", 0.25), ("p75", 0.75), ("p90", 0.9)):
            row[f"ttc_{name}_s"] = float(gaps.quantile(q)) if len(gaps) else None
        row["ttc_mean_s"] = float(gaps.mean()) if len(gaps) else None
        rows.append(row)
    funnel = pd.DataFrame(rows)
    customers = funnel["customers"]
    start = customers.iloc[0]
    funnel["conversion_from_previous"] = customers / customers.shift().replace(0, np.nan)
    funnel["conversion_from_start"] = customers / start if start else np.nan
    funnel["dropped"] = customers - customers.shift(-1)
    funnel["drop_off_rate"] = funnel["dropped"] / customers.replace(0, np.nan)
    return funnel


# --------------------------------------------------------------------------- transitions


def stage_moves(events: pd.DataFrame) -> pd.DataFrame:
    """``stage_transitions``: one row per move between consecutive visits, plus start and end rows."""
    staged = staged_in_order(events)
    cust, order = staged["cust"], staged["stage_order"]
    visits = staged[(order != order.shift()) | (cust != cust.shift())]
    first = visits["cust"] != visits["cust"].shift()
    last = visits["cust"] != visits["cust"].shift(-1)
    from_order = visits["stage_order"].shift().where(~first)
    to_order = visits["stage_order"]
    kind = np.select([first, to_order == from_order + 1, to_order > from_order + 1],
                     ["start", "forward", "skip"], "back")
    moves = pd.DataFrame({
        "customer_id": visits["customer_id"], "from_stage": visits["stage"].shift().where(~first, "(start)"),
        "from_order": from_order, "to_stage": visits["stage"], "to_order": to_order.astype("float64"), "kind": kind,
        "gap_s": (visits["event_ts"] - visits["event_ts"].shift()).dt.total_seconds().where(~first),
    })
    ends = visits[last]
    ends = pd.DataFrame({"customer_id": ends["customer_id"], "from_stage": ends["stage"],
                         "from_order": ends["stage_order"].astype("float64"), "to_stage": "(end)",
                         "to_order": np.nan, "kind": "end", "gap_s": np.nan})
    return pd.concat([moves, ends], ignore_index=True)


def transition_matrix(events: pd.DataFrame) -> pd.DataFrame:
    """``transitions``: per (from, to) cell, transitions, distinct customers and the median gap."""
    moves = stage_moves(events)
    return (moves.groupby(TRANSITION_KEYS, dropna=False, sort=True)
            .agg(kind=("kind", "first"), transitions=("kind", "size"), customers=("customer_id", "nunique"),
                 median_gap_s=("gap_s", "median"))
            .reset_index())


# --------------------------------------------------------------------------- the timed run


def run(input_path: str, steps: list[str], window_s: float | None, entry_from=None, entry_to=None,
        windowless_check: bool = False) -> dict:
    """Read, funnel, transitions, each timed with its peak RSS; the results as records."""
    timeline = Timeline()
    events = read_events(input_path)
    timeline.close("read", rows=len(events))
    funnel = ordered_funnel(events, steps, window_s, entry_from, entry_to)
    timeline.close("funnel", rows=len(funnel))
    matrix = transition_matrix(events)
    timeline.close("transitions", rows=len(matrix))
    result = {"phases": timeline.as_dicts(), "rss_method": timeline.rss.method,
              "funnel": _records(funnel), "transitions": _records(matrix)}
    if windowless_check:  # not timed: the funnel retentioneering computes (it has no conversion window)
        result["funnel_windowless"] = _records(ordered_funnel(events, steps, None)[["step", "stage", "customers"]])
    return result


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def main() -> None:
    ap = argparse.ArgumentParser(description="pandas peer: ordered funnel and stage transition matrix")
    ap.add_argument("--input", required=True, help="Parquet of classified events")
    ap.add_argument("--steps", required=True, help="funnel stages in order, comma-separated")
    ap.add_argument("--window-s", type=float, default=None)
    ap.add_argument("--entry-from")
    ap.add_argument("--entry-to")
    ap.add_argument("--windowless-check", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    result = run(args.input, args.steps.split(","), args.window_s, args.entry_from, args.entry_to,
                 args.windowless_check)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
