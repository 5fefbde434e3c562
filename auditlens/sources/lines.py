"""Splitting a byte stream into numbered lines without losing any, in bounded memory.

Every reader takes its lines from :func:`line_spans`, which reads fixed-size blocks and never
holds more of one line than the reader's limit (``max_line``): the rest of a longer line is
skipped as it is read, and a :class:`LongLine` (its length and first bytes) comes in its place
for the reader to reject. A gzip bomb of zeros without a newline is read in constant memory.
"""

from __future__ import annotations

import io
import lzma
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import overload

READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, lzma.LZMAError, zlib.error)
"""What reading a stream raises when the input is cut short or corrupt (decompressors raise
their own errors)."""

BLOCK_BYTES = 1 << 20
"""Bytes asked of a stream per read: large enough that splitting costs nothing per line, small
enough that a decompression bomb comes out a block at a time."""
PREFIX_BYTES = 256
"""Bytes of an over-long line kept for its reject."""


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line longer than the reader's limit, in place of its bytes (which were not kept):
    its length without the line ending, the limit, and its first ``PREFIX_BYTES`` bytes."""

    length: int
    limit: int
    prefix: bytes

    @property
    def reason(self) -> str:
        return f"line too long: {self.length} bytes (limit {self.limit})"


Span = tuple[bytes, int, int]
"""``(block, start, end)``: the whole lines ``block[start:end]``."""


def check_max_line(max_line: int | None, default: int) -> int:
    """A reader's ``max_line_bytes`` option (None: the format's ``default``), refused when it
    cannot be a limit."""
    if max_line is None:
        return default
    if isinstance(max_line, bool) or not isinstance(max_line, int) or max_line < 1:
        raise ValueError(f"max_line_bytes must be a positive number of bytes, not {max_line!r}")
    return max_line


def read_blocks(stream: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterable[bytes]:
    """A binary stream's bytes in blocks of at most ``size``; an iterable of byte chunks that
    is not a stream (e.g. a parallel piece's blocks) is passed on as it is.

    ``read1`` asks a decompressor for one step of output, so a read error comes right after the
    bytes before it (a full ``read`` would drop the block it was filling)."""
    if not hasattr(stream, "read"):
        return stream
    read = getattr(stream, "read1", None) or stream.read
    return iter(partial(read, size), b"")


@overload
def line_spans(chunks: Iterable[bytes], max_line: None = None) -> Iterator[Span]: ...
@overload
def line_spans(chunks: Iterable[bytes], max_line: int) -> Iterator[Span | LongLine]: ...
def line_spans(chunks: Iterable[bytes], max_line: int | None = None) -> Iterator[Span | LongLine]:
    """The bytes of ``chunks`` again as spans of whole lines (the last line of the input may lack
    its newline), for readers that hand C a block at a time; with ``max_line``, a line longer
    than that comes as a :class:`LongLine` instead and is never held whole (None: no limit).

    A chunk is not copied: its lines are a span of it, and a line cut between chunks comes as a
    small block of its own (joining the chunks and counting their lines took 6 % of a read).
    The limit costs nothing per line: lines inside a chunk are checked a window of half the
    limit at a time (:func:`_within`), lines cut between chunks by their running length."""
    limit = check_max_line(max_line, 1 << 62)
    carry: list[bytes] = []  # the line cut between chunks so far; only its head once too long
    held = 0  # the bytes of that line so far (held or skipped)
    skipping = False
    last = b""  # the last byte so far (a \r before the \n belongs to the line ending)
    for data in read_blocks(chunks):
        start = 0
        if held:
            nl = data.find(b"\n")
            if nl < 0:
                held += len(data)
                last = data[-1:] or last
                if skipping or held > limit + 1:
                    if not skipping or len(carry[0]) < PREFIX_BYTES:
                        carry, skipping = [_head([*carry, data], held)], True
                else:
                    carry.append(data)
                continue
            start = nl + 1
            length = held + nl - ((data[nl - 1:nl] if nl else last) == b"\r")
            if length > limit:
                yield LongLine(length, limit, _head([*carry, data[:min(nl, PREFIX_BYTES)]], length))
            else:
                line = b"".join([*carry, data[:start]])
                yield line, 0, len(line)
            carry, held, skipping = [], 0, False
        end = max(start, data.rfind(b"\n") + 1)
        if end > start:
            yield from _within(data, start, end, limit)
        if end < len(data):
            rest = data[end:]
            held, last = len(rest), rest[-1:]
            skipping = held > limit + 1
            carry = [rest[:PREFIX_BYTES] if skipping else rest]
    if held > limit:
        yield LongLine(held, limit, _head(carry, held))
    elif held:
        line = b"".join(carry)
        yield line, 0, len(line)


def _head(parts: list[bytes], length: int) -> bytes:
    """The first ``PREFIX_BYTES`` of ``parts`` joined (at most ``length``: not a line ending),
    without joining them all."""
    size = min(length, PREFIX_BYTES)
    head = b""
    for part in parts:
        head += part[:size - len(head)]
        if len(head) >= size:
            break
    return head


def _within(data: bytes, start: int, end: int, limit: int) -> Iterator[Span | LongLine]:
    """The whole lines ``data[start:end]`` as spans, a line longer than ``limit`` cut out as a
    LongLine. Such a line holds an aligned window of ``(limit + 1) // 2`` bytes without a newline,
    so one ``find`` per window finds it: a few per block for a limit near the block size."""
    width = (limit + 1) // 2
    pos = at = start  # spans given up to pos; windows counted from at (both line starts)
    while at + width <= end:
        if data.find(b"\n", at, at + width) >= 0:
            at += width
            continue
        first = data.rfind(b"\n", pos, at) + 1 or pos
        nl = data.find(b"\n", at + width, end)  # found: a span ends with a newline
        length = nl - first - (data[nl - 1] == 0x0D)
        if length > limit:
            if first > pos:
                yield data, pos, first
            yield LongLine(length, limit, data[first:first + min(length, PREFIX_BYTES)])
            pos = nl + 1
        at = nl + 1
    if end > pos:
        yield data, pos, end


def numbered(spans: Iterable[Span | LongLine]) -> Iterator[tuple[int, bytes | LongLine]]:
    """``(line_number, line)`` of spans, the line ending (``\\n`` or ``\\r\\n``) removed; a
    LongLine keeps its place in the numbering."""
    number = 0
    for item in spans:
        if isinstance(item, LongLine):
            number += 1
            yield number, item
            continue
        block, start, end = item
        text = block if start == 0 and end == len(block) else block[start:end]
        lines = text.split(b"\n")
        ended = text.endswith(b"\n")
        if ended:
            lines.pop()
        if b"\r\n" in text:
            cut = len(lines) - (not ended)  # a last line without \n keeps a final \r
            lines[:cut] = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines[:cut]]
        yield from enumerate(lines, number + 1)
        number += len(lines)


@overload
def iter_lines(stream: Iterable[bytes], max_line: None = None) -> Iterator[tuple[int, bytes]]: ...
@overload
def iter_lines(stream: Iterable[bytes], max_line: int) -> Iterator[tuple[int, bytes | LongLine]]: ...
def iter_lines(stream: Iterable[bytes], max_line: int | None = None,
               ) -> Iterator[tuple[int, bytes | LongLine]]:
    """Yield ``(line_number, line)`` with the line ending (``\\n`` or ``\\r\\n``) removed; a line
    longer than ``max_line`` as a :class:`LongLine` (None: no limit).

    A last line without a newline is still a line; an empty input has none.
    """
    return numbered(line_spans(stream, max_line))


def strip_ending(line: bytes) -> bytes:
    """A line without its ending (``\\n`` or ``\\r\\n``)."""
    if line.endswith(b"\n"):
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


@overload
def line_chunks(stream: Iterable[bytes], size: int = 1024,
                max_line: None = None) -> Iterator[list[bytes]]: ...
@overload
def line_chunks(stream: Iterable[bytes], size: int = 1024, *,
                max_line: int) -> Iterator[list[bytes] | LongLine]: ...
def line_chunks(stream: Iterable[bytes], size: int = 1024,
                max_line: int | None = None) -> Iterator[list[bytes] | LongLine]:
    """The stream's lines (endings kept) in lists of up to ``size``, for readers that hand many
    lines to C at once; a line longer than ``max_line`` comes alone, as a :class:`LongLine`.
    A read error (``READ_ERRORS``) comes after the lines read before it, so they are counted and
    read like any others."""
    for item in line_spans(stream, max_line):
        if isinstance(item, LongLine):
            yield item
            continue
        block, start, end = item
        lines = io.BytesIO(block[start:end]).readlines()
        if len(lines) <= size:
            yield lines
            continue
        for k in range(0, len(lines), size):
            yield lines[k:k + size]


_DEPTH_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def depth_change(line: bytes) -> int:
    """Net bracket depth of a line of JSON text (brackets inside strings do not count): how the
    JSON readers follow a value pretty-printed over several lines."""
    depth = 0
    for m in _DEPTH_TOKEN.finditer(line):
        tok = m.group()
        if tok in (b"{", b"["):
            depth += 1
        elif tok in (b"}", b"]"):
            depth -= 1
    return depth
