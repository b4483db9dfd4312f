"""The template configs in ``configs/templates/`` and ``cjm init``.

Each template is a complete, commented pipeline config whose sources read what
``cjm simulate --template <name>`` writes into the project's ``data/`` folder; ``init``
copies one into a new project folder as ``cjm.yaml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import CjmError

#: Where the template configs live (the repository's ``configs/templates``).
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "configs" / "templates"


def template_names() -> list[str]:
    """The template configs there are, sorted."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


def template_path(name: str) -> Path:
    """The config file of a template; the error lists the templates there are."""
    path = TEMPLATE_DIR / f"{name}.yaml"
    if not path.is_file():
        import difflib

        names = template_names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CjmError(f"unknown template {name!r}{hint} (templates: {', '.join(names) or 'none found in '}"
                       f"{'' if names else str(TEMPLATE_DIR)})")
    return path


def init_project(name: str, folder: str | Path, *, force: bool = False) -> Path:
    """Copy template ``name`` to ``folder/cjm.yaml`` (the folder is created); return the new config.

    An existing ``cjm.yaml`` is kept unless ``force``.
    """
    source = template_path(name)
    folder = Path(folder)
    target = folder / "cjm.yaml"
    if target.exists() and not force:
        raise CjmError(f"{target} already exists; choose another folder or pass --force to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


__all__ = ["TEMPLATE_DIR", "template_names", "template_path", "init_project"]
