"""Placeholder: interpret + normalise one event into column values (being written)."""
from __future__ import annotations

from typing import Any

from .ids import IdNames
from .model import Event


def event_row(event: Event, ids: IdNames) -> dict[str, Any]:
    return {}
