"""auditd lines → records: every line counted, a bad one rejected with its file and line."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..rejects import Rejecter
from ..sources import READ_ERRORS, InputFile, iter_lines, release
from ..sources.lines import LongLine
from .event_row import US_PER_SEC
from .lexer import MAX_LINE_BYTES, LexError, parse_line
from .model import Record

__all__ = ["Account", "lexed", "read_records", "record_row"]


class Account:
    """Lines read in one call; the rejects are counted by the Rejecter."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines = 0


def read_records(inputs: list[InputFile], rejecter: Rejecter, account: Account,
             keep: Callable[[bytes], Any] | None = None,
             max_line: int = MAX_LINE_BYTES) -> Iterator[Record]:
    """Lexed records of all inputs in order; bad lines go to the rejecter. ``keep``: only the
    lines it is true for are lexed (and counted); a line over ``max_line`` is not one of them."""
    for inp in inputs:
        name = inp.name
        stream = inp.open()
        before = account.lines
        lines = iter_lines(stream, max_line)
        if keep is not None:
            lines = ((n, raw) for n, raw in lines if isinstance(raw, bytes) and keep(raw))
        try:
            yield from lexed(name, lines, rejecter, account)
        except READ_ERRORS as exc:
            number = account.lines - before  # lines are numbered from 1, each counted once
            account.lines += 1
            rejecter.reject(
                name, number + 1,
                f"the rest of the input could not be read (corrupt or truncated: {exc})", b"",
            )
        finally:
            release(inp, stream)


def lexed(name: str, lines: Iterable[tuple[int, bytes | LongLine]], rejecter: Rejecter,
          account: Account) -> Iterator[Record]:
    """Records of numbered lines; every line is counted, a bad one goes to the rejecter."""
    for number, raw in lines:
        account.lines += 1
        if isinstance(raw, LongLine):
            rejecter.reject(name, number, raw.reason, raw.prefix)
            continue
        try:
            record = parse_line(raw, name, number)
        except LexError as exc:
            rejecter.reject(name, number, exc.reason, raw)
            continue
        yield record


def _unquoted(fields: dict[str, str]) -> list[tuple[str, str]]:
    """Map entries with the double quotes of literal strings removed (hex values stay as logged)."""
    return [(k, v[1:-1] if len(v) > 1 and v[0] == '"' and v[-1] == '"' else v)
            for k, v in fields.items()]


def record_row(r: Record) -> dict[str, Any]:
    """The AUDITD_RECORDS row of a record (as the C fast path stores it: ``native_records``)."""
    return {
        "node": r.node,
        "serial": r.serial,
        "time": r.sec * US_PER_SEC + r.msec * 1000,
        "record_type": r.type,
        "fields": _unquoted(r.fields),
        "enriched": _unquoted(r.enriched) if r.enriched else None,
        "file": r.file,
        "line": r.line,
    }
