"""One read of cloud service audit events: inputs → units → rows → RecordBatches (the work behind
``read_cloud_audit``/``open_cloud_audit``, in this process or in each worker of a parallel read).

The pipeline: sources (files, directories, globs, stdin, compression by magic bytes) → *units*
(one JSON line; a pretty-printed JSON document spread over several lines; one row of an IBM
Cloud Logs Parquet archive) → JSON values (a top-level array gives each element) → the first
registered provider whose ``unwrap`` claims a value (:mod:`auditlens.cloud.providers`) → one row
per event → RecordBatches of the ``cloud_events`` schema, times parsed per batch by Arrow.

Nothing is lost: every event becomes a row or a reject (file, line of the unit's start,
reason), and ``read_cloud_audit`` records the line account in the schema metadata like the
other readers: ``auditlens.lines`` (physical lines read; rows of a Parquet archive),
``auditlens.rejects``, ``auditlens.lines_in_rows``, ``auditlens.lines_in_rejects`` and
``auditlens.lines_empty``, which add up to ``auditlens.lines``. Rows left out by
``since``/``until`` are counted in ``auditlens.rows_outside`` (their lines stay in
``lines_in_rows``: they were read into rows, then filtered).

Speed: with the optional C fast path (:mod:`auditlens.cloud.native`) the lines that are one
plain IBM event each become rows in C, straight into Arrow columns, and the reader puts them in
their place among the rows of the other lines (:meth:`Read.flush_mixed`): the same batches, rows
and rejects as without it.

Times: a provider hands the time text as logged; Arrow's ISO 8601 parser reads every form the
providers write (``2022-06-30T03:12:49.63+0000``, ``…Z``, 7 or 9 fraction digits, ``+05:30``)
once per batch, then truncates to µs. A time of no ISO 8601 shape is rejected as it is read
(cheap check per event); one of that shape Arrow refuses (February 30th) when its batch is made.
"""

from __future__ import annotations

import importlib
import operator
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any, cast

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..build import gc_paused, safe_array
from ..errors import FormatError
from ..fastpath import finish
from ..rejects import Rejecter, RejectLog
from ..schema import CLOUD_EVENTS
from ..schema._column import TIME
from ..sources import READ_ERRORS, Source, expand_sources, line_chunks, release
from ..sources.lines import PREFIX_BYTES, LongLine, depth_change
from ..timerange import TimeBound, time_range
from . import native
from .limits import BATCH_ROWS, MAX_LINE_BYTES
from .providers import PROVIDERS, Provider

__all__ = ["BATCH_ROWS", "MAX_LINE_BYTES", "PROVIDER_MODULES", "Read", "parse_times"]

PROVIDER_MODULES = ("ibm", "aws", "gcp", "azure")
"""Provider modules imported (so that they register), in the order they are asked: IBM's events
have no key another provider claims. A module not written yet is skipped."""

for _name in PROVIDER_MODULES:
    try:
        importlib.import_module(f"{__package__}.{_name}")
    except ModuleNotFoundError as _exc:  # only the module itself may be missing, not its imports
        if _exc.name != f"{__package__}.{_name}":
            raise

MAX_VALUE_LINES = 1_000_000
PARQUET_COLUMN = "src_obj__user_data"
"""The IBM Cloud Logs archive column that holds the event as JSON text."""

_OPENERS = (b"{", b"[", b",", b":")
_BOM = b"\xef\xbb\xbf"
_NAMES = CLOUD_EVENTS.names
_GET = operator.itemgetter(*_NAMES)
_TYPES = [c.type for c in CLOUD_EVENTS.columns]
_TIME_AT = _NAMES.index("time")
_RAW_AT = _NAMES.index("raw")
_NS = pa.timestamp("ns", tz="UTC")
_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?"
                         r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)?").fullmatch
"""The ISO 8601 shapes Arrow reads: checked per event (cheap), so that a time that is no time
is rejected in input order; one of that shape Arrow still refuses (February 30th) is rejected
when its batch is made."""
_ROW_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
_NO_LIMIT = 1 << 62  # rows the C builder may hold: the reader flushes it by its own count



def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def _as_read(raw: bytes | str) -> bytes | str:
    """A reject's text without the line ending."""
    return raw.rstrip(b"\r\n") if isinstance(raw, bytes) else raw


def _arrays(table: pa.Table) -> list[pa.Array]:
    """The columns of a table as arrays, not copied when each is one chunk (a slice of one
    builder's rows): ``combine_chunks`` would copy every value."""
    return [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]


def _keys(value: Any) -> str:
    if type(value) is dict:
        shown = ", ".join(list(value)[:6])
        return f"an object with keys {shown}" if shown else "an empty object"
    return f"a JSON {type(value).__name__}"


def parse_times(texts: list[str] | pa.Array) -> tuple[pa.Array, list[int]]:
    """Times as logged (a list, or a string array) → the TIME column, vectorised; with the
    indexes of those not readable (null in the array). A time without an offset is UTC."""
    array = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string())
    try:
        return pc.cast(pc.cast(array, _NS), TIME, safe=False), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if isinstance(texts, pa.Array):
        texts = texts.to_pylist()
    out: list[Any] = []
    bad: list[int] = []
    for i, text in enumerate(texts):
        got = None
        for candidate in (text, text + "Z"):
            try:
                got = pc.cast(pc.cast(pa.array([candidate]), _NS), TIME, safe=False)[0]
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        if got is None:
            bad.append(i)
        out.append(got)
    return pa.array([None if v is None else v.value for v in out], TIME), bad


class _Account:
    __slots__ = ("lines", "lines_empty", "lines_in_rejects", "lines_in_rows", "rows_outside")

    def __init__(self) -> None:
        self.lines = self.lines_in_rows = self.lines_in_rejects = self.lines_empty = 0
        self.rows_outside = 0


class Read:
    """One read: its inputs, options, rejecter, account and the batches it makes."""

    def __init__(self, source: Source | None, errors: str, rejects: RejectLog | None,
                 since: TimeBound, until: TimeBound, max_line: int,
                 batch_size: int = BATCH_ROWS) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.rejecter = Rejecter(errors, rejects)
        self.lo, self.hi = time_range(since, until)
        self.inputs = [] if source is None else expand_sources(source)  # None: a worker's piece
        self.open_at_end = False  # a document was open at the end of the last input
        self.max_line = max_line
        self.batch_size = batch_size
        self.account = _Account()
        self.providers: list[Provider] = list(PROVIDERS.values())
        self.coerced = 0
        # rows waiting for their batch, and for each the lines to move to lines_in_rejects if
        # its time turns out unreadable (its unit's lines when it was the unit's only row)
        self.pending: list[dict[str, Any]] = []
        self.moves: list[int] = []
        # with the C fast path (native.py): its rows, finished (``sealed``) or still in the
        # builder, and for each pending Python row the number of C rows before it (``at``; kept
        # up to date before the builder takes lines, so rows made meanwhile share a number)
        self.builder: Any = None
        self.sealed: list[pa.RecordBatch] = []
        self.c_rows = 0
        self.at: list[int] = []

    # -- units → rows -----------------------------------------------------------------------

    def unit(self, name: str, value: Any, first: int, n_lines: int, raw: bytes | str) -> None:
        """The rows and rejects of one parsed unit; its lines counted by what it gave.

        ``raw`` of a row is the event's JSON text: the line itself when a one-line unit is the
        event (as logged; no second encoding), else the unwrapped event as compact JSON."""
        items = value if type(value) is list else (value,)
        whole = len(items) == 1
        rows = bad = 0
        pending = self.pending
        for item in items:
            for provider in self.providers:
                found = provider.unwrap(item)
                if found is not None:
                    break
            else:
                bad += 1
                self.rejecter.reject(name, first, f"JSON of no known provider ({_keys(item)})",
                                     _as_read(raw) if whole else _dumps(item))
                continue
            line: bytes | None = None  # the line is the event: its text as logged
            if (n_lines == 1 and item is value and isinstance(raw, bytes) and type(found) is tuple
                    and len(found) == 1 and found[0] is item):
                line = raw.rstrip(b"\r\n")
            for event in found:
                text = line if line is not None else orjson.dumps(event)
                try:
                    row = provider.row(event)
                except _ROW_ERRORS as exc:
                    bad += 1
                    self.rejecter.reject(name, first, f"{provider.name} event: "
                                         f"{type(exc).__name__}: {exc}", text)
                    continue
                when = row.get("time")
                if type(when) is not str or _TIME_SHAPE(when) is None:
                    bad += 1
                    why = ("without a time" if when in (None, "") else
                           f"time {when!r} cannot be read" if type(when) is str else
                           f"whose time is a {type(when).__name__}, not text")
                    self.rejecter.reject(name, first, f"{provider.name} event {why}", text)
                    continue
                if not row.get("provider"):
                    row["provider"] = provider.name
                row["raw"], row["file"], row["line"] = text, name, first
                pending.append(row)
                rows += 1
        acc = self.account
        if rows:
            acc.lines_in_rows += n_lines
            self.moves += [n_lines if rows == 1 else 0] * rows
        elif bad:
            acc.lines_in_rejects += n_lines
        else:
            acc.lines_empty += n_lines

    # -- inputs → units ---------------------------------------------------------------------

    def read_input(self, name: str, stream: Iterable[bytes]) -> Iterator[pa.RecordBatch]:
        """The batches of one input: a stream, or a piece's blocks (never a Parquet archive,
        which is not cut)."""
        failed: BaseException | None = None
        try:
            head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
        except READ_ERRORS as exc:  # e.g. a gzip header that is not one
            head, failed = b"", exc
        if head == b"PAR1":
            yield from self.parquet(name, cast(IO[bytes], stream))
            return
        builder = self.fast_builder()
        number = 0
        # a multi-line document: [first line, parts (None once too long), depth, bytes, lines,
        # first bytes once too long]
        value: list[Any] | None = None
        try:
            if failed is not None:  # rejected below, as damage further on is
                raise failed
            for lines in line_chunks(stream, 1024, max_line=self.max_line):
                if isinstance(lines, LongLine):
                    number += 1
                    self.reject_unit(name, number, 1, lines.reason, lines.prefix)
                    continue
                i, n = 0, len(lines)
                while i < n:
                    if builder is not None and value is None:  # plain IBM event lines, in C
                        self.at += [self.c_rows] * (len(self.pending) - len(self.at))
                        j = builder.add(lines, i, number - i + 1, name, _NO_LIMIT)
                        self.c_rows += j - i
                        self.account.lines_in_rows += j - i
                        number += j - i
                        i = j
                        if builder.full():
                            self.sealed.append(native.staged(finish(builder)))
                            continue
                        if i == n:
                            break
                    raw = lines[i]
                    i += 1
                    number += 1
                    if value is not None:
                        value = self.more(name, value, raw, number)
                        continue
                    try:
                        parsed = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        value = self.not_a_line(name, raw, number)
                    else:
                        self.unit(name, parsed, number, 1, raw)
                if len(self.pending) + self.c_rows >= self.batch_size:
                    yield from self.flush_rows()
        except READ_ERRORS as exc:
            number += 1
            self.reject_unit(name, number, 1, "the rest of the input could not be read (corrupt "
                             f"or truncated: {exc})", b"")
        self.open_at_end = value is not None
        if value is not None:
            if value[1] is None:
                self.reject_unit(name, value[0], value[4], self.too_long(value, None), value[5])
            else:
                self.reject_unit(name, value[0], value[4], f"JSON document starting at line "
                                 f"{value[0]} is not closed at the end of the input", value[1][0])
        self.account.lines += number

    def fast_builder(self) -> Any:
        """The C fast path's builder (made once), or None: not compiled, switched off, or the
        providers are not the registry's (IBM's is the one it knows, and it must be asked first)."""
        if (native.Builder is None or not self.providers
                or self.providers[0] is not PROVIDERS.get("ibm")):
            return None
        if self.builder is None:
            self.builder = native.Builder()
        return self.builder

    def not_a_line(self, name: str, raw: bytes, number: int) -> list[Any] | None:
        """A line that is not one JSON value: blank, the start of a document, or a reject."""
        text = raw.strip()
        if text.startswith(_BOM):
            text = text[3:].strip()
            if not text:
                self.account.lines_empty += 1
                return None
            try:
                self.unit(name, orjson.loads(text), number, 1, text)
                return None
            except orjson.JSONDecodeError:
                pass
        if not text:
            self.account.lines_empty += 1
            return None
        if text[:1] in (b"{", b"[") and text.endswith(_OPENERS) and depth_change(text) > 0:
            return [number, [raw], depth_change(text), len(raw), 1, b""]
        why = "invalid JSON (a line cut short?)" if text[:1] in (b"{", b"[") else "not JSON"
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            why = f"{why}: {exc}"
        self.reject_unit(name, number, 1, why, raw)
        return None

    def more(self, name: str, value: list[Any], raw: bytes, number: int) -> list[Any] | None:
        """One more line of a multi-line document; parsed once its brackets close. A document
        past the limit is no longer held, only followed to its end: one reject for all its lines
        (its first bytes kept), not one per line of its rest."""
        first = value[0]
        value[2] += depth_change(raw)
        value[3] += len(raw)
        value[4] += 1
        if value[1] is not None:
            value[1].append(raw)
        if value[2] <= 0:
            if value[1] is None:
                self.reject_unit(name, first, value[4], self.too_long(value, number), value[5])
                return None
            data = b"".join(value[1])
            try:
                parsed = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                self.reject_unit(name, first, value[4], f"invalid JSON document (lines "
                                 f"{first}–{number}): {exc}", data)
            else:
                self.unit(name, parsed, first, value[4], data)
            return None
        if value[1] is not None and (value[3] > self.max_line or value[4] >= MAX_VALUE_LINES):
            value[5] = b"".join(value[1])[:PREFIX_BYTES]
            value[1] = None
        return value

    def too_long(self, value: list[Any], last: int | None) -> str:
        where = f"lines {value[0]}–{last}" if last is not None else f"from line {value[0]}, not closed"
        return (f"JSON document too long: {value[3]} bytes in {value[4]} lines ({where}; limit "
                f"{self.max_line} bytes)")

    def parquet(self, name: str, stream: IO[bytes]) -> Iterator[pa.RecordBatch]:
        """An IBM Cloud Logs archive: the event of each row is JSON text in
        ``src_obj__user_data``; ``line`` is the row's number (1-based)."""
        import pyarrow.parquet as pq

        try:
            archive = pq.ParquetFile(pa.BufferReader(stream.read()))
            if PARQUET_COLUMN not in archive.schema_arrow.names:
                raise FormatError(f"Parquet file without a {PARQUET_COLUMN} column (not an IBM "
                                  "Cloud Logs archive)", file=name)
            number = 0
            for batch in archive.iter_batches(columns=[PARQUET_COLUMN]):
                for text in batch.column(0).to_pylist():
                    number += 1
                    if text is None or not str(text).strip():
                        self.account.lines_empty += 1
                        continue
                    try:
                        parsed = orjson.loads(text)
                    except orjson.JSONDecodeError as exc:
                        self.reject_unit(name, number, 1, f"{PARQUET_COLUMN} is not JSON: {exc}",
                                         str(text))
                        continue
                    self.unit(name, parsed, number, 1, str(text))
                if len(self.pending) + self.c_rows >= self.batch_size:
                    yield from self.flush_rows()
        except (pa.ArrowInvalid, OSError) as exc:
            raise FormatError(f"unreadable Parquet file: {exc}", file=name) from exc
        self.account.lines += number

    def reject_unit(self, name: str, first: int, n_lines: int, reason: str,
                    raw: bytes | str) -> None:
        if isinstance(raw, bytes):
            raw = raw.rstrip(b"\r\n")
        self.rejecter.reject(name, first, reason, raw)
        self.account.lines_in_rejects += n_lines

    # -- rows → batches ---------------------------------------------------------------------

    def flush_rows(self) -> Iterator[pa.RecordBatch]:
        """The pending rows as batches of at most ``batch_size``, times parsed, filtered."""
        rows, moves = self.pending, self.moves
        self.pending, self.moves = [], []
        if self.builder is not None and self.builder.rows:
            self.sealed.append(native.staged(finish(self.builder)))
        if self.sealed:
            yield from self.flush_mixed(rows, moves)
            return
        self.at = []
        for k in range(0, len(rows), self.batch_size):
            batch = self.batch(rows[k:k + self.batch_size], moves[k:k + self.batch_size])
            if batch is not None and batch.num_rows:
                yield batch

    def batch(self, rows: list[dict[str, Any]], moves: list[int]) -> pa.RecordBatch | None:
        times, bad = parse_times([r["time"] for r in rows])
        if bad:
            for i in bad:
                r = rows[i]
                self.reject_time(r["file"], r["line"], r["provider"], r["time"], r["raw"],
                                 moves[i])
            keep = sorted(set(range(len(rows))) - set(bad))
            rows = [rows[i] for i in keep]
            times = times.take(pa.array(keep, pa.int64()))
        if not rows:
            return None
        return self.finish(self.python_arrays(rows), times)

    def reject_time(self, file: str, line: int, provider: str, time: str, raw: bytes | str,
                    move: int) -> None:
        """A row whose time has the ISO 8601 shape but Arrow cannot read it (February 30th):
        rejected, its unit's lines moved to ``lines_in_rejects`` when it was their only row."""
        self.rejecter.reject(file, line, f"{provider} event time {time!r} cannot be read", raw)
        self.account.lines_in_rows -= move
        self.account.lines_in_rejects += move

    def python_arrays(self, rows: list[dict[str, Any]]) -> list[pa.Array]:
        """The Python path's rows as arrays of the ``cloud_events`` columns, ``time`` left as
        text; values that do not fit their column are nulled and counted (``coerced``)."""
        try:
            columns: list[Any] = list(zip(*map(_GET, rows)))
        except KeyError:
            columns = [[r.get(n) for r in rows] for n in _NAMES]
        arrays = []
        for i, (values, type_) in enumerate(zip(columns, _TYPES)):
            if i == _TIME_AT:
                arrays.append(pa.array(values, pa.string()))
                continue
            if i == _RAW_AT:  # JSON text as bytes (orjson checked the UTF-8): one cast
                try:
                    arrays.append(pa.array(values, pa.binary()).cast(pa.string()))
                    continue
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    values = [v.decode("utf-8", "replace") if type(v) is bytes else v
                              for v in values]
            array, nulled = safe_array(list(values), type_)
            self.coerced += nulled
            arrays.append(array)
        return arrays

    def flush_mixed(self, rows: list[dict[str, Any]],
                    moves: list[int]) -> Iterator[pa.RecordBatch]:
        """:meth:`flush_rows` with rows of the C fast path: the same batches as if every row had
        come from Python (the same cuts in input order, the same rejects in the same order)."""
        fast = pa.Table.from_batches(self.sealed, schema=native.STAGED)
        n = self.c_rows
        self.at += [n] * (len(rows) - len(self.at))
        at = self.at
        self.sealed, self.c_rows, self.at = [], 0, []
        # input order: C rows are 0…n-1, Python rows n, n+1… (the k-th before C row at[k])
        order: list[int] = []
        done = 0
        for k, before in enumerate(at):
            order.extend(range(done, before))
            order.append(n + k)
            done = before
        order.extend(range(done, n))
        size = self.batch_size
        for k in range(0, len(order), size):
            batch = self.mixed_batch(fast, rows, moves, order[k:k + size], n)
            if batch is not None and batch.num_rows:
                yield batch

    def mixed_batch(self, fast: pa.Table, rows: list[dict[str, Any]], moves: list[int],
                    idx: list[int], n: int) -> pa.RecordBatch | None:
        """One batch of rows ``idx`` (C rows below ``n``, Python rows ``n + k``)."""
        mine = [j - n for j in idx if j >= n]
        if not mine:  # only C rows, in a run
            texts = fast.column(_TIME_AT).slice(idx[0], len(idx)).combine_chunks()
        else:  # the C rows' times, then the Python rows' (in idx order), taken in idx order
            own = pa.array([rows[k]["time"] for k in mine], pa.string())
            after = iter(range(n, n + len(mine)))
            texts = pa.concat_arrays([fast.column(_TIME_AT).combine_chunks(), own]).take(
                pa.array([j if j < n else next(after) for j in idx], pa.int64()))
        times, bad = parse_times(texts)
        if bad:
            for i in bad:
                j = idx[i]
                if j >= n:
                    r = rows[j - n]
                    self.reject_time(r["file"], r["line"], r["provider"], r["time"], r["raw"],
                                     moves[j - n])
                else:
                    get = {name: fast.column(name)[j].as_py()
                           for name in ("file", "line", "provider", "time", "raw")}
                    self.reject_time(get["file"], get["line"], get["provider"], get["time"],
                                     get["raw"], 1)
            keep = sorted(set(range(len(idx))) - set(bad))
            idx = [idx[i] for i in keep]
            times = times.take(pa.array(keep, pa.int64()))
            mine = [j - n for j in idx if j >= n]
        if not idx:
            return None
        ours = [j for j in idx if j < n]
        if not mine:
            if ours == list(range(ours[0], ours[0] + len(ours))):
                part = fast.slice(ours[0], len(ours))
            else:
                part = fast.take(pa.array(ours, pa.int64()))
            return self.finish(_arrays(part), times)
        staged = pa.Table.from_arrays(self.python_arrays([rows[k] for k in mine]),
                                      schema=native.STAGED)
        if ours:
            # C rows first, then Python rows, put back in input order
            where = {j: p for p, j in enumerate(ours)}
            where.update({n + k: len(ours) + p for p, k in enumerate(mine)})
            staged = pa.concat_tables([fast.take(pa.array(ours, pa.int64())), staged]).take(
                pa.array([where[j] for j in idx], pa.int64()))
        return self.finish(_arrays(staged), times)

    def finish(self, arrays: list[pa.Array], times: pa.Array) -> pa.RecordBatch | None:
        """The batch of ``arrays`` (the ``cloud_events`` columns, ``time`` as text) with the
        parsed ``times``, filtered by ``since``/``until``."""
        arrays[_TIME_AT] = times
        batch = pa.RecordBatch.from_arrays(arrays, schema=CLOUD_EVENTS.arrow)
        if self.lo is None and self.hi is None:
            return batch
        mask = None
        if self.lo is not None:
            mask = pc.greater_equal(times, pa.scalar(self.lo, TIME))
        if self.hi is not None:
            upper = pc.less_equal(times, pa.scalar(self.hi, TIME))
            mask = upper if mask is None else pc.and_(mask, upper)
        kept = batch.filter(mask)
        self.account.rows_outside += batch.num_rows - kept.num_rows
        return kept

    def _batches(self) -> Iterator[pa.RecordBatch]:
        for inp in self.inputs:
            stream = inp.open()
            try:
                yield from self.read_input(inp.name, stream)
            finally:
                release(inp, stream)
        yield from self.flush_rows()

    def batches(self) -> Iterator[pa.RecordBatch]:
        return gc_paused(self._batches())

    def streamed(self) -> Iterator[pa.RecordBatch]:
        yield from self.batches()
        self.warn()

    def warn(self) -> None:
        import warnings

        if self.coerced:
            warnings.warn(f"{self.coerced} cloud audit value(s) did not fit their column type "
                          "and were stored as null", stacklevel=3)
        self.rejecter.warn_if_unseen("cloud audit")

    def table(self) -> pa.Table:
        table = pa.Table.from_batches(list(self.batches()), schema=CLOUD_EVENTS.arrow)
        acc = self.account
        meta = dict(table.schema.metadata or {})
        for key, count in (("lines", acc.lines), ("rejects", self.rejecter.count),
                           ("lines_in_rows", acc.lines_in_rows),
                           ("lines_in_rejects", acc.lines_in_rejects),
                           ("lines_empty", acc.lines_empty), ("rows_outside", acc.rows_outside)):
            meta[f"auditlens.{key}".encode()] = str(count).encode()
        return table.replace_schema_metadata(meta)
