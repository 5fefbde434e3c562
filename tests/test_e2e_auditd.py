"""End to end: a real auditd on this machine records real actions; read_auditd must show them.

Root only (skips otherwise, with the reason). Starts a private auditd (RAW, own config, log in a
temp dir), loads the CIS-style rules of the sample-log script, then: a failed SSH password login
and a successful one through a private sshd on loopback, in which the test user runs ``sudo
useradd``/``sudo userdel`` of a second uniquely named user, is denied opening a 0600 root
file and is denied reading and appending to /etc/shadow; a failed ``su``; and ``auditctl -s``
run as a process given the pid ``useradd`` had (a pid reused, through ``ns_last_pid``). The lab
undoes everything (daemons, rules, users, sudoers drop-in) even when the test fails. The
expected facts come from what the test did, and the counts are
cross-checked with ``ausearch`` on the same log.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


def _why_skip() -> str | None:
    from system_helpers import why_not_available

    reason = why_not_available()
    if reason:
        return reason
    for tool in ("sshd", "ssh", "sudo", "su", "useradd", "ausearch"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} not installed"
    return None


@dataclass
class Run:
    """What the scenario did, and the log it produced."""

    log: Path
    passwd: Path
    actor: str
    actor_uid: int
    victim: str
    secret: Path
    reused_pid: int | None  # useradd's pid, given again to a later auditctl (None: not managed)


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    reason = _why_skip()
    if reason:
        pytest.skip(f"end-to-end auditd test: {reason}")
    from system_helpers import Lab, free_port, load_rules, pty_run

    tag = secrets.token_hex(3)
    actor, victim, password = f"alx{tag}", f"alv{tag}", f"Pw-{secrets.token_hex(6)}"
    work = Path(tempfile.mkdtemp(prefix="auditlens-e2e-"))
    try:
        with Lab(work) as lab:
            daemon = lab.auditd("e2e-node", "RAW", "auditd")
            load_rules(str(daemon.log_dir))
            lab.add_user(actor, password)
            lab.watch_user(victim)
            lab.sudoers(f"90-{actor}", f"{actor} ALL=(ALL:ALL) ALL\n")
            secret = lab.secret_file()
            lab.snapshot()
            ssh = lab.sshd([actor], port=free_port())
            ssh.ssh(actor, "not-the-password", "true")
            session = "; ".join([
                f"echo '{password}' | sudo -S -p '' useradd -M {victim}",
                f"sudo -n userdel {victim}",
                f"cat {secret}",
                "cat /etc/shadow",
                "echo x >> /etc/shadow",
                "true",
            ])
            done = ssh.ssh(actor, password, session)
            assert done.returncode == 0, done.stderr
            pty_run(["su", "-c", "true", "root"], ["wrong-root-password"], user=actor)
            daemon.settle(1.0)
            reused = _useradd_pid(daemon.log_file)
            if reused is not None and not _run_as_pid(reused, ["auditctl", "-s"]):
                reused = None
            ssh.stop()
            daemon.settle(2.5)
            daemon.stop()
            passwd = work / "passwd"
            passwd.write_text("\n".join(lab.accounts["passwd"]) + "\n")
            uid = next(int(line.split(":")[2]) for line in lab.accounts["passwd"]
                       if line.startswith(f"{actor}:"))
        yield Run(daemon.log_file, passwd, actor, uid, victim, secret, reused)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _useradd_pid(log: Path) -> int | None:
    """The pid of the ``useradd`` run in the SSH session (a successful execve with a session)."""
    for line in log.read_text(errors="replace").splitlines():
        if ("type=SYSCALL" in line and " syscall=59 " in line and " success=yes " in line
                and 'comm="useradd"' in line and " ses=4294967295 " not in line):
            found = re.search(r" pid=(\d+) ", line)
            if found:
                return int(found.group(1))
    return None


def _run_as_pid(pid: int, argv: list[str], tries: int = 50) -> bool:
    """Run ``argv`` as a process with pid ``pid`` (free again: its process ended) by setting the
    kernel's last handed-out pid just below it; other processes forking meanwhile can take it
    first, so try a few times."""
    last = Path("/proc/sys/kernel/ns_last_pid")
    for _ in range(tries):
        last.write_text(f"{pid - 1}\n")
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.wait(timeout=30)
        if proc.pid == pid:
            return True
    return False


@pytest.fixture(scope="module")
def events(run: Run):
    import auditlens

    table = auditlens.read_auditd(str(run.log), passwd=str(run.passwd))
    return table.to_pylist()


def _ausearch(log: Path, *args: str, exact: tuple[str, ...] = ()) -> int:
    """Events ausearch finds in ``log``; with ``exact``, only those whose interpreted text has
    each of these ``field=value`` (ausearch matches ``-k`` and ``-x`` as substrings: ``-k access`` also
    finds ``audit-log-access``, ``-x /usr/bin/su`` also finds ``/usr/bin/sudo``)."""
    res = subprocess.run(["ausearch", "-if", str(log), "-i", *args], capture_output=True, text=True,
                         check=False)
    blocks = [b for b in res.stdout.split("----\n") if b.strip()]
    for want in exact:
        rx = re.compile(r"(?<=[ '])" + re.escape(want) + r"(?=[ '\n])")
        blocks = [b for b in blocks if rx.search(b)]
    return len(blocks)


def test_nothing_rejected_and_node_named(run: Run, events) -> None:
    import auditlens

    rejects = auditlens.RejectLog()
    auditlens.read_auditd(str(run.log), rejects=rejects)
    assert len(rejects) == 0
    assert {e["node"] for e in events} == {"e2e-node"}
    assert sum(e["record_count"] for e in events) == len(run.log.read_text().splitlines())


def test_failed_ssh_login_has_user_and_address(run: Run, events) -> None:
    failed = [e for e in events if e["event_type"] in ("USER_AUTH", "USER_LOGIN")
              and e["result"] == "failed" and e["exe"] == "/usr/sbin/sshd"]
    assert any(e["acct"] == run.actor and e["addr"] == "127.0.0.1" for e in failed)


def test_successful_ssh_session_sets_login_uid(run: Run, events) -> None:
    starts = [e for e in events if e["event_type"] == "USER_START" and e["exe"] == "/usr/sbin/sshd"
              and e["result"] == "success"]
    assert any(e["acct"] == run.actor and e["auid"] == run.actor_uid for e in starts)


def test_sudo_commands_show_the_human(run: Run, events) -> None:
    cmds = [e for e in events if e["event_type"] == "USER_CMD"]
    mine = [e for e in cmds if e["auid_name"] == run.actor]
    assert any(e["cmd"] == f"useradd -M {run.victim}" and e["result"] == "success" for e in mine)
    assert any(e["cmd"] == f"userdel {run.victim}" and e["result"] == "success" for e in mine)
    assert len(cmds) == _ausearch(run.log, "-m", "USER_CMD")


def test_account_created_and_deleted_by_the_sudo_user(run: Run, events) -> None:
    added = [e for e in events if e["event_type"] == "ADD_USER" and e["auid"] == run.actor_uid]
    deleted = [e for e in events if e["event_type"] == "DEL_USER" and e["auid"] == run.actor_uid]
    assert added and all(e["result"] == "success" and e["exe"] == "/usr/sbin/useradd" for e in added)
    assert deleted and all(e["exe"] == "/usr/sbin/userdel" for e in deleted)
    assert len(added) == _ausearch(run.log, "-m", "ADD_USER", "-ua", str(run.actor_uid))
    assert len(deleted) == _ausearch(run.log, "-m", "DEL_USER", "-ua", str(run.actor_uid))


def test_denied_open_is_eacces_with_the_user(run: Run, events) -> None:
    denied = [e for e in events if e["event_type"] == "SYSCALL" and e["key"] == "access"]
    assert denied
    for e in denied:
        assert e["errno"] == "EACCES"
        assert e["success"] is False
        assert e["auid_name"] == run.actor and e["uid_name"] == run.actor
    assert any(p["name"] == str(run.secret) for e in denied for p in (e["paths"] or []))
    assert len(denied) == _ausearch(run.log, "-k", "access", "-m", "SYSCALL", exact=("key=access", "success=no"))


def test_failed_su_is_a_failed_authentication(run: Run, events) -> None:
    su = [e for e in events if e["event_type"] == "USER_AUTH" and e["exe"] == "/usr/bin/su"]
    assert su and all(e["result"] == "failed" and e["acct"] == "root" for e in su)
    assert len(su) == _ausearch(run.log, "-m", "USER_AUTH", "-x", "/usr/bin/su", exact=("exe=/usr/bin/su",))


def test_daemon_start_and_end_recorded(run: Run, events) -> None:
    types = [e["event_type"] for e in events]
    assert types.count("DAEMON_START") == 1 and types.count("DAEMON_END") == 1
    assert types.count("CONFIG_CHANGE") == _ausearch(run.log, "-m", "CONFIG_CHANGE")


@pytest.fixture(scope="module")
def lineage(run: Run):
    import auditlens

    return auditlens.read_auditd(str(run.log), passwd=str(run.passwd), ancestry=True).to_pylist()


def _is_sshd(exe: str) -> bool:
    return Path(exe).name.startswith("sshd")  # sshd, or OpenSSH 9.8's sshd-session


def test_useradd_through_sudo_in_the_ssh_session_has_its_ancestry(run: Run, lineage) -> None:  # type: ignore[no-untyped-def]
    from auditlens.auditd.ancestry import BOUNDARY

    started = {e["pid"] for e in lineage if e["syscall"] == "execve" and e["success"]
               and e["exe"] == "/usr/sbin/useradd" and e["auid"] == run.actor_uid}
    assert len(started) == 1
    mine = [e for e in lineage if e["pid"] in started and e["auid"] == run.actor_uid]
    assert {e["event_type"] for e in mine} >= {"SYSCALL", "ADD_USER"}  # user records have no ppid
    for e in mine:
        chain = e["ancestry"]
        assert chain[0] == "/usr/bin/sudo", chain  # sudo → … → sshd, nearest first
        assert any(_is_sshd(x) for x in chain[1:]), chain
        assert chain.index("/usr/bin/sudo") < min(i for i, x in enumerate(chain) if _is_sshd(x))
        assert BOUNDARY not in chain[:-1] or chain.count(BOUNDARY) == 1


def test_a_reused_pid_does_not_inherit_the_old_ancestry(run: Run, lineage) -> None:  # type: ignore[no-untyped-def]
    if run.reused_pid is None:
        pytest.skip("could not give useradd's pid to a new process (other processes took it)")
    same_pid = [e for e in lineage if e["pid"] == run.reused_pid]
    before = [e for e in same_pid if e["exe"] == "/usr/sbin/useradd"]
    after = [e for e in same_pid if e["exe"] == "/usr/sbin/auditctl"]
    assert before and after and max(e["time"] for e in before) < min(e["time"] for e in after)
    assert all(e["ancestry"][0] == "/usr/bin/sudo" for e in before)
    for e in after:
        assert "/usr/bin/sudo" not in e["ancestry"] and not any(_is_sshd(x) for x in e["ancestry"])


@pytest.fixture(scope="module")
def evidence(run: Run, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The fresh log laid out as a collector copies a node, read by ``auditlens report``."""
    from click.testing import CliRunner

    from auditlens.cli import cli

    node = tmp_path_factory.mktemp("nodes") / "e2e-node"
    (node / "var" / "log" / "audit").mkdir(parents=True)
    (node / "etc").mkdir()
    shutil.copyfile(run.log, node / "var" / "log" / "audit" / "audit.log")
    shutil.copyfile(run.passwd, node / "etc" / "passwd")
    out = node.parent / "evidence.json"
    result = CliRunner().invoke(cli, ["report", "compliance", str(node), "-o", str(out)])
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(out.read_text())
    return {name: section["rows"] for name, section in doc["sections"].items()}, node


def test_reports_name_the_person_behind_sudo(run: Run, evidence) -> None:  # type: ignore[no-untyped-def]
    sections, _ = evidence
    failed = [r for r in sections["logins"] if r["outcome"] == "failure" and r["origin"] == "127.0.0.1"]
    assert any(r["actor"] == run.actor for r in failed)
    sudo = [r for r in sections["admin-actions"] if r["action"] == "ran-command"]
    assert {r["actor"] for r in sudo} == {run.actor}
    assert f"useradd -M {run.victim}" in {r["object"] for r in sudo}
    # the account the lab made for the test is root's work (no login session); the one made
    # in the SSH session through sudo is the actor's, though it ran as root
    added = [r for r in sections["identity-changes"]
             if r["action"] == "added-user-account" and r["session"] is not None]
    assert added and {r["actor"] for r in added} == {run.actor}
    assert any(r["object"] == str(run.secret) and r["outcome"] == "denied" and r["actor"] == run.actor
               for r in sections["failed-access"])
    mine = [s for s in sections["sessions"] if s["actor"] == run.actor]
    assert any(any(f"useradd -M {run.victim}" in c for c in s["commands"]) for s in mine)
    # each row shows what started it: the useradd sudo ran, in admin-actions and in the session
    useradd = [r for r in sections["admin-actions"] if r["action"] == "executed"
               and (r["object"] or "").startswith(f"useradd -M {run.victim}")]
    assert useradd and all(r["ancestry"][0] == "/usr/bin/sudo" for r in useradd)
    chains = [a for s in mine for c, a in zip(s["commands"], s["command_ancestry"])
              if c.startswith(f"useradd -M {run.victim}")]
    assert chains and all(a.startswith("/usr/bin/sudo ← ") for a in chains)


def test_denied_read_of_shadow_is_no_identity_change(run: Run, events, evidence) -> None:  # type: ignore[no-untyped-def]
    """Issue 22: ``cat /etc/shadow`` denied (openat, O_RDONLY) is failed and sensitive access,
    not a change of credentials; ``echo x >> /etc/shadow`` denied (O_WRONLY|O_CREAT|O_APPEND)
    is an attempted change, in all three sections."""
    sections, _ = evidence
    mine = [e for e in events if e["event_type"] == "SYSCALL" and e["auid"] == run.actor_uid
            and e["errno"] == "EACCES" and any(p["name"] == "/etc/shadow" for p in e["paths"] or [])]
    reads = {e["serial"] for e in mine if e["access"] == ["read"]}
    writes = {e["serial"] for e in mine if "write" in (e["access"] or [])}
    assert reads and writes, [(e["syscall"], e["access"]) for e in mine]

    def serials(section: str) -> set[int]:
        return {int(r["evidence"].rsplit(" ", 1)[1]) for r in sections[section] if r["source"] == "auditd"}

    assert reads <= serials("failed-access") & serials("sensitive-access")
    assert not reads & serials("identity-changes")
    assert writes <= serials("failed-access") & serials("sensitive-access") & serials("identity-changes")


def test_a_hole_cut_out_of_the_fresh_log_is_reported(run: Run, evidence) -> None:  # type: ignore[no-untyped-def]
    from auditlens.reports import run_report

    _, node = evidence
    lines = run.log.read_text().splitlines(keepends=True)
    serials = sorted({int(m.group(1)) for ln in lines if "DAEMON_" not in ln
                      for m in [re.search(r"msg=audit\(\d+\.\d+:(\d+)\)", ln)] if m})
    lo, hi = serials[len(serials) // 3], serials[len(serials) // 3 + 4]
    kept = [ln for ln in lines
            if not (m := re.search(r"msg=audit\(\d+\.\d+:(\d+)\)", ln)) or "DAEMON_" in ln
            or not lo <= int(m.group(1)) <= hi]
    (node / "var" / "log" / "audit" / "audit.log").write_text("".join(kept))
    trail = run_report("audit-trail", str(node)).table.to_pylist()
    gaps = [r for r in trail if r["finding"] == "serial-gap"]
    assert [(g["first_missing"], g["last_missing"]) for g in gaps] == [(lo, hi)]


def test_fchown_and_fchmod_rows_have_a_named_object_with_its_source(run: Run, evidence) -> None:  # type: ignore[no-untyped-def]
    """useradd/userdel change /etc files through descriptors: the PATH record says name=(null);
    the activity rows and the report still name the object, and say how (issue 22)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    import auditlens
    from auditlens.actions import from_auditd
    from auditlens.auditd.objects import OBJECT_SOURCES

    table = auditlens.read_auditd(str(run.log), passwd=str(run.passwd))
    act = from_auditd(table)
    by_fd = act.filter(pc.is_in(table["syscall"], pa.array(["fchown", "fchmod"]))).to_pylist()
    mine = [r for r in by_fd if r["actor"] == run.actor]  # sudo useradd/userdel in the SSH session
    assert mine, "no fchown/fchmod by the sudo user (perm_mod rule)"
    for r in by_fd:
        assert r["object"] and r["object_source"] in OBJECT_SOURCES, r
    assert any(r["object"].startswith("/etc/") and r["object_source"] != "logged" for r in mine)
    sections, _ = evidence
    changed = [r for rows in sections.values() for r in rows
               if r.get("action") in ("changed-file-ownership-of", "changed-file-permissions-of")]
    assert changed and all(r["object"] and r["object_source"] in OBJECT_SOURCES for r in changed)
