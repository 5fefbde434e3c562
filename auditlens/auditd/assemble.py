"""Records → events: group by (node, serial, sec, msec) as auditd and ausearch do.

Records of one event share the stamp ``audit(SEC.MSEC:SERIAL)`` (and the ``node=``), but they
may be interleaved with other events, the closing EOE may be missing (old kernels, user-space
messages, cut logs), and an event may straddle two rotated files. The :class:`Assembler` keeps
open events in a small table and decides when one is complete:

1. on its **EOE** record (the kernel's end-of-event marker);
2. **at once** when its first record is a single-record type: user-space and auditd-daemon
   messages (types 1005, 1100–1299 and 2100–2999; ``tables.record_class`` "user"/"daemon").
   These are the types audit-userspace's ``audit_is_last_record()`` (lib/common.c) treats as
   one-record events *and* that only user space writes. Kernel types it also lists (PROCTITLE,
   ANOM_* 1700–1799, INTEGRITY_*, KERNEL, MAC_UNLBL…CALIPSO) are *not* completed at once:
   the kernel logs them inside a syscall event (ANOM_PROMISCUOUS is followed by its SYSCALL
   and SOCKADDR; PROCTITLE by EOE), so they wait for rules 1, 3, 4 or 5 — ausearch 3.0.9 keeps
   such records in one event too;
3. when the input's time moves on: a record stamped more than ``timeout`` seconds after an
   open event's stamp closes it (auditd's ``end_of_event_timeout``, default 2 s; ausearch uses
   the same test, ``src/ausearch-lol.c`` ``check_events``);
4. when more than ``max_pending`` events are open, the oldest is closed, and an event that
   reaches ``max_records`` records is closed (bounded memory whatever the input);
5. at the end of input (:meth:`Assembler.flush`).

A record whose stamp matches an event that was already closed starts a new event (ausearch does
the same). Events come out in the order their first record appeared in the input, so output is
deterministic and an event that straddles two files sits where it began; records keep input
order inside an event. The assembler has no notion of files: feed it the records of consecutive
files and it joins events across them.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache

from .model import Event, Record

END_OF_EVENT_TIMEOUT = 2
"""Seconds; auditd.conf ``end_of_event_timeout`` default."""
MAX_PENDING = 10_000
"""Open events kept at most before the oldest is closed, whatever its state."""
MAX_RECORDS = 10_000
"""Records in one event at most (real events have a few dozen); more start a new event."""

_SINGLE_CLASSES = frozenset({"user", "daemon"})
_USER_PREFIXES = ("USER_", "CRED_", "DAEMON_", "ANOM_LOGIN_", "ACCT_", "GRP_", "ADD_", "DEL_")

Key = tuple[str | None, int, int, int]


@lru_cache(maxsize=1024)
def is_single_record_type(rtype: str) -> bool:
    """Whether an event that starts with this record type is complete at once (see module doc)."""
    try:
        from .tables import record_class
    except ImportError:  # pragma: no cover - fallback while the tables package is absent
        return rtype.startswith(_USER_PREFIXES)
    return record_class(rtype) in _SINGLE_CLASSES


class _Slot:
    """An event in the output queue and whether it is complete."""

    __slots__ = ("done", "event")

    def __init__(self, event: Event, done: bool) -> None:
        self.event = event
        self.done = done


class Assembler:
    """Groups records into events; persists across files. Feed with :meth:`add`, end with :meth:`flush`."""

    def __init__(self, *, timeout: int = END_OF_EVENT_TIMEOUT, max_pending: int = MAX_PENDING,
                 max_records: int = MAX_RECORDS) -> None:
        if max_pending < 1 or max_records < 1:
            raise ValueError("max_pending and max_records must be at least 1")
        self.timeout = timeout
        self.max_pending = max_pending
        self.max_records = max_records
        self._open: dict[Key, _Slot] = {}
        self._queue: deque[_Slot] = deque()
        self._by_time: list[tuple[int, int, _Slot]] = []  # open events, oldest stamp first
        self._seq = 0

    @property
    def pending(self) -> int:
        """Events held back (open, or complete but behind an older open one)."""
        return len(self._queue)

    def add(self, record: Record) -> list[Event]:
        """Take one record; return the events that became ready (often none), oldest first."""
        key = (record.node, record.serial, record.sec, record.msec)
        slot = self._open.get(key)
        if slot is not None:
            records = slot.event.records
            records.append(record)
            if record.type == "EOE" or len(records) >= self.max_records:
                slot.done = True
                del self._open[key]
        else:
            event = Event(record.node, record.serial, record.sec, record.msec, [record])
            done = record.type == "EOE" or is_single_record_type(record.type)
            slot = _Slot(event, done)
            if not done:
                self._open[key] = slot
                self._seq += 1
                heapq.heappush(self._by_time, (record.sec, self._seq, slot))
            self._queue.append(slot)
        return self._ready(record.sec)

    def _close(self, slot: _Slot) -> None:
        slot.done = True
        ev = slot.event
        self._open.pop((ev.node, ev.serial, ev.sec, ev.msec), None)

    def _ready(self, now: int) -> list[Event]:
        by_time = self._by_time
        limit = now - self.timeout
        while by_time and by_time[0][0] < limit:  # time moved on past these events
            slot = heapq.heappop(by_time)[2]
            if not slot.done:
                self._close(slot)
        queue = self._queue
        if queue and not queue[0].done and len(queue) <= self.max_pending:
            return []
        out: list[Event] = []
        while queue:
            head = queue[0]
            if not head.done:
                if len(queue) <= self.max_pending:
                    break
                self._close(head)  # too many held back: the oldest goes out as it is
            out.append(queue.popleft().event)
        if len(by_time) > 2 * len(self._open) + 64:  # drop heap entries of events closed by EOE
            self._by_time = [e for e in by_time if not e[2].done]
            heapq.heapify(self._by_time)
        return out

    def flush(self) -> list[Event]:
        """Close everything still open (end of input); events in order of first appearance."""
        out = [slot.event for slot in self._queue]
        self._queue.clear()
        self._open.clear()
        self._by_time.clear()
        return out

    def assemble(self, records: Iterable[Record]) -> Iterator[Event]:
        """Events of a record stream, flushed at its end."""
        for record in records:
            ready = self.add(record)
            if ready:
                yield from ready
        yield from self.flush()

