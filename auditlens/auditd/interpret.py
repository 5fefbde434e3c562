"""What logged auditd values mean: the interpretation ``ausearch -i`` gives, as plain functions.

Values reach us exactly as logged (see ``Record.fields``): a double-quoted value is a literal
string; an *unquoted* value of a field that auditd may encode (``name``, ``exe``, ``proctitle``,
``cmd``, ``data``, argv …; the list is ``tables.is_encoded_field``) is hex of the raw bytes,
which auditd writes whenever the string has a space, a quote, a control or a non-ASCII byte.
``(null)`` and ``?`` are auditd's spellings of "no value".

Each function here is stateless and small so it can be tested alone; ``event_row`` combines them.
References: audit-userspace ``auparse/interpret.c`` (print_sockaddr, print_proctitle, execve
handling) and ``auparse/typetab.h``; the corpora under ``../shared/corpora/auditd``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .ids import parse_id
from .model import Record
from .tables import (
    arch_name,
    errno_name,
    is_encoded_field,
    open_flags,
    socket_family_name,
    syscall_access,
    syscall_name,
)

_HEX = frozenset("0123456789abcdefABCDEF")
NULL_SPELLINGS = frozenset({"(null)", "?", "(none)", ""})


# --- memoised lookups --------------------------------------------------------------------------
# The values that need interpreting repeat a lot (the same exe, arch, syscall and PATH records on
# thousands of events), so the hot path asks a dict first. Each memo is bounded: cleared when full.

_MEMO_LIMIT = 16_384
_PATH_LIMIT = 4_096  # a PATH item and its key hold ~15 strings: keep this memo small
_MISS = object()
_ENCODED: dict[tuple[str, str], bool] = {}
_ARCH: dict[str, str | None] = {}
_SYSCALL: dict[tuple[str, int], str | None] = {}
_PROCTITLE: dict[str, str | None] = {}
_PATH_ITEM: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
_DECODED: dict[tuple[str, str, str], str | None] = {}
_ACCESS: dict[tuple[str | None, str, int | None], tuple[str, ...] | None] = {}


def clear_memos() -> None:
    """Forget every memoised interpretation (tests compare cold and warm reads with it)."""
    from . import ids

    for memo in (_ENCODED, _ARCH, _SYSCALL, _PROCTITLE, _PATH_ITEM, _DECODED, _ARG_KEYS, _ACCESS,
                 ids._ID_MEMO):
        memo.clear()


def _remember(memo: dict[Any, Any], key: Any, value: Any, limit: int = _MEMO_LIMIT) -> Any:
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value


def encoded(record_type: str, name: str) -> bool:
    """``tables.is_encoded_field`` for a record type name, memoised."""
    got = _ENCODED.get((record_type, name))
    if got is None:
        got = _remember(_ENCODED, (record_type, name), is_encoded_field(record_type, name))
    return got


def arch_of(arch_field: str) -> str | None:
    """``tables.arch_name`` memoised (``c000003e`` → ``x86_64``)."""
    got = _ARCH.get(arch_field, _MISS)
    if got is _MISS:
        got = _remember(_ARCH, arch_field, arch_name(arch_field))
    return got  # type: ignore[return-value]


def syscall_of(arch: str, number: int) -> str | None:
    """``tables.syscall_name`` memoised."""
    key = (arch, number)
    got = _SYSCALL.get(key, _MISS)
    if got is _MISS:
        got = _remember(_SYSCALL, key, syscall_name(arch, number))
    return got  # type: ignore[return-value]


def decoded_clean(record_type: str, name: str, value: str) -> str | None:
    """``clean(decode_value(value, encoded(record_type, name)))``, memoised (exe, comm…)."""
    key = (record_type, name, value)
    got = _DECODED.get(key, _MISS)
    if got is _MISS:
        got = _remember(_DECODED, key, clean(decode_value(value, encoded(record_type, name))))
    return got  # type: ignore[return-value]


# --- strings ---------------------------------------------------------------------------------

def is_hex(value: str) -> bool:
    """True when ``value`` looks like auditd's hex encoding (non-empty, even length, hex digits)."""
    return len(value) > 0 and len(value) % 2 == 0 and all(c in _HEX for c in value)


def decode_hex_bytes(value: str) -> bytes:
    """Hex text → bytes (caller checked ``is_hex``)."""
    return bytes.fromhex(value)


def to_text(data: bytes) -> str:
    """Bytes from the log → str; undecodable bytes become ``\\xNN`` so nothing is lost or invalid."""
    return data.decode("utf-8", errors="backslashreplace")


def unquote(value: str) -> tuple[str, bool]:
    """Strip one pair of surrounding double quotes; say whether there were any."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1], True
    return value, False


def decode_value(value: str | None, encodable: bool) -> str | None:
    """The string a logged value stands for: quotes removed, hex decoded when the field may be.

    Keeps auditd's "no value" spellings as they are (``(null)``, ``?``); see :func:`clean`.
    """
    if value is None:
        return None
    text, quoted = unquote(value)
    if quoted or not encodable or not is_hex(text):
        return text
    return to_text(decode_hex_bytes(text))


def clean(value: str | None) -> str | None:
    """auditd's "no value" spellings (``(null)``, ``?``, ``(none)``, empty) → None."""
    if value is None or value in NULL_SPELLINGS:
        return None
    return value


def field(record: Record, name: str) -> str | None:
    """The decoded value of one field of a record (None when absent)."""
    raw = record.fields.get(name)
    if raw is None:
        return None
    return decode_value(raw, encoded(record.type, name))


def to_int(value: str | None, base: int = 10) -> int | None:
    """Parse an integer field; None when absent or malformed (never raises)."""
    if value is None:
        return None
    try:
        return int(value.strip('"'), base)
    except ValueError:
        return None


# --- PROCTITLE and EXECVE ----------------------------------------------------------------------

def proctitle(value: str | None) -> str | None:
    """PROCTITLE ``proctitle=`` → the command line, NUL separators shown as spaces."""
    if value is None:
        return None
    got = _PROCTITLE.get(value, _MISS)
    if got is not _MISS:
        return got  # type: ignore[return-value]
    text, quoted = unquote(value)
    if quoted or not is_hex(text):
        return _remember(_PROCTITLE, value, clean(text))
    raw = decode_hex_bytes(text).rstrip(b"\x00")
    return _remember(_PROCTITLE, value, to_text(raw.replace(b"\x00", b" ")))


_ARG_RE = re.compile(r"a(\d+)(?:\[(\d+)\]|(_len))?\Z")


_ARG_KEYS: dict[str, tuple[int, int | None]] = {}
"""EXECVE field name → (argument index, part index) memoised; index -1: not an argument."""


def _arg_key(key: str) -> tuple[int, int | None]:
    m = _ARG_RE.match(key)
    if m is None or m.group(3):
        return -1, None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) is not None else None)


def _arg_bytes(value: str) -> bytes:
    text, quoted = unquote(value)
    if quoted or not is_hex(text):
        return text.encode("utf-8", errors="surrogateescape")
    return decode_hex_bytes(text)


MAX_ARGV = 1 << 20
"""Entries of an argv at most: Linux passes at most a few hundred thousand arguments (the
argument strings share ARG_MAX), and a hostile ``argc=2147483648`` or ``a99999999999=x`` must not
make a list of billions (the EXECVE record itself stays in the records table)."""


def execve_argv(records: Iterable[Record]) -> list[str | None] | None:
    """The argv of an execve from its EXECVE record(s).

    Handles ``argc``, ``aN="…"`` or hex, long arguments split as ``aN_len=`` + ``aN[0]=…
    aN[1]=…`` and arguments spread over several EXECVE records. A missing argument (lost
    record) is None, so the list still has ``argc`` entries (at most ``MAX_ARGV``).
    """
    whole: dict[int, bytes] = {}
    parts: dict[int, dict[int, bytes]] = {}
    argc: int | None = None
    seen = False
    for r in records:
        if r.type != "EXECVE":
            continue
        seen = True
        for key, value in r.fields.items():
            if key == "argc":
                argc = to_int(value)
                continue
            arg = _ARG_KEYS.get(key)
            if arg is None:
                arg = _arg_key(key)
                if len(_ARG_KEYS) < _MEMO_LIMIT:
                    _ARG_KEYS[key] = arg
            idx, part = arg
            if idx < 0:
                continue
            if part is not None:
                parts.setdefault(idx, {})[part] = _arg_bytes(value)
            else:
                whole[idx] = _arg_bytes(value)
    if not seen:
        return None
    highest = max([*whole, *parts], default=-1) + 1
    n = min(argc if argc is not None and argc >= highest else highest, MAX_ARGV)
    argv: list[str | None] = []
    for i in range(n):
        if i in whole:
            argv.append(to_text(whole[i]))
        elif i in parts:
            chunks = parts[i]
            argv.append(to_text(b"".join(chunks[k] for k in sorted(chunks))))
        else:
            argv.append(None)
    return argv


# --- SYSCALL -----------------------------------------------------------------------------------

def errno_of(exit_value: int | None) -> str | None:
    """A negative syscall exit → its errno name (``-13`` → ``EACCES``); None otherwise."""
    if exit_value is None or exit_value >= 0 or exit_value < -4095:
        return None
    return errno_name(-exit_value)


# --- access: what a syscall asks to do to its file --------------------------------------------

ACCESS_ORDER = ("read", "write", "create", "truncate", "attr", "exec")
"""The values of the ``access`` column, in the order a row lists them.

``read``/``write``/``attr``/``exec`` are the permissions of an audit watch (``-p rwax``) the
call uses, as the kernel classes it (``tables/syscall_access.tsv``); an open's come from its
flags: the access mode (O_RDONLY read, O_WRONLY write, O_RDWR both), ``create`` for O_CREAT and
``truncate`` (and write) for O_TRUNC."""

_O_ACCMODE = 0o3


def access_flags_field(syscall: str | None) -> str | None:
    """Where a syscall's open flags are logged: ``a1``/``a2`` of SYSCALL (hex) or ``oflag`` of the
    OPENAT2 record (octal); None when its access does not depend on flags."""
    known = syscall_access(syscall)
    return known.flags or None if known is not None else None


def open_flags_value(field_name: str | None, raw: str | None) -> int | None:
    """The flags as logged → an int: SYSCALL arguments are hex, OPENAT2 ``oflag`` octal. Only
    the low 32 bits count (the kernel takes open's flags as an int)."""
    if field_name is None or raw is None:
        return None
    value = to_int(raw, 8 if field_name == "oflag" else 16)
    return None if value is None or value < 0 else value & 0xFFFFFFFF


def access_of(arch: str | None, syscall: str | None, flags: int | None) -> list[str] | None:
    """What a syscall asks to do to its file, as ``ACCESS_ORDER`` values; None when unknown (not
    a file syscall, or an open whose flags are not in the log).

    For an open, the access mode bits (the same on every arch) give read/write; O_CREAT and
    O_TRUNC are read with the arch's values and only when the arch is known.
    """
    if syscall is None:
        return None
    key = (arch, syscall, flags)
    got = _ACCESS.get(key, _MISS)
    if got is _MISS:
        got = _remember(_ACCESS, key, _access(arch, syscall, flags))
    return None if got is None else list(cast("tuple[str, ...]", got))


def _access(arch: str | None, syscall: str, flags: int | None) -> tuple[str, ...] | None:
    known = syscall_access(syscall)
    if known is None:
        return None
    if not known.flags:
        return known.access
    if flags is None:
        return None
    mode = flags & _O_ACCMODE
    kinds = set(known.access)
    kinds.add("read" if mode == 0 else "write")
    if mode in (2, 3):  # O_RDWR; 3 is read and write to the kernel too (ACC_MODE)
        kinds.add("read")
    bits = open_flags(arch)
    if bits is not None:
        if flags & bits.creat:
            kinds.add("create")
        if flags & bits.trunc:
            kinds.update(("write", "truncate"))
    return tuple(k for k in ACCESS_ORDER if k in kinds)


# --- SOCKADDR ----------------------------------------------------------------------------------

BIG_ENDIAN_ARCHES = frozenset({"ppc", "ppc64", "s390", "s390x", "mips", "mips64", "sparc", "sparc64"})
_AF_UNIX, _AF_INET, _AF_INET6, _AF_NETLINK = 1, 2, 10, 16
_FAMILY_TEXT = {_AF_UNIX: "local", _AF_INET: "inet", _AF_INET6: "inet6", _AF_NETLINK: "netlink"}
_FAMILY_COLUMN = {_AF_UNIX: "unix", _AF_INET: "inet", _AF_INET6: "inet6", _AF_NETLINK: "netlink"}


@dataclass(frozen=True, slots=True)
class Sockaddr:
    """A decoded ``saddr``: ``text`` is auparse's rendering (``{ fam=inet laddr=… lport=… }``)."""

    family: str | None
    address: str | None
    port: int | None
    text: str


def _family_name(fam: int) -> str | None:
    return _FAMILY_TEXT.get(fam) or socket_family_name(fam)


def _inet6_text(raw: bytes, scope: int) -> str:
    addr = ipaddress.IPv6Address(raw)
    mapped = addr.ipv4_mapped
    text = f"::ffff:{mapped}" if mapped is not None else addr.compressed
    if scope and addr.is_link_local:
        text += f"%{scope}"
    return text


def decode_sockaddr(value: str | None, *, big_endian: bool = False) -> Sockaddr | None:
    """SOCKADDR ``saddr=`` hex → family, address, port and auparse's text.

    The family is in the logging machine's byte order: pass ``big_endian`` for ppc64/s390x
    logs (from the event's arch). Port and IP are network order. Unix paths stop at the first
    NUL; an abstract socket (leading NUL) gets ``@`` in ``address``.
    """
    if value is None:
        return None
    text, quoted = unquote(value)
    if quoted or not is_hex(text) or len(text) < 4:
        return Sockaddr(None, None, None, f"malformed-host({text})")
    raw = decode_hex_bytes(text)
    fam = int.from_bytes(raw[0:2], "big" if big_endian else "little")
    name = _family_name(fam)
    if name is None:
        return Sockaddr(None, None, None, f"unknown-family({fam})")
    column = _FAMILY_COLUMN.get(fam, name)
    if fam == _AF_UNIX:
        path = raw[2:]
        if path[:1] == b"\x00":
            body = path[1:].split(b"\x00", 1)[0][:108]
            return Sockaddr(column, "@" + to_text(body), None, f"{{ fam={name} path={to_text(body)} }}")
        body = path.split(b"\x00", 1)[0]
        return Sockaddr(column, to_text(body), None, f"{{ fam={name} path={to_text(body)} }}")
    if fam == _AF_INET:
        if len(raw) < 16:
            return Sockaddr(column, None, None, f"{{ fam={name} sockaddr len too short }}")
        port = int.from_bytes(raw[2:4], "big")
        addr = str(ipaddress.IPv4Address(raw[4:8]))
        return Sockaddr(column, addr, port, f"{{ fam={name} laddr={addr} lport={port} }}")
    if fam == _AF_INET6:
        if len(raw) < 28:
            return Sockaddr(column, None, None, f"{{ fam={name} sockaddr6 len too short }}")
        port = int.from_bytes(raw[2:4], "big")
        scope = int.from_bytes(raw[24:28], "big" if big_endian else "little")
        addr = _inet6_text(raw[8:24], scope)
        return Sockaddr(column, addr, port, f"{{ fam={name} laddr={addr} lport={port} }}")
    if fam == _AF_NETLINK:
        pid = int.from_bytes(raw[4:8], "big" if big_endian else "little") if len(raw) >= 8 else 0
        return Sockaddr(column, str(pid), None, f"{{ fam={name} nlnk-fam={fam} nlnk-pid={pid} }}")
    return Sockaddr(column, None, None, f"{{ fam={name} (unsupported) }}")


# --- SELinux and AppArmor AVC ------------------------------------------------------------------

_AVC_RE = re.compile(r"avc:\s*(\w+)\s*\{\s*([^}]*?)\s*\}")


@dataclass(frozen=True, slots=True)
class Avc:
    """One access decision of SELinux (AVC/USER_AVC) or AppArmor."""

    result: str | None
    permissions: list[str] | None
    scontext: str | None = None
    tcontext: str | None = None
    tclass: str | None = None
    permissive: bool | None = None
    apparmor_profile: str | None = None


def _record_text(record: Record) -> str:
    """Every key and value of a record as one string, for free text such as ``avc: denied {…}``."""
    return " ".join(k if v == "" else f"{k}={v}" for k, v in record.fields.items())


def parse_avc(record: Record) -> Avc | None:
    """An AVC / USER_AVC record → the decision, permissions, contexts, class and permissive.

    The ``avc:  denied  { read write } for`` prefix is free text, not key=value: it is taken
    from ``seresult``/``seperms`` when the lexer made those (as auparse does) or found in the
    record's text. AppArmor uses an AVC record too: ``apparmor="DENIED" operation=… profile=…``.
    """
    f = record.fields
    apparmor = f.get("apparmor")
    if apparmor is not None:
        mask = f.get("denied_mask") or f.get("requested_mask")
        perms = [unquote(mask)[0]] if mask else None
        return Avc(
            result=unquote(apparmor)[0].lower(),
            permissions=perms,
            tclass=clean(unquote(f["class"])[0]) if "class" in f else None,
            apparmor_profile=field(record, "profile"),
        )
    result: str | None = None
    perms_list: list[str] | None = None
    if "seresult" in f:
        result = unquote(f["seresult"])[0]
        seperms = f.get("seperms")
        perms_list = unquote(seperms)[0].replace(",", " ").split() if seperms else None
    else:
        m = _AVC_RE.search(_record_text(record))
        if m is not None:
            result = m.group(1)
            perms_list = m.group(2).replace(",", " ").split()
    if result is None and "scontext" not in f:
        return None
    permissive = f.get("permissive")
    return Avc(
        result=result,
        permissions=perms_list,
        scontext=clean(unquote(f.get("scontext", ""))[0]),
        tcontext=clean(unquote(f.get("tcontext", ""))[0]),
        tclass=clean(unquote(f.get("tclass", ""))[0]),
        permissive=None if permissive is None else permissive.strip("'\"") == "1",
    )


# --- PATH --------------------------------------------------------------------------------------

def path_item(record: Record) -> dict[str, Any]:
    """One PATH record → a PATH_ITEM struct (name decoded, ids as ints, mode kept in octal).

    Memoised on the record's fields (PATH records repeat a lot): the dict returned may be shared
    between events, so callers must not change it."""
    key = (record.type, tuple(record.fields.items()))
    got = _PATH_ITEM.get(key)
    if got is None:
        got = _remember(_PATH_ITEM, key, _path_item(record), _PATH_LIMIT)
    return got


def _path_item(record: Record) -> dict[str, Any]:
    f = record.fields
    return {
        "item": to_int(f.get("item")),
        "name": clean(field(record, "name")),
        "nametype": f.get("nametype"),
        "inode": to_int(f.get("inode")),
        "dev": f.get("dev"),
        "mode": f.get("mode"),
        "ouid": parse_id(f.get("ouid")),
        "ogid": parse_id(f.get("ogid")),
        "obj": clean(unquote(f["obj"])[0]) if "obj" in f else None,
    }


def path_items(records: Sequence[Record]) -> list[dict[str, Any]] | None:
    """All PATH records of an event in item order (None when there are none)."""
    items = [path_item(r) for r in records if r.type == "PATH"]
    if not items:
        return None
    items.sort(key=lambda p: (p["item"] is None, p["item"] if p["item"] is not None else 0))
    return items
