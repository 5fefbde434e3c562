"""Reading Kubernetes / OpenShift API audit logs into Arrow (``read_k8s_audit``/``open_k8s_audit``).

The pipeline: sources (files, globs, stdin, compression) → :class:`~auditlens.k8s.frame.FileReader`
(lines → units → raw rows, via the wrapper registry) → :class:`~auditlens.k8s.build.RowBatcher`
(raw rows → RecordBatches). One row per logged Event, in input order; nothing is deduplicated.

Nothing is lost: ``read_k8s_audit`` records the line account in the table's schema metadata:
``auditlens.lines`` (physical lines read), ``auditlens.rejects`` (Events/units rejected),
``auditlens.lines_in_rows``, ``auditlens.lines_in_rejects`` and ``auditlens.lines_empty``, which
add up to ``auditlens.lines`` (see :mod:`auditlens.k8s.frame` for what a unit is). A line
longer than ``max_line_bytes`` (default :data:`~.frame.MAX_LINE_BYTES`, 64 MiB) is one rejected
unit, skipped as it is read (:mod:`auditlens.sources.lines`).
"""

from __future__ import annotations

import gc
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from ..rejects import Rejecter, RejectLog
from ..schema import K8S_EVENTS
from ..sources import InputFile, Source, expand_sources
from ..sources.lines import check_max_line
from .build import RowBatcher
from .event import Origin
from .frame import BATCH_ROWS, MAX_LINE_BYTES, Account, FileReader
from .native import Chunk

__all__ = ["open_k8s_audit", "read_k8s_audit"]

DEFAULT_BATCH = BATCH_ROWS


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a batch is built: parsing makes many short-lived containers
    (no cycles) and the collector would otherwise run thousands of times for nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()



def raw_batches(items: Iterator[tuple | Chunk], batcher: RowBatcher,
                size: int) -> Iterator[pa.RecordBatch]:
    """Raw rows and fast-path chunks → RecordBatches of at most ``size`` rows, in input order.
    The cyclic GC is paused while a batch is made, not while the caller holds it."""
    pending: list[tuple] = []
    done = False
    while not done:
        out = []
        with _gc_paused():
            for item in items:
                if type(item) is tuple:
                    pending.append(item)
                    if len(pending) == size:
                        out.append(batcher.batch(pending))
                        break
                else:
                    assert isinstance(item, Chunk)
                    if pending:
                        out.append(batcher.batch(pending))
                    batch = batcher.chunk(item)
                    # a line of many Events (an EventList) can make a chunk too large
                    out += [batch.slice(k, size) for k in range(0, batch.num_rows, size)]
                    break
            else:
                done = True
                if pending:
                    out.append(batcher.batch(pending))
            # freed by reference counting now, so the collector (back on at the end of this
            # block) does not walk the batch's rows once more for nothing
            pending = []
        yield from out


def _release(inp: InputFile, stream: Any) -> None:
    """Close what we opened; leave a caller's own stream open."""
    if inp.size is not None:  # a path: we opened it
        stream.close()
        return
    caller = inp.opener()
    if stream is not caller and isinstance(stream, io.BufferedReader) and stream.raw is caller:
        stream.detach()


class _Read:
    """One read: its inputs, options, rejecter, account and the batches it makes."""

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None,
                 keep_objects: bool, cluster: str | None, batch_size: int,
                 max_line: int = MAX_LINE_BYTES) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.max_line = max_line
        self.rejecter = Rejecter(errors, rejects)
        self.inputs = expand_sources(source)
        self.keep_objects = keep_objects
        self.cluster = cluster
        self.batch_size = batch_size
        self.account = Account()
        self.batcher = RowBatcher()

    def rows(self) -> Iterator[tuple | Chunk]:
        for inp in self.inputs:
            stream = inp.open()
            origin = Origin(inp.name, cluster=self.cluster, keep_objects=self.keep_objects)
            try:
                yield from FileReader(inp.name, origin, self.rejecter, self.account,
                                      self.batch_size, max_line=self.max_line).rows(stream)
            finally:
                _release(inp, stream)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return raw_batches(self.rows(), self.batcher, self.batch_size)

    def streamed(self) -> Iterator[pa.RecordBatch]:
        yield from self.batches()
        self.warn()

    def warn(self) -> None:
        if self.batcher.coerced:
            warnings.warn(f"{self.batcher.coerced} k8s audit value(s) did not fit their column "
                          "type and were stored as null", stacklevel=3)
        self.rejecter.warn_if_unseen("k8s")

    def table(self) -> pa.Table:
        table = pa.Table.from_batches(list(self.batches()), schema=K8S_EVENTS.arrow)
        acc = self.account
        meta = dict(table.schema.metadata or {})
        for key, value in (("lines", acc.lines), ("rejects", self.rejecter.count),
                           ("lines_in_rows", acc.lines_in_rows),
                           ("lines_in_rejects", acc.lines_in_rejects),
                           ("lines_empty", acc.lines_empty)):
            meta[f"auditlens.{key}".encode()] = str(value).encode()
        return table.replace_schema_metadata(meta)


def open_k8s_audit(source: Source, *, errors: str = "collect", rejects: RejectLog | None = None,
                   keep_objects: bool = True, cluster: str | None = None,
                   batch_size: int = DEFAULT_BATCH, jobs: int = 1,
                   max_line_bytes: int | None = None) -> Iterator[pa.RecordBatch]:
    """Stream API audit Events as RecordBatches of the ``k8s_events`` schema (bounded memory).

    ``source``: a file, directory, glob, binary file object, ``-`` for stdin, or a list of these;
    compressed inputs are opened transparently. Every input form of docs/k8s-formats.md is
    recognised per line. ``errors="collect"`` puts unreadable lines/objects in ``rejects``
    (warning when no RejectLog is given); ``errors="raise"`` stops at the first with a ParseError
    carrying file and line. ``keep_objects=False`` skips request/response bodies (faster).
    ``cluster`` names the cluster for Events whose wrapper does not. ``jobs``: processes reading
    (this one and jobs-1 workers; 0: one per CPU), same output as with one (see
    :mod:`auditlens.parallel`). ``max_line_bytes``: a longer line is rejected (``line too long: N
    bytes (limit L)``, its first 256 bytes kept) and skipped as it is read, so that a binary file
    or a decompression bomb costs no memory; None: 64 MiB (RequestResponse bodies can be large).
    """
    max_line = check_max_line(max_line_bytes, MAX_LINE_BYTES)
    if jobs != 1:
        from .. import parallel
        return parallel.open_k8s_audit(source, errors=errors, rejects=rejects,
                                       keep_objects=keep_objects, cluster=cluster,
                                       jobs=parallel.check_jobs(jobs))
    return _Read(source, errors, rejects, keep_objects, cluster, batch_size, max_line).streamed()


def read_k8s_audit(source: Source, *, errors: str = "collect", rejects: RejectLog | None = None,
                   keep_objects: bool = True, cluster: str | None = None,
                   jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """All API audit Events of ``source`` as one table (options as for :func:`open_k8s_audit`),
    with the line account in the schema metadata (``auditlens.lines``, ``auditlens.rejects``…)."""
    max_line = check_max_line(max_line_bytes, MAX_LINE_BYTES)
    if jobs != 1:
        from .. import parallel
        return parallel.read_k8s_audit(source, errors=errors, rejects=rejects,
                                       keep_objects=keep_objects, cluster=cluster,
                                       jobs=parallel.check_jobs(jobs))
    read = _Read(source, errors, rejects, keep_objects, cluster, DEFAULT_BATCH, max_line)
    table = read.table()
    read.warn()
    return table
