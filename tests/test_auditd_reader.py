"""read_auditd / open_auditd and the records-level reader: inputs, streaming, and nothing lost."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditlens import ParseError, RejectLog, SourceError
from auditlens.auditd.reader import (
    open_auditd,
    open_auditd_records,
    read_auditd,
    read_auditd_records,
)
from auditlens.schema import AUDITD_EVENTS, AUDITD_RECORDS
from auditlens.sources.compression import sniff_compression

GS = "\x1d"
LOG = "\n".join([
    ('type=SYSCALL msg=audit(1700000000.100:10): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c '
    'a1=7ffd0 a2=0 a3=0 items=1 ppid=1 pid=500 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 '
    'fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=4 comm="cat" exe="/usr/bin/cat" key="shadow"'),
    'type=CWD msg=audit(1700000000.100:10): cwd="/home/alice"',
    ("type=USER_LOGIN msg=audit(1700000000.200:11): pid=31 uid=0 auid=1000 ses=4 msg='op=login id=1000 "
    "exe=\"/usr/sbin/sshd\" hostname=? addr=192.0.2.7 terminal=ssh res=success'"),
    ('type=PATH msg=audit(1700000000.100:10): item=0 name="/etc/shadow" inode=42 dev=fd:00 mode=0100640 '
    'ouid=0 ogid=42 rdev=00:00 nametype=NORMAL'),
    "type=PROCTITLE msg=audit(1700000000.100:10): proctitle=636174002F6574632F736861646F77",
    "type=EOE msg=audit(1700000000.100:10): ",
    "",
    (f'type=USER_CMD msg=audit(1700000001.000:12): pid=600 uid=1000 auid=1000 ses=4 msg=\'cwd="/" '
    f'cmd=6964 exe="/usr/bin/sudo" terminal=pts/0 res=success\'{GS}UID="alice" AUID="alice"'),
]) + "\n"
LOG_LINES = 8
LOG_RECORDS = 7  # one blank line


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def line_count(data: bytes) -> int:
    """Lines as b"\\n"-split lines; a last line without newline counts, an empty input has none."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def records_in(table: pa.Table) -> int:
    return sum(table.column("record_count").to_pylist())


def test_events_table(tmp_path: Path) -> None:
    log = RejectLog()
    t = read_auditd(write(tmp_path / "audit.log", LOG), rejects=log)
    assert t.schema.equals(AUDITD_EVENTS.arrow)
    rows = t.to_pylist()
    assert [(r["serial"], r["record_types"]) for r in rows] == [
        (10, ["SYSCALL", "CWD", "PATH", "PROCTITLE", "EOE"]), (11, ["USER_LOGIN"]), (12, ["USER_CMD"])]
    first = rows[0]
    assert first["time"] == datetime(2023, 11, 14, 22, 13, 20, 100000, tzinfo=timezone.utc)
    assert (first["file"], first["line"], first["record_count"], first["node"]) == (
        str(tmp_path / "audit.log"), 1, 5, None)
    assert [(r.line, r.reason) for r in log] == [(7, "blank line")]
    assert t.schema.metadata[b"auditlens.lines"] == str(LOG_LINES).encode()
    assert t.schema.metadata[b"auditlens.rejects"] == b"1"
    assert records_in(t) + len(log) == LOG_LINES


def test_event_row_values_reach_the_table(tmp_path: Path) -> None:
    """The interpretation columns come from event_row; spot-check that they arrive typed."""
    rows = read_auditd(write(tmp_path / "audit.log", LOG), rejects=RejectLog()).to_pylist()
    assert rows[0]["auid"] == 1000 and rows[0]["pid"] == 500 and rows[0]["exit"] == -13
    assert rows[0]["success"] is False
    assert rows[2]["auid_name"] == "alice"  # from the ENRICHED translation


def test_records_table(tmp_path: Path) -> None:
    log = RejectLog()
    t = read_auditd_records(write(tmp_path / "audit.log", LOG), rejects=log)
    assert t.schema.equals(AUDITD_RECORDS.arrow)
    assert t.num_rows == LOG_RECORDS and len(log) == 1
    rows = t.to_pylist()
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6, 8]
    syscall = dict(rows[0]["fields"])
    assert syscall["comm"] == "cat" and syscall["key"] == "shadow"  # quotes removed
    assert syscall["a0"] == "ffffff9c"  # hex kept
    assert rows[0]["enriched"] is None
    cmd = rows[-1]
    assert dict(cmd["fields"])["cmd"] == "6964" and dict(cmd["fields"])["res"] == "success"
    assert dict(cmd["enriched"]) == {"UID": "alice", "AUID": "alice"}
    assert t.schema.metadata[b"auditlens.lines"] == b"8"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress],
                         ids=["gz", "bz2", "xz"])
def test_compressed_inputs_read_like_plain(tmp_path: Path, compress) -> None:
    plain = read_auditd(write(tmp_path / "plain.log", LOG), rejects=RejectLog())
    packed = read_auditd(write(tmp_path / "packed.log", compress(LOG.encode())), rejects=RejectLog())
    drop = ["file"]
    assert packed.drop_columns(drop).equals(plain.drop_columns(drop))


def test_rotated_directory_reads_oldest_first_and_joins_straddling_events(tmp_path: Path) -> None:
    d = tmp_path / "audit"
    d.mkdir()
    write(d / "audit.log.2", "type=USER_LOGIN msg=audit(1700000000.000:1): pid=1 uid=0 msg='op=login res=success'\n")
    write(d / "audit.log.1", 'type=SYSCALL msg=audit(1700000010.000:2): syscall=2 success=yes exit=3 pid=9\n'
                             'type=CWD msg=audit(1700000010.000:2): cwd="/"\n')
    write(d / "audit.log", "type=PATH msg=audit(1700000010.000:2): item=0 name=\"/x\"\n"
                           "type=EOE msg=audit(1700000010.000:2): \n"
                           "type=USER_END msg=audit(1700000020.000:3): pid=1 uid=0 msg='op=x res=success'\n")
    t = read_auditd(d, rejects=RejectLog())
    rows = t.to_pylist()
    names = [(Path(r["file"]).name, r["line"], r["serial"], r["record_count"]) for r in rows]
    assert names == [("audit.log.2", 1, 1, 1), ("audit.log.1", 1, 2, 4), ("audit.log", 3, 3, 1)]


def test_binary_file_object_and_stdin_like_stream(tmp_path: Path) -> None:
    stream = io.BytesIO(LOG.encode())
    t = read_auditd(stream, rejects=RejectLog())
    assert t.num_rows == 3 and records_in(t) == LOG_RECORDS
    assert not stream.closed  # a caller's stream is not ours to close


def test_open_auditd_streams_batches(tmp_path: Path) -> None:
    lines = [f"type=USER_LOGIN msg=audit(1700000000.000:{i}): pid=1 uid=0 msg='op=login res=success'"
             for i in range(25)]
    path = write(tmp_path / "audit.log", "\n".join(lines) + "\n")
    batches = list(open_auditd(path, batch_size=10))
    assert [b.num_rows for b in batches] == [10, 10, 5]
    assert all(b.schema.equals(AUDITD_EVENTS.arrow) for b in batches)
    rbatches = list(open_auditd_records(path, batch_size=10))
    assert [b.num_rows for b in rbatches] == [10, 10, 5]


class CountingReader(io.RawIOBase):
    """A stream that says how much of it has been read (to show that reading is lazy)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        n = self._data.readinto(b)
        self.consumed += n
        return n


def test_open_auditd_does_not_hold_the_whole_input() -> None:
    line = "type=USER_LOGIN msg=audit(1700000000.000:{}): pid=1 uid=0 msg='op=login res=success'\n"
    data = "".join(line.format(i) for i in range(50_000)).encode()
    stream = CountingReader(data)
    batches = open_auditd(stream, batch_size=100)
    first = next(batches)
    assert first.num_rows == 100
    assert stream.consumed < len(data) / 4
    assert sum(b.num_rows for b in batches) == 50_000 - 100


def test_errors_raise_carries_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "audit.log", LOG)
    with pytest.raises(ParseError) as info:
        read_auditd(path, errors="raise")
    assert (info.value.file, info.value.line) == (str(path), 7)
    assert "blank line" in str(info.value)


def test_unknown_error_mode_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="errors must be one of"):
        read_auditd(write(tmp_path / "a.log", LOG), errors="ignore")


def test_missing_input_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read_auditd(tmp_path / "nope.log")
    assert info.value.file == str(tmp_path / "nope.log")
    with pytest.raises(SourceError):
        open_auditd(tmp_path / "nope.log")  # raised at the call, not at the first next()


def test_rejects_without_a_log_warn(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="1 auditd line"):
        read_auditd(write(tmp_path / "a.log", LOG))


def test_bad_lines_do_not_stop_the_file(tmp_path: Path) -> None:
    data = (b"\x00\x01\x02garbage\n" + b"type=SYSCALL msg=audit(17000\n" + b"\xff\xfe not text at all\n"
            + b"type=SYSCALL msg=audit(1700000000.000:5): pid=1 comm=\"\xff\"\n"
            + b"x" * 3_000_000 + b"\n"
            + b"type=EOE msg=audit(1700000000.000:5): ")  # last line without newline
    log = RejectLog()
    t = read_auditd(write(tmp_path / "a.log", data), rejects=log)
    assert [(r.line, r.reason) for r in log] == [
        (1, "line is not text (binary data)"), (2, "malformed msg=audit(…) header"),
        (3, "not an audit record: no type= field"),
        (5, "line too long: 3000000 bytes (limit 1048576)")]
    assert t.to_pylist()[0]["record_types"] == ["SYSCALL", "EOE"]
    assert t.column("comm").to_pylist() == ["\\xff"]
    assert len(next(r for r in log if r.line == 5).raw) < 5000  # huge raw text is cut in the rejects
    assert records_in(t) + len(log) == line_count(data) == 6


def test_huge_valid_line(tmp_path: Path) -> None:
    """Over the default limit (the kernel splits long arguments over records), read when the
    limit is raised."""
    arg = "41" * 2_500_000
    data = f"type=EXECVE msg=audit(1700000000.000:5): argc=1 a0={arg}\ntype=EOE msg=audit(1700000000.000:5): \n"
    t = read_auditd_records(write(tmp_path / "a.log", data), rejects=RejectLog(),
                            max_line_bytes=8 << 20)
    assert dict(t.to_pylist()[0]["fields"])["a0"] == arg


def test_empty_input(tmp_path: Path) -> None:
    t = read_auditd(write(tmp_path / "a.log", b""), rejects=RejectLog())
    assert t.num_rows == 0 and t.schema.equals(AUDITD_EVENTS.arrow)
    assert t.schema.metadata[b"auditlens.lines"] == b"0"


def test_truncated_compressed_input_is_a_reject_not_a_crash(tmp_path: Path) -> None:
    packed = gzip.compress((LOG * 200).encode())
    log = RejectLog()
    t = read_auditd(write(tmp_path / "a.log.gz", packed[: len(packed) // 2]), rejects=log)
    assert t.num_rows > 0
    assert "could not be read" in list(log)[-1].reason
    assert records_in(t) + len(log) == int(t.schema.metadata[b"auditlens.lines"])


def test_values_too_big_for_their_column_become_null_with_a_warning(tmp_path: Path) -> None:
    data = "type=SYSCALL msg=audit(1700000000.000:5): pid=99999999999999999999999 syscall=2\n"
    with pytest.warns(UserWarning, match="did not fit"):
        t = read_auditd(write(tmp_path / "a.log", data), rejects=RejectLog())
    assert t.column("pid").to_pylist() == [None] and t.column("record_count").to_pylist() == [1]


LINE_PARTS = st.sampled_from([
    b"type=SYSCALL msg=audit(1700000000.000:1): pid=1 comm=\"a b\"",
    b"type=EOE msg=audit(1700000000.000:1): ",
    b"type=USER_LOGIN msg=audit(1700000001.000:2): pid=1 msg='op=login res=failed'",
    b"node=n type=PATH msg=audit(1700000009.000:3): name=2F78",
    b"type=SYSCALL msg=audit(", b"\x1d", b"AUID=\"x\"", b"\xff", b"\x00", b"\r", b" ", b"=", b"'", b"\"",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000),
                 st.lists(st.one_of(LINE_PARTS, st.just(b"\n"), st.binary(max_size=8)), max_size=60)
                 .map(b"".join)))
def test_nothing_lost_for_any_bytes(data: bytes) -> None:
    """Any bytes in: no crash, and every line is a record of some event or a reject."""
    if sniff_compression(data[:6]) is not None:
        data = b"#" + data  # compressed-looking garbage is tested separately
    log = RejectLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = read_auditd(io.BytesIO(data), rejects=log)
        r = read_auditd_records(io.BytesIO(data), rejects=RejectLog())
    assert records_in(t) + len(log) == line_count(data)
    assert r.num_rows == records_in(t)
    assert int(t.schema.metadata[b"auditlens.lines"]) == line_count(data)


def test_dash_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(LOG.encode()))
    monkeypatch.setattr("sys.stdin", fake)
    log = RejectLog()
    t = read_auditd("-", rejects=log)
    assert t.num_rows == 3 and set(t.column("file").to_pylist()) == {"-"}
    assert [(r.file, r.line) for r in log] == [("-", 7)]


def test_node_passwd_names_raw_uids(tmp_path: Path) -> None:
    passwd = write(tmp_path / "passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    t = read_auditd(write(tmp_path / "audit.log", LOG), passwd=passwd, rejects=RejectLog())
    assert t.column("auid_name").to_pylist()[0] == "alice"
    t2 = read_auditd(write(tmp_path / "audit.log", LOG), rejects=RejectLog())
    assert t2.column("auid_name").to_pylist()[0] is None  # never from the analyst's machine


def test_missing_passwd_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        read_auditd(write(tmp_path / "audit.log", LOG), passwd=tmp_path / "nope")
