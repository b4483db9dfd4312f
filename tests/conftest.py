import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cjm_pipeline import db  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def con():
    c = db.connect(":memory:")
    yield c
    c.close()
