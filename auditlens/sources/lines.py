"""Splitting a byte stream into numbered lines without losing any."""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Iterable, Iterator
from typing import IO

READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, lzma.LZMAError, zlib.error)
"""What reading a stream raises when the input is cut short or corrupt (decompressors raise
their own errors)."""


def iter_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` with the line ending (``\\n`` or ``\\r\\n``) removed.

    A last line without a newline is still a line; an empty input has none.
    """
    for number, line in enumerate(stream, 1):
        yield number, strip_ending(line)


Span = tuple[bytes, int, int]
"""``(block, start, end)``: the whole lines ``block[start:end]``."""


def line_spans(chunks: Iterable[bytes]) -> Iterator[Span]:
    """The bytes of ``chunks`` again as spans of whole lines (the last line of the input may lack
    its newline), for readers that hand C a block at a time. A chunk is not copied: its lines
    are a span of it, and a line cut between chunks comes as a small block of its own (joining
    the chunks and counting their lines took 6 % of a read)."""
    carry: list[bytes] = []
    for data in chunks:
        start = 0
        if carry:
            start = data.find(b"\n") + 1
            if not start:  # a line longer than a chunk goes on
                carry.append(data)
                continue
            line = b"".join([*carry, data[:start]])
            carry = []
            yield line, 0, len(line)
        end = max(start, data.rfind(b"\n") + 1)
        if end > start:
            yield data, start, end
        if end < len(data):
            carry.append(data[end:])
    if carry:
        line = b"".join(carry)
        yield line, 0, len(line)


def strip_ending(line: bytes) -> bytes:
    """A line without its ending (``\\n`` or ``\\r\\n``)."""
    if line.endswith(b"\n"):
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


def line_chunks(stream: IO[bytes], size: int = 1024) -> Iterator[list[bytes]]:
    """The stream's lines (endings kept) in lists of up to ``size``, for readers that hand many
    lines to C at once. A read error (``READ_ERRORS``) comes after the lines read before it, so
    they are counted and read like any others."""
    chunk: list[bytes] = []
    try:
        for raw in stream:
            chunk.append(raw)
            if len(chunk) == size:
                yield chunk
                chunk = []
    except READ_ERRORS:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk
