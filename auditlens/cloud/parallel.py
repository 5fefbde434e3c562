"""``jobs=`` for cloud service audit events (see :mod:`auditlens.scheduler`).

A line boundary is a unit boundary unless a multi-line JSON document is open there (a
pretty-printed CloudTrail file, a UI export). A worker says whether its piece ended with one
open; then (and when a later piece has reject reasons that quote line numbers) the read falls
back to one process (:mod:`auditlens.scheduler.lines`, as for the Kubernetes reader). A Parquet
archive is never cut: a read with one that would be is done in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa

from ..rejects import RejectLog
from ..scheduler import (
    DEFAULT_CHUNK_BYTES,
    Piece,
    gc_paused_work,
    piece_arena_here,
    portable,
    worker_rejecter,
)
from ..scheduler.lines import LinesMerge, LinesPart
from ..schema import CLOUD_EVENTS
from ..sources import Source
from ..timerange import TimeBound, time_range
from .stream import BATCH_ROWS, MAX_LINE_BYTES, Read

__all__ = ["open_cloud_audit", "read_cloud_audit"]

_COUNTED = ("lines", "lines_in_rows", "lines_in_rejects", "lines_empty", "rows_outside")
"""The line account (:mod:`auditlens.cloud.stream`)."""


@gc_paused_work
def _cloud_work(piece: Piece, errors: str, lo: datetime | None, hi: datetime | None,
                max_line: int) -> LinesPart:
    read = Read(None, errors, None, lo, hi, max_line)
    read.rejecter = worker_rejecter(errors, True)  # reasons are looked at (line numbers)
    part = LinesPart()
    stream = piece.open()
    try:
        with piece_arena_here() as part.arena:  # the fast path's columns, written once
            batches = [*read.read_input(piece.name, stream), *read.flush_rows()]
        part.table = pa.Table.from_batches(batches, schema=CLOUD_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = portable(exc)
    finally:
        stream.close()
    return part.close(read.account, _COUNTED, read.coerced, read.rejecter, read.open_at_end)


def _cuts_parquet(pieces: list[Piece] | None) -> bool:
    """Whether a Parquet archive would be read in byte ranges (it cannot be)."""
    for piece in pieces or ():
        if not piece.whole:
            with open(piece.path, "rb") as f:
                if f.read(4) == b"PAR1":
                    return True
    return False


class _CloudMerge(LinesMerge):
    what = unseen = "cloud audit"
    counted = _COUNTED
    schema = CLOUD_EVENTS.arrow

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, since: TimeBound, until: TimeBound, *,
                 max_line: int = MAX_LINE_BYTES) -> None:
        self.lo, self.hi = time_range(since, until)  # one clock for every worker
        super().__init__(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)
        if _cuts_parquet(self.pieces):
            self.pieces = None

    def work(self) -> Callable[[Piece], Any]:
        return partial(_cloud_work, errors=self.errors, lo=self.lo, hi=self.hi,
                       max_line=self.max_line)

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        read = Read(self.source, self.errors, rejects, self.lo, self.hi, self.max_line,
                    BATCH_ROWS)
        return read.batches(), read


def open_cloud_audit(source: Source, *, errors: str, rejects: RejectLog | None, jobs: int,
                     since: TimeBound, until: TimeBound, max_line: int = MAX_LINE_BYTES,
                     chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_cloud_audit` with ``jobs`` processes."""
    return _CloudMerge(source, errors, rejects, jobs, chunk_bytes, since, until,
                       max_line=max_line).streamed()


def read_cloud_audit(source: Source, *, errors: str, rejects: RejectLog | None, jobs: int,
                     since: TimeBound, until: TimeBound, max_line: int = MAX_LINE_BYTES,
                     chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> pa.Table:
    """:func:`auditlens.read_cloud_audit` with ``jobs`` processes."""
    return _CloudMerge(source, errors, rejects, jobs, chunk_bytes, since, until,
                       max_line=max_line).table()
