"""The optional C fast path for one-line Events (``_fastrow.c``), and the switch to turn it off.

A :class:`Builder` takes a chunk of lines and appends the raw row of every plain one-line Event
(or OpenShift ViaQ record) straight into Arrow buffers, until it meets a line it leaves to the
Python path (anything else, or something it does not handle); the reader passes that line to
Python and goes on. The values are those of the Python path's row (:func:`auditlens.k8s.event.
event_row` on ``orjson.loads(line)``, through the ViaQ wrapper for those) as
``pa.array(rows, RAW_STRUCT)`` stores them: what a Python reader cannot do is skip building a
Python object for every value of every Event, and that is most of its time.

The extension is compiled at install time when a C compiler is there (``setup.py``); without one,
or with ``AUDITLENS_PURE_PYTHON=1`` in the environment, everything runs in Python with the same
output (tests/test_k8s_native.py holds the two equal).

The builder's columns come as entries (written by ``auditlens/_columns.h``) that
:func:`auditlens.fastpath.array_of` makes Arrow arrays of.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..fastpath import array_of, finish, load
from .event import Origin

Builder: Any = load("auditlens.k8s._fastrow", "Builder")
"""The fast path's builder type, or None: the reader looks it up at each file (tests switch it
off here)."""


def context(o: Origin) -> tuple[Any, ...]:
    """What the builder needs to know of the origin, in its order."""
    return (o.time, o.keep_objects, o.cluster, o.wrapper, o.inner("viaq").wrapper, o.file,
            o.truncated)


class Chunk:
    """The rows a builder holds (its ``finish()`` output) and the rows the Python path made of
    the lines between them, each with the number of builder rows before it."""

    __slots__ = ("columns", "inserts", "rows")

    def __init__(self, builder: Any, inserts: list[tuple[int, tuple[Any, ...]]]) -> None:
        self.rows: int = builder.rows + len(inserts)
        self.columns: list[tuple[Any, ...]] = finish(builder)
        self.inserts = inserts

    def order(self) -> list[int]:
        """Where each output row comes from, in input order: builder rows are 0…n-1, inserted
        rows n, n+1… (as in ``concat([builder rows, inserted rows])``)."""
        n = self.rows - len(self.inserts)
        out: list[int] = []
        done = 0
        for k, (at, _) in enumerate(self.inserts):
            out.extend(range(done, at))
            out.append(n + k)
            done = at
        out.extend(range(done, n))
        return out


def arrays(columns: list[tuple[Any, ...]], struct: pa.StructType) -> list[pa.Array]:
    """``Builder.finish()`` → one array per field of ``struct`` (the raw row type)."""
    return [array_of(entry, struct.field(i).type) for i, entry in enumerate(columns)]
