"""The sample data and configs, wherever the package is: for notebooks, tutorials and quick tries.

The samples (``configs/`` and ``data/sample/`` of the repository) are found in the installed
package first (a wheel carries them as ``cjm_pipeline/_samples/``, see ``setup.py``), then in the
source checkout the package runs from; so a notebook copied anywhere works without walking up
the folders looking for ``configs/``.

>>> import cjm_pipeline as cjm                                          # doctest: +SKIP
>>> from cjm_pipeline import samples                                    # doctest: +SKIP
>>> with samples.Workspace() as work:                                   # doctest: +SKIP
...     cfg = samples.sample_config(folder=work.path)
...     cjm.run(cfg)
...     cjm.open(cfg).funnel()

:class:`Workspace` is a temporary folder for the warehouse and the outputs, removed by
:meth:`Workspace.cleanup` (or at the end of a ``with`` block); :func:`show_static_images` makes
every plotly figure a notebook shows carry a PNG too, so a viewer without JavaScript (GitHub,
nbviewer, an e-mailed file) still shows the chart.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .config import PipelineConfig, config_from_dict

_HERE = Path(__file__).resolve().parent
#: Where a wheel keeps the samples (inside the package), and the source checkout (beside it).
_CANDIDATES = (_HERE / "_samples", _HERE.parent)


def root() -> Path:
    """The folder holding ``configs/`` and ``data/sample/``: the installed package's copy first,
    then the source checkout.

    >>> (root() / "configs" / "sample.yaml").is_file()
    True
    """
    for candidate in _CANDIDATES:
        if (candidate / "configs" / "sample.yaml").is_file() and (candidate / "data" / "sample").is_dir():
            return candidate
    raise FileNotFoundError("cannot find the sample configs and data: neither the installed package "
                            f"({_CANDIDATES[0]}) nor a source checkout ({_CANDIDATES[1]}) holds configs/sample.yaml")


def config_path(name: str = "sample") -> Path:
    """A sample config: ``sample`` (the shop's event log), ``sample_multi`` (Metrica, Calltouch, amoCRM)."""
    path = root() / "configs" / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in (root() / "configs").glob("*.yaml"))
        raise FileNotFoundError(f"no sample config {name!r} (samples: {', '.join(names)})")
    return path


def data_dir() -> Path:
    """``data/sample/``: the shop's ``events.csv`` and the multi-source world ``multi/``."""
    return root() / "data" / "sample"


def sample_config(stages: list[dict[str, Any]] | None = None, *, folder: str | Path, name: str = "sample",
                  **sections: Any) -> PipelineConfig:
    """A sample config with its warehouse and outputs in ``folder`` (and, optionally, other
    ``stages`` or other top-level ``sections``, e.g. ``funnel={...}``), validated as
    ``cjm validate`` would."""
    path = config_path(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if stages is not None:
        data["stages"] = stages
    data.update(sections)
    folder = Path(folder)
    data.update(warehouse=str(folder / "cjm.duckdb"), output={**(data.get("output") or {}), "dir": str(folder / "out")})
    return config_from_dict(data, file=str(path), base_dir=path.parent)


class Workspace:
    """A temporary folder for warehouses and outputs, removed by :meth:`cleanup` (or ``with``)."""

    def __init__(self, prefix: str = "cjm_notebook_"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def folder(self, name: str) -> Path:
        """A sub-folder (one warehouse each)."""
        return self.path / name

    def cleanup(self) -> None:
        """Remove the folder and everything in it (warehouses, their temporary spill, outputs)."""
        shutil.rmtree(self.path, ignore_errors=True)


def show_static_images() -> None:
    """Make every plotly figure a notebook shows carry a PNG beside the interactive chart (one
    output with both), so a viewer without JavaScript still shows it. Needs kaleido and a
    Chrome or Chromium, as ``cjm report --png``."""
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype+png"
