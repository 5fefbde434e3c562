"""One assembled event → the values of its AUDITD_EVENTS columns (interpretation + who/what).

:func:`full_event_row` calls :func:`event_row` once per event and adds node, serial, time and
provenance. Typed columns come from the event's SYSCALL record first, then from the first other
record that has the field (user-space events have a single record anyway).
"""

from __future__ import annotations

from typing import Any

from ..schema.auditd import AUDITD_EVENTS
from . import interpret as itp
from .ids import IdNames, parse_id
from .model import Event, Record
from .normalize import normalize

US_PER_SEC = 1_000_000
READER_COLUMNS = frozenset({"node", "serial", "time", "file", "line", "record_types", "record_count"})
ROW_COLUMNS: tuple[str, ...] = tuple(n for n in AUDITD_EVENTS.names if n not in READER_COLUMNS)
"""The columns event_row fills, in schema order (everything but node/serial/time/provenance)."""

_ID_COLUMNS = ("auid", "uid", "euid", "suid", "fsuid", "gid", "egid")
_USER_NAMES = {"auid_name": "auid", "uid_name": "uid", "euid_name": "euid"}
_INT_COLUMNS = ("pid", "ppid")
_DECODED = ("exe", "comm", "acct", "cmd")
_CLEANED = ("tty", "terminal", "addr", "hostname")
_PLAIN = ("op", "unit", "res", "subj")
_UNQUOTED = _CLEANED + _PLAIN
_AVC_TYPES = frozenset({"AVC", "USER_AVC"})
_AVC_RESULTS = {"denied": "failed", "granted": "success"}


_SKIPPED = frozenset({"PATH", "EXECVE", "PROCTITLE", "EOE", "SOCKADDR"})


def _fields(records: list[Record]) -> dict[str, Record]:
    """Field name → the record whose value counts; the SYSCALL record wins, then input order.

    Built with ``dict.fromkeys`` (C speed) rather than per-field tuples: the hot path."""
    ordered = [r for r in records if r.type == "SYSCALL"]
    ordered += [r for r in records if r.type != "SYSCALL" and r.type not in _SKIPPED]
    if not ordered:
        return {}
    out = dict.fromkeys(ordered[0].fields, ordered[0])
    for r in ordered[1:]:
        for k in r.fields:
            if k not in out:
                out[k] = r
    return out


def _enriched(r: Record, name: str) -> str | None:
    return r.enriched.get(name.upper()) if r.enriched else None


def _access(syscall: str | None, arch: str | None, sf: dict[str, str],
            openat2: Record | None) -> list[str] | None:
    """The ``access`` column: the syscall's class, or its open flags (SYSCALL ``a1``/``a2``, or
    the OPENAT2 record's ``oflag`` for openat2, whose ``a2`` is a pointer)."""
    where = itp.access_flags_field(syscall)
    if where == "oflag":
        raw = openat2.fields.get("oflag") if openat2 is not None else None
    else:
        raw = sf.get(where) if where is not None else None
    return itp.access_of(arch, syscall, itp.open_flags_value(where, raw))


def event_row(event: Event, ids: IdNames) -> dict[str, Any]:
    """Interpret and normalise one event into AUDITD_EVENTS column values."""
    recs = event.records
    row: dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
    if not recs:
        return row
    row["event_type"] = recs[0].type
    f = _fields(recs)
    # record type → its first record, in one C-level pass (reversed: the first one wins)
    firsts = dict(zip([r.type for r in reversed(recs)], reversed(recs)))
    node = event.node

    for col in _ID_COLUMNS:
        got = f.get(col)
        if got is not None:
            row[col] = parse_id(got.fields[col])
    for col, src in _USER_NAMES.items():
        got = f.get(src)
        if got is not None:
            row[col] = ids.user(got.fields[src], _enriched(got, src), node)
    got = f.get("gid")
    if got is not None:
        row["gid_name"] = ids.group(got.fields["gid"], _enriched(got, "gid"), node)
    for col in _INT_COLUMNS:
        got = f.get(col)
        if got is not None:
            row[col] = itp.to_int(got.fields[col])
    for col in _DECODED:
        got = f.get(col)
        if got is not None:
            row[col] = itp.decoded_clean(got.type, col, got.fields[col])
    if row["acct"] is not None:
        row["acct"] = row["acct"].rstrip(":") or None
    for col in _UNQUOTED:
        got = f.get(col)
        if got is not None:
            row[col] = itp.clean(itp.unquote(got.fields[col])[0])

    arch: str | None = None
    sc = firsts.get("SYSCALL")
    if sc is not None:
        sf = sc.fields
        hexarch = sf.get("arch")
        arch = (_enriched(sc, "arch") or (itp.arch_of(hexarch) if hexarch else None))
        row["arch"] = arch
        nr = itp.to_int(sf.get("syscall"))
        row["syscall_nr"] = nr
        if nr is not None:
            row["syscall"] = (itp.syscall_of(arch, nr) if arch else None) or _enriched(sc, "syscall")
        success = sf.get("success")
        row["success"] = None if success is None else success == "yes"
        ex = itp.to_int(sf.get("exit"))
        row["exit"] = ex
        row["errno"] = itp.errno_of(ex)
        row["access"] = _access(row["syscall"], arch, sf, firsts.get("OPENAT2"))

    cwd = firsts.get("CWD")
    if cwd is not None:
        row["cwd"] = itp.clean(itp.field(cwd, "cwd"))
    if "PATH" in firsts:
        row["paths"] = itp.path_items(recs)
    if "EXECVE" in firsts:
        row["argv"] = itp.execve_argv(recs)
    pt = firsts.get("PROCTITLE")
    if pt is not None:
        row["proctitle"] = itp.proctitle(pt.fields.get("proctitle"))

    for r in recs:
        if r.type in _AVC_TYPES or "apparmor" in r.fields:
            avc = itp.parse_avc(r)
            if avc is not None:
                row["avc_result"] = avc.result
                row["avc_permissions"] = avc.permissions
                row["scontext"] = avc.scontext
                row["tcontext"] = avc.tcontext
                row["tclass"] = avc.tclass
                row["permissive"] = avc.permissive
                row["apparmor_profile"] = avc.apparmor_profile
                break

    sa = firsts.get("SOCKADDR")
    if sa is not None:
        dec = itp.decode_sockaddr(sa.fields.get("saddr"), big_endian=arch in itp.BIG_ENDIAN_ARCHES)
        if dec is not None:
            row["saddr_family"] = dec.family
            row["saddr_address"] = dec.address
            row["saddr_port"] = dec.port

    row.update(normalize(event, ids, arch=arch))
    if row["result"] is None and row["avc_result"] in _AVC_RESULTS and row["event_type"] in _AVC_TYPES:
        # an access decision's outcome is the decision itself (no res=/success= to read)
        row["result"] = _AVC_RESULTS[row["avc_result"]]
    return row


def full_event_row(ev: Event, ids: IdNames, strict: bool) -> tuple[dict[str, Any], str | None]:
    """One event's row with its provenance columns, and the interpretation error when it failed
    (then the row has only the provenance; with ``strict`` the error is raised instead)."""
    error = None
    try:
        row = event_row(ev, ids)
    except Exception as exc:
        if strict:
            raise
        error = f"{type(exc).__name__}: {exc}"
        row = {}
    first = ev.records[0]
    row["node"] = ev.node
    row["serial"] = ev.serial
    row["time"] = ev.sec * US_PER_SEC + ev.msec * 1000
    row["file"] = first.file
    row["line"] = first.line
    row["record_types"] = [r.type for r in ev.records]
    row["record_count"] = len(ev.records)
    return row, error


def failure_warning(failures: int, first_error: str) -> str:
    return (f"{failures} auditd event(s) could not be interpreted and have only their "
            f"provenance columns (first error: {first_error})")
