"""Refresh tests/golden/*.csv from a run on the sample data (`make golden`); review the diff."""

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import sample_config_in  # noqa: E402

import cjm_pipeline  # noqa: E402
from test_golden import GOLDEN  # noqa: E402

def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = cjm_pipeline.load_config(sample_config_in(Path(tmp)))
        cjm_pipeline.run(cfg)
        for name in GOLDEN:
            shutil.copy(Path(tmp) / "out" / f"{name}.csv", HERE / f"{name}.csv")
            print(f"refreshed tests/golden/{name}.csv")


if __name__ == "__main__":
    main()
