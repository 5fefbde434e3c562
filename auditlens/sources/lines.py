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


def whole_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes of ``chunks`` again, cut only just after a newline: blocks of whole lines, the
    last of which may lack its newline (the end of the input). Readers that hand C a block at a
    time need lines whole; a line longer than a chunk comes whole in a later block."""
    carry = b""
    for data in chunks:
        block = carry + data if carry else data
        cut = block.rfind(b"\n") + 1
        carry = block[cut:]
        if cut:
            yield block[:cut] if carry else block
    if carry:
        yield carry


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
