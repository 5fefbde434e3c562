"""Reading cloud service audit events into Arrow (``read_cloud_audit``/``open_cloud_audit``).

The work is :class:`~auditlens.cloud.stream.Read` (one process) and
:mod:`auditlens.cloud.parallel` (``jobs``); see :mod:`auditlens.cloud.stream` for the pipeline,
the line account and how times are read. The provider modules are imported (registered) there:
:data:`auditlens.cloud.stream.PROVIDER_MODULES` (``ibm``, then ``aws``, ``gcp``, ``azure`` once
they exist), so that every worker process of a parallel read has them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..scheduler.pool import check_jobs, prestart
from ..sources.lines import check_max_line
from .limits import BATCH_ROWS, MAX_LINE_BYTES

if TYPE_CHECKING:
    import pyarrow as pa

    from ..rejects import RejectLog
    from ..sources import Source
    from ..timerange import TimeBound
    from .stream import parse_times

__all__ = ["MAX_LINE_BYTES", "open_cloud_audit", "parse_times", "read_cloud_audit"]


def __getattr__(name: str) -> Any:
    """``parse_times`` of :mod:`.stream`, imported on first use (it needs pyarrow)."""
    if name == "parse_times":
        from .stream import parse_times

        return parse_times
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _parallel(source: Source, jobs: int) -> ModuleType | None:
    """The parallel reader when ``jobs`` is not 1, imported once its workers are started."""
    if not prestart("auditlens.cloud", source, jobs):
        return None
    from . import parallel

    return parallel


def open_cloud_audit(source: Source, *, errors: str = "collect", rejects: RejectLog | None = None,
                     jobs: int = 1, since: TimeBound = None, until: TimeBound = None,
                     max_line_bytes: int | None = None,
                     batch_size: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Stream cloud service audit events as RecordBatches of the ``cloud_events`` schema.

    ``source``: a file, directory, glob, binary file object, ``-`` for stdin, or a list of these;
    gzip/bz2/xz/zstd are recognised by their magic bytes, IBM Cloud Logs Parquet archives by
    ``PAR1``. Each input may hold JSON lines, whole JSON documents (pretty-printed too, e.g. a
    CloudTrail ``{"Records": [...]}`` file) or top-level arrays, of any registered provider
    (docs/cloud-formats.md). ``errors="collect"`` puts what cannot be read in ``rejects``
    (warning when no RejectLog is given); ``errors="raise"`` stops at the first with a
    ParseError carrying file and line. ``since``/``until``: only events in that period
    (inclusive; anything :mod:`auditlens.timerange` accepts). ``max_line_bytes``: a longer line
    or document is rejected unheld (None: 64 MiB). ``jobs``: processes reading (this one and
    jobs-1 workers; 0: one per CPU): files, and byte ranges of large plain files, side by side
    (:mod:`auditlens.cloud.parallel`); the same output as with one.
    """
    jobs = check_jobs(jobs)
    max_line = check_max_line(max_line_bytes, MAX_LINE_BYTES)
    parallel = _parallel(source, jobs)
    if parallel is not None:
        return parallel.open_cloud_audit(source, errors=errors, rejects=rejects, jobs=jobs,
                                         since=since, until=until, max_line=max_line)
    from .stream import Read

    return Read(source, errors, rejects, since, until, max_line, batch_size).streamed()


def read_cloud_audit(source: Source, *, errors: str = "collect", rejects: RejectLog | None = None,
                     jobs: int = 1, since: TimeBound = None, until: TimeBound = None,
                     max_line_bytes: int | None = None) -> pa.Table:
    """All cloud service audit events of ``source`` as one table (options as for
    :func:`open_cloud_audit`), with the line account in the schema metadata."""
    jobs = check_jobs(jobs)
    max_line = check_max_line(max_line_bytes, MAX_LINE_BYTES)
    parallel = _parallel(source, jobs)
    if parallel is not None:
        return parallel.read_cloud_audit(source, errors=errors, rejects=rejects, jobs=jobs,
                                         since=since, until=until, max_line=max_line)
    from .stream import Read

    read = Read(source, errors, rejects, since, until, max_line)
    table = read.table()
    read.warn()
    return table
