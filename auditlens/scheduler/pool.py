"""Reading items in order with this process and ``jobs - 1`` worker processes (:func:`in_order`),
and the workers' life: spawned (as early as a reader can: :func:`start_workers`), kept for the
reads that follow in the program (:func:`workers`), ended without teardown."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import wraps
from importlib import import_module
from multiprocessing import get_context, process
from typing import Any, Generic, TypeVar

from .leftovers import sweep
from .pieces import DEFAULT_CHUNK_BYTES, STEAL_MIN, SharedEnds, may_cut, share_ends

__all__ = ["Workers", "check_jobs", "gc_paused_work", "in_order", "prestart",
           "requested_jobs", "start_workers", "stop_workers", "worker_pool", "workers"]

_T = TypeVar("_T")


def gc_paused_work(work: Callable[..., _T]) -> Callable[..., _T]:
    """Run a piece's work with the cyclic GC off: a piece's rows are many small objects without
    cycles, and the collector walking them cost the workers half again the CPU time of one
    process (measured). Counted pauses (:func:`build.gc_pause`): the parent reads pieces too,
    possibly in several threads at once."""

    @wraps(work)
    def paused(*args: Any, **kwargs: Any) -> _T:
        from ..build import gc_pause  # pyarrow: not before a pool is started (start_workers)

        with gc_pause():
            return work(*args, **kwargs)

    return paused


def requested_jobs(jobs: int | None) -> int:
    """``jobs`` as asked: None or 0 mean one per CPU; negative is a user mistake (checked before
    a report reads, without :func:`check_jobs`'s warning)."""
    if jobs is None or jobs == 0:
        return os.cpu_count() or 1
    if not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be a positive number (or 0 for one per CPU), not {jobs!r}")
    return jobs


def check_jobs(jobs: int | None) -> int:
    """``jobs`` as a reader count (:func:`requested_jobs`); 1 (with a warning) when worker
    processes could not start."""
    count = requested_jobs(jobs)
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


def worker_pool(jobs: int, ends: SharedEnds | None = None) -> ProcessPoolExecutor:
    """``jobs`` spawned workers (no state inherited from this process), sharing ``ends``."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                               initializer=_worker_started,
                               initargs=(None if ends is None else ends.array,))


class Workers:
    """A pool of ``count`` spawned workers with its shared piece ends (None: no take-overs).

    Each worker is started at once (a spawned worker needs ~0.2 s to start Python and import
    pyarrow and auditlens, which it then does while this process still imports or plans the
    read) and imports the modules of ``warm``, the format's piece work, right away."""

    def __init__(self, count: int, warm: tuple[str, ...] = ()) -> None:
        sweep()  # the files of reads killed before (see .leftovers)
        self.count = count
        self.pid = os.getpid()
        self.ends = SharedEnds.make(_slots(count))
        self.executor = worker_pool(count, self.ends)
        self.busy = False
        for _ in range(count):  # the pool spawns a worker per item while none is idle
            self.executor.submit(_warm, warm)

    def usable(self, count: int) -> bool:
        """Whether a later read of ``count`` workers can use this pool: in this process (not a
        fork of it), not broken by a worker that died."""
        return (self.count == count and self.pid == os.getpid()
                and not getattr(self.executor, "_broken", False))

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _slots(count: int) -> int:
    """Slots of a pool's shared ends: more than a read holds at once (``in_order``'s window)."""
    return 4 * (count + 1)


def _warm(modules: tuple[str, ...]) -> None:
    for name in modules:
        import_module(name)


_kept: Workers | None = None
"""The pool kept for the reads of this program (see :func:`workers`)."""
_kept_lock = threading.Lock()


def start_workers(jobs: int, warm: tuple[str, ...] = (), source: Any = None,
                  chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
    """Start the pool a read of ``jobs`` readers will use, before the reader imports what it
    needs: its workers import side by side with this process instead of after it (a worker's
    start-up, ~0.2 s of a core, was where ``jobs=2`` lost most against two independent
    processes, which start together). With ``source``, only when the read will be cut
    (:func:`.pieces.may_cut`): a read in this process alone needs no workers."""
    global _kept
    if jobs < 2 or not _workers_can_start() or (source is not None
                                                 and not may_cut(source, chunk_bytes)):
        return
    old = None
    with _kept_lock:
        if _kept is not None and _kept.busy:
            return
        if _kept is None or not _kept.usable(jobs - 1):
            old, _kept = _kept, Workers(jobs - 1, warm)
    if old is not None:
        old.shutdown()


def prestart(package: str, source: Any, jobs: int | None,
             chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> bool:
    """Whether a read of ``source`` by ``package``'s reader is parallel (``jobs`` is not 1), its
    workers started (:func:`start_workers`, warmed with ``package``'s ``parallel`` module): the
    reader imports that module after this, and the workers import it side by side with it. The
    CLI calls this as soon as it knows the kind of its inputs, before its own imports of
    pyarrow; the reader's own call is then a no-op."""
    if jobs == 1:
        return False
    start_workers(requested_jobs(jobs), (f"{package}.parallel",), source, chunk_bytes)
    return True


@contextmanager
def workers(count: int, warm: tuple[str, ...] = ()) -> Iterator[Workers]:
    """A pool of ``count`` workers for one read: the program's kept pool, started now if need
    be and kept for the next read (a notebook or a report that reads many files pays the
    workers' start-up once); a pool of its own, shut down after it, when another thread's read
    holds the kept one. The read's items still held are cancelled, and those being read waited
    for, before the pool serves another read (they use its shared ends)."""
    global _kept
    old = None
    with _kept_lock:
        team = _kept
        if team is None or (not team.busy and not team.usable(count)):
            old, team = team, Workers(count, warm)
            _kept = team
        if team.busy:
            team = None
        else:
            team.busy = True
    if old is not None:
        old.shutdown()
    if team is None:
        own = Workers(count, warm)
        try:
            yield own
        finally:
            own.shutdown()
        return
    try:
        yield team
    finally:
        team.busy = False


def stop_workers() -> None:
    """End the kept pool's workers (at exit, or to free them in a long-lived program)."""
    global _kept
    with _kept_lock:
        team, _kept = _kept, None
    if team is not None:
        team.shutdown()


atexit.register(stop_workers)


_pool_worker = False
"""Whether this process is a worker of the pool (set as it starts)."""


def in_pool_worker() -> bool:
    """Whether this process is a pool worker, whose parts go to the parent on the same machine:
    through files (:class:`.handover.Part`). A part pickled anywhere else (a Dask worker's
    result, which may cross machines; a user's pickle) carries its table in-band."""
    return _pool_worker


def no_blas_threads() -> None:
    """Keep numpy's OpenBLAS from starting its thread pool in this process, which must not have
    imported numpy yet (pyarrow imports it): its threads spin for ~0.1 s of a core after the
    import (measured: 0.17 s of CPU for ``import numpy`` against 0.05 s), taken from the reading
    on a two-core machine. For processes that do no linear algebra: the workers, the CLI. A
    setting the user made is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _worker_started(shared_ends: Any) -> None:
    """Run in each worker as it starts. A worker ends without the interpreter's teardown, which
    the parent waits for at the end of every read (freeing every module: 0.05 s of 0.06 s): by
    then it has written all it sends, and its standard streams are flushed here."""
    global _pool_worker
    no_blas_threads()
    share_ends(shared_ends)
    _pool_worker = True
    atexit.register(_end_worker)


def _end_worker() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(0)


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


def in_order(pool: ProcessPoolExecutor, workers: int, work: Callable[[_T], Any],
             items: list[_T], ends: SharedEnds | None = None
             ) -> Generator[tuple[_T, Any], None, None]:
    """``(item, work(item))`` in the order of ``items``, at most three items per reader (and one)
    held at once, which bounds the memory of a streamed read.

    ``jobs=N`` is N readers: this process and the pool's N-1 workers. This process reads the
    first item while the workers start (a spawned worker needs ~0.2 s to start Python and
    import pyarrow before its first piece), and then, each time it is free, the next item not yet
    sent, after sending the pool enough for every worker to have one item and two waiting. The
    workers need nothing from this process while it reads (its threads, which would feed them,
    run only when its own reading lets them: a worker fed on demand waited 0.6 s of an 8 s read),
    and the slower reader reads fewer items (this process is slower per piece when its heap holds
    a large table: 25 % per Kubernetes piece). Sent items cannot be taken back (the pool queues
    them for its workers at once), so no more are sent than the workers can use; with only one
    waiting, a worker that read two short pieces while this process read one waited, and this
    process then split the next pieces in halves to feed it (an interleaved A/B of 12 rounds:
    ``jobs=2`` 2–3 % faster with two waiting). With ``ends``
    (the items are a read's pieces) sent pieces can be shortened: near the end this process sends
    a piece it would have read when the workers have less than that left (:func:`_read_here`),
    and, with nothing else to do, takes over the rest of a sent piece (:class:`SharedEnds`)."""
    readers = workers + 1
    window = 3 * readers + 1
    todo = deque(items)
    held: deque[_Slot[_T]] = deque()

    def take() -> _Slot[_T]:
        slot = _Slot(todo.popleft())
        if ends is not None:
            ends.open(slot.item)  # type: ignore[arg-type]
        held.append(slot)
        return slot

    def send() -> None:
        slot = take()
        slot.future = pool.submit(work, slot.item)

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
                    mine = take()
                else:  # sent to be shared out: see _read_here
                    send()
            while todo and len(held) < window and sum(s.sent() for s in held) < 3 * workers:
                send()
            if mine is None and ends is not None:
                mine = _take_over(held, ends)
            if mine is not None:
                mine.part = work(mine.item)
            else:
                held[0].result()  # wait for it
    finally:
        running = [s.future for s in held if s.future is not None and not s.future.cancel()]
        wait_for(running)  # their workers use the pool's shared ends until they are done


def _read_here(held: deque[_Slot[Any]], piece: Any, ends: SharedEnds, workers: int) -> bool:
    """Whether this process reads the next piece itself, as it does unless the workers have less
    than a piece each left to read: then they would wait for it at the end, so it sends the piece
    and takes over half of it (a piece that can be shared: a byte range, not a small one)."""
    if piece.whole or piece.size < 2 * STEAL_MIN:
        return True
    return sum(ends.left(slot.item) for slot in held if slot.sent()) >= workers * piece.size


def _take_over(held: deque[_Slot[Any]], ends: SharedEnds) -> _Slot[Any] | None:
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

