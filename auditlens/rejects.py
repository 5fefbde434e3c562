"""Keeping rejected input: nothing a reader cannot parse is dropped without a trace."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import ErrorMode, InvalidLine, ParseError, check_error_mode

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

RAW_LIMIT = 4096
"""Longest raw text kept per reject; a huge garbage line should not bloat the rejects table."""


def show_bytes(raw: bytes) -> str:
    """Bytes as text, undecodable bytes escaped as ``\\xNN`` so nothing is lost or invented."""
    return raw.decode("utf-8", "backslashreplace")


class RejectLog:
    """Collects the rejected lines of one or more reads; pass it as ``rejects=`` to a reader."""

    def __init__(self) -> None:
        self._items: list[InvalidLine] = []

    def add(self, item: InvalidLine) -> None:
        self._items.append(item)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Forget the rejects kept so far (their owner has stored them elsewhere)."""
        self._items.clear()

    def __iter__(self) -> Iterator[InvalidLine]:
        return iter(self._items)

    def table(self) -> pa.Table:
        """The rejects as an Arrow table with the declared ``rejects`` schema (pyarrow imported
        here: a program builds its RejectLog before a read starts its workers)."""
        import pyarrow as pa

        from .schema import REJECTS

        return pa.table(
            {
                "file": [r.file for r in self._items],
                "line": [r.line for r in self._items],
                "reason": [r.reason for r in self._items],
                "raw": [r.raw for r in self._items],
            },
            schema=REJECTS.arrow,
        )


class Rejecter:
    """What a reader calls for a bad line: raise (``errors="raise"``) or record it."""

    def __init__(self, errors: str, log: RejectLog | None) -> None:
        self.mode: ErrorMode = check_error_mode(errors)
        self.log = log
        self.count = 0

    def reject(self, file: str, line: int, reason: str, raw: bytes | str) -> None:
        text = raw if isinstance(raw, str) else show_bytes(raw)
        if self.mode == "raise":
            raise ParseError(reason, file=file, line=line)
        self.count += 1
        if self.log is not None:
            if len(text) > RAW_LIMIT:
                text = text[:RAW_LIMIT] + f"… [{len(text) - RAW_LIMIT} more characters]"
            self.log.add(InvalidLine(file, line, reason, text))

    def warn_if_unseen(self, what: str) -> None:
        """Rejects nobody asked to see still get a warning, so they are never silent."""
        if self.count and self.log is None:
            warnings.warn(
                f"{self.count} {what} line(s) were rejected; pass rejects=auditlens.RejectLog() "
                "to see them",
                stacklevel=3,
            )
