"""Objects of calls on an open file (fchown, fchmod…) are named, and say how (issue 22 part 2).

The hand-made event tables hold only what the naming reads (node, time, serial, process, PATH
items); each test is one rule of :mod:`auditlens.auditd.objects`. The sample logs are real
useradd/groupadd/usermod runs under auditd.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import SAMPLE_LOGS

from auditlens.actions import from_auditd
from auditlens.auditd.objects import OBJECT_SOURCES
from auditlens.collect import collect
from auditlens.schema import ACTIVITY, AUDITD_EVENTS

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
_serial = iter(range(1000, 10**6))


def path(name: str | None, inode: int | None, *, nametype: str = "NORMAL", dev: str = "fe:00",
         mode: str = "0100644", item: int = 0) -> dict[str, Any]:
    return {"item": item, "name": name, "nametype": nametype, "inode": inode, "dev": dev,
            "mode": mode, "ouid": 0, "ogid": 0, "obj": None}


def event(second: float, syscall: str, *paths: dict[str, Any], pid: int = 100, ppid: int = 10,
          session: int | None = 5, exe: str = "/usr/sbin/useradd", node: str | None = "node-a",
          cwd: str = "/root", success: bool = True) -> dict[str, Any]:
    """One SYSCALL event; the object is the first named item's, as the normaliser gives it."""
    named = [p["name"] for p in paths if p["name"] and p["nametype"] != "PARENT"]
    return {"node": node, "serial": next(_serial), "time": T0 + timedelta(seconds=second),
            "event_type": "SYSCALL", "syscall": syscall, "success": success, "result": "success",
            "pid": pid, "ppid": ppid, "session": session, "exe": exe, "cwd": cwd,
            "paths": list(paths), "object_primary": named[0] if named else None,
            "object_kind": "file", "action": "changed-file-ownership-of",
            "file": "audit.log", "line": 1}


def objects(*events: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    table = pa.Table.from_pylist(list(events), schema=AUDITD_EVENTS.arrow)
    act = from_auditd(table)
    assert act.schema.equals(ACTIVITY.arrow, check_metadata=False)
    return list(zip(act["object"].to_pylist(), act["object_source"].to_pylist()))


def test_a_named_path_is_logged_and_a_row_without_paths_has_no_source() -> None:
    login = event(0, "openat")
    login.update(event_type="USER_LOGIN", syscall=None, paths=None, object_primary="ssh")
    got = objects(login, event(1, "openat", path("/etc/passwd", 12)))
    assert got == [("ssh", None), ("/etc/passwd", "logged")]


def test_the_same_process_names_its_open_file() -> None:
    got = objects(
        event(1, "openat", path("/etc/", 19, nametype="PARENT", mode="040755"),
              path("/etc/group+", 500, nametype="CREATE", mode="0100600", item=1)),
        # another process sees the inode under another name, nearer in time: not preferred
        event(2, "stat", path("/srv/other", 500), pid=200, exe="/usr/bin/stat"),
        event(3, "fchown", path(None, 500)),
        event(4, "fchmod", path(None, 500)),
    )
    assert got[2:] == [("/etc/group+", "same-process"), ("/etc/group+", "same-process")]


def test_a_relative_name_is_joined_to_the_working_directory() -> None:
    got = objects(event(1, "openat", path("group+", 501), cwd="/etc"), event(2, "fchown", path(None, 501)))
    assert got[1] == ("/etc/group+", "same-process")


def test_another_process_names_the_inode_by_its_nearest_earlier_sighting() -> None:
    got = objects(
        event(1, "openat", path("/etc/old-name", 600), pid=201),
        event(2, "openat", path("/etc/group", 600), pid=202),
        event(3, "fchown", path(None, 600)),
        event(4, "openat", path("/etc/later-name", 600), pid=203),
    )
    assert got[2] == ("/etc/group", "same-inode")


def test_without_an_earlier_sighting_the_next_one_names_it_as_it_was_before() -> None:
    # useradd writes /etc/group+ through its descriptor, then renames it over /etc/group: the
    # rename's DELETE item is the name the inode had when it was changed, not the CREATE one
    got = objects(
        event(1, "fchown", path(None, 700, mode="0100000")),
        event(2, "rename", path("/etc/", 19, nametype="PARENT", mode="040755"),
              path("/etc/", 19, nametype="PARENT", mode="040755", item=1),
              path("/etc/group+", 700, nametype="DELETE", item=2),
              path("/etc/group", 650, nametype="DELETE", item=3),
              path("/etc/group", 700, nametype="CREATE", item=4), pid=300, exe="/usr/sbin/usermod"),
    )
    assert got[0] == ("/etc/group+", "same-inode")


def test_a_name_removed_before_the_call_does_not_name_it() -> None:
    got = objects(
        event(1, "openat", path("/etc/shadow.4255", 800), pid=201),
        event(2, "unlink", path("/etc/shadow.4255", 800, nametype="DELETE"), pid=201),
        event(3, "fchmod", path(None, 800)),
        event(4, "unlink", path("/etc/shadow.lock", 800, nametype="DELETE"), pid=202),
    )
    assert got[2] == ("/etc/shadow.lock", "same-inode")


def test_an_inode_never_named_is_shown_as_inode_and_device() -> None:
    got = objects(
        event(1, "fchown", path(None, 1234, dev="fd:01")),
        event(2, "openat", path("/etc/dir", 1234, dev="fd:01", mode="040755")),  # another type
        event(3, "openat", path("/mnt/x", 1234, dev="08:01")),  # another device
    )
    assert got[0] == ("inode 1234 on dev fd:01", "inode-only")


@pytest.mark.parametrize("reuse", [
    {"ppid": 11},  # another parent
    {"session": 6},  # another login session
    {"exe": "/usr/bin/chage"},  # another program
])
def test_a_reused_pid_is_another_process(reuse: dict[str, Any]) -> None:
    got = objects(
        event(1, "openat", path("/etc/gshadow+", 900)),
        event(2, "openat", path("/etc/passwd", 900), pid=400),  # the inode's name meanwhile
        event(3, "fchown", path(None, 900), **reuse),
    )
    assert got[2] == ("/etc/passwd", "same-inode")


def test_an_execve_of_the_pid_starts_another_process() -> None:
    exe = event(2, "execve", path("/usr/sbin/useradd", 40), path("/lib64/ld-linux-x86-64.so.2", 41, item=1))
    got = objects(
        event(1, "openat", path("/etc/gshadow+", 901)),
        event(1.5, "openat", path("/etc/passwd", 901), pid=400),
        exe,
        event(3, "fchown", path(None, 901)),
    )
    assert got[3] == ("/etc/passwd", "same-inode")


def test_a_reboot_starts_other_processes() -> None:
    before = event(1, "openat", path("/etc/gshadow+", 902))
    before["serial"] = 500_000
    elsewhere = event(2, "openat", path("/etc/passwd", 902), pid=400)
    elsewhere["serial"] = 500_001
    after = event(60, "fchown", path(None, 902))
    after["serial"] = 12  # numbering starts again after a reboot
    assert objects(before, elsewhere, after)[2] == ("/etc/passwd", "same-inode")


def test_nodes_are_kept_apart() -> None:
    got = objects(
        event(1, "openat", path("/etc/group+", 950), node="node-a"),
        event(2, "fchown", path(None, 950), node="node-b"),
        event(3, "fchown", path(None, 950), node="node-a"),
    )
    assert got[1:] == [("inode 950 on dev fe:00", "inode-only"), ("/etc/group+", "same-process")]


def test_rows_are_named_whatever_the_order_of_the_table() -> None:
    rows = [event(1, "openat", path("/etc/group+", 960)), event(2, "fchown", path(None, 960))]
    assert objects(*reversed(rows))[0] == ("/etc/group+", "same-process")


# --- the sample logs: real useradd/groupadd/usermod under auditd ---------------------------------

FD_CALLS = ["fchown", "fchmod", "fchownat", "fchmodat", "fsetxattr", "fremovexattr", "ftruncate"]


@pytest.fixture(scope="module")
def sample() -> tuple[pa.Table, pa.Table]:
    events = collect([str(SAMPLE_LOGS / "auditd")]).auditd
    return events, from_auditd(events)


def test_every_fchown_and_fchmod_row_of_the_sample_logs_names_its_object(sample) -> None:  # type: ignore[no-untyped-def]
    events, act = sample
    fd = act.filter(pc.is_in(events["syscall"], pa.array(FD_CALLS)))
    assert fd.num_rows > 100
    assert pc.all(pc.is_valid(fd["object"])).as_py()
    assert pc.all(pc.greater(pc.utf8_length(fd["object"]), 0)).as_py()
    assert pc.all(pc.is_in(fd["object_source"], pa.array(OBJECT_SOURCES))).as_py()
    # the log names most of them: useradd's temporary files show up when renamed into place
    sources = set(fd["object_source"].to_pylist())
    assert "same-inode" in sources
    objects = set(fd["object"].to_pylist())
    assert {"/etc/group+", "/etc/gshadow+", "/etc/passwd+", "/etc/shadow+"} & objects


def test_the_sample_logs_have_no_file_row_without_an_object_source(sample) -> None:  # type: ignore[no-untyped-def]
    events, act = sample
    with_paths = pc.fill_null(pc.greater(pc.list_value_length(events["paths"]), 0), False)
    assert pc.all(pc.is_valid(act.filter(with_paths)["object_source"])).as_py()
    assert pc.all(pc.is_null(act.filter(pc.invert(with_paths))["object_source"])).as_py()


def test_a_lone_call_on_an_open_file_is_its_inode() -> None:
    assert objects(event(1, "fchmod", path(None, 42, dev=None)))[0] == ("inode 42", "inode-only")  # type: ignore[arg-type]


def test_a_path_name_the_normaliser_left_out_is_logged() -> None:
    # a failed execve (ENOENT: a helper looked up along PATH) has a PATH name but no object
    failed = event(1, "execve", path("/usr/sbin/nscd", None, nametype="UNKNOWN"), success=False)
    failed.update(object_primary=None, action="executed")
    assert objects(failed)[0] == ("/usr/sbin/nscd", "logged")
