"""Shared fixtures: where the real corpora and the bundled sample logs are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = REPO / "sample_logs"


def _corpora() -> Path:
    env = os.environ.get("AUDITLENS_CORPORA")
    return Path(env) if env else REPO.parent / "shared" / "corpora"


CORPORA = _corpora()


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The shared real-log corpora (../shared/corpora or $AUDITLENS_CORPORA); skip when absent."""
    if not CORPORA.is_dir():
        pytest.skip(f"real-log corpora not found (set AUDITLENS_CORPORA); looked at {CORPORA.name}/")
    return CORPORA


def corpus_files(sub: str) -> list[Path]:
    """Every data file of one corpus folder (for parametrised tests); empty when absent."""
    base = CORPORA / sub
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")
