"""A worker's piece in shared memory, written once: the arena the C fast paths write their
columns into (``finish(arena)``, see ``auditlens/_columns.h``), and the hand-over of a table
whose buffers lie there (:func:`pack`, :func:`unpack`).

Before, a column was copied twice in a worker: from the builder's memory into a bytes object
at ``finish()``, and from there into the Arrow IPC file the parent maps (a Kubernetes piece:
0.22 s of a worker's 1.7 s in a ``jobs=2`` read went to that file). Here the builder copies its
buffers straight into the arena file, and the hand-over sends, instead of a copy, where each
buffer of the table lies in that file: the parent maps the file and rebuilds the arrays over the
mapping. Buffers made elsewhere (rows of the Python path, computed columns) are copied into the
arena at the hand-over; whatever else a part carries is pickled into the arena's tail.

Measured on the 1.2 GB Kubernetes log, ``jobs=2``: the worker's hand-over CPU fell from
0.19–0.25 s to 0.05 s a read (auditd: 0.13–0.21 s to 0.04 s), a piece's work and hand-over
together 15 % (best of 8 rounds); the wall time and the ratio to the two-process limit did not
move beyond the noise of a shared two-core machine (round-by-round medians 0.95–1.06). The
parent's rebuild touches the first pages of every buffer (Arrow's cheap validation), so its RSS
counts about half of each mapped piece more than with the IPC file: pages shared with the file,
not more memory.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pyarrow as pa

from .leftovers import file_prefix

__all__ = ["Arena", "current", "pack", "piece_arena", "ranges", "unpack"]

_ALIGN = 64
"""Alignment of every buffer (Arrow's recommendation, and what its IPC files use)."""
_SEGMENT = 8 << 20
"""Bytes mapped at a time: the file is mapped by segments as it grows (a mapping that moved as
it grew would leave the views already handed out pointing at nothing)."""

_current: ContextVar[Arena | None] = ContextVar("auditlens_arena", default=None)


def current() -> Arena | None:
    """The arena of the piece being read in this worker, or None (this process keeps its rows:
    the C fast paths make bytes objects)."""
    return _current.get()


class Arena:
    """A growing file of buffers in ``folder``: each buffer is appended with a write and read
    back through a mapping of the file (:meth:`write`).

    Written, not stored through a writable mapping: a RAM disk's page taken by a write is filled
    by it, one taken by a mapping is zeroed first (measured: a piece's 22 MB cost 28 ms through a
    mapping, twice the write), and a full RAM disk answers a write with an error where a mapping
    gets SIGBUS. The worker maps what it wrote to make its arrays, and rarely reads it. The file
    is created with the first buffer and removed when the arena is let go without being handed
    over (the parent removes it once mapped, see :func:`unpack`)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path: str | None = None
        self.used = 0  # bytes written (the next buffer starts after them, aligned)
        self.size = 0  # bytes of the file: the end of its last mapping
        self.segments: list[tuple[int, int, mmap.mmap, int]] = []  # (address, at, map, size)
        self._fd = -1
        self._removal: weakref.finalize | None = None
        self.handed = False

    def write(self, data: Any) -> memoryview | bytes:
        """``data`` (anything with the buffer protocol) copied into the arena: a read-only view of
        the copy, or, when the arena cannot grow (a full disk), a bytes copy of its own."""
        view = memoryview(data).cast("B")
        try:
            at = self.put(view)
        except OSError:
            return bytes(view)
        return self._view(at, view.nbytes)

    def put(self, data: Any) -> int:
        """Append ``data`` to the file: its offset there; OSError when the arena cannot grow (a
        full disk, or the arena handed over: the file is the parent's now)."""
        if self.handed:
            raise OSError("the arena was handed over")
        view = memoryview(data).cast("B")
        if self._fd < 0:
            fd, self.path = tempfile.mkstemp(prefix=file_prefix("arena"), dir=self.folder)
            self._fd = fd
            self._removal = weakref.finalize(self, _remove, fd, self.path)
        at = -(-self.used // _ALIGN) * _ALIGN
        done = 0
        while done < view.nbytes:
            done += os.pwrite(self._fd, view[done:], at + done)
        self.used = at + view.nbytes
        return at

    def _view(self, at: int, n: int) -> memoryview:
        """The file's bytes ``[at, at + n)``, written already, through a mapping."""
        if n == 0:
            return memoryview(b"")
        for _, start, segment, size in reversed(self.segments):
            if start <= at and at + n <= start + size:
                return memoryview(segment)[at - start:at - start + n]
        start = at // mmap.ALLOCATIONGRANULARITY * mmap.ALLOCATIONGRANULARITY
        size = -(-max(at + n - start, _SEGMENT) // mmap.PAGESIZE) * mmap.PAGESIZE
        if start + size > self.size:  # a hole to map (no memory: the pages are not written)
            self.size = start + size
            os.ftruncate(self._fd, self.size)
        segment = mmap.mmap(self._fd, size, mmap.MAP_SHARED, mmap.PROT_READ, offset=start)
        address = pa.py_buffer(segment).address
        self.segments.append((address, start, segment, size))
        return memoryview(segment)[at - start:at - start + n]

    def where(self, buf: pa.Buffer) -> int | None:
        """The file offset of ``buf``'s memory when it lies in the arena, else None."""
        address, size = buf.address, buf.size
        for start, at, _, length in self.segments:
            if start <= address and address + size <= start + length:
                return at + address - start
        return None

    def hand_over(self, kept: list[tuple[int, int]]) -> str:
        """The file's name, for the parent: the arena no longer removes it, nor writes to it. Its
        pages that hold none of the ``kept`` ranges (offset, size) are freed: the worker wrote
        columns it then replaced (Kubernetes times parsed from their text, rows put in order),
        which the parent would otherwise hold in memory as long as the table (Kubernetes: 8 %
        of a piece's file, auditd events: 15 %)."""
        if self.handed or self.path is None or self._removal is None:
            raise OSError("nothing to hand over" if self.path is None else "handed over already")
        self.handed = True
        self._removal.detach()
        if self.size > self.used:  # the parent maps what was written, not the hole after it
            os.ftruncate(self._fd, self.used)
        _free_gaps(self._fd, kept, self.used)
        os.close(self._fd)
        self._fd = -1
        return self.path


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_PUNCH_HOLE = 0x02 | 0x01
"""``FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`` (linux/falloc.h): free a range of a file's
pages, its size unchanged (reading there gives zeros)."""


def _free_gaps(fd: int, kept: list[tuple[int, int]], end: int) -> None:
    """Free the whole pages of the file ``[0, end)`` that no ``kept`` range touches (Linux;
    elsewhere, or on a file system that cannot, they stay)."""
    fallocate = getattr(_libc, "fallocate", None)
    if fallocate is None:
        return
    page = mmap.PAGESIZE
    at = 0
    for start, size in sorted(kept) + [(end, 0)]:
        lo = -(-at // page) * page
        hi = start // page * page
        if hi > lo and fallocate(fd, _PUNCH_HOLE, ctypes.c_int64(lo),
                                 ctypes.c_int64(hi - lo)) != 0:
            return
        at = max(at, start + size)


def _remove(fd: int, path: str) -> None:
    os.close(fd)
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def piece_arena(folder: str | None) -> Iterator[Arena | None]:
    """An arena in ``folder`` (None: none, the piece is read in the process that keeps it) for
    the C fast paths' ``finish()`` calls made within, through :func:`current`."""
    arena = None if folder is None else Arena(folder)
    token = _current.set(arena)
    try:
        yield arena
    finally:
        _current.reset(token)


# -- hand-over -------------------------------------------------------------------------------

Layout = tuple[int, int, int, list[tuple[int, int] | None], list[Any]]
"""An array's place in an arena: (length, null count, offset, its own buffers as (file offset,
size) or None, its children's layouts) — Arrow's C data interface, with offsets for pointers."""


class _CArray(ctypes.Structure):
    """``struct ArrowArray`` of Arrow's C data interface (only read here)."""


_CArray._fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64),
                    ("offset", ctypes.c_int64), ("n_buffers", ctypes.c_int64),
                    ("n_children", ctypes.c_int64),
                    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
                    ("children", ctypes.POINTER(ctypes.POINTER(_CArray))),
                    ("dictionary", ctypes.c_void_p),
                    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_CArray))),
                    ("private_data", ctypes.c_void_p)]


def _layout(array: pa.Array, arena: Arena) -> Layout:
    """Where ``array``'s buffers lie in ``arena``, copying there those that do not. The structure
    (offsets, lengths, which buffer belongs to which child) is read from the array's export
    through the C data interface, the buffers' sizes from :meth:`pa.Array.buffers` (the same
    buffers, depth first: checked, NotImplementedError where they are not)."""
    if pa.types.is_dictionary(array.type) or pa.types.is_union(array.type):
        raise NotImplementedError(f"no arena hand-over for {array.type}")
    c = _CArray()
    array._export_to_c(ctypes.addressof(c))
    try:
        buffers = iter(array.buffers())
        layout = _walk(c, buffers, arena)
        if next(buffers, _END) is not _END:
            raise NotImplementedError(f"the buffers of {array.type} are not as exported")
        return layout
    finally:
        c.release(ctypes.byref(c))


_END = object()


def _walk(c: _CArray, buffers: Iterator[pa.Buffer | None], arena: Arena) -> Layout:
    own: list[tuple[int, int] | None] = []
    for k in range(c.n_buffers):
        buf: Any = next(buffers, _END)
        if buf is _END or (buf is None) != (c.buffers[k] is None) or (
                buf is not None and buf.address != c.buffers[k]):
            raise NotImplementedError("the buffers of an array are not as exported")
        if buf is None:
            own.append(None)
            continue
        at = arena.where(buf)
        own.append((arena.put(buf) if at is None else at, buf.size))
    children = [_walk(c.children[k].contents, buffers, arena) for k in range(c.n_children)]
    return (c.length, c.null_count, c.offset, own, children)


def ranges(layout: Layout) -> Iterator[tuple[int, int]]:
    """The (offset, size) of every buffer of a layout, its children's too."""
    yield from (b for b in layout[3] if b is not None)
    for child in layout[4]:
        yield from ranges(child)


def pack(table: pa.Table, arena: Arena) -> list[list[Layout]]:
    """The layout of each chunk of each column of ``table`` in ``arena`` (NotImplementedError
    for a table without columns, whose rows only the IPC file counts)."""
    if table.num_columns == 0:
        raise NotImplementedError("no arena hand-over for a table without columns")
    return [[_layout(chunk, arena) for chunk in column.chunks] for column in table.columns]


def _child_types(type_: pa.DataType) -> list[pa.DataType]:
    if isinstance(type_, pa.MapType):
        return [pa.struct([type_.key_field, type_.item_field])]
    if isinstance(type_, (pa.ListType, pa.LargeListType, pa.FixedSizeListType)):
        return [type_.value_type]
    if isinstance(type_, pa.StructType):
        return [type_.field(k).type for k in range(type_.num_fields)]
    return []


def _array(type_: pa.DataType, layout: Layout, data: pa.Buffer) -> pa.Array:
    length, nulls, offset, buffers, children = layout
    kids = [_array(t, child, data) for t, child in zip(_child_types(type_), children)]
    bufs = [None if b is None else data.slice(b[0], b[1]) for b in buffers]
    return pa.Array.from_buffers(type_, length, bufs, nulls, offset, children=kids or None)


def unpack(path: str, rest: Callable[[pa.Buffer], tuple[pa.Schema, list[list[Layout]]]]
           ) -> pa.Table:
    """The table a worker packed into the arena file ``path``, over a mapping of it (no copy);
    ``rest`` reads its schema and layouts from the mapped file. The file is removed at once (the
    mapping keeps its memory until the table is freed)."""
    try:
        with open(path, "rb") as file:
            # not pa.memory_map: its reads advise the kernel to load what they read (WILLNEED),
            # which maps every page of the file into this process at once (measured: half of a
            # piece's pages, which a read may never touch)
            data = pa.py_buffer(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    finally:
        os.unlink(path)
    schema, layouts = rest(data)
    columns = [pa.chunked_array([_array(field.type, chunk, data) for chunk in chunks],
                                type=field.type)
               for field, chunks in zip(schema, layouts)]
    return pa.Table.from_arrays(columns, schema=schema)
