"""The notebooks: committed without outputs, in step with their ``.py`` sources, and they run top
to bottom on the sample logs with no error and nothing written to stderr."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9]*.py"))

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install '.[notebooks]')")


def _builder():  # notebooks/build.py is a script, not part of the package
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_three_notebooks() -> None:
    assert [p.stem[:2] for p in SOURCES] == ["01", "02", "03"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_built_from_its_source_and_has_no_outputs(source: Path) -> None:
    committed = source.with_suffix(".ipynb")
    assert committed.is_file(), f"{committed.name} missing: python notebooks/build.py"
    assert committed.read_text() == _builder().render(source), (
        f"{committed.name} is stale: python notebooks/build.py"
    )
    nb = nbformat.read(committed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(source: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install '.[notebooks]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install '.[notebooks]')")
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install '.[notebooks]')")
    pytest.importorskip("duckdb", reason="duckdb is not installed")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # what a notebook writes (its kernel's temp files)
    nb = _builder().notebook(source)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, "".join(stderr)
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in outputs), (
        "expected at least one plot"
    )
