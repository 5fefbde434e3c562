"""Tables shared by every reader."""

from __future__ import annotations

import pyarrow as pa

from ._column import Column, TableSchema

REJECTS = TableSchema(
    "rejects",
    "Input lines (or JSON objects) that did not become rows, with where and why. "
    "Rows plus rejects account for every input line.",
    (
        Column("file", pa.string(), "Input the line came from (path, or '-' for stdin)."),
        Column("line", pa.int64(), "1-based line number in that input (after decompression)."),
        Column("reason", pa.string(), "Why the line was rejected, in one sentence."),
        Column("raw", pa.string(), "The line as read; undecodable bytes are shown as \\xNN."),
    ),
)
