"""Sigma rule levels, in a module that imports nothing: the CLI names them in its options, and
it must not import pyarrow before a read has started its workers (``scheduler.start_workers``)."""

from __future__ import annotations

__all__ = ["LEVELS"]

LEVELS = ("informational", "low", "medium", "high", "critical")
"""Sigma rule levels (``rule_level``), least severe first."""
