"""Where the receiver keeps what: the part of its layout that readers need to know.

``OUT/<source>/<YYYY-MM-DD>/audit-….jsonl`` beside ``OUT/.auditlens-serve/``. The stored events
are the apiserver's own bytes, which name no cluster; the source a batch was POSTed to
(``/audit/<source>``) is that cluster's name, so the Kubernetes reader takes the cluster of a
receiver's file from its folder, the way node names come from node folders. Standard library only:
the readers import this module.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

STATE_DIR = ".auditlens-serve"
_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")


def receiver_source(file: str) -> str | None:
    """The source (cluster) a receiver's output file was sent by; None for any other file."""
    day = Path(file).parent
    if not _DAY.match(day.name):
        return None
    return _source_of_day_dir(str(day))


@lru_cache(maxsize=1024)
def _source_of_day_dir(day: str) -> str | None:
    source = Path(day).parent
    return source.name if (source.parent / STATE_DIR).is_dir() else None
