"""Dev-only: rebuild the generated lookup TSVs from this machine's audit-userspace install.

Not imported by the library.  Run from the repository root on a machine with Debian's
``auditd`` (for ``ausyscall``) and ``libaudit1`` (for ``libaudit.so.1``)::

    python -m auditlens.auditd.tables._generate           # rewrite the files
    python -m auditlens.auditd.tables._generate --check   # exit 1 if a file would change

What it writes (everything else in this folder is hand-kept data with its source noted):

- ``syscalls/<table>.tsv`` from ``ausyscall <arch> --dump``;
- ``record_types.tsv`` from libaudit's ``audit_msg_type_to_name`` over 1000..2999;
- ``errno.tsv`` from libaudit's ``audit_errno_to_name`` over 1..4095.

Each is then overlaid with ``newer_upstream.tsv``: rows taken from newer upstream sources
than the installed audit-userspace (newer audit-userspace tables, the kernel's syscall and
audit headers), each row naming its source.  Where the two disagree the newer row wins and
the generated row carries a note saying what the installed version said.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: generated syscall table → the name ``ausyscall`` takes for it.
SYSCALL_TABLES: dict[str, str] = {
    "x86_64": "x86_64",
    "i386": "i386",
    "aarch64": "aarch64",
    "arm": "arm",
    "ppc": "ppc64",  # ppc, ppc64 and ppc64le share one table in audit-userspace
    "s390x": "s390x",
    "s390": "s390",
}

_DUMP_LINE = re.compile(r"^(\d+)\t(\S+)$")
_HEADER_ENTRY = re.compile(r'_S\(\s*(\d+)\s*,\s*"([^"]+)"\s*\)')


def parse_ausyscall_dump(text: str) -> dict[int, str]:
    """``ausyscall <arch> --dump`` output → {number: name} (its banner line is skipped)."""
    out: dict[int, str] = {}
    for line in text.splitlines():
        m = _DUMP_LINE.match(line.strip("\r"))
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def parse_table_header(text: str) -> dict[int, str]:
    """An audit-userspace ``lib/<arch>_table.h`` (``_S(59, "execve")`` lines) → {number: name}."""
    return {int(n): name for n, name in _HEADER_ENTRY.findall(text)}


def ausyscall_version() -> str:
    """The installed audit-userspace version (from dpkg; ``ausyscall`` has no --version)."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "auditd"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.split(":", 1)[-1].split("-", 1)[0]  # 1:3.0.9-1 → 3.0.9


def dump_syscalls(ausyscall_arch: str) -> dict[int, str]:
    out = subprocess.run(["ausyscall", ausyscall_arch, "--dump"],
                         capture_output=True, text=True, check=True).stdout
    return parse_ausyscall_dump(out)


def _libaudit() -> ctypes.CDLL:
    path = ctypes.util.find_library("audit") or "libaudit.so.1"
    lib = ctypes.CDLL(path)
    lib.audit_msg_type_to_name.restype = ctypes.c_char_p
    lib.audit_errno_to_name.restype = ctypes.c_char_p
    return lib


def dump_record_types() -> dict[int, str]:
    lib = _libaudit()
    out: dict[int, str] = {}
    for n in range(1000, 3000):
        name = lib.audit_msg_type_to_name(n)
        if name:
            out[n] = name.decode()
    return out


def dump_errnos() -> dict[int, str]:
    lib = _libaudit()
    out: dict[int, str] = {}
    for n in range(1, 4096):
        name = lib.audit_errno_to_name(n)
        if name:
            out[n] = name.decode()
    return out


def newer_rows(table: str) -> list[tuple[int, str, str]]:
    """(key, name, source) rows of ``newer_upstream.tsv`` for one generated table."""
    rows: list[tuple[int, str, str]] = []
    for line in (HERE / "newer_upstream.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("table\t"):
            continue
        t, key, name, source = line.split("\t")
        if t == table:
            rows.append((int(key), name, source))
    return rows


def overlay(base: dict[int, str], base_label: str,
            newer: Iterable[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Merge: newer rows win; the note says where a row came from when it is not the base."""
    merged: dict[int, tuple[str, str]] = {k: (v, "") for k, v in base.items()}
    for key, name, source in newer:
        old = base.get(key)
        if old == name:
            continue
        note = f"{source}; {base_label} says {old}" if old else source
        merged[key] = (name, note)
    return [(k, v, note) for k, (v, note) in sorted(merged.items())]


def render(header: list[str], columns: tuple[str, ...],
           rows: Iterable[tuple[int, str, str]]) -> str:
    lines = [f"# {h}" if h else "#" for h in header]
    lines.append("\t".join(columns))
    lines += [f"{k}\t{v}\t{note}" for k, v, note in rows]
    return "\n".join(lines) + "\n"


def build(version: str) -> dict[Path, str]:
    """Every generated file's path → its new text."""
    files: dict[Path, str] = {}
    base_label = f"audit-userspace {version}"
    gen = ("generated by auditlens/auditd/tables/_generate.py;"
           " edit newer_upstream.tsv, not this file")
    for table, arch in SYSCALL_TABLES.items():
        rows = overlay(dump_syscalls(arch), base_label, newer_rows(f"syscalls/{table}"))
        header = [
            f"syscall numbers → names for audit arch table '{table}'",
            f"source: linux-audit/audit-userspace lib/{table}_table.h, version {version},"
            f" as dumped by `ausyscall {arch} --dump` (Debian auditd {version})",
            "rows with a note come from a newer upstream source (see newer_upstream.tsv)",
            gen,
        ]
        files[HERE / "syscalls" / f"{table}.tsv"] = render(header, ("number", "name", "note"), rows)
    rows = overlay(dump_record_types(), base_label, newer_rows("record_types"))
    header = [
        "audit record type numbers → names",
        "source: linux-audit/audit-userspace lib/msg_typetab.h + lib/libaudit.h,"
        f" version {version}, as dumped by libaudit's audit_msg_type_to_name over 1000..2999",
        "rows with a note: kernel types that libaudit does not name (see newer_upstream.tsv)",
        gen,
    ]
    files[HERE / "record_types.tsv"] = render(header, ("number", "name", "note"), rows)
    rows = overlay(dump_errnos(), base_label, newer_rows("errno"))
    header = [
        "errno numbers (as in a negative syscall exit=) → names",
        f"source: linux-audit/audit-userspace lib/errtab.h, version {version}, as dumped by"
        " libaudit's audit_errno_to_name over 1..4095 (values: Linux asm-generic/errno-base.h"
        " + errno.h, the same on x86, arm, aarch64, s390, and ppc except EDEADLOCK)",
        "aliases EWOULDBLOCK (=EAGAIN) and EDEADLOCK (=EDEADLK) are not listed:"
        " the first name wins",
        "rows with a note: kernel-internal values from linux include/linux/errno.h",
        gen,
    ]
    files[HERE / "errno.tsv"] = render(header, ("number", "name", "note"), rows)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report files that would change")
    args = ap.parse_args(argv)
    changed = []
    for path, text in build(ausyscall_version()).items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            changed.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for p in changed:
        print(("would change " if args.check else "wrote ") + str(p.relative_to(HERE)))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
