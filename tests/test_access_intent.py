"""What a system call asks to do to its file (the events' ``access`` column) and the report
sections that follow from it (issue 22, part 1): a read-only denied open of /etc/shadow is failed
and sensitive access, not an identity change; a write is in every section it belongs to.

The flag values are the kernel's (include/uapi/asm-generic/fcntl.h and the arches that differ);
the syscall classes those of its watch permissions (include/asm-generic/audit_*.h).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import SAMPLE_LOGS

from auditlens import RejectLog, read_auditd
from auditlens.auditd import interpret as itp
from auditlens.auditd import native
from auditlens.auditd.tables import open_flags, syscall_access
from auditlens.reports import run_report
from auditlens.reports.selections import AUDITD_RULES, SELECTIONS
from auditlens.schema import AUDITD_EVENTS

# -- the derivation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("arch", "syscall", "flags", "want"), [
    # open flags on the generic arches: access mode, O_CREAT 0x40, O_TRUNC 0x200
    ("x86_64", "openat", 0x0, ["read"]),
    ("x86_64", "openat", 0x80000, ["read"]),                   # O_CLOEXEC
    ("x86_64", "openat", 0x1, ["write"]),
    ("x86_64", "openat", 0x2, ["read", "write"]),
    ("x86_64", "openat", 0x3, ["read", "write"]),              # the kernel's ACC_MODE(3)
    ("x86_64", "openat", 0x241, ["write", "create", "truncate"]),  # > file
    ("x86_64", "openat", 0x441, ["write", "create"]),          # >> file (O_APPEND 0x400)
    ("x86_64", "openat", 0x20902, ["read", "write"]),          # shadow-utils' lock-and-write open
    ("x86_64", "openat", 0x200, ["read", "write", "truncate"]),  # O_RDONLY|O_TRUNC truncates
    ("x86_64", "open", 0x40, ["read", "create"]),
    ("aarch64", "openat", 0x241, ["write", "create", "truncate"]),
    ("i386", "open", 0x8241, ["write", "create", "truncate"]),  # O_LARGEFILE 0x8000 on i386
    ("arm", "openat", 0x20241, ["write", "create", "truncate"]),
    ("ppc64le", "openat", 0x241, ["write", "create", "truncate"]),
    ("s390x", "openat2", 0x41, ["write", "create"]),
    ("x86_64", "open_by_handle_at", 0x2, ["read", "write"]),
    # arches whose O_CREAT/O_TRUNC differ
    ("mips", "openat", 0x301, ["write", "create", "truncate"]),
    ("mipsel64", "openat", 0x40, ["read"]),                    # not O_CREAT on mips
    ("sparc64", "openat", 0x601, ["write", "create", "truncate"]),
    ("sparc", "openat", 0x40, ["read"]),                       # FASYNC on sparc
    ("alpha", "openat", 0x601, ["write", "create", "truncate"]),
    ("parisc", "openat", 0x301, ["write", "create", "truncate"]),
    ("riscv64", "openat", 0x241, ["write", "create", "truncate"]),  # generic
    # no arch: only the access mode, which is the same everywhere
    (None, "openat", 0x241, ["write"]),
    (None, "openat", 0x0, ["read"]),
    # flags not in the log
    ("x86_64", "openat", None, None),
    ("x86_64", "openat2", None, None),
    # the syscall itself says it
    ("x86_64", "creat", None, ["write", "create", "truncate"]),
    ("x86_64", "rename", None, ["write"]),
    ("x86_64", "renameat2", None, ["write"]),
    ("x86_64", "unlink", None, ["write"]),
    ("x86_64", "unlinkat", None, ["write"]),
    ("x86_64", "rmdir", None, ["write"]),
    ("x86_64", "mknod", None, ["write"]),
    ("x86_64", "symlink", None, ["write"]),
    ("x86_64", "link", None, ["write", "attr"]),
    ("x86_64", "truncate", None, ["write", "truncate"]),
    ("x86_64", "ftruncate", None, ["write", "truncate"]),
    ("i386", "ftruncate64", None, ["write", "truncate"]),
    ("x86_64", "chmod", None, ["attr"]),
    ("x86_64", "fchmod", None, ["attr"]),
    ("x86_64", "fchmodat", None, ["attr"]),
    ("x86_64", "fchown", None, ["attr"]),
    ("x86_64", "lchown", None, ["attr"]),
    ("i386", "chown32", None, ["attr"]),
    ("x86_64", "setxattr", None, ["attr"]),
    ("x86_64", "fremovexattr", None, ["attr"]),
    ("x86_64", "getxattr", None, ["read"]),
    ("x86_64", "readlink", None, ["read"]),
    ("x86_64", "execve", None, ["exec"]),
    # not a file access the kernel classes
    ("x86_64", "socket", None, None),
    ("x86_64", "kill", None, None),
    ("x86_64", None, 0x241, None),
])
def test_access_of(arch: str | None, syscall: str | None, flags: int | None,
                   want: list[str] | None) -> None:
    assert itp.access_of(arch, syscall, flags) == want
    assert itp.access_of(arch, syscall, flags) == want  # memoised: a fresh list each time
    got = itp.access_of(arch, syscall, flags)
    if got is not None:
        got.append("x")
        assert itp.access_of(arch, syscall, flags) == want


@pytest.mark.parametrize(("syscall", "field"), [
    ("open", "a1"), ("openat", "a2"), ("open_by_handle_at", "a2"), ("openat2", "oflag"),
    ("creat", None), ("rename", None), ("socket", None), (None, None),
])
def test_where_the_flags_are(syscall: str | None, field: str | None) -> None:
    assert itp.access_flags_field(syscall) == field


@pytest.mark.parametrize(("field", "raw", "want"), [
    ("a2", "241", 0x241),
    ("a1", "8241", 0x8241),
    ("a2", '"241"', 0x241),
    ("a2", "ffffffff00000241", 0x241),   # the kernel takes an int
    ("oflag", "0100101", 0o100101),      # OPENAT2: oflag=0%llo
    ("a2", "zz", None),
    ("a2", None, None),
    (None, "241", None),
])
def test_flags_as_logged(field: str | None, raw: str | None, want: int | None) -> None:
    assert itp.open_flags_value(field, raw) == want


def test_the_tables() -> None:
    generic = open_flags("x86_64")
    assert generic is not None and (generic.wronly, generic.rdwr, generic.creat, generic.trunc) == (1, 2, 0x40, 0x200)
    assert open_flags("aarch64") == generic and open_flags("i386") == generic and open_flags("AARCH64") == generic
    assert open_flags(None) is None
    assert syscall_access("openat") == ((), "a2")
    every = {a for name in ("creat", "link", "quotactl", "chmod", "execve", "readlink")
             for a in (syscall_access(name) or ((), ""))[0]}
    assert every <= set(itp.ACCESS_ORDER)


# -- events: the Python path and the C fast path ---------------------------------------------------

_HEAD = "node=n1 type={type} msg=audit(1795896763.{ms:03d}:{serial}): "


def _event(serial: int, syscall: int, a1: str, a2: str, name: str, *, exit_: int = -13,
           arch: str = "c000003e", extra: tuple[str, ...] = ()) -> list[str]:
    ok = "yes" if exit_ >= 0 else "no"
    head = _HEAD.format(type="{type}", ms=serial % 1000, serial=serial)
    return [
        head.format(type="SYSCALL") + (
            f"arch={arch} syscall={syscall} success={ok} exit={exit_} a0=ffffff9c a1={a1} a2={a2} "
            "a3=0 items=1 ppid=4188 pid=4189 auid=1002 uid=1002 gid=1003 euid=1002 suid=1002 "
            'fsuid=1002 egid=1003 sgid=1003 fsgid=1003 tty=(none) ses=40 comm="cat" '
            'exe="/usr/bin/cat" key="access"'),
        head.format(type="CWD") + 'cwd="/home/bob"',
        head.format(type="PATH") + (
            f'item=0 name="{name}" inode=2146845 dev=fe:00 mode=0100600 ouid=0 ogid=0 rdev=00:00 '
            "nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"),
        *(head.format(type=t) + rest for t, rest in (x.split(" ", 1) for x in extra)),
        head.format(type="PROCTITLE") + "proctitle=636174",
    ]


LOG = [
    # bob: cat /etc/shadow, denied (openat, O_RDONLY)
    *_event(101, 257, "7ffd33ef4ee1", "0", "/etc/shadow"),
    # bob: echo x >> /etc/passwd, denied (O_WRONLY|O_CREAT|O_APPEND)
    *_event(102, 257, "56391c76f7d0", "441", "/etc/passwd"),
    # bob: > /etc/shadow, denied (O_WRONLY|O_CREAT|O_TRUNC)
    *_event(103, 257, "56391c76f7d0", "241", "/etc/shadow"),
    # open(2) on i386: the flags are a1 (0x8000 is O_LARGEFILE there)
    *_event(104, 5, "8002", "0", "/etc/shadow", arch="40000003"),
    # openat2 with its OPENAT2 record (oflag in octal): O_RDWR
    *_event(105, 437, "7ffd33ef4ee1", "7ffd33ef4f00", "/etc/gshadow",
            extra=("OPENAT2 oflag=02 mode=00 resolve=0x0",)),
    # openat2 without one (an older kernel): the flags are not known
    *_event(106, 437, "7ffd33ef4ee1", "7ffd33ef4f00", "/etc/gshadow"),
    # chmod /etc/shadow (fchmodat), denied
    *_event(107, 268, "7ffd33ef4ee1", "1a4", "/etc/shadow"),
    # stat of /etc/shadow: no access the kernel classes
    *_event(108, 262, "7ffd33ef4ee1", "7ffd33ef4f00", "/etc/shadow", exit_=0),
]
WANT = {
    101: ["read"], 102: ["write", "create"], 103: ["write", "create", "truncate"],
    104: ["read", "write"], 105: ["read", "write"], 106: None, 107: ["attr"], 108: None,
}


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("access") / "audit.log"
    path.write_text("\n".join(LOG) + "\n")
    return path


def _read(path: Path, *, python: bool, monkeypatch: pytest.MonkeyPatch) -> pa.Table:
    if python:
        monkeypatch.setattr(native, "Parser", None)
    return read_auditd(path, rejects=RejectLog())


def test_access_column_is_last_and_declared() -> None:
    assert AUDITD_EVENTS.names[-1] == "access"
    assert AUDITD_EVENTS["access"].type == pa.list_(pa.string())


@pytest.mark.parametrize("python", [True, False], ids=["python", "native"])
def test_events_get_their_access(log_file: Path, python: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not python and native.Parser is None:
        pytest.skip("the auditd C fast path is not compiled")
    t = _read(log_file, python=python, monkeypatch=monkeypatch)
    assert dict(zip(t["serial"].to_pylist(), t["access"].to_pylist())) == WANT


def test_both_paths_give_the_same_table(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if native.Parser is None:
        pytest.skip("the auditd C fast path is not compiled")
    fast = read_auditd(log_file, rejects=RejectLog())
    slow = _read(log_file, python=True, monkeypatch=monkeypatch)
    assert fast.equals(slow)


def test_jobs_2_gives_the_same_table(log_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.log"
    other.write_text(log_file.read_text().replace("node=n1 ", "node=n2 "))
    one = read_auditd([log_file, other], rejects=RejectLog())
    two = read_auditd([log_file, other], jobs=2, rejects=RejectLog())
    assert two.equals(one)
    assert one["access"].to_pylist() == list(WANT.values()) * 2


# -- the sections ---------------------------------------------------------------------------------

def _selected(name: str, table: pa.Table) -> set[int]:
    mask = SELECTIONS[name].auditd(table)
    return set(table.filter(mask)["serial"].to_pylist())


def test_sections_of_the_small_log(log_file: Path) -> None:
    t = read_auditd(log_file, rejects=RejectLog())
    # a denied read of /etc/shadow: failed, sensitive, not a change of credentials
    assert 101 in _selected("failed-access", t)
    assert 101 in _selected("sensitive-access", t)
    assert 101 not in _selected("identity-changes", t)
    # denied writes: in all three
    for serial in (102, 103):
        assert serial in _selected("identity-changes", t)
        assert serial in _selected("failed-access", t)
    assert 103 in _selected("sensitive-access", t)   # /etc/shadow is sensitive
    assert 102 not in _selected("sensitive-access", t)  # /etc/passwd is not (nor watched data)
    # open(2) and openat2 read their flags where each logs them
    assert {104, 105} <= _selected("identity-changes", t)
    # unknown intent is no claimed change; a chmod is one but reaches no data
    assert 106 not in _selected("identity-changes", t)
    assert 107 in _selected("identity-changes", t)
    assert 107 not in _selected("sensitive-access", t)
    assert 108 not in _selected("identity-changes", t) | _selected("sensitive-access", t)


def _events(**cols: list) -> pa.Table:  # type: ignore[type-arg]
    """A small events table: the given columns, every other one null."""
    n = len(next(iter(cols.values())))
    return pa.table({c.name: pa.array(cols.get(c.name, [None] * n), c.type) for c in AUDITD_EVENTS})


def test_selections_on_a_small_table() -> None:
    shadow = [{"item": 0, "name": "/etc/shadow"}]
    sudoers = [{"item": 0, "name": "/etc/sudoers"}]
    t = _events(
        serial=[1, 2, 3, 4, 5, 6, 7, 8],
        event_type=["SYSCALL", "SYSCALL", "SYSCALL", "SYSCALL", "ADD_USER", "SYSCALL", "SYSCALL", "AVC"],
        syscall=["openat", "rename", "execve", "fchown", None, "openat", "finit_module", "openat"],
        access=[["read"], ["write"], ["exec"], ["attr"], None, ["read", "write"], None, ["write"]],
        paths=[shadow, shadow, shadow, sudoers, None, sudoers, None, shadow],
        auid=[1001, 1001, 1001, 1001, 1001, None, 0, 1001],
        errno=["EACCES", None, None, None, None, None, None, "EACCES"],
        avc_result=[None, None, None, None, None, None, None, "denied"],
    )
    # 8: a write SELinux denied (the AVC record comes first) is an attempted change too
    assert _selected("identity-changes", t) == {2, 4, 5, 6, 8}
    assert _selected("sensitive-access", t) == {1, 2, 8}  # 6: no logged-in person
    assert _selected("failed-access", t) == {1, 8}
    assert _selected("system-objects", t) == {7}


def test_every_section_documents_its_rules() -> None:
    from auditlens.reportdocs import membership_markdown

    table = membership_markdown()
    for name, rules in AUDITD_RULES.items():
        assert f"[`{name}`](#{name})" in table
        assert rules and all(r.conds for r in rules)
    assert "any of `write`, `create`, `truncate`, `attr`" in table


# -- real logs --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compliance() -> dict[str, pa.Table]:
    out = run_report("compliance", [str(SAMPLE_LOGS / "auditd" / "node-a"), str(SAMPLE_LOGS / "auditd" / "node-b")])
    return {s.name: s.table for s in out.sections}


def test_sample_logs_denied_write_and_read(compliance: dict[str, pa.Table]) -> None:
    """bob's ``echo >> /etc/passwd`` (denied, O_WRONLY|O_CREAT|O_APPEND) is a change that
    failed; his denied ``cat`` of a root file (O_RDONLY) is failed and sensitive access only."""
    def rows(section: str, obj: str) -> list[dict]:  # type: ignore[type-arg]
        t = compliance[section]
        return [r for r in t.to_pylist() if r["source"] == "auditd" and r["object"] == obj
                and r["outcome"] == "denied" and r["actor"] == "bob"]

    for node in ("node-a", "node-b"):
        for section in ("identity-changes", "failed-access"):
            assert [r for r in rows(section, "/etc/passwd") if r["node"] == node], (section, node)
        payroll = "/tmp/auditlens-sample/data/payroll.csv"
        assert [r for r in rows("failed-access", payroll) if r["node"] == node]
        assert [r for r in rows("sensitive-access", payroll) if r["node"] == node]
        assert not [r for r in rows("identity-changes", payroll) if r["node"] == node]


def test_sample_logs_identity_changes_are_all_changes() -> None:
    t = read_auditd(SAMPLE_LOGS / "auditd" / "node-a", rejects=RejectLog())
    ident = t.filter(SELECTIONS["identity-changes"].auditd(t))
    syscalls = ident.filter(pc.equal(ident["event_type"], "SYSCALL"))
    assert syscalls.num_rows > 0
    for access in syscalls["access"].to_pylist():
        assert set(access) & {"write", "create", "truncate", "attr"}, access
