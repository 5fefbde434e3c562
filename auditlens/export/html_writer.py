"""HTML: one self-contained page, every value escaped, a strict Content-Security-Policy.

No external fetches (no CDN, fonts or images from the network). Every value, title and
attribute goes through ``html.escape`` with quotes escaped; the only script on the page is our
fixed one (allowed by hash in the CSP), which sorts and filters rows through ``textContent``.
Plots (issue 6) hook in through ``Section.figures`` or ``figures=`` of :func:`write_page`;
they are embedded as ``data:`` images, which the CSP allows and which cannot run script.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import tzinfo
from html import escape
from typing import TextIO

import pyarrow as pa

from auditlens.errors import AuditlensError

from ._base import (
    Cover,
    Dest,
    Figure,
    Options,
    Section,
    cover_table,
    file_stem,
    index_table,
    open_text,
)
from .cells import display_column, display_text, is_numeric, show_hidden
from .html_assets import CSP, CSS, SCRIPT

FIGURE_TYPES = ("image/svg+xml", "image/png", "image/jpeg", "image/webp")


def esc(value: object) -> str:
    """Escape for text and for double-quoted attributes alike; hidden characters made visible."""
    return escape(show_hidden(str(value)), quote=True)


def _anchor(section: Section) -> str:
    return "s-" + file_stem(section.name)


def _head(out: TextIO, title: str) -> None:
    out.write('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    out.write(f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n')
    out.write('<meta name="referrer" content="no-referrer">\n')
    out.write('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    out.write('<meta name="generator" content="auditlens">\n')
    out.write(f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n")


def _foot(out: TextIO) -> None:
    out.write(f"<script>{SCRIPT}</script>\n</body>\n</html>\n")


def _cards(out: TextIO, sections: Sequence[Section]) -> None:
    out.write('<nav class="cards" aria-label="Sections">\n')
    for s in sections:
        rows = s.table.num_rows
        out.write(
            f'<a class="card" href="#{esc(_anchor(s))}"><span class="n">{rows:,}</span>'
            f'<span class="l">{esc(s.title or s.name)}</span></a>\n'
        )
    out.write("</nav>\n")


def _figures(out: TextIO, figures: Sequence[Figure]) -> None:
    if not figures:
        return
    out.write('<div class="figures">\n')
    for fig in figures:
        if fig.mime not in FIGURE_TYPES:
            raise AuditlensError(
                f"figure type {fig.mime!r} is not one of {', '.join(FIGURE_TYPES)}"
            )
        uri = f"data:{fig.mime};base64," + base64.b64encode(fig.data).decode("ascii")
        out.write(
            f'<figure><img src="{esc(uri)}" alt="{esc(fig.alt or fig.title)}">'
            f"<figcaption>{esc(fig.title)}</figcaption></figure>\n"
        )
    out.write("</div>\n")


def _rows(out: TextIO, table: pa.Table, tz: tzinfo) -> None:
    classes = [' class="n"' if is_numeric(f.type) else "" for f in table.schema]
    for batch in table.to_batches(max_chunksize=65536):
        columns = [display_column(col, tz) for col in batch.columns]
        for row in zip(*columns):
            cells = "".join(f"<td{cls}>{esc(display_text(v))}</td>" for cls, v in zip(classes, row))
            out.write(f"<tr>{cells}</tr>\n")


def _table(out: TextIO, table: pa.Table, tz: tzinfo, cls: str) -> None:
    out.write(f'<div class="scroll"><table class="{cls}">\n<thead><tr>')
    out.write("".join(f'<th scope="col">{esc(n)}</th>' for n in table.schema.names))
    out.write("</tr></thead>\n<tbody>\n")
    _rows(out, table, tz)
    out.write("</tbody>\n</table></div>\n")


def _data_section(out: TextIO, s: Section, tz: tzinfo, heading: str) -> None:
    out.write(f'<section class="data" id="{esc(_anchor(s))}">\n')
    out.write(f"<{heading}>{esc(s.title or s.name)}</{heading}>\n")
    if s.requirement:
        out.write(f'<p class="req">{esc(s.requirement)}</p>\n')
    if s.description:
        out.write(f'<p class="desc">{esc(s.description)}</p>\n')
    _figures(out, s.figures)
    rows = s.table.num_rows
    label = f"filter {s.title or s.name}"
    out.write(
        f'<div class="tools"><input type="search" class="filter" placeholder="Filter rows"'
        f' aria-label="{esc(label)}"><span class="count">{rows:,} {"row" if rows == 1 else "rows"}'
        "</span></div>\n"
    )
    _table(out, s.table, tz, "data")
    if rows == 0:
        out.write('<p class="empty">No rows matched.</p>\n')
    out.write("</section>\n")


def write_page(
    sections: Sequence[Section],
    dest: Dest,
    opts: Options,
    cover: Cover = None,
    *,
    figures: Sequence[Figure] = (),
    single: bool = False,
) -> None:
    """The whole page: header, summary cards, page figures, cover, then each section."""
    title = opts.title or (sections[0].title if single and sections else "auditlens report")
    with open_text(dest, newline="\n") as out:
        _head(out, title)
        out.write(f"<header><h1>{esc(title)}</h1>\n")
        out.write(f'<p class="meta">Times are in {esc(opts.tz_name)}. Generated by auditlens.</p>')
        out.write("</header>\n<main>\n")
        _cards(out, sections)
        _figures(out, figures)
        front = cover_table(cover)
        if front is not None:
            out.write('<section class="cover"><h2>Cover</h2>\n')
            _table(out, front, opts.tz, "kv")
            out.write("</section>\n")
        if not single:
            out.write('<section class="contents"><h2>Contents</h2>\n')
            _table(out, index_table(list(sections)), opts.tz, "kv")
            out.write("</section>\n")
        for s in sections:
            _data_section(out, s, opts.tz, "h2")
        out.write("</main>\n")
        _foot(out)


def write_table(table: pa.Table, dest: Dest, opts: Options) -> None:
    name = opts.title or "rows"
    write_page(
        [Section(name=name, title=name, description="", table=table)], dest, opts, single=True
    )


def write_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    write_page(sections, dest, opts, cover)
