"""The records readers on the C fast path (``_fastaudit.c``'s ``Records``): one AUDITD_RECORDS
row per line, made straight into Arrow buffers by the lexer of the events fast path.

The C side lexes the lines it takes the way :func:`.lexer.parse_line` does and stores the row
``stream.record_rows`` would make of the record (literal strings unquoted, ENRICHED map or null).
A line it does not lex (user-space messages, numeric types, bytes that are not printable ASCII,
a time past 64 bits...) stops it: :func:`.lexer.parse_line` lexes that line here and its row
goes back in its place, or the line is rejected, as on the Python path. So the table, the
rejects, the line count and the batches are those of the Python path (which stays the reference,
tests/test_auditd_native_records.py), at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import pyarrow as pa

from ..build import BatchBuilder
from ..fastpath import array_of, finish, load
from ..rejects import Rejecter
from ..schema import AUDITD_RECORDS
from ..sources.lines import strip_ending
from . import native
from .lexer import MAX_LINE_BYTES, LexError, parse_line
from .records import record_row

__all__ = ["Records", "RecordsParser", "available"]

RecordsParser: Any = load("auditlens.auditd._fastaudit", "Records")
"""The fast path's records type, or None (looked up at each read, like ``native.Parser``)."""


def available() -> bool:
    """Whether a read takes the fast path: compiled, and not switched off (``native.Parser``
    is the one switch of the auditd fast path: tests set it to None for the Python path)."""
    return RecordsParser is not None and native.Parser is not None


class Records(native.LineReader):
    """The batches of one records read on the fast path: the rows, rejects and line count of
    ``read_records`` + ``record_rows`` + a ``BatchBuilder`` of ``builder.batch_size``.

    ``prefixes``/``keep`` (``read_record_types``): only records whose type starts with one of
    ``prefixes`` make rows, and a line the C side does not lex is only lexed when ``keep`` is
    true for it (a line it lexes holds ``type=PREFIX`` when its record is kept)."""

    def __init__(self, rejecter: Rejecter, account: Any, builder: BatchBuilder, *,
                 max_line: int = MAX_LINE_BYTES, prefixes: tuple[str, ...] | None = None,
                 keep: Callable[[bytes], Any] | None = None) -> None:
        super().__init__(rejecter, account, max_line)
        self.builder, self.size = builder, builder.batch_size
        self.parser = RecordsParser(prefixes)
        self.prefixes, self.keep = prefixes, keep

    def _batch(self) -> pa.RecordBatch:
        schema = AUDITD_RECORDS.arrow
        cols = [array_of(e, f.type) for e, f in zip(finish(self.parser), schema)]
        return pa.RecordBatch.from_arrays(cols, schema=schema)

    def _python_line(self, raw: bytes, name: str, number: int) -> None:
        line = strip_ending(raw)
        if self.keep is not None and not self.keep(line):
            return
        try:
            record = parse_line(line, name, number)
        except LexError as exc:
            self.rejecter.reject(name, number, exc.reason, line)
            return
        if self.prefixes is None or record.type.startswith(self.prefixes):
            self.parser.put_row(record_row(record))

    def _block(self, block: bytes, first: int, index: int, start: int = 0,
               end: int | None = None) -> Generator[pa.RecordBatch, None, int]:
        """The lines of ``block[start:end]`` numbered from ``first``: the C side takes them
        until a batch is full or a line is Python's."""
        pos, number, size = start, first, len(block) if end is None else end
        parser, name = self.parser, self.files[index]
        while True:
            if parser.rows >= self.size or parser.full:
                yield self._batch()
            pos, taken = parser.add_block(block, pos, size, number, name, self.size)
            number += taken
            if parser.rows >= self.size or parser.full:
                continue
            if pos >= size:
                return number - first
            stop = block.find(b"\n", pos, size) + 1 or size
            self._python_line(block[pos:stop], name, number)
            pos, number = stop, number + 1

    def _end(self) -> Iterator[pa.RecordBatch]:
        if self.parser.rows:
            yield self._batch()
        self.builder.coerced += self.parser.coerced
