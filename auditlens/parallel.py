"""Parallel parsing (``jobs=``): files, and large files cut into pieces, read by this process and
``jobs - 1`` worker processes (see :func:`_in_order`).

The output is the output of one process, row for row: same rows, same order, same rejects with
the same file and line. How each reader gets there:

* **Pieces.** Every path input is one piece, or, when it is plain (not compressed) and larger
  than ``chunk_bytes``, several pieces cut just after a newline (a multiple of ``jobs``, of
  about equal size). A worker reads its piece alone and numbers lines from 1; the parent adds
  the lines of the earlier pieces of that file. For auditd, this process can move back the end
  of a piece a worker is reading and read the rest itself (:class:`_Ends`): the rest is one more
  piece, cut after a newline like the others.
  Inputs that are streams (stdin, file objects) are read in one process.
* **Kubernetes.** Every line boundary is a unit boundary unless a multi-line JSON value or a
  partial CRI/docker record is open there. A worker says whether its piece ended with one open;
  then (and when a later piece has reject reasons that quote line numbers) the read falls back.
* **auditd** (records → events). An event can straddle a cut, and the rotated files of one node
  are one stream. Each worker assembles its piece with a fresh :class:`Assembler` and hands back
  the events still *open* at its end (as records) with a staircase of the running maximum of the
  record times. The parent carries the open events over the cut: an open event whose key shows
  up in the next piece before that piece's time has moved past it (the assembler's timeout)
  takes that event's records; otherwise it is closed where the time moves on, exactly as one
  assembler over the whole stream would do. Events of different keys never interact in the
  assembler except through its ``max_pending`` / ``max_records`` bounds; when a carried-over
  event could reach them the read falls back.
* **Fallback.** Reading the whole input again in this process, skipping the rows and rejects
  already delivered. It is there for correctness on pathological inputs, not for speed.

Workers run in a ``spawn`` process pool (no state inherited from the parent; scripts that call a
reader with ``jobs`` at import time need the usual ``if __name__ == "__main__":`` guard).
"""

from __future__ import annotations

import atexit
import io
import os
import pickle
import sys
import tempfile
import warnings
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial, wraps
from multiprocessing import get_context, process
from typing import Any, Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from . import progress
from .build import gc_pause
from .errors import AuditlensError, InvalidLine
from .rejects import Rejecter, RejectLog
from .sources import InputFile, Source, expand_sources, iter_lines
from .sources.compression import sniff_compression
from .sources.lines import Span, line_spans

__all__ = ["DEFAULT_CHUNK_BYTES", "Piece", "check_jobs", "plan_pieces"]

DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
"""Plain files larger than this are cut into pieces of about this size."""
_BATCH = 10_000
_T = TypeVar("_T")


def _gc_paused(work: Callable[..., _T]) -> Callable[..., _T]:
    """Run a piece's work with the cyclic GC off: a piece's rows are many small objects without
    cycles, and the collector walking them cost the workers half again the CPU time of one
    process (measured). Counted pauses (:func:`build.gc_pause`): the parent reads pieces too,
    possibly in several threads at once."""

    @wraps(work)
    def paused(*args: Any, **kwargs: Any) -> _T:
        with gc_pause():
            return work(*args, **kwargs)

    return paused


def check_jobs(jobs: int | None) -> int:
    """``jobs`` as a reader count: None or 0 mean one per CPU; negative is a user mistake. 1
    (with a warning) when worker processes could not start."""
    if jobs is None or jobs == 0:
        count = os.cpu_count() or 1
    elif not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be a positive number (or 0 for one per CPU), not {jobs!r}")
    else:
        count = jobs
    if count > 1 and not _workers_can_start():
        warnings.warn(f"jobs={jobs}: worker processes cannot start from a program read from "
                      "standard input (each one runs the main program's file first); reading "
                      "in this process", stacklevel=3)
        return 1
    return count


def _workers_can_start() -> bool:
    """Whether a spawned worker finds the main program: multiprocessing runs it again in each
    worker, by module name or from its file, and a program read from stdin (``python -``) has
    neither (each worker died, and the pool with it)."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None) is not None:
        return True
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    start = getattr(process, "ORIGINAL_DIR", None) or ""
    return os.path.isfile(os.path.join(start, path))


# -- pieces ------------------------------------------------------------------------------------


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
    slot: int = -1  # its place in the read's shared ends (_Ends), -1: none

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

    def blob(self) -> bytes:
        """The bytes of a byte-range piece."""
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return f.read() if self.end is None else f.read(self.end - self.start)

    def lines(self) -> Generator[tuple[int, bytes], None, None]:
        """The piece's lines numbered from 1, read only as far as they are asked for."""
        if self.whole:
            stream = self.open()
            try:
                yield from iter_lines(stream)
            finally:
                stream.close()
            return
        yield from iter_lines(line for block, start, end in self.spans()
                              for line in io.BytesIO(block[start:end]))

    def spans(self) -> Iterator[Span]:
        """The bytes of a byte-range piece as spans of whole lines (the last line of a file may
        lack its newline), read in blocks. In a worker the piece's end is looked up before every
        block: this process may move it back, to read the rest itself (:meth:`_Ends.split`)."""
        with open(self.path, "rb") as f:
            yield from line_spans(self._chunks(f))

    def _chunks(self, f: Any) -> Iterator[bytes]:
        f.seek(self.start)
        pos = self.start
        while (upto := _claim(self, pos)) > pos:
            data = f.read(upto - pos)
            pos += len(data)
            yield data
            if pos < upto:  # the end of the file
                return

    def open(self) -> Any:
        """The piece as a binary stream: a byte range as is, a whole file decompressed."""
        if self.whole:
            return self.input().open()
        return io.BytesIO(self.blob())


_BLOCK_BYTES = 2 << 20
"""A worker reads its piece in blocks of this size; between them this process can move its end."""
_FOREVER = (1 << 63) - 1  # the shared end of a piece that runs to the end of its file
_shared_ends: Any = None  # in a worker: the read's shared ends (set by _worker_started)


def _claim(piece: Piece, pos: int) -> int:
    """Where the piece's next block ends: ``_BLOCK_BYTES`` on, and not past the piece's end. A
    worker looks the end up in the shared array and records there, under its lock, how far it
    is about to read: this process moves the end back no further than that."""
    shared = _shared_ends
    if shared is None or piece.slot < 0:
        return min(_FOREVER if piece.end is None else piece.end, pos + _BLOCK_BYTES)
    with shared.get_lock():
        raw = shared.get_obj()
        upto: int = min(raw[2 * piece.slot], pos + _BLOCK_BYTES)
        raw[2 * piece.slot + 1] = upto
    return upto


def _line_start(f: Any, pos: int) -> int:
    """The offset of the first line of ``f`` that starts at ``pos`` or later (at the end of the
    file when none does)."""
    f.seek(pos - 1)
    return pos - 1 + len(f.readline())


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


# -- running pieces in a pool ------------------------------------------------------------------


def _pool(jobs: int, ends: _Ends | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                               initializer=_worker_started,
                               initargs=(None if ends is None else ends.array,))


def _worker_started(shared_ends: Any) -> None:
    """Run in each worker as it starts. A worker ends without the interpreter's teardown, which
    the parent waits for at the end of every read (freeing every module: 0.05 s of 0.06 s): by
    then it has written all it sends, and its standard streams are flushed here."""
    global _shared_ends
    _shared_ends = shared_ends
    atexit.register(_end_worker)


def _end_worker() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(0)


_STEAL_MIN = 4 << 20
"""The least this process takes over from a worker: every cut costs the events open across it."""


class _Ends:
    """The end of every piece of a read, shared with the workers: two integers per piece, its
    end and how far its reader has claimed (:func:`_claim`), under one lock.

    Without them one reader finished up to a piece (seconds of work) before the other: a worker
    starts ~0.4 s after this process, and pieces sent cannot be taken back (0.3-0.9 s idle at
    the end of a 6-7 s auditd read, measured). With them this process, when it is free and the
    workers have less left than a piece, takes over the second half of what a worker has not
    claimed yet: it moves that piece's end back to a line start and reads the rest itself."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = [replace(p, slot=i) for i, p in enumerate(pieces)]
        values = [v for p in pieces for v in (_FOREVER if p.end is None else p.end, p.start)]
        self.array = get_context("spawn").Array("q", values)

    @classmethod
    def make(cls, pieces: list[Piece]) -> _Ends | None:
        """Shared ends for ``pieces``; None (no take-overs) when no shared memory can be had."""
        try:
            return cls(pieces)
        except OSError:
            return None

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
        if state is None or state[0] - state[1] < 2 * _STEAL_MIN:
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


_UNREAD = object()


@dataclass
class _Slot(Generic[_T]):
    """An item on its way: read by a worker (``future``) or by this process (``part``)."""

    item: _T
    future: Future[Any] | None = None
    part: Any = _UNREAD

    def ready(self) -> bool:
        return self.part is not _UNREAD if self.future is None else self.future.done()

    def result(self) -> Any:
        return self.part if self.future is None else self.future.result()

    def sent(self) -> bool:
        return self.future is not None and not self.future.done()


def _in_order(pool: ProcessPoolExecutor, workers: int, work: Callable[[_T], Any],
              items: list[_T], ends: _Ends | None = None) -> Iterator[tuple[_T, Any]]:
    """``(item, work(item))`` in the order of ``items``, at most two items per reader (and one)
    held at once, which bounds the memory of a streamed read.

    ``jobs=N`` is N readers: this process and the pool's N-1 workers. This process reads the
    first item while the workers start (a spawned worker spends ~0.4 s of CPU importing Python
    and pyarrow before its first piece), and then, each time it is free, the next item not yet
    sent, after sending the pool enough for every worker to have one item and one waiting. The
    workers need nothing from this process while it reads (its threads, which would feed them,
    run only when its own reading lets them: a worker fed on demand waited 0.6 s of an 8 s read),
    and the slower reader reads fewer items (this process is slower per piece when its heap holds
    a large table: 25 % per Kubernetes piece). Sent items cannot be taken back (the pool queues
    them for its workers at once), so no more are sent than the workers can use. With ``ends``
    (the items are a read's pieces) sent pieces can be shortened: near the end this process sends
    a piece it would have read when the workers have less than that left (:func:`_read_here`),
    and, with nothing else to do, takes over the rest of a sent piece (:class:`_Ends`)."""
    readers = workers + 1
    window = 2 * readers + 1
    todo = deque(items)
    held: deque[_Slot[_T]] = deque()

    def send() -> None:
        slot = _Slot(todo.popleft())
        slot.future = pool.submit(work, slot.item)
        held.append(slot)

    try:
        while held or todo:
            if held and held[0].ready():
                slot = held.popleft()
                yield slot.item, slot.result()
                continue
            mine = None
            if todo and len(held) < window:
                if ends is None or len(todo) == len(items) or _read_here(held, todo[0], ends,
                                                                         workers):
                    mine = _Slot(todo.popleft())
                    held.append(mine)
                else:  # sent to be shared out: see _read_here
                    send()
            while todo and len(held) < window and sum(s.sent() for s in held) < 2 * workers:
                send()
            if mine is None and ends is not None:
                mine = _take_over(held, ends)
            if mine is not None:
                mine.part = work(mine.item)
            else:
                held[0].result()  # wait for it
    finally:
        for slot in held:
            if slot.future is not None:
                slot.future.cancel()


def _read_here(held: deque[_Slot[Any]], piece: Any, ends: _Ends, workers: int) -> bool:
    """Whether this process reads the next piece itself, as it does unless the workers have less
    than a piece each left to read: then they would wait for it at the end, so it sends the piece
    and takes over half of it (a piece that can be shared: a byte range, not a small one)."""
    if piece.whole or piece.size < 2 * _STEAL_MIN:
        return True
    return sum(ends.left(slot.item) for slot in held if slot.sent()) >= workers * piece.size


def _take_over(held: deque[_Slot[Any]], ends: _Ends) -> _Slot[Any] | None:
    """The second half of the unclaimed part of the sent piece with the most left, as this
    process's slot just after it; that piece now ends where the rest starts."""
    sent = [(ends.left(slot.item), k) for k, slot in enumerate(held) if slot.sent()]
    if not sent:
        return None
    k = max(sent)[1]
    piece = held[k].item
    cut = ends.split(piece)
    if cut is None:
        return None
    rest = _Slot(replace(piece, start=cut, slot=-1))
    held[k].item = replace(piece, end=cut, last=False)
    held.insert(k + 1, rest)
    return rest


def _portable(exc: BaseException) -> BaseException:
    """An exception that survives pickling: auditlens errors keep file and line."""
    if isinstance(exc, AuditlensError):
        return _ErrorInfo(type(exc), exc.message, exc.file, exc.line)
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - anything unpicklable travels as text
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class _ErrorInfo(Exception):
    """An AuditlensError in transit (its keyword-only constructor does not pickle)."""

    def __init__(self, cls: type[AuditlensError], message: str, file: str | None,
                 line: int | None) -> None:
        super().__init__(cls, message, file, line)
        self.cls, self.message, self.file, self.line = cls, message, file, line

    def rebuild(self, line_offset: int) -> AuditlensError:
        line = None if self.line is None else self.line + line_offset
        return self.cls(self.message, file=self.file, line=line)


def _raise(error: BaseException, line_offset: int) -> None:
    if isinstance(error, _ErrorInfo):
        raise error.rebuild(line_offset)
    raise error


def _shift(table: pa.Table, offset: int) -> pa.Table:
    """Line numbers of a piece made file-wide."""
    if not offset or not table.num_rows:
        return table
    i = table.schema.get_field_index("line")
    by = _int64s([offset])[0]  # a scalar from a buffer: converting the int imports pandas
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


class _Merge:
    """What every parallel read keeps: rejects, counts, warnings, delivered rows, the fallback."""

    what = ""
    shared_ends = False  # whether its workers read byte ranges with Piece.spans (see _Ends)

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int) -> None:
        self.source = source
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
        workers = min(self.jobs, len(self.pieces)) - 1
        ends = _Ends.make(self.pieces) if self.shared_ends else None
        pool = _pool(workers, ends)
        pieces = self.pieces if ends is None else ends.pieces
        try:
            for piece, part in _in_order(pool, workers, self.work(), pieces, ends):
                if piece.first:
                    self._offset = 0
                error = part.error
                if error is not None:
                    _raise(error, self._offset)
                out = self.take(piece, part, self._offset)
                if out is None:
                    break
                self._offset += part.lines
                progress.advance(piece.size)
                yield from self._count(out)
            else:
                yield from self._count(self.finish())
                return
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
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


# -- auditd records (one row per line) ---------------------------------------------------------


@dataclass
class _Part:
    """What a worker hands back for one piece."""

    table: pa.Table | None = None
    lines: int = 0
    rejects: list[InvalidLine] = field(default_factory=list)
    n_rejects: int = 0
    coerced: int = 0
    error: BaseException | None = None
    # auditd events: those open at the piece's end (rows before each, its records as the worker
    # has them: see _Open) and their rows as if closed (native.Events.closed_tails)
    tails: list[tuple[int, list[Any]]] = field(default_factory=list)
    tail_table: pa.Table | None = None
    stair_lines: list[int] = field(default_factory=list)
    stair_max: list[int] = field(default_factory=list)
    peak: int = 0
    failures: int = 0
    first_error: str = ""
    # k8s
    account: tuple[int, int, int, int] = (0, 0, 0, 0)
    dirty: bool = False
    numbered: bool = False
    # a whole node read by auditlens.collect: the warnings it gave, to give again in the parent
    warned: list[tuple[type[Warning], str]] = field(default_factory=list)

    def __getstate__(self) -> dict[str, Any]:
        """Sent from a worker: everything goes through a temporary Arrow IPC file, which the
        parent maps without a copy: the table as it is, the rest pickled into its metadata, and
        only the file's name through the result pipe. Pickled into the pipe, a piece's table was
        copied four times (pickle, pipe, unpickle); and the events open at a piece's end (a few
        MB of records) kept the worker waiting on the pipe: the pool's thread in the parent reads
        it 64 KB at a time, each time waiting for the GIL, which the parent's own reading holds
        (measured: 0.7 s per 128 MB auditd piece)."""
        state = dict(self.__dict__)
        table = state["table"]
        state["table"] = table is not None
        try:
            return {"file": _to_file(pa.table({}) if table is None else table,
                                     pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))}
        except OSError:  # no usable temporary directory: send it in the pipe
            return self.__dict__

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "file" in state:
            table, rest = _from_file(state["file"])
            state = pickle.loads(rest)
            state["table"] = table if state["table"] else None
        self.__dict__.update(state)

    def account_for(self, lines: int, coerced: int, rejecter: Rejecter) -> None:
        """The piece's line count, nulled values and rejects, as the parent needs them."""
        self.lines, self.coerced = lines, coerced
        self.rejects = list(rejecter.log or ())
        self.n_rejects = rejecter.count


_REST = b"auditlens.part"
"""The schema metadata key of a part's pickled state in its temporary file."""


_RAM_DIR = "/dev/shm"
"""Linux's RAM-backed file system (tmpfs). A piece handed over there cost half of what it cost in
``/tmp`` on ext4: writing 183 MB 0.08 s against 0.16 s, freeing it in the parent 0.065 s against
0.15 s (the inode of an unlinked file on disk is released extent by extent); ``jobs=2`` read
3–5 % faster in paired runs."""
_RAM_SPARE = 1 << 30
"""Free space left in :data:`_RAM_DIR` after a piece, for everyone else (Docker gives 64 MB)."""


def _ram_has_room(nbytes: int) -> bool:
    """Whether a piece of ``nbytes`` goes to the RAM-backed directory: it has room for it, and
    the user chose no temporary directory (``TMPDIR``), where the parent's mapped pieces can be
    paged out to disk, which a table larger than memory needs."""
    statvfs = getattr(os, "statvfs", None)  # not on Windows
    if statvfs is None or any(os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")):
        return False
    try:
        ram = statvfs(_RAM_DIR)
    except OSError:
        return False
    return ram.f_bavail * ram.f_frsize >= 2 * nbytes + _RAM_SPARE


def _to_file(table: pa.Table, rest: bytes) -> str:
    schema = table.schema.with_metadata({**(table.schema.metadata or {}), _REST: rest})
    table = table.replace_schema_metadata(schema.metadata)
    if _ram_has_room(table.nbytes):
        try:
            return _write_piece(table, _RAM_DIR)
        except OSError:  # full after all, or not writable: the temporary directory
            pass
    return _write_piece(table, tempfile.gettempdir())


def _write_piece(table: pa.Table, folder: str) -> str:
    fd, path = tempfile.mkstemp(prefix="auditlens-piece-", suffix=".arrow", dir=folder)
    os.close(fd)
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _from_file(path: str) -> tuple[pa.Table, bytes]:
    """The table a worker wrote, memory-mapped, and the pickled rest; the file is unlinked at once
    (the mapping keeps the data until the table is freed)."""
    try:
        with pa.memory_map(path) as source:
            table = pa.ipc.open_file(source).read_all()
    finally:
        os.unlink(path)
    meta = dict(table.schema.metadata)
    rest = meta.pop(_REST)
    return table.replace_schema_metadata(meta or None), rest


def _records_of(piece: Piece, rejecter: Rejecter, account: Any) -> Iterator[Any]:
    """The piece's auditd records; bad lines go to the rejecter (as the reader's ``_records``)."""
    from .auditd import reader as ar

    if piece.whole:
        yield from ar._records([piece.input()], rejecter, account)
        return
    yield from ar.lexed(piece.name, piece.lines(), rejecter, account)


def _worker_rejecter(errors: str, keep: bool) -> Rejecter:
    return Rejecter(errors, RejectLog() if keep else None)


@_gc_paused
def _auditd_records_work(piece: Piece, errors: str, keep: bool) -> _Part:
    from .auditd import reader as ar
    from .build import BatchBuilder
    from .schema import AUDITD_RECORDS

    rejecter = _worker_rejecter(errors, keep)
    account = ar._Account()
    builder = BatchBuilder(AUDITD_RECORDS, _BATCH)
    part = _Part()
    try:
        batches = list(builder.batches(ar._record_rows(_records_of(piece, rejecter, account))))
        part.table = pa.Table.from_batches(batches, schema=AUDITD_RECORDS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = _portable(exc)
    part.account_for(account.lines, builder.coerced, rejecter)
    return part


class _AuditdRecordsMerge(_Merge):
    what = "auditd record"
    shared_ends = True

    def work(self) -> Callable[[Piece], Any]:
        return partial(_auditd_records_work, errors=self.errors, keep=self.log is not None)

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        self.lines += part.lines
        self.coerced += part.coerced
        self.add_rejects(part.rejects, part.n_rejects, offset)
        return iter(_shift(part.table, offset).to_batches(max_chunksize=_BATCH))

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        from .auditd import reader as ar

        account = ar._Account()
        stream = ar._record_stream(self.source, self.errors, rejects, _BATCH, account)
        return stream.batches(), (stream, account)

    def warn(self) -> None:
        if self.fell_back:
            stream, _ = self.sequential_state
            stream.builder.warn_if_coerced(stream.what)
            stream.rejecter.warn_if_unseen("auditd")
            return
        _warn_coerced(self.coerced, self.what)
        self.rejecter.warn_if_unseen("auditd")

    def counts(self) -> tuple[int, int]:
        """(lines read, lines rejected) of the whole read."""
        if self.fell_back:
            stream, account = self.sequential_state
            return account.lines, stream.rejecter.count
        return self.lines, self.rejecter.count


def _warn_coerced(count: int, what: str) -> None:
    if count:
        warnings.warn(f"{count} {what} value(s) did not fit their column type and were stored "
                      "as null", stacklevel=4)


# -- auditd events (records assembled across pieces) -------------------------------------------


def _is_done(ev: Any, after_max: int | None, timeout: int, max_records: int) -> bool:
    """Whether an event still queued at the end of a piece is complete (see the Assembler)."""
    from .auditd.assemble import is_single_record_type

    records = ev.records
    return (records[-1].type == "EOE" or is_single_record_type(records[0].type)
            or len(records) >= max_records
            or (after_max is not None and after_max > ev.sec + timeout))


def _native_events_work(piece: Piece, errors: str, keep: bool, ids: Any) -> _Part | None:
    """``_auditd_events_work`` on the C fast path (the same part); None when the piece has
    stamps beyond 64 bits, which only the Python path follows."""
    from .auditd import native
    from .auditd import reader as ar
    from .build import BatchBuilder
    from .schema import AUDITD_EVENTS

    rejecter = _worker_rejecter(errors, keep)
    account = ar._Account()
    builder = BatchBuilder(AUDITD_EVENTS, _BATCH)
    strict = rejecter.mode == "raise"
    events = native.Events(ids, rejecter, account, builder, strict, track=True)
    part = _Part()
    try:
        if piece.whole:
            batches = list(events.batches([piece.input()]))
        else:
            batches = list(events.span_batches(piece.name, piece.spans()))
        part.peak, part.stair_lines, part.stair_max, big = events.parser.tracked()
        if big:
            return None
        part.tails, part.tail_table = events.tails, events.closed_tails()
        part.table = pa.Table.from_batches(batches, schema=AUDITD_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = _portable(exc)
    part.failures, part.first_error = events.failures, events.first_error
    part.account_for(account.lines, builder.coerced, rejecter)
    return part


@_gc_paused
def _auditd_events_work(piece: Piece, errors: str, keep: bool, ids: Any) -> _Part:
    from .auditd import assemble, native
    from .auditd import reader as ar
    from .build import BatchBuilder
    from .schema import AUDITD_EVENTS

    if native.Parser is not None:
        fast = _native_events_work(piece, errors, keep, ids)
        if fast is not None:
            return fast
    rejecter = _worker_rejecter(errors, keep)
    account = ar._Account()
    builder = BatchBuilder(AUDITD_EVENTS, _BATCH)
    strict = rejecter.mode == "raise"
    part = _Part()
    batches: list[pa.RecordBatch] = []
    rows = 0

    def add(ev: Any) -> None:
        nonlocal rows
        row, error = ar.full_event_row(ev, ids, strict)
        if error is not None:
            part.failures += 1
            part.first_error = part.first_error or error
        rows += 1
        batch = builder.append(row)
        if batch is not None:
            batches.append(batch)

    try:
        asm = assemble.Assembler()
        lines: list[int] = []
        secs: list[int] = []
        top: int | None = None
        peak = 0
        open_events: list[Any] = []
        for rec in _records_of(piece, rejecter, account):
            lines.append(rec.line)
            secs.append(rec.sec)
            if top is None or rec.sec > top:
                top = rec.sec
                part.stair_lines.append(rec.line)
                part.stair_max.append(rec.sec)
            for ev in asm.add(rec):
                add(ev)
            peak = max(peak, asm.pending)
        part.peak = peak
        queued = asm.flush()
        if queued:
            suffix = _suffix_max(secs)
            for ev in queued:
                i = bisect_left(lines, ev.records[0].line) + 1
                after = suffix[i] if i < len(suffix) else None
                if _is_done(ev, after, assemble.END_OF_EVENT_TIMEOUT, assemble.MAX_RECORDS):
                    add(ev)
                else:
                    part.tails.append((rows, ev.records))
                    open_events.append(ev)
        if len(builder):
            batches.append(builder.finish())
        part.tail_table = None if strict else _closed_tails(open_events, ids)
        part.table = pa.Table.from_batches(batches, schema=AUDITD_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = _portable(exc)
    part.account_for(account.lines, builder.coerced, rejecter)
    return part


def _closed_tails(events: list[Any], ids: Any) -> pa.Table | None:
    """``native.Events.closed_tails`` on the Python path."""
    from .auditd import reader as ar
    from .build import BatchBuilder
    from .schema import AUDITD_EVENTS

    if not events:
        return None
    builder = BatchBuilder(AUDITD_EVENTS, len(events) + 1)  # one batch, from finish()
    for ev in events:
        row, error = ar.full_event_row(ev, ids, False)
        if error is not None:
            return None
        builder.append(row)
    batch = builder.finish()
    return None if builder.coerced else pa.Table.from_batches([batch])


def _suffix_max(values: list[int]) -> list[int]:
    out = [0] * len(values)
    top = None
    for i in range(len(values) - 1, -1, -1):
        v = values[i]
        top = v if top is None or v > top else top
        out[i] = top
    return out


_Key = tuple[Any, int, int, int]
"""An event's (node, serial, sec, msec)."""


class _Open:
    """An event still open at a cut, carried into the following pieces until it closes.

    Its records stay as the worker handed them (mostly lines not lexed: the worker's parser
    lexed them in C) until they are needed, which is when records are added to it or its row
    must be made here. Most open events close with the records they have, and their row is then
    the worker's (``prebuilt``: its tail table and the row's index). ``row`` is set when the
    event closes: that pair, or a row made here."""

    __slots__ = ("_event", "count", "first_type", "grown", "items", "key", "line", "name",
                 "offset", "prebuilt", "row")

    def __init__(self, items: list[Any], name: str, offset: int,
                 first: tuple[_Key, int, int, str] | None,
                 prebuilt: tuple[pa.Table, int] | None) -> None:
        self.items, self.name, self.offset = items, name, offset
        self._event: Any = None
        self.prebuilt = prebuilt
        self.row: dict[str, Any] | tuple[pa.Table, int] | None = None
        self.grown = False
        if first is None:  # no worker's row: the key and counts come from the records
            records = self.event.records
            head = records[0]
            first = ((head.node, head.serial, head.sec, head.msec), head.line, len(records),
                     head.type)
        self.key, self.line, self.count, self.first_type = first

    @property
    def event(self) -> Any:
        """The event, its records lexed here the first time it is asked for."""
        if self._event is None:
            from .auditd.native import event_of

            self._event = event_of(self.items, [self.name], self.offset)
        return self._event

    def add(self, records: list[Any]) -> None:
        """Records that continue the event: the worker's row no longer holds."""
        self.event.records.extend(records)
        self.count += len(records)
        self.grown = True


def _opens(piece: Piece, part: Any, offset: int) -> list[_Open]:
    """The events open at the end of a piece, with their rows when the worker made them."""
    table = part.tail_table
    if table is None:
        return [_Open(items, piece.name, offset, None, None) for _, items in part.tails]
    table = _shift(table, offset)
    return [_Open(items, piece.name, offset, first, (table, j))
            for j, ((_, items), first) in enumerate(zip(part.tails, _firsts(table)))]


def _firsts(table: pa.Table) -> Iterator[tuple[_Key, int, int, str]]:
    """Key, line, record count and first record type of each row of an events table."""
    cols = [table.column(n) for n in ("node", "serial", "time", "line", "record_count",
                                      "record_types")]
    cols[2] = cols[2].cast(pa.int64())
    for node, serial, t, line, count, types in zip(*(c.to_pylist() for c in cols)):
        yield (node, serial, *divmod(t // 1000, 1000)), line, count, types[0]


def _cannot_join(first_type: str, records: int) -> bool:
    """Whether an event that continues another cannot be its continuation, as the Assembler
    decides; the parallel read then falls back to one process."""
    from .auditd import assemble

    return ((first_type != "EOE" and assemble.is_single_record_type(first_type))
            or records >= assemble.MAX_RECORDS)


class _AuditdEventsMerge(_AuditdRecordsMerge):
    what = "auditd event"

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, passwd: Any, group: Any) -> None:
        from .auditd import reader as ar

        super().__init__(source, errors, rejects, jobs, chunk_bytes)
        self.passwd, self.group = passwd, group
        self.ids = ar._ids(passwd, group)
        self.out: deque[pa.Table | _Open] = deque()
        self.carried: list[_Open] = []
        self.failures = 0
        self.first_error = ""

    def work(self) -> Callable[[Piece], Any]:
        return partial(_auditd_events_work, errors=self.errors, keep=self.log is not None,
                       ids=self.ids)

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        from .auditd import reader as ar

        account = ar._Account()
        stream = ar._event_stream(self.source, self.passwd, self.group, self.errors, rejects,
                                  _BATCH, account)
        return stream.batches(), (stream, account)

    def _close(self, item: _Open) -> None:
        from .auditd import reader as ar

        if item.prebuilt is not None and not item.grown:
            item.row = item.prebuilt
            return
        row, error = ar.full_event_row(item.event, self.ids, self.errors == "raise")
        if error is not None:
            self.failures += 1
            self.first_error = self.first_error or error
        item.row = row  # built into a batch with its neighbours by _ready

    def _finals(self, table: pa.Table) -> dict[_Key, tuple[int, int, int, str]]:
        """The first row of this piece with the key of each carried event: (row, line, record
        count, first record type)."""
        finals: dict[_Key, tuple[int, int, int, str]] = {}
        if not self.carried or not table.num_rows:
            return finals
        mask = pc.is_in(table.column("serial"),
                        value_set=_int64s({c.key[1] for c in self.carried}))
        rows = pc.indices_nonzero(mask).to_pylist()
        for i, (key, line, count, first_type) in zip(rows, _firsts(table.filter(mask))):
            if key not in finals or line < finals[key][1]:
                finals[key] = (i, line, count, first_type)
        return finals

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        from .auditd import assemble

        queued = sum(x.num_rows if isinstance(x, pa.Table) else 1 for x in self.out)
        if queued + part.peak >= assemble.MAX_PENDING:
            return None
        table: pa.Table = part.table
        # carried events meet this piece: their continuation is its first row or open event
        # with their key, unless the log moved on past the event's timeout before it
        finals = self._finals(table)
        opens = _opens(piece, part, offset)
        tails = {o.key: (j, o) for j, o in enumerate(opens)}
        drop_rows: set[int] = set()
        drop_tails: set[int] = set()
        wanted: dict[_Key, tuple[int, int, _Open]] = {}
        still: list[_Open] = []
        for item in self.carried:
            key = item.key
            j = bisect_right(part.stair_max, key[2] + assemble.END_OF_EVENT_TIMEOUT)
            cut = part.stair_lines[j] if j < len(part.stair_lines) else None  # local line
            final = finals.get(key)
            tail = tails.get(key)
            tail_line = tail[1].line - offset if tail else None
            first = min((x for x in (final and final[1], tail_line) if x is not None), default=None)
            if first is not None and (cut is None or first < cut):
                if final is not None and final[1] == first:
                    i, line, count, first_type = final
                    if _cannot_join(first_type, item.count + count):
                        return None
                    drop_rows.add(i)
                    wanted[key] = (line, count, item)
                else:
                    assert tail is not None
                    more = tail[1]
                    if _cannot_join(more.first_type, item.count + more.count):
                        return None
                    item.add(more.event.records)
                    drop_tails.add(tail[0])
                    still.append(item)
            elif cut is not None:
                self._close(item)
            else:
                still.append(item)
        if wanted:
            for key, records in _relex(piece, wanted).items():
                for r in records:
                    r.line += offset
                item = wanted[key][2]
                item.add(records)
                self._close(item)
        self.lines += part.lines
        self.coerced += part.coerced
        self.failures += part.failures
        self.first_error = self.first_error or part.first_error
        self.add_rejects(part.rejects, part.n_rejects, offset)
        # this piece's rows, with its own open events in their places
        table = _shift(table, offset)
        start = 0  # rows before `start` are out; dropped rows (carried events' ends) are skipped
        marks = [(at, j) for j, (at, _) in enumerate(part.tails) if j not in drop_tails]
        marks += [(i, -1) for i in drop_rows]
        for at, j in sorted(marks):  # a tail at row i goes before row i (dropped or not)
            if at > start:
                self.out.append(table.slice(start, at - start))
                start = at
            if j < 0:
                start = at + 1
                continue
            self.out.append(opens[j])
            still.append(opens[j])
        if start < table.num_rows:
            self.out.append(table.slice(start))
        self.carried = still
        return self._ready()

    def _ready(self) -> Iterator[pa.RecordBatch]:
        """What can go out in order: piece rows, and closed carried events (the worker's rows
        of a run of them as one slice of its table, rows made here built into one batch per
        run; one batch per event cost seconds on logs without EOE records, where thousands of
        events are open at every cut)."""
        from .auditd import native

        ready: list[pa.RecordBatch] = []
        builder = native.row_batcher(_BATCH)
        run: list[Any] = []  # [table, first index, rows] of the worker's rows

        def end_run() -> None:
            if run:
                ready.extend(run[0].slice(run[1], run[2]).to_batches())
                run.clear()

        def end_rows() -> None:
            if len(builder):
                ready.append(builder.finish())

        out = self.out
        while out:
            head = out[0]
            if isinstance(head, _Open):
                if head.row is None:
                    break
                if isinstance(head.row, tuple):
                    end_rows()
                    table, i = head.row
                    if run and run[0] is table and run[1] + run[2] == i:
                        run[2] += 1
                    else:
                        end_run()
                        run[:] = [table, i, 1]
                else:
                    end_run()
                    full = builder.append(head.row)
                    if full is not None:
                        ready.append(full)
            else:
                end_run()
                end_rows()
                ready.extend(head.to_batches())
            out.popleft()
        end_run()
        end_rows()
        self.coerced += builder.coerced
        return _rebatch(ready)

    def finish(self) -> Iterator[pa.RecordBatch]:
        for item in self.carried:
            self._close(item)
        self.carried = []
        return self._ready()

    def warn(self) -> None:
        from .auditd import reader as ar

        if not self.fell_back and self.failures:
            warnings.warn(ar.failure_warning(self.failures, self.first_error), stacklevel=3)
        super().warn()


def _relex(piece: Piece, wanted: dict[_Key, tuple[int, int, Any]]) -> dict[_Key, list[Any]]:
    """Records of the named local events, read again from the piece: an event is the first
    ``count`` records with its key from its first line on."""
    from .auditd.lexer import LexError, parse_line

    found: dict[_Key, list[Any]] = {k: [] for k in wanted}
    left = len(wanted)
    start = min(line for line, _, _ in wanted.values())
    with closing(piece.lines()) as lines:
        for number, raw in lines:
            if number < start:
                continue
            try:
                r = parse_line(raw, piece.name, number)
            except LexError:
                continue
            key = (r.node, r.serial, r.sec, r.msec)
            want = wanted.get(key)
            if want is None or number < want[0] or len(found[key]) >= want[1]:
                continue
            found[key].append(r)
            if len(found[key]) == want[1]:
                left -= 1
                if not left:
                    break
    return found


def _int64s(values: Iterable[int]) -> pa.Array:
    """An int64 array made from its buffer: ``pa.array`` of Python ints would import pandas in
    the parent (half a second of CPU the workers need)."""
    data = array("q", values)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data.tobytes())])


def _rebatch(batches: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Runs of small batches (a few carried events, a piece's rows between two of them) joined
    into one; large ones go as they are (copying them all cost the parent a second a GB)."""
    small: list[pa.RecordBatch] = []
    for batch in batches:
        if not batch.num_rows:
            continue
        if batch.num_rows >= _SMALL_BATCH:
            if small:
                yield _joined(small)
                small = []
            yield batch
        else:
            small.append(batch)
    if small:
        yield _joined(small)


_SMALL_BATCH = 1000


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


# -- Kubernetes ----------------------------------------------------------------------------


@_gc_paused
def _k8s_work(piece: Piece, errors: str, keep: bool, keep_objects: bool,
              cluster: str | None) -> _Part:
    from .k8s import reader as kr
    from .k8s.build import RowBatcher
    from .k8s.event import Origin
    from .k8s.frame import Account, FileReader
    from .schema import K8S_EVENTS

    class CutReader(FileReader):
        """Says whether a multi-line value or a partial container record was open at the end."""

        dirty = False

        def flush(self) -> Iterator[tuple]:
            self.dirty = self.value is not None or bool(self.pending)
            return super().flush()

    rejecter = _worker_rejecter(errors, keep)
    account = Account()
    batcher = RowBatcher()
    part = _Part()
    stream = piece.open()
    reader = CutReader(piece.name, Origin(piece.name, cluster=cluster, keep_objects=keep_objects),
                       rejecter, account)
    try:
        batches = list(kr.raw_batches(reader.rows(stream), batcher, kr.DEFAULT_BATCH))
        part.table = pa.Table.from_batches(batches, schema=K8S_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = _portable(exc)
    finally:
        stream.close()
    part.dirty = reader.dirty
    part.account = (account.lines, account.lines_in_rows, account.lines_in_rejects,
                    account.lines_empty)
    part.account_for(account.lines, batcher.coerced, rejecter)
    part.numbered = any("at line " in r.reason or "(lines " in r.reason for r in part.rejects)
    return part


class _K8sMerge(_Merge):
    what = "k8s audit"

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, keep_objects: bool, cluster: str | None) -> None:
        super().__init__(source, errors, rejects, jobs, chunk_bytes)
        self.keep_objects, self.cluster = keep_objects, cluster
        self.account = [0, 0, 0, 0]

    def work(self) -> Callable[[Piece], Any]:
        # reject texts are needed to see line numbers quoted in reasons, so always keep them
        return partial(_k8s_work, errors=self.errors, keep=True,
                       keep_objects=self.keep_objects, cluster=self.cluster)

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        if (part.dirty and not piece.last) or (part.numbered and not piece.first):
            return None
        self.coerced += part.coerced
        self.account = [a + b for a, b in zip(self.account, part.account)]
        self.add_rejects(part.rejects, part.n_rejects, offset)
        return iter(_shift(part.table, offset).to_batches())

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        from .k8s import reader as kr

        read = kr._Read(self.source, self.errors, rejects, self.keep_objects, self.cluster,
                        kr.DEFAULT_BATCH)
        return read.batches(), read

    def warn(self) -> None:
        if self.fell_back:
            self.sequential_state.warn()
            return
        _warn_coerced(self.coerced, self.what)
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


# -- the entry points the readers call -----------------------------------------------------------


def _events_chunk(chunk_bytes: int | None) -> int:
    """Piece size for auditd events: larger on the C fast path, which reads a 32 MB piece in
    a fraction of a second while every cut costs the parent the events open across it (a few
    thousand on a busy log without EOE records)."""
    from .auditd import native

    if chunk_bytes is not None:
        return chunk_bytes
    return DEFAULT_CHUNK_BYTES * (4 if native.Parser is not None else 1)


def open_auditd(source: Source, *, passwd: Any, group: Any, errors: str,
                rejects: RejectLog | None, jobs: int,
                chunk_bytes: int | None = None) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_auditd` with ``jobs`` processes."""
    return _AuditdEventsMerge(source, errors, rejects, jobs, _events_chunk(chunk_bytes), passwd,
                              group).streamed()


def read_auditd(source: Source, *, passwd: Any, group: Any, errors: str,
                rejects: RejectLog | None, jobs: int,
                chunk_bytes: int | None = None) -> pa.Table:
    """:func:`auditlens.read_auditd` with ``jobs`` processes."""
    from .schema import AUDITD_EVENTS

    merge = _AuditdEventsMerge(source, errors, rejects, jobs, _events_chunk(chunk_bytes), passwd,
                               group)
    return _auditd_table(merge, AUDITD_EVENTS.arrow)


def open_auditd_records(source: Source, *, errors: str, rejects: RejectLog | None, jobs: int,
                        chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_auditd_records` with ``jobs`` processes."""
    return _AuditdRecordsMerge(source, errors, rejects, jobs, chunk_bytes).streamed()


def read_auditd_records(source: Source, *, errors: str, rejects: RejectLog | None, jobs: int,
                        chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> pa.Table:
    """:func:`auditlens.read_auditd_records` with ``jobs`` processes."""
    from .schema import AUDITD_RECORDS

    merge = _AuditdRecordsMerge(source, errors, rejects, jobs, chunk_bytes)
    return _auditd_table(merge, AUDITD_RECORDS.arrow)


def _with_meta(table: pa.Table, values: dict[str, int]) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    for key, value in values.items():
        meta[f"auditlens.{key}".encode()] = str(value).encode()
    return table.replace_schema_metadata(meta)


def _auditd_table(merge: _AuditdRecordsMerge, schema: pa.Schema) -> pa.Table:
    table = pa.Table.from_batches(list(merge.batches()), schema=schema)
    lines, rejected = merge.counts()
    table = _with_meta(table, {"lines": lines, "rejects": rejected})
    merge.warn()
    return table


def open_k8s_audit(source: Source, *, errors: str, rejects: RejectLog | None,
                   keep_objects: bool, cluster: str | None, jobs: int,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_k8s_audit` with ``jobs`` processes."""
    return _K8sMerge(source, errors, rejects, jobs, chunk_bytes, keep_objects, cluster).streamed()


def read_k8s_audit(source: Source, *, errors: str, rejects: RejectLog | None,
                   keep_objects: bool, cluster: str | None, jobs: int,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> pa.Table:
    """:func:`auditlens.read_k8s_audit` with ``jobs`` processes."""
    from .schema import K8S_EVENTS

    merge = _K8sMerge(source, errors, rejects, jobs, chunk_bytes, keep_objects, cluster)
    table = pa.Table.from_batches(list(merge.batches()), schema=K8S_EVENTS.arrow)
    table = _with_meta(table, merge.counts())
    merge.warn()
    return table
