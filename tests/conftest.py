"""Fixtures shared by the test modules, and the ``slow`` marker for every test that starts PostgreSQL.

``make test-fast`` runs ``pytest -m "not slow"``: it leaves out the tests marked slow, those that
need a browser, Jupyter, Spark, PostgreSQL or the benchmark harness, or that are long
oracle/property tests. The modules mark their own tests (``@pytest.mark.slow``); a test that uses
the ``pg_server`` fixture (tests/pg.py) is marked here, so no PostgreSQL test can be forgotten.
"""

import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from cjm_pipeline import db  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def con():
    c = db.connect(":memory:")
    yield c
    c.close()


def sample_config_in(folder: Path) -> Path:
    """configs/sample.yaml, rewritten to keep its warehouse and outputs in ``folder``."""
    cfg = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text(encoding="utf-8"))
    cfg["base_dir"] = str(ROOT)
    cfg["warehouse"] = str(folder / "cjm.duckdb")
    cfg["output"] = {"dir": str(folder / "out")}
    path = folder / "sample.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_config(tmp_path_factory):
    return sample_config_in(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def ran(sample_config):
    """`cjm run` on the sample data, once per test session."""
    from cjm_pipeline.cli import main
    result = CliRunner().invoke(main, ["run", "-c", str(sample_config)])
    assert result.exit_code == 0, result.output
    return result


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
