"""The notebooks in notebooks/ run top to bottom on the sample data (so they never rot), and are
committed without outputs."""

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_three_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == ["01_quickstart", "02_breakdowns_and_trends", "03_custom_stages"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


def installed_copy(folder: Path) -> Path:
    """The package as a wheel installs it (``setup.py``'s SHIPPED: the SQL files and the samples
    inside the package), in ``folder``, without the source checkout beside it."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    shipped = next(ast.literal_eval(node.value) for node in tree.body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SHIPPED")
    package = folder / "cjm_pipeline"
    shutil.copytree(ROOT / "cjm_pipeline", package, ignore=shutil.ignore_patterns("__pycache__"))
    for source, target in shipped:
        shutil.copytree(ROOT / source, package / target)
    return folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return installed_copy(tmp_path_factory.mktemp("site-packages"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_anywhere_and_cleans_up(path: Path, installed, tmp_path, monkeypatch, request):
    """Each notebook, copied out of the repository, runs top to bottom on the package as a wheel
    installs it (its sample data inside); it leaves nothing in the temporary folder, and every
    chart it shows carries a PNG beside the interactive figure."""
    # the kernel's temporary warehouses go here (a short path: Chromium, which draws the PNGs, keeps
    # a socket in it, and a socket's path may not be longer than 107 bytes)
    temp = Path(tempfile.mkdtemp(prefix="nb"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("PYTHONPATH", str(installed))  # the installed package, not the checkout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / path.name
    shutil.copy(path, copy)
    book = nbformat.read(copy, as_version=4)
    # a failing cell raises CellExecutionError with its traceback
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(elsewhere)}}).execute()
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # every chart cell showed a plotly figure with a PNG of it in the same output
    shown = [o for c in code for o in c.outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    chart_cells = [c for c in code if "charts." in c.source or "go.Figure(" in c.source]
    assert shown and len(shown) == len(chart_cells)
    assert all("image/png" in o["data"] and len(o["data"]["image/png"]) > 10_000 for o in shown)
    # nothing left behind: the last cell removed the warehouses
    assert [p.name for p in temp.iterdir() if p.name.startswith("cjm")] == []


def test_the_samples_are_found_in_an_installed_copy_without_the_checkout(installed):
    code = ("import cjm_pipeline, cjm_pipeline.samples as s, cjm_pipeline.db as db; "
            "print(s.root()); print(db.sql_dir()); print(s.sample_config(folder='x').sources[0].path)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=installed,
                         env={**os.environ, "PYTHONPATH": str(installed)}, check=True).stdout.split()
    package = installed / "cjm_pipeline"
    assert out[:2] == [str(package / "_samples"), str(package / "sql")]
    assert (package / "_samples" / out[2]).is_file()  # data/sample/events.csv, inside the package
