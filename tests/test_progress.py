"""The bytes-read progress bar: drawn on a terminal, absent when stderr is piped."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from conftest import SAMPLE_LOGS

import auditlens
from auditlens import progress
from auditlens.cli import cli

NODE = SAMPLE_LOGS / "auditd" / "node-a" / "var" / "log" / "audit"


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _total() -> int:
    return sum(p.stat().st_size for p in NODE.iterdir())


def test_nothing_when_piped(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["parse", str(NODE), "-o", str(tmp_path / "e.parquet")])
    assert res.exit_code == 0
    assert res.stderr.splitlines() == [res.stderr.strip()]  # only the account line
    assert "MiB" not in res.stderr and "%" not in res.stderr


def test_bar_counts_every_byte_read() -> None:
    seen: list[int] = []
    with progress.tracking(seen.append):
        auditlens.read_auditd(str(NODE), rejects=auditlens.RejectLog())
    assert sum(seen) == _total()
    auditlens.read_auditd(str(NODE), rejects=auditlens.RejectLog())  # outside: not counted
    assert sum(seen) == _total()


def test_bar_on_a_terminal() -> None:
    tty = FakeTTY()
    with progress.bar(_total(), tty, step=1):
        auditlens.read_auditd(str(NODE), rejects=auditlens.RejectLog())
    shown = tty.getvalue()
    assert "parsing" in shown and "100%" in shown
    assert f"{_total() / 2**20:,.1f}/{_total() / 2**20:,.1f} MiB" in shown


def test_cli_draws_the_bar_only_on_a_terminal(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import auditlens.cli as cli_module

    names = [str(p) for p in sorted(NODE.iterdir())]
    piped = io.StringIO()
    monkeypatch.setattr(cli_module.sys, "stderr", piped)
    with cli_module._progress(names):
        auditlens.read_auditd(names, rejects=auditlens.RejectLog())
    assert piped.getvalue() == ""
    tty = FakeTTY()
    monkeypatch.setattr(cli_module.sys, "stderr", tty)
    with cli_module._progress(names):
        auditlens.read_auditd(names, rejects=auditlens.RejectLog())
    assert "parsing" in tty.getvalue() and "100%" in tty.getvalue()
