"""A report refuses every mistake that does not need the input before it reads anything.

Reading is replaced by a function that fails the test if called: each check must fire first,
with the message a later failure would have given, and leave nothing on disk.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_LOGS

import auditlens.collect
import auditlens.reports
from auditlens.cli import cli
from auditlens.errors import AuditlensError
from auditlens.reports import run_report

NODE_B = str(SAMPLE_LOGS / "auditd" / "node-b")


class Read(Exception):
    """Raised in place of reading: the run got past every check."""


@pytest.fixture(autouse=True)
def no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Read("the sources were read")

    monkeypatch.setattr(auditlens.reports.engine, "route", refuse)
    monkeypatch.setattr(auditlens.collect, "collect", refuse)


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl raises ImportError


class Stdout(io.BytesIO):
    def fileno(self) -> int:
        return 1


def _mistakes(tmp: Path) -> list[tuple[str, dict[str, Any], str]]:
    """(report, run_report options, words of the message) for every check."""
    return [
        ("nope", {}, "unknown report 'nope'"),
        ("logins", {"output": tmp / "out.docx"}, "cannot tell the output format"),
        ("logins", {"output": tmp / "out", "fmt": "docx"}, "unknown output format 'docx'"),
        ("logins", {"output": io.BytesIO()}, "give fmt= when writing to a stream"),
        ("logins", {"output": tmp / "missing" / "out.csv"}, "does not exist"),
        ("logins", {"output": tmp, "fmt": "csv"}, "it is a directory"),
        ("logins", {"output": Stdout(), "fmt": "parquet"}, "parquet is a binary format"),
        ("compliance", {"output": tmp / "evidence.csv"}, "csv holds one table"),
        ("compliance", {"output": io.BytesIO(), "fmt": "parquet"}, "parquet holds one table"),
        ("logins", {"since": "not a time"}, "cannot read 'not a time' as a time"),
        ("logins", {"since": "2024-05-02", "until": "2024-05-01"}, "is before --since"),
        ("logins", {"output": tmp / "x.md", "tz": "Mars/Olympus"}, "unknown time zone"),
        ("logins", {"fmt": "md", "tz": "Mars/Olympus"}, "unknown time zone"),
        ("logins", {"jobs": -1}, "jobs must be a positive number"),
        ("logins", {"max_line_bytes": 0}, "max_line_bytes must be a positive number"),
        ("logins", {"source_type": "syslog"}, "unknown source type 'syslog'"),
    ]


@pytest.mark.parametrize("case", range(len(_mistakes(Path("/")))))
def test_each_mistake_is_refused_before_reading(tmp_path: Path, case: int) -> None:
    name, options, message = _mistakes(tmp_path)[case]
    with pytest.raises(ValueError) as caught:  # AuditlensError is a ValueError
        run_report(name, NODE_B, **options)
    assert message in str(caught.value)
    assert not isinstance(caught.value, Read)
    assert list(tmp_path.iterdir()) == []


def test_xlsx_without_openpyxl(tmp_path: Path, no_openpyxl: None) -> None:
    with pytest.raises(AuditlensError, match="xlsx output needs openpyxl"):
        run_report("compliance", NODE_B, output=tmp_path / "evidence.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root may write anywhere, so the permission answer is simulated
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(AuditlensError, match="is not writable"):
        run_report("logins", NODE_B, output=tmp_path / "logins.csv")
    with pytest.raises(AuditlensError, match="is not writable"):
        run_report("compliance", NODE_B, output=tmp_path / "new" / "evidence", fmt="parquet")
    assert list(tmp_path.iterdir()) == []


def test_section_directory_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(AuditlensError, match="is not a directory"):
        run_report("compliance", NODE_B, output=tmp_path / "file" / "evidence", fmt="csv")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("logins", {}),
        ("logins", {"output": "logins.csv", "tz": "Europe/Berlin", "jobs": 0}),
        ("compliance", {"output": "new/evidence", "fmt": "csv"}),  # made when written
        ("compliance", {"output": "evidence.xlsx"}),
        ("summary", {"output": Stdout(), "fmt": "md"}),
    ],
)
def test_good_options_reach_the_reading(tmp_path: Path, name: str, options: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Read):
        run_report(name, NODE_B, **options)
    assert list(tmp_path.iterdir()) == []  # the directory of sections is not made yet


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compliance", NODE_B, "-o", "{tmp}/evidence.xlsx"], "xlsx output needs openpyxl"),
        (["logins", NODE_B, "-o", "{tmp}/no/such/dir/logins.csv"], "does not exist"),
        (["compliance", NODE_B, "-o", "{tmp}/evidence.csv"], "csv holds one table"),
        (["compliance", NODE_B, "-f", "csv"], "csv holds one table"),
        (["logins", NODE_B, "-f", "parquet"], "binary format"),
        (["logins", NODE_B, "-o", "{tmp}/x.md", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["logins", NODE_B, "--since", "today", "--until", "yesterday"], "is before --since"),
        (["logins", NODE_B, "-f", "docx"], "unknown output format"),
    ],
)
def test_cli_refuses_before_reading(tmp_path: Path, args: list[str], message: str,
                                    no_openpyxl: None) -> None:
    result = CliRunner().invoke(cli, ["report", *(a.format(tmp=tmp_path) for a in args)])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Read) and "Traceback" not in result.output
    assert f"Error: {message}" in result.output or message in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_options_click_refuses(tmp_path: Path) -> None:
    for args in (["-j", "-1"], ["--max-line-bytes", "0"], ["--source-type", "syslog"]):
        result = CliRunner().invoke(cli, ["report", "logins", NODE_B, *args])
        assert result.exit_code == 2 and "Traceback" not in result.output


def test_parse_refuses_a_missing_writer_before_reading(tmp_path: Path, no_openpyxl: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Read("the sources were routed")

    monkeypatch.setattr(auditlens.collect, "route", refuse)
    result = CliRunner().invoke(cli, ["parse", NODE_B, "-o", str(tmp_path / "events.xlsx")])
    assert result.exit_code == 1 and "xlsx output needs openpyxl" in result.output
    assert list(tmp_path.iterdir()) == []
