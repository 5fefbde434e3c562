"""One input file → raw rows: finding the units (JSON values, container records, text lines).

A *unit* is what holds Events: one JSON line, a pretty-printed JSON value spread over several
lines, a CRI record joined from its ``P`` partial lines, a docker json-file record joined from its
split ``log`` pieces, a legacy text line. Detection is per line, so mixed files read fine.

Accounting (the "nothing lost" rule): every physical line belongs to exactly one unit or is
blank. A unit that gave at least one row counts its lines in ``lines_in_rows``; one that gave only
rejects in ``lines_in_rejects``; one that gave neither (an empty EventList, ``[]``) and blank lines
in ``lines_empty``; so ``lines = lines_in_rows + lines_in_rejects + lines_empty``. Each Event that
cannot be read (a bad line, a bad item inside a list) is one reject, reported at the unit's first
line. A multi-line value spanning lines 3–40 is one unit of 38 lines whose rows have ``line`` 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..rejects import Rejecter
from ..sources import READ_ERRORS, line_chunks
from ..sources.lines import PREFIX_BYTES, LongLine, depth_change
from . import native
from .event import Origin, event_row, why_malformed
from .limits import BATCH_ROWS, MAX_LINE_BYTES
from .wrappers import WRAPPERS, Bad, Decoded, decode_text, decode_value, loads

CRI_LINE = re.compile(rb"^(\d{4}-\d\d-\d\dT\S+) (stdout|stderr) ([FP])(?::\S*)? ?(.*)$", re.DOTALL)
"""kubelet's CRI log line: ``<RFC3339Nano> <stream> <tag> <content>``; tag P = partial."""
EXPORT_LINE = re.compile(rb"^(\d{4}-\d\d-\d\dT\S+) ([\[{].*)$", re.DOTALL)
"""CloudWatch Logs export to S3: ``<ISO time> <message>``."""
_OPENERS = (b"{", b"[", b",", b":")
_BOM = b"\xef\xbb\xbf"
MAX_VALUE_LINES = 1_000_000
MAX_VALUE_BYTES = 256 * 1024 * 1024



class Account:
    """Line counts of one read (see the module docstring for how they add up)."""

    __slots__ = ("lines", "lines_empty", "lines_in_rejects", "lines_in_rows")

    def __init__(self) -> None:
        self.lines = 0
        self.lines_in_rows = 0
        self.lines_in_rejects = 0
        self.lines_empty = 0


def _as_read(raw: bytes | str) -> bytes | str:
    """A reject's raw text without the line ending (as the other readers keep it)."""
    return raw.rstrip(b"\r\n") if isinstance(raw, bytes) else raw


_NOT_JSON = object()
_CHUNK_LINES = 1024


_DOCKER = WRAPPERS["docker"].claims


class FileReader:
    """Reads one input's units and yields its raw rows; rejects go to the Rejecter."""

    def __init__(self, name: str, origin: Origin, rejecter: Rejecter, account: Account,
                 batch_size: int = BATCH_ROWS, *, max_line: int = MAX_LINE_BYTES) -> None:
        self.name = name
        self.max_line = max_line
        self.batch_size = batch_size
        self.origin = origin
        self.rejecter = rejecter
        self.account = account
        # container records being joined: key → [first line, parts, lines, wrapper, time]
        self.pending: dict[tuple[str, Any], list[Any]] = {}
        # a multi-line JSON value being collected: [first line, parts, depth, bytes]
        self.value: list[Any] | None = None
        # with the C fast path: rows of the Python path waiting in the builder's chunk, each with
        # the number of builder rows before it
        self.inserts: list[tuple[int, tuple]] = []

    # -- units --------------------------------------------------------------------------------

    def emit(self, items: Iterator[Decoded], first: int, n_lines: int,
             raw: bytes | str) -> Iterator[tuple]:
        """Pass a unit's rows on, reject its Bad items, and count its lines.

        A reject keeps the unit's text as read when the unit is the bad thing as a whole, and the
        item's JSON text when it is one bad item among others (e.g. in an EventList)."""
        found = list(items)
        whole = len(found) == 1
        rows = bad = 0
        for item in found:
            if type(item) is tuple:
                rows += 1
                yield item
            else:
                assert isinstance(item, Bad)
                bad += 1
                text = raw if whole or item.raw is None else item.raw
                self.rejecter.reject(self.name, first, item.reason, _as_read(text))
        acc = self.account
        if rows:
            acc.lines_in_rows += n_lines
        elif bad:
            acc.lines_in_rejects += n_lines
        else:
            acc.lines_empty += n_lines

    def reject_unit(self, first: int, n_lines: int, reason: str, raw: bytes | str) -> None:
        self.rejecter.reject(self.name, first, reason, _as_read(raw))
        self.account.lines_in_rejects += n_lines

    # -- the loop -----------------------------------------------------------------------------

    def rows(self, stream: Iterable[bytes]) -> Iterator[tuple | native.Chunk]:
        """The raw rows of a stream's lines, in order: tuples, or with the C fast path
        :class:`~auditlens.k8s.native.Chunk` s of about ``batch_size`` rows. A line longer than
        ``max_line`` is a unit of its own, rejected."""
        builder = native.Builder() if native.Builder is not None else None
        ctx = native.context(self.origin)
        number = 0  # lines read so far
        try:
            for lines in line_chunks(stream, _CHUNK_LINES, max_line=self.max_line):
                if isinstance(lines, LongLine):
                    number += 1
                    self.reject_unit(number, 1, lines.reason, lines.prefix)
                elif builder is None:
                    for raw in lines:
                        number += 1
                        yield from self.one(raw, number)
                else:
                    yield from self.fast(builder, ctx, lines, number)
                    number += len(lines)
        except READ_ERRORS as exc:
            number += 1
            self.reject_unit(number, 1, "the rest of the input could not be read (corrupt or "
                             f"truncated: {exc})", b"")
        if builder is not None and (builder.rows or self.inserts):
            yield native.Chunk(builder, self.inserts)
        self.account.lines += number
        yield from self.flush()

    def fast(self, builder: Any, ctx: tuple[Any, ...], lines: list[bytes],
             before: int) -> Iterator[native.Chunk]:
        """Lines ``before + 1``… with the C fast path: the builder takes the plain Event lines;
        every other line goes through :meth:`one`, and its rows join the chunk at the place of
        their line (``self.inserts``). A chunk goes out when it holds ``batch_size`` rows."""
        size = self.batch_size
        i, n = 0, len(lines)
        while i < n:
            if self.value is None:  # a multi-line value takes the lines as they come
                j = builder.add(lines, i, before + 1, ctx, size - len(self.inserts))
                self.account.lines_in_rows += j - i
                i = j
                if builder.rows + len(self.inserts) >= size or builder.full():
                    yield native.Chunk(builder, self.inserts)
                    self.inserts = []
                    continue
                if i == n:
                    break
            at = builder.rows
            self.inserts += [(at, row) for row in self.one(lines[i], before + i + 1)]
            i += 1
            if builder.rows + len(self.inserts) >= size:
                yield native.Chunk(builder, self.inserts)
                self.inserts = []

    def one(self, raw: bytes, number: int) -> Iterator[tuple]:
        """The rows of one line (the Python path)."""
        if self.value is not None:
            yield from self.more_value(raw, number)
            return
        obj: Any = _NOT_JSON
        if raw[:1] == b"{":
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
            else:
                # the common case, kept first: one plain Event per line
                if (type(obj) is dict and "auditID" in obj
                        and obj.get("kind", "Event") == "Event"
                        and "k8s_audit_level" not in obj and "log_type" not in obj):
                    try:
                        row = event_row(obj, self.origin, number)
                    except (AttributeError, TypeError):
                        self.reject_unit(number, 1, why_malformed(obj), raw)
                        return
                    self.account.lines_in_rows += 1
                    yield row
                    return
        yield from self.line(raw, number, obj)

    def line(self, raw: bytes, number: int, obj: Any) -> Iterator[tuple]:
        """Any line that is not a plain one-line Event."""
        o = self.origin
        if obj is not _NOT_JSON:
            if type(obj) is dict and _DOCKER(obj):
                yield from self.docker(obj, raw, number)
            else:
                yield from self.emit(decode_value(obj, o, number), number, 1, raw)
            return
        text = raw.rstrip(b"\r\n")
        if text.startswith(_BOM):
            text = text[3:]
        stripped = text.strip()
        if not stripped:
            self.account.lines_empty += 1
            return
        head = stripped[:1]
        if head in (b"{", b"["):
            try:
                value = loads(stripped)
            except (orjson.JSONDecodeError, RecursionError) as exc:
                depth = depth_change(stripped)
                if depth > 0 and stripped.rstrip().endswith(_OPENERS):
                    self.value = [number, [stripped], depth, len(stripped)]
                    return
                self.reject_unit(number, 1, f"invalid JSON: {exc}", raw)
                return
            if type(value) is dict and _DOCKER(value):
                yield from self.docker(value, raw, number)
            else:
                yield from self.emit(decode_value(value, o, number), number, 1, raw)
            return
        m = CRI_LINE.match(text)
        if m is not None:
            yield from self.container("cri", m.group(2), m.group(4), m.group(3) == b"P",
                                      m.group(1).decode("ascii", "replace"), number, raw)
            return
        m = EXPORT_LINE.match(text)
        if m is not None:
            inner = o.inner("cloudwatch-export", time=m.group(1).decode("ascii", "replace"))
            yield from self.emit(decode_text(m.group(2), inner, number), number, 1, raw)
            return
        yield from self.emit(decode_text(stripped, o, number), number, 1, raw)

    def more_value(self, raw: bytes, number: int) -> Iterator[tuple]:
        """One more line of a pretty-printed JSON value; the value is decoded once closed."""
        value = self.value
        assert value is not None
        value[1].append(raw)
        value[2] += depth_change(raw)
        value[3] += len(raw)
        first, parts = value[0], value[1]
        if value[2] <= 0:
            self.value = None
            data = b"".join(parts)
            try:
                decoded = loads(data)
            except (orjson.JSONDecodeError, RecursionError) as exc:
                self.reject_unit(first, len(parts), f"invalid JSON value (lines {first}–{number}): "
                                 f"{exc}", data)
                return
            yield from self.emit(decode_value(decoded, self.origin, first), first, len(parts), data)
        elif len(parts) >= MAX_VALUE_LINES or value[3] > min(MAX_VALUE_BYTES, self.max_line):
            self.value = None
            self.reject_unit(first, len(parts), f"JSON value starting at line {first} is not closed "
                             f"after {len(parts)} lines ({value[3]} bytes, limit "
                             f"{min(MAX_VALUE_BYTES, self.max_line)})", parts[0])

    def container(self, form: str, stream_name: Any, content: bytes, partial: bool, when: str | None,
                  number: int, raw: bytes) -> Iterator[tuple]:
        """A CRI or docker record: partial pieces are kept until the record's last piece. A record
        that grows past ``max_line`` bytes is one rejected unit: its pieces are then counted, not
        kept (endless partial lines would otherwise hold the whole input)."""
        key = (form, stream_name)
        held = self.pending.get(key)
        if held is None and partial:  # [first line, pieces, lines, form, time, bytes, head]
            self.pending[key] = [number, [content], 1, form, when, len(content), b""]
            return
        first, n_lines = number, 1
        if held is not None:
            held[2] += 1
            held[5] += len(content)
            if held[1] is not None:
                held[1].append(content)
                if held[5] > self.max_line:  # from now on only counted; the first bytes stay
                    held[1], held[6] = None, b"".join(held[1])[:PREFIX_BYTES]
            if partial:
                return
            del self.pending[key]
            first, n_lines, when = held[0], held[2], held[4]
            if held[1] is None:
                self.reject_unit(first, n_lines, self._too_long(held, number), held[6])
                return
            content = b"".join(held[1])
        inner = self.origin.inner(form, time=when)
        items = (Bad(f"{form} record: {i.reason}", i.raw) if isinstance(i, Bad) else i
                 for i in decode_text(content, inner, first))
        yield from self.emit(items, first, n_lines, raw if n_lines == 1 else content)

    def _too_long(self, held: list[Any], last: int | None) -> str:
        """The reject reason of a container record joined past the line limit."""
        lines = f"lines {held[0]}–{last}" if last is not None else f"from line {held[0]}"
        return (f"{held[3]} record too long: {held[5]} bytes in {held[2]} pieces ({lines}; "
                f"limit {self.max_line})")

    def docker(self, record: dict[str, Any], raw: bytes, number: int) -> Iterator[tuple]:
        log: str = record["log"]
        partial = not log.endswith("\n")
        when = record.get("time") if isinstance(record.get("time"), str) else None
        yield from self.container("docker", record.get("stream"),
                                  log.encode("utf-8", "surrogatepass"), partial, when, number, raw)

    def flush(self) -> Iterator[tuple]:
        """End of input: what is still open is decoded if it can be, else rejected."""
        if self.value is not None:
            first, parts = self.value[0], self.value[1]
            self.value = None
            self.reject_unit(first, len(parts), f"JSON value starting at line {first} is not closed "
                             "at the end of the input", parts[0])
        for (form, _), held in list(self.pending.items()):
            first, parts, n_lines, _, when, _, head = held
            if parts is None:
                self.reject_unit(first, n_lines, "incomplete " + self._too_long(held, None), head)
                continue
            content = b"".join(parts)
            inner = self.origin.inner(form, time=when)
            items = [Bad(f"incomplete {form} record at the end of the input: {i.reason}", i.raw)
                     if isinstance(i, Bad) else i for i in decode_text(content, inner, first)]
            yield from self.emit(iter(items), first, n_lines, content)
        self.pending.clear()
