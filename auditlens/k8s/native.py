"""The optional C fast path for one-line Events (``_fastrow.c``), and the switch to turn it off.

``rows(lines, first, ctx)`` gives, for each line (numbered from ``first``), the same raw row as
:func:`auditlens.k8s.event.event_row` on ``orjson.loads(line)`` for a plain one-line Event, or
None when the line is anything else or holds something it does not handle (then the Python path
reads the line, as it reads every line when the extension is absent). It parses the line once and builds only the values the row keeps, which is
what a Python reader cannot do: ``orjson.loads`` builds every value of the Event first.

The extension is compiled at install time when a C compiler is there (``setup.py``); without one,
or with ``AUDITLENS_PURE_PYTHON=1`` in the environment, everything runs in Python with the same
output (tests/test_k8s_native.py holds the two equal).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .event import Origin

Rows = Callable[[list[bytes], int, tuple[Any, ...]], "list[tuple[Any, ...] | None]"]


def _load() -> Rows | None:
    if os.environ.get("AUDITLENS_PURE_PYTHON"):
        return None
    try:
        from ._fastrow import rows as fast
    except ImportError:  # not compiled (no C compiler at install time): the Python path
        return None
    found: Rows = fast
    return found


rows: Rows | None = _load()
"""The fast path, or None: the reader looks it up at each file (tests switch it off here)."""


def context(o: Origin) -> tuple[Any, ...]:
    """What the fast path needs to know of the origin, in its order."""
    return (o.time, o.keep_objects, o.cluster, o.chain or "event", o.file, o.truncated)
