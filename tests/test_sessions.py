"""The sessions report: one row per login session with every command run in it."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.reports.sessions import sessions
from auditlens.schema import SESSIONS

AUDITD = SAMPLE_LOGS / "auditd"
NODES = ["node-a", "node-b"]


def _events(node: str) -> pa.Table:
    root = AUDITD / node
    return auditlens.read_auditd(root / "var" / "log" / "audit", passwd=root / "etc" / "passwd",
                                 group=root / "etc" / "group", errors="raise")


@pytest.mark.parametrize("node", NODES)
def test_sample_sessions(node: str) -> None:
    table = sessions(_events(node))
    assert table.schema == SESSIONS.arrow
    rows = table.to_pylist()
    reference = json.loads((AUDITD / "reference_counts.json").read_text())[node]["counts"]
    # one session per LOGIN record that set an auid (each successful ssh login)
    assert len(rows) == reference["LOGIN (auid set)"] == 5
    assert [(r["actor"], r["origin"], r["terminal"]) for r in rows] == [
        ("alice", "127.0.0.1", "/dev/pts/1"),  # with a terminal: USER_LOGIN
        ("bob", "127.0.0.1", "ssh"),           # without one: only USER_START
        ("bob", "127.0.0.1", "ssh"),
        ("bob", "127.0.0.1", "/dev/pts/1"),
        ("alice", "::1", "ssh"),
    ]
    for r in rows:
        assert r["outcome"] == "success" and r["login_via"] == "sshd"
        assert r["start"] is not None and r["end"] is not None and r["note"] is None
        assert r["end"] >= r["start"] and r["duration_seconds"] >= 0
        assert r["command_count"] == len(r["commands"])
        assert r["evidence"].startswith(str(AUDITD / node))
    first, refused, su, last = rows[0], rows[2], rows[3], rows[4]
    # alice's sudo commands stay hers (actor = auid), with the user sudo switched to
    assert "sudo: id (as root)" in first["commands"]
    assert "sudo: cat /etc/shadow (as root)" in first["commands"]
    assert "sudo: useradd -M -s /bin/bash -c Carol Contractor carol (as root)" in first["commands"]
    assert "nft add table inet al_lab" in first["commands"]  # the execve of the sudo'd command
    assert "sudo: id (refused)" in refused["commands"] and refused["actor"] == "bob"
    assert "su -c id alice" in su["commands"]
    assert "whoami" in su["commands"] and su["actor"] == "bob"  # still bob after su
    assert "sudo: id (refused)" in last["commands"]  # wrong password
    assert "sudo: userdel carol (as root)" in last["commands"]
    # the failed execs of helpers that are not installed ran nothing
    assert last["commands"].count("groupadd auditors") == 1


def test_a_session_seen_only_in_part() -> None:
    events = _events("node-a")
    table = sessions(events.slice(events.num_rows // 2))
    notes = [r["note"] or "" for r in table.to_pylist()]
    assert any("login not in the logs" in n for n in notes)
    assert sessions(events.slice(0, 0)).num_rows == 0


@pytest.mark.skipif(shutil.which("aureport") is None, reason="aureport (audit-userspace) not installed")
@pytest.mark.parametrize("node", NODES)
def test_sessions_match_aureport_tty_logins(node: str, tmp_path: Path) -> None:
    """The successful logins aureport --login lists are our terminal sessions (aureport counts
    USER_LOGIN, which sshd writes only with a terminal: ours also has the non-terminal ones)."""
    logs = AUDITD / node / "var" / "log" / "audit"

    def raw(p: Path) -> bytes:
        return gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()

    names = sorted(logs.iterdir(), key=lambda p: -int(p.name.split(".")[2])
                   if p.name.count(".") >= 2 else 0)
    joined = tmp_path / "joined.log"
    joined.write_bytes(b"".join(raw(p) for p in names))
    out = subprocess.run(["aureport", "--login", "--success", "-if", str(joined)],
                         capture_output=True, text=True, check=True).stdout
    # date time auid host term exe success event (numbers: the users no longer exist here)
    reference = [tuple(line.split()[3:6]) for line in out.splitlines() if line[:1].isdigit()]
    ours = sessions(_events(node))
    tty = [(str(r["auid"]), r["origin"], r["terminal"]) for r in ours.to_pylist()
           if (r["terminal"] or "").startswith("/dev/")]
    assert reference and reference == tty


def test_corpora_sessions(corpora: Path) -> None:
    """Real logs from other projects: sudo commands keep the login user, nothing crashes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sudo = auditlens.read_auditd(corpora / "auditd" / "elastic__beats" /
                                     "auditbeat__module__auditd__testdata__sudo.log")
        rows = sessions(sudo).to_pylist()
        assert len(rows) == 1
        assert rows[0]["commands"] == ["sudo: su (as root)", "sudo: bash (as bob)"]
        assert rows[0]["note"] and "login not in the logs" in rows[0]["note"]
        total = 0
        for f in sorted((corpora / "auditd").rglob("*")):
            if f.is_file() and f.name != "MANIFEST.tsv":
                got = sessions(auditlens.read_auditd(f, rejects=auditlens.RejectLog()))
                total += got.num_rows
                assert got["command_count"].to_pylist() == [len(c) for c in
                                                            got["commands"].to_pylist()]
    assert total > 20
