"""Detections: Sigma rules (SigmaHQ's, the user's, auditlens' own pack) run over the audit tables.

Rules are parsed by pySigma (the ``detect`` extra) and compiled to Arrow compute over whole
columns (:mod:`.compiler`), so a few hundred rules cost a few passes over the data, not one
query per rule per row. auditd rules see records with their raw field names and match per event;
Kubernetes rules see the Event's dotted paths and match per request. See ``docs/detections.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .levels import LEVELS

__all__ = ["LEVELS", "detect", "load_rules", "run_detections"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import detect, load_rules, run_detections


def __getattr__(name: str) -> Any:
    """The entry points, imported on first use: :mod:`.levels` is imported without pyarrow."""
    if name in __all__:
        return getattr(import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
