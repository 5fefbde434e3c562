"""The optional C fast path of the auditd events reader (``_fastaudit.c``) and its Python side.

A :class:`Parser` lexes and assembles the lines of a read and makes the AUDITD_EVENTS row of
every SYSCALL event straight into Arrow buffers. It leaves to this module what it does not do
the same way: the lines it does not lex (:func:`parse_line` lexes them here and the record goes
back into the parser's assembler, or the line is rejected) and the events it declines (user
space, AVC, a few syscall classes...), whose rows ``full_event_row`` makes here as on the Python
path and the parser stores in their places. Values that need the project's tables (user names,
syscall names, decoding) come from :class:`Render`, which the parser asks once per distinct
value.

Compiled at install time when a C compiler is there (``setup.py``); without one, or with
``AUDITLENS_PURE_PYTHON=1`` in the environment, the reader runs in Python with the same output
(tests/test_auditd_native.py holds the two equal).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from ..build import BatchBuilder, gc_paused
from ..fastpath import array_of, finish, load
from ..rejects import Rejecter
from ..schema.auditd import AUDITD_EVENTS, PATH_ITEM
from ..sources import READ_ERRORS, InputFile, release
from ..sources.lines import LongLine, Span, line_spans, strip_ending
from . import interpret as itp
from . import normalize as nz
from .assemble import is_single_record_type
from .event_row import failure_warning, full_event_row
from .ids import IdNames
from .lexer import MAX_LINE_BYTES, LexError, parse_line
from .model import Event, Record
from .records import Account

if TYPE_CHECKING:
    from ..scheduler.pieces import Piece

Parser: Any = load("auditlens.auditd._fastaudit", "Parser")
"""The fast path's parser type, or None: the reader looks it up at each read (tests switch it
off here)."""

# what the parser asks Render for (the numbers of _fastaudit.c's R_* enum)
(R_SINGLE, R_TEXT, R_PATH_TEXT, R_USER, R_GROUP, R_DECODED, R_ARCH, R_SYSCALL, R_ERRNO, R_CWD,
 R_PROCTITLE, R_PATH_NAME, R_HANDLED, R_SADDR, R_ACCESS_FIELD, R_ACCESS) = range(16)
# which branch of the normaliser's syscall() a class takes (_fastaudit.c's PL_* enum)
(PL_FILE, PL_LDMOD, PL_MOUNT, PL_KIND_ONLY, PL_ELSE, PL_DECLINE, PL_SOCKET, PL_PID, PL_PROGRAM,
 PL_MEMORY) = range(10)
_DECLINED_CLASSES = frozenset({"mac-load", "mac-config", "mac-enforce", "iptables",
                               "promiscuous", "bpf", "ev-listen"})
_OTHER_EVENT_TYPES = frozenset({"AVC", "USER_AVC", "SYSCALL", "OPENAT2"})
"""Record types that make the parser decline a SYSCALL event besides the normaliser's
companion records: access decisions (the row's AVC columns), a second SYSCALL record and
OPENAT2 (openat2's flags, for the ``access`` column)."""
_KIND_ONLY_CLASSES = frozenset({"mac-err", "system-time", "system-name", "file-unldmod"})
_MODE_ORDER = (0o100000, 0o040000, 0o020000, 0o060000, 0o010000, 0o120000, 0o140000)
"""The mode bits in the order of _fastaudit.c's MODE_BITS."""


def _arch(enriched: str | None, raw: str | None) -> str | None:
    """event_row's arch: the ENRICHED ARCH, else the name of arch=."""
    return enriched or (itp.arch_of(raw) if raw else None)


class Render:
    """The interpretation of one value, as the Python path gives it; called by the parser only
    for values it has not seen in this read (so never on the hot path)."""

    def __init__(self, ids: IdNames) -> None:
        self.ids = ids

    def __call__(self, kind: int, *p: str | None) -> Any:
        if kind == R_SINGLE:
            return is_single_record_type(p[0] or "")
        if kind == R_TEXT:
            rtype, name, raw, enriched, node, earch, arch = p
            return nz.render_value(self.ids, node, _arch(earch, arch), rtype or "", name or "",
                                   raw or "", enriched)
        if kind == R_PATH_TEXT:
            raw, cwd = p
            base = itp.decode_value(cwd, itp.encoded("CWD", "cwd")) if cwd is not None else None
            return nz.absolute(itp.decode_value(raw, True) or "", base)
        if kind == R_USER:
            return self.ids.user(*p)
        if kind == R_GROUP:
            return self.ids.group(*p)
        if kind == R_DECODED:
            rtype, name, raw = p
            value = itp.decoded_clean(rtype or "", name or "", raw or "")
            if name == "acct" and value is not None:
                value = value.rstrip(":") or None
            return value
        if kind == R_ARCH:
            return _arch(None, p[0])
        if kind == R_SYSCALL:
            arch, nr = _arch(p[0], p[1]), itp.to_int(p[2])
            return (itp.syscall_of(arch, nr) if arch and nr is not None else None) or p[3]
        if kind == R_ERRNO:
            return itp.errno_of(int(p[0] or "0"))
        if kind == R_CWD:
            return itp.clean(itp.decode_value(p[0], itp.encoded("CWD", "cwd")))
        if kind == R_PROCTITLE:
            return itp.proctitle(p[0])
        if kind == R_PATH_NAME:
            return itp.clean(itp.decode_value(p[0], itp.encoded("PATH", "name")))
        if kind == R_HANDLED:
            return p[0] not in nz.rules().companions and p[0] not in _OTHER_EVENT_TYPES
        if kind == R_SADDR:
            dec = itp.decode_sockaddr(p[0], big_endian=_arch(p[1], p[2]) in itp.BIG_ENDIAN_ARCHES)
            return None if dec is None else (dec.family, dec.address, dec.port)
        if kind == R_ACCESS_FIELD:
            return itp.access_flags_field(p[0])
        if kind == R_ACCESS:
            arch, syscall, raw = p
            where = itp.access_flags_field(syscall)
            got = itp.access_of(arch, syscall, itp.open_flags_value(where, raw))
            return None if got is None else ",".join(got)  # the parser splits it into the list
        raise ValueError(f"unknown render kind {kind}")


def _plan(syscall: str, objclass: str) -> tuple[Any, ...]:
    """What normalize's syscall() does for a syscall of a class, for the parser."""
    r = nz.rules()
    act, kind = r.class_actions.get(objclass), r.class_kinds.get(objclass)
    if objclass in r.file_offsets:
        offset = r.file_offsets[objclass] + (r.fd_variants.get(syscall, 0) if objclass != "file" else 0)
        return (PL_FILE, act, kind, offset, objclass == "file", objclass == "make-dev")
    if objclass == "file-ldmod":
        return (PL_LDMOD, act, kind, 0)
    if objclass == "file-mount":
        return (PL_MOUNT, act, kind, 0)
    if objclass.startswith("socket-"):
        return (PL_SOCKET, act, kind, 0)
    if objclass == "pid":
        return (PL_PID, act, kind, 0)
    if objclass in ("uid", "gid", "scheduler"):
        return (PL_PROGRAM, act, kind, 0)
    if objclass == "system-memory":
        return (PL_MEMORY, act, kind, 0)
    if objclass in _DECLINED_CLASSES:
        return (PL_DECLINE, None, None, 0)
    if objclass in _KIND_ONLY_CLASSES:
        return (PL_KIND_ONLY, act, kind, 0)
    return (PL_ELSE, act, kind, 0)


def context() -> dict[str, Any]:
    """The normaliser's constants, as the parser reads them."""
    r = nz.rules()
    kinds = r.acct["kinds"]
    return {
        "event_kind": nz.event_kind("SYSCALL"),
        "privileged": kinds["privileged"], "unset": kinds["unset"], "system": kinds["system"],
        "user": kinds["user"], "other": kinds["other"],
        "privileged_uid": r.acct["privileged_uid"], "max_system_uid": r.acct["max_system_uid"],
        "max_user_uid": r.acct["max_user_uid"],
        "interpreters": tuple(r.interpreter_prefixes),
        "plans": {name: _plan(name, cls) for name, cls in r.syscall_classes.items()},
        "unknown_plan": _plan("", "unknown"),
        "unknown_kind": r.class_kinds["unknown"],
        "triggered": "triggered-audit-rule", "triggered_unknown": "triggered-unknown-audit-rule",
        "made_character_device": "made-character-device",
        "made_block_device": "made-block-device", "make_device": "make-device",
        "file_kind": "file",
        "mode_kinds": tuple(nz.MODE_KINDS[m] for m in _MODE_ORDER),
        "killed_list": "killed-list-of-pids", "killed_pid": "killed-pid",
        "allocated": "allocated-memory", "allocated_in": "allocated-memory-in", "empty": "",
        "columns": tuple(AUDITD_EVENTS.names),
        "path_fields": tuple(f.name for f in PATH_ITEM),
    }


def _batch_of(parser: Any) -> pa.RecordBatch:
    """The rows a parser holds, as a batch (the parser starts afresh)."""
    schema = AUDITD_EVENTS.arrow
    cols = [array_of(e, f.type) for e, f in zip(finish(parser), schema)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def _no_render(kind: int, *parts: str | None) -> Any:
    raise AssertionError("a RowBatcher's parser lexes nothing")


class RowBatcher:
    """``BatchBuilder(AUDITD_EVENTS)`` through the parser's ``put_row``: the same batches and
    nulled values, without pyarrow's conversion of Python objects (whose first use imports
    pandas, half a second the parallel reader's parent would take from its workers)."""

    def __init__(self, batch_size: int) -> None:
        self.parser = Parser(_no_render, context())
        self.batch_size = batch_size

    def __len__(self) -> int:
        return int(self.parser.rows)

    @property
    def coerced(self) -> int:
        return int(self.parser.coerced)

    def append(self, row: dict[str, Any]) -> pa.RecordBatch | None:
        self.parser.put_row(row)
        return self.finish() if self.parser.rows >= self.batch_size else None

    def finish(self) -> pa.RecordBatch:
        return _batch_of(self.parser)


def row_batcher(batch_size: int) -> RowBatcher | BatchBuilder:
    """What turns Python event rows into batches: a RowBatcher when the fast path is there."""
    if Parser is not None:
        return RowBatcher(batch_size)
    return BatchBuilder(AUDITD_EVENTS, batch_size)


def event_of(items: list[Any], files: list[str], offset: int = 0) -> Event:
    """The event of records as the parser hands them over (``take_declined``): a Record for a
    line lexed in Python, else ``(raw, file index, line)``, lexed here; lines moved by
    ``offset`` (a parallel piece's first line in its file)."""
    records: list[Record] = []
    for item in items:
        if isinstance(item, Record):
            item.line += offset
            records.append(item)
        else:
            raw, file, line = item
            records.append(parse_line(raw, files[file], line + offset))
    first = records[0]
    return Event(first.node, first.serial, first.sec, first.msec, records)


class LineReader:
    """What the fast path's readers share: the inputs of a read (or the spans of a parallel
    piece) handed to ``_block`` a block of whole lines at a time, every line counted, a line
    over ``max_line`` rejected, a read error the rest of an input's one reject (as
    :func:`.records.read_records` does on the Python path)."""

    def __init__(self, rejecter: Rejecter, account: Any, max_line: int) -> None:
        self.rejecter, self.account, self.max_line = rejecter, account, max_line
        self.files: list[str] = []
        self.read = 0

    def _block(self, block: bytes, first: int, index: int, start: int = 0,
               end: int | None = None) -> Generator[pa.RecordBatch, None, int]:
        """The batches of the lines of ``block[start:end]`` numbered from ``first``; returns how
        many lines there were."""
        raise NotImplementedError

    def _end(self) -> Iterator[pa.RecordBatch]:
        """The batches still held at the end of the read."""
        raise NotImplementedError

    def _spans(self, spans: Iterable[Span | LongLine], index: int) -> Iterator[pa.RecordBatch]:
        """The lines of ``spans``, counted as they are read; a LongLine is rejected. A stream's
        spans come in the blocks the Python path reads, so a read error comes at the same line."""
        for item in spans:
            if isinstance(item, LongLine):
                self.account.lines += 1
                self.read += 1
                self.rejecter.reject(self.files[index], self.read, item.reason, item.prefix)
                continue
            block, start, end = item
            lines = yield from self._block(block, self.read + 1, index, start, end)
            self.account.lines += lines
            self.read += lines

    def batches(self, inputs: list[InputFile]) -> Iterator[pa.RecordBatch]:
        """The read's batches."""
        return gc_paused(self._batches(inputs))

    def piece_batches(self, piece: Piece) -> Iterator[pa.RecordBatch]:
        """The batches of a parallel read's piece: a whole input, or a byte range of a plain
        file cut with this read's ``max_line``."""
        if piece.whole:
            return self.batches([piece.input()])
        return self.span_batches(piece.name, piece.spans(self.max_line))

    def span_batches(self, name: str, spans: Iterable[Span | LongLine]) -> Iterator[pa.RecordBatch]:
        """The batches of the lines in ``spans`` (a byte range of a plain file), numbered from
        1; the spans are to be cut with this read's ``max_line`` (:func:`line_spans`)."""
        self.files.append(name)
        return gc_paused(self._from_spans(spans))

    def _from_spans(self, spans: Iterable[Span | LongLine]) -> Iterator[pa.RecordBatch]:
        yield from self._spans(spans, 0)
        yield from self._end()

    def _batches(self, inputs: list[InputFile]) -> Iterator[pa.RecordBatch]:
        for inp in inputs:
            self.files.append(inp.name)
            index = len(self.files) - 1
            stream = inp.open()
            self.read = 0  # lines of this input so far
            try:
                yield from self._spans(line_spans(stream, self.max_line), index)
            except READ_ERRORS as exc:
                self.account.lines += 1
                self.rejecter.reject(
                    inp.name, self.read + 1,
                    f"the rest of the input could not be read (corrupt or truncated: {exc})", b"")
            finally:
                release(inp, stream)
        yield from self._end()


class Events(LineReader):
    """The batches of one read on the fast path (what ``stream.event_rows`` and a
    ``BatchBuilder`` give on the Python path: the same rows, in batches of ``batch_size``)."""

    def __init__(self, ids: IdNames, rejecter: Rejecter, account: Any, builder: BatchBuilder,
                 strict: bool, *, track: bool = False, max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__(rejecter, account, max_line)
        self.ids, self.builder, self.strict = ids, builder, strict
        self.size = builder.batch_size
        self.track = track
        self.parser = Parser(Render(ids), context(), track)
        self.emitted = 0
        self.tails: list[tuple[int, list[Any]]] = []
        """With ``track`` (a parallel worker's piece): the events still open at its end, each
        with the number of rows before it, as the parser hands them over: records not lexed,
        ``(raw, file, line)``, and a Record for a line lexed in Python."""
        self.failures = 0
        self.first_error = ""

    def _settle(self) -> Iterator[pa.RecordBatch]:
        """Take what the parser holds: the row of a declined event (made here, on the Python
        path) or an open event at the end of a tracked read, then a full batch."""
        parser = self.parser
        for at, records, tail in parser.take_declined():
            if tail:
                self.tails.append((self.emitted + at, records))
                continue
            row, error = full_event_row(event_of(records, self.files), self.ids, self.strict)
            if error is not None:
                self.failures += 1
                self.first_error = self.first_error or error
            parser.put_row(row)
        if parser.rows >= self.size or parser.full:
            yield self._batch()

    def _holds(self) -> bool:
        """Whether the parser stopped because it holds something to take (not for a line)."""
        parser = self.parser
        return bool(parser.rows >= self.size or parser.full or parser.has_declined)

    def _batch(self) -> pa.RecordBatch:
        self.emitted += self.parser.rows
        return _batch_of(self.parser)

    def _python_line(self, raw: bytes, index: int, number: int) -> None:
        name = self.files[index]
        line = strip_ending(raw)
        try:
            record = parse_line(line, name, number)
        except LexError as exc:
            self.rejecter.reject(name, number, exc.reason, line)
            return
        self._inject(record, index)

    def _inject(self, record: Record, index: int) -> None:
        self.parser.inject(record, record.node, record.type, record.sec, record.msec,
                           record.serial, index, record.line, self.files, self.size)

    def _block(self, block: bytes, first: int, index: int, start: int = 0,
               end: int | None = None) -> Generator[pa.RecordBatch, None, int]:
        """The lines of ``block[start:end]`` (whole lines, the last may lack its newline),
        numbered from ``first``; returns how many there were. The parser takes lines until it
        holds something to take (a declined event, a full batch) or meets a line for Python."""
        pos, number, size = start, first, len(block) if end is None else end
        parser = self.parser
        while True:
            pos, taken_lines = parser.add_block(block, pos, size, number, index, self.files,
                                                self.size)
            number += taken_lines
            taken = self._holds()
            yield from self._settle()
            if taken:
                continue
            if pos >= size:
                return number - first
            stop = block.find(b"\n", pos, size) + 1 or size
            self._python_line(block[pos:stop], index, number)
            pos, number = stop, number + 1
            yield from self._settle()

    def _end(self) -> Iterator[pa.RecordBatch]:
        """The end of the input: the events still open go out (or, tracked, become tails)."""
        yield from self._flush()
        self.builder.coerced += self.parser.coerced
        if self.failures and not self.track:
            warnings.warn(failure_warning(self.failures, self.first_error), stacklevel=3)

    def _flush(self) -> Iterator[pa.RecordBatch]:
        while self.parser.flush(self.files, self.size, self.track) or self.parser.has_declined:
            yield from self._settle()
        yield from self._settle()
        if self.parser.rows:
            yield self._batch()

    def closed_tails(self) -> pa.Table | None:
        """The rows of ``tails`` as if each event closed with the records it has, one per tail
        in their order, made by a second parser from their lines. Most do close so (on a log
        without EOE records every event of a piece's last seconds is open at its end), and
        making their rows here, in C, keeps that work off the parallel reader's parent. None
        where the parent must make them itself: strict reads (a failure raises where the event
        closes), and rows that failed or lost a value (counted once, where they are used)."""
        if self.strict or not self.tails:
            return None
        again = Events(self.ids, Rejecter("collect", None), Account(),
                       BatchBuilder(AUDITD_EVENTS, self.size), strict=False)
        again.files = self.files
        index = {name: i for i, name in enumerate(self.files)}
        lines = sorted(((index[item.file], item.line, item) if isinstance(item, Record)
                        else (item[1], item[2], item) for _, records in self.tails
                        for item in records), key=lambda x: (x[0], x[1]))
        batches: list[pa.RecordBatch] = []
        run: list[bytes] = []  # consecutive lines, lexed as one block
        first = file = 0
        for at, number, item in lines:
            if run and (isinstance(item, Record) or at != file or number != first + len(run)):
                batches += again._block(b"\n".join(run), first, file)
                run = []
            if isinstance(item, Record):
                again._inject(item, at)
                batches += again._settle()
            else:
                if not run:
                    first, file = number, at
                run.append(item[0])
        if run:
            batches += again._block(b"\n".join(run), first, file)
        batches += again._flush()
        if again.failures or again.rejecter.count or again.parser.coerced:
            return None
        table = pa.Table.from_batches(batches, schema=AUDITD_EVENTS.arrow)
        table = table.take(pc.sort_indices(table, [("line", "ascending")]))
        firsts = [records[0].line if isinstance(records[0], Record) else records[0][2]
                  for _, records in self.tails]
        return table if table.column("line").to_pylist() == firsts else None


__all__ = ["Events", "LineReader", "Parser", "Render", "context"]
