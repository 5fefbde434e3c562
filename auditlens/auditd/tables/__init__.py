"""auditd lookup tables: arch codes, syscall numbers, errno, record types, signals, families.

The tables are data files beside this module (TSV; ``#`` lines name the upstream source and
version), read once on first use and cached.  Three are generated from audit-userspace by
``_generate.py`` (syscalls, record types, errno); the rest are hand-kept.  Every function
answers ``None`` for what it does not know, never raises on odd input: callers keep the raw
value then.

=====================  =========================================================
file                   what it maps
=====================  =========================================================
arches.tsv             SYSCALL ``arch=`` hex (``c000003e``) → ``x86_64`` …
syscalls/<table>.tsv   syscall number → name, per arch table
errno.tsv              ``exit=-13`` → ``EACCES``
record_types.tsv       ``1327`` ↔ ``PROCTITLE`` (names ``UNKNOWN[1334]`` records)
record_classes.tsv     number ranges → user / daemon / kernel / control
signals.tsv            ``sig=9`` → ``SIGKILL``
socket_families.tsv    ``AF_*`` number → ``local``, ``inet``, ``inet6`` …
encoded_fields.tsv     which fields are hex-encoded when unquoted
syscall_access.tsv     syscall name → the access it asks for (``read``, ``write``, ``attr``…)
open_flags.tsv         the open(2) flag bits per arch (O_CREAT, O_TRUNC differ)
=====================  =========================================================
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import NamedTuple

__all__ = [
    "Arch",
    "OpenFlags",
    "SyscallAccess",
    "arch_from_name",
    "arch_info",
    "arch_name",
    "clear_caches",
    "errno_name",
    "is_encoded_field",
    "open_flags",
    "record_class",
    "record_type_name",
    "record_type_number",
    "signal_name",
    "socket_family_name",
    "syscall_access",
    "syscall_name",
    "syscall_number",
    "syscall_tables",
]


class Arch(NamedTuple):
    """One row of ``arches.tsv``."""

    code: str            # lowercase hex without 0x, as auditd writes it: "c000003e"
    name: str            # what auditlens reports: "x86_64", "arm", "ppc64le"
    syscall_table: str   # file stem in syscalls/, or "" when no table is kept
    audit_name: str      # what libaudit 3.0.9 calls it ("" when it does not know it)
    aliases: tuple[str, ...]
    constant: str        # the kernel's AUDIT_ARCH_* name


class SyscallAccess(NamedTuple):
    """One row of ``syscall_access.tsv``."""

    access: tuple[str, ...]  # what the call itself does: ("write", "truncate"); () for an open
    flags: str               # where its open flags are ("a1", "a2", "oflag"), or ""


class OpenFlags(NamedTuple):
    """The open(2) flag bits of one arch (``open_flags.tsv``)."""

    wronly: int
    rdwr: int
    creat: int
    trunc: int


# --- reading -----------------------------------------------------------------------------------

@cache
def _rows(relpath: str) -> tuple[tuple[str, ...], ...]:
    """A TSV's data rows (comment lines and the column header dropped), read once."""
    text = resources.files(__name__).joinpath(relpath).read_text(encoding="utf-8")
    rows: list[tuple[str, ...]] = []
    header_seen = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not header_seen:
            header_seen = True
            continue
        rows.append(tuple(line.split("\t")))
    return tuple(rows)


def _number_map(relpath: str) -> dict[int, str]:
    return {int(r[0]): r[1] for r in _rows(relpath)}


@cache
def _arches() -> tuple[dict[str, Arch], dict[str, Arch]]:
    """(by hex code, by lowercase name/alias/audit name)."""
    by_code: dict[str, Arch] = {}
    by_name: dict[str, Arch] = {}
    for code, name, table, audit_name, aliases, constant in _rows("arches.tsv"):
        alias_names = tuple(a for a in aliases.split(",") if a)
        arch = Arch(code, name, table, audit_name, alias_names, constant)
        by_code[code] = arch
        for key in (name, *arch.aliases):
            by_name.setdefault(key.lower(), arch)
    # libaudit's own spellings last, so they never shadow a kernel name ("armeb" stays 0x28).
    for arch in by_code.values():
        if arch.audit_name:
            by_name.setdefault(arch.audit_name.lower(), arch)
    return by_code, by_name


@cache
def _syscalls(table: str) -> tuple[dict[int, str], dict[str, int]]:
    by_number = _number_map(f"syscalls/{table}.tsv")
    by_name: dict[str, int] = {}
    for number, name in sorted(by_number.items()):
        by_name.setdefault(name, number)
    return by_number, by_name


@cache
def _errnos() -> dict[int, str]:
    return _number_map("errno.tsv")


@cache
def _record_types() -> tuple[dict[int, str], dict[str, int]]:
    by_number = _number_map("record_types.tsv")
    return by_number, {name: n for n, name in by_number.items()}


@cache
def _record_classes() -> tuple[tuple[int, int, str], ...]:
    return tuple((int(r[0]), int(r[1]), r[2]) for r in _rows("record_classes.tsv"))


@cache
def _signals() -> dict[int, str]:
    return _number_map("signals.tsv")


@cache
def _families() -> dict[int, str]:
    return _number_map("socket_families.tsv")


@cache
def _encoded() -> tuple[dict[str, frozenset[str]], dict[str, tuple[re.Pattern[str], ...]]]:
    """(record type → exact field names, record type → field-name patterns); "*" = any type."""
    exact: dict[str, set[str]] = {}
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for rtype, field, *_ in _rows("encoded_fields.tsv"):
        if field.startswith("re:"):
            patterns.setdefault(rtype, []).append(re.compile(field[3:]))
        else:
            exact.setdefault(rtype, set()).add(field)
    return ({k: frozenset(v) for k, v in exact.items()},
            {k: tuple(v) for k, v in patterns.items()})


@cache
def _syscall_access() -> dict[str, SyscallAccess]:
    return {name: SyscallAccess(tuple(a for a in access.split(",") if a), flags)
            for name, access, flags in _rows("syscall_access.tsv")}


@cache
def _open_flags() -> dict[str, OpenFlags]:
    return {arch: OpenFlags(*(int(v, 16) for v in bits)) for arch, *bits in _rows("open_flags.tsv")}


_LOADERS = (_rows, _arches, _syscalls, _errnos, _record_types, _record_classes, _signals,
            _families, _encoded, _syscall_access, _open_flags)


def clear_caches() -> None:
    """Forget every loaded table (tests; a long-lived process after the files changed)."""
    for f in _LOADERS:
        f.cache_clear()


# --- arch --------------------------------------------------------------------------------------

def _arch_code(text: str) -> str | None:
    s = text.strip().lower()
    if s.startswith("0x"):
        s = s[2:]
    if not s or len(s) > 8 or any(c not in "0123456789abcdef" for c in s):
        return None
    return s.rjust(8, "0")


def arch_info(arch: str | None) -> Arch | None:
    """The table row for an ``arch=`` hex value or an arch name/alias (``arm64``, ``i686``)."""
    if not arch:
        return None
    by_code, by_name = _arches()
    got = by_name.get(arch.strip().lower())
    if got is not None:
        return got
    code = _arch_code(arch)
    return by_code.get(code) if code else None


def arch_name(arch_field: str | None) -> str | None:
    """SYSCALL ``arch=c000003e`` → ``x86_64`` (an arch name is accepted and made canonical)."""
    info = arch_info(arch_field)
    return info.name if info else None


def arch_from_name(name: str | None) -> str | None:
    """``x86_64`` (or an alias, or a hex code) → ``c000003e``, the form auditd writes."""
    info = arch_info(name)
    return info.code if info else None


# --- syscalls ----------------------------------------------------------------------------------

def syscall_tables() -> tuple[str, ...]:
    """The syscall table names kept (``x86_64``, ``i386``, ``aarch64``, ``arm``, ``ppc``, …)."""
    by_code, _ = _arches()
    return tuple(sorted({a.syscall_table for a in by_code.values() if a.syscall_table}))


def _table_for(arch: str | None) -> str | None:
    info = arch_info(arch)
    return (info.syscall_table or None) if info else None


def syscall_name(arch: str | None, number: int) -> str | None:
    """Syscall number → name for an arch (hex ``arch=`` value or name); None when unknown.

    ``arch=None`` gives None rather than guessing x86_64: one number names different calls
    on different arches (59 is execve on x86_64, oldolduname on i386, pipe2 on aarch64).
    """
    table = _table_for(arch)
    if table is None or number < 0:
        return None
    return _syscalls(table)[0].get(number)


def syscall_number(arch: str | None, name: str) -> int | None:
    """Syscall name → number for an arch; None when the arch or the name is unknown."""
    table = _table_for(arch)
    if table is None:
        return None
    return _syscalls(table)[1].get(name)


def syscall_access(name: str | None) -> SyscallAccess | None:
    """What a syscall asks to do to its file (the kernel's watch classes); None when it is not a
    file access the table knows (``socket``, ``kill``…)."""
    return _syscall_access().get(name) if name else None


def open_flags(arch: str | None) -> OpenFlags | None:
    """The open(2) flag bits of an arch name (``x86_64``, ``mips``…); None for no arch (then only
    the access mode bits, the same everywhere, can be read)."""
    if not arch:
        return None
    table = _open_flags()
    return table.get(arch.strip().lower(), table["generic"])


# --- errno, signals, families ------------------------------------------------------------------

def errno_name(value: int) -> str | None:
    """``-13`` (or ``13``) → ``EACCES``; 0 and unknown numbers → None."""
    return _errnos().get(abs(value)) if value else None


def signal_name(number: int) -> str | None:
    """``9`` → ``SIGKILL`` (generic Linux numbering); unknown → None."""
    return _signals().get(number)


def socket_family_name(number: int) -> str | None:
    """``AF_*`` number → auparse's name: 1 ``local``, 2 ``inet``, 10 ``inet6``, 16 ``netlink``."""
    return _families().get(number)


# --- record types ------------------------------------------------------------------------------

_UNKNOWN_TYPE = re.compile(r"UNKNOWN\[(\d+)\]")


def record_type_name(number: int) -> str | None:
    """``1327`` → ``PROCTITLE``; unknown → None (auditd itself writes ``UNKNOWN[n]``)."""
    return _record_types()[0].get(number)


def record_type_number(name: str) -> int | None:
    """``PROCTITLE`` → 1327; ``UNKNOWN[1334]`` → 1334; a bare ``"1334"`` → 1334."""
    key = name.strip()
    got = _record_types()[1].get(key.upper())
    if got is not None:
        return got
    m = _UNKNOWN_TYPE.fullmatch(key.upper())
    if m:
        return int(m.group(1))
    return int(key) if key.isdigit() else None


def record_class(record_type: str | int) -> str:
    """Who writes a record type: ``user``, ``daemon``, ``kernel``, ``control`` or ``unknown``.

    ``user`` and ``daemon`` records are single-record events; ``kernel`` ones may belong to a
    multi-record syscall event (see record_classes.tsv for the ranges and their source).
    """
    number = record_type if isinstance(record_type, int) else record_type_number(record_type)
    if number is None:
        return "unknown"
    for first, last, cls in _record_classes():
        if first <= number <= last:
            return cls
    return "unknown"


# --- encoded fields ----------------------------------------------------------------------------

def is_encoded_field(record_type: str | int | None, field: str) -> bool:
    """Whether a field's unquoted value is hex of raw bytes (``name``, ``exe``, EXECVE ``a1``…).

    A quoted value is never hex; ``(null)`` and ``?`` are placeholders the caller keeps as is.
    """
    if isinstance(record_type, int):
        rtype = record_type_name(record_type) or ""
    else:
        rtype = (record_type or "").upper()
        if rtype.startswith("UNKNOWN["):
            n = record_type_number(rtype)
            rtype = (record_type_name(n) if n is not None else None) or rtype
    exact, patterns = _encoded()
    for key in (rtype, "*"):
        if field in exact.get(key, ()):
            return True
        if any(p.fullmatch(field) for p in patterns.get(key, ())):
            return True
    return False
