"""``auditlens parse -o -``: the table on standard output, the account on standard error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_LOGS

from auditlens.cli import cli

LOG = str(SAMPLE_LOGS / "auditd" / "node-b" / "var" / "log" / "audit")


def test_parse_to_stdout_writes_json_lines_and_no_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    got = CliRunner().invoke(cli, ["parse", LOG, "-o", "-"])
    assert got.exit_code == 0, got.output
    assert not os.listdir(tmp_path)  # it once wrote a file named '-'
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert len(rows) > 10 and all("record_types" in r for r in rows)
    assert "auditd:" in got.stderr and "-> -" in got.stderr


def test_parse_to_stdout_in_another_text_format_and_no_binary() -> None:
    runner = CliRunner()
    csv = runner.invoke(cli, ["parse", LOG, "-o", "-", "-f", "csv"])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[0].startswith("node,")
    parquet = runner.invoke(cli, ["parse", LOG, "-o", "-", "-f", "parquet"])
    assert parquet.exit_code != 0 and "binary format" in parquet.output
    assert "Traceback" not in parquet.output
