"""The optional C fast path for one-line IBM Cloud events (``_fastcloud.c``), and the switch to
turn it off.

A ``Builder`` takes a chunk of lines and appends the row of every line that is one plain IBM
(CADF) event straight into Arrow buffers, until it meets a line it leaves to the Python path
(a wrapper, another provider's event, a float anywhere, a value of an unexpected type...); the
reader passes that line to Python and goes on. The values are those of the Python path's row
(:func:`auditlens.cloud.ibm.row` on ``orjson.loads(line)``, with ``raw``, ``file`` and ``line``
as the reader adds them), ``time`` still as logged: the reader parses every row's time in one
place. Most of a Python reader's time goes into making a Python object of every value of every
event; this path makes none. AWS, GCP and Azure events, and IBM events in wrappers, are read in
Python.

The extension is compiled at install time when a C compiler is there (``setup.py``); without
one, or with ``AUDITLENS_PURE_PYTHON=1`` in the environment, everything runs in Python with the
same output (tests/test_cloud_native.py holds the two equal).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..fastpath import array_of, load
from ..schema import CLOUD_EVENTS

__all__ = ["STAGED", "Builder", "staged"]

Builder: Any = load("auditlens.cloud._fastcloud", "Builder")
"""The fast path's builder type, or None: the reader looks it up at each read (tests switch it
off here)."""

STAGED = pa.schema([pa.field("time", pa.string()) if f.name == "time" else f
                    for f in CLOUD_EVENTS.arrow])
"""The ``cloud_events`` columns with ``time`` as logged (text), before the reader parses it."""


def staged(columns: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """``Builder.finish()`` → a RecordBatch of :data:`STAGED`."""
    return pa.RecordBatch.from_arrays(
        [array_of(entry, field.type) for entry, field in zip(columns, STAGED)], schema=STAGED)
