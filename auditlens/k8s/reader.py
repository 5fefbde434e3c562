"""Reading Kubernetes / OpenShift API audit logs into Arrow (``read_k8s_audit``/``open_k8s_audit``).

The pipeline: sources (files, globs, stdin, compression) → :class:`~auditlens.k8s.frame.FileReader`
(lines → units → raw rows, via the wrapper registry) → :class:`~auditlens.k8s.build.RowBatcher`
(raw rows → RecordBatches). One row per logged Event, in input order; nothing is deduplicated.

Nothing is lost: ``read_k8s_audit`` records the line account in the table's schema metadata:
``auditlens.lines`` (physical lines read), ``auditlens.rejects`` (Events/units rejected),
``auditlens.lines_in_rows``, ``auditlens.lines_in_rejects`` and ``auditlens.lines_empty``, which
add up to ``auditlens.lines`` (see :mod:`auditlens.k8s.frame` for what a unit is). A line
longer than ``max_line_bytes`` (default :data:`~.limits.MAX_LINE_BYTES`, 64 MiB) is one rejected
unit, skipped as it is read (:mod:`auditlens.sources.lines`).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from ..scheduler.pool import check_jobs, prestart
from ..sources.lines import check_max_line
from .limits import BATCH_ROWS, MAX_LINE_BYTES

if TYPE_CHECKING:
    import pyarrow as pa

    from ..rejects import RejectLog
    from ..sources import Source

__all__ = ["open_k8s_audit", "read_k8s_audit"]

DEFAULT_BATCH = BATCH_ROWS


def _parallel(source: Source, jobs: int) -> ModuleType | None:
    """The parallel reader when ``jobs`` is not 1, imported once its workers are started."""
    if not prestart("auditlens.k8s", source, jobs):
        return None
    from . import parallel

    return parallel


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
    :mod:`auditlens.scheduler`). ``max_line_bytes``: a longer line is rejected (``line too
    long: N bytes (limit L)``, its first 256 bytes kept) and skipped as it is read, so that a
    binary file or a decompression bomb costs no memory; None: 64 MiB (RequestResponse bodies
    can be large).
    """
    max_line = check_max_line(max_line_bytes, MAX_LINE_BYTES)
    parallel = _parallel(source, jobs)
    if parallel is not None:
        return parallel.open_k8s_audit(source, errors=errors, rejects=rejects,
                                       keep_objects=keep_objects, cluster=cluster,
                                       jobs=check_jobs(jobs), max_line=max_line)
    from .stream import Read

    return Read(source, errors, rejects, keep_objects, cluster, batch_size, max_line).streamed()


def read_k8s_audit(source: Source, *, errors: str = "collect", rejects: RejectLog | None = None,
                   keep_objects: bool = True, cluster: str | None = None,
                   jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """All API audit Events of ``source`` as one table (options as for :func:`open_k8s_audit`),
    with the line account in the schema metadata (``auditlens.lines``, ``auditlens.rejects``…)."""
    max_line = check_max_line(max_line_bytes, MAX_LINE_BYTES)
    parallel = _parallel(source, jobs)
    if parallel is not None:
        return parallel.read_k8s_audit(source, errors=errors, rejects=rejects,
                                       keep_objects=keep_objects, cluster=cluster,
                                       jobs=check_jobs(jobs), max_line=max_line)
    from .stream import Read

    read = Read(source, errors, rejects, keep_objects, cluster, DEFAULT_BATCH, max_line)
    table = read.table()
    read.warn()
    return table
