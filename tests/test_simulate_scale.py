"""The scale mode's options for the benchmarks: several journeys per person (a skewed world)
and a world split in time into a history and the days after it."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from cjm_pipeline.simulate import world_model
from cjm_pipeline.simulate.scale import SOURCES, write_scale
from cjm_pipeline.simulate.scale_walk import MAX_JOURNEYS, ScaleModel, journey_starts, walk_chunk

START = 1_735_689_600  # 2025-01-01 00:00 UTC
DAY = 86_400


def _steps_per_person(journeys, seed=3, people=20_000):
    m = world_model("classic")
    rng = np.random.default_rng(seed)
    steps = walk_chunk(rng, ScaleModel.of(m), people, START, 365, m.max_steps, journeys)
    return steps, np.bincount(steps.person, minlength=people)


def test_journeys_make_a_long_tail_of_heavy_people():
    _, flat = _steps_per_person(None)
    steps, skewed = _steps_per_person(2.5)
    walked = skewed[skewed > 0]
    assert flat.max() < 40  # one journey each: no heavy people
    assert walked.max() > 40 * np.median(walked) and walked.max() > 3 * flat.max()
    assert (walked <= 2).mean() > 0.3  # many people still take a step or two
    heavy = steps.time[steps.person == np.argmax(skewed)]
    assert heavy.max() - heavy.min() > 60 * DAY  # the heaviest person's journeys spread over months


def test_journeys_are_deterministic_per_seed():
    a, _ = _steps_per_person(2.5, seed=4, people=2000)
    b, _ = _steps_per_person(2.5, seed=4, people=2000)
    c, _ = _steps_per_person(2.5, seed=5, people=2000)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("person", "stage", "time", "kind"))
    assert not np.array_equal(a.time, c.time)


def test_journey_starts_follow_the_first_and_respect_the_cap():
    m = world_model("classic")
    sm = ScaleModel.of(m)
    rng = np.random.default_rng(1)
    first_t = START + np.arange(5000, dtype=np.int64) * 60
    first_stage = np.zeros(5000, dtype=np.int64)
    person, t, stage = journey_starts(rng, sm, first_t, first_stage, 1.2)
    counts = np.bincount(person, minlength=5000)
    assert counts.min() >= 1 and counts.max() == MAX_JOURNEYS  # exponent 1.2: the cap is reached
    firsts = np.cumsum(counts) - counts
    assert np.array_equal(t[firsts], first_t) and np.array_equal(stage[firsts], first_stage)
    later = np.setdiff1d(np.arange(len(person)), firsts)
    assert np.all(t[later] > first_t[person[later]])


def _read(out, source, part):
    table = pq.read_table(out / source / part / "events.parquet")
    seconds = table.column("event_time").cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    return table, seconds


@pytest.fixture(scope="module")
def split_world(tmp_path_factory):
    """A 61-day classic world split after 60 days, and the same world unsplit."""
    base = tmp_path_factory.mktemp("split")
    m = world_model("classic")
    kw = dict(chunk_customers=1500, journeys=2.5)
    split = START + 60 * DAY
    _, summary = write_scale(m, 4000, START, 61, 9, base / "split", {}, split_at=split,
                             split_dirs=("history", "next_day"), **kw)
    _, whole = write_scale(m, 4000, START, 61, 9, base / "whole", {}, **kw)
    return base, split, summary, whole


def test_split_world_is_the_whole_world_cut_at_the_instant(split_world):
    base, split, summary, whole = split_world
    for source in SOURCES:
        history, h_sec = _read(base / "split", source, "history")
        later, l_sec = _read(base / "split", source, "next_day")
        assert np.all(h_sec < split) and np.all(l_sec >= split)
        assert history.num_rows == summary["events_by_source"][source]
        assert later.num_rows == summary["split"]["later_events_by_source"][source]
        unsplit = pq.read_table(base / "whole" / source / "events.parquet")
        both = pa.concat_tables([history, later]).sort_by("event_id")
        assert both.equals(unsplit.sort_by("event_id"))
    assert summary["events"] + summary["split"]["later_events"] == whole["events"]
    assert summary["split"]["later_events"] > 0 and summary["split"]["at"] == "2025-03-02T00:00:00Z"


def test_split_world_goes_on_with_the_same_people_and_new_ids(split_world):
    base, split, _, _ = split_world
    truth = pa.concat_tables([pq.read_table(base / "split" / "truth" / f"{s}.parquet") for s in SOURCES])
    person = dict(zip(truth.column("event_id").to_pylist(), truth.column("person_id").to_pylist()))
    ids_before, ids_after = set(), set()
    for source in SOURCES:
        ids_before |= set(_read(base / "split", source, "history")[0].column("event_id").to_pylist())
        ids_after |= set(_read(base / "split", source, "next_day")[0].column("event_id").to_pylist())
    before = {person[i] for i in ids_before}
    after = {person[i] for i in ids_after}
    assert not ids_before & ids_after
    assert len(after & before) > len(after) / 2  # mostly people of the history
    assert after - before  # and some new ones


def test_split_world_config_reads_the_history_only(split_world):
    base, _, _, _ = split_world
    text = (base / "split" / "cjm.yaml").read_text(encoding="utf-8")
    cfg = yaml.safe_load(text)
    assert [s["path"] for s in cfg["sources"]] == [f"{s}/history/" for s in SOURCES]
    assert "<source>/next_day/" in text


def test_split_events_target_counts_the_history_only(tmp_path):
    m = world_model("classic")
    _, s = write_scale(m, 10**6, START, 31, 2, tmp_path, {}, chunk_customers=2000, truth=False, events=15_000,
                       journeys=2.5, split_at=START + 30 * DAY)
    assert 15_000 <= s["events"] < 16_000 and s["split"]["later_events"] > 0
    history = [pq.read_metadata(tmp_path / src / "history" / "events.parquet").num_rows for src in SOURCES]
    assert sum(history) == s["events"]
    assert (tmp_path / "offline" / "later" / "events.parquet").is_file()  # every part is a file, even a small one


def test_split_outside_the_days_is_refused(tmp_path):
    with pytest.raises(ValueError, match="split_at: .* is not inside the simulated days"):
        write_scale(world_model("classic"), 10, START, 5, 1, tmp_path, {}, split_at=START + 5 * DAY)


def test_cli_journeys_zipf_makes_a_skewed_parquet_world(tmp_path):
    """`cjm simulate --format parquet --journeys-zipf 2.5`: heavy people appear; other formats refuse it."""
    from click.testing import CliRunner

    from cjm_pipeline.cli import main

    def events_per_person(folder, *extra):
        result = CliRunner().invoke(main, ["simulate", "-t", "classic", "--format", "parquet", "-n", "3000",
                                           "-d", "365", "-s", "2", "-o", str(folder), *extra])
        assert result.exit_code == 0, result.output
        truth = pa.concat_tables([pq.read_table(folder / "truth" / f"{s}.parquet") for s in SOURCES])
        return np.bincount(truth.column("person_id").to_numpy())

    flat = events_per_person(tmp_path / "flat")
    skewed = events_per_person(tmp_path / "skewed", "--journeys-zipf", "2.5")
    assert skewed.sum() > flat.sum() and skewed.max() > 3 * flat.max()
    refused = CliRunner().invoke(main, ["simulate", "-t", "classic", "-n", "10", "-o", str(tmp_path / "real"),
                                        "--journeys-zipf", "2.5"])
    assert refused.exit_code != 0 and "journeys" in refused.output and "parquet" in refused.output
