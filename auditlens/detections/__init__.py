"""Detections: Sigma rules (SigmaHQ's, the user's, auditlens' own pack) run over the audit tables.

Rules are parsed by pySigma (the ``detect`` extra) and compiled to Arrow compute over whole
columns (:mod:`.compiler`), so a few hundred rules cost a few passes over the data, not one
query per rule per row. auditd rules see records with their raw field names and match per event;
Kubernetes rules see the Event's dotted paths and match per request. See ``docs/detections.md``.
"""

from __future__ import annotations

from .api import LEVELS, detect, load_rules, run_detections

__all__ = ["LEVELS", "detect", "load_rules", "run_detections"]
