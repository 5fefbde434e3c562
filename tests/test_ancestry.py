"""Process ancestry (``auditlens.auditd.ancestry``): hand-made process trees, then the sample logs.

The hand-made tables hold only the columns the ancestry reads. Times are seconds; every event is
a SYSCALL unless it says otherwise (user-space records have no ppid).
"""

from __future__ import annotations

import random
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.actions import activity
from auditlens.auditd import parallel
from auditlens.auditd.ancestry import BOUNDARY, ancestry, with_ancestry
from auditlens.reports.sessions import ANCESTRY_JOIN, sessions
from auditlens.schema import ACTIVITY, AUDITD_EVENTS, SESSIONS

SYSTEMD, SSHD, BASH, SUDO = "/usr/lib/systemd/systemd", "/usr/sbin/sshd", "/usr/bin/bash", "/usr/bin/sudo"
USERADD, CRON, SH, NGINX = "/usr/sbin/useradd", "/usr/sbin/cron", "/usr/bin/sh", "/usr/sbin/nginx"
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
AUDITD = SAMPLE_LOGS / "auditd"


def ev(t: float, pid: int, ppid: int | None, exe: str | None, *, ses: int | None = None,
       node: str | None = "n1", syscall: str | None = "openat", success: bool | None = True,
       event_type: str = "SYSCALL") -> dict[str, Any]:
    """One event row; ``ppid=None`` for a user-space record (they carry none)."""
    if ppid is None and event_type == "SYSCALL":
        event_type, syscall, success = "USER_START", None, None
    return {"node": node, "time": T0 + timedelta(seconds=t), "pid": pid, "ppid": ppid, "exe": exe,
            "session": ses, "syscall": syscall, "success": success, "event_type": event_type}


def execve(t: float, pid: int, ppid: int, exe: str, **kw: Any) -> dict[str, Any]:
    return ev(t, pid, ppid, exe, syscall="execve", **kw)


def table(rows: list[dict[str, Any]]) -> pa.Table:
    names = ["node", "time", "pid", "ppid", "exe", "session", "syscall", "success", "event_type"]
    schema = pa.schema([AUDITD_EVENTS.arrow.field(n) for n in names])
    return pa.Table.from_pylist(rows, schema=schema)


def chains(rows: list[dict[str, Any]]) -> list[list[str] | None]:
    got = ancestry(table(rows))
    assert len(got) == len(rows) and got.type == AUDITD_EVENTS["ancestry"].type
    return got.to_pylist()  # type: ignore[no-any-return]


# an SSH login: systemd (pid 1) → sshd listener → sshd session (LOGIN gives it ses 7) → bash →
# sudo (its pty monitor, pid 303, logs nothing) → useradd
SSH_SUDO = [
    ev(0, 1, 0, SYSTEMD, event_type="SERVICE_START", syscall=None),
    execve(1, 100, 1, SSHD),
    ev(10, 200, 100, SSHD, event_type="LOGIN", syscall="write", ses=7),
    execve(11, 250, 200, BASH, ses=7),
    execve(20, 302, 250, SUDO, ses=7),
    ev(20.5, 302, None, SUDO, ses=7, event_type="USER_CMD"),
    execve(21, 304, 303, USERADD, ses=7),
    ev(21.5, 304, None, USERADD, ses=7, event_type="ADD_USER"),
    ev(22, 302, None, SUDO, ses=7, event_type="USER_END"),
]


def test_fork_exec_chain_nearest_first() -> None:
    got = chains(SSH_SUDO)
    assert got[0] == []  # pid 1: nothing above it (ppid 0)
    assert got[1] == [SYSTEMD]
    assert got[2] == [SSHD, SYSTEMD]
    assert got[3] == [SSHD, SSHD, SYSTEMD]
    assert got[4] == got[5] == got[8] == [BASH, SSHD, SSHD, SYSTEMD]  # user records: same process
    # sudo's pty monitor never shows in the log: left out, sudo found through the session
    assert got[6] == got[7] == [SUDO, BASH, SSHD, SSHD, SYSTEMD]


def test_input_order_does_not_matter_time_does() -> None:
    rows = list(SSH_SUDO)
    want = dict(zip(map(id, rows), chains(rows)))
    random.Random(5).shuffle(rows)
    assert chains(rows) == [want[id(r)] for r in rows]


def test_execve_keeps_the_process_and_changes_what_children_see() -> None:
    rows = [
        execve(0, 10, 0, SH),
        execve(1, 11, 10, "/usr/bin/cat"),  # forked while pid 10 ran sh
        execve(2, 10, 0, BASH),  # pid 10 execs bash: same process
        execve(3, 12, 10, "/usr/bin/id"),  # forked while it ran bash
    ]
    assert chains(rows) == [[], [SH], [], [BASH]]


def test_a_reused_pid_does_not_inherit_the_old_ancestry() -> None:
    rows = [
        *SSH_SUDO,
        # long after: pid 302 (sudo's before) and 304 reused by cron's job and its child
        execve(5000, 90, 1, CRON),
        execve(5001, 302, 90, SH),
        ev(5001.5, 302, None, SH, event_type="USER_START"),  # no ppid: the exe tells it apart
        execve(5002, 304, 302, "/usr/bin/backup"),
        ev(5003, 304, 302, "/usr/bin/backup"),
        # later still, pid 304 again: a record with no ppid and another exe, no execve between
        ev(6000, 304, None, NGINX, event_type="USER_START"),
    ]
    got = chains(rows)[len(SSH_SUDO):]
    assert got[1] == got[2] == [CRON, SYSTEMD]
    assert got[3] == got[4] == [SH, CRON, SYSTEMD]
    assert got[5] == [BOUNDARY]
    assert all(SUDO not in c and BASH not in c for c in got)


def test_reuse_told_by_the_session_alone() -> None:
    rows = [
        execve(0, 1, 0, SYSTEMD),
        ev(1, 50, 1, SSHD, ses=3, event_type="LOGIN", syscall="write"),
        execve(2, 60, 50, BASH, ses=3),
        # pid 50 reused by a process of another session whose ppid no record gives: a child of
        # it must not be put under the first pid 50's parent
        ev(100, 50, None, SSHD, ses=4, event_type="USER_START"),
        execve(101, 61, 50, BASH, ses=4),
    ]
    got = chains(rows)
    assert got[2] == [SSHD, SYSTEMD]
    assert got[4][0] == SSHD and got[4][1:] == [BOUNDARY]


def test_a_parent_without_the_childs_session_is_another_process() -> None:
    rows = [
        execve(0, 1, 0, SYSTEMD),
        execve(1, 500, 1, CRON),  # pid 500: a daemon's job, no session
        # later pid 500 is sudo's pty monitor (never logged) in session 9: the command it
        # starts is not put under cron's job
        execve(50, 499, 250, SUDO, ses=9),
        execve(51, 501, 500, USERADD, ses=9),
        ev(52, 499, None, SUDO, ses=9, event_type="USER_END"),
    ]
    assert chains(rows)[3] == [SUDO, BOUNDARY]


def test_chain_that_began_before_the_log_ends_with_the_boundary() -> None:
    rows = [
        execve(0, 500, 400, BASH, ses=9),  # its parent 400 never logged anything
        execve(1, 501, 500, "/usr/bin/ls", ses=9),
        ev(2, 600, None, NGINX),  # no ppid, no session: nothing to go on
        ev(3, 700, 650, None),  # no exe logged for itself; its parent is not in the log
    ]
    assert chains(rows) == [[BOUNDARY], [BASH, BOUNDARY], [BOUNDARY], [BOUNDARY]]


def test_an_ancestor_whose_executable_before_its_execve_is_not_logged() -> None:
    rows = [
        execve(0, 1, 0, SYSTEMD),
        execve(2, 21, 20, SH),  # pid 20 ran something the log does not show until it execs
        execve(3, 20, 1, NGINX),
        execve(4, 22, 20, SH),
    ]
    assert chains(rows) == [[], [BOUNDARY, SYSTEMD], [SYSTEMD], [NGINX, SYSTEMD]]


def test_two_nodes_with_the_same_pids_are_kept_apart() -> None:
    rows = [
        execve(0, 300, 200, SUDO, node="a"),
        execve(0, 300, 200, CRON, node="b"),
        execve(1, 400, 300, USERADD, node="a"),
        execve(1, 400, 300, SH, node="b"),
        execve(2, 401, 300, SH, node=None),  # a log without node= is a node of its own
    ]
    assert chains(rows) == [[BOUNDARY], [BOUNDARY], [SUDO, BOUNDARY], [CRON, BOUNDARY], [BOUNDARY]]


def test_events_without_a_pid_have_none() -> None:
    rows = [ev(0, 1, 0, SYSTEMD), {**ev(1, 0, None, None, event_type="DAEMON_START"), "pid": None}]
    assert chains(rows) == [[], None]


def test_a_loop_of_ppids_ends() -> None:
    rows = [execve(0, 10, 11, SH), execve(0, 11, 10, BASH)]
    got = chains(rows)
    assert got[0][-1] == got[1][-1] == BOUNDARY and len(got[0]) <= 3


def test_with_ancestry_appends_the_declared_column_once() -> None:
    t = with_ancestry(table(SSH_SUDO))
    assert t.schema.field("ancestry").type == AUDITD_EVENTS["ancestry"].type
    assert with_ancestry(t).column_names == t.column_names


# --- the sample logs ---------------------------------------------------------------------------

def _read(node: str, **kw: Any) -> pa.Table:
    root = AUDITD / node
    return auditlens.read_auditd(root / "var" / "log" / "audit", passwd=root / "etc" / "passwd",
                                 group=root / "etc" / "group", errors="raise", **kw)


def _useradd(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the processes that executed useradd."""
    pids = {(r["pid"], r["session"]) for r in rows
            if r["syscall"] == "execve" and r["success"] and r["exe"] == USERADD}
    return [r for r in rows if (r["pid"], r["session"]) in pids]


@pytest.mark.parametrize("node", ["node-a", "node-b"])
def test_sample_sudo_in_ssh_session(node: str) -> None:
    events = _read(node, ancestry=True)
    assert events.schema == AUDITD_EVENTS.arrow_with("ancestry")
    assert events.schema.metadata == _read(node).schema.metadata  # the line account stays
    rows = events.to_pylist()
    # useradd carol run by alice through sudo in her SSH session (useradd's own forks, which
    # fail to exec nscd, have useradd as their parent)
    added = [r for r in _useradd(rows) if r["session"] is not None]
    assert added
    for r in added:
        chain = r["ancestry"]
        assert chain[:2] == [SUDO, BASH], chain
        assert SSHD in chain[2:] and chain[-1] == BOUNDARY
    # what root did from the lab script, with no session, is not put under an SSH session
    lab = [r for r in rows if r["exe"] == USERADD and r["session"] is None]
    assert lab and all(SSHD not in r["ancestry"] for r in lab)
    # every event with a pid has a chain, and '…' only ever ends one or stands for a stretch
    assert all((r["ancestry"] is None) == (r["pid"] is None) for r in rows)
    assert sum(1 for r in rows if r["ancestry"] and r["ancestry"] != [BOUNDARY]) > len(rows) // 2


def test_sample_across_rotated_files(tmp_path: Path) -> None:
    """Worked out over the whole read: node-a's ``audit.log.1`` rotated (cut) just before
    ``sudo useradd carol``'s execve, the newer file alone cannot show that sudo started it."""
    lines = (AUDITD / "node-a" / "var" / "log" / "audit" / "audit.log.1").read_bytes().splitlines(True)
    cut = next(i for i, line in enumerate(lines) if b"type=SYSCALL" in line
               and b'exe="/usr/sbin/useradd"' in line and b"ses=4294967295" not in line)
    (tmp_path / "audit.log.1").write_bytes(b"".join(lines[:cut]))
    (tmp_path / "audit.log").write_bytes(b"".join(lines[cut:]))
    whole = auditlens.read_auditd(tmp_path, errors="raise", ancestry=True)
    last = auditlens.read_auditd(tmp_path / "audit.log", errors="raise", ancestry=True)
    tail = whole.slice(whole.num_rows - last.num_rows)
    assert tail["serial"].equals(last["serial"])
    rows = [{**r, "alone": b} for r, b in zip(tail.to_pylist(), last["ancestry"].to_pylist())]
    useradd = [r for r in _useradd(rows) if r["session"] is not None]
    assert useradd
    for r in useradd:
        assert r["ancestry"][:3] == [SUDO, BASH, SSHD] and r["alone"] == [BOUNDARY]


def test_jobs_give_the_same_ancestry() -> None:
    source = str(AUDITD / "node-a" / "var" / "log" / "audit")
    one = auditlens.read_auditd(source, ancestry=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert auditlens.read_auditd(source, ancestry=True, jobs=2).equals(one)
        # pieces cut inside files and events: the same table, so the same ancestry
        cut = parallel.read_auditd(source, passwd=None, group=None, errors="collect",
                                   rejects=None, jobs=2, chunk_bytes=4000)
    assert with_ancestry(cut).equals(one)


def test_activity_and_sessions_show_it() -> None:
    events = _read("node-a", ancestry=True)
    act = activity(auditd=events, k8s=auditlens.read_k8s_audit(str(SAMPLE_LOGS / "k8s")))
    assert act.schema == ACTIVITY.arrow
    auditd_rows = act.filter(pa.compute.equal(act["source"], "auditd"))
    assert auditd_rows["ancestry"].null_count < auditd_rows.num_rows
    k8s_rows = act.filter(pa.compute.equal(act["source"], "k8s"))
    assert k8s_rows.num_rows and k8s_rows["ancestry"].null_count == k8s_rows.num_rows
    # without the column, activity() works it out over the whole table
    assert activity(auditd=events.drop_columns(["ancestry"])).equals(activity(auditd=events))

    table = sessions(events)
    assert table.schema == SESSIONS.arrow
    alice = table.to_pylist()[0]
    assert len(alice["command_ancestry"]) == len(alice["commands"])
    by_command = dict(zip(alice["commands"], alice["command_ancestry"]))
    useradd = next(c for c in by_command if c.startswith("useradd "))
    assert by_command[useradd].startswith(ANCESTRY_JOIN.join([SUDO, BASH, SSHD]))
    assert by_command[useradd].endswith(BOUNDARY)
    sudo_cmd = next(c for c in by_command if c.startswith("sudo: useradd"))
    assert by_command[sudo_cmd].startswith(ANCESTRY_JOIN.join([BASH, SSHD]))
    # a table read without ancestry: the entries are there, null
    plain = sessions(_read("node-a")).to_pylist()[0]
    assert plain["command_ancestry"] == [None] * len(plain["commands"])


def test_admin_actions_report_rows_have_it() -> None:
    out = auditlens.run_report("admin-actions", str(AUDITD / "node-a"))
    rows = out.table.to_pylist()
    useradd = [r for r in rows if r["action"] == "executed" and (r["object"] or "").startswith("useradd ")]
    assert useradd and all(r["ancestry"][:2] == [SUDO, BASH] for r in useradd)
