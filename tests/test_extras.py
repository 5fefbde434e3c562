"""The ``notebooks`` extra holds what the notebooks need: docs/notebooks.md tells readers to
install it and nothing else, so a package missing from it breaks a notebook half way (the
compliance export once stopped at "xlsx output needs openpyxl").

What a notebook needs is read from its source, not listed by hand: the packages it imports, the
optional packages of every output format it writes (``Format.extra`` in auditlens.export), and
what runs a notebook at all (the kernel and the client the test suite uses).
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from auditlens.export import _BY_SUFFIX, FORMATS

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli",
                              reason="reading pyproject.toml needs tomllib (3.11+) or tomli")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.py"))
RUNNER = {"nbclient", "nbformat", "ipykernel"}
"""What executes a notebook (tests/test_notebooks.py, a Jupyter front end)."""


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert m, requirement
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


def _project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def extra_provides(extra: str) -> set[str]:
    """Distribution names an extra installs: its own list plus the core dependencies, with
    self-references (``auditlens[xlsx]``) followed."""
    project = _project()
    extras = project["optional-dependencies"]
    out = {_name(r) for r in project["dependencies"]}
    todo, seen = [extra], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for req in extras[name]:
            m = re.match(r"\s*auditlens\[([^\]]+)\]", req)
            if m:
                todo.extend(e.strip() for e in m.group(1).split(","))
            else:
                out.add(_name(req))
    return out


def _imports(tree: ast.AST) -> set[str]:
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            mods.add(node.module.split(".")[0])
    return mods - set(sys.stdlib_module_names) - {"auditlens"}


def _formats(tree: ast.AST) -> set[str]:
    """Output formats named in ``….write(...)`` calls, by name or by file suffix."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "write":
            for c in ast.walk(node):
                if isinstance(c, ast.Constant) and isinstance(c.value, str):
                    if c.value in FORMATS:
                        found.add(c.value)
                    found.update(fmt for sfx, fmt in _BY_SUFFIX.items() if c.value.endswith(sfx))
    return found


def notebook_needs(source: Path) -> dict[str, str]:
    """Distribution name → why the notebook needs it."""
    tree = ast.parse(source.read_text())
    dists = packages_distributions()
    needs = {name: "runs notebooks" for name in RUNNER}
    for mod in _imports(tree):
        assert mod in dists, f"{source.name} imports {mod}, which is not installed here"
        needs.update({_name(d): f"import {mod}" for d in dists[mod]})
    for fmt in _formats(tree):
        extra = FORMATS[fmt].extra
        if extra:
            provided = extra_provides(extra) - {_name(r) for r in _project()["dependencies"]}
            needs.update({d: f"writes {fmt} (extra {extra})" for d in provided})
    return needs


def test_the_needs_are_found_in_the_sources() -> None:
    needs = {d for src in NOTEBOOKS for d in notebook_needs(src)}
    assert {"duckdb", "matplotlib", "openpyxl", "ipython"} <= needs


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_extra_covers_what_the_notebook_needs(source: Path) -> None:
    have = extra_provides("notebooks")
    missing = {d: why for d, why in notebook_needs(source).items() if d not in have}
    assert not missing, f"pyproject's notebooks extra lacks what {source.name} needs: {missing}"
