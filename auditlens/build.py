"""Rows → Arrow record batches, one declared schema at a time, without pandas or per-row Arrow objects.

A reader appends plain Python rows (dicts keyed by column name, a missing key is null) and gets
a :class:`pyarrow.RecordBatch` every ``batch_size`` rows. Columns are converted once per batch
with the schema's declared types, never inferred. Generic over :class:`TableSchema`, so every
reader (auditd events and records, Kubernetes) shares it.

The Arrow boundary is where odd log values surface (a pid too large for int64, a string that
is not valid UTF-8): such a value becomes null instead of failing the whole batch, and the
count of nulled values is kept in :attr:`BatchBuilder.coerced` so the reader can say so.
"""

from __future__ import annotations

import gc
import operator
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import pyarrow as pa

from .schema import TableSchema

CONVERT_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeError, TypeError,
                  ValueError)
"""What pyarrow raises for a value that does not fit its declared type."""


def safe_array(values: list[Any], type_: pa.DataType) -> tuple[pa.Array, int]:
    """``pa.array(values, type_)``; on failure, null the values that do not convert (and count them)."""
    try:
        return pa.array(values, type=type_), 0
    except CONVERT_ERRORS:
        pass
    kept: list[Any] = []
    bad = 0
    for v in values:
        try:
            pa.array([v], type=type_)
        except CONVERT_ERRORS:
            kept.append(None)
            bad += 1
        else:
            kept.append(v)
    return pa.array(kept, type=type_), bad


_T = TypeVar("_T")
_pause_lock = threading.Lock()
_pauses = 0
_paused_by_us = False


def _pause() -> None:
    global _pauses, _paused_by_us
    with _pause_lock:
        if _pauses == 0:
            _paused_by_us = gc.isenabled()
            if _paused_by_us:
                gc.disable()
        _pauses += 1


def _resume() -> None:
    global _pauses
    with _pause_lock:
        _pauses -= 1
        if _pauses == 0 and _paused_by_us:
            gc.enable()


@contextmanager
def gc_pause() -> Iterator[None]:
    """The cyclic GC paused for a block of work (counted like :func:`gc_paused`)."""
    _pause()
    try:
        yield
    finally:
        _resume()


def gc_paused(items: Iterator[_T]) -> Iterator[_T]:
    """``items`` with the cyclic GC paused while each is made, never while the consumer holds
    the generator (unless another thread's read is making a batch meanwhile). Parsing makes
    millions of short-lived containers without cycles, and the collector would otherwise walk the
    growing batch over and over for nothing. The switch is process-wide, so pauses are counted:
    reads in several threads leave the collector on when the last one is done (each thread
    restoring what it had seen left it off), and a caller who turned it off keeps it off."""
    held = False
    try:
        _pause()
        held = True
        for item in items:
            _resume()
            held = False
            yield item
            _pause()
            held = True
    finally:
        if held:
            _resume()


class BatchBuilder:
    """Collects rows of one table and turns them into RecordBatches of the declared schema."""

    def __init__(self, schema: TableSchema, batch_size: int = 10_000) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.schema = schema
        self.arrow: pa.Schema = schema.arrow
        self.batch_size = batch_size
        self._names = schema.names
        self._types = [c.type for c in schema.columns]
        self._getter = operator.itemgetter(*self._names)
        self._rows: list[Mapping[str, Any]] = []
        self.coerced = 0
        """Values that could not be stored with their declared type and became null."""

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, row: Mapping[str, Any]) -> pa.RecordBatch | None:
        """Add one row; return a full batch when ``batch_size`` rows are collected, else None."""
        self._rows.append(row)
        if len(self._rows) >= self.batch_size:
            return self.finish()
        return None

    def finish(self) -> pa.RecordBatch:
        """The collected rows as one batch (possibly empty); the builder starts afresh."""
        rows, self._rows = self._rows, []
        try:  # rows that have every column (the usual case): one C-level transposition
            if len(self._names) < 2:  # itemgetter of one name gives values, not tuples
                raise KeyError
            columns: list[Any] = list(zip(*map(self._getter, rows)))
        except KeyError:
            columns = [[r.get(name) for r in rows] for name in self._names]
        if not columns:  # no rows
            columns = [[] for _ in self._names]
        arrays = []
        for values, type_ in zip(columns, self._types):
            array, bad = safe_array(values, type_)
            self.coerced += bad
            arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow)

    def batches(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[pa.RecordBatch]:
        """Batches of a row stream; the last, partial batch too (nothing when there were no rows).
        The cyclic GC is paused while they are collected (``gc_paused``)."""
        return gc_paused(self._batches(rows))

    def _batches(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[pa.RecordBatch]:
        for row in rows:
            batch = self.append(row)
            if batch is not None:
                yield batch
        if self._rows:
            yield self.finish()

    def warn_if_coerced(self, what: str) -> None:
        """Values nulled at the Arrow boundary are never silent."""
        if self.coerced:
            warnings.warn(
                f"{self.coerced} {what} value(s) did not fit their column type and were stored as null",
                stacklevel=3,
            )
