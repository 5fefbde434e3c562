"""The parent's side of a parallel read (:class:`Merge`): pieces' parts taken in order, their line
numbers made file-wide, rejects passed on, and the fallback to one process. A format subclasses
it with its piece work and what it carries over a cut."""

from __future__ import annotations

import warnings
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .. import progress
from ..errors import InvalidLine
from ..rejects import Rejecter, RejectLog
from ..sources import Source, expand_sources
from .handover import raise_error
from .pieces import Piece, plan_pieces
from .pool import in_order, workers

__all__ = ["Merge", "int64s", "shift", "warn_coerced", "with_meta", "worker_rejecter"]


def shift(table: pa.Table, offset: int) -> pa.Table:
    """Line numbers of a piece made file-wide."""
    if not offset or not table.num_rows:
        return table
    i = table.schema.get_field_index("line")
    by = int64s([offset])[0]  # a scalar from a buffer: converting the int imports pandas
    return table.set_column(i, table.schema.field(i), pc.add(table.column(i), by))


def _shift_rejects(items: list[InvalidLine], offset: int) -> list[InvalidLine]:
    if not offset:
        return items
    return [InvalidLine(r.file, r.line + offset, r.reason, r.raw) for r in items]


class _SkippingLog(RejectLog):
    """Passes rejects on to the caller's log after the first ``skip`` (already delivered)."""

    def __init__(self, target: RejectLog, skip: int) -> None:
        super().__init__()
        self.target, self.skip = target, skip

    def add(self, item: InvalidLine) -> None:
        if self.skip:
            self.skip -= 1
        else:
            self.target.add(item)


def _skip_rows(batches: Iterator[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        yield batch.slice(skip) if skip else batch
        skip = 0


class Merge:
    """What every parallel read keeps: rejects, counts, warnings, delivered rows, the fallback."""

    what = ""
    shared_ends = False  # whether its workers read byte ranges with Piece.spans (see SharedEnds)

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, *, max_line: int) -> None:
        self.source = source
        self.max_line = max_line  # the reader's line limit, in every worker too
        self.errors = errors
        self.rejecter = Rejecter(errors, rejects)  # validates errors=
        self.log = rejects
        self.jobs = jobs
        self.inputs = expand_sources(source)
        self.pieces = plan_pieces(self.inputs, chunk_bytes, jobs)
        self.lines = 0
        self.coerced = 0
        self.delivered = 0
        self.fell_back = False
        self._offset = 0
        self._logged0 = 0 if rejects is None else len(rejects)
        self.sequential_state: Any = None

    # what the subclasses give
    def work(self) -> Callable[[Piece], Any]:
        raise NotImplementedError

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        raise NotImplementedError

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        """A piece's batches (None: fall back); the part's rejects and counts are taken too."""
        raise NotImplementedError

    def finish(self) -> Iterator[pa.RecordBatch]:
        return iter(())

    def warn(self) -> None:
        raise NotImplementedError

    # the common part
    def add_rejects(self, items: list[InvalidLine], count: int, offset: int) -> None:
        self.rejecter.count += count
        if self.log is not None:
            for item in _shift_rejects(items, offset):
                self.log.add(item)

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.pieces is None or len(self.pieces) < 2 or self.jobs < 2:
            yield from self._fallback()
            return
        readers = min(self.jobs, len(self.pieces))
        with workers(self.jobs - 1, (type(self).__module__,)) as team:
            ends = team.ends if self.shared_ends else None
            pieces = self.pieces if ends is None else ends.place(self.pieces)
            parts = in_order(team.executor, readers - 1, self.work(), pieces, ends)
            with closing(parts):  # a fallback first ends what the workers still read
                for piece, part in parts:
                    if piece.first:
                        self._offset = 0
                    error = part.error
                    if error is not None:
                        raise_error(error, self._offset)
                    out = self.take(piece, part, self._offset)
                    if out is None:
                        break
                    self._offset += part.lines
                    progress.advance(piece.size)
                    yield from self._count(out)
                else:
                    yield from self._count(self.finish())
                    return
        yield from self._fallback()

    def _count(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            self.delivered += batch.num_rows
            yield batch

    def _fallback(self) -> Iterator[pa.RecordBatch]:
        """Read everything again in this process; skip what was delivered already."""
        self.fell_back = True
        log = None if self.log is None else _SkippingLog(self.log, len(self.log) - self._logged0)
        batches, self.sequential_state = self.sequential(log)
        yield from _skip_rows(batches, self.delivered)

    def streamed(self) -> Iterator[pa.RecordBatch]:
        yield from self.batches()
        self.warn()


def worker_rejecter(errors: str, keep: bool) -> Rejecter:
    """A piece's rejecter in a worker: it keeps the rejects' texts only when the caller does."""
    return Rejecter(errors, RejectLog() if keep else None)


def warn_coerced(count: int, what: str) -> None:
    """The warning one process gives for values stored as null, from a parallel read's count."""
    if count:
        warnings.warn(f"{count} {what} value(s) did not fit their column type and were stored "
                      "as null", stacklevel=4)


def int64s(values: Iterable[int]) -> pa.Array:
    """An int64 array made from its buffer: ``pa.array`` of Python ints would import pandas in
    the parent (half a second of CPU the workers need)."""
    data = array("q", values)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data.tobytes())])


def with_meta(table: pa.Table, values: dict[str, int]) -> pa.Table:
    """``table`` with a read's account (``auditlens.lines``, ``auditlens.rejects``…) in its
    schema metadata, as the one-process readers give it."""
    meta = dict(table.schema.metadata or {})
    for key, value in values.items():
        meta[f"auditlens.{key}".encode()] = str(value).encode()
    return table.replace_schema_metadata(meta)

