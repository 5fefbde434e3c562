"""XLSX through openpyxl (the ``auditlens[xlsx]`` extra, imported only when used).

Safe by construction: every text cell is neutralised like CSV (leading ``'`` before ``= + - @``,
tab, CR) *and* written as an explicit string cell, so no value can become a formula. Characters
XML 1.0 cannot hold (C0 controls other than tab and LF) are shown as ``\\xNN`` (CR too: XML
readers turn a bare CR into LF); literal ``_xHHHH_`` is escaped so Excel does not decode it; text longer than
Excel's 32,767-character cell limit is cut with a visible marker; integers beyond 2**53 are
written as text so Excel does not round them. Timestamps are ISO text in the chosen zone.
Sections become one sheet each after a ``Cover`` sheet (title, cover items, section index).

A sheet holds ``MAX_ROWS`` rows, header included. A longer table continues in further sheets
(``logins``, ``logins (2)``, ...), each with the header row and, below the data after a blank
row, a note naming its rows and the sheets before and after it; the Cover's section index gives
each section's total rows and every sheet it spans. Nothing is dropped and nothing is refused.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

import pyarrow as pa

from auditlens.errors import AuditlensError
from auditlens.spill import TableLike, as_table

from ._base import Cover, Dest, Options, Section, cover_table, index_table, open_binary
from .cells import Display, display_column, neutralise, show_hidden

MAX_ROWS = 1_048_576
"""Rows of a sheet, header included (Excel's limit). Read at write time, so tests can lower it."""
NOTE_ROWS = 2
"""A blank row and the note of a sheet that is one part of a longer table."""
MAX_COLUMNS = 16_384
MAX_CELL_CHARS = 32_767
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
"""An underscore that starts ``_xHHHH_``, which OOXML readers decode as a character (ECMA-376
22.9.2.19 ST_Xstring); stored as ``_x005F_`` (an escaped underscore). A look-ahead, so that in
``_x005F_x0041_`` the underscore the two sequences share is escaped too."""
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_EXACT_INT = 2**53


def load_openpyxl() -> Any:
    """openpyxl, or the error that says how to install it (also xlsx's check before a run)."""
    try:
        import openpyxl
    except ImportError:
        raise AuditlensError(
            "xlsx output needs openpyxl: pip install 'auditlens[xlsx]' (or use -f csv/html)"
        ) from None
    return openpyxl


def cell_text(text: str) -> str:
    """Text as an XLSX cell may hold it: neutralised, XML-legal, within the length limit."""
    text = show_hidden(neutralise(text))
    text = _OOXML_ESCAPE.sub("_x005F_", text)
    if len(text) > MAX_CELL_CHARS:
        cut = len(text) - (MAX_CELL_CHARS - 40)
        text = text[: MAX_CELL_CHARS - 40] + f"…[{cut} characters cut]"
    return text


class _Sheet:
    """A write-only worksheet plus the cell factory that keeps every string a string."""

    def __init__(self, wb: Any, title: str) -> None:
        openpyxl = load_openpyxl()
        self.ws = wb.create_sheet(title)
        self._cell_cls = openpyxl.cell.WriteOnlyCell
        self._bold = openpyxl.styles.Font(bold=True)

    def cell(self, value: Display, *, bold: bool = False) -> Any:
        if isinstance(value, str):
            cell = self._cell_cls(self.ws, value=cell_text(value))
            cell.data_type = "s"  # never "f": a formula cannot come from data
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_INT:
            cell = self._cell_cls(self.ws, value=str(value))
            cell.data_type = "s"
        else:
            cell = self._cell_cls(self.ws, value=value)
        if bold:
            cell.font = self._bold
        return cell

    def row(self, values: list[Display], *, bold: bool = False) -> None:
        self.ws.append([self.cell(v, bold=bold) for v in values])


def _column_letter(index: int) -> str:
    return str(load_openpyxl().utils.get_column_letter(index))


def _widths(sheet: _Sheet, table: TableLike, tz: tzinfo) -> None:
    sample = as_table(table.slice(0, 200))
    for i, (name, col) in enumerate(zip(table.schema.names, sample.columns), start=1):
        longest = max([len(name)] + [len(str(v)) for v in display_column(col, tz) if v is not None])
        sheet.ws.column_dimensions[_column_letter(i)].width = min(max(longest + 2, 8), 60)


def sheet_parts(rows: int) -> list[tuple[int, int]]:
    """``(offset, length)`` of each sheet's share of a table of ``rows`` data rows.

    A table that fits stays on one sheet, as it always did; a longer one is cut into sheets
    that leave room for the header and the continuation note.
    """
    if rows + 1 <= MAX_ROWS:
        return [(0, rows)]
    per_sheet = MAX_ROWS - 1 - NOTE_ROWS
    if per_sheet < 1:
        raise AuditlensError(f"MAX_ROWS {MAX_ROWS} leaves no room for data on a continued sheet")
    return [(start, min(per_sheet, rows - start)) for start in range(0, rows, per_sheet)]


def part_titles(name: str, rows: int, taken: set[str]) -> list[str]:
    """The titles of the sheets a table of ``rows`` rows takes: ``name``, ``name (2)``, ..."""
    parts = len(sheet_parts(rows))
    return [sheet_title(name, taken, "" if k == 1 else f" ({k})") for k in range(1, parts + 1)]


def _part_note(titles: list[str], k: int, start: int, length: int, total: int) -> str:
    """Where sheet ``k`` of a cut table stands: its rows, and the sheets before and after it."""
    where = [f"Rows {start + 1:,} to {start + length:,} of {total:,}"]
    if k > 0:
        where.append(f"continued from sheet '{titles[k - 1]}'")
    if k + 1 < len(titles):
        where.append(f"continues in sheet '{titles[k + 1]}'")
    return "; ".join(where) + "."


def _data_sheets(wb: Any, titles: list[str], table: TableLike, tz: tzinfo) -> None:
    """Write ``table`` over the sheets ``titles`` (its :func:`part_titles`)."""
    if table.num_columns > MAX_COLUMNS:
        raise AuditlensError(
            f"sheet {titles[0]!r} has {table.num_columns} columns; xlsx holds {MAX_COLUMNS}"
        )
    parts = sheet_parts(table.num_rows)
    for k, (title, (start, length)) in enumerate(zip(titles, parts, strict=True)):
        note = None
        if len(parts) > 1:
            note = _part_note(titles, k, start, length, table.num_rows)
        _data_sheet(wb, title, table.slice(start, length), tz, note)


def _data_sheet(wb: Any, title: str, table: TableLike, tz: tzinfo, note: str | None) -> None:
    sheet = _Sheet(wb, title)
    _widths(sheet, table, tz)
    if table.num_columns:
        sheet.ws.freeze_panes = "A2"
        last = _column_letter(table.num_columns)
        sheet.ws.auto_filter.ref = f"A1:{last}{table.num_rows + 1}"
    sheet.row(list(table.schema.names), bold=True)
    for batch in table.to_batches(max_chunksize=65536):
        columns = [display_column(col, tz) for col in batch.columns]
        for values in zip(*columns):
            sheet.row(list(values))
    if table.num_rows == 0:
        note = "No rows matched."
    if note is not None:  # below the filter range, so sorting leaves it in place
        sheet.row([])
        sheet.row([note])


def sheet_title(name: str, taken: set[str], suffix: str = "") -> str:
    """A legal, unique sheet title (31 characters, none of ``[]:*?/\\``, no edge quotes).

    ``suffix`` (a continuation's `` (2)``) is kept whole: the name is cut to make room for it.
    """
    clean = _SHEET_BAD.sub("_", name).strip("'") or "Sheet"

    def fit(mark: str) -> str:
        return clean[: 31 - len(mark) - len(suffix)].rstrip("'") + mark + suffix

    title, n = fit(""), 2
    while title.lower() in taken:
        title, n = fit(f"~{n}"), n + 1
    taken.add(title.lower())
    return title


def _workbook(opts: Options) -> Any:
    wb = load_openpyxl().Workbook(write_only=True)
    if opts.title:
        wb.properties.title = cell_text(opts.title)
    wb.properties.creator = "auditlens"
    return wb


def _save(wb: Any, dest: Dest) -> None:
    with open_binary(dest) as raw:
        wb.save(raw)


def write_table(table: TableLike, dest: Dest, opts: Options) -> None:
    wb = _workbook(opts)
    titles = part_titles(opts.title or "data", table.num_rows, set())
    _data_sheets(wb, titles, table, opts.tz)
    _save(wb, dest)


def _table_rows(sheet: _Sheet, table: pa.Table, tz: tzinfo) -> None:
    sheet.row(list(table.schema.names), bold=True)
    columns = [display_column(col, tz) for col in table.columns]
    for values in zip(*columns):
        sheet.row(list(values))


def write_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    wb = _workbook(opts)
    taken: set[str] = set()
    front = _Sheet(wb, sheet_title("Cover", taken))
    front.ws.column_dimensions["A"].width = 28
    front.ws.column_dimensions["B"].width = 48
    front.ws.column_dimensions["E"].width = 60
    front.row([opts.title or "auditlens report"], bold=True)
    front.row([f"Times are in {opts.tz_name}."])
    front.row([])
    table = cover_table(cover)
    if table is not None:
        _table_rows(front, table, opts.tz)
        front.row([])
    index = index_table(sections)
    titles = [part_titles(s.name, s.table.num_rows, taken) for s in sections]
    index = index.append_column("sheets", pa.array([", ".join(t) for t in titles], pa.string()))
    _table_rows(front, index, opts.tz)
    for s, section_titles in zip(sections, titles):
        _data_sheets(wb, section_titles, s.table, opts.tz)
    _save(wb, dest)
