"""Reading auditd logs into Arrow: events (``read_auditd``/``open_auditd``) or records.

The pipeline is lexer (line → Record) → assembler (records → events) → ``event_row``
(interpretation and who/what) → batch builder (rows → Arrow). Inputs are read one line at a
time and events leave the assembler as soon as they are complete, so ``open_*`` streams with
bounded memory whatever the input size (:mod:`.records`, :mod:`.stream`). When the optional C
extension is compiled, the events table is made by :mod:`.native` instead: the same pipeline in
C for what it handles, the Python functions for the rest, the same output. With ``jobs`` the
same output comes from pieces read side by side (:mod:`.parallel`).

Nothing is lost: every input line becomes part of a row or a reject (file, line, reason, raw).
``read_*`` record the account in the table's schema metadata: ``auditlens.lines`` (lines read)
and ``auditlens.rejects`` (lines rejected); with ``errors="collect"`` the sum of
``record_count`` over the events (or the number of record rows) plus the rejects equals the lines.
A compressed input that breaks off mid-stream counts as one more line, rejected with the reason.
A line longer than ``max_line_bytes`` (default :data:`~.lexer.MAX_LINE_BYTES`, 1 MiB) is one
rejected line, ``line too long: N bytes (limit L)`` with its first bytes, and is skipped as it is
read: memory stays bounded whatever the input (:mod:`auditlens.sources.lines`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from ..scheduler.pieces import DEFAULT_CHUNK_BYTES
from ..scheduler.pool import check_jobs, prestart
from ..sources.lines import check_max_line
from .lexer import MAX_LINE_BYTES

if TYPE_CHECKING:
    import pyarrow as pa

    from ..rejects import RejectLog
    from ..sources import Source
    from .ids import IdSource

__all__ = ["open_auditd", "open_auditd_records", "read_auditd", "read_auditd_records"]


def _parallel(source: Source, jobs: int | None, chunk_bytes: int) -> ModuleType | None:
    """The parallel reader when ``jobs`` is not 1, imported once its workers are started."""
    if not prestart("auditlens.auditd", source, jobs, chunk_bytes):
        return None
    from . import parallel

    return parallel


_EVENTS_CHUNK = 4 * DEFAULT_CHUNK_BYTES  # as parallel._events_chunk on the C path


def _max_line(max_line_bytes: int | None) -> int:
    return check_max_line(max_line_bytes, MAX_LINE_BYTES)


def open_auditd(source: Source, *, passwd: IdSource = None, group: IdSource = None,
                errors: str = "collect", rejects: RejectLog | None = None,
                batch_size: int = 10_000, jobs: int = 1,
                max_line_bytes: int | None = None) -> Iterator[pa.RecordBatch]:
    """Stream auditd events as RecordBatches of the ``auditd_events`` schema (bounded memory).

    ``source``: a file, directory (rotated logs oldest first), glob, binary file object, ``-``
    for stdin, or a list of these; compressed inputs are opened transparently. ``passwd`` /
    ``group``: the logging node's files for naming uids of RAW logs (never this machine's).
    ``errors="collect"`` puts bad lines in ``rejects`` (warning when no RejectLog is given);
    ``errors="raise"`` stops at the first with a ParseError carrying file and line.
    ``jobs``: processes reading files and large files cut into pieces (this one and jobs-1
    workers; 0: one per CPU); the output is the same as with one (see :mod:`auditlens.scheduler`).
    ``max_line_bytes``: a longer line is rejected (``line too long: N bytes (limit L)``, its
    first 256 bytes kept) and skipped as it is read, so that a binary file or a decompression
    bomb costs no memory; None: 1 MiB (auditd records are under 9 KB).
    """
    max_line = _max_line(max_line_bytes)
    parallel = _parallel(source, jobs, _EVENTS_CHUNK)
    if parallel is not None:
        return parallel.open_auditd(source, passwd=passwd, group=group, errors=errors,
                                    rejects=rejects, jobs=check_jobs(jobs), max_line=max_line)
    from .records import Account
    from .stream import event_stream

    return event_stream(source, passwd, group, errors, rejects, batch_size, Account(),
                         max_line).streamed()


def read_auditd(source: Source, *, passwd: IdSource = None, group: IdSource = None,
                errors: str = "collect", rejects: RejectLog | None = None,
                jobs: int = 1, max_line_bytes: int | None = None,
                ancestry: bool = False) -> pa.Table:
    """All auditd events of ``source`` as one table (see :func:`open_auditd` for the options).

    ``ancestry``: add the optional ``ancestry`` column (each event's ancestors' executables,
    :mod:`.ancestry`), worked out over the whole read — across rotated files, and after the
    pieces of a ``jobs`` read are put together, so that it is the same with any ``jobs``.
    """
    table = _read_events(source, passwd, group, errors, rejects, jobs, _max_line(max_line_bytes))
    if not ancestry:
        return table
    from .ancestry import with_ancestry

    return with_ancestry(table)


def _read_events(source: Source, passwd: IdSource, group: IdSource, errors: str,
                 rejects: RejectLog | None, jobs: int, max_line: int) -> pa.Table:
    parallel = _parallel(source, jobs, _EVENTS_CHUNK)
    if parallel is not None:
        return parallel.read_auditd(source, passwd=passwd, group=group, errors=errors,
                                    rejects=rejects, jobs=check_jobs(jobs), max_line=max_line)
    from ..schema import AUDITD_EVENTS
    from .records import Account
    from .stream import event_stream, table_of

    account = Account()
    stream = event_stream(source, passwd, group, errors, rejects, 10_000, account, max_line)
    table = table_of(stream, AUDITD_EVENTS, account)
    stream.builder.warn_if_coerced(stream.what)
    stream.rejecter.warn_if_unseen("auditd")
    return table


def open_auditd_records(source: Source, *, passwd: IdSource = None, group: IdSource = None,
                        errors: str = "collect", rejects: RejectLog | None = None,
                        batch_size: int = 10_000, jobs: int = 1,
                        max_line_bytes: int | None = None) -> Iterator[pa.RecordBatch]:
    """Stream one row per auditd record (``auditd_records`` schema): every field, quotes removed.

    ``passwd``/``group`` are accepted for symmetry with :func:`open_auditd` and not used:
    records keep the numbers as logged (ENRICHED names are in the ``enriched`` map). The other
    options are :func:`open_auditd`'s.
    """
    max_line = _max_line(max_line_bytes)
    parallel = _parallel(source, jobs, DEFAULT_CHUNK_BYTES)
    if parallel is not None:
        return parallel.open_auditd_records(source, errors=errors, rejects=rejects,
                                            jobs=check_jobs(jobs), max_line=max_line)
    from .records import Account
    from .stream import record_stream

    return record_stream(source, errors, rejects, batch_size, Account(),
                          max_line).streamed()


def read_record_types(source: Source, prefixes: Iterable[str], *,
                      max_line_bytes: int | None = None) -> pa.Table:
    """The records of ``source`` whose type starts with one of ``prefixes`` (``auditd_records``
    schema, input order), for a report that needs a few record types of a large log: a byte
    search picks their lines before anything is lexed (kernel-ring lines, whose type is a number,
    are always lexed). Bad lines are left out here: this is a second look at input whose rejects
    the caller has from its first read, as the line numbers of the rows show."""
    import pyarrow as pa

    from ..build import BatchBuilder
    from ..rejects import Rejecter, RejectLog
    from ..schema import AUDITD_RECORDS
    from ..sources import expand_sources
    from . import native_records
    from .records import Account, read_records
    from .stream import record_rows

    prefixes = tuple(prefixes)
    wanted = re.compile(b"type=(?:" + b"|".join(re.escape(p.encode()) for p in prefixes)
                        + rb"|\d)").search
    inputs, max_line = expand_sources(source), _max_line(max_line_bytes)
    rejecter, builder = Rejecter("collect", RejectLog()), BatchBuilder(AUDITD_RECORDS, 10_000)
    if native_records.available():
        reader = native_records.Records(rejecter, Account(), builder, max_line=max_line,
                                        prefixes=prefixes, keep=wanted)
        batches = list(reader.batches(inputs))
    else:
        records = read_records(inputs, rejecter, Account(), keep=wanted, max_line=max_line)
        rows = record_rows(r for r in records if r.type.startswith(prefixes))
        batches = list(builder.batches(rows))
    return pa.Table.from_batches(batches, schema=AUDITD_RECORDS.arrow)


def read_auditd_records(source: Source, *, passwd: IdSource = None, group: IdSource = None,
                        errors: str = "collect", rejects: RejectLog | None = None,
                        jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """All auditd records of ``source`` as one table, one row per input record line (options as
    for :func:`open_auditd_records`)."""
    max_line = _max_line(max_line_bytes)
    parallel = _parallel(source, jobs, DEFAULT_CHUNK_BYTES)
    if parallel is not None:
        return parallel.read_auditd_records(source, errors=errors, rejects=rejects,
                                            jobs=check_jobs(jobs), max_line=max_line)
    from ..schema import AUDITD_RECORDS
    from .records import Account
    from .stream import record_stream, table_of

    account = Account()
    stream = record_stream(source, errors, rejects, 10_000, account, max_line)
    table = table_of(stream, AUDITD_RECORDS, account)
    stream.builder.warn_if_coerced(stream.what)
    stream.rejecter.warn_if_unseen("auditd")
    return table
