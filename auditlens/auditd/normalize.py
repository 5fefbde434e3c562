"""Who did what to what: an event → subject / action / object, in audit-userspace's vocabulary.

The columns and their values are those of ``ausearch --format csv`` (``auparse_normalize``):
event kind, session, subject primary/secondary/kind, action, result, object primary/secondary/
kind, how, key. The tables (record type → action, syscall → class, event kinds, which field is
the object of a one-record event…) are data in ``normalize_rules.json``, transcribed from
audit-userspace with the source noted there; this module is the control flow that applies them.

auparse finds fields with a cursor that walks forward through the event ("the next ``auid``
after the ``uid``", "the first PATH from record 2 on"); :class:`_Cursor` reproduces that walk,
because where the cursor is decides which field becomes the subject or the object.

Deliberate differences from ausearch are listed in docs/auditd-vs-ausearch.md.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from . import interpret as itp
from .ids import IdNames, is_unset, parse_id
from .model import Event, Record
from .tables import record_type_name

NORMALIZED_COLUMNS = (
    "event_kind", "session", "subject_primary", "subject_secondary", "subject_kind", "action",
    "result", "object_primary", "object_secondary", "object_kind", "how", "key",
)

# auparse field types that hold a uid (auparse/typetab.h); their values are shown as user names.
UID_FIELDS = frozenset({
    "auid", "uid", "euid", "suid", "fsuid", "ouid", "oauid", "iuid", "id", "inode_uid", "sauid",
    "obj_uid", "old-auid", "new-auid", "old_auid",
})
GID_FIELDS = frozenset({"gid", "egid", "sgid", "fsgid", "ogid", "igid", "inode_gid", "new_gid", "obj_gid", "new-gid"})
_SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
    8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
    14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
    20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
    26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}
"""Linux generic signal numbers (include/uapi/asm-generic/signal.h), for ANOM_ABEND ``sig=``."""


# --- rules ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rules:
    """normalize_rules.json, loaded once, with the lookups precomputed."""

    record_actions: dict[str, str]
    syscall_classes: dict[str, str]
    class_actions: dict[str, str]
    class_kinds: dict[str, str]
    file_offsets: dict[str, int]
    fd_variants: dict[str, int]
    companions: dict[str, dict[str, Any]]
    companion_actions: dict[str, str]
    lead_types: frozenset[str]
    interpreter_prefixes: tuple[str, ...]
    simple_objects: dict[str, dict[str, Any]]
    simple_secondary: dict[str, str]
    config_change: dict[str, Any]
    event_kinds: tuple[tuple[int, int, str], ...]
    single_ranges: tuple[tuple[int, int], ...]
    single_types: frozenset[str]
    acct: dict[str, Any]


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The normalisation tables (read from the package data once)."""
    raw = json.loads(resources.files(__package__).joinpath("normalize_rules.json").read_text("utf-8"))
    single = raw["single_record_event_types"]
    return Rules(
        record_actions=raw["record_actions"],
        syscall_classes=raw["syscall_classes"],
        class_actions=raw["syscall_class_actions"],
        class_kinds=raw["syscall_class_object_kind"],
        file_offsets=raw["syscall_file_record_offset"],
        fd_variants=raw["syscall_fd_variants"],
        companions={k: v for k, v in raw["companion_records"].items() if not k.startswith("_")},
        companion_actions=raw["companion_actions"],
        lead_types=frozenset(raw["compound_lead_types"]),
        interpreter_prefixes=tuple(raw["interpreter_exe_prefixes"]),
        simple_objects={k: v for k, v in raw["simple_objects"].items() if not k.startswith("_")},
        simple_secondary=raw["simple_object_secondary"],
        config_change=raw["config_change_with_syscall"],
        event_kinds=tuple((lo, hi, kind) for lo, hi, kind, *_ in raw["event_kinds"]),
        single_ranges=tuple((lo, hi) for lo, hi in single["ranges"]),
        single_types=frozenset(single["types"]),
        acct=raw["account_kind"],
    )


_UNKNOWN_TYPE = re.compile(r"UNKNOWN\[(\d+)\]\Z")
_MEMO_LIMIT = 16_384


@lru_cache(maxsize=1)
def _type_numbers() -> dict[str, int]:
    out: dict[str, int] = {}
    for n in range(1000, 3000):
        name = record_type_name(n)
        if name and not name.startswith("UNKNOWN"):
            out.setdefault(name, n)
    return out


def type_number(rtype: str) -> int | None:
    """Record type name → number (``UNKNOWN[1334]`` → 1334); None when unknown."""
    n = _type_numbers().get(rtype)
    if n is not None:
        return n
    m = _UNKNOWN_TYPE.match(rtype)
    return int(m.group(1)) if m else None


@lru_cache(maxsize=512)
def event_kind(rtype: str) -> str:
    """Normaliser event kind of an event named by record type ``rtype``."""
    n = type_number(rtype)
    if n is not None:
        for lo, hi, kind in rules().event_kinds:
            if lo <= n <= hi:
                return kind
    return "unknown"


@lru_cache(maxsize=512)
def is_single_record_type(rtype: str) -> bool:
    """ausearch closes an event at once when it starts with this type (ausearch-lol.c)."""
    r = rules()
    if rtype in r.single_types:
        return True
    n = type_number(rtype)
    if n is None:
        return False
    if 1300 <= n < 2000 and not (1406 <= n <= 1419):
        return False
    return any(lo <= n <= hi for lo, hi in r.single_ranges)


# --- the cursor -------------------------------------------------------------------------------

class _Cursor:
    """auparse's position in an event: a record and a field; a failed search leaves it nowhere."""

    __slots__ = ("f", "names", "r", "recs")

    def __init__(self, recs: list[Record]) -> None:
        self.recs = recs
        # field 0 is the record type, as in auparse
        self.names = [["type", *r.fields.keys()] for r in recs]
        self.r: int | None = 0 if recs else None
        self.f = 0

    def first_record(self) -> None:
        self.r, self.f = (0 if self.recs else None), 0

    def goto_record(self, n: int) -> bool:
        if 0 <= n < len(self.recs):
            self.r, self.f = n, 0
            return True
        return False

    def next_record(self) -> bool:
        if self.r is None:
            return False
        if self.r + 1 < len(self.recs):
            self.r, self.f = self.r + 1, 0
            return True
        self.r = None
        return False

    def first_field(self) -> None:
        if self.r is not None:
            self.f = 0

    def goto_field(self, n: int) -> bool:
        if self.r is not None and 0 <= n < len(self.names[self.r]):
            self.f = n
            return True
        return False

    def type(self) -> str | None:
        return None if self.r is None else self.recs[self.r].type

    def find(self, name: str) -> tuple[int, int] | None:
        """The next field called ``name`` from here on (this field included), across records."""
        r, f = self.r, self.f
        if r is None:
            return None
        all_names = self.names
        n = len(all_names)
        while r < n:
            names = all_names[r]
            if name in names:  # a C-level scan; list.index finds the position from f on
                try:
                    i = names.index(name, f)
                except ValueError:
                    pass
                else:
                    self.r, self.f = r, i
                    return (r, i)
            r, f = r + 1, 0
        self.r = None
        return None

    def raw(self, pos: tuple[int, int]) -> str:
        r, f = pos
        if f == 0:
            return self.recs[r].type
        return self.recs[r].fields[self.names[r][f]]

    def name(self, pos: tuple[int, int]) -> str:
        return self.names[pos[0]][pos[1]]


# --- value rendering (auparse_interpret_field) -------------------------------------------------

@dataclass(slots=True)
class _Ctx:
    cur: _Cursor
    ids: IdNames
    node: str | None
    arch: str | None

    def text(self, pos: tuple[int, int]) -> str:
        """A field's value as ausearch shows it (ENRICHED translation first, as auparse does).

        Memoised per read (``IdNames.memo``): the rendering depends only on the record type,
        field name, value, ENRICHED translation, node and arch, except a relative PATH name,
        which also depends on the event's CWD and is never memoised."""
        r, f = pos
        rec = self.cur.recs[r]
        if f == 0:
            return rec.type
        name = self.cur.names[r][f]
        raw = rec.fields[name]
        enriched = rec.enriched.get(name.upper()) if rec.enriched else None
        if name == "name" and enriched is None and rec.type == "PATH":
            return self.absolute(itp.decode_value(raw, True) or "")
        key = (rec.type, name, raw, enriched, self.node, self.arch)
        memo = self.ids.memo
        got = memo.get(key)
        if got is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            got = memo[key] = self._text(rec, name, raw, enriched)
        return got

    def _text(self, rec: Record, name: str, raw: str, enriched: str | None) -> str:
        return render_value(self.ids, self.node, self.arch, rec.type, name, raw, enriched)

    def absolute(self, name: str) -> str:
        cwd = next((r for r in self.cur.recs if r.type == "CWD"), None)
        return absolute(name, itp.field(cwd, "cwd") if cwd is not None else None)

    def int_of(self, pos: tuple[int, int]) -> int | None:
        return itp.to_int(self.cur.raw(pos))


def render_value(ids: IdNames, node: str | None, arch: str | None, rtype: str, name: str,
                 raw: str, enriched: str | None) -> str:
    """A field's value as ausearch shows it (auparse_interpret_field); a PATH name is joined to
    the event's CWD by ``_Ctx.text`` first. Shared with the C fast path (``native.Render``)."""
    if name in UID_FIELDS:
        if is_unset(raw):
            return "unset"
        got = ids.user(raw, enriched, node)
        return got if got is not None else itp.unquote(raw)[0]
    if name in GID_FIELDS:
        if is_unset(raw):
            return "unset"
        got = ids.group(raw, enriched, node)
        return got if got is not None else itp.unquote(raw)[0]
    if enriched is not None:
        return itp.unquote(enriched)[0]
    if name == "ses":
        return "unset" if is_unset(raw) else raw
    if name == "syscall":
        nr = itp.to_int(raw)
        got = itp.syscall_of(arch, nr) if (arch and nr is not None) else None
        return got or raw
    if name == "saddr":
        sa = itp.decode_sockaddr(raw, big_endian=arch in itp.BIG_ENDIAN_ARCHES)
        return sa.text if sa else raw
    if name == "sig":
        n = itp.to_int(raw)
        return _SIGNALS.get(n, raw) if n is not None else raw
    if name == "key":
        text, quoted = itp.unquote(raw)
        if not quoted and not itp.is_hex(text):
            return ""  # not a rule key (e.g. the IPC key=0 of an AVC), as auparse renders it
        v = itp.decode_value(raw, True) or ""
        return v.replace("\x01", ",")
    if name == "acct":
        return (itp.decode_value(raw, True) or "").rstrip(":")
    return itp.decode_value(raw, itp.encoded(rtype, name)) or ""


def absolute(name: str, base: str | None) -> str:
    """A relative PATH name joined to the event's working directory ``base``, as auparse shows it."""
    if not name or name.startswith("/") or name == "(null)":
        return name
    if not base or not base.startswith("/"):
        return name
    return posixpath.normpath(posixpath.join(base, name))


# --- the normaliser ---------------------------------------------------------------------------

@dataclass(slots=True)
class _Out:
    evkind: str | None = None
    session: tuple[int, int] | None = None
    subj_prime: tuple[int, int] | None = None
    subj_sec: tuple[int, int] | None = None
    subj_kind: str | None = None
    action: str | None = None
    results: tuple[int, int] | None = None
    obj_prime: tuple[int, int] | None = None
    obj_sec: tuple[int, int] | None = None
    obj_kind: str | None = None
    how: str | None = None
    key: tuple[int, int] | None = None
    obj_by_name: bool = False
    """object_primary is the name of the field at obj_prime, not its value (a setting changed)."""


MODE_KINDS = {0o100000: "file", 0o040000: "directory", 0o020000: "character-device",
               0o060000: "block-device", 0o010000: "fifo", 0o120000: "symlink", 0o140000: "socket"}


class _Normalizer:
    def __init__(self, ctx: _Ctx) -> None:
        self.c = ctx.cur
        self.ctx = ctx
        self.o = _Out()
        self.success = -1
        self.r = rules()

    # helpers mirroring auparse's set_* functions
    def subject_what(self, pos: tuple[int, int]) -> bool:
        name = self.c.name(pos)
        uid: int | None
        if name in UID_FIELDS:
            raw = self.c.raw(pos)
            uid = 4294967295 if is_unset(raw) else itp.to_int(raw)
            if uid is None:
                uid = 4294967294
        elif name == "acct":
            acct = self.ctx.text(pos)
            uid = self.ctx.ids.uid_of(acct, self.ctx.node) if acct else None
            if uid is None:
                return False
        else:
            return False
        a = self.r.acct
        kinds = a["kinds"]
        if uid == a["privileged_uid"]:
            self.o.subj_kind = kinds["privileged"]
        elif uid == 4294967295:
            self.o.subj_kind = kinds["unset"]
        elif uid < a["max_system_uid"]:
            self.o.subj_kind = kinds["system"]
        elif uid < a["max_user_uid"]:
            self.o.subj_kind = kinds["user"]
        else:
            self.o.subj_kind = kinds["other"]
        return True

    def prime_subject(self, name: str) -> bool:
        pos = self.c.find(name)
        if pos:
            self.o.subj_prime = pos
        return pos is not None

    def secondary_subject(self, name: str) -> bool:
        pos = self.c.find(name)
        if pos:
            self.o.subj_sec = pos
            return self.subject_what(pos)
        return False

    def prime_object(self, name: str) -> bool:
        pos = self.c.find(name)
        if pos:
            self.o.obj_prime = pos
        return pos is not None

    def session(self, rnum: int) -> bool:
        pos = self.c.find("ses")
        if pos:
            self.o.session = pos
            return True
        self.c.first_record()
        return False

    def results(self) -> bool:
        pos = self.c.find("res")
        if pos:
            self.o.results = pos
        return pos is not None

    def subj_attr(self, name: str, rnum: int) -> None:
        if self.c.find(name) is None:
            self.c.goto_record(rnum)

    def how_from_exe(self, pos: tuple[int, int]) -> None:
        """``how`` = exe, or comm for script interpreters (python, sh, bash, perl)."""
        how = self.ctx.text(pos)
        self.o.how = how
        if how.startswith(self.r.interpreter_prefixes):
            if not (pos[1] > 0 and self.c.goto_field(pos[1] - 1)):
                self.c.first_record()
            comm = self.c.find("comm")
            if comm:
                self.o.how = self.ctx.text(comm)

    # compound (syscall) events
    def compound(self) -> None:
        c = self.c
        otype = c.type() or ""
        if otype in self.r.lead_types:
            c.next_record()
        elif otype == "ANOM_LINK":
            c.next_record()
            c.next_record()
        self.o.evkind = event_kind(otype)
        if c.type() != "SYSCALL":
            # Old kernels log AVC, AVC_PATH or PATH before the SYSCALL record: ausearch
            # (3.0.9) still normalises from the SYSCALL record, wherever it is.
            c.first_record()
            while c.r is not None and c.type() != "SYSCALL":
                c.next_record()
            if c.r is None:
                return
        recno = c.r if c.r is not None else 0
        syscall: str | None = None
        pos = c.find("syscall")
        if pos:
            syscall = self.ctx.text(pos)
        pos = c.find("success")
        if pos:
            self.success = 0 if c.raw(pos) == "no" else 1
            self.o.results = pos
        else:
            c.goto_record(recno)
        if not self.prime_subject("auid"):
            c.goto_record(recno)
        if not self.secondary_subject("uid"):
            c.goto_record(recno)
        # syscall_subj_attr: the session of the first SYSCALL record
        c.first_record()
        while c.type() != "SYSCALL" and c.next_record():
            pass
        if c.r is not None:
            rnum = c.r
            for name in ("ppid", "pid", "gid", "euid", "suid", "fsuid", "egid", "sgid", "fsgid", "tty"):
                self.subj_attr(name, rnum)
            self.session(rnum)
            self.subj_attr("subj", rnum)
        c.first_field()
        pos = c.find("exe")
        if pos:
            self.how_from_exe(pos)
        else:
            c.goto_record(recno)
        pos = c.find("key")
        if pos and c.raw(pos) != "(null)":
            self.o.key = pos
        if otype == "ANOM_LINK":
            self.o.action = self.r.record_actions.get(otype)
        elif otype == "CONFIG_CHANGE":
            self.config_change()
        else:
            self.syscall(syscall or "")

    def config_change(self) -> None:
        """An audit rule or setting changed through a syscall (auditctl): the op is the action
        and the rule key or the setting the object, not the netlink socket auditctl wrote to."""
        c, o, spec = self.c, self.o, self.r.config_change
        c.first_record()
        op = c.find("op")
        if op is None:
            return
        o.action = itp.unquote(self.ctx.text(op))[0]
        o.obj_kind = self.r.simple_objects["CONFIG_CHANGE"]["kind"]
        c.first_record()
        key = c.find(spec["rule_key"])
        if key is not None and c.raw(key) != "(null)":
            o.obj_prime = key if key[0] == 0 else None
            return
        for name in spec["settings"]:
            c.first_record()
            pos = c.find(name)
            if pos is not None:
                if pos[0] == 0:
                    o.obj_prime, o.obj_by_name = pos, True
                return

    def file_object(self, adjust: int) -> None:
        """set_file_object: the PATH record ``2 + adjust`` on, skipping PARENT items."""
        c = self.c
        c.goto_record(2 + adjust)
        c.first_field()
        parent: int | None = None
        pos = None
        while True:
            pos = c.find("nametype")
            if pos is None:
                break
            if c.raw(pos) != "PARENT":
                break
            if parent is None:
                parent = pos[0]
            if not c.next_record():
                pos = None
                break
        if pos is None:
            if parent is None:
                return
            c.goto_record(parent)
        if c.type() == "PATH":
            c.first_field()
            self.prime_object("name")
            ino = c.find("inode")
            if ino:
                self.o.obj_sec = ino
            mode = c.find("mode")
            if mode:
                m = itp.to_int(c.raw(mode), 8)
                if m is not None:
                    kind = MODE_KINDS.get(m & 0o170000)
                    if kind:
                        self.o.obj_kind = kind

    def program_object(self) -> None:
        c = self.c
        c.first_record()
        t = c.type()
        if t == "BPF":
            pos = c.find("prog-id")
            if pos:
                self.o.obj_prime = pos
        elif t == "EVENT_LISTENER":
            pos = c.find("nl-mcgrp")
            if pos:
                self.o.obj_prime = pos
        else:
            pos = c.find("exe")
            if pos:
                if self.ctx.text(pos).startswith(self.r.interpreter_prefixes):
                    if not (pos[1] > 0 and c.goto_field(pos[1] - 1)):
                        c.first_record()
                    pos = c.find("comm") or pos
                self.o.obj_prime = pos

    def syscall(self, syscall: str) -> None:
        c, o, r = self.c, self.o, self.r
        objclass = "unknown"
        keep: str | None = None
        ttype: str | None = None
        c.first_record()
        while c.r is not None:
            t = c.type() or ""
            comp = r.companions.get(t)
            if comp is not None:
                ttype = t
                if comp.get("keep"):
                    keep = comp["class"]
                else:
                    objclass = comp["class"]
                break
            c.next_record()
        if objclass == "unknown":
            objclass = r.syscall_classes.get(syscall, "unknown")
        act: str | None = r.class_actions.get(objclass)
        kind = r.class_kinds.get(objclass)
        if objclass in r.file_offsets:
            offset = r.file_offsets[objclass] + (r.fd_variants.get(syscall, 0) if objclass != "file" else 0)
            o.obj_kind = kind
            self.file_object(offset)
            if objclass == "file":
                o.obj_kind = "file"
            elif objclass == "make-dev":
                act = {"character-device": "made-character-device",
                       "block-device": "made-block-device"}.get(o.obj_kind or "", "make-device")
        elif objclass == "file-ldmod":
            o.obj_kind = kind
            c.goto_record(1)
            self.prime_object("name")
        elif objclass == "file-mount":
            o.obj_kind = kind
            self.file_object(self.success)
        elif objclass.startswith("socket-"):
            o.obj_kind = kind
            c.goto_record(1)
            c.first_field()
            self.prime_object("saddr")
        elif objclass == "pid":
            act = "killed-list-of-pids" if len(c.recs) > 2 else "killed-pid"
            c.goto_record(1)
            c.first_field()
            self.prime_object("saddr")
            o.obj_kind = kind
        elif objclass in ("mac-load", "mac-config", "mac-enforce"):
            act = r.record_actions.get(ttype or "")
            if objclass != "mac-load":
                self.prime_object("bool" if objclass == "mac-config" else "enforcing")
            o.obj_kind = kind
        elif objclass == "iptables":
            c.first_record()
            self.prime_object("table")
            o.obj_kind = kind
        elif objclass == "promiscuous":
            c.first_record()
            self.prime_object("dev")
            prom = c.find("prom")
            if prom:
                act = ("left-promiscuous-mode-on-device" if self.ctx.int_of(prom) == 0
                       else "entered-promiscuous-mode-on-device")
            o.obj_kind = kind
        elif objclass in ("uid", "gid", "scheduler"):
            o.obj_kind = kind
            self.program_object()
            if o.how is not None:
                o.how = syscall
        elif objclass == "system-memory":
            act = "allocated-memory"
            if self.success == 1:
                act = "allocated-memory-in"
                c.first_record()
                self.prime_object("comm")
            o.obj_kind = kind
        elif objclass in ("bpf", "ev-listen"):
            c.first_record()
            op = c.find("op")
            if objclass == "bpf":
                act = ("loaded-bpf-program" if op and itp.unquote(c.raw(op))[0] == "LOAD"
                       else "unloaded-bpf-program") if op else "bpf-program"
            else:
                act = ("connected-to" if op and itp.unquote(c.raw(op))[0] == "connect"
                       else "disconnected-from") if op else "connected"
            o.obj_kind = kind
            self.program_object()
        elif objclass in ("mac-err", "system-time", "system-name", "file-unldmod"):
            o.obj_kind = kind
        else:
            c.first_record()
            k = c.find("key")
            if k and c.raw(k) != "(null)":
                act = "triggered-audit-rule"
                o.obj_prime = k
            else:
                act = "triggered-unknown-audit-rule"
            o.obj_kind = r.class_kinds["unknown"]
        if keep is not None:
            act = r.companion_actions[keep]
        o.action = act

    # one-record events
    def simple(self) -> None:
        c, o, r = self.c, self.o, self.r
        t = c.type() or ""
        if t == "SYSCALL":
            self.compound()
            return
        o.evkind = event_kind(t)
        if t == "NETFILTER_CFG":
            # ausearch gives up on these (an empty row); we name actor, action and table.
            self.generic_subject(t)
            o.action = r.class_actions["iptables"]
            c.first_record()
            self.prime_object("table")
            o.obj_kind = r.class_kinds["iptables"]
            c.first_record()
            pos = c.find("exe")
            if pos:
                self.how_from_exe(pos)
            return
        if t in ("CONFIG_CHANGE", "FEATURE_CHANGE", "SECCOMP", "ANOM_ABEND", "ANOM_PROMISCUOUS"):
            self.simple_kernel(t)
            return
        if t == "LOGIN":
            if not self.secondary_subject("uid"):
                c.first_record()
            self.simple_subj_attr()
            if not self.prime_subject("old-auid"):
                c.first_record()
            if not self.prime_object("auid"):
                c.first_record()
            o.obj_kind = "user-session"
            self.session(0)
            self.results()
            o.action = r.record_actions.get(t)
            return
        if t == "AVC":
            pos = c.find("comm")
            if pos:
                o.how = self.ctx.text(pos)
            else:
                c.first_record()
            if not self.prime_subject("scontext"):
                c.first_record()
            if not self.prime_object("tcontext"):
                c.first_record()
            o.action = r.record_actions.get(t)
            # ausearch 3.0.9 calls a context subject "unknown-acct" and takes the result from
            # the decision; we do too, but a *granted* AVC is a success (3.0.9 says failed).
            o.subj_kind = r.acct["kinds"]["other"]
            c.first_record()
            pos = c.find("seresult")
            if pos:
                o.results = pos
            return
        n = type_number(t) or 0
        if 1200 <= n < 1299:
            self.prime_subject("auid")
            if not self.secondary_subject("uid"):
                c.first_record()
            if not self.session(0):
                c.first_record()
            self.simple_subj_attr()
            o.subj_kind = "auditd"
            o.action = r.record_actions.get(t)
            o.obj_kind = "service"
            if t == "DAEMON_START":
                o.how = "init"
            elif n < 1207 and t != "DAEMON_ABORT":
                o.how = "signal"
            self.results()
            return
        if t in ("BPF", "EVENT_LISTENER"):
            if t == "EVENT_LISTENER":
                self.prime_subject("auid")
                c.first_record()
                self.secondary_subject("uid")
                c.first_record()
                self.session(0)
                self.simple_subj_attr()
            c.first_record()
            op = c.find("op")
            if t == "BPF":
                o.action = ("loaded-bpf-program" if op and itp.unquote(c.raw(op))[0] == "LOAD"
                            else "unloaded-bpf-program") if op else "bpf-program"
            else:
                o.action = ("connected-to" if op and itp.unquote(c.raw(op))[0] == "connect"
                            else "disconnected-from") if op else "connected"
            o.obj_kind = "process" if t == "BPF" else "socket"
            self.program_object()
            if t == "EVENT_LISTENER":
                self.results()
            return
        if 1406 <= n <= 1499:
            self.prime_subject("auid")
            if o.subj_prime:
                self.subject_what(o.subj_prime)
            self.session(0)
            self.subj_attr("subj", 0)
            act: str | None = None
            if t == "MAC_UNLBL_ALLOW":
                pos = c.find("unlbl_accept")
                if pos:
                    act = ("is-allowing-unlabeled-network-traffic" if self.ctx.int_of(pos) == 1
                           else "is-disallowing-unlabeled-network-traffic")
                else:
                    c.first_record()
            else:
                act = r.record_actions.get(t)
            o.action = act
            if t in ("MAC_MAP_ADD", "MAC_MAP_DEL") and not self.prime_object("nlbl_domain"):
                c.first_record()
            o.obj_kind = "mac-config"
            self.results()
            return
        self.user_space(t, n)

    def simple_subj_attr(self) -> None:
        self.c.first_record()
        self.subj_attr("pid", 0)
        self.subj_attr("subj", 0)

    def generic_subject(self, t: str) -> None:
        c = self.c
        if t == "USER_LOGIN":
            if not self.prime_subject("id"):
                c.first_record()
                if self.prime_subject("acct") and self.o.subj_prime:
                    self.subject_what(self.o.subj_prime)
            elif self.o.subj_prime:
                self.subject_what(self.o.subj_prime)
            c.first_record()
        else:
            if not self.secondary_subject("uid"):
                c.first_record()
            self.prime_subject("auid")
        self.session(0)

    def simple_kernel(self, t: str) -> None:
        c, o, r = self.c, self.o, self.r
        self.prime_subject("auid")
        self.session(0)
        self.simple_subj_attr()
        if t == "CONFIG_CHANGE":
            c.first_field()
            pos = c.find("op")
            op = itp.unquote(self.ctx.text(pos))[0] if pos else ""
            if op.startswith("add_rule"):
                o.action = "added-audit-rule"
                o.obj_prime = self.simple_object(t)
            elif op.startswith("remove_rule"):
                o.action = "deleted-audit-rule"
                o.obj_prime = self.simple_object(t)
            else:
                o.action = r.record_actions.get(t)
                o.obj_prime = self.simple_object(t)
                c.first_record()
        else:
            o.action = r.record_actions.get(t)
            c.first_record()
        if t in ("FEATURE_CHANGE", "SECCOMP"):
            c.first_field()
            if not self.secondary_subject("uid"):
                c.first_record()
            pos = c.find("exe")
            if pos:
                o.how = self.ctx.text(pos)
            if t == "FEATURE_CHANGE":
                self.prime_object("feature")
                o.obj_kind = "system"
            else:
                if not self.prime_object("syscall"):
                    c.first_record()
                o.obj_kind = "process"
                pos = c.find("code")
                if pos:
                    o.results = pos
                return
        if t == "ANOM_ABEND":
            c.first_field()
            if not self.secondary_subject("uid"):
                c.first_record()
            if not self.prime_object("exe"):
                c.first_record()
            o.obj_kind = "process"
            pos = c.find("sig")
            if pos:
                o.how = self.ctx.text(pos)
        if t == "ANOM_PROMISCUOUS":
            c.first_field()
            self.prime_object("dev")
            self.secondary_subject("uid")
            o.obj_kind = "socket"
        self.results()

    def simple_object(self, t: str) -> tuple[int, int] | None:
        """find_simple_object: the object field of a one-record event, and its kind."""
        c = self.c
        c.first_field()
        spec = self.r.simple_objects.get(t)
        if spec is None:
            return None
        if spec.get("kind"):
            self.o.obj_kind = spec["kind"]
        if spec.get("action_from"):
            pos = c.find(spec["action_from"])
            if pos:
                self.o.action = self.ctx.text(pos)
            return None
        found = None
        for i, name in enumerate(spec["fields"]):
            if i:
                c.first_record()
            found = c.find(name)
            if found:
                break
        return found

    def user_space(self, t: str, n: int) -> None:
        c, o, r = self.c, self.o, self.r
        self.generic_subject(t)
        self.simple_subj_attr()
        if 1100 <= n < 1199 or 2100 <= n < 2999:
            self.subj_attr("hostname", 0)
            self.subj_attr("addr", 0)
            if t not in ("USER_START", "USER_END", "USER_ERR"):
                self.subj_attr("terminal", 0)
        self.results()
        act: str | None = None
        if t == "USER_DEVICE":
            c.first_record()
            pos = c.find("op")
            if pos:
                act = c.raw(pos)
        o.action = act or r.record_actions.get(t)
        spec = r.simple_objects.get(t)
        if spec and spec.get("subject_from"):
            c.first_record()
            pos = c.find(spec["subject_from"])
            if pos:
                o.subj_prime = pos
        o.obj_prime = self.simple_object(t)
        sec = r.simple_secondary.get(t)
        if sec:
            c.first_field()
            o.obj_sec = c.find(sec)
        # upstream returns here for SYSTEM_BOOT/SHUTDOWN; 3.0.9 goes on to name the exe (how)
        if t == "SYSTEM_BOOT":
            o.obj_kind = "system"
        elif t == "SYSTEM_SHUTDOWN":
            o.obj_kind = "service"
        c.first_record()
        if t == "ANOM_EXEC":
            pos = c.find("terminal")
            if pos:
                o.how = self.ctx.text(pos)
            return
        if t == "TTY":
            pos = c.find("comm")
            if pos:
                o.how = self.ctx.text(pos)
            return
        pos = c.find("exe")
        if pos:
            self.how_from_exe(pos)


def normalized_records(event: Event) -> list[Record]:
    """The records ausearch normalises as one event: EOE dropped; a leading one-record type
    (user-space, LOGIN, …) stands alone, as ausearch splits it from the rest."""
    recs = [r for r in event.records if r.type != "EOE"]
    if len(recs) > 1 and is_single_record_type(recs[0].type):
        return recs[:1]
    return recs


def _split_off_how(event: Event, kept: list[Record], ids: IdNames, arch: str | None) -> str | None:
    """``how`` of an event normalised from its first record alone (LOGIN, …) that has none: the
    program of the SYSCALL record with the same serial (sshd setting the login uid). ausearch
    shows that program on a row of its own, as it splits the SYSCALL off into another event."""
    sc = next((r for r in event.records[len(kept):] if r.type == "SYSCALL"), None)
    if sc is None:
        return None
    if arch is None:
        hexarch = sc.fields.get("arch")
        arch = itp.arch_of(hexarch) if hexarch else None
    n = _Normalizer(_Ctx(_Cursor([sc]), ids, event.node, arch))
    pos = n.c.find("exe")
    if pos:
        n.how_from_exe(pos)
    return n.o.how


def normalize(event: Event, ids: IdNames, *, arch: str | None = None,
              records: list[Record] | None = None) -> dict[str, Any]:
    """The who-did-what columns of one event (see ``NORMALIZED_COLUMNS``)."""
    recs = normalized_records(event) if records is None else records
    out: dict[str, Any] = dict.fromkeys(NORMALIZED_COLUMNS)
    if not recs:
        return out
    if arch is None:
        sc = next((r for r in recs if r.type == "SYSCALL"), None)
        if sc is not None:
            hexarch = sc.fields.get("arch")
            arch = itp.arch_of(hexarch) if hexarch else None
    ctx = _Ctx(_Cursor(recs), ids, event.node, arch)
    n = _Normalizer(ctx)
    if len(recs) > 1:
        n.compound()
    else:
        n.simple()
    o = n.o
    if o.how is None and records is None:
        o.how = _split_off_how(event, recs, ids, arch)
    cur = ctx.cur
    text = ctx.text
    out["event_kind"] = o.evkind
    if o.session is not None:
        out["session"] = parse_id(cur.raw(o.session))
    if o.subj_prime is not None:
        s = text(o.subj_prime)
        out["subject_primary"] = "system" if s == "unset" else s
    if o.subj_sec is not None:
        out["subject_secondary"] = text(o.subj_sec)
    out["subject_kind"] = o.subj_kind
    out["action"] = o.action
    if o.results is not None:
        v = text(o.results)
        out["result"] = "success" if (v in ("yes", "1", "granted") or v.startswith("suc")) else "failed"
    if o.obj_prime is not None:
        out["object_primary"] = cur.name(o.obj_prime) if o.obj_by_name else text(o.obj_prime)
    if o.obj_sec is not None:
        out["object_secondary"] = text(o.obj_sec)
    out["object_kind"] = o.obj_kind or "unknown"
    out["how"] = o.how
    if o.key is not None:
        out["key"] = text(o.key) or None
    return out
