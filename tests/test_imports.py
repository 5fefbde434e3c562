"""The package's import graph: no circles, and infrastructure that knows no format.

Every ``import`` counts, at module level or inside a function (a lazy import that closes a
circle is still a circle: the two modules cannot be understood or changed apart). Only imports
under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import auditlens

PACKAGE = Path(auditlens.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if package else parts)] = (path, package)
    return out


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Each module of the package → the modules of the package it imports."""
    modules = _modules()

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _type_checking_only(tree)
        here = name if package else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                found.update(known(a.name) for a in node.names if a.name.split(".")[0] == "auditlens")
            elif isinstance(node, ast.ImportFrom):
                base = here
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level \
                    else node.module or ""
                if target.split(".")[0] != "auditlens":
                    continue
                for alias in node.names:  # a submodule by name, else the module it comes from
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in modules else known(target))
        found.discard(name)
        graph[name] = found
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walker_sees_lazy_imports_and_circles() -> None:
    """The walker itself: a function-level import is an edge, and a circle is found."""
    graph = import_graph()
    assert "auditlens.auditd.parallel" in graph["auditlens.auditd.reader"]  # imported lazily
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_package_has_no_import_circles() -> None:
    found = circles(import_graph())
    assert not found, "import circles: " + "; ".join(" ↔ ".join(c) for c in found)


@pytest.mark.parametrize("floor", ["auditlens.scheduler", "auditlens.sources", "auditlens.schema"])
def test_infrastructure_imports_no_reader(floor: str) -> None:
    """The scheduler, the inputs and the schemas know no format's reader: readers depend on
    them, never the other way round."""
    graph = import_graph()
    upward = {f"{m} → {d}" for m, deps in graph.items() if m.startswith(floor)
              for d in deps if d.startswith(("auditlens.auditd", "auditlens.k8s",
                                             "auditlens.reports", "auditlens.cli"))}
    assert not upward


def test_only_the_serve_http_app_imports_aiohttp() -> None:
    """aiohttp is the ``serve`` extra: of the package, only ``auditlens.serve.app`` (reached
    from the CLI's serve command, lazily) may import it."""
    importers = set()
    for name, (path, _) in _modules().items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(m.split(".")[0] == "aiohttp" for m in mods):
                importers.add(name)
    assert importers == {"auditlens.serve.app"}


def test_import_and_the_readers_do_not_load_aiohttp() -> None:
    import subprocess
    import sys

    code = ("import sys, auditlens; from auditlens.k8s import reader; "
            "from auditlens.serve import store, batch, kubeconfig; "
            "print('aiohttp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pysigma_is_loaded_only_for_detections() -> None:
    """pySigma is the ``detect`` extra: the package, its readers, schemas and reports import
    without it; only running rules needs it."""
    code = ("import sys, auditlens, auditlens.schema, auditlens.auditd.reader, auditlens.k8s.reader, "
            "auditlens.reports, auditlens.cli; print('sigma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_serve_store_is_below_the_readers_and_reports() -> None:
    """The durable writer knows no reader or report: it can be used (and tested) alone (the
    Parquet copier, which reads what was stored, is the one part above the readers)."""
    graph = import_graph()
    upward = {f"{m} → {d}" for m, deps in graph.items()
              if m.startswith("auditlens.serve") and m != "auditlens.serve.parquet"
              for d in deps if d.startswith(("auditlens.auditd", "auditlens.k8s", "auditlens.cloud",
                                             "auditlens.reports", "auditlens.cli"))}
    assert not upward


def test_readers_do_not_import_detections() -> None:
    graph = import_graph()
    upward = {f"{m} → {d}" for m, deps in graph.items()
              if m.startswith(("auditlens.auditd", "auditlens.k8s", "auditlens.schema"))
              for d in deps if d.startswith("auditlens.detections")}
    assert not upward
