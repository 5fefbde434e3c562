"""Writers for Arrow tables, safe by construction: log contents are attacker-controlled.

``FORMATS`` is the registry, keyed by the name users type after ``-f``::

    csv      one table; text cells neutralised against formula injection; sections → directory
    jsonl    one JSON object per line; sections → a ``section`` field on every row
    json     an array of row objects; sections → an object with one entry per section
    parquet  the Arrow table as is (UTC); sections → directory of .parquet files
    md       GitHub-flavoured Markdown tables, escaped; sections → headings
    xlsx     openpyxl (``auditlens[xlsx]``); neutralised string cells; sections → one sheet each
             after a Cover sheet; a table longer than a sheet continues in ``name (2)``, ...
    html     one self-contained page, escaped, strict CSP, sortable/filterable tables, cards
             (a section past ``PAGE_ROWS`` shows its start and links its whole as CSV)

Timestamps are shown in UTC unless ``tz`` names an IANA zone; Parquet always keeps UTC.
An empty table still gives a valid file with the column headers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

import pyarrow as pa

from auditlens.errors import AuditlensError
from auditlens.spill import SpilledTable, TableLike

from . import csv_writer, html_writer, json_writer, markdown_writer, parquet_writer, xlsx_writer
from ._base import (
    Cover,
    Dest,
    Figure,
    Options,
    Section,
    check_file_target,
    check_section_directory,
    check_sections,
    is_stream,
    make_options,
    resolve_tz,
)

TableWriter = Callable[[TableLike, Dest, Options], None]
SectionsWriter = Callable[[list[Section], Dest, Options, Cover], None]
BatchWriter = Callable[[Iterable[pa.RecordBatch], pa.Schema, Dest, Options], None]


@dataclass(frozen=True)
class Format:
    """One output format: its file suffixes and its writers (``batches`` when it streams).

    ``extra`` names the auditlens extra (pyproject's optional dependencies) whose packages the
    writer needs for its full output, so that install docs and extras that promise a format
    (``notebooks``) can be checked against it. ``requires`` raises when the writer cannot run at
    all here (a missing package: not html's charts, which the page says are left out), so that a
    report refuses before reading rather than after. ``binary``: not text, never for stdout.
    ``section_files``: sections are a directory of one file each (:func:`check_output`)."""

    name: str
    suffixes: tuple[str, ...]
    doc: str
    table: TableWriter
    sections: SectionsWriter
    batches: BatchWriter | None = None
    extra: str | None = None
    requires: Callable[[], object] | None = None
    binary: bool = False
    section_files: bool = False


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "csv",
            (".csv",),
            "comma-separated values, one table (sections: a directory)",
            csv_writer.write_table,
            csv_writer.write_sections,
            csv_writer.write_batches,
            section_files=True,
        ),
        Format(
            "jsonl",
            (".jsonl", ".ndjson"),
            "one JSON object per line",
            json_writer.write_jsonl_table,
            json_writer.write_jsonl_sections,
            json_writer.write_jsonl_batches,
        ),
        Format(
            "json",
            (".json",),
            "a JSON array of row objects (sections: one object)",
            json_writer.write_json_table,
            json_writer.write_json_sections,
            json_writer.write_json_batches,
        ),
        Format(
            "parquet",
            (".parquet", ".pq"),
            "Apache Parquet, types and UTC kept",
            parquet_writer.write_table,
            parquet_writer.write_sections,
            parquet_writer.write_batches,
            binary=True,
            section_files=True,
        ),
        Format(
            "md",
            (".md", ".markdown"),
            "Markdown tables",
            markdown_writer.write_table,
            markdown_writer.write_sections,
        ),
        Format(
            "xlsx",
            (".xlsx",),
            "Excel workbook (needs auditlens[xlsx])",
            xlsx_writer.write_table,
            xlsx_writer.write_sections,
            extra="xlsx",
            requires=xlsx_writer.load_openpyxl,
            binary=True,
        ),
        Format(
            "html",
            (".html", ".htm"),
            "one self-contained web page",
            html_writer.write_table,
            html_writer.write_sections,
            extra="plots",  # the charts; without matplotlib the page says they are left out
        ),
    )
}

_BY_SUFFIX: dict[str, str] = {sfx: f.name for f in FORMATS.values() for sfx in f.suffixes}


def get_format(fmt: str) -> Format:
    """The registry entry for ``fmt``; an unknown name lists the known ones."""
    try:
        return FORMATS[fmt.lower()]
    except (KeyError, AttributeError):
        raise AuditlensError(
            f"unknown output format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None


def format_from_path(path: str | os.PathLike[str]) -> str:
    """The format name a file name implies by its extension (case-insensitive)."""
    suffix = PurePath(os.fspath(path)).suffix.lower()
    try:
        return _BY_SUFFIX[suffix]
    except KeyError:
        known = ", ".join(sorted(_BY_SUFFIX))
        raise AuditlensError(
            f"cannot tell the output format of {os.fspath(path)!r} from its extension "
            f"(known: {known}); give -f FORMAT"
        ) from None


def check_output(
    dest: Dest, fmt: str | None = None, *, sections: bool = False, tz: str | None = None
) -> Format:
    """The format that writes ``dest``, refused when it could not, without writing anything.

    Everything an export can fail on before it has data: the format (named, or implied by the
    file name), its writer's packages, a binary format to standard output, the destination (a
    file in an existing writable directory; with ``sections``, the directory of files csv and
    parquet make) and the time zone ``tz``. A report checks this before it reads its sources.
    """
    if fmt is None:
        if is_stream(dest):
            raise AuditlensError("give fmt= when writing to a stream")
        fmt = format_from_path(dest)  # type: ignore[arg-type]
    writer = get_format(fmt)
    if writer.requires is not None:
        writer.requires()
    if writer.binary and _is_stdout(dest):
        raise AuditlensError(f"{writer.name} is a binary format: give -o FILE, not standard output")
    if sections and writer.section_files:
        check_section_directory(dest, writer.name)
    elif not is_stream(dest):
        check_file_target(Path(os.fspath(dest)))  # type: ignore[arg-type]
    resolve_tz(tz)
    return writer


def _is_stdout(dest: Dest) -> bool:
    if is_stream(dest) and dest is getattr(sys.stdout, "buffer", None):
        return True
    try:
        return bool(dest.fileno() == 1)  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return False


def write_table(
    table: TableLike, dest: Dest, fmt: str, *, title: str | None = None, tz: str | None = None
) -> None:
    """Write one table (in memory or :class:`auditlens.spill.SpilledTable`) to a path or binary
    stream in format ``fmt``."""
    writer = get_format(fmt)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, (pa.Table, SpilledTable)):
        raise AuditlensError(f"expected an Arrow table, not {type(table).__name__}")
    writer.table(table, dest, make_options(title, tz))


def write_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    dest: Dest,
    fmt: str,
    *,
    title: str | None = None,
    tz: str | None = None,
) -> None:
    """Write record batches as they come; formats that cannot stream collect them first.

    csv, jsonl, json and parquet stream (memory stays one batch); md, xlsx and html gather
    the batches into one table because their layout needs it.
    """
    writer = get_format(fmt)
    opts = make_options(title, tz)
    if writer.batches is not None:
        writer.batches(batches, schema, dest, opts)
    else:
        writer.table(pa.Table.from_batches(list(batches), schema=schema), dest, opts)


def write_sections(
    sections: list[Section],
    dest: Dest,
    fmt: str,
    *,
    title: str | None = None,
    cover: Cover = None,
    tz: str | None = None,
) -> None:
    """Write a multi-section export (e.g. ``compliance``): one sheet, heading or file per section.

    csv and parquet need ``dest`` to be a directory (created when missing); given a file name
    or a stream they refuse with an AuditlensError rather than drop sections.
    """
    writer = get_format(fmt)
    sections = list(sections)
    check_sections(sections)
    writer.sections(sections, dest, make_options(title, tz), cover)


STREAMING: frozenset[str] = frozenset(name for name, f in FORMATS.items() if f.batches is not None)
"""Formats whose ``write_batches`` never holds more than one batch."""

__all__ = [
    "FORMATS",
    "STREAMING",
    "Figure",
    "Format",
    "Section",
    "check_output",
    "format_from_path",
    "get_format",
    "write_batches",
    "write_sections",
    "write_table",
]
