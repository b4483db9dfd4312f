"""The house rules of the layout, checked on every run of the tests:

* no import circle among the modules of ``cjm_pipeline`` (imports inside functions count too);
* no module over 500 lines;
* no file of the project refers to a file outside the repository.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cjm_pipeline"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports, anywhere in it (``from . import x`` names module x when it is one)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            children = {f"{target}.{a.name}" for a in node.names}
            found |= children & modules
            if children - modules:  # it imports names defined in the module (or package) itself
                found.add(target)
    resolved = set()
    for target in found:
        while target and target not in modules:
            target = target.rsplit(".", 1)[0] if "." in target else ""
        if target and target != name:
            resolved.add(target)
    return resolved


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    edges = {module_name(p): imports_of(p, modules) for p in files}
    # importing a.b.c runs a/__init__ and a/b/__init__ first: a module depends on its parent packages
    for mod in list(edges):
        parts = mod.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in edges and parent != mod:
                edges[mod].add(parent)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle_in_the_package():
    # package __init__ files that re-export their children are not circles: a child's import of
    # its parent package runs the parent first, and the parent then imports the child, which is
    # the normal order; so parent -> child edges are left out of the circle check
    edges = graph()
    for mod, targets in edges.items():
        edges[mod] = {t for t in targets if not t.startswith(mod + ".")}
    assert cycles(edges) == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_500_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by job"


OUTSIDE = re.compile(r"SEMANTICS\.md|\.\./shared\b|/work/shared|source_formats\.md|reference/engines\.md")


def test_nothing_refers_outside_the_repository():
    tracked = [p for p in ROOT.rglob("*") if p.is_file() and p.suffix in (".py", ".sql", ".md", ".yaml", ".ipynb", ".toml")
               and not any(part.startswith(".") or part in ("build", "__pycache__") for part in p.relative_to(ROOT).parts)
               and "egg-info" not in str(p)]
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in tracked
                 for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
                 if OUTSIDE.search(line) and p.name != "test_layout.py"]
    assert offenders == []
