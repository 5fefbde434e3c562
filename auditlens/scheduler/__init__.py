"""Parallel reading (``jobs=``) without knowing a format: files, and large files cut into
pieces, read by this process and ``jobs - 1`` worker processes, in order.

The output is the output of one process, row for row: same rows, same order, same rejects with
the same file and line. The parts:

* **Pieces** (:mod:`.pieces`). Every path input is one piece, or, when it is plain (not
  compressed) and larger than ``chunk_bytes``, several pieces cut just after a newline (a
  multiple of ``jobs``, of about equal size). A worker reads its piece alone and numbers lines
  from 1; the parent adds the lines of the earlier pieces of that file. This process can move
  back the end of a piece a worker is reading and read the rest itself (:class:`SharedEnds`):
  the rest is one more piece, cut after a newline like the others. Inputs that are streams
  (stdin, file objects) are read in one process.
* **Scheduling** (:mod:`.pool`): :func:`in_order` hands pieces to this process and a ``spawn``
  pool (no state inherited from the parent; scripts that call a reader with ``jobs`` at import
  time need the usual ``if __name__ == "__main__":`` guard) and gives the results back in order.
  The pool is the program's: a reader starts it before it imports pyarrow (the workers import
  beside this process), and the reads that follow use it again (:func:`.pool.workers`).
* **Hand-over** (:mod:`.handover`): a worker's :class:`Part` travels as a memory-mapped Arrow file.
* **Merge** (:mod:`.merge`): the parent takes parts in order; a format's subclass says what a
  piece's work is and what crosses a cut (``auditlens.auditd.parallel``,
  ``auditlens.k8s.parallel``). When a format cannot prove from the parts what one process would
  give, the read **falls back**: it reads the whole input again in this process, skipping the
  rows and rejects already delivered (for correctness on pathological inputs, not for speed).

This package imports no reader: readers depend on it, never the other way round.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_NAMES: dict[str, str] = {
    "Part": "handover", "piece_arena_here": "handover", "portable": "handover", "raise_error": "handover",
    "Merge": "merge", "int64s": "merge", "shift": "merge", "warn_coerced": "merge",
    "with_meta": "merge", "worker_rejecter": "merge",
    "DEFAULT_CHUNK_BYTES": "pieces", "Piece": "pieces", "SharedEnds": "pieces",
    "plan_pieces": "pieces",
    "Workers": "pool", "check_jobs": "pool", "gc_paused_work": "pool", "in_order": "pool",
    "prestart": "pool",
    "requested_jobs": "pool", "start_workers": "pool", "stop_workers": "pool",
    "worker_pool": "pool", "workers": "pool",
}
"""Each name → its module, imported when the name is first asked for: a reader starts its
workers (:func:`.pool.start_workers`) before it imports pyarrow, which :mod:`.merge` needs."""

__all__ = ["DEFAULT_CHUNK_BYTES", "Merge", "Part", "Piece", "SharedEnds", "Workers", "check_jobs",
           "gc_paused_work", "in_order", "int64s", "piece_arena_here", "plan_pieces", "portable", "prestart",
           "raise_error", "requested_jobs", "shift", "start_workers", "stop_workers", "warn_coerced", "with_meta",
           "worker_pool", "worker_rejecter", "workers"]

if TYPE_CHECKING:  # pragma: no cover
    from .handover import Part, piece_arena_here, portable, raise_error
    from .merge import Merge, int64s, shift, warn_coerced, with_meta, worker_rejecter
    from .pieces import DEFAULT_CHUNK_BYTES, Piece, SharedEnds, plan_pieces
    from .pool import (
        Workers,
        check_jobs,
        gc_paused_work,
        in_order,
        prestart,
        requested_jobs,
        start_workers,
        stop_workers,
        worker_pool,
        workers,
    )


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
