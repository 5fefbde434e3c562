"""``jobs=`` for Kubernetes API audit logs (see :mod:`auditlens.scheduler`): a line format
(:mod:`auditlens.scheduler.lines`) whose multi-line units are JSON values and partial CRI/docker
records. Workers read byte ranges in claimed blocks, so this process can take over the rest of a
piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from ..schema import K8S_EVENTS
from ..sources import Source
from ..sources.receiver import receiver_source
from .build import RowBatcher
from .event import Origin
from .frame import Account, FileReader
from .limits import BATCH_ROWS, MAX_LINE_BYTES
from .stream import Read, raw_batches

__all__ = ["open_k8s_audit", "read_k8s_audit"]

_COUNTED = ("lines", "lines_in_rows", "lines_in_rejects", "lines_empty")
"""The line account (:mod:`auditlens.k8s.frame`)."""


class _CutReader(FileReader):
    """Says whether a multi-line value or a partial container record was open at the end."""

    dirty = False

    def flush(self) -> Iterator[tuple]:
        self.dirty = self.value is not None or bool(self.pending)
        return super().flush()


@gc_paused_work
def _k8s_work(piece: Piece, errors: str, keep: bool, keep_objects: bool,
              cluster: str | None, max_line: int) -> LinesPart:
    rejecter = worker_rejecter(errors, keep)
    account = Account()
    batcher = RowBatcher()
    part = LinesPart()
    stream = piece.open()
    origin = Origin(piece.name, cluster=receiver_source(piece.name) or cluster,
                    keep_objects=keep_objects)
    reader = _CutReader(piece.name, origin, rejecter, account, max_line=max_line)
    try:
        with piece_arena_here() as part.arena:  # the fast path's columns, written once
            batches = list(raw_batches(reader.rows(stream), batcher, BATCH_ROWS))
        part.table = pa.Table.from_batches(batches, schema=K8S_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = portable(exc)
    finally:
        stream.close()
    return part.close(account, _COUNTED, batcher.coerced, rejecter, reader.dirty)


class _K8sMerge(LinesMerge):
    what = "k8s audit"
    unseen = "k8s"
    counted = _COUNTED
    schema = K8S_EVENTS.arrow

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, keep_objects: bool, cluster: str | None, *,
                 max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)
        self.keep_objects, self.cluster = keep_objects, cluster

    def work(self) -> Callable[[Piece], Any]:
        # reject texts are needed to see line numbers quoted in reasons, so always keep them
        return partial(_k8s_work, errors=self.errors, keep=True,
                       keep_objects=self.keep_objects, cluster=self.cluster,
                       max_line=self.max_line)

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        read = Read(self.source, self.errors, rejects, self.keep_objects, self.cluster,
                    BATCH_ROWS, self.max_line)
        return read.batches(), read


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
    return _K8sMerge(source, errors, rejects, jobs, chunk_bytes, keep_objects, cluster,
                     max_line=max_line).table()
