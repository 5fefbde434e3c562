"""What the three provider test files share: fixture values, a provider's rows, golden files.

Each provider is tested alone, without the reader: its fixture values are parsed here, handed to
its ``unwrap`` and ``row``, and every column of every event is compared with a golden file
(rows as the provider returns them, reviewed in the diff; ``AUDITLENS_UPDATE_GOLDEN=1`` rewrites
them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from auditlens.schema.cloud import CLOUD_EVENTS

CLOUD = Path(__file__).parent / "data" / "cloud"
UPDATE = os.environ.get("AUDITLENS_UPDATE_GOLDEN") == "1"
COLUMNS = [name for name in CLOUD_EVENTS.names if name not in ("raw", "file", "line")]


def values(path: Path) -> list[Any]:
    """The parsed JSON values of a fixture: the whole document, else one per line."""
    text = path.read_text()
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def provider_rows(provider: ModuleType, path: Path) -> list[dict[str, Any]]:
    """``provider``'s rows of every event of the fixture at ``path`` (each value must be its)."""
    out = []
    for value in values(path):
        events = provider.unwrap(value)
        assert events is not None, f"{path.name}: a value is not claimed"
        out.extend(provider.row(event) for event in events)
    return out


def golden(got: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """The golden rows at ``path`` (rewritten from ``got`` first with AUDITLENS_UPDATE_GOLDEN=1)."""
    if UPDATE:
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    expected: list[dict[str, Any]] = json.loads(path.read_text())
    return expected
