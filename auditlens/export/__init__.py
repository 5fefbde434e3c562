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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath

import pyarrow as pa

from auditlens.errors import AuditlensError

from . import csv_writer, html_writer, json_writer, markdown_writer, parquet_writer, xlsx_writer
from ._base import Cover, Dest, Figure, Options, Section, check_sections, make_options

TableWriter = Callable[[pa.Table, Dest, Options], None]
SectionsWriter = Callable[[list[Section], Dest, Options, Cover], None]
BatchWriter = Callable[[Iterable[pa.RecordBatch], pa.Schema, Dest, Options], None]


@dataclass(frozen=True)
class Format:
    """One output format: its file suffixes and its writers (``batches`` when it streams).

    ``extra`` names the auditlens extra (pyproject's optional dependencies) whose packages the
    writer needs for its full output, so that install docs and extras that promise a format
    (``notebooks``) can be checked against it."""

    name: str
    suffixes: tuple[str, ...]
    doc: str
    table: TableWriter
    sections: SectionsWriter
    batches: BatchWriter | None = None
    extra: str | None = None


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


def write_table(
    table: pa.Table, dest: Dest, fmt: str, *, title: str | None = None, tz: str | None = None
) -> None:
    """Write one table to a path or binary stream in format ``fmt``."""
    writer = get_format(fmt)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
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
    "format_from_path",
    "get_format",
    "write_batches",
    "write_sections",
    "write_table",
]
