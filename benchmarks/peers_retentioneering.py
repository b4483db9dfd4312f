"""The retentioneering peer: its funnel, transition matrix and step matrix on the classified events.

Runs in a virtualenv of its own (retentioneering pins its own pandas/duckdb): ``benchmarks.run``
calls it as ``<rete python> benchmarks/peers_retentioneering.py --input … --steps … --out …``
with ``RETENTIONEERING_NO_TRACK=1`` (the library sends usage events to PostHog otherwise).

The eventstream: one path per customer, the event is the stage name (staged events only),
``index`` is the position in our total order ``(event_ts, stage_order, event_id)`` so both
tools see the same sequence. What retentioneering computes (v5):

* ``funnel_data(steps)``: a path counts at step k when the step events occur in order; there
  is **no conversion window** (ours is 90 days), so its counts are compared with the pandas
  peer's windowless funnel, not with the pipeline's;
* ``transition_graph_data('count' / 'unique_paths')``: consecutive events, including repeats
  of one stage; off the diagonal these are exactly our stage transitions (a visit collapses
  the repeats), with ``path_start`` / ``path_end`` as our ``(start)`` / ``(end)``;
* ``step_matrix_data(max_steps=10)``: the share of paths at each event per step (no
  equivalent in the pipeline; timed only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("RETENTIONEERING_NO_TRACK", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.measure import Timeline  # noqa: E402

COLUMNS = ["customer_id", "event_id", "event_ts", "stage", "stage_order"]


def run(input_path: str, steps: list[str]) -> dict:
    """Read, build the eventstream, then each tool, timed with its peak RSS."""
    import pandas as pd
    import retentioneering
    from retentioneering import Eventstream

    timeline = Timeline()
    events = pd.read_parquet(input_path, columns=COLUMNS)
    timeline.close("read", rows=len(events))
    staged = events[events["stage"].notna()].sort_values(["customer_id", "event_ts", "stage_order", "event_id"])
    frame = pd.DataFrame({"user_id": staged["customer_id"].to_numpy(), "event": staged["stage"].to_numpy(),
                          "timestamp": staged["event_ts"].to_numpy(),
                          "index": staged.groupby("customer_id", sort=False).cumcount().to_numpy() + 1})
    stream = Eventstream(frame)
    timeline.close("eventstream", rows=len(frame))
    funnel = stream.funnel_data(steps=steps)
    timeline.close("funnel", rows=len(steps))
    counts = stream.transition_graph_data(edge_weight="count")
    paths = stream.transition_graph_data(edge_weight="unique_paths")
    timeline.close("transition_matrix", rows=int((counts > 0).to_numpy().sum()))
    step_matrix = stream.step_matrix_data(max_steps=10)
    timeline.close("step_matrix", rows=int(step_matrix.shape[0]))
    cells = [{"from": str(a), "to": str(b), "transitions": int(counts.loc[a, b]), "customers": int(paths.loc[a, b])}
             for a in counts.index for b in counts.columns if counts.loc[a, b] > 0]
    return {"version": retentioneering.__version__, "pandas": pd.__version__, "phases": timeline.as_dicts(),
            "rss_method": timeline.rss.method,
            "funnel": [{"step": i + 1, "stage": s["step"], "customers": s["unique_paths"]}
                       for i, s in enumerate(funnel["steps"])],
            "transitions": cells}


def main() -> None:
    ap = argparse.ArgumentParser(description="retentioneering peer: funnel, transition and step matrix")
    ap.add_argument("--input", required=True, help="Parquet of classified events")
    ap.add_argument("--steps", required=True, help="funnel stages in order, comma-separated")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    Path(args.out).write_text(json.dumps(run(args.input, args.steps.split(",")), indent=1))


if __name__ == "__main__":
    main()
