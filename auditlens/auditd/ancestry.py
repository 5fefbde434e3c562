"""Process ancestry from the log alone: for every auditd event, its ancestors' executables.

Reviewers ask whether a ``useradd`` was typed in an SSH session, run by cron or by a web server;
the answer is the chain of parents, which auditd logs one link at a time (``pid``, ``ppid`` and
``exe`` of each SYSCALL record). This module joins the links, per node, in time order.

What the kernel guarantees, and how it is used:

- a pid is unique among *live* processes only, so a pid names a *process* only for a while.
  The events of one pid are cut into processes where the log shows a different one: another
  ``ppid`` (a fork makes a new pid whose ppid is the forker; ``execve`` keeps both), another
  non-null session (``ses`` is inherited at fork and changes only by a LOGIN record), or another
  ``exe`` without a successful ``execve``/``execveat`` between. A pid reused later therefore
  does not inherit the old process's ancestry.
- a parent is alive while its child runs, so the parent of a process is the process with the
  child's ``ppid`` seen last at or before the child was first seen (else the first seen after);
  one whose session differs from the child's, or that has none when the child has one (and no
  LOGIN of its own), is another process that had the pid.
- the session id is inherited at fork: every process of a session descends from the process
  whose LOGIN record assigned it. A parent the log never shows (sudo's pty monitor, a shell's
  subshell) or a process whose ppid no record gives (sshd's user-space records) is linked to the
  process of the same session with the highest pid below its own that was seen alive when it was
  first seen: pids are handed out in increasing order, so the forker is the closest earlier
  one (at most 1024 are looked at). Processes the log never shows are left out of the chain.

Each ancestor's executable is the one it ran when its child was first seen. The chain ends at
pid 0's children (init, kthreadd: nothing above) or with :data:`BOUNDARY` where the log stops
showing it: the parent is not in the log (it started before the log began) or its executable
at that time is not (it ran something else before a logged ``execve``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import AUDITD_EVENTS

__all__ = ["ANCESTRY_TYPE", "BOUNDARY", "ancestry", "with_ancestry"]

BOUNDARY = "…"
"""What the log does not show: the last element of a chain whose top is not in the log (it
began before the log did), or, inside a chain, an ancestor whose executable then is not in it.
A marker inside the list (not a second column) travels with the chain into every table and
writer; it cannot be taken for an executable, which is an absolute path."""

ANCESTRY_TYPE = AUDITD_EVENTS["ancestry"].type
"""``list<string>``, as the optional ``ancestry`` column of ``auditd_events`` declares it."""

_EXECS = ("execve", "execveat")
_MAX_DEPTH = 256  # deeper than any real process tree; ends a loop that bad input could make
_SCAN = 1024  # session processes looked at for one inferred parent: keeps a huge session linear


@dataclass(eq=False, slots=True)
class _Process:
    """One process: the events of one pid between two cuts."""

    pid: int
    first: int
    last: int  # last seen, itself or as a child's parent
    ppid: int | None = None
    session: int | None = None
    leader: bool = False  # its LOGIN record assigned its session
    exe: int = -1  # last exe seen (index into the exe dictionary; -1 none)
    exe_times: list[int] = field(default_factory=list)  # when each exe was first seen
    exes: list[int] = field(default_factory=list)
    first_is_exec: bool = False
    chain: tuple[int, ...] | None = None  # exe indices, nearest first; -1 is BOUNDARY


def _cut(p: _Process, ppid: int | None, session: int | None, exe: int, login: bool,
         execd: bool) -> bool:
    """Whether an event of ``p``'s pid belongs to another process (see the module doc)."""
    if ppid is not None and p.ppid is not None and ppid != p.ppid:
        return True
    if session is not None and p.session is not None and session != p.session and not login:
        return True
    return exe >= 0 and p.exe >= 0 and exe != p.exe and not execd


class _Node:
    """The processes of one node and the links between them."""

    def __init__(self) -> None:
        self.by_pid: dict[int, list[_Process]] = {}
        self.by_session: dict[int, list[_Process]] = {}
        self._sorted: dict[int, list[tuple[int, _Process]]] = {}

    def add(self, pid: int, t: int, ppid: int | None, session: int | None, exe: int,
            login: bool, execd: bool) -> _Process:
        procs = self.by_pid.setdefault(pid, [])
        p = procs[-1] if procs else None
        if p is None or _cut(p, ppid, session, exe, login, execd):
            p = _Process(pid, t, t, first_is_exec=execd)
            procs.append(p)
        p.last = t
        if p.ppid is None:
            p.ppid = ppid
        if session is not None:
            if p.session != session:
                self.by_session.setdefault(session, []).append(p)
            p.session = session
        p.leader = p.leader or login
        parents = self.by_pid.get(ppid) if ppid is not None and ppid != pid else None
        if parents and self._may_parent(parents[-1], p):  # a parent lives while its child runs
            parents[-1].last = max(parents[-1].last, t)
        if exe >= 0 and exe != p.exe:
            p.exe = exe
            p.exe_times.append(t)
            p.exes.append(exe)
        return p

    def _parent_by_pid(self, child: _Process) -> _Process | None:
        procs = self.by_pid.get(child.ppid) if child.ppid is not None else None
        if not procs:
            return None
        i = len(procs)  # processes of a pid are few: look from the newest back
        while i and procs[i - 1].first > child.first:
            i -= 1
        for cand in (procs[i - 1] if i else None, procs[i] if i < len(procs) else None):
            if cand is not None and cand is not child and self._may_parent(cand, child):
                return cand
        return None

    @staticmethod
    def _may_parent(parent: _Process, child: _Process) -> bool:
        """A child not made a session leader by its LOGIN has its parent's session (a parent
        without one is another process that had the pid)."""
        return child.leader or child.session is None or parent.session == child.session

    def _parent_in_session(self, child: _Process, below: int) -> _Process | None:
        """The session's process with the highest pid below ``below`` alive when ``child``
        was first seen (the inference for a parent the log does not show)."""
        if child.leader or child.session is None:
            return None
        procs = self._sorted.get(child.session)
        if procs is None:
            procs = sorted(((p.pid, p) for p in self.by_session.get(child.session, [])),
                           key=lambda x: x[0])
            self._sorted[child.session] = procs
        end = bisect_left(procs, below, key=lambda x: x[0])
        for i in range(end - 1, max(end - _SCAN, 0) - 1, -1):
            cand = procs[i][1]
            if cand.first <= child.first <= cand.last and cand.session == child.session:
                return cand
        return None

    def parent(self, child: _Process) -> _Process | None:
        if child.ppid == 0:
            return None
        found = self._parent_by_pid(child)
        if found is not None:
            return found
        below = child.ppid if child.ppid is not None else child.pid
        return self._parent_in_session(child, below)


def _exe_at(p: _Process, t: int) -> int:
    """``p``'s executable at time ``t``: the last seen by then, else the first seen after
    unless that came with an ``execve`` (then what ran before is not in the log: -1)."""
    i = bisect_right(p.exe_times, t)
    if i:
        return p.exes[i - 1]
    if not p.exes or p.first_is_exec:
        return -1
    return p.exes[0]


def _chain(node: _Node, p: _Process) -> tuple[int, ...]:
    """``p``'s ancestors' executables, nearest first, memoised on each process on the way up."""
    path: list[tuple[_Process, _Process | None]] = []
    on_path: set[int] = set()
    cur = p
    while cur.chain is None and id(cur) not in on_path and len(path) < _MAX_DEPTH:
        on_path.add(id(cur))
        parent = node.parent(cur)
        path.append((cur, parent))
        if parent is None:
            break
        cur = parent
    for q, parent in reversed(path):
        if parent is None:
            q.chain = () if q.ppid == 0 else (-1,)
        elif parent.chain is None:  # a loop, or deeper than any real tree
            q.chain = (-1,)
        else:
            exe = _exe_at(parent, q.first)
            unknown = exe < 0 and parent.chain[:1] == (-1,)  # one marker for one unknown stretch
            q.chain = parent.chain if unknown else (exe, *parent.chain)
    assert p.chain is not None
    return p.chain


def _ints(column: pa.ChunkedArray | pa.Array) -> list[int | None]:
    values: list[int | None] = column.to_pylist()
    return values


def _values(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    """The values of a column without nulls (filled before), as Python objects."""
    values: list[Any] = column.to_pylist()
    return values


def ancestry(events: pa.Table) -> pa.ChunkedArray:
    """The ``ancestry`` of each row of an ``auditd_events`` table, aligned with its rows:
    the executables of the process's ancestors, nearest first, ending with :data:`BOUNDARY`
    where the log stops showing them; null for an event without a pid. Worked out per node,
    in time order (ties: input order), in time linear in the rows but for the sort."""
    n = events.num_rows
    if n == 0:
        return pa.chunked_array([], ANCESTRY_TYPE)
    node_of: list[int] = _values(pc.dictionary_encode(pc.fill_null(events["node"], ""))
                                 .combine_chunks().indices)
    t_of: list[int] = _values(pc.fill_null(pc.cast(events["time"], pa.int64()), 0))
    order = np.lexsort((np.asarray(t_of, np.int64), np.asarray(node_of, np.int64)))  # stable
    exe_dict = pc.dictionary_encode(events["exe"]).combine_chunks()
    exe_of: list[int] = _values(pc.fill_null(exe_dict.indices, -1))
    exe_names: list[str | None] = exe_dict.dictionary.to_pylist()
    login: list[bool] = _values(pc.fill_null(pc.equal(events["event_type"], "LOGIN"), False))
    execd: list[bool] = _values(pc.fill_null(pc.and_(pc.is_in(events["syscall"], pa.array(_EXECS)),
                                                     events["success"]), False))
    pids, ppids, sessions = (_ints(events[c]) for c in ("pid", "ppid", "session"))

    graphs: dict[int, _Node] = {}
    proc_of: list[_Process | None] = [None] * n
    for i in order.tolist():
        pid = pids[i]
        if pid is None:
            continue
        node = graphs.get(node_of[i])
        if node is None:
            node = graphs[node_of[i]] = _Node()
        proc_of[i] = node.add(pid, t_of[i], ppids[i], sessions[i], exe_of[i], login[i], execd[i])
    return _as_lists(proc_of, graphs, node_of, exe_names)


def _as_lists(proc_of: list[_Process | None], graphs: dict[int, _Node],
              node_of: list[int], exe_names: list[str | None]) -> pa.ChunkedArray:
    """One list per row, made as one list per process taken row by row (chains are shared)."""
    names = [*exe_names, BOUNDARY]  # index -1 is the boundary
    chains: list[list[str | None]] = []
    index: dict[int, int] = {}
    take: list[int | None] = []
    for i, p in enumerate(proc_of):
        if p is None:
            take.append(None)
            continue
        k = index.get(id(p))
        if k is None:
            k = index[id(p)] = len(chains)
            chains.append([names[e] for e in _chain(graphs[node_of[i]], p)])
        take.append(k)
    unique = pa.array(chains, ANCESTRY_TYPE)
    return pa.chunked_array([unique.take(pa.array(take, pa.int64()))], ANCESTRY_TYPE)


def with_ancestry(events: pa.Table) -> pa.Table:
    """``events`` with the ``ancestry`` column appended (replaced, when it has one)."""
    if "ancestry" in events.column_names:
        events = events.drop_columns(["ancestry"])
    return events.append_column(pa.field("ancestry", ANCESTRY_TYPE), ancestry(events))
