"""``jobs=`` for auditd: the records and events readers over pieces (see :mod:`auditlens.scheduler`).

Records are one row per line: a piece's rows need only their line numbers shifted. Events are
records assembled across pieces: an event can straddle a cut, and the rotated files of one node
are one stream. Each worker assembles its piece with a fresh :class:`Assembler` and hands back
the events still *open* at its end (as records) with a staircase of the running maximum of the
record times. The parent carries the open events over the cut: an open event whose key shows up
in the next piece before that piece's time has moved past it (the assembler's timeout) takes that
event's records; otherwise it is closed where the time moves on, exactly as one assembler over
the whole stream would do. Events of different keys never interact in the assembler except
through its ``max_pending`` / ``max_records`` bounds; when a carried-over event could reach them
the read falls back to one process.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..build import BatchBuilder
from ..rejects import Rejecter, RejectLog
from ..scheduler import (
    DEFAULT_CHUNK_BYTES,
    Merge,
    Part,
    Piece,
    gc_paused_work,
    int64s,
    piece_arena_here,
    portable,
    shift,
    warn_coerced,
    with_meta,
    worker_rejecter,
)
from ..schema import AUDITD_EVENTS, AUDITD_RECORDS
from ..sources import Source
from ..sources.lines import LongLine
from . import assemble, native, native_records
from .event_row import failure_warning, full_event_row
from .lexer import MAX_LINE_BYTES, LexError, parse_line
from .records import Account, lexed, read_records
from .stream import event_stream, id_names, record_rows, record_stream

__all__ = ["open_auditd", "open_auditd_records", "read_auditd", "read_auditd_records"]

_BATCH = 10_000


@dataclass
class _Part(Part):
    """A piece's part with the events open at its end (rows before each, its records as the
    worker has them: see _Open) and their rows as if closed (native.Events.closed_tails)."""

    tails: list[tuple[int, list[Any]]] = field(default_factory=list)
    tail_table: pa.Table | None = None
    stair_lines: list[int] = field(default_factory=list)
    stair_max: list[int] = field(default_factory=list)
    failures: int = 0
    first_error: str = ""


def _records_of(piece: Piece, rejecter: Rejecter, account: Any, max_line: int) -> Iterator[Any]:
    """The piece's auditd records; bad lines go to the rejecter (as :func:`.records.read_records`)."""
    if piece.whole:
        yield from read_records([piece.input()], rejecter, account, max_line=max_line)
        return
    yield from lexed(piece.name, piece.lines(max_line), rejecter, account)


@gc_paused_work
def _auditd_records_work(piece: Piece, errors: str, keep: bool, max_line: int) -> _Part:
    rejecter = worker_rejecter(errors, keep)
    account = Account()
    builder = BatchBuilder(AUDITD_RECORDS, _BATCH)
    part = _Part()
    try:
        if native_records.available():
            reader = native_records.Records(rejecter, account, builder, max_line=max_line)
            with piece_arena_here() as part.arena:  # the fast path's columns, written once
                batches = list(reader.piece_batches(piece))
        else:
            batches = list(builder.batches(record_rows(_records_of(piece, rejecter, account,
                                                                   max_line))))
        part.table = pa.Table.from_batches(batches, schema=AUDITD_RECORDS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = portable(exc)
    part.account_for(account.lines, builder.coerced, rejecter)
    return part


class _AuditdRecordsMerge(Merge):
    what = "auditd record"
    shared_ends = True

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, *, max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)

    def work(self) -> Callable[[Piece], Any]:
        return partial(_auditd_records_work, errors=self.errors, keep=self.log is not None,
                       max_line=self.max_line)

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        self.lines += part.lines
        self.coerced += part.coerced
        self.add_rejects(part.rejects, part.n_rejects, offset)
        return iter(shift(part.table, offset).to_batches(max_chunksize=_BATCH))

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        account = Account()
        stream = record_stream(self.source, self.errors, rejects, _BATCH, account, self.max_line)
        return stream.batches(), (stream, account)

    def warn(self) -> None:
        if self.fell_back:
            stream, _ = self.sequential_state
            stream.builder.warn_if_coerced(stream.what)
            stream.rejecter.warn_if_unseen("auditd")
            return
        warn_coerced(self.coerced, self.what)
        self.rejecter.warn_if_unseen("auditd")

    def counts(self) -> tuple[int, int]:
        """(lines read, lines rejected) of the whole read."""
        if self.fell_back:
            stream, account = self.sequential_state
            return account.lines, stream.rejecter.count
        return self.lines, self.rejecter.count


def _is_done(ev: Any, after_max: int | None, timeout: int, max_records: int) -> bool:
    """Whether an event still queued at the end of a piece is complete (see the Assembler)."""

    records = ev.records
    return (records[-1].type == "EOE" or assemble.is_single_record_type(records[0].type)
            or len(records) >= max_records
            or (after_max is not None and after_max > ev.sec + timeout))


def _native_events_work(piece: Piece, errors: str, keep: bool, ids: Any,
                        max_line: int) -> _Part | None:
    """``_auditd_events_work`` on the C fast path (the same part); None when the piece has
    stamps beyond 64 bits, which only the Python path follows."""
    rejecter = worker_rejecter(errors, keep)
    account = Account()
    builder = BatchBuilder(AUDITD_EVENTS, _BATCH)
    strict = rejecter.mode == "raise"
    events = native.Events(ids, rejecter, account, builder, strict, track=True, max_line=max_line)
    part = _Part()
    try:
        with piece_arena_here() as part.arena:  # the fast path's columns, written once
            batches = list(events.piece_batches(piece))
            _, part.stair_lines, part.stair_max, big = events.parser.tracked()
            if big:
                return None
            part.tails, part.tail_table = events.tails, events.closed_tails()
        part.table = pa.Table.from_batches(batches, schema=AUDITD_EVENTS.arrow)
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in piece order
        part.error = portable(exc)
    part.failures, part.first_error = events.failures, events.first_error
    part.account_for(account.lines, builder.coerced, rejecter)
    return part


@gc_paused_work
def _auditd_events_work(piece: Piece, errors: str, keep: bool, ids: Any, max_line: int) -> _Part:
    if native.Parser is not None:
        fast = _native_events_work(piece, errors, keep, ids, max_line)
        if fast is not None:
            return fast
    rejecter = worker_rejecter(errors, keep)
    account = Account()
    builder = BatchBuilder(AUDITD_EVENTS, _BATCH)
    strict = rejecter.mode == "raise"
    part = _Part()
    batches: list[pa.RecordBatch] = []
    rows = 0

    def add(ev: Any) -> None:
        nonlocal rows
        row, error = full_event_row(ev, ids, strict)
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
        open_events: list[Any] = []
        for rec in _records_of(piece, rejecter, account, max_line):
            lines.append(rec.line)
            secs.append(rec.sec)
            if top is None or rec.sec > top:
                top = rec.sec
                part.stair_lines.append(rec.line)
                part.stair_max.append(rec.sec)
            for ev in asm.add(rec):
                add(ev)
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
        part.error = portable(exc)
    part.account_for(account.lines, builder.coerced, rejecter)
    return part


def _closed_tails(events: list[Any], ids: Any) -> pa.Table | None:
    """``native.Events.closed_tails`` on the Python path."""
    if not events:
        return None
    builder = BatchBuilder(AUDITD_EVENTS, len(events) + 1)  # one batch, from finish()
    for ev in events:
        row, error = full_event_row(ev, ids, False)
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
            self._event = native.event_of(self.items, [self.name], self.offset)
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
    table = shift(table, offset)
    return [_Open(items, piece.name, offset, first, (table, j))
            for j, ((_, items), first) in enumerate(zip(part.tails, _firsts(table)))]


def _firsts(table: pa.Table) -> Iterator[tuple[_Key, int, int, str]]:
    """Key, line, record count and first record type of each row of an events table."""
    cols = [table.column(n) for n in ("node", "serial", "time", "line", "record_count",
                                      "record_types")]
    cols[2] = cols[2].cast(pa.int64())
    for node, serial, t, line, count, types in zip(*(c.to_pylist() for c in cols)):
        yield (node, serial, *divmod(t // 1000, 1000)), line, count, types[0]


def _int64_values(column: pa.ChunkedArray) -> np.ndarray:
    """An int64 column as one numpy array, read from its buffers: ``to_numpy`` imports pandas
    (measured: 0.5 s of CPU or more in this process, at the first cut with open events, on the
    critical path of every auditd read)."""
    if column.null_count:
        return column.to_numpy()
    values = [np.frombuffer(chunk.buffers()[1], dtype=np.int64, count=chunk.offset + len(chunk))
              [chunk.offset:] for chunk in column.chunks]
    return np.concatenate(values) if values else np.empty(0, dtype=np.int64)


_NEVER = 1 << 62
"""The cut of an event the piece never closes: past its last line."""


def _cut(part: Any, key: _Key) -> int:
    """The line of a piece where its time first moves past a carried event's timeout (which
    closes the event), or ``_NEVER``."""
    j = bisect_right(part.stair_max, key[2] + assemble.END_OF_EVENT_TIMEOUT)
    return part.stair_lines[j] if j < len(part.stair_lines) else _NEVER


def _cannot_join(first_type: str, records: int) -> bool:
    """Whether an event that continues another cannot be its continuation, as the Assembler
    decides; the parallel read then falls back to one process."""

    return ((first_type != "EOE" and assemble.is_single_record_type(first_type))
            or records >= assemble.MAX_RECORDS)


class _AuditdEventsMerge(_AuditdRecordsMerge):
    what = "auditd event"

    def __init__(self, source: Source, errors: str, rejects: RejectLog | None, jobs: int,
                 chunk_bytes: int, passwd: Any, group: Any, *,
                 max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)
        self.passwd, self.group = passwd, group
        self.ids = id_names(passwd, group)
        self.out: deque[pa.Table | _Open] = deque()
        self.carried: list[_Open] = []
        self.failures = 0
        self.first_error = ""

    def work(self) -> Callable[[Piece], Any]:
        return partial(_auditd_events_work, errors=self.errors, keep=self.log is not None,
                       ids=self.ids, max_line=self.max_line)

    def sequential(self, rejects: RejectLog | None) -> tuple[Iterator[pa.RecordBatch], Any]:
        account = Account()
        stream = event_stream(self.source, self.passwd, self.group, self.errors, rejects,
                              _BATCH, account, self.max_line)
        return stream.batches(), (stream, account)

    def _close(self, item: _Open) -> None:
        if item.prebuilt is not None and not item.grown:
            item.row = item.prebuilt
            return
        row, error = full_event_row(item.event, self.ids, self.errors == "raise")
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
                        value_set=int64s({c.key[1] for c in self.carried}))
        rows = pc.indices_nonzero(mask).to_pylist()
        for i, (key, line, count, first_type) in zip(rows, _firsts(table.filter(mask))):
            if key not in finals or line < finals[key][1]:
                finals[key] = (i, line, count, first_type)
        return finals

    def _overflows(self, part: Any, opens: list[_Open], offset: int) -> bool:
        """Whether one assembler over the whole input could hold more than ``MAX_PENDING``
        events while it reads this piece (and so close the oldest early, which the merge does not
        follow). Its queue then holds what is left of the earlier pieces' queue, from the oldest
        carried event still open, and every event this piece has begun so far: none of them can
        go out before the earlier ones. A carried event closes where the piece's time moves past
        it (``_cut``), or stays open through the piece. Adding the queue to the worker's peak
        instead counted two windows of log time that never overlap (on a busy log without EOE,
        5,000 open events at a cut and a piece peak of 5,700 fell back in 4 of 9 reads, where one
        process never held more than 5,747)."""
        closes: list[tuple[float, int]] = []  # (cut line in the piece, place in the queue)
        place = 0
        for x in self.out:
            if isinstance(x, pa.Table):
                place += x.num_rows
                continue
            if x.row is None:
                closes.append((_cut(part, x.key), place))
            place += 1
        if not closes:
            return False  # nothing open: the queue before this piece is empty
        closes.sort()
        cuts = np.array([min(c, _NEVER) for c, _ in closes], dtype=np.int64)
        # events this piece began before each cut: its rows' first lines rise with the rows
        began = np.searchsorted(_int64_values(part.table.column("line")), cuts)
        tails = sorted(o.line - offset for o in opens)
        first_open = place
        for i in range(len(closes) - 1, -1, -1):  # the open set at cut i is closes[i:]
            first_open = min(first_open, closes[i][1])
            if place - first_open + int(began[i]) + bisect_left(tails, cuts[i]) >= \
                    assemble.MAX_PENDING:
                return True
        return False

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        table: pa.Table = part.table
        opens = _opens(piece, part, offset)
        if self._overflows(part, opens, offset):
            return None
        # carried events meet this piece: their continuation is its first row or open event
        # with their key, unless the log moved on past the event's timeout before it
        finals = self._finals(table)
        tails = {o.key: (j, o) for j, o in enumerate(opens)}
        drop_rows: set[int] = set()
        drop_tails: set[int] = set()
        wanted: dict[_Key, tuple[int, int, _Open]] = {}
        still: list[_Open] = []
        for item in self.carried:
            key = item.key
            cut: int | None = _cut(part, key)  # local line
            cut = None if cut == _NEVER else cut
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
            for key, records in _relex(piece, wanted, self.max_line).items():
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
        table = shift(table, offset)
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
        if not self.fell_back and self.failures:
            warnings.warn(failure_warning(self.failures, self.first_error), stacklevel=3)
        super().warn()


def _relex(piece: Piece, wanted: dict[_Key, tuple[int, int, Any]],
           max_line: int) -> dict[_Key, list[Any]]:
    """Records of the named local events, read again from the piece: an event is the first
    ``count`` records with its key from its first line on (an over-long line, rejected by the
    worker, is none of them)."""
    found: dict[_Key, list[Any]] = {k: [] for k in wanted}
    left = len(wanted)
    start = min(line for line, _, _ in wanted.values())
    with closing(piece.lines(max_line)) as lines:
        for number, raw in lines:
            if number < start or isinstance(raw, LongLine):
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


def _events_chunk(chunk_bytes: int | None) -> int:
    """Piece size for auditd events: larger on the C fast path, which reads a 32 MB piece in
    a fraction of a second while every cut costs the parent the events open across it (a few
    thousand on a busy log without EOE records)."""
    if chunk_bytes is not None:
        return chunk_bytes
    return DEFAULT_CHUNK_BYTES * (4 if native.Parser is not None else 1)


def open_auditd(source: Source, *, passwd: Any, group: Any, errors: str,
                rejects: RejectLog | None, jobs: int, max_line: int = MAX_LINE_BYTES,
                chunk_bytes: int | None = None) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_auditd` with ``jobs`` processes."""
    return _AuditdEventsMerge(source, errors, rejects, jobs, _events_chunk(chunk_bytes), passwd,
                              group, max_line=max_line).streamed()


def read_auditd(source: Source, *, passwd: Any, group: Any, errors: str,
                rejects: RejectLog | None, jobs: int, max_line: int = MAX_LINE_BYTES,
                chunk_bytes: int | None = None) -> pa.Table:
    """:func:`auditlens.read_auditd` with ``jobs`` processes."""
    merge = _AuditdEventsMerge(source, errors, rejects, jobs, _events_chunk(chunk_bytes), passwd,
                               group, max_line=max_line)
    return _auditd_table(merge, AUDITD_EVENTS.arrow)


def open_auditd_records(source: Source, *, errors: str, rejects: RejectLog | None, jobs: int,
                        max_line: int = MAX_LINE_BYTES,
                        chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[pa.RecordBatch]:
    """:func:`auditlens.open_auditd_records` with ``jobs`` processes."""
    return _AuditdRecordsMerge(source, errors, rejects, jobs, chunk_bytes,
                               max_line=max_line).streamed()


def read_auditd_records(source: Source, *, errors: str, rejects: RejectLog | None, jobs: int,
                        max_line: int = MAX_LINE_BYTES,
                        chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> pa.Table:
    """:func:`auditlens.read_auditd_records` with ``jobs`` processes."""
    merge = _AuditdRecordsMerge(source, errors, rejects, jobs, chunk_bytes, max_line=max_line)
    return _auditd_table(merge, AUDITD_RECORDS.arrow)


def _auditd_table(merge: _AuditdRecordsMerge, schema: pa.Schema) -> pa.Table:
    table = pa.Table.from_batches(list(merge.batches()), schema=schema)
    lines, rejected = merge.counts()
    table = with_meta(table, {"lines": lines, "rejects": rejected})
    merge.warn()
    return table


