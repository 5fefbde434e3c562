"""CSV: one table per file, every text cell neutralised against formula injection.

CSV has no types, so a spreadsheet guesses: any text cell starting with ``= + - @``, tab or CR
gets a leading ``'`` (OWASP CSV-injection guidance), including list/map cells written as JSON.
Numbers from numeric columns are written as numbers; a negative number is not a formula.
``title`` is not written (CSV has no place for it). UTF-8 without a byte-order mark, RFC 4180 quoting and CRLF line ends (Python's csv module).
Multi-section exports go to a directory: one ``NAME.csv`` per section,
``_sections.csv`` (what each file answers, row counts) and ``_cover.csv`` when a cover is given.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any, TextIO

import pyarrow as pa

from auditlens.spill import TableLike

from ._base import (
    Cover,
    Dest,
    Options,
    Section,
    open_text,
    write_section_files,
)
from .cells import display_column, display_text, neutralise


def _cell(value: object) -> object:
    if isinstance(value, str):
        return neutralise(value)
    if value is None or isinstance(value, bool):
        return display_text(value)
    return value


def _write_rows(writer: Any, batch: pa.RecordBatch | pa.Table, tz: tzinfo) -> None:
    columns = [[_cell(v) for v in display_column(col, tz)] for col in batch.columns]
    writer.writerows(zip(*columns))


def _stream(out: TextIO, batches: Iterable[pa.RecordBatch], schema: pa.Schema, tz: tzinfo) -> None:
    writer = csv.writer(out)
    writer.writerow([neutralise(name) for name in schema.names])
    for batch in batches:
        _write_rows(writer, batch, tz)


def write_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, dest: Dest, opts: Options
) -> None:
    with open_text(dest, newline="") as out:
        _stream(out, batches, schema, opts.tz)


def write_table(table: TableLike, dest: Dest, opts: Options) -> None:
    write_batches(table.to_batches(max_chunksize=65536), table.schema, dest, opts)


def write_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    write_section_files(sections, dest, opts, cover, "csv", write_table)
