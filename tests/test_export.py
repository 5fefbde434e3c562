"""Export API: the format registry, round trips, time zones, empty tables, sections, streaming."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditlens.errors import AuditlensError
from auditlens.export import (
    FORMATS,
    STREAMING,
    Figure,
    Section,
    format_from_path,
    write_batches,
    write_sections,
    write_table,
)
from auditlens.schema import TIME

ALL = sorted(FORMATS)
UTC = timezone.utc


def sample() -> pa.Table:
    """Two rows across the types auditlens tables use (timestamps in winter and summer)."""
    return pa.table(
        {
            "time": pa.array(
                [
                    datetime(2024, 1, 15, 12, 0, 0, 250000, tzinfo=UTC),
                    datetime(2024, 7, 15, 12, 0, 0, tzinfo=UTC),
                ],
                TIME,
            ),
            "actor": pa.array(["alice", None], pa.string()),
            "pid": pa.array([4242, -1], pa.int64()),
            "success": pa.array([True, False], pa.bool_()),
            "argv": pa.array([["ls", "-l"], []], pa.list_(pa.string())),
            "labels": pa.array([[("app", "web")], None], pa.map_(pa.string(), pa.string())),
            "raw": pa.array([b"ok", b"\xff\x00"], pa.binary()),
            "latency": pa.array([0.5, None], pa.float64()),
        }
    )


# --- registry --------------------------------------------------------------------------------


def test_registry_has_the_formats_users_type() -> None:
    assert ALL == ["csv", "html", "json", "jsonl", "md", "parquet", "xlsx"]
    assert STREAMING == {"csv", "jsonl", "json", "parquet"}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("out.csv", "csv"),
        ("a/b.JSONL", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("r.json", "json"),
        ("t.parquet", "parquet"),
        ("README.md", "md"),
        ("e.XLSX", "xlsx"),
        ("p.htm", "html"),
    ],
)
def test_format_from_path(name: str, fmt: str) -> None:
    assert format_from_path(name) == fmt
    assert format_from_path(Path(name)) == fmt


def test_format_from_path_unknown_extension() -> None:
    with pytest.raises(AuditlensError, match=r"\.csv.*give -f FORMAT"):
        format_from_path("evidence.docx")


def test_unknown_format_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(AuditlensError) as err:
        write_table(sample(), tmp_path / "x", "pdf")
    assert "'pdf'" in str(err.value)
    assert "csv, html, json, jsonl, md, parquet, xlsx" in str(err.value)
    assert not (tmp_path / "x").exists()


def test_unknown_time_zone_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AuditlensError, match="unknown time zone 'Mars/Olympus'"):
        write_table(sample(), tmp_path / "x.csv", "csv", tz="Mars/Olympus")


def test_import_does_not_load_openpyxl_or_pandas() -> None:
    code = "import sys, auditlens.export; print('openpyxl' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_missing_openpyxl_is_a_one_line_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # makes `import openpyxl` fail
    with pytest.raises(AuditlensError, match=r"pip install 'auditlens\[xlsx\]'") as err:
        write_table(sample(), tmp_path / "x.xlsx", "xlsx")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "x.xlsx").exists()


# --- round trips -----------------------------------------------------------------------------


def test_parquet_round_trip_is_exact(tmp_path: Path) -> None:
    write_table(sample(), tmp_path / "t.parquet", "parquet", title="T", tz="Europe/Berlin")
    back = pq.read_table(tmp_path / "t.parquet")
    assert back.equals(sample())  # tz does not apply: instants and UTC type kept
    assert back.schema.field("time").type == TIME
    assert back.schema.metadata[b"auditlens.title"] == b"T"


EXPECTED_ROWS = [
    {
        "time": "2024-01-15T12:00:00.250000Z",
        "actor": "alice",
        "pid": 4242,
        "success": True,
        "argv": ["ls", "-l"],
        "labels": {"app": "web"},
        "raw": "ok",
        "latency": 0.5,
    },
    {
        "time": "2024-07-15T12:00:00.000000Z",
        "actor": None,
        "pid": -1,
        "success": False,
        "argv": [],
        "labels": None,
        "raw": "\\xff\x00",
        "latency": None,
    },
]


def test_jsonl_round_trip_rows(tmp_path: Path) -> None:
    write_table(sample(), tmp_path / "t.jsonl", "jsonl")
    lines = (tmp_path / "t.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == EXPECTED_ROWS


def test_json_is_an_array_of_the_same_rows(tmp_path: Path) -> None:
    write_table(sample(), tmp_path / "t.json", "json")
    assert json.loads((tmp_path / "t.json").read_text("utf-8")) == EXPECTED_ROWS


def test_csv_round_trip_text(tmp_path: Path) -> None:
    write_table(sample(), tmp_path / "t.csv", "csv")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == sample().schema.names
    assert rows[1] == [
        "2024-01-15T12:00:00.250000Z",
        "alice",
        "4242",
        "true",
        '["ls", "-l"]',
        '{"app": "web"}',
        "ok",
        "0.5",
    ]
    assert rows[2][:4] == ["2024-07-15T12:00:00.000000Z", "", "-1", "false"]


def test_timestamps_keep_their_unit_precision(tmp_path: Path) -> None:
    t = pa.table(
        {
            "s": pa.array([0], pa.timestamp("s", tz="UTC")),
            "ms": pa.array([1], pa.timestamp("ms", tz="UTC")),
            "ns": pa.array([1], pa.timestamp("ns", tz="UTC")),
            "naive": pa.array([0], pa.timestamp("us")),
        }
    )
    out = io.BytesIO()
    write_table(t, out, "jsonl")
    assert json.loads(out.getvalue()) == {
        "s": "1970-01-01T00:00:00Z",
        "ms": "1970-01-01T00:00:00.001Z",
        "ns": "1970-01-01T00:00:00.000000001Z",
        "naive": "1970-01-01T00:00:00.000000Z",
    }


# --- time zones ------------------------------------------------------------------------------

# Berlin is UTC+1 in January (CET) and UTC+2 in July (CEST).
BERLIN = ["2024-01-15T13:00:00.250000+01:00", "2024-07-15T14:00:00.000000+02:00"]


def test_tz_converts_jsonl_and_csv(tmp_path: Path) -> None:
    write_table(sample(), tmp_path / "t.jsonl", "jsonl", tz="Europe/Berlin")
    rows = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text("utf-8").splitlines()]
    assert [r["time"] for r in rows] == BERLIN
    write_table(sample(), tmp_path / "t.csv", "csv", tz="Europe/Berlin")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as fh:
        assert [r[0] for r in list(csv.reader(fh))[1:]] == BERLIN


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_tz_converts_display_formats(tmp_path: Path, fmt: str) -> None:
    write_table(sample(), tmp_path / f"t.{fmt}", fmt, tz="Europe/Berlin")
    text = (tmp_path / f"t.{fmt}").read_text("utf-8")
    assert all(stamp in text for stamp in BERLIN)
    assert "12:00:00" not in text


def test_tz_converts_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    write_table(sample(), tmp_path / "t.xlsx", "xlsx", tz="Europe/Berlin")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").worksheets[0]
    assert [ws["A2"].value, ws["A3"].value] == BERLIN


def test_nested_timestamps_are_converted_too() -> None:
    t = pa.table({"times": pa.array([[datetime(2024, 1, 15, 12, tzinfo=UTC)]], pa.list_(TIME))})
    out = io.BytesIO()
    write_table(t, out, "jsonl", tz="Europe/Berlin")
    assert json.loads(out.getvalue()) == {"times": ["2024-01-15T13:00:00.000000+01:00"]}


# --- empty tables ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
def test_empty_table_gives_a_valid_file(tmp_path: Path, fmt: str) -> None:
    if fmt == "xlsx":
        pytest.importorskip("openpyxl")
    empty = sample().slice(0, 0)
    dest = tmp_path / f"e.{fmt}"
    write_table(empty, dest, fmt)
    names = empty.schema.names
    if fmt == "csv":
        with open(dest, newline="", encoding="utf-8") as fh:
            assert list(csv.reader(fh)) == [names]
    elif fmt == "jsonl":
        assert dest.read_bytes() == b""
    elif fmt == "json":
        assert json.loads(dest.read_text("utf-8")) == []
    elif fmt == "parquet":
        back = pq.read_table(dest)
        assert back.num_rows == 0 and back.schema.names == names
    elif fmt == "md":
        text = dest.read_text("utf-8")
        assert "| " + " | ".join(names) + " |" in text and "No rows matched" in text
    elif fmt == "xlsx":
        import openpyxl

        ws = openpyxl.load_workbook(dest).worksheets[0]
        assert [c.value for c in ws[1]] == names
    elif fmt == "html":
        text = dest.read_text("utf-8")
        assert all(f'<th scope="col">{n}</th>' in text for n in names)
        assert "No rows matched." in text


# --- destinations ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
def test_stream_destination_is_written_and_left_open(fmt: str) -> None:
    if fmt == "xlsx":
        pytest.importorskip("openpyxl")
    out = io.BytesIO()
    write_table(sample(), out, fmt)
    assert not out.closed and len(out.getvalue()) > 0


def test_failed_export_leaves_no_file(tmp_path: Path) -> None:
    def batches():
        yield sample().to_batches()[0]
        raise RuntimeError("reader failed half way")

    with pytest.raises(RuntimeError):
        write_batches(batches(), sample().schema, tmp_path / "t.csv", "csv")
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AuditlensError, match="does not exist"):
        write_table(sample(), tmp_path / "nope" / "t.csv", "csv")
    with pytest.raises(AuditlensError, match="is a directory"):
        write_table(sample(), tmp_path, "html")
    assert list(tmp_path.iterdir()) == []


def test_record_batch_is_accepted_and_other_values_refused(tmp_path: Path) -> None:
    write_table(sample().to_batches()[0], tmp_path / "t.parquet", "parquet")
    assert pq.read_table(tmp_path / "t.parquet").equals(sample())
    with pytest.raises(AuditlensError, match="expected an Arrow table, not list"):
        write_table([{"a": 1}], tmp_path / "x.csv", "csv")  # type: ignore[arg-type]


# --- streaming -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
def test_write_batches_equals_write_table(tmp_path: Path, fmt: str) -> None:
    if fmt == "xlsx":
        pytest.importorskip("openpyxl")
    table = pa.concat_tables([sample()] * 3).combine_chunks()
    write_table(table, tmp_path / f"a.{fmt}", fmt)
    batches = (b for b in table.to_batches(max_chunksize=2))
    write_batches(batches, table.schema, tmp_path / f"b.{fmt}", fmt)
    if fmt == "xlsx":  # zip members carry timestamps; compare the cells
        import openpyxl

        def cells(p: Path) -> list:  # type: ignore[type-arg]
            return [[c.value for c in r] for r in openpyxl.load_workbook(p).worksheets[0].rows]

        assert cells(tmp_path / "a.xlsx") == cells(tmp_path / "b.xlsx")
    elif fmt == "parquet":
        assert pq.read_table(tmp_path / "b.parquet").equals(table)
    else:
        assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()


def test_write_batches_streams_csv_without_collecting(tmp_path: Path) -> None:
    """The csv writer has written earlier batches before it asks for the next one."""
    seen: list[int] = []
    dest = tmp_path / "s.csv"

    def batches():
        for i in range(3):
            seen.append(i)
            yield sample().to_batches()[0]

    write_batches(batches(), sample().schema, dest, "csv")
    assert seen == [0, 1, 2]
    with open(dest, newline="", encoding="utf-8") as fh:
        assert len(list(csv.reader(fh))) == 1 + 3 * 2


# --- sections --------------------------------------------------------------------------------


def sections() -> list[Section]:
    return [
        Section(
            "logins", "Logins", "SSH and console logins", sample(), requirement="PCI DSS 10.2.1.4"
        ),
        Section("failed-access", "Failed access", "Denied opens", sample().slice(0, 1)),
        Section("empty", "Nothing here", "", sample().slice(0, 0)),
    ]


COVER = {"period": "2024-01-01 to 2024-07-31", "sources": "node1/audit.log"}


def test_xlsx_sections_one_sheet_each_plus_cover(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    write_sections(sections(), tmp_path / "c.xlsx", "xlsx", title="Evidence", cover=COVER)
    wb = openpyxl.load_workbook(tmp_path / "c.xlsx")
    assert wb.sheetnames == ["Cover", "logins", "failed-access", "empty"]
    cover = [[c.value for c in row] for row in wb["Cover"].rows]
    assert cover[0][0] == "Evidence"
    assert ["period", COVER["period"]] == cover[4][:2]
    index = {row[0]: row for row in cover if row and row[0] in ("logins", "failed-access", "empty")}
    assert index["logins"][2:4] == ["PCI DSS 10.2.1.4", 2]
    assert index["failed-access"][3] == 1 and index["empty"][3] == 0
    assert wb["logins"].max_row == 3 and wb["failed-access"].max_row == 2
    assert [c.value for c in wb["empty"][1]] == sample().schema.names


def test_html_sections_have_cards_and_a_section_each(tmp_path: Path) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>x()</script></svg>'
    )
    secs = sections()
    secs[0] = Section("logins", "Logins", "", sample(), figures=(Figure("per hour", svg),))
    write_sections(secs, tmp_path / "c.html", "html", title="Evidence", cover=COVER)
    text = (tmp_path / "c.html").read_text("utf-8")
    for s in secs:
        assert f'id="s-{s.name}"' in text and f'href="#s-{s.name}"' in text
    assert '<span class="n">2</span><span class="l">Logins</span>' in text
    assert text.count('<section class="data"') == 3
    assert '<img src="data:image/svg+xml;base64,' in text and "<svg" not in text


def test_figure_types_are_restricted(tmp_path: Path) -> None:
    bad = Section("a", "A", "", sample(), figures=(Figure("x", b"<html>", mime="text/html"),))
    with pytest.raises(AuditlensError, match="figure type"):
        write_sections([bad], tmp_path / "c.html", "html")


def test_md_sections_are_headings(tmp_path: Path) -> None:
    write_sections(sections(), tmp_path / "c.md", "md", title="Evidence", cover=COVER)
    text = (tmp_path / "c.md").read_text("utf-8")
    assert text.startswith("# Evidence\n")
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## Contents",
        "## Logins",
        "## Failed access",
        "## Nothing here",
    ]


def test_json_sections_object_keyed_by_section(tmp_path: Path) -> None:
    write_sections(sections(), tmp_path / "c.json", "json", title="Evidence", cover=COVER)
    doc = json.loads((tmp_path / "c.json").read_text("utf-8"))
    assert doc["title"] == "Evidence" and doc["cover"] == COVER and doc["timezone"] == "UTC"
    assert list(doc["sections"]) == ["logins", "failed-access", "empty"]
    assert doc["sections"]["logins"]["rows"] == EXPECTED_ROWS
    assert doc["sections"]["logins"]["requirement"] == "PCI DSS 10.2.1.4"
    assert doc["sections"]["empty"]["rows"] == [] and doc["sections"]["empty"]["row_count"] == 0


def test_json_sections_empty_list_is_valid(tmp_path: Path) -> None:
    write_sections([], tmp_path / "c.json", "json")
    assert json.loads((tmp_path / "c.json").read_text("utf-8"))["sections"] == {}


def test_jsonl_sections_tag_every_row(tmp_path: Path) -> None:
    write_sections(sections(), tmp_path / "c.jsonl", "jsonl", cover=COVER)
    rows = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text("utf-8").splitlines()]
    assert rows[0]["section"] == "_cover" and rows[0]["cover"] == COVER
    assert [r["section"] for r in rows[1:]] == ["logins", "logins", "failed-access"]
    assert {k: v for k, v in rows[1].items() if k != "section"} == EXPECTED_ROWS[0]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_one_table_formats_write_sections_to_a_directory(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "evidence"
    write_sections(sections(), out, fmt, cover=COVER)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{fmt}" for n in ("_cover", "_sections", "logins", "failed-access", "empty")
    )
    if fmt == "parquet":
        assert pq.read_table(out / "logins.parquet").equals(sample())
        assert pq.read_table(out / "_sections.parquet").column("rows").to_pylist() == [2, 1, 0]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_one_table_formats_refuse_a_file_or_stream(tmp_path: Path, fmt: str) -> None:
    message = f"{fmt} holds one table; use -f xlsx/html/json or -o DIR"
    with pytest.raises(AuditlensError, match=re.escape(message)):
        write_sections(sections(), tmp_path / f"c.{fmt}", fmt)
    with pytest.raises(AuditlensError, match="holds one table"):
        write_sections(sections(), io.BytesIO(), fmt)
    assert list(tmp_path.iterdir()) == []


def test_colliding_section_names_are_refused(tmp_path: Path) -> None:
    twins = [Section("a/b", "x", "", sample()), Section("a_b", "y", "", sample())]
    with pytest.raises(AuditlensError, match="collides"):
        write_sections(twins, tmp_path / "c.html", "html")


def test_section_needs_an_arrow_table() -> None:
    with pytest.raises(AuditlensError, match="Arrow table"):
        Section("a", "A", "", [{"x": 1}])  # type: ignore[arg-type]


def test_xlsx_sheet_titles_are_legal_and_unique(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    secs = [
        Section("cover", "c", "", sample()),
        Section("a-very-long-section-name-that-excel-cannot-hold-1", "x", "", sample()),
        Section("a-very-long-section-name-that-excel-cannot-hold-2", "y", "", sample()),
    ]
    write_sections(secs, tmp_path / "c.xlsx", "xlsx")
    names = openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames
    assert len(names) == 4 and len({n.lower() for n in names}) == 4
    assert all(len(n) <= 31 for n in names)
