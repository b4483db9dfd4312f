"""Collection rules for the whole repository (``tests/conftest.py`` holds the tests' fixtures,
and is the ``conftest`` that test modules import from).

``pytest`` collects the doctests of ``cjm_pipeline`` too (``--doctest-modules``), which imports
every module. A module that imports a package of the ``[spark]`` extra (sqlglot, pyspark) at
its top cannot be imported where only ``pip install -e '.[dev]'`` was run: its doctests are
then reported as skipped, with the reason, instead of failing the collection. With the extra
installed (``make install``, ``.ci/run``) they run like every other doctest.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

#: Packages of the ``[spark]`` extra (pyproject.toml).
SPARK_EXTRA = ("sqlglot", "pyspark")

_TOP_LEVEL_IMPORT = re.compile(rf"^(?:from|import)\s+({'|'.join(SPARK_EXTRA)})\b", re.M)


def missing_spark_extra(path: Path) -> str | None:
    """The ``[spark]`` package that the module at ``path`` imports at its top and that is not
    installed, if any."""
    for name in _TOP_LEVEL_IMPORT.findall(path.read_text(encoding="utf-8")):
        if importlib.util.find_spec(name) is None:
            return name
    return None


class SkippedDoctests(pytest.File):
    """Stands in for a module's doctests when its module cannot be imported here."""

    reason: str = ""

    def collect(self):
        pytest.skip(self.reason)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent):
    collectors = yield
    if file_path.suffix != ".py" or not file_path.is_relative_to(ROOT / "cjm_pipeline"):
        return collectors
    missing = missing_spark_extra(file_path)
    if missing is None:
        return collectors
    stand_in = SkippedDoctests.from_parent(parent, path=file_path)
    stand_in.reason = (f"doctests of {file_path.relative_to(ROOT).as_posix()} need {missing}, which is not "
                       "installed (pip install -e '.[spark]')")
    return [stand_in]
