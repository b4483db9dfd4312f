"""Score a pipeline run on a simulated world against the world's ground truth.

* :func:`pair_scores`: identity quality over **pairs of records**. A pair is *true* when both
  records belong to one person (``truth/records.csv``) and *predicted* when the pipeline put
  both into one customer. Precision = true predicted pairs / predicted pairs, recall = true
  predicted pairs / true pairs. Computed from the (person, customer) contingency table, so it
  needs no quadratic loop.
* :func:`true_funnel`: the ordered funnel (``docs/semantics.md``) computed by brute force on the true
  stage paths (``truth/paths.csv``): per person, events in the order (time, stage order,
  event id); for each event of the first step, the earliest chain of the next steps within
  the window; the furthest step over all such starts counts.
* :func:`score_run`: both, plus the stage agreement per event, for a config and the folder
  the simulator wrote.

>>> import pandas as pd
>>> pair_scores(pd.Series(["a", "a", "b", "b"]), pd.Series([1, 1, 1, 2]))
{'records': 4, 'true_pairs': 2, 'predicted_pairs': 3, 'correct_pairs': 1, 'precision': 0.3333333333333333, 'recall': 0.5}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import PipelineConfig


@dataclass
class TruthTables:
    """The ground-truth files of one simulated world as DataFrames."""

    records: pd.DataFrame
    events: pd.DataFrame
    paths: pd.DataFrame
    people: pd.DataFrame


def read_truth(out: str | Path) -> TruthTables:
    """``truth/records.csv``, ``events.csv``, ``paths.csv`` and ``people.csv`` of a world folder (all text)."""
    folder = Path(out) / "truth"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no truth folder (write one with `cjm simulate --out {out}`)")

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(folder / name, dtype=str, keep_default_na=False)

    records = read("records.csv")
    records["row"] = records["row"].astype(int)
    return TruthTables(records, read("events.csv"), read("paths.csv"), read("people.csv"))


def _pairs(counts: pd.Series) -> int:
    return int((counts * (counts - 1) // 2).sum())


def pair_scores(person: pd.Series, customer: pd.Series) -> dict:
    """Pairwise precision and recall of a clustering (``customer``) against the truth (``person``),
    both given per record, aligned."""
    frame = pd.DataFrame({"person": person.to_numpy(), "customer": customer.to_numpy()})
    true_pairs = _pairs(frame.groupby("person").size())
    predicted = _pairs(frame.groupby("customer").size())
    correct = _pairs(frame.groupby(["person", "customer"]).size())
    return {
        "records": len(frame), "true_pairs": true_pairs, "predicted_pairs": predicted, "correct_pairs": correct,
        "precision": correct / predicted if predicted else 1.0,
        "recall": correct / true_pairs if true_pairs else 1.0,
    }


def _seconds(ts: str) -> int:
    return int(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())


def true_funnel(paths: pd.DataFrame, stages: list[str], window_s: int, from_stage: str | None = None,
                to_stage: str | None = None) -> list[int]:
    """People reaching each step of the ordered funnel, by brute force on the true paths.

    ``paths`` has ``person_id``, ``event_ts`` (ISO, UTC), ``stage`` and ``event_id``.

    >>> p = pd.DataFrame({"person_id": ["a"] * 4 + ["b"] * 2,
    ...     "event_ts": ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "2025-01-01T12:00:00Z", "2025-05-01T00:00:00Z",
    ...                  "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"],
    ...     "stage": ["s1", "s2", "s1", "s3", "s2", "s1"], "event_id": ["1", "2", "3", "4", "5", "6"]})
    >>> true_funnel(p, ["s1", "s2", "s3"], 90 * 86400)
    [2, 2, 0]
    """
    lo = stages.index(from_stage) if from_stage else 0
    hi = stages.index(to_stage) if to_stage else len(stages) - 1
    steps = stages[lo:hi + 1]
    order = {s: i for i, s in enumerate(stages)}
    reached = [0] * len(steps)
    for _, group in paths.groupby("person_id", sort=False):
        events = sorted((_seconds(ts), order[st], eid, st) for ts, st, eid in
                        zip(group["event_ts"], group["stage"], group["event_id"]))
        best = 0
        for i, (t0, _, _, stage) in enumerate(events):
            if stage != steps[0]:
                continue
            k = 1
            for t, _, _, st in events[i + 1:]:
                if k == len(steps) or t - t0 > window_s:
                    break
                if st == steps[k]:
                    k += 1
            best = max(best, k)
            if best == len(steps):
                break
        for k in range(best):
            reached[k] += 1
    return reached


def true_reached_any_order(paths: pd.DataFrame, stages: list[str]) -> list[int]:
    """People with at least one true event of each stage."""
    per_stage = paths.groupby("stage")["person_id"].nunique()
    return [int(per_stage.get(s, 0)) for s in stages]


def pipeline_records(con, data_dir: Path) -> pd.DataFrame:
    """``(source, file, row, customer_id, n_customers)`` of each loaded record (file relative to ``data_dir``)."""
    from .. import db

    frame = db.query(con, """
        select source, _file as file, _row as row, min(customer_id) as customer_id,
            count(distinct customer_id) as n_customers
        from classified_events
        group by source, _file, _row
    """)
    base = Path(data_dir).resolve()
    frame["file"] = [Path(f).resolve().relative_to(base).as_posix() for f in frame["file"]]
    return frame


def score_run(cfg: PipelineConfig, data_dir: str | Path) -> dict:
    """Compare a finished pipeline run (its warehouse) with the truth of the world in ``data_dir``.

    Returns ``identity`` (:func:`pair_scores` over the loaded records), ``stages`` (events
    whose pipeline stage equals the true one, and the disagreements by signature),
    ``missing_events`` / ``extra_events`` (event ids in one and not the other), and
    ``funnel``: the pipeline's customers per step next to :func:`true_funnel`'s.
    """
    from .. import db

    data_dir = Path(data_dir)
    truth = read_truth(data_dir)
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        records = pipeline_records(con, data_dir)
        events = db.query(con, "select event_id, stage, customer_id from classified_events")
        funnel = db.query(con, "select step, stage, customers, reached_any_order from funnel order by step")
    finally:
        con.close()
    joined = records.merge(truth.records, on=["source", "file", "row"], how="left", validate="one_to_one")
    unknown = joined["person_id"].isna().sum()
    ident = pair_scores(joined["person_id"].fillna("?"), joined["customer_id"])
    ident["records_without_truth"] = int(unknown)
    ident["records_split"] = int((joined["n_customers"] > 1).sum())

    truth_events = truth.events.set_index("event_id")
    both = events.merge(truth.events[["event_id", "stage", "signature"]].rename(columns={"stage": "stage_true"}),
                        on="event_id", how="inner")
    both["stage"] = both["stage"].fillna("")
    wrong = both[both["stage"] != both["stage_true"]]
    f = cfg.funnel
    expected = true_funnel(truth.paths, cfg.stage_names, f.window_seconds, f.from_stage, f.to_stage)
    return {
        "identity": ident,
        "stages": {"events": len(both), "agree": int(len(both) - len(wrong)),
                   "disagree_by_signature": wrong.groupby(["signature", "stage", "stage_true"]).size().to_dict()},
        "missing_events": sorted(set(truth_events.index) - set(events["event_id"])),
        "extra_events": sorted(set(events["event_id"]) - set(truth_events.index)),
        "funnel": {"stage": list(funnel["stage"]), "pipeline": [int(x) for x in funnel["customers"]],
                   "truth": expected,
                   "reached_any_order": [int(x) for x in funnel["reached_any_order"]],
                   "truth_reached_any_order": true_reached_any_order(truth.paths, list(funnel["stage"]))},
    }


__all__ = ["TruthTables", "read_truth", "pair_scores", "true_funnel", "true_reached_any_order",
           "pipeline_records", "score_run"]
