"""The bytes-read progress bar: drawn on a terminal, absent when stderr is piped."""

from __future__ import annotations

import io
from contextlib import contextmanager
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


# --- auditlens report: one bar over every input of every node --------------------------------

SOURCES = [str(SAMPLE_LOGS / "auditd"), str(SAMPLE_LOGS / "k8s")]


def _shown_report(monkeypatch, **options):  # type: ignore[no-untyped-def]
    """The report run inside ``shown_on`` a fake terminal: what was drawn, the bar's own count
    of bytes, and the run."""
    bars = []
    real_bar = progress.bar

    @contextmanager
    def keep(*args, **kwargs):  # type: ignore[no-untyped-def]
        with real_bar(*args, step=1, **kwargs) as feed:
            bars.append(feed)
            yield feed

    monkeypatch.setattr(progress, "bar", keep)
    tty = FakeTTY()
    with progress.shown_on(tty):
        out = auditlens.run_report("summary", SOURCES, **options)
    return tty.getvalue(), bars, out


def _read_total(out) -> int:  # type: ignore[no-untyped-def]
    return sum(Path(f).stat().st_size for files in out.collection.files.values() for f in files)


def test_report_bar_counts_every_input_and_names_each_node(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown, bars, out = _shown_report(monkeypatch)
    total = _read_total(out)
    assert len(bars) == 1
    assert bars[0].done == bars[0].total == total
    for k, name in enumerate(["gap", "node-a", "node-b", "Kubernetes"], 1):
        assert f"{name} ({k}/4)" in shown
    assert "100%" in shown and f"{total / 2**20:,.1f}/{total / 2**20:,.1f} MiB" in shown


def test_report_bar_with_nodes_read_by_workers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown, bars, out = _shown_report(monkeypatch, jobs=2)
    total = _read_total(out)
    assert bars[0].done == bars[0].total == total
    assert "node-b (3/4)" in shown and "Kubernetes (4/4)" in shown and "100%" in shown


def test_report_output_is_the_same_with_the_bar(tmp_path: Path) -> None:
    plain, drawn = tmp_path / "plain.csv", tmp_path / "drawn.csv"
    auditlens.run_report("logins", SOURCES, output=plain)
    tty = FakeTTY()
    with progress.shown_on(tty):
        auditlens.run_report("logins", SOURCES, output=drawn)
    assert "100%" in tty.getvalue()
    assert plain.read_bytes() == drawn.read_bytes()


def test_cli_report_draws_the_bar_only_on_a_terminal(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import auditlens.cli as cli_module

    res = CliRunner().invoke(cli, ["report", "logins", *SOURCES, "-o", str(tmp_path / "l.csv")])
    assert res.exit_code == 0
    assert "MiB" not in res.stderr and "%" not in res.stderr  # the skipped files and the account
    assert all(line.startswith(("auditlens: skipped", "logins: ")) for line in res.stderr.splitlines())
    tty = FakeTTY()
    monkeypatch.setattr(cli_module.sys, "stderr", tty)
    with cli_module._reading_shown():
        auditlens.run_report("logins", SOURCES)
    assert "node-b (3/4)" in tty.getvalue() and "100%" in tty.getvalue()
