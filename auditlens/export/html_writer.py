"""HTML: one self-contained page, every value escaped, a strict Content-Security-Policy.

No external fetches (no CDN, fonts or images from the network). Every value, title and
attribute goes through ``html.escape`` with quotes escaped; the only script on the page is our
fixed one (allowed by hash in the CSP), which sorts and filters rows through ``textContent``.
Figures come from ``Section.figures`` or ``figures=`` of :func:`write_page`; a section without
its own gets the charts of :mod:`.plots` when its table has ACTIVITY columns (``time`` plus
``actor`` or ``outcome``), or a note when matplotlib is not installed. They are embedded as
``data:`` images, which the CSP allows and which cannot run script.

Layout: cards per section (rows, failures) and a contents list on multi-section pages; in each
section summary cards (rows, actors, failures or denials, time span), the charts, then the
table, sortable by any column and filterable. Printing drops the controls and scrolling.

A section longer than ``PAGE_ROWS`` shows its first ``PAGE_ROWS`` rows; its cards, counts and
charts still cover every row, and the whole section is written with the CSV writer (cells
neutralised) to ``<page>_files/<section>.csv`` beside the page, which links to it relatively and
says that filtering and sorting work on the rows shown. A stream has no "beside": written to a
stream, the page holds every row, as a page without that limit would.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from html import escape
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.errors import AuditlensError
from auditlens.spill import TableLike, as_table

from . import csv_writer, plots
from ._base import (
    Cover,
    Dest,
    Figure,
    Options,
    Section,
    cover_table,
    file_stem,
    is_stream,
    open_text,
)
from .cells import display_column, display_text, is_numeric, show_hidden
from .html_assets import CSP, CSS, SCRIPT

FIGURE_TYPES = ("image/svg+xml", "image/png", "image/jpeg", "image/webp")
FAILED_OUTCOMES = ("failure", "failed", "denied")
PAGE_ROWS = 10_000
"""Rows of a section shown on the page: enough to read and filter, small enough for a browser.
Read at write time, so tests can lower it."""


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


@dataclass(frozen=True)
class Stats:
    """What a reader wants to know of a table before reading it: how much, who, what failed, when."""

    rows: int
    actors: int | None  # distinct non-null ``actor``; None without that column
    failures: int | None  # ``outcome`` failure or denied; None without that column
    span: tuple[str, str, str] | None  # first, last, length in words; None without ``time``


def table_stats(table: pa.Table, tz: tzinfo) -> Stats:
    names = table.schema.names
    actors = failures = None
    if "actor" in names:
        actors = pc.count_distinct(table.column("actor"), mode="only_valid").as_py()
    if "outcome" in names:
        outcome = table.column("outcome")
        if pa.types.is_dictionary(outcome.type):
            outcome = outcome.cast(outcome.type.value_type)
        if pa.types.is_string(outcome.type) or pa.types.is_large_string(outcome.type):
            bad = pc.is_in(pc.utf8_lower(outcome), value_set=pa.array(FAILED_OUTCOMES))
            failures = pc.sum(bad).as_py() or 0
    return Stats(table.num_rows, actors, failures, plots.time_span(table, tz))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _cards(out: TextIO, sections: Sequence[Section], stats: Sequence[Stats]) -> None:
    """One card per section, linking to it: rows, and failures where the table has outcomes."""
    out.write('<nav class="cards" aria-label="Sections">\n')
    for s, st in zip(sections, stats):
        extra = ""
        if st.failures:
            extra = f'<span class="f">{st.failures:,} failed or denied</span>'
        elif st.failures == 0:
            extra = '<span class="ok">none failed or denied</span>'
        cls = "card warn" if st.failures else "card"
        out.write(
            f'<a class="{cls}" href="#{esc(_anchor(s))}"><span class="n">{st.rows:,}</span>'
            f'<span class="l">{esc(s.title or s.name)}</span>{extra}</a>\n'
        )
    out.write("</nav>\n")


def _stats(out: TextIO, st: Stats) -> None:
    """The summary cards at the top of a section."""
    cards = [(f"{st.rows:,}", "rows", "")]
    if st.actors is not None:
        cards.append((f"{st.actors:,}", "actors", ""))
    if st.failures is not None:
        cards.append((f"{st.failures:,}", "failures or denials", " warn" if st.failures else ""))
    if st.span is not None:
        first, last, length = st.span
        when = first if first == last else f"{first} to {last}"
        cards.append((length, when, " span"))
    out.write('<div class="stats">')
    out.writelines(
        f'<div class="stat{cls}"><span class="n">{esc(value)}</span>'
        f'<span class="l">{esc(caption)}</span></div>'
        for value, caption, cls in cards
    )
    out.write("</div>\n")


def _toc(out: TextIO, sections: Sequence[Section], stats: Sequence[Stats]) -> None:
    """Contents of a multi-section page: links, the requirement each answers, row counts."""
    out.write('<nav class="toc" aria-label="Contents"><h2>Contents</h2>\n<ol>\n')
    for s, st in zip(sections, stats):
        req = f' <span class="req">{esc(s.requirement)}</span>' if s.requirement else ""
        desc = f'<br><span class="desc">{esc(s.description)}</span>' if s.description else ""
        out.write(
            f'<li><a href="#{esc(_anchor(s))}">{esc(s.title or s.name)}</a>{req}'
            f' <span class="count">{_plural(st.rows, "row")}</span>{desc}</li>\n'
        )
    out.write("</ol></nav>\n")


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
            f"<figure><figcaption>{esc(fig.title)}</figcaption>"
            f'<img src="{esc(uri)}" alt="{esc(fig.alt or fig.title)}"></figure>\n'
        )
    out.write("</div>\n")


def section_figures(section: Section, tz: tzinfo,
                    table: pa.Table | None = None) -> tuple[tuple[Figure, ...], str]:
    """A section's own figures; else charts of its activity columns; else a note why none.

    Any table with ACTIVITY-shaped columns (``time`` plus ``actor`` or ``outcome``) gets its
    charts drawn here, so every report exported as HTML has them without asking. ``table``:
    the section's columns the charts read (:func:`charted`), when already at hand.
    """
    if section.figures:
        return section.figures, ""
    table = charted(section.table) if table is None else table
    if table.num_rows == 0 or not plots.is_activity_shaped(table):
        return (), ""
    if not plots.plots_available():
        return (), plots.MISSING_NOTE
    return plots.activity_figures(table, tz=tz), ""


def charted(table: TableLike) -> pa.Table:
    """The columns of ``table`` that the cards and charts read, in memory (all rows: the
    charts count every row, also of a section the page shows only the start of)."""
    if isinstance(table, pa.Table):
        return table
    return as_table(table.select([c for c in plots.COLUMNS if c in table.column_names]))


def _rows(out: TextIO, table: TableLike, tz: tzinfo) -> None:
    classes = [' class="n"' if is_numeric(f.type) else "" for f in table.schema]
    for batch in table.to_batches(max_chunksize=65536):
        columns = [display_column(col, tz) for col in batch.columns]
        for row in zip(*columns):
            cells = "".join(f"<td{cls}>{esc(display_text(v))}</td>" for cls, v in zip(classes, row))
            out.write(f"<tr>{cells}</tr>\n")


def _table(out: TextIO, table: TableLike, tz: tzinfo, cls: str) -> None:
    out.write(f'<div class="scroll"><table class="{cls}">\n<thead><tr>')
    out.write("".join(f'<th scope="col">{esc(n)}</th>' for n in table.schema.names))
    out.write("</tr></thead>\n<tbody>\n")
    _rows(out, table, tz)
    out.write("</tbody>\n</table></div>\n")


@dataclass(frozen=True)
class Sidecar:
    """The file holding the whole of a section the page shows only the start of."""

    href: str  # relative to the page, percent-encoded
    label: str  # the same path as people read it


def sidecar_folder(page: Path) -> Path:
    """Where the full sections of a page go: ``<page>_files/`` beside it."""
    return page.with_name(page.stem + "_files")


def write_sidecars(sections: Sequence[Section], dest: Dest, opts: Options) -> dict[str, Sidecar]:
    """Write every section longer than ``PAGE_ROWS`` as CSV into ``<page>_files/``, by name.

    CSV opens in any spreadsheet and streams, so no row is lost however long the section;
    the file names come from :func:`file_stem`, so a section name cannot leave the folder.
    A stream destination gets none (it has no place beside it): its page shows every row.
    """
    long = [s for s in sections if s.table.num_rows > PAGE_ROWS]
    if not long or is_stream(dest):
        return {}
    page = Path(os.fspath(dest))  # type: ignore[arg-type]
    folder = sidecar_folder(page)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as err:
        raise AuditlensError(f"cannot write the full sections to {folder}: {err.strerror}") from None
    sidecars = {}
    for s in long:
        name = f"{file_stem(s.name)}.csv"
        csv_writer.write_table(s.table, folder / name, opts)
        href = f"{quote(folder.name, safe='')}/{quote(name, safe='')}"
        sidecars[s.name] = Sidecar(href, f"{folder.name}/{name}")
    return sidecars


def _shown_note(out: TextIO, shown: int, total: int, sidecar: Sidecar) -> None:
    out.write(
        f'<p class="note partial">Showing the first {shown:,} of {_plural(total, "row")}; '
        f'the full section: <a href="{esc(sidecar.href)}">{esc(sidecar.label)}</a> (CSV). '
        "Filtering and sorting work on the rows shown here.</p>\n"
    )


@dataclass(frozen=True)
class _Look:
    """What the page shows of a section before its rows: stats, figures, a note on them."""

    stats: Stats
    figures: tuple[Figure, ...]
    note: str


def _look(s: Section, tz: tzinfo) -> _Look:
    table = charted(s.table)
    return _Look(table_stats(table, tz), *section_figures(s, tz, table))


def _data_section(
    out: TextIO, s: Section, look: _Look, tz: tzinfo, heading: str, sidecar: Sidecar | None
) -> None:
    out.write(f'<section class="data" id="{esc(_anchor(s))}">\n')
    out.write(f"<{heading}>{esc(s.title or s.name)}</{heading}>\n")
    if s.requirement:
        out.write(f'<p class="req">{esc(s.requirement)}</p>\n')
    if s.description:
        out.write(f'<p class="desc">{esc(s.description)}</p>\n')
    _stats(out, look.stats)
    _figures(out, look.figures)
    if look.note:
        out.write(f'<p class="note">{esc(look.note)}</p>\n')
    rows = s.table.num_rows
    table = s.table if sidecar is None else s.table.slice(0, PAGE_ROWS)
    count = _plural(table.num_rows, "row")
    if sidecar is not None:
        _shown_note(out, table.num_rows, rows, sidecar)
        count += " shown"
    label = f"filter {s.title or s.name}"
    out.write(
        f'<div class="tools"><input type="search" class="filter" placeholder="Filter rows"'
        f' aria-label="{esc(label)}"><span class="count">{count}</span></div>\n'
    )
    _table(out, table, tz, "data")
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
    """The whole page: header, section cards, page figures, cover, contents, then each section.

    Sidecars are written once the page's own path is known to be writable, and before the page
    is renamed into place, so a page never links a file that is not there.
    """
    title = opts.title or (sections[0].title if single and sections else "auditlens report")
    looks = [_look(s, opts.tz) for s in sections]
    stats = [look.stats for look in looks]
    with open_text(dest, newline="\n") as out:
        sidecars = write_sidecars(sections, dest, opts)
        _head(out, title)
        out.write(f"<header><h1>{esc(title)}</h1>\n")
        out.write(f'<p class="meta">Times are in {esc(opts.tz_name)}. Generated by auditlens.</p>')
        out.write("</header>\n<main>\n")
        if not single:
            _cards(out, sections, stats)
        _figures(out, figures)
        front = cover_table(cover)
        if front is not None:
            out.write('<section class="cover"><h2>Cover</h2>\n')
            _table(out, front, opts.tz, "kv")
            out.write("</section>\n")
        if not single:
            _toc(out, sections, stats)
        for s, look in zip(sections, looks):
            _data_section(out, s, look, opts.tz, "h2", sidecars.get(s.name))
        out.write("</main>\n")
        _foot(out)


def write_table(table: TableLike, dest: Dest, opts: Options) -> None:
    name = opts.title or "rows"
    write_page(
        [Section(name=name, title=name, description="", table=table)], dest, opts, single=True
    )


def write_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    write_page(sections, dest, opts, cover)
