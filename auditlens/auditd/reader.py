"""Reading auditd logs into Arrow: events (``read_auditd``/``open_auditd``) or records.

The pipeline is lexer (line → Record) → assembler (records → events) → ``event_row``
(interpretation and who/what) → batch builder (rows → Arrow). Inputs are read one line at a
time and events leave the assembler as soon as they are complete, so ``open_*`` streams with
bounded memory whatever the input size. When the optional C extension is compiled, the events
table is made by :mod:`.native` instead: the same pipeline in C for what it handles, this
module's functions for the rest, the same output.

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

import io
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from ..build import BatchBuilder
from ..errors import SourceError
from ..rejects import Rejecter, RejectLog
from ..schema import AUDITD_EVENTS, AUDITD_RECORDS, TableSchema
from ..sources import READ_ERRORS, InputFile, Source, expand_sources, iter_lines
from ..sources.lines import LongLine, check_max_line
from . import native
from .assemble import Assembler
from .event_row import event_row
from .ids import IdNames, IdSource
from .lexer import MAX_LINE_BYTES, LexError, parse_line
from .model import Event, Record

__all__ = ["open_auditd", "open_auditd_records", "read_auditd", "read_auditd_records"]

_US_PER_SEC = 1_000_000


class _Account:
    """Lines read in one call; the rejects are counted by the Rejecter."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines = 0



def _records(inputs: list[InputFile], rejecter: Rejecter, account: _Account,
             keep: Callable[[bytes], Any] | None = None,
             max_line: int = MAX_LINE_BYTES) -> Iterator[Record]:
    """Lexed records of all inputs in order; bad lines go to the rejecter. ``keep``: only the
    lines it is true for are lexed (and counted); a line over ``max_line`` is not one of them."""
    for inp in inputs:
        name = inp.name
        stream = inp.open()
        before = account.lines
        lines = iter_lines(stream, max_line)
        if keep is not None:
            lines = ((n, raw) for n, raw in lines if isinstance(raw, bytes) and keep(raw))
        try:
            yield from lexed(name, lines, rejecter, account)
        except READ_ERRORS as exc:
            number = account.lines - before  # lines are numbered from 1, each counted once
            account.lines += 1
            rejecter.reject(
                name, number + 1,
                f"the rest of the input could not be read (corrupt or truncated: {exc})", b"",
            )
        finally:
            _release(inp, stream)


def lexed(name: str, lines: Iterable[tuple[int, bytes | LongLine]], rejecter: Rejecter,
          account: _Account) -> Iterator[Record]:
    """Records of numbered lines; every line is counted, a bad one goes to the rejecter."""
    for number, raw in lines:
        account.lines += 1
        if isinstance(raw, LongLine):
            rejecter.reject(name, number, raw.reason, raw.prefix)
            continue
        try:
            record = parse_line(raw, name, number)
        except LexError as exc:
            rejecter.reject(name, number, exc.reason, raw)
            continue
        yield record


def _release(inp: InputFile, stream: Any) -> None:
    """Close what we opened; leave a caller's stream open (and unwrap our buffer, which would
    close it when garbage-collected)."""
    if inp.size is not None:  # a path: we opened it
        stream.close()
        return
    caller = inp.opener()  # a stream input's opener hands back the caller's own object
    if stream is not caller and isinstance(stream, io.BufferedReader) and stream.raw is caller:
        stream.detach()


def _ids(passwd: IdSource, group: IdSource) -> IdNames:
    try:
        return IdNames(passwd=passwd, group=group)
    except OSError as exc:
        raise SourceError(f"cannot read passwd/group file: {exc.strerror or exc}",
                          file=getattr(exc, "filename", None)) from exc


def full_event_row(ev: Event, ids: IdNames, strict: bool) -> tuple[dict[str, Any], str | None]:
    """One event's row with its provenance columns, and the interpretation error when it failed
    (then the row has only the provenance; with ``strict`` the error is raised instead)."""
    error = None
    try:
        row = event_row(ev, ids)
    except Exception as exc:
        if strict:
            raise
        error = f"{type(exc).__name__}: {exc}"
        row = {}
    first = ev.records[0]
    row["node"] = ev.node
    row["serial"] = ev.serial
    row["time"] = ev.sec * _US_PER_SEC + ev.msec * 1000
    row["file"] = first.file
    row["line"] = first.line
    row["record_types"] = [r.type for r in ev.records]
    row["record_count"] = len(ev.records)
    return row, error


def failure_warning(failures: int, first_error: str) -> str:
    return (f"{failures} auditd event(s) could not be interpreted and have only their "
            f"provenance columns (first error: {first_error})")


def _event_rows(events: Iterator[Event], ids: IdNames, strict: bool) -> Iterator[dict[str, Any]]:
    failures = 0
    first_error = ""
    for ev in events:
        row, error = full_event_row(ev, ids, strict)
        if error is not None:
            failures += 1
            first_error = first_error or error
        yield row
    if failures:
        warnings.warn(failure_warning(failures, first_error), stacklevel=3)


def _unquoted(fields: dict[str, str]) -> list[tuple[str, str]]:
    """Map entries with the double quotes of literal strings removed (hex values stay as logged)."""
    return [(k, v[1:-1] if len(v) > 1 and v[0] == '"' and v[-1] == '"' else v)
            for k, v in fields.items()]


def _record_rows(records: Iterator[Record]) -> Iterator[dict[str, Any]]:
    for r in records:
        yield {
            "node": r.node,
            "serial": r.serial,
            "time": r.sec * _US_PER_SEC + r.msec * 1000,
            "record_type": r.type,
            "fields": _unquoted(r.fields),
            "enriched": _unquoted(r.enriched) if r.enriched else None,
            "file": r.file,
            "line": r.line,
        }


class _Stream:
    """The batches of one read and what to warn about once they are consumed."""

    def __init__(self, rows: Iterator[dict[str, Any]], builder: BatchBuilder, rejecter: Rejecter,
                 what: str) -> None:
        self.rows, self.builder, self.rejecter, self.what = rows, builder, rejecter, what

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.builder.batches(self.rows)

    def streamed(self) -> Iterator[pa.RecordBatch]:
        yield from self.batches()
        # called here (not in a helper) so that the warnings name the consumer's line
        self.builder.warn_if_coerced(self.what)
        self.rejecter.warn_if_unseen("auditd")


def _table(stream: _Stream, schema: TableSchema, account: _Account) -> pa.Table:
    table = pa.Table.from_batches(list(stream.batches()), schema=schema.arrow)
    meta = dict(table.schema.metadata or {})
    meta[b"auditlens.lines"] = str(account.lines).encode()
    meta[b"auditlens.rejects"] = str(stream.rejecter.count).encode()
    return table.replace_schema_metadata(meta)


class _NativeStream(_Stream):
    """The same batches from the C fast path (:mod:`.native`)."""

    def __init__(self, events: native.Events, inputs: list[InputFile], builder: BatchBuilder,
                 rejecter: Rejecter) -> None:
        super().__init__(iter(()), builder, rejecter, "auditd event")
        self.events, self.inputs = events, inputs

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.events.batches(self.inputs)


def _event_stream(source: Source, passwd: IdSource, group: IdSource, errors: str,
                  rejects: RejectLog | None, batch_size: int,
                  account: _Account, max_line: int = MAX_LINE_BYTES) -> _Stream:
    rejecter = Rejecter(errors, rejects)
    inputs = expand_sources(source)
    ids = _ids(passwd, group)
    builder = BatchBuilder(AUDITD_EVENTS, batch_size)
    strict = rejecter.mode == "raise"
    if native.Parser is not None:
        events = native.Events(ids, rejecter, account, builder, strict, max_line=max_line)
        return _NativeStream(events, inputs, builder, rejecter)
    records = _records(inputs, rejecter, account, max_line=max_line)
    rows = _event_rows(Assembler().assemble(records), ids, strict)
    return _Stream(rows, builder, rejecter, "auditd event")


def _record_stream(source: Source, errors: str, rejects: RejectLog | None, batch_size: int,
                   account: _Account, max_line: int = MAX_LINE_BYTES) -> _Stream:
    rejecter = Rejecter(errors, rejects)
    inputs = expand_sources(source)
    builder = BatchBuilder(AUDITD_RECORDS, batch_size)
    rows = _record_rows(_records(inputs, rejecter, account, max_line=max_line))
    return _Stream(rows, builder, rejecter, "auditd record")


def _parallel(jobs: int | None) -> bool:
    return jobs != 1


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
    workers; 0: one per CPU); the output is the same as with one (see :mod:`auditlens.parallel`).
    ``max_line_bytes``: a longer line is rejected (``line too long: N bytes (limit L)``, its
    first 256 bytes kept) and skipped as it is read, so that a binary file or a decompression
    bomb costs no memory; None: 1 MiB (auditd records are under 9 KB).
    """
    max_line = _max_line(max_line_bytes)
    if _parallel(jobs):
        from .. import parallel
        return parallel.open_auditd(source, passwd=passwd, group=group, errors=errors,
                                    rejects=rejects, jobs=parallel.check_jobs(jobs))
    return _event_stream(source, passwd, group, errors, rejects, batch_size, _Account(),
                         max_line).streamed()


def read_auditd(source: Source, *, passwd: IdSource = None, group: IdSource = None,
                errors: str = "collect", rejects: RejectLog | None = None,
                jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """All auditd events of ``source`` as one table (see :func:`open_auditd` for the options)."""
    max_line = _max_line(max_line_bytes)
    if _parallel(jobs):
        from .. import parallel
        return parallel.read_auditd(source, passwd=passwd, group=group, errors=errors,
                                    rejects=rejects, jobs=parallel.check_jobs(jobs))
    account = _Account()
    stream = _event_stream(source, passwd, group, errors, rejects, 10_000, account, max_line)
    table = _table(stream, AUDITD_EVENTS, account)
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
    if _parallel(jobs):
        from .. import parallel
        return parallel.open_auditd_records(source, errors=errors, rejects=rejects,
                                            jobs=parallel.check_jobs(jobs))
    return _record_stream(source, errors, rejects, batch_size, _Account(),
                          max_line).streamed()


def read_record_types(source: Source, prefixes: Iterable[str], *,
                      max_line_bytes: int | None = None) -> pa.Table:
    """The records of ``source`` whose type starts with one of ``prefixes`` (``auditd_records``
    schema, input order), for a report that needs a few record types of a large log: a byte
    search picks their lines before anything is lexed (kernel-ring lines, whose type is a number,
    are always lexed). Bad lines are left out here: this is a second look at input whose rejects
    the caller has from its first read, as the line numbers of the rows show."""
    prefixes = tuple(prefixes)
    wanted = re.compile(b"type=(?:" + b"|".join(re.escape(p.encode()) for p in prefixes)
                        + rb"|\d)").search
    records = _records(expand_sources(source), Rejecter("collect", RejectLog()), _Account(),
                       keep=wanted, max_line=_max_line(max_line_bytes))
    builder = BatchBuilder(AUDITD_RECORDS, 10_000)
    rows = _record_rows(r for r in records if r.type.startswith(prefixes))
    return pa.Table.from_batches(list(builder.batches(rows)), schema=AUDITD_RECORDS.arrow)


def read_auditd_records(source: Source, *, passwd: IdSource = None, group: IdSource = None,
                        errors: str = "collect", rejects: RejectLog | None = None,
                        jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """All auditd records of ``source`` as one table, one row per input record line (options as
    for :func:`open_auditd_records`)."""
    max_line = _max_line(max_line_bytes)
    if _parallel(jobs):
        from .. import parallel
        return parallel.read_auditd_records(source, errors=errors, rejects=rejects,
                                            jobs=parallel.check_jobs(jobs))
    account = _Account()
    stream = _record_stream(source, errors, rejects, 10_000, account, max_line)
    table = _table(stream, AUDITD_RECORDS, account)
    stream.builder.warn_if_coerced(stream.what)
    stream.rejecter.warn_if_unseen("auditd")
    return table
