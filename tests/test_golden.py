"""The sample run's outputs equal the reviewed golden files (refresh with `make golden`)."""

from pathlib import Path

import pandas as pd
import pytest

GOLDEN = ("funnel", "stage_coverage", "transitions", "loops", "paths", "barriers", "stage_dwell", "funnel_trends",
          "funnel_breakdown", "ttc_histogram")
HERE = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("name", GOLDEN)
def test_sample_output_matches_golden(ran, sample_config, name):
    actual = pd.read_csv(sample_config.parent / "out" / f"{name}.csv")
    expected = pd.read_csv(HERE / f"{name}.csv")
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9)
