"""Build hook (the metadata is in pyproject.toml): a wheel carries the files the package reads
from beside it in a source checkout, so an installed cjm works from anywhere:

* ``sql/`` → ``cjm_pipeline/sql/`` (the steps' SQL; :func:`cjm_pipeline.db.sql_dir` looks there first);
* ``configs/`` and ``data/sample/`` → ``cjm_pipeline/_samples/`` (:mod:`cjm_pipeline.samples`: the
  notebooks' sample data and configs).

An editable install (``pip install -e .``) reads them from the checkout and copies nothing.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (folder of the repository, where the wheel puts it inside the package)
SHIPPED = (("sql", "sql"), ("configs", "_samples/configs"), ("data/sample", "_samples/data/sample"))


class BuildWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in SHIPPED:
            shutil.copytree(ROOT / source, Path(self.build_lib) / "cjm_pipeline" / target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithData})
