"""What readers know of the layout `auditlens serve` writes (:mod:`auditlens.serve.store`).

``OUT/<source>/<YYYY-MM-DD>/audit-….jsonl`` beside ``OUT/.auditlens-serve/``. Two facts follow
for readers:

- The stored events are the apiserver's own bytes, which name no cluster; the source a batch was
  POSTed to (``/audit/<source>``) is that cluster's name, so the Kubernetes reader takes the
  cluster of a receiver's file from its folder, the way node names come from node folders.
- The file being written (``.audit-….jsonl.active``) is read only up to its last committed
  batch: the store publishes that length beside it (``….active.committed``) after every group
  commit, and the file is renamed into place when it closes — so a reader that listed it before
  the rename opens it under its closed name.

Standard library only; part of the inputs layer, which the store and the readers both use.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

STATE_DIR = ".auditlens-serve"
ACTIVE_SUFFIX = ".active"
COMMITTED_SUFFIX = ".committed"
_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")
_ACTIVE = re.compile(r"^\.audit-.*\.jsonl" + re.escape(ACTIVE_SUFFIX) + "$")


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


def closed_name(active: Path) -> Path:
    """``.audit-X.jsonl.active`` → ``audit-X.jsonl``."""
    return active.with_name(active.name[1:-len(ACTIVE_SUFFIX)])


def committed_file(active: Path) -> Path:
    return active.with_name(active.name + COMMITTED_SUFFIX)


def is_active(path: Path) -> bool:
    """A receiver's file being written (readers take its committed part only)."""
    return bool(_ACTIVE.match(path.name)) and receiver_source(str(path)) is not None


def committed_length(active: Path) -> int:
    """Bytes of ``active`` its receiver has acknowledged (0 when none is published yet)."""
    try:
        return int(committed_file(active).read_bytes())
    except (OSError, ValueError):
        return 0


def publish_committed(active: Path, length: int) -> None:
    """Tell readers how much of ``active`` is committed. Not fsynced: it is what may be read of
    a file still being written; after a crash the store's recovery closes the file anyway."""
    target = committed_file(active)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(str(length).encode())
    os.replace(tmp, target)


def open_plain(path: str) -> BinaryIO:
    """Open ``path`` for reading; a receiver's active file closed since it was listed is opened
    under its closed name (the same bytes, renamed)."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        p = Path(path)
        if not _ACTIVE.match(p.name):
            raise
        return open(closed_name(p), "rb")
