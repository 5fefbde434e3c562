"""``jobs=`` for cloud service audit events (see :mod:`auditlens.scheduler`).

A line boundary is a unit boundary unless a multi-line JSON document is open there (a
pretty-printed CloudTrail file, a UI export). A worker says whether its piece ended with one
open; then (and when a later piece has reject reasons that quote line numbers) the read falls
back to one process, as the Kubernetes reader does. A Parquet archive is never cut: a read with
one that would be is done in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa

from ..rejects import RejectLog
from ..scheduler import (
    DEFAULT_CHUNK_BYTES,
    Merge,
    Part,
    Piece,
    gc_paused_work,
    portable,
    shift,
    warn_coerced,
    with_meta,
    worker_rejecter,
)
from ..schema import CLOUD_EVENTS
from ..sources import Source
from ..timerange import TimeBound, time_range
from .stream import BATCH_ROWS, MAX_LINE_BYTES, Read

__all__ = ["open_cloud_audit", "read_cloud_audit"]

_QUOTES_LINES = ("at line ", "(lines ", "from line ")
"""How the reader's reject reasons quote a line number (a piece's own, not the file's)."""
_COUNTS = ("lines", "lines_in_rows", "lines_in_rejects", "lines_empty", "rows_outside")


@dataclass
class _Part(Part):
    """A piece's part with its line account, whether a document was open at its end
    (``dirty``) and whether a reject reason quotes a line number (``numbered``)."""

    account: tuple[int, ...] = (0, 0, 0, 0, 0)
    dirty: bool = False
    numbered: bool = False


def _account(read: Read) -> tuple[int, ...]:
    acc = read.account
    return (acc.lines, acc.lines_in_rows, acc.lines_in_rejects, acc.lines_empty, acc.outside)


@gc_paused_work
def _cloud_work(piece: Piece, errors: str, lo: datetime | None, hi: datetime | None,
                max_line: int) -> _Part:
    read = Read(None, errors, None, lo, hi, max_line)
    read.rejecter = worker_rejecter(errors, True)  # reasons are looked at (line numbers)
    part = _Part()
    stream = piece.open()
    try:
        batches = [*read.read_input(piece.name, stream), *read.flush_rows()]
        part.table = pa.Table.from_batches(batches, schema=CLOUD_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = portable(exc)
    finally:
        stream.close()
    part.dirty = read.open_at_end
    part.account = _account(read)
    part.account_for(read.account.lines, read.coerced, read.rejecter)
    part.numbered = any(quote in r.reason for r in part.rejects for quote in _QUOTES_LINES)
    return part


def _cuts_parquet(pieces: list[Piece] | None) -> bool:
    """Whether a Parquet archive would be read in byte ranges (it cannot be)."""
    for piece in pieces or ():
        if not piece.whole:
            with open(piece.path, "rb") as f:
                if f.read(4) == b"PAR1":
                    return True
    return False


class _CloudMerge(Merge):
    what = "cloud audit"
    shared_ends = True

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, since: TimeBound, until: TimeBound, *,
                 max_line: int = MAX_LINE_BYTES) -> None:
        self.lo, self.hi = time_range(since, until)  # one clock for every worker
        super().__init__(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)
        if _cuts_parquet(self.pieces):
            self.pieces = None
        self.account = [0] * len(_COUNTS)

    def work(self) -> Callable[[Piece], Any]:
        return partial(_cloud_work, errors=self.errors, lo=self.lo, hi=self.hi,
                       max_line=self.max_line)

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        if (part.dirty and not piece.last) or (part.numbered and not piece.first):
            return None
        self.coerced += part.coerced
        self.account = [a + b for a, b in zip(self.account, part.account)]
        self.add_rejects(part.rejects, part.n_rejects, offset)
        return iter(shift(part.table, offset).to_batches())

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        read = Read(self.source, self.errors, rejects, self.lo, self.hi, self.max_line,
                    BATCH_ROWS)
        return read.batches(), read

    def warn(self) -> None:
        if self.fell_back:
            self.sequential_state.warn()
            return
        warn_coerced(self.coerced, self.what)
        self.rejecter.warn_if_unseen("cloud audit")

    def counts(self) -> dict[str, int]:
        """The line account of the whole read (see :mod:`auditlens.cloud.stream`)."""
        if self.fell_back:
            read = self.sequential_state
            return {"rejects": read.rejecter.count, **dict(zip(_COUNTS, _account(read)))}
        return {"rejects": self.rejecter.count, **dict(zip(_COUNTS, self.account))}


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
    merge = _CloudMerge(source, errors, rejects, jobs, chunk_bytes, since, until,
                        max_line=max_line)
    table = pa.Table.from_batches(list(merge.batches()), schema=CLOUD_EVENTS.arrow)
    table = with_meta(table, merge.counts())
    merge.warn()
    return table
