"""Grouping records into events: interleaved, without EOE, across files, out of order, bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens.auditd.assemble import Assembler, is_single_record_type
from auditlens.auditd.model import Event, Record


def rec(rtype: str, serial: int, sec: int = 100, msec: int = 0, *, node: str | None = None,
        file: str = "audit.log", line: int = 0) -> Record:
    return Record(node, rtype, sec, msec, serial, {}, {}, file, line)


def run(records: list[Record], **kw: int) -> list[Event]:
    return list(Assembler(**kw).assemble(records))


def shape(events: list[Event]) -> list[tuple[int, list[str]]]:
    return [(e.serial, [r.type for r in e.records]) for e in events]


def test_interleaved_events_are_separated_in_input_order() -> None:
    records = [rec("SYSCALL", 1), rec("SYSCALL", 2), rec("PATH", 1), rec("CWD", 2),
               rec("PATH", 2), rec("EOE", 2), rec("PROCTITLE", 1), rec("EOE", 1)]
    assert shape(run(records)) == [
        (1, ["SYSCALL", "PATH", "PROCTITLE", "EOE"]),
        (2, ["SYSCALL", "CWD", "PATH", "EOE"]),
    ]


def test_eoe_completes_an_event_at_once() -> None:
    asm = Assembler()
    assert asm.add(rec("SYSCALL", 1)) == []
    assert asm.add(rec("PATH", 1)) == []
    ready = asm.add(rec("EOE", 1))
    assert shape(ready) == [(1, ["SYSCALL", "PATH", "EOE"])]
    assert asm.pending == 0


def test_user_space_records_are_single_record_events() -> None:
    asm = Assembler()
    assert shape(asm.add(rec("USER_LOGIN", 5))) == [(5, ["USER_LOGIN"])]
    assert shape(asm.add(rec("CRED_ACQ", 6))) == [(6, ["CRED_ACQ"])]
    assert shape(asm.add(rec("DAEMON_START", 7))) == [(7, ["DAEMON_START"])]
    assert asm.pending == 0


def test_which_types_end_an_event_at_once() -> None:
    # user space (1100-1199, 2100-2999, AUDIT_USER 1005) and auditd itself (1200-1299): yes
    for t in ("USER_AUTH", "USER_CMD", "SERVICE_START", "ANOM_LOGIN_FAILURES", "DAEMON_END",
              "USER", "UNKNOWN[1190]", "UNKNOWN[2600]"):
        assert is_single_record_type(t), t
    # kernel records that belong to syscall events: no
    for t in ("SYSCALL", "PATH", "LOGIN", "AVC", "PROCTITLE", "ANOM_PROMISCUOUS", "CONFIG_CHANGE",
              "UNKNOWN[1334]"):
        assert not is_single_record_type(t), t


def test_kernel_anomaly_keeps_its_syscall() -> None:
    """ANOM_PROMISCUOUS is logged inside the syscall event (SYSCALL and SOCKADDR follow)."""
    records = [rec("ANOM_PROMISCUOUS", 9), rec("SYSCALL", 9), rec("SOCKADDR", 9), rec("EOE", 9)]
    assert shape(run(records)) == [(9, ["ANOM_PROMISCUOUS", "SYSCALL", "SOCKADDR", "EOE"])]


def test_missing_eoe_closes_when_time_moves_on() -> None:
    asm = Assembler()
    asm.add(rec("SYSCALL", 1, sec=100))
    asm.add(rec("PATH", 1, sec=100))
    assert asm.add(rec("SYSCALL", 2, sec=102)) == []  # 2 s later: still within the timeout
    ready = asm.add(rec("SYSCALL", 3, sec=103))  # more than 2 s later: event 1 is over
    assert shape(ready) == [(1, ["SYSCALL", "PATH"])]
    assert shape(asm.flush()) == [(2, ["SYSCALL"]), (3, ["SYSCALL"])]


def test_out_of_order_record_within_timeout_joins_its_event() -> None:
    records = [rec("SYSCALL", 1, sec=100), rec("SYSCALL", 2, sec=101), rec("PATH", 1, sec=100),
               rec("EOE", 2, sec=101), rec("EOE", 1, sec=100)]
    assert shape(run(records)) == [(1, ["SYSCALL", "PATH", "EOE"]), (2, ["SYSCALL", "EOE"])]


def test_events_come_out_in_order_of_first_appearance() -> None:
    asm = Assembler()
    out = asm.add(rec("SYSCALL", 1))
    out += asm.add(rec("USER_LOGIN", 2))  # complete at once, but held behind event 1
    assert out == []
    out += asm.add(rec("EOE", 1))
    assert [e.serial for e in out] == [1, 2]


def test_event_straddling_two_files_is_one_event_from_the_first_file() -> None:
    records = [rec("SYSCALL", 1, file="audit.log.1", line=10), rec("PATH", 1, file="audit.log.1", line=11),
               rec("PROCTITLE", 1, file="audit.log", line=1), rec("EOE", 1, file="audit.log", line=2)]
    (ev,) = run(records)
    assert [(r.file, r.line) for r in ev.records] == [
        ("audit.log.1", 10), ("audit.log.1", 11), ("audit.log", 1), ("audit.log", 2)]


def test_nodes_and_timestamps_are_part_of_the_key() -> None:
    records = [rec("SYSCALL", 1, node="a"), rec("SYSCALL", 1, node="b"), rec("SYSCALL", 1, msec=5),
               rec("EOE", 1, node="b"), rec("EOE", 1, node="a")]
    events = run(records)
    assert [(e.node, e.msec, len(e.records)) for e in events] == [("a", 0, 2), ("b", 0, 2), (None, 5, 1)]


def test_record_after_its_event_closed_starts_a_new_event() -> None:
    records = [rec("SYSCALL", 1), rec("EOE", 1), rec("PATH", 1)]
    assert shape(run(records)) == [(1, ["SYSCALL", "EOE"]), (1, ["PATH"])]


def test_pending_events_are_bounded() -> None:
    asm = Assembler(max_pending=3)
    out: list[Event] = []
    for serial in range(10):  # ten open events at one timestamp, none ever ends
        out += asm.add(rec("SYSCALL", serial))
        assert asm.pending <= 3
    out += asm.flush()
    assert [e.serial for e in out] == list(range(10))


def test_time_going_backwards_does_not_close_events() -> None:
    asm = Assembler()
    asm.add(rec("SYSCALL", 1, sec=1000))
    assert asm.add(rec("SYSCALL", 2, sec=10)) == []  # an older node's log follows
    assert asm.pending == 2


KEYS = st.tuples(st.sampled_from([None, "a"]), st.integers(1, 4), st.integers(100, 106), st.just(0))
TYPES = st.sampled_from(["SYSCALL", "PATH", "EOE", "USER_LOGIN", "PROCTITLE", "AVC"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEYS, TYPES), max_size=60), st.integers(1, 5))
def test_every_record_comes_out_once_in_order(items: list, max_pending: int) -> None:
    records = [rec(t, serial, sec, msec, node=node, line=i) for i, ((node, serial, sec, msec), t)
               in enumerate(items)]
    events = run(records, max_pending=max_pending)
    seen = sorted(r.line for e in events for r in e.records)
    assert seen == list(range(len(records)))
    for e in events:
        lines = [r.line for r in e.records]
        assert lines == sorted(lines)  # input order inside an event
        assert {(r.node, r.serial, r.sec, r.msec) for r in e.records} == {(e.node, e.serial, e.sec, e.msec)}
    firsts = [e.records[0].line for e in events]
    assert firsts == sorted(firsts)  # events in order of first appearance


def test_an_endless_event_is_cut_at_max_records() -> None:
    records = [rec("PATH", 1, line=i) for i in range(7)]
    events = run(records, max_records=3)
    assert [len(e.records) for e in events] == [3, 3, 1]
    assert [r.line for e in events for r in e.records] == list(range(7))
