"""Errors raised by auditlens and the small value object for a rejected input line.

Exception tree::

    AuditlensError (ValueError)       base of everything auditlens raises on bad input
    ├── SourceError                   an input cannot be found or opened (missing file, bad glob)
    ├── FormatError                   an input is not in a format we read
    └── ParseError                    one line or object is malformed (raised with errors="raise")

Every error carries ``file`` and ``line`` where they are known, so the CLI can print a one-line
message that points at the culprit instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ErrorMode = Literal["collect", "raise"]
ERROR_MODES: tuple[str, ...] = ("collect", "raise")


class AuditlensError(ValueError):
    """Base error; also a ValueError because all of these are about bad input values."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        return f"{where}{self.message}"


class SourceError(AuditlensError):
    """An input could not be found, expanded or opened."""


class FormatError(AuditlensError):
    """An input is not in any format auditlens reads."""


class ParseError(AuditlensError):
    """A line or object could not be parsed (raised when ``errors="raise"``)."""


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A rejected input line: where it was, why, and its text (log text is untrusted data)."""

    file: str
    line: int
    reason: str
    raw: str


def check_error_mode(errors: str) -> ErrorMode:
    """Validate the ``errors=`` keyword shared by every reader."""
    if errors not in ERROR_MODES:
        raise ValueError(f"errors must be one of {', '.join(ERROR_MODES)}, not {errors!r}")
    return errors  # type: ignore[return-value]
