"""The auditd lookup tables, checked against references that are not our own files.

References: this machine's audit-userspace (``ausyscall --dump``, ``ausearch -m`` and
``libaudit.so.1`` through ctypes; skipped with a reason when absent), the C library's errno,
signal and socket constants (Python's ``errno``/``signal``/``socket`` modules), and the
kernel's definitions of the AUDIT_ARCH_* codes (EM_* | flags, from the uapi headers).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import re
import shutil
import signal
import socket
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from auditlens.auditd import tables as T
from auditlens.auditd.tables import _generate as gen
from auditlens.sources import expand_sources
from auditlens.sources.lines import iter_lines

REPO = Path(__file__).resolve().parents[1]
TABLES_DIR = resources.files("auditlens.auditd.tables")
AUSYSCALL = shutil.which("ausyscall")
AUSEARCH = shutil.which("ausearch")

#: our syscall table → the arch name ausyscall takes.
AUSYSCALL_ARCH = gen.SYSCALL_TABLES


def _libaudit() -> ctypes.CDLL | None:
    path = ctypes.util.find_library("audit")
    if not path:
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    lib.audit_msg_type_to_name.restype = ctypes.c_char_p
    lib.audit_errno_to_name.restype = ctypes.c_char_p
    lib.audit_machine_to_name.restype = ctypes.c_char_p
    lib.audit_elf_to_machine.argtypes = [ctypes.c_uint]
    return lib


LIBAUDIT = _libaudit()
needs_ausyscall = pytest.mark.skipif(
    AUSYSCALL is None, reason="ausyscall (Debian package auditd) not installed")
needs_libaudit = pytest.mark.skipif(
    LIBAUDIT is None, reason="libaudit.so.1 (Debian package libaudit1) not found")


def _table_version() -> str:
    """The audit-userspace version the generated TSVs were dumped from (their header says)."""
    head = TABLES_DIR.joinpath("syscalls/x86_64.tsv").read_text(encoding="utf-8").splitlines()[1]
    m = re.search(r"version (\S+),", head)
    assert m, head
    return m.group(1)


def _ausyscall_dump(arch: str) -> dict[int, str]:
    out = subprocess.run([AUSYSCALL or "ausyscall", arch, "--dump"], capture_output=True,
                         text=True, check=True).stdout
    return gen.parse_ausyscall_dump(out)


def _noted_rows(relpath: str) -> dict[int, str]:
    """Rows of a generated TSV that carry a note (taken from a newer upstream source)."""
    out = {}
    for line in TABLES_DIR.joinpath(relpath).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("number\t"):
            continue
        number, name, note = line.split("\t")
        if note:
            out[int(number)] = name
    return out


# --- syscalls ----------------------------------------------------------------------------------

KNOWN_SYSCALLS = [  # (arch as given, number, name): the brief's examples, checked below too
    ("x86_64", 59, "execve"), ("x86_64", 257, "openat"), ("c000003e", 2, "open"),
    ("i386", 11, "execve"), ("40000003", 5, "open"),
    ("aarch64", 221, "execve"), ("aarch64", 56, "openat"), ("c00000b7", 63, "read"),
    ("arm", 11, "execve"), ("40000028", 322, "openat"),
    ("ppc64", 11, "execve"), ("ppc64le", 11, "execve"), ("ppc", 11, "execve"),
    ("s390x", 11, "execve"), ("s390", 11, "execve"), ("80000016", 288, "openat"),
]


@pytest.mark.parametrize(("arch", "number", "name"), KNOWN_SYSCALLS)
def test_known_syscalls(arch: str, number: int, name: str) -> None:
    assert T.syscall_name(arch, number) == name
    assert T.syscall_number(arch, name) == number


@needs_ausyscall
@pytest.mark.parametrize(("arch", "number", "name"), KNOWN_SYSCALLS)
def test_known_syscalls_agree_with_ausyscall(arch: str, number: int, name: str) -> None:
    """`ausyscall <arch> <name> --exact` and `ausyscall <arch> <number>`: the expected values."""
    table = T.arch_info(arch)
    assert table is not None
    cmd = [AUSYSCALL or "ausyscall", AUSYSCALL_ARCH[table.syscall_table]]
    out = subprocess.run([*cmd, name, "--exact"], capture_output=True, text=True)
    assert out.stdout.strip() == str(number), out.stdout + out.stderr
    out = subprocess.run([*cmd, str(number)], capture_output=True, text=True)
    assert out.stdout.strip() == name, out.stdout + out.stderr


@needs_ausyscall
@pytest.mark.parametrize("table", sorted(AUSYSCALL_ARCH))
def test_syscall_table_matches_ausyscall_dump(
    table: str, record_property: pytest.RecordProperty
) -> None:
    """Every entry of ``ausyscall <arch> --dump`` against our TSV.

    Where they differ our row must carry a note (a newer upstream source).  When the installed
    audit-userspace is the version the TSVs were dumped from, that is exact; otherwise (a newer
    Debian) at least 98% of its entries must agree.
    """
    theirs = _ausyscall_dump(AUSYSCALL_ARCH[table])
    ours = dict(T._syscalls(table)[0])
    noted = _noted_rows(f"syscalls/{table}.tsv")
    same = sum(1 for n, name in theirs.items() if ours.get(n) == name)
    agreement = same / len(theirs)
    record_property(f"ausyscall_agreement_{table}", f"{same}/{len(theirs)}")
    print(f"{table}: {same}/{len(theirs)} ausyscall entries agree ({agreement:.2%}); "
          f"{len(noted)} rows from newer upstream")
    if gen.ausyscall_version() == _table_version():
        unexplained = {n: (theirs.get(n), ours.get(n)) for n in set(theirs) | set(ours)
                       if theirs.get(n) != ours.get(n) and n not in noted}
        assert unexplained == {}
        assert len(theirs) - same == sum(1 for n in noted if n in theirs)
    else:
        assert agreement >= 0.98


def test_syscall_tables_cover_the_briefs_arches() -> None:
    assert set(T.syscall_tables()) == {"x86_64", "i386", "aarch64", "arm", "ppc", "s390x", "s390"}
    for table in T.syscall_tables():
        by_number = T._syscalls(table)[0]
        assert len(by_number) > 300, table
        assert by_number[462] == "mseal", table  # numbers >= 424 are shared by all arches


def test_aarch64_prefers_newer_upstream_names() -> None:
    """audit-userspace 3.0.9 says getdents/newfstatat; the 2024 table (and the kernel) do not."""
    assert T.syscall_name("aarch64", 61) == "getdents64"
    assert T.syscall_name("aarch64", 79) == "fstatat"
    assert T.syscall_name("x86_64", 217) == "getdents64"


def test_syscall_name_unknowns() -> None:
    assert T.syscall_name(None, 59) is None
    assert T.syscall_name("riscv64", 221) is None  # arch known, no table kept
    assert T.syscall_name("nonsense", 1) is None
    assert T.syscall_name("x86_64", -1) is None
    assert T.syscall_name("x86_64", 100000) is None
    assert T.syscall_number("x86_64", "no_such_call") is None


# --- arch --------------------------------------------------------------------------------------

ARCH_CODES = [  # brief's list: AUDIT_ARCH_* = EM_* | 64BIT 0x80000000 | LE 0x40000000
    ("c000003e", "x86_64"), ("40000003", "i386"), ("c00000b7", "aarch64"), ("40000028", "arm"),
    ("80000015", "ppc64"), ("c0000015", "ppc64le"), ("00000014", "ppc"), ("80000016", "s390x"),
    ("00000016", "s390"), ("c00000f3", "riscv64"), ("c0000102", "loongarch64"),
]


@pytest.mark.parametrize(("code", "name"), ARCH_CODES)
def test_arch_codes(code: str, name: str) -> None:
    assert T.arch_name(code) == name
    assert T.arch_name(code.upper()) == name
    assert T.arch_name("0x" + code.lstrip("0")) == name
    assert T.arch_from_name(name) == code


def test_arch_codes_follow_the_kernel_formula() -> None:
    em = {"X86_64": 62, "I386": 3, "AARCH64": 183, "ARM": 40, "PPC64": 21, "PPC": 20, "S390": 22}
    b64, le = 0x80000000, 0x40000000
    assert int(T.arch_from_name("x86_64") or "", 16) == em["X86_64"] | b64 | le
    assert int(T.arch_from_name("i386") or "", 16) == em["I386"] | le
    assert int(T.arch_from_name("aarch64") or "", 16) == em["AARCH64"] | b64 | le
    assert int(T.arch_from_name("arm") or "", 16) == em["ARM"] | le
    assert int(T.arch_from_name("ppc64le") or "", 16) == em["PPC64"] | b64 | le
    assert int(T.arch_from_name("s390x") or "", 16) == em["S390"] | b64


def test_arch_aliases_and_unknowns() -> None:
    assert T.arch_name("x86_64") == "x86_64"
    assert T.arch_from_name("arm64") == "c00000b7"
    assert T.arch_from_name("i686") == "40000003"
    assert T.arch_from_name("AMD64") == "c000003e"
    assert T.arch_name("armeb") == "armeb"  # the kernel's big-endian ARM, 0x28
    for bad in ("", "zz", "123456789", "0x", None):
        assert T.arch_name(bad) is None
    assert T.arch_name("deadbeef") is None


@needs_libaudit
def test_arches_agree_with_libaudit() -> None:
    """libaudit's elf→machine→name for every code we say it knows (it calls ARM 'armeb')."""
    assert LIBAUDIT is not None
    by_code, _ = T._arches()
    checked = 0
    for code, arch in by_code.items():
        machine = LIBAUDIT.audit_elf_to_machine(int(code, 16))
        if not arch.audit_name:
            continue
        assert machine >= 0, code
        assert LIBAUDIT.audit_machine_to_name(machine).decode() == arch.audit_name, code
        checked += 1
    assert checked >= 9


# --- errno -------------------------------------------------------------------------------------

def test_errno_examples() -> None:
    assert T.errno_name(-2) == "ENOENT"
    assert T.errno_name(-13) == "EACCES"
    assert T.errno_name(-1) == "EPERM"
    assert T.errno_name(13) == "EACCES"
    assert T.errno_name(0) is None
    assert T.errno_name(-4000) is None
    assert T.errno_name(-512) == "ERESTARTSYS"


def test_errno_agrees_with_the_c_library() -> None:
    known = 0
    for number, name in T._errnos().items():
        if hasattr(errno, name):
            assert getattr(errno, name) == number, name
            known += 1
    assert known >= 130
    # every errno the C library names up to 133 is in the table (under it or an alias)
    for number in errno.errorcode:
        if number <= 133:
            assert T.errno_name(number) is not None, number


@needs_libaudit
def test_errno_agrees_with_libaudit() -> None:
    assert LIBAUDIT is not None
    for number in range(1, 512):
        theirs = LIBAUDIT.audit_errno_to_name(number)
        assert T.errno_name(number) == (theirs.decode() if theirs else None), number


# --- record types ------------------------------------------------------------------------------

@pytest.mark.parametrize(("number", "name"), [
    (1112, "USER_LOGIN"), (1300, "SYSCALL"), (1327, "PROCTITLE"), (1400, "AVC"),
    (1100, "USER_AUTH"), (1320, "EOE"), (1334, "BPF"), (1107, "USER_AVC"),
    (2100, "ANOM_LOGIN_FAILURES"),
])
def test_record_types(number: int, name: str) -> None:
    assert T.record_type_name(number) == name
    assert T.record_type_number(name) == number
    assert T.record_type_number(f"UNKNOWN[{number}]") == number


def test_record_type_unknowns() -> None:
    assert T.record_type_name(1999) is None
    # 1420 is IPE_ACCESS on mainline v6.12+ but MAC_TASK_CONTEXTS on Ubuntu's LSM-stacking
    # kernels (the corpora hold one with subj_apparmor=): deliberately left unnamed.
    assert T.record_type_name(1420) is None
    assert T.record_type_name(1329) == "REPLACE"  # kernel type libaudit does not name
    assert T.record_type_number("NO_SUCH_TYPE") is None
    assert T.record_type_number("UNKNOWN[1999]") == 1999
    assert T.record_type_number("1300") == 1300
    assert T.record_type_number("syscall") == 1300


@needs_libaudit
def test_record_types_agree_with_libaudit() -> None:
    """Every type libaudit names, we name the same; ours beyond it carry a newer-source note."""
    assert LIBAUDIT is not None
    noted = _noted_rows("record_types.tsv")
    ours = T._record_types()[0]
    for number in range(1000, 3000):
        raw = LIBAUDIT.audit_msg_type_to_name(number)
        theirs = raw.decode() if raw else None
        if theirs is not None:
            assert ours.get(number) == theirs or number in noted, number
        elif number in ours:
            assert number in noted, number


@pytest.mark.skipif(AUSEARCH is None, reason="ausearch (Debian package auditd) not installed")
def test_ausearch_message_types_are_all_known() -> None:
    out = subprocess.run([AUSEARCH or "ausearch", "-m", "NO_SUCH_TYPE_X"],
                         capture_output=True, text=True)
    text = out.stdout + out.stderr
    assert "Valid message types are:" in text
    names = text.split("Valid message types are:", 1)[1].split()
    names = [n for n in names if n not in ("ALL",)]
    assert len(names) > 150
    unknown = [n for n in names if T.record_type_number(n) is None and n != "USER"]
    assert unknown == []


@pytest.mark.parametrize(("rtype", "cls"), [
    ("USER_LOGIN", "user"), ("USER_AVC", "user"), ("ANOM_LOGIN_FAILURES", "user"),
    ("CRYPTO_KEY_USER", "user"), ("VIRT_CONTROL", "user"), ("USER", "user"),
    ("DAEMON_START", "daemon"), ("SYSCALL", "kernel"), ("PATH", "kernel"), ("AVC", "kernel"),
    ("APPARMOR_DENIED", "kernel"), ("ANOM_PROMISCUOUS", "kernel"), ("LOGIN", "kernel"),
    ("UNKNOWN[1334]", "kernel"), (1112, "user"), (1000, "control"), ("NO_SUCH", "unknown"),
    (3000, "unknown"),
])
def test_record_class(rtype: str | int, cls: str) -> None:
    assert T.record_class(rtype) == cls


# --- signals, socket families ------------------------------------------------------------------

def test_signals_agree_with_the_c_library() -> None:
    assert T.signal_name(9) == "SIGKILL"
    assert T.signal_name(30) == "SIGPWR"
    assert T.signal_name(99) is None
    for number, name in T._signals().items():
        if number and hasattr(signal, name):
            assert int(getattr(signal, name)) == number, name


def test_socket_families_agree_with_the_c_library() -> None:
    assert T.socket_family_name(1) == "local"
    assert T.socket_family_name(2) == "inet"
    assert T.socket_family_name(10) == "inet6"
    assert T.socket_family_name(16) == "netlink"
    assert T.socket_family_name(17) == "packet"
    assert T.socket_family_name(999) is None
    checked = 0
    for line in TABLES_DIR.joinpath("socket_families.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("number\t"):
            continue
        number, _name, constant = line.split("\t")
        value = getattr(socket, constant, None)
        if value is not None:
            assert int(value) == int(number), constant
            checked += 1
    assert checked >= 20


# --- encoded fields ----------------------------------------------------------------------------

@pytest.mark.parametrize(("rtype", "field", "expected"), [
    ("PATH", "name", True), ("SYSCALL", "comm", True), ("SYSCALL", "exe", True),
    ("CWD", "cwd", True), ("PROCTITLE", "proctitle", True), ("USER_CMD", "cmd", True),
    ("USER_LOGIN", "acct", True), ("SYSCALL", "key", True), ("TTY", "data", True),
    ("EXECVE", "a0", True), ("EXECVE", "a2[1]", True), ("EXECVE", "argc", False),
    ("EXECVE", "a2_len", False), ("SYSCALL", "a0", False), ("USER_TTY", "msg", True),
    ("USER_LOGIN", "msg", False), ("SYSCALL", "pid", False), ("PATH", "mode", False),
    ("UNKNOWN[1309]", "a1", True), (1309, "a1", True), (None, "exe", True), (None, "a1", False),
])
def test_is_encoded_field(rtype: str | int | None, field: str, expected: bool) -> None:
    assert T.is_encoded_field(rtype, field) is expected


def test_corpora_arches_syscalls_and_types_are_named(corpora: Path) -> None:
    """Real logs: every ``arch=`` is named and every (arch, syscall) pair resolves."""
    arch_re = re.compile(rb"(?:^| )arch=([0-9a-fA-F]+) syscall=(\d+)")
    pairs: set[tuple[str, int]] = set()
    for f in expand_sources(str(corpora / "auditd")):
        if f.name.endswith("MANIFEST.tsv"):
            continue
        with f.open() as stream:
            for _, line in iter_lines(stream):
                for m in arch_re.finditer(line):
                    pairs.add((m.group(1).decode(), int(m.group(2))))
    assert pairs, "no SYSCALL records found in the corpora"
    unnamed = sorted(p for p in pairs if T.syscall_name(p[0], p[1]) is None)
    print(f"corpora: {len(pairs)} distinct (arch, syscall) pairs, "
          f"{len({a for a, _ in pairs})} arches, unnamed: {unnamed}")
    assert all(T.arch_name(a) for a, _ in pairs)
    assert unnamed == []


# --- loading, files ----------------------------------------------------------------------------

def test_loading_is_cached() -> None:
    T.clear_caches()
    assert T._syscalls.cache_info().currsize == 0
    first = T._syscalls("x86_64")
    for _ in range(3):
        T.syscall_name("x86_64", 59)
        T.syscall_name("c000003e", 257)
    assert T._syscalls("x86_64") is first
    info = T._syscalls.cache_info()
    assert (info.misses, info.currsize) == (1, 1)
    assert info.hits >= 6
    rows = T._rows.cache_info()
    T.errno_name(-13)
    T.errno_name(-2)
    assert T._rows.cache_info().misses == rows.misses + 1  # errno.tsv read once


DATA_FILES = sorted(
    str(p.relative_to(Path(str(TABLES_DIR))))
    for p in Path(str(TABLES_DIR)).rglob("*") if p.suffix in (".tsv", ".json")
)


@pytest.mark.parametrize("relpath", DATA_FILES)
def test_data_files_note_their_source_and_are_rectangular(relpath: str) -> None:
    text = TABLES_DIR.joinpath(relpath).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# ")
    comments = [ln for ln in lines if ln.startswith("#")]
    assert any("source" in ln.lower() for ln in comments), relpath
    data = [ln for ln in lines if ln and not ln.startswith("#")]
    width = len(data[0].split("\t"))
    assert width >= 2
    for ln in data:
        assert len(ln.split("\t")) == width, (relpath, ln)
    checkout_parent = str(Path(__file__).resolve().parents[2]) + "/"
    assert checkout_parent not in text and "/home/" not in text and "/tmp/" not in text
    assert socket.gethostname() not in text or len(socket.gethostname()) < 4


def test_package_data_glob_ships_the_tables() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"**/*.tsv"' in pyproject
    assert {"arches.tsv", "errno.tsv", "record_types.tsv", "syscalls/x86_64.tsv",
            "encoded_fields.tsv"} <= set(DATA_FILES)


# --- the generator -----------------------------------------------------------------------------

def test_generator_parsers() -> None:
    dump = "Using x86_64 syscall table:\n0\tread\n1\twrite\n59\texecve\n"
    assert gen.parse_ausyscall_dump(dump) == {0: "read", 1: "write", 59: "execve"}
    header = '/* c */\n_S(0, "read")\n_S(59, "execve")\n'
    assert gen.parse_table_header(header) == {0: "read", 59: "execve"}
    rows = gen.overlay({1: "a", 2: "b"}, "v1", [(2, "c", "src"), (3, "d", "src"), (1, "a", "src")])
    assert rows == [(1, "a", ""), (2, "c", "src; v1 says b"), (3, "d", "src")]


@needs_ausyscall
@needs_libaudit
def test_generated_files_are_up_to_date() -> None:
    if gen.ausyscall_version() != _table_version():
        pytest.skip(f"installed audit-userspace {gen.ausyscall_version()} is not the "
                    f"{_table_version()} the tables were generated from")
    assert gen.main(["--check"]) == 0
