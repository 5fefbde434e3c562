"""Sections larger than a format holds at once: XLSX continues them in further sheets, HTML shows
the first rows and links the whole section as a CSV file beside the page.

The limits are lowered through the module constants, so no test writes a million rows.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from auditlens.errors import AuditlensError
from auditlens.export import Section, html_writer, write_sections, write_table, xlsx_writer

ROWS = 12
PER_SHEET = 5  # data rows of a continued sheet once MAX_ROWS is lowered below


def numbered(n: int = ROWS) -> pa.Table:
    return pa.table({"n": pa.array(range(n), pa.int64()), "actor": [f"user{i}" for i in range(n)]})


@pytest.fixture
def small_sheets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sheets of header + PER_SHEET rows + the continuation note (a blank row and the text)."""
    monkeypatch.setattr(xlsx_writer, "MAX_ROWS", 1 + PER_SHEET + xlsx_writer.NOTE_ROWS)


def load(path: Path) -> Any:
    return pytest.importorskip("openpyxl").load_workbook(path)


def values(ws: Any) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def data_rows(ws: Any) -> list[list[Any]]:
    """The rows under the header, up to the blank row before a note."""
    rows = values(ws)[1:]
    end = next((i for i, r in enumerate(rows) if all(v is None for v in r)), len(rows))
    return rows[:end]


def note(ws: Any) -> str:
    """The continuation note: the last row, alone in its first cell, after a blank row."""
    *_, blank, last = values(ws)
    assert all(v is None for v in blank) and all(v is None for v in last[1:])
    return str(last[0])


# --- xlsx ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("small_sheets")
def test_xlsx_long_section_continues_in_further_sheets(tmp_path: Path) -> None:
    secs = [Section("logins", "Logins", "", numbered()), Section("small", "Small", "", numbered(3))]
    write_sections(secs, tmp_path / "c.xlsx", "xlsx")
    wb = load(tmp_path / "c.xlsx")
    assert wb.sheetnames == ["Cover", "logins", "logins (2)", "logins (3)", "small"]
    parts = [wb[name] for name in ("logins", "logins (2)", "logins (3)")]
    for ws in parts:
        assert values(ws)[0] == ["n", "actor"]
        assert ws.max_row <= xlsx_writer.MAX_ROWS
    got = [row for ws in parts for row in data_rows(ws)]
    assert got == [[i, f"user{i}"] for i in range(ROWS)]  # every row, in order
    assert note(parts[0]) == "Rows 1 to 5 of 12; continues in sheet 'logins (2)'."
    assert note(parts[1]) == (
        "Rows 6 to 10 of 12; continued from sheet 'logins'; continues in sheet 'logins (3)'."
    )
    assert note(parts[2]) == "Rows 11 to 12 of 12; continued from sheet 'logins (2)'."
    assert values(wb["small"]) == [["n", "actor"]] + [[i, f"user{i}"] for i in range(3)]
    cover = values(wb["Cover"])
    header = cover.index(["section", "title", "requirement", "rows", "description", "sheets"])
    index = {row[0]: row for row in cover[header + 1 :]}
    assert index["logins"][3] == ROWS and index["logins"][5] == "logins, logins (2), logins (3)"
    assert index["small"][3] == 3 and index["small"][5] == "small"


@pytest.mark.usefixtures("small_sheets")
def test_xlsx_a_section_that_just_fits_stays_on_one_sheet(tmp_path: Path) -> None:
    fits = xlsx_writer.MAX_ROWS - 1
    write_sections([Section("a", "A", "", numbered(fits))], tmp_path / "c.xlsx", "xlsx")
    wb = load(tmp_path / "c.xlsx")
    assert wb.sheetnames == ["Cover", "a"] and wb["a"].max_row == xlsx_writer.MAX_ROWS


@pytest.mark.usefixtures("small_sheets")
def test_xlsx_single_table_continues_too(tmp_path: Path) -> None:
    write_table(numbered(), tmp_path / "t.xlsx", "xlsx", title="failed logins")
    wb = load(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["failed logins", "failed logins (2)", "failed logins (3)"]
    got = [row for ws in wb.worksheets for row in data_rows(ws)]
    assert got == [[i, f"user{i}"] for i in range(ROWS)]


@pytest.mark.usefixtures("small_sheets")
def test_xlsx_continued_sheet_names_are_legal_unique_and_short(tmp_path: Path) -> None:
    long = "a-very-long-section-name-that-excel-cannot-hold"
    secs = [
        Section(long + "-1", "x", "", numbered()),
        Section(long + "-2", "y", "", numbered()),
        Section("logins (2)", "z", "", numbered(1)),  # the name a continuation would take
        Section("logins", "w", "", numbered()),
        Section("odd[:*?/\\]'", "v", "", numbered()),
    ]
    write_sections(secs, tmp_path / "c.xlsx", "xlsx")
    names = load(tmp_path / "c.xlsx").sheetnames
    assert len(names) == 1 + 4 * 3 + 1 and len({n.lower() for n in names}) == len(names)
    assert all(len(n) <= 31 and not n.startswith("'") and not n.endswith("'") for n in names)
    assert not [n for n in names if set(n) & set("[]:*?/\\")]
    assert names[1:4] == [long[:31], long[:27] + " (2)", long[:27] + " (3)"]
    assert names[7:11] == ["logins (2)", "logins", "logins~2 (2)", "logins (3)"]
    odd = "odd" + "_" * 7
    assert names[11:] == [odd, odd + " (2)", odd + " (3)"]


def test_xlsx_sheet_parts() -> None:
    assert xlsx_writer.sheet_parts(0) == [(0, 0)]
    assert xlsx_writer.sheet_parts(xlsx_writer.MAX_ROWS - 1) == [(0, xlsx_writer.MAX_ROWS - 1)]
    per = xlsx_writer.MAX_ROWS - 1 - xlsx_writer.NOTE_ROWS
    rows = xlsx_writer.MAX_ROWS
    assert xlsx_writer.sheet_parts(rows) == [(0, per), (per, rows - per)]


# --- html ------------------------------------------------------------------------------------

PAGE = 5  # rows a section shows on the page once PAGE_ROWS is lowered below


@pytest.fixture
def short_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_writer, "PAGE_ROWS", PAGE)


def html_sections(text: str) -> dict[str, str]:
    """Each data section's markup by its anchor id."""
    parts = text.split('<section class="data" id="')[1:]
    return {part.split('"', 1)[0]: part for part in parts}


def shown_rows(section: str) -> list[str]:
    return re.findall(r"<tr><td[^>]*>([^<]*)</td>", section)


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.usefixtures("short_pages")
def test_html_long_section_shows_the_start_and_links_the_whole(tmp_path: Path) -> None:
    secs = [Section("logins", "Logins", "", numbered()), Section("small", "Small", "", numbered(3))]
    write_sections(secs, tmp_path / "c.html", "html")
    text = (tmp_path / "c.html").read_text("utf-8")
    page = html_sections(text)
    assert shown_rows(page["s-logins"]) == [str(i) for i in range(PAGE)]
    assert shown_rows(page["s-small"]) == ["0", "1", "2"]
    # cards, contents and summary count every row, not the shown ones
    assert '<span class="n">12</span><span class="l">Logins</span>' in text
    assert '<span class="count">12 rows</span>' in text
    assert '<span class="n">12</span><span class="l">actors</span>' in page["s-logins"]
    assert (
        '<p class="note partial">Showing the first 5 of 12 rows; the full section: '
        '<a href="c_files/logins.csv">c_files/logins.csv</a> (CSV). '
        "Filtering and sorting work on the rows shown here.</p>"
    ) in page["s-logins"]
    assert '<span class="count">5 rows shown</span>' in page["s-logins"]
    assert "partial" not in page["s-small"] and "_files" not in page["s-small"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.html", "c_files"]
    assert [p.name for p in (tmp_path / "c_files").iterdir()] == ["logins.csv"]
    rows = read_csv(tmp_path / "c_files" / "logins.csv")
    assert rows == [["n", "actor"]] + [[str(i), f"user{i}"] for i in range(ROWS)]


@pytest.mark.usefixtures("short_pages")
def test_html_small_sections_write_no_sidecar(tmp_path: Path) -> None:
    write_sections([Section("a", "A", "", numbered(PAGE))], tmp_path / "c.html", "html")
    assert [p.name for p in tmp_path.iterdir()] == ["c.html"]
    assert "partial" not in (tmp_path / "c.html").read_text("utf-8")


@pytest.mark.usefixtures("short_pages")
def test_html_single_table_links_its_whole_table_too(tmp_path: Path) -> None:
    write_table(numbered(), tmp_path / "t.html", "html", title="failed logins")
    text = (tmp_path / "t.html").read_text("utf-8")
    assert len(shown_rows(text)) == PAGE
    assert '<a href="t_files/failed_logins.csv">' in text
    assert len(read_csv(tmp_path / "t_files" / "failed_logins.csv")) == 1 + ROWS


@pytest.mark.usefixtures("short_pages")
def test_html_to_a_stream_shows_every_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.BytesIO()
    write_sections([Section("logins", "Logins", "", numbered())], out, "html")
    text = out.getvalue().decode("utf-8")
    assert len(shown_rows(text)) == ROWS and "partial" not in text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("short_pages")
def test_html_sidecar_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "c_files").write_text("not a folder")
    with pytest.raises(AuditlensError, match="cannot write the full sections"):
        write_sections([Section("a", "A", "", numbered())], tmp_path / "c.html", "html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c_files"]  # no page linking nothing


def test_docs_give_the_limits_the_writers_use() -> None:
    """docs/scale.md is written by hand: it must name the limits the code declares."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "scale.md").read_text("utf-8")
    section = text.split("{#large-reports}", 1)[1].split("\n## ", 1)[0]
    assert f"{xlsx_writer.MAX_ROWS:,} rows a sheet" in section
    assert f"{html_writer.PAGE_ROWS:,} rows a section" in section
    per_sheet = xlsx_writer.MAX_ROWS - 1 - xlsx_writer.NOTE_ROWS
    assert f"Rows {per_sheet + 1:,} to {2 * per_sheet:,} of" in section


def test_the_cli_says_where_the_full_sections_went(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An auditor handed the page alone would miss the folder: the run's last line names it."""
    from click.testing import CliRunner
    from conftest import SAMPLE_LOGS

    from auditlens.cli import cli

    page = tmp_path / "evidence.html"
    args = ["report", "admin-actions", str(SAMPLE_LOGS), "-o", str(page)]
    quiet = CliRunner().invoke(cli, args)
    assert quiet.exit_code == 0 and "_files" not in quiet.stderr  # every row on the page
    monkeypatch.setattr(html_writer, "PAGE_ROWS", PAGE)
    told = CliRunner().invoke(cli, args)
    assert told.exit_code == 0, told.output
    assert f"{tmp_path / 'evidence_files'}/, keep it beside the page" in told.stderr
    assert (tmp_path / "evidence_files" / "admin-actions.csv").exists()


# --- a streamed report (sections on disk) through both limits ---------------------------------


def _streamed_logins() -> tuple[Any, list[dict[str, Any]]]:
    from conftest import SAMPLE_LOGS

    from auditlens import run_report
    from auditlens.spill import SpilledTable

    out = run_report("compliance", str(SAMPLE_LOGS))
    logins = next(s for s in out.sections if s.name == "logins")
    assert isinstance(logins.table, SpilledTable) and logins.table.num_rows > 3 * PER_SHEET
    return out, logins.table.read().to_pylist()


@pytest.mark.usefixtures("small_sheets")
def test_xlsx_of_a_streamed_report_holds_every_row_in_order(tmp_path: Path) -> None:
    out, rows = _streamed_logins()
    out.write(tmp_path / "r.xlsx", "xlsx")
    wb = load(tmp_path / "r.xlsx")
    names = [n for n in wb.sheetnames if n == "logins" or n.startswith("logins (")]
    assert len(names) == -(-len(rows) // PER_SHEET)
    got = [row for n in names for row in data_rows(wb[n])]
    assert [r[values(wb["logins"])[0].index("evidence")] for r in got] == [r["evidence"] for r in rows]


@pytest.mark.usefixtures("short_pages")
def test_html_of_a_streamed_report_links_the_whole_section(tmp_path: Path) -> None:
    out, rows = _streamed_logins()
    out.write(tmp_path / "r.html", "html")
    page = html_sections((tmp_path / "r.html").read_text("utf-8"))
    assert len(re.findall(r"<tr><td", page["s-logins"])) == PAGE
    full = read_csv(tmp_path / "r_files" / "logins.csv")
    assert [r[full[0].index("evidence")] for r in full[1:]] == [r["evidence"] for r in rows]
