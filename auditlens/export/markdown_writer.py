"""Markdown (GitHub-flavoured tables): readable as text, inert when rendered.

Cell text is escaped so a log line cannot break the table or inject markup: ``&``, ``<``, ``>``
become entities (no raw HTML, no autolinks); backslash, backtick, pipe, ``*``, ``_``, ``~``,
``[`` and ``]`` are backslash-escaped (no code spans, no emphasis, no links or images that would
fetch a URL); a leading ``#`` is escaped; newlines become ``<br>``; control characters and
bidirectional overrides are shown as ``\\xNN``/``\\uNNNN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import tzinfo
from typing import TextIO

from auditlens.spill import TableLike

from ._base import Cover, Dest, Options, Section, cover_table, index_table, open_text
from .cells import display_column, display_text, is_numeric, show_hidden

_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_PUNCT = re.compile(r"([\\`|*_~\[\]])")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def escape_md(text: str) -> str:
    """Escape text for a Markdown table cell or paragraph."""
    text = _PUNCT.sub(r"\\\1", show_hidden(text).translate(_ENTITIES))
    if text.startswith("#"):
        text = "\\" + text
    return _NEWLINES.sub("<br>", text)


def _table(out: TextIO, table: TableLike, tz: tzinfo) -> None:
    names = table.schema.names
    if not names:
        out.write("_(no columns)_\n")
        return
    out.write("| " + " | ".join(escape_md(n) for n in names) + " |\n")
    aligns = ["---:" if is_numeric(f.type) else "---" for f in table.schema]
    out.write("| " + " | ".join(aligns) + " |\n")
    for batch in table.to_batches(max_chunksize=65536):
        columns = [display_column(col, tz) for col in batch.columns]
        out.writelines(
            "| " + " | ".join(escape_md(display_text(v)) for v in row) + " |\n"
            for row in zip(*columns)
        )
    if table.num_rows == 0:
        out.write("\n_No rows matched._\n")


def _times_note(opts: Options) -> str:
    return f"_Times are in {escape_md(opts.tz_name)}._\n\n"


def write_table(table: TableLike, dest: Dest, opts: Options) -> None:
    with open_text(dest, newline="\n") as out:
        if opts.title:
            out.write(f"# {escape_md(opts.title)}\n\n")
        out.write(_times_note(opts))
        _table(out, table, opts.tz)


def _paragraphs(out: TextIO, texts: Iterable[str]) -> None:
    for text in texts:
        if text:
            out.write(escape_md(text) + "\n\n")


def write_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    with open_text(dest, newline="\n") as out:
        out.write(f"# {escape_md(opts.title or 'auditlens report')}\n\n")
        out.write(_times_note(opts))
        front = cover_table(cover)
        if front is not None:
            _table(out, front, opts.tz)
            out.write("\n")
        out.write("## Contents\n\n")
        _table(out, index_table(sections), opts.tz)
        for s in sections:
            out.write(f"\n## {escape_md(s.title or s.name)}\n\n")
            requirement = f"Requirement: {s.requirement}" if s.requirement else ""
            _paragraphs(out, (requirement, s.description))
            _table(out, s.table, opts.tz)
