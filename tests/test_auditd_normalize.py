"""Who-did-what of single events. Every expected row below is what ``ausearch --format csv
--extra-labels --extra-keys`` (3.0.9) printed for the same lines, with uids that have no
ENRICHED name kept as numbers (see docs/auditd-vs-ausearch.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _auditd_events import read_events

from auditlens.auditd.event_row import ROW_COLUMNS, event_row
from auditlens.auditd.ids import IdNames
from auditlens.auditd.normalize import NORMALIZED_COLUMNS, event_kind, normalize
from auditlens.schema.auditd import AUDITD_EVENTS

SYSCALL_OPEN = (
    'type=SYSCALL msg=audit(1700000000.100:9): arch=c000003e syscall=2 success=no exit=-13 a0=1 a1=2 a2=3 a3=4 '
    'items=1 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 '
    'comm="cat" exe="/usr/bin/cat" key="k1"'
)
AVC = (
    'type=AVC msg=audit(1700000000.100:9): avc:  denied  { read } for  pid=2 comm="cat" name="x" dev="sda" '
    'ino=2 scontext=system_u:system_r:a_t:s0 tcontext=system_u:object_r:b_t:s0 tclass=file permissive=0'
)
CWD = 'type=CWD msg=audit(1700000000.100:9): cwd="/root"'
PATH = ('type=PATH msg=audit(1700000000.100:9): item=0 name="/etc/shadow" inode=5 dev=08:01 mode=0100640 '
        'ouid=0 ogid=0 rdev=00:00 nametype=NORMAL')

R = dict  # readability


def _names(d: dict[str, object]) -> dict[str, object]:
    return {k: d.get(k) for k in NORMALIZED_COLUMNS}


CASES = [
    pytest.param(
        [SYSCALL_OPEN, CWD, PATH],
        R(event_kind="audit-rule", session=1, subject_primary="0", subject_secondary="0",
          subject_kind="privileged-acct", action="opened-file", result="failed", object_primary="/etc/shadow",
          object_secondary="5", object_kind="file", how="/usr/bin/cat", key="k1"),
        id="open-denied",
    ),
    pytest.param(
        # old kernels: AVC and CWD before the SYSCALL record; ausearch still finds the SYSCALL
        [AVC, CWD, SYSCALL_OPEN, PATH],
        R(event_kind="mac-decision", session=1, subject_primary="0", subject_secondary="0",
          subject_kind="privileged-acct", action="accessed-mac-policy-controlled-object", result="failed",
          object_primary="/etc/shadow", object_secondary="5", object_kind="file", how="/usr/bin/cat", key="k1"),
        id="avc-first",
    ),
    pytest.param(
        [AVC.replace("audit(1700000000.100:9)", "audit(1700000000.100:6)")],
        R(event_kind="mac-decision", session=None, subject_primary="system_u:system_r:a_t:s0",
          subject_secondary=None, subject_kind="unknown-acct", action="accessed-mac-policy-controlled-object",
          result="failed", object_primary="system_u:object_r:b_t:s0", object_secondary=None,
          object_kind="unknown", how="cat", key=None),
        id="lone-avc",
    ),
    pytest.param(
        ["type=USER_AVC msg=audit(1700000000.100:12): pid=1 uid=81 auid=4294967295 ses=4294967295 "
         "subj=system_u:system_r:system_dbusd_t:s0-s0:c0.c1023 msg='avc:  denied  { send_msg } for "
         "msgtype=method_call interface=org.x member=Y dest=org.z spid=5 tpid=6 scontext=system_u:system_r:a_t:s0 "
         "tcontext=system_u:system_r:b_t:s0 tclass=dbus permissive=0  exe=\"/usr/bin/dbus-daemon\" sauid=81 "
         "hostname=? addr=? terminal=?'"],
        R(event_kind="mac-decision", session=None, subject_primary="system_u:system_r:a_t:s0",
          subject_secondary="81", subject_kind="service-acct", action="accessed-mac-policy-controlled-object",
          result=None, object_primary="system_u:system_r:b_t:s0", object_secondary=None, object_kind="unknown",
          how="/usr/bin/dbus-daemon", key=None),
        id="user-avc",
    ),
    pytest.param(
        ["type=LOGIN msg=audit(1640027821.949:151316): pid=72605 uid=0 subj=unconfined old-auid=4294967295 "
         'auid=0 tty=(none) old-ses=4294967295 ses=325 res=1\x1dUID="root" OLD-AUID="unset" AUID="root"'],
        R(event_kind="user-login", session=325, subject_primary="system", subject_secondary="root",
          subject_kind="privileged-acct", action="changed-login-id-to", result="success", object_primary="root",
          object_secondary=None, object_kind="user-session", how=None, key=None),
        id="login-enriched",
    ),
    pytest.param(
        ["type=ANOM_PROMISCUOUS msg=audit(1700000000.100:15): dev=eth0 prom=256 old_prom=0 auid=500 uid=0 gid=0 ses=2"],
        R(event_kind="anomaly", session=2, subject_primary="500", subject_secondary="0",
          subject_kind="privileged-acct", action="changed-socket-promiscuous-mode", result=None,
          object_primary="eth0", object_secondary=None, object_kind="socket", how=None, key=None),
        id="promiscuous",
    ),
    pytest.param(
        ["type=SYSCALL msg=audit(1700000000.100:8): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=7ffd a2=10 "
         'a3=0 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) '
         'ses=1 comm="nc" exe="/usr/bin/nc" key=(null)',
         "type=SOCKADDR msg=audit(1700000000.100:8): saddr=02000016C0A801020000000000000000"],
        R(event_kind="audit-rule", session=1, subject_primary="1000", subject_secondary="0",
          subject_kind="privileged-acct", action="connected-to", result="success",
          object_primary="{ fam=inet laddr=192.168.1.2 lport=22 }", object_secondary=None, object_kind="socket",
          how="/usr/bin/nc", key=None),
        id="connect",
    ),
]


def _event(lines: list[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n")
    (ev,) = read_events(log)
    return ev


@pytest.mark.parametrize(("lines", "expected"), CASES)
def test_normalize_matches_ausearch(lines: list[str], expected: dict[str, object], tmp_path: Path) -> None:
    assert normalize(_event(lines, tmp_path), IdNames()) == expected


def test_event_kinds_of_record_types() -> None:
    assert event_kind("USER_LOGIN") == "user-login"
    assert event_kind("ADD_USER") == "user-account"
    assert event_kind("SERVICE_START") == "system-services"
    assert event_kind("USER_CMD") == "user-space"
    assert event_kind("DAEMON_START") == "audit-daemon"
    assert event_kind("UNKNOWN[1334]") == "bpf-program"
    assert event_kind("NO_SUCH_TYPE") == "unknown"


def test_event_row_fills_every_column_but_the_readers(tmp_path: Path) -> None:
    row = event_row(_event([SYSCALL_OPEN, CWD, PATH], tmp_path), IdNames())
    assert set(row) == set(ROW_COLUMNS)
    assert set(ROW_COLUMNS) | {"node", "serial", "time", "file", "line", "record_types", "record_count"} == set(
        AUDITD_EVENTS.names)
    assert row["syscall"] == "open" and row["arch"] == "x86_64" and row["errno"] == "EACCES"
    assert row["success"] is False and row["exit"] == -13 and row["cwd"] == "/root"
    assert row["paths"][0]["name"] == "/etc/shadow" and row["uid_name"] is None and row["tty"] is None


def test_event_row_avc_columns_and_result(tmp_path: Path) -> None:
    row = event_row(_event([AVC.replace("denied", "granted")], tmp_path), IdNames())
    assert row["avc_result"] == "granted" and row["avc_permissions"] == ["read"]
    assert row["tclass"] == "file" and row["permissive"] is False
    assert row["result"] == "success"  # a granted access is not a failure (ausearch 3.0.9 says failed)
