"""One-process reads of auditd logs: the stream of rows or batches behind each reader, and
the identity files that name a RAW node's ids."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ..build import BatchBuilder
from ..errors import SourceError
from ..rejects import Rejecter, RejectLog
from ..schema import AUDITD_EVENTS, AUDITD_RECORDS, TableSchema
from ..sources import InputFile, Source, expand_sources
from . import native, native_records
from .assemble import Assembler
from .event_row import failure_warning, full_event_row
from .ids import IdNames, IdSource
from .lexer import MAX_LINE_BYTES
from .model import Event, Record
from .records import Account, read_records, record_row

__all__ = ["Stream", "event_stream", "id_names", "record_rows", "record_stream", "table_of"]


def id_names(passwd: IdSource, group: IdSource) -> IdNames:
    try:
        return IdNames(passwd=passwd, group=group)
    except OSError as exc:
        raise SourceError(f"cannot read passwd/group file: {exc.strerror or exc}",
                          file=getattr(exc, "filename", None)) from exc


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


def record_rows(records: Iterator[Record]) -> Iterator[dict[str, Any]]:
    return map(record_row, records)


class Stream:
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


def table_of(stream: Stream, schema: TableSchema, account: Account) -> pa.Table:
    table = pa.Table.from_batches(list(stream.batches()), schema=schema.arrow)
    meta = dict(table.schema.metadata or {})
    meta[b"auditlens.lines"] = str(account.lines).encode()
    meta[b"auditlens.rejects"] = str(stream.rejecter.count).encode()
    return table.replace_schema_metadata(meta)


class _NativeStream(Stream):
    """The same batches from the C fast path (:mod:`.native`, :mod:`.native_records`)."""

    def __init__(self, reader: native.LineReader, inputs: list[InputFile], builder: BatchBuilder,
                 rejecter: Rejecter, what: str) -> None:
        super().__init__(iter(()), builder, rejecter, what)
        self.reader, self.inputs = reader, inputs

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.reader.batches(self.inputs)


def event_stream(source: Source, passwd: IdSource, group: IdSource, errors: str,
                 rejects: RejectLog | None, batch_size: int,
                 account: Account, max_line: int = MAX_LINE_BYTES) -> Stream:
    rejecter = Rejecter(errors, rejects)
    inputs = expand_sources(source)
    ids = id_names(passwd, group)
    builder = BatchBuilder(AUDITD_EVENTS, batch_size)
    strict = rejecter.mode == "raise"
    if native.Parser is not None:
        events = native.Events(ids, rejecter, account, builder, strict, max_line=max_line)
        return _NativeStream(events, inputs, builder, rejecter, "auditd event")
    records = read_records(inputs, rejecter, account, max_line=max_line)
    rows = _event_rows(Assembler().assemble(records), ids, strict)
    return Stream(rows, builder, rejecter, "auditd event")


def record_stream(source: Source, errors: str, rejects: RejectLog | None, batch_size: int,
                  account: Account, max_line: int = MAX_LINE_BYTES) -> Stream:
    rejecter = Rejecter(errors, rejects)
    inputs = expand_sources(source)
    builder = BatchBuilder(AUDITD_RECORDS, batch_size)
    if native_records.available():
        reader = native_records.Records(rejecter, account, builder, max_line=max_line)
        return _NativeStream(reader, inputs, builder, rejecter, "auditd record")
    rows = record_rows(read_records(inputs, rejecter, account, max_line=max_line))
    return Stream(rows, builder, rejecter, "auditd record")
