"""Pieces of a read: whole files, and large plain files cut after a newline, with ends that this
process can move back while a worker reads (:class:`SharedEnds`). Nothing here knows a format."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing import get_context
from typing import IO, Any

from ..errors import AuditlensError
from ..sources import InputFile, expand_sources, iter_lines
from ..sources.compression import sniff_compression
from ..sources.lines import LongLine, Span, line_spans
from ..sources.receiver import open_plain

__all__ = ["BLOCK_BYTES", "DEFAULT_CHUNK_BYTES", "STEAL_MIN", "Piece", "SharedEnds", "may_cut",
           "plan_pieces", "share_ends"]

DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
"""Plain files larger than this are cut into pieces of about this size."""

@dataclass(frozen=True)
class Piece:
    """A part of one input file: the whole file (opened as the readers do: decompressed) or the
    plain bytes ``[start, end)`` (``end`` None: to the end of the file), cut after a newline."""

    name: str
    path: str
    file_index: int
    start: int = 0
    end: int | None = None
    whole: bool = True
    last: bool = True
    slot: int = -1  # its place in the read's shared ends (SharedEnds), -1: none

    @property
    def first(self) -> bool:
        return self.start == 0

    @property
    def size(self) -> int:
        """Bytes of the piece on disk (for progress)."""
        end = os.path.getsize(self.path) if self.end is None else self.end
        return end - self.start

    def input(self) -> InputFile:
        opener: Callable[[], Any] = partial(open, self.path, "rb")
        return InputFile(self.name, opener, os.path.getsize(self.path))

    def lines(self, max_line: int) -> Generator[tuple[int, bytes | LongLine], None, None]:
        """The piece's lines numbered from 1, read only as far as they are asked for; a line over
        ``max_line`` bytes comes as a :class:`LongLine`, never held."""
        stream = self.open()
        try:
            yield from iter_lines(stream, max_line)
        finally:
            stream.close()

    def spans(self, max_line: int) -> Iterator[Span | LongLine]:
        """The bytes of a byte-range piece as spans of whole lines (the last line of a file may
        lack its newline; a line over ``max_line`` comes as a :class:`LongLine`), read in blocks.
        In a worker the piece's end is looked up before every block: this process may move it
        back, to read the rest itself (:meth:`SharedEnds.split`)."""
        with open_plain(self.path) as f:
            yield from line_spans(self._chunks(f), max_line)

    def _chunks(self, f: Any) -> Iterator[bytes]:
        f.seek(self.start)
        pos = self.start
        while (upto := _claim(self, pos)) > pos:
            data = f.read(upto - pos)
            pos += len(data)
            yield data
            if pos < upto:  # the end of the file
                return

    def open(self) -> IO[bytes] | Generator[bytes, None, None]:
        """The piece's bytes for the line readers: a whole file as a stream (decompressed), a
        byte range as its claimed blocks, the same as :meth:`spans` reads (so its end can move
        while it is read): a stream over the blocks would copy every byte once more."""
        if self.whole:
            return self.input().open()
        return self._blocks()

    def _blocks(self) -> Generator[bytes, None, None]:
        with open_plain(self.path) as f:
            yield from self._chunks(f)


BLOCK_BYTES = 2 << 20
"""A worker reads its piece in blocks of this size; between them this process can move its end."""
_SCAN_BYTES = 64 << 10
"""Looking for a line start, a plain file is read this much at a time."""
_FOREVER = (1 << 63) - 1  # the shared end of a piece that runs to the end of its file
_shared_ends: Any = None  # in a worker: the read's shared ends (set by share_ends)


def share_ends(array: Any) -> None:
    """In a worker, as it starts: the read's shared ends (:attr:`SharedEnds.array`), or None."""
    global _shared_ends
    _shared_ends = array


def _claim(piece: Piece, pos: int) -> int:
    """Where the piece's next block ends: ``BLOCK_BYTES`` on, and not past the piece's end. A
    worker looks the end up in the shared array and records there, under its lock, how far it
    is about to read: this process moves the end back no further than that."""
    shared = _shared_ends
    if shared is None or piece.slot < 0:
        return min(_FOREVER if piece.end is None else piece.end, pos + BLOCK_BYTES)
    with shared.get_lock():
        raw = shared.get_obj()
        upto: int = min(raw[2 * piece.slot], pos + BLOCK_BYTES)
        raw[2 * piece.slot + 1] = upto
    return upto


def _line_start(f: Any, pos: int) -> int:
    """The offset of the first line of ``f`` that starts at ``pos`` or later (at the end of the
    file when none does), found in blocks: a line of any length is never held."""
    f.seek(pos - 1)
    while block := f.read(_SCAN_BYTES):
        newline = block.find(b"\n")
        if newline >= 0:
            return f.tell() - len(block) + newline + 1
    return int(f.tell())


def _cuts(f: Any, size: int, chunk_bytes: int) -> list[int]:
    """Offsets just after a newline, about ``chunk_bytes`` apart (0 first)."""
    cuts = [0]
    pos = chunk_bytes
    while pos < size:
        cut = _line_start(f, pos)
        if cut >= size:
            break
        cuts.append(cut)
        pos = cut + chunk_bytes
    return cuts


def _chunk_for(size: int, chunk_bytes: int, jobs: int) -> int:
    """The piece size for a file of ``size`` bytes: at most ``chunk_bytes``, and the file cut into
    a multiple of ``jobs`` pieces of about equal size. With 5 pieces for 2 workers, one worker
    read the last piece alone while the other waited (measured: a fifth of the wall time). Pieces
    that shrink toward the end were tried for this too; they cost more than they saved (more
    pieces: more system time, and auditd events carried over every cut)."""
    pieces = -(-size // chunk_bytes)
    pieces = -(-pieces // jobs) * jobs
    return -(-size // pieces)


def plan_pieces(inputs: list[InputFile], chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                jobs: int = 1) -> list[Piece] | None:
    """The pieces of ``inputs`` in reading order; None when an input is a stream."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be at least 1")
    pieces: list[Piece] = []
    for index, inp in enumerate(inputs):
        if inp.size is None:
            return None
        path = inp.name  # a path input is named by its path
        if inp.end is not None:  # a file being written: its committed bytes, plain
            pieces.append(Piece(inp.name, path, index, 0, inp.end, whole=False))
            continue
        with open(path, "rb") as f:
            compressed = sniff_compression(f.read(6)) is not None
            size = os.fstat(f.fileno()).st_size
            if compressed or size <= chunk_bytes:
                pieces.append(Piece(inp.name, path, index))
                continue
            cuts = _cuts(f, size, _chunk_for(size, chunk_bytes, jobs))
        for i, start in enumerate(cuts):
            end = cuts[i + 1] if i + 1 < len(cuts) else None
            pieces.append(Piece(inp.name, path, index, start, end, whole=False, last=end is None))
    return pieces


def may_cut(source: Any, chunk_bytes: int) -> bool:
    """Whether a read of ``source`` will be cut into pieces, as far as a look at its paths tells
    (more than one file, or one larger than ``chunk_bytes``): worth starting workers for before
    the read plans its pieces. False for streams and for what can be iterated only once."""
    items = [source] if isinstance(source, (str, os.PathLike)) else source
    if not isinstance(items, (list, tuple)) or not all(
            isinstance(item, (str, os.PathLike)) for item in items):
        return False
    try:
        inputs = expand_sources(list(items))
    except (AuditlensError, OSError):  # the read itself says what is wrong
        return False
    if not inputs or any(inp.size is None for inp in inputs):
        return False
    return len(inputs) > 1 or (inputs[0].size or 0) > chunk_bytes


STEAL_MIN = 4 << 20
"""The least this process takes over from a worker: every cut costs the events open across it."""


class SharedEnds:
    """The ends of the pieces being read, shared with the workers: two integers per slot, a
    piece's end and how far its reader has claimed (:func:`_claim`), under one lock.

    Without them one reader finished up to a piece (seconds of work) before the other: a worker
    starts ~0.4 s after this process, and pieces sent cannot be taken back (0.3-0.9 s idle at
    the end of a 6-7 s auditd read, measured). With them this process, when it is free and the
    workers have less left than a piece, takes over the second half of what a worker has not
    claimed yet: it moves that piece's end back to a line start and reads the rest itself.

    The array belongs to a pool (a worker gets it as it starts), not to a read: the pool can
    start before the read's pieces are known and serve the reads that follow. Piece ``i`` of a
    read uses slot ``i % slots`` from the moment it is read or sent (:meth:`open`); a read holds
    fewer pieces than there are slots (see ``pool.in_order``), so a slot is free again by then."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.array = get_context("spawn").Array("q", 2 * slots)

    @classmethod
    def make(cls, slots: int) -> SharedEnds | None:
        """Shared ends with ``slots`` slots; None (no take-overs) when no shared memory can be
        had."""
        try:
            return cls(slots)
        except OSError:
            return None

    def place(self, pieces: list[Piece]) -> list[Piece]:
        """``pieces`` with their slots (byte ranges only: a whole file cannot be cut)."""
        return [p if p.whole else replace(p, slot=i % self.slots) for i, p in enumerate(pieces)]

    def open(self, piece: Piece) -> None:
        """Set the slot of ``piece`` as it starts being read: its end, nothing claimed."""
        if piece.slot < 0:
            return
        with self._locked() as raw:
            if raw is not None:
                raw[2 * piece.slot] = _FOREVER if piece.end is None else piece.end
                raw[2 * piece.slot + 1] = piece.start

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        """The shared values under their lock; None when the lock cannot be had within a second
        (a worker died holding it: then nothing more is shared)."""
        lock = self.array.get_lock()
        if not lock.acquire(timeout=1.0):
            yield None
            return
        try:
            yield self.array.get_obj()
        finally:
            lock.release()

    def _read(self, piece: Piece) -> tuple[int, int] | None:
        """(end, claimed) of ``piece``; None when nothing more is shared."""
        with self._locked() as raw:
            if raw is None:
                return None
            end, claimed = int(raw[2 * piece.slot]), int(raw[2 * piece.slot + 1])
        return (os.path.getsize(piece.path) if end == _FOREVER else end), claimed

    def left(self, piece: Piece) -> int:
        """Bytes of ``piece`` its reader has not claimed yet."""
        if piece.whole:
            return piece.size
        state = self._read(piece)
        return 0 if state is None else max(0, state[0] - state[1])

    def split(self, piece: Piece) -> int | None:
        """Move the end of ``piece`` back; the new end, or None when too little is left."""
        state = None if piece.whole else self._read(piece)
        if state is None or state[0] - state[1] < 2 * STEAL_MIN:
            return None
        end, claimed = state
        with open(piece.path, "rb") as f:
            cut = _line_start(f, claimed + (end - claimed) // 2)
        if cut >= end:
            return None
        with self._locked() as raw:
            if raw is None or int(raw[2 * piece.slot + 1]) > cut:  # the worker got there first
                return None
            raw[2 * piece.slot] = cut
        return cut


