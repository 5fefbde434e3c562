"""The package type-checks and the repository is ruff-clean, with the config in pyproject.toml."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF_PATHS = ["auditlens", "tests", "scripts", "benchmarks", "notebooks"]


def _run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module`` from the project root, so pyproject.toml is the config used."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_reports_no_errors() -> None:
    out = _run_module("mypy", "auditlens")
    assert out.returncode == 0, f"mypy found errors:\n{out.stdout}{out.stderr}"
    assert "Success" in out.stdout, out.stdout


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_ruff_reports_no_errors() -> None:
    missing = [p for p in RUFF_PATHS if not (ROOT / p).exists()]
    assert not missing, f"ruff paths gone: {missing}"
    out = _run_module("ruff", "check", *RUFF_PATHS)
    assert out.returncode == 0, f"ruff found problems:\n{out.stdout}{out.stderr}"
