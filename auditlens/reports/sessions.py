"""Login sessions: one row per auditd ``ses`` with who, from where, when, and every command run.

A session is the events of one node carrying one ``ses`` value. It begins at the kernel's LOGIN
record that assigned the ``ses`` (else the first USER_START / USER_LOGIN, else the first event
seen: the session began before the files), and ends at the USER_END / USER_LOGOUT written by the
process that opened it — sudo and su open nested PAM sessions inside a login session, whose
USER_START/USER_END must not end it. sshd writes USER_LOGIN only for sessions with a terminal, so
USER_START is used too. Session ids restart at boot: a second LOGIN that assigns a ``ses`` already
seen on the node starts a new row.

Commands: each execve's argv joined with spaces (the proctitle when the EXECVE record is missing;
a failed execve without one, e.g. a helper that is not installed, ran nothing and is left out),
and each sudo command (USER_CMD ``cmd``) as ``sudo: CMD (as USER)``, the target user taken from the
PAM records sudo writes from the same process. The actor is the login user (auid), so commands run
through sudo stay with the person who logged in.

``command_ancestry`` says, per command, what started it: its ancestors' executables nearest first,
joined with `` ← `` (``/usr/bin/sudo ← /usr/bin/bash ← /usr/sbin/sshd ← …``), from the events'
``ancestry`` column (null entries when the table has none). One string per command keeps the two
lists side by side in every writer (a list of lists would not fit a CSV or spreadsheet cell).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..actions import UNKNOWN_VALUES
from ..schema import SESSIONS

_OPENERS = ("USER_START", "USER_LOGIN")
_CLOSERS = ("USER_END", "USER_LOGOUT")
_NESTED = ("/usr/bin/sudo", "/bin/sudo", "/usr/bin/su", "/bin/su", "/usr/bin/sudoedit")
_TARGET_TYPES = ("USER_START", "CRED_REFR", "CRED_ACQ", "USER_ACCT")
ANCESTRY_JOIN = " ← "
"""Between the executables of a command's ancestry (nearest first: "started by")."""
_COLUMNS = ["node", "session", "time", "serial", "event_type", "auid", "auid_name", "addr",
            "hostname", "terminal", "tty", "exe", "pid", "res", "result", "argv", "proctitle",
            "syscall", "success", "cmd", "acct", "file", "line"]


def _present(value: str | None) -> str | None:
    return None if value is None or value in UNKNOWN_VALUES else value


def _short(exe: str | None) -> str | None:
    return exe.rsplit("/", 1)[-1] if exe else None


def _outcome(res: str | None) -> str | None:
    if res in ("success", "1", "yes"):
        return "success"
    if res in ("failed", "0", "no"):
        return "failure"
    return None


@dataclass
class _Session:
    node: str | None
    ses: int
    first: dict[str, Any]
    login: dict[str, Any] | None = None
    opener: dict[str, Any] | None = None
    tty_login: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    auid: int | None = None
    actor: str | None = None
    commands: list[str] = field(default_factory=list)
    ancestries: list[str | None] = field(default_factory=list)
    events: int = 0

    def row(self) -> dict[str, Any]:
        start_ev = self.login or self.opener or self.tty_login or self.first
        start: datetime | None = start_ev["time"]
        end: datetime | None = self.end["time"] if self.end else None
        src = [e for e in (self.tty_login, self.opener) if e is not None]
        origin = next((_present(e["addr"]) or _present(e["hostname"]) for e in src
                       if _present(e["addr"]) or _present(e["hostname"])), None)
        terminal = next((_present(e["terminal"]) for e in src if _present(e["terminal"])),
                        _present(self.first["tty"]))
        res = [_outcome(e["res"] or e["result"]) for e in src]
        outcome = "failure" if "failure" in res else "success" if "success" in res else None
        notes = []
        if self.login is None and self.opener is None:
            notes.append("login not in the logs read (the session began before them)")
        if self.end is None:
            notes.append("no logout in the logs read (still open, or ended after them)")
        return {
            "node": self.node, "session": self.ses, "actor": self.actor, "auid": self.auid,
            "origin": origin, "terminal": terminal,
            "login_via": _short((self.opener or self.tty_login or {}).get("exe")),
            "start": start, "end": end,
            "duration_seconds": (end - start).total_seconds() if end and start else None,
            "outcome": outcome, "commands": self.commands, "command_count": len(self.commands),
            "event_count": self.events, "note": "; ".join(notes) or None,
            "evidence": f"{start_ev['file'] or '-'}:{start_ev['line'] or 0} "
                        f"serial {start_ev['serial']}",
            "command_ancestry": self.ancestries,
        }


def _sudo_targets(rows: list[dict[str, Any]]) -> dict[tuple[Any, Any, Any], str]:
    """(node, ses, pid) of a sudo process → the user it switched to (its PAM records' acct)."""
    out: dict[tuple[Any, Any, Any], str] = {}
    for e in rows:
        if e["event_type"] in _TARGET_TYPES and e["exe"] in _NESTED and e["acct"]:
            key = (e["node"], e["session"], e["pid"])
            if e["event_type"] != "USER_ACCT":  # USER_ACCT names the invoking user
                out[key] = e["acct"]
    return out


def _command(e: dict[str, Any], targets: dict[tuple[Any, Any, Any], str]) -> str | None:
    if e["event_type"] == "USER_CMD" and e["cmd"]:
        target = targets.get((e["node"], e["session"], e["pid"]))
        refused = _outcome(e["res"] or e["result"]) == "failure"
        tail = " (refused)" if refused else f" (as {target})" if target else ""
        return f"sudo: {e['cmd']}{tail}"
    if e["argv"] and any(e["argv"]):
        return " ".join(e["argv"])
    if e["syscall"] in ("execve", "execveat") and e["success"] is not False and e["proctitle"]:
        return str(e["proctitle"])
    return None


def sessions(auditd: pa.Table) -> pa.Table:
    """One row per login session of an ``auditd_events`` table (``sessions`` schema), by start."""
    if auditd.num_rows == 0:
        return SESSIONS.empty()
    has = pc.is_valid(auditd["session"])
    wanted = [*_COLUMNS, *(["ancestry"] if "ancestry" in auditd.column_names else [])]
    sub = auditd.filter(has).select(wanted)
    if sub.num_rows == 0:
        return SESSIONS.empty()
    order = pc.sort_indices(sub, [("node", "ascending"), ("session", "ascending"),
                                  ("time", "ascending"), ("serial", "ascending")])
    rows = sub.take(order).to_pylist()
    targets = _sudo_targets(rows)
    out: list[_Session] = []
    current: dict[tuple[Any, Any], _Session] = {}
    for e in rows:
        key = (e["node"], e["session"])
        s = current.get(key)
        if s is None or (e["event_type"] == "LOGIN" and s.login is not None):
            s = _Session(e["node"], e["session"], e)
            current[key] = s
            out.append(s)
        s.events += 1
        etype = e["event_type"]
        if s.auid is None and e["auid"] is not None:
            s.auid = e["auid"]
            s.actor = e["auid_name"] or str(e["auid"])
        if etype == "LOGIN" and s.login is None:
            s.login = e
        elif etype in _OPENERS and e["exe"] not in _NESTED:
            if etype == "USER_LOGIN":
                s.tty_login = s.tty_login or e
            elif s.opener is None:
                s.opener = e
        elif etype in _CLOSERS and e["exe"] not in _NESTED:
            opened_by = (s.opener or s.tty_login or s.login or {}).get("pid")
            if opened_by is None or e["pid"] == opened_by or s.end is None:
                s.end = e
        cmd = _command(e, targets)
        if cmd is not None:
            s.commands.append(cmd)
            chain = e.get("ancestry")
            s.ancestries.append(ANCESTRY_JOIN.join(chain) if chain is not None else None)
    table = pa.Table.from_pylist([s.row() for s in out], schema=SESSIONS.arrow)
    return table.take(pc.sort_indices(table, [("start", "ascending"), ("node", "ascending"),
                                              ("session", "ascending")]))
