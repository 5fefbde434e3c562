"""Tables kept on disk while a report runs: sorted runs, and their merge in bounded memory.

A fleet's report is computed node by node; each node's rows of a section are sorted and written
here as a *run* (an Arrow IPC stream, LZ4-compressed). A section is then the merge of its runs in
one global order, read a batch at a time: a :class:`SpilledTable`, which the writers take like an
Arrow table. Memory stays a batch per run merged at once (at most :data:`FAN_IN` runs: more are
first merged into longer runs), whatever the size of the fleet. Disk: about the size of the
report, in the system's temporary directory (``TMPDIR``), removed when the report is released.

The order is given as columns (``order``): rows compare column by column, ascending, nulls last
(as :func:`pyarrow.compute.sort_indices` sorts), and the last columns must make every row's key
unique so that the merge is deterministic. Text columns compare by code point; their values are
noted per run (they must be few, e.g. node names) so that the merge compares ranks, not text.
"""

from __future__ import annotations

import bisect
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import AuditlensError

FAN_IN = 32
"""Runs merged at once; more are merged in rounds, so memory holds at most this many batches."""
BATCH_BYTES = 256 << 10
"""About how large a run's batches are (the unit the merge holds per run), and the batches it
gives out: small, so that the merge of :data:`FAN_IN` runs stays a few MB."""
_LAST = np.iinfo(np.int64).max  # a null sorts after every value
_COMPRESSION = "lz4" if pa.Codec.is_available("lz4") else None


@dataclass(frozen=True)
class Run:
    """One sorted table on disk: its file, schema, rows and the values of its text keys."""

    path: str
    schema: pa.Schema
    rows: int
    texts: dict[str, frozenset[str]] = field(default_factory=dict)

    def batches(self) -> Iterator[pa.RecordBatch]:
        with pa.OSFile(self.path, "rb") as f:
            yield from pa.ipc.open_stream(f)


def write_run(table: pa.Table, directory: str | os.PathLike[str], order: Sequence[str] = ()) -> Run:
    """Write ``table``, sorted by ``order``, as a run in ``directory``."""
    path = _write(_small_batches(sort_for_run(table, order)), table.schema, directory)
    texts = {name: frozenset(v for v in pc.unique(table[name]).to_pylist() if v is not None)
             for name in order if pa.types.is_string(table.schema.field(name).type)}
    return Run(path, table.schema, table.num_rows, texts)


def _write(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
           directory: str | os.PathLike[str]) -> str:
    """A new run file in ``directory`` holding ``batches``; a full or unwritable disk is said
    plainly, with what to do."""
    try:
        fd, path = tempfile.mkstemp(dir=directory, suffix=".arrows")
        os.close(fd)
        options = pa.ipc.IpcWriteOptions(compression=_COMPRESSION)
        with pa.OSFile(path, "wb") as f, pa.ipc.new_stream(f, schema, options=options) as w:
            for batch in batches:
                w.write_batch(batch)
    except OSError as err:
        raise _no_room(directory, err) from None
    return path


def _no_room(directory: str | os.PathLike[str] | None, err: OSError) -> AuditlensError:
    return AuditlensError(
        f"cannot keep the report's rows on disk in {directory or tempfile.gettempdir()}: "
        f"{err.strerror or err}; set TMPDIR (or spill_dir=) to a directory with room for about "
        "the report's size")


def _small_batches(table: pa.Table) -> list[pa.RecordBatch]:
    """``table`` in batches of about :data:`BATCH_BYTES`."""
    rows = max(64, int(BATCH_BYTES * table.num_rows / max(table.nbytes, 1)))
    return table.to_batches(max_chunksize=rows)


def sort_for_run(table: pa.Table, order: Sequence[str]) -> pa.Table:
    """``table`` in ``order`` (ascending, nulls last), as :func:`merge` expects a run."""
    if not order or table.num_rows < 2:
        return table
    return table.take(pc.sort_indices(table, [(name, "ascending") for name in order]))


class _Keys:
    """Turns a batch's order columns into int64 arrays that compare as the rows do."""

    def __init__(self, order: Sequence[str], runs: Sequence[Run]) -> None:
        self.order = list(order)
        self.ranks: dict[str, pa.Array] = {}
        for name in self.order:
            values = set().union(*(r.texts.get(name, ()) for r in runs))
            if values or any(name in r.texts for r in runs):
                self.ranks[name] = pa.array(sorted(values), pa.string())

    def __call__(self, batch: pa.RecordBatch | pa.Table) -> list[np.ndarray]:
        keys = []
        for name in self.order:
            column = batch[name]
            if name in self.ranks:
                column = pc.index_in(column, value_set=self.ranks[name])
            elif not pa.types.is_integer(column.type):
                column = pc.cast(column, pa.int64())
            keys.append(np.asarray(pc.fill_null(pc.cast(column, pa.int64()), _LAST)))
        return keys


@dataclass
class _Head:
    """The rows of one run not yet given out: the current batch's rest and its keys."""

    batches: Iterator[pa.RecordBatch]
    table: pa.Table | None = None
    keys: list[np.ndarray] = field(default_factory=list)
    done: bool = False

    def fill(self, key: _Keys) -> None:
        while not self.done and (self.table is None or self.table.num_rows == 0):
            batch = next(self.batches, None)
            if batch is None:
                self.done = True
            elif batch.num_rows:
                self.table = pa.Table.from_batches([batch])
                self.keys = key(batch)

    def last(self) -> tuple[int, ...]:
        return tuple(int(k[-1]) for k in self.keys)

    def upto(self, bound: tuple[int, ...] | None) -> int:
        """How many leading rows have keys at most ``bound`` (None: all)."""
        n = 0 if self.table is None else self.table.num_rows
        if bound is None or n == 0:
            return n
        return bisect.bisect_right(range(n), bound, key=lambda i: tuple(int(k[i]) for k in self.keys))

    def take(self, n: int) -> tuple[pa.Table, list[np.ndarray]]:
        assert self.table is not None
        out = (self.table.slice(0, n), [k[:n] for k in self.keys])
        self.table = self.table.slice(n)
        self.keys = [k[n:] for k in self.keys]
        return out


def merge(runs: Sequence[Run], order: Sequence[str]) -> Iterator[pa.RecordBatch]:
    """The rows of ``runs`` (each sorted by ``order``) in ``order``; runs in sequence without one.

    Each step gives out every held row up to the smallest last key held among the runs that have
    more to read: no row still on disk can come before them."""
    if not order or len(runs) < 2:
        for run in runs:
            yield from run.batches()
        return
    key = _Keys(order, runs)
    heads = [_Head(run.batches()) for run in runs]
    while True:
        for h in heads:
            h.fill(key)
        live = [h for h in heads if h.table is not None and h.table.num_rows]
        if not live:
            return
        pending = [h.last() for h in live if not h.done]
        bound = min(pending) if pending else None
        parts = [h.take(h.upto(bound)) for h in live]
        parts = [p for p in parts if p[0].num_rows]
        table = pa.concat_tables([p[0] for p in parts])
        keys = [np.concatenate([p[1][i] for p in parts]) for i in range(len(order))]
        yield from _small_batches(table.take(pa.array(np.lexsort(keys[::-1]))))


class Spill:
    """A temporary directory of runs, removed when the spill is closed or collected."""

    def __init__(self, directory: str | None = None) -> None:
        try:
            self._dir = tempfile.TemporaryDirectory(prefix="auditlens-", dir=directory)
        except OSError as err:
            raise _no_room(directory, err) from None
        self.path = self._dir.name

    def write(self, table: pa.Table, order: Sequence[str] = ()) -> Run:
        return write_run(table, self.path, order)

    def table(self, runs: Sequence[Run], schema: pa.Schema, order: Sequence[str] = (),
              hidden: Iterable[str] = (), transform: Transform | None = None) -> SpilledTable:
        """The merge of ``runs`` as one table; ``hidden`` columns (order only) are left out.
        More than :data:`FAN_IN` runs are merged in rounds first. ``transform`` is applied to
        each merged batch (all columns, before ``hidden`` go); it keeps rows and schema."""
        runs = [r for r in runs if r.rows]
        while order and len(runs) > FAN_IN:
            runs = [self._merged(runs[i:i + FAN_IN], order) for i in range(0, len(runs), FAN_IN)]
        names = [n for n in schema.names if n not in set(hidden)]
        return SpilledTable(self, tuple(runs), tuple(order), schema, tuple(names),
                            transform=transform)

    def _merged(self, runs: Sequence[Run], order: Sequence[str]) -> Run:
        if len(runs) == 1:
            return runs[0]
        path = _write(merge(runs, order), runs[0].schema, self.path)
        texts = {k: frozenset().union(*(r.texts.get(k, ()) for r in runs)) for k in runs[0].texts}
        for r in runs:
            Path(r.path).unlink()
        return Run(path, runs[0].schema, sum(r.rows for r in runs), texts)

    def close(self) -> None:
        self._dir.cleanup()


Transform = Callable[[pa.Table], pa.Table]
"""What a :class:`SpilledTable` does to each merged batch before giving it out."""


class SpilledTable:
    """A table on disk, read a batch at a time: the parts of :class:`pyarrow.Table` the writers
    use (``schema``, ``num_rows``, ``to_batches``, ``slice``), and :meth:`read` for the rest."""

    def __init__(self, spill: Spill, runs: tuple[Run, ...], order: tuple[str, ...],
                 schema: pa.Schema, names: tuple[str, ...], offset: int = 0,
                 length: int | None = None, transform: Transform | None = None) -> None:
        self._spill = spill  # kept alive while the table is
        self._runs, self._order, self._names = runs, order, names
        self._transform = transform
        self._full = schema
        self.schema = pa.schema([schema.field(n) for n in names])
        total = sum(r.rows for r in runs)
        self._offset = min(offset, total)
        self.num_rows = max(0, min(total - self._offset,
                                   total if length is None else length))

    @property
    def num_columns(self) -> int:
        return len(self._names)

    @property
    def column_names(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return self.num_rows

    def _view(self, names: tuple[str, ...], offset: int, length: int | None) -> SpilledTable:
        return SpilledTable(self._spill, self._runs, self._order, self._full, names, offset, length,
                            self._transform)

    def slice(self, offset: int = 0, length: int | None = None) -> SpilledTable:
        length = self.num_rows - offset if length is None else min(length, self.num_rows - offset)
        return self._view(self._names, self._offset + offset, max(length, 0))

    def select(self, names: Iterable[str]) -> SpilledTable:
        return self._view(tuple(names), self._offset, self.num_rows)

    def to_batches(self, max_chunksize: int | None = None) -> Iterator[pa.RecordBatch]:
        skip, left = self._offset, self.num_rows
        for batch in merge(self._runs, self._order):
            if left <= 0:
                return
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch = batch.slice(skip, left)
            skip, left = 0, left - batch.num_rows
            part = pa.Table.from_batches([batch])
            if self._transform is not None:
                part = self._transform(part)
            part = part.select(list(self._names))
            if max_chunksize:
                yield from part.to_batches(max_chunksize=max_chunksize)
            else:
                yield from part.combine_chunks().to_batches()

    def read(self) -> pa.Table:
        """The whole table in memory."""
        return pa.Table.from_batches(list(self.to_batches()), schema=self.schema)

    def to_pandas(self, **kwargs: Any) -> Any:
        return self.read().to_pandas(**kwargs)

    def to_pylist(self) -> list[dict[str, Any]]:
        return self.read().to_pylist()

    def column(self, name: str) -> pa.ChunkedArray:
        return self.select([name]).read().column(name)

    def __getitem__(self, name: str) -> pa.ChunkedArray:
        return self.column(name)

    def __repr__(self) -> str:
        return f"SpilledTable({self.num_rows} rows, {len(self._runs)} runs)\n{self.schema}"


def as_table(table: pa.Table | SpilledTable) -> pa.Table:
    """An Arrow table of either kind, in memory."""
    return table if isinstance(table, pa.Table) else table.read()


TableLike = pa.Table | SpilledTable
"""What a report section holds: an Arrow table, or one on disk."""

__all__ = ["FAN_IN", "Run", "Spill", "SpilledTable", "TableLike", "as_table", "merge",
           "sort_for_run", "write_run"]
