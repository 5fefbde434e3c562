"""``jobs=`` for Kubernetes API audit logs (see :mod:`auditlens.scheduler`).

Every line boundary is a unit boundary unless a multi-line JSON value or a partial CRI/docker
record is open there. A worker says whether its piece ended with one open; then (and when a later
piece has reject reasons that quote line numbers) the read falls back to one process. Workers
read byte ranges in claimed blocks, so this process can take over the rest of a piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from ..schema import K8S_EVENTS
from ..sources import Source
from ..sources.receiver import receiver_source
from .build import RowBatcher
from .event import Origin
from .frame import Account, FileReader
from .limits import BATCH_ROWS, MAX_LINE_BYTES
from .stream import Read, raw_batches

__all__ = ["open_k8s_audit", "read_k8s_audit"]


_QUOTES_LINES = ("at line ", "(lines ", "from line ")
"""How frame.FileReader's reject reasons quote a line number (a piece's own, not the file's)."""


@dataclass
class _Part(Part):
    """A piece's part with its line account, whether a unit was open at its end (``dirty``) and
    whether a reject reason quotes a line number (``numbered``)."""

    account: tuple[int, int, int, int] = (0, 0, 0, 0)
    dirty: bool = False
    numbered: bool = False


class _CutReader(FileReader):
    """Says whether a multi-line value or a partial container record was open at the end."""

    dirty = False

    def flush(self) -> Iterator[tuple]:
        self.dirty = self.value is not None or bool(self.pending)
        return super().flush()


@gc_paused_work
def _k8s_work(piece: Piece, errors: str, keep: bool, keep_objects: bool,
              cluster: str | None, max_line: int) -> _Part:
    rejecter = worker_rejecter(errors, keep)
    account = Account()
    batcher = RowBatcher()
    part = _Part()
    stream = piece.open()
    origin = Origin(piece.name, cluster=receiver_source(piece.name) or cluster,
                    keep_objects=keep_objects)
    reader = _CutReader(piece.name, origin, rejecter, account, max_line=max_line)
    try:
        batches = list(raw_batches(reader.rows(stream), batcher, BATCH_ROWS))
        part.table = pa.Table.from_batches(batches, schema=K8S_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = portable(exc)
    finally:
        stream.close()
    part.dirty = reader.dirty
    part.account = (account.lines, account.lines_in_rows, account.lines_in_rejects,
                    account.lines_empty)
    part.account_for(account.lines, batcher.coerced, rejecter)
    part.numbered = any(quote in r.reason for r in part.rejects for quote in _QUOTES_LINES)
    return part


class _K8sMerge(Merge):
    what = "k8s audit"
    shared_ends = True

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, keep_objects: bool, cluster: str | None, *,
                 max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)
        self.keep_objects, self.cluster = keep_objects, cluster
        self.account = [0, 0, 0, 0]

    def work(self) -> Callable[[Piece], Any]:
        # reject texts are needed to see line numbers quoted in reasons, so always keep them
        return partial(_k8s_work, errors=self.errors, keep=True,
                       keep_objects=self.keep_objects, cluster=self.cluster,
                       max_line=self.max_line)

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        if (part.dirty and not piece.last) or (part.numbered and not piece.first):
            return None
        self.coerced += part.coerced
        self.account = [a + b for a, b in zip(self.account, part.account)]
        self.add_rejects(part.rejects, part.n_rejects, offset)
        return iter(shift(part.table, offset).to_batches())

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        read = Read(self.source, self.errors, rejects, self.keep_objects, self.cluster,
                    BATCH_ROWS, self.max_line)
        return read.batches(), read

    def warn(self) -> None:
        if self.fell_back:
            self.sequential_state.warn()
            return
        warn_coerced(self.coerced, self.what)
        self.rejecter.warn_if_unseen("k8s")

    def counts(self) -> dict[str, int]:
        """The line account of the whole read (see :mod:`auditlens.k8s.frame`)."""
        if self.fell_back:
            read = self.sequential_state
            acc = read.account
            lines: tuple[int, ...] = (acc.lines, acc.lines_in_rows, acc.lines_in_rejects,
                                      acc.lines_empty)
            rejects = read.rejecter.count
        else:
            lines, rejects = tuple(self.account), self.rejecter.count
        names = ("lines", "lines_in_rows", "lines_in_rejects", "lines_empty")
        return {"rejects": rejects, **dict(zip(names, lines))}


def open_k8s_audit(source: Source, *, errors: str, rejects: RejectLog | None,
                   keep_objects: bool, cluster: str | None, jobs: int,
                   max_line: int = MAX_LINE_BYTES,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_k8s_audit` with ``jobs`` processes."""
    return _K8sMerge(source, errors, rejects, jobs, chunk_bytes, keep_objects, cluster,
                     max_line=max_line).streamed()


def read_k8s_audit(source: Source, *, errors: str, rejects: RejectLog | None,
                   keep_objects: bool, cluster: str | None, jobs: int,
                   max_line: int = MAX_LINE_BYTES,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> pa.Table:
    """:func:`auditlens.read_k8s_audit` with ``jobs`` processes."""
    merge = _K8sMerge(source, errors, rejects, jobs, chunk_bytes, keep_objects, cluster,
                      max_line=max_line)
    table = pa.Table.from_batches(list(merge.batches()), schema=K8S_EVENTS.arrow)
    table = with_meta(table, merge.counts())
    merge.warn()
    return table
