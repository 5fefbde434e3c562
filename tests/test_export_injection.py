"""Attacker-controlled log text must stay inert in every export format.

The crafted values are the classic payloads: spreadsheet formulas (OWASP CSV injection list:
``= + - @``, tab, CR) and HTML/script injection. A username like these can reach a report
straight from an SSH login attempt.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens.export import Section, write_sections, write_table
from auditlens.export.cells import FORMULA_STARTS, show_hidden
from auditlens.export.html_assets import SCRIPT
from auditlens.export.xlsx_writer import cell_text

# any text, with the formula-starting characters made frequent enough to be drawn every run
TEXTS = st.one_of(st.text(), st.tuples(st.sampled_from(FORMULA_STARTS), st.text()).map("".join))
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(1)", "\t=1", "\r=1"]
MARKUP = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
CRAFTED = FORMULAS + MARKUP


def crafted_table() -> pa.Table:
    """Each payload as a plain string, inside a list and as a map value; plus real numbers."""
    return pa.table(
        {
            "actor": pa.array(CRAFTED, pa.string()),
            "argv": pa.array([[v] for v in CRAFTED], pa.list_(pa.string())),
            "fields": pa.array([[("k", v)] for v in CRAFTED], pa.map_(pa.string(), pa.string())),
            "delta": pa.array([-(i + 1) for i in range(len(CRAFTED))], pa.int64()),
        }
    )


# --- csv -------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_formula_cells_start_with_quote(tmp_path: Path) -> None:
    write_table(crafted_table(), tmp_path / "x.csv", "csv")
    header, *rows = read_csv(tmp_path / "x.csv")
    assert header == ["actor", "argv", "fields", "delta"]
    actors = [r[0] for r in rows]
    assert actors[: len(FORMULAS)] == ["'" + v for v in FORMULAS]
    assert actors[len(FORMULAS) :] == MARKUP  # not formulas: left exactly as logged
    for row in rows:
        for cell in row[:3]:
            assert not cell.startswith(FORMULA_STARTS), cell


def test_csv_numbers_stay_numbers_but_numeric_looking_text_is_quoted(tmp_path: Path) -> None:
    table = pa.table({"n": pa.array([-1, -2], pa.int64()), "s": pa.array(["-1+1", "-1"])})
    write_table(table, tmp_path / "x.csv", "csv")
    _, *rows = read_csv(tmp_path / "x.csv")
    assert rows == [["-1", "'-1+1"], ["-2", "'-1"]]


def test_csv_dictionary_encoded_strings_are_neutralised(tmp_path: Path) -> None:
    # lists and maps are JSON text starting with "[" or "{" (checked above); a dictionary-encoded
    # string column is still text and must be neutralised like any other.
    table = pa.table({"d": pa.array(["=1+1", "ok"]).dictionary_encode()})
    write_table(table, tmp_path / "x.csv", "csv")
    assert read_csv(tmp_path / "x.csv")[1:] == [["'=1+1"], ["ok"]]


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=5))
def test_csv_any_text_reads_back_neutralised(values: list[str]) -> None:
    out = io.BytesIO()
    write_table(pa.table({"v": pa.array(values, pa.string())}), out, "csv")
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    expected = ["'" + v if v[:1] in FORMULA_STARTS else v for v in values]
    assert [r[0] for r in rows[1:]] == expected
    assert all(not r[0].startswith(FORMULA_STARTS) for r in rows[1:])


# --- xlsx ------------------------------------------------------------------------------------


def xlsx_cells(path: Path) -> list:  # type: ignore[type-arg]
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(path)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_xlsx_no_formula_cells_and_payloads_quoted(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    write_table(crafted_table(), tmp_path / "x.xlsx", "xlsx")
    cells = xlsx_cells(tmp_path / "x.xlsx")
    assert cells, "workbook is empty"
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    by_ref = {c.coordinate: c for c in cells}
    for i, payload in enumerate(FORMULAS, start=2):
        actor = by_ref[f"A{i}"]
        assert actor.data_type == "s"
        assert isinstance(actor.value, str) and actor.value.startswith("'"), actor.value
    # numbers stay numbers: a negative number is not a formula
    assert by_ref["D2"].value == -1 and by_ref["D2"].data_type == "n"
    # the CR payload is shown visibly (XML readers would turn a bare CR into LF)
    assert by_ref["A7"].value == "'\\x0d=1"
    assert by_ref["A8"].value == MARKUP[0]


def test_xlsx_control_characters_are_shown_not_fatal(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    values = ["bell\x07", "esc\x1b[31m", "nul\x00", "ok\ttab\nline"]
    write_table(pa.table({"v": values}), tmp_path / "x.xlsx", "xlsx")
    got = [c.value for c in xlsx_cells(tmp_path / "x.xlsx")][1:]
    assert got == ["bell\\x07", "esc\\x1b[31m", "nul\\x00", "ok\ttab\nline"]


def ooxml_decoded(text: str) -> str:
    """Cell text as Excel shows it: each ``_xHHHH_`` is one character, read left to right."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["_", "x", "_x", "0041", "005F", "0d", "_x0041_",
                                            "_x005F_", "A", "z"]), max_size=8).map("".join),
                min_size=1, max_size=4))
def test_xlsx_text_that_looks_like_an_escape_reads_back_as_logged(values: list[str]) -> None:
    """Log text such as ``_x0041_`` must not show as "A" (Excel decodes ``_xHHHH_`` in cell text):
    what the file holds, decoded the way Excel does, is the text as logged."""
    assert [ooxml_decoded(cell_text(v)) for v in values] == [show_hidden(v) for v in values]


def test_xlsx_escape_lookalikes_in_the_file(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    values = ["_x0041_", "a_x000D_b", "_x005F_x0041_", "_x00_", "_xZZZZ_"]
    write_table(pa.table({"v": values}), tmp_path / "x.xlsx", "xlsx")
    stored = [c.value for c in xlsx_cells(tmp_path / "x.xlsx")][1:]  # openpyxl does not decode
    assert stored == ["_x005F_x0041_", "a_x005F_x000D_b", "_x005F_x005F_x005F_x0041_", "_x00_",
                      "_xZZZZ_"]
    assert [ooxml_decoded(v) for v in stored] == values


def test_xlsx_sections_and_cover_are_neutralised_too(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    section = Section("logins", "=Logins", "@desc", crafted_table(), requirement="-10.2")
    write_sections([section], tmp_path / "c.xlsx", "xlsx", title="+T", cover={"user": "=evil()"})
    cells = [c for c in xlsx_cells(tmp_path / "c.xlsx") if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    assert "'=evil()" in texts and "'=Logins" in texts and "'+T" in texts


def test_xlsx_continued_sheets_are_neutralised_too(tmp_path: Path, monkeypatch) -> None:
    """A section cut over several sheets (limit lowered): every part, note and title stays text."""
    pytest.importorskip("openpyxl")
    from auditlens.export import xlsx_writer

    monkeypatch.setattr(xlsx_writer, "MAX_ROWS", 1 + 3 + xlsx_writer.NOTE_ROWS)  # 3 data rows
    section = Section("=logins", "=Logins", "@desc", crafted_table(), requirement="-10.2")
    write_sections([section], tmp_path / "c.xlsx", "xlsx", title="+T")
    openpyxl = pytest.importorskip("openpyxl")
    assert len(openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames) == 1 + 3  # 8 rows: 3+3+2
    cells = [c for c in xlsx_cells(tmp_path / "c.xlsx") if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    actors = [t for t in texts if t.lstrip("'") in [show_hidden(v) for v in CRAFTED]]
    assert len(actors) == len(CRAFTED)
    assert any("continues in sheet '=logins (2)'" in t for t in texts)


# --- html ------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Collect start tags with their attributes, script bodies, and cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self.cells: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in ("script", "td"):
            self._in = tag
            if tag == "script":
                self.scripts.append("")
            else:
                self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "td":
            self.cells[-1] += data


def parse_html(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser


def check_inert_html(text: str) -> _Tags:
    assert "<script>alert" not in text
    assert "<img src=x" not in text
    page = parse_html(text)
    assert [t for t, _ in page.tags].count("script") == 1, "only our own inline script"
    assert [t for t, _ in page.tags if t == "img"] == []
    attrs = [name for _, a in page.tags for name, _ in a]
    assert not [a for a in attrs if a.startswith("on")], "no event-handler attributes"
    assert not [t for t, a in page.tags if t == "script" and a], "no script src"
    assert "alert" not in page.scripts[0]
    return page


def test_html_payloads_are_text_not_markup(tmp_path: Path) -> None:
    write_table(crafted_table(), tmp_path / "x.html", "html", title='<script>alert("t")</script>')
    page = check_inert_html((tmp_path / "x.html").read_text("utf-8"))
    actors = page.cells[0::4]
    assert actors == [show_hidden(v) for v in CRAFTED]  # shown exactly (CR made visible)


def test_html_sections_escape_titles_descriptions_and_cover(tmp_path: Path) -> None:
    section = Section(
        'x"><script>alert(2)</script>',
        "<img src=x onerror=alert(3)>",
        "<script>alert(4)</script>",
        crafted_table(),
        requirement='"><img src=x>',
    )
    write_sections(
        [section],
        tmp_path / "c.html",
        "html",
        title="<script>alert(5)</script>",
        cover={"<img src=x>": '"><script>alert(6)</script>'},
    )
    check_inert_html((tmp_path / "c.html").read_text("utf-8"))


def test_html_page_fetches_nothing_and_has_strict_csp(tmp_path: Path) -> None:
    write_table(crafted_table(), tmp_path / "x.html", "html")
    text = (tmp_path / "x.html").read_text("utf-8")
    page = parse_html(text)
    csp = [
        dict(a).get("content")
        for t, a in page.tags
        if t == "meta" and dict(a).get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(csp) == 1 and csp[0] is not None
    assert "default-src 'none'" in csp[0] and "unsafe-inline" not in csp[0]
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", csp[0])
    urls = [v for _, a in page.tags for k, v in a if k in ("src", "href") and v]
    assert [u for u in urls if not u.startswith("#")] == []
    assert "http://" not in text.replace("http://x", "") and "https://" not in text
    assert "innerHTML" not in page.scripts[0] and "textContent" in page.scripts[0]


def test_html_long_section_sidecar_name_link_and_cells_are_safe(tmp_path: Path,
                                                                monkeypatch) -> None:
    """A section too long for the page (limit lowered): hostile section and page names cannot
    leave the folder or break the link, and the CSV beside the page is neutralised."""
    from auditlens.export import html_writer

    monkeypatch.setattr(html_writer, "PAGE_ROWS", 3)
    name = '"><script>alert(1)</script>/../../x'
    page_path = tmp_path / 'ev "<b>#?.html'
    write_sections([Section(name, MARKUP[1], "", crafted_table())], page_path, "html")
    page = check_inert_html(page_path.read_text("utf-8"))
    folder = tmp_path / 'ev "<b>#?_files'
    (sidecar,) = folder.iterdir()
    assert sidecar.name == "_script_alert_1_script_.._.._x.csv"
    hrefs = [v for t, a in page.tags if t == "a" for k, v in a if k == "href" and v]
    assert [h for h in hrefs if not h.startswith("#")] == [
        "ev%20%22%3Cb%3E%23%3F_files/_script_alert_1_script_.._.._x.csv"
    ]
    assert len(page.cells) == 3 * 4  # three rows of four columns on the page
    header, *rows = read_csv(sidecar)
    assert header == ["actor", "argv", "fields", "delta"]
    assert [r[0] for r in rows] == ["'" + v for v in FORMULAS] + MARKUP


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=5))
def test_html_any_text_round_trips_as_cell_text(values: list[str]) -> None:
    out = io.BytesIO()
    write_table(pa.table({"v": pa.array(values, pa.string())}), out, "html")
    page = parse_html(out.getvalue().decode("utf-8"))
    assert [t for t, _ in page.tags].count("script") == 1
    assert page.cells == [show_hidden(v) for v in values]


# --- markdown --------------------------------------------------------------------------------


def test_markdown_cells_cannot_break_the_table_or_inject_markup(tmp_path: Path) -> None:
    values = CRAFTED + ["a|b", "`code`", "# heading", "line1\nline2", "![x](http://evil/t.png)"]
    write_table(pa.table({"v": values, "n": list(range(len(values)))}), tmp_path / "x.md", "md")
    text = (tmp_path / "x.md").read_text("utf-8")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(values), "one line per row: newlines cannot split a row"
    for row in rows:
        unescaped_pipes = re.findall(r"(?<!\\)\|", row)
        assert len(unescaped_pipes) == 3, row  # two cells → three separators
    assert "<script" not in text and "<img" not in text
    assert "](http" not in text.replace("\\](http", "")  # no live link or image syntax
    assert "\\`code\\`" in text and "\\# heading" in text and "line1<br>line2" in text


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


class _Inline(HTMLParser):
    """The raw text of each <style> and <script> element, as a browser hashes it for CSP."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.blocks:
            self._in = tag
            self.blocks[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.blocks[self._in][-1] += data


def test_html_csp_hashes_match_the_inline_style_and_script(tmp_path: Path) -> None:
    """A hash mismatch would make the browser silently drop our CSS or sorting script."""
    write_table(crafted_table(), tmp_path / "x.html", "html")
    text = (tmp_path / "x.html").read_text("utf-8")
    inline = _Inline()
    inline.feed(text)
    (style,), (script,) = inline.blocks["style"], inline.blocks["script"]
    csp = parse_html(text).tags
    content = next(
        dict(a)["content"]
        for t, a in csp
        if t == "meta" and ("http-equiv", "Content-Security-Policy") in a
    )
    assert f"style-src {_sha256_source(style)}" in content
    assert f"script-src {_sha256_source(script)}" in content


def test_html_script_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the script syntax is checked where it is")
    (tmp_path / "s.js").write_text(SCRIPT, "utf-8")
    result = subprocess.run(
        [node, "--check", str(tmp_path / "s.js")], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
