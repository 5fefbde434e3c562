"""One-process reads of Kubernetes API audit logs: the raw rows of every input, made into
RecordBatches with the GC paused, and the read's account and warnings."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from ..rejects import Rejecter, RejectLog
from ..schema import K8S_EVENTS
from ..sources import Source, expand_sources, release
from ..sources.receiver import receiver_source
from .build import RowBatcher
from .event import Origin
from .frame import MAX_LINE_BYTES, Account, FileReader
from .native import Chunk

__all__ = ["Read", "raw_batches"]


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


class Read:
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
            origin = Origin(inp.name, cluster=receiver_source(inp.name) or self.cluster,
                            keep_objects=self.keep_objects)
            try:
                yield from FileReader(inp.name, origin, self.rejecter, self.account,
                                     self.batch_size, max_line=self.max_line).rows(stream)
            finally:
                release(inp, stream)

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
