"""The notebooks in notebooks/ run top to bottom on the sample data (so they never rot), and are
committed without outputs."""

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


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))   # the kernel's temporary warehouses go to pytest's tmp_path
    book = nbformat.read(path, as_version=4)
    # run from notebooks/, as Jupyter would; a failing cell raises CellExecutionError with its traceback
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # every chart cell showed a plotly figure
    figures = [c for c in code if any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in c.outputs)]
    chart_cells = [c for c in code if "charts." in c.source or "go.Figure(" in c.source]
    assert figures and len(figures) == len(chart_cells)
