"""Splitting a byte stream into numbered lines without losing any."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO


def iter_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` with the line ending (``\\n`` or ``\\r\\n``) removed.

    A last line without a newline is still a line; an empty input has none.
    """
    number = 0
    for number, line in enumerate(stream, 1):  # noqa: B007 - number is used after the loop
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        yield number, line
