"""``jobs=`` / ``--jobs``: pieces parsed in worker processes give exactly the one-process output.

Pieces are made tiny here (``chunk_bytes``) so that cuts fall inside events, inside rotated
sets and inside multi-line JSON values; each case also checks which path the merge took
(carried over the cut, or the fallback), so a test cannot pass by never cutting.
"""

from __future__ import annotations

import dataclasses
import io
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_LOGS

import auditlens
from auditlens import scheduler
from auditlens.auditd import assemble, lexer, native, parallel, stream
from auditlens.auditd import event_row as rows
from auditlens.auditd.lexer import MAX_LINE_BYTES
from auditlens.auditd.model import Record
from auditlens.cli import cli
from auditlens.errors import InvalidLine, ParseError
from auditlens.k8s import parallel as k8s_parallel
from auditlens.scheduler import handover, pieces
from auditlens.scheduler import pool as scheduler_pool

LIMIT = MAX_LINE_BYTES
"""The auditd reader's default line limit, for pieces read here."""
NODES = [str(SAMPLE_LOGS / "auditd" / "node-a"), str(SAMPLE_LOGS / "auditd" / "node-b")]


def _events(source: object, chunk: int, **kw: object) -> tuple[pa.Table, list, list, bool]:
    """(parallel table, its rejects, the one-process rejects, whether it fell back); the
    one-process table is compared inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one, many = auditlens.RejectLog(), auditlens.RejectLog()
        want = auditlens.read_auditd(source, rejects=one, **kw)  # type: ignore[arg-type]
        merge = parallel._AuditdEventsMerge(source, "collect", many, 2, chunk,  # type: ignore[arg-type]
                                            None, None)
        got = parallel._auditd_table(merge, want.schema)
    assert merge.pieces is not None and len(merge.pieces) >= 2  # really cut
    assert got.equals(want, check_metadata=True)
    return got, list(many), list(one), merge.fell_back


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_auditd_sample_logs_cut_everywhere() -> None:
    """Real auditd 3.0.9 logs without EOE: events close by time, across cuts and rotations."""
    _, many, one, fell_back = _events(NODES, 3000)
    assert many == one
    assert not fell_back


def test_auditd_corpora(corpora: Path) -> None:
    got, many, one, fell_back = _events(str(corpora / "auditd"), 64 * 1024)
    assert many == one and len(many) > 0
    assert got.num_rows > 1000
    assert not fell_back


def _stamp(sec: int, serial: int) -> str:
    return f"msg=audit({sec}.100:{serial})"


def test_auditd_events_straddling_cuts_with_eoe(tmp_path: Path) -> None:
    """Interleaved events whose EOE comes after the next event began: every cut splits one."""
    lines = []
    for i in range(300):
        sec = 1_700_000_000 + i // 50
        lines += [(f"type=SYSCALL {_stamp(sec, i)}: arch=c000003e syscall=59 success=yes exit=0 "
                  f'pid={i} uid=0 auid=1000 comm="x" exe="/bin/x" key=(null)'),
                  f'type=CWD {_stamp(sec, i)}: cwd="/"']
        if i:
            lines.append(f"type=EOE {_stamp(1_700_000_000 + (i - 1) // 50, i - 1)}: ")
        if i % 7 == 0:
            lines.append("garbage line that is not a record")
    path = _write(tmp_path / "audit.log", lines)
    got, many, one, fell_back = _events(path, 700)
    assert many == one and len(one) == 43
    assert set(got.column("record_count").to_pylist()) == {2, 3}
    assert not fell_back


def test_auditd_fallback_keeps_output_identical(tmp_path: Path) -> None:
    """A user-space record joining an open kernel event across a cut: the merge cannot prove
    what one assembler would do from the pieces alone, so the read falls back."""
    pad = [f"type=USER_LOGIN {_stamp(1_700_000_000, 1000 + i)}: pid=1 uid=0 res=success"
           for i in range(40)]
    lines = [*pad, f"type=SYSCALL {_stamp(1_700_000_000, 7)}: syscall=2 success=yes",
             *pad[:1], f"type=USER_CMD {_stamp(1_700_000_000, 7)}: pid=1 uid=0 res=success", *pad]
    path = _write(tmp_path / "audit.log", lines)
    cut = len("".join(line + "\n" for line in lines[:42]))
    _, many, one, fell_back = _events(path, cut)
    assert fell_back
    assert many == one


AUDIT_LOG = SAMPLE_LOGS / "auditd" / "node-a" / "var" / "log" / "audit" / "audit.log.1"


@pytest.mark.parametrize("way", ["native", "python"])
def test_open_events_come_with_the_workers_rows(way: str, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    """A worker hands the events open at its piece's end over with their rows as if they closed
    with the records they have (on these logs, without EOE records, most do), made by the piece's
    own path: on the C path from lines it did not lex in Python. Those rows are the one-process
    rows of the events that did close so."""
    if way == "python":
        monkeypatch.setattr(native, "Parser", None)
    elif native.Parser is None:
        pytest.skip("the auditd C fast path is not compiled")
    want = {row["line"]: row for row in auditlens.read_auditd(str(AUDIT_LOG)).to_pylist()}
    pieces = scheduler.plan_pieces(auditlens.sources.expand_sources(str(AUDIT_LOG)), 3000, 2)
    assert pieces is not None
    offset = compared = 0
    for piece in pieces:
        part = parallel._auditd_events_work(piece, errors="collect", keep=True,
                                            ids=stream.id_names(None, None), max_line=LIMIT)
        if part.tails:
            assert part.tail_table is not None and part.tail_table.num_rows == len(part.tails)
            lexed = [isinstance(item, Record) for _, items in part.tails for item in items]
            assert all(lexed) if way == "python" else not any(lexed)
            for row in scheduler.shift(part.tail_table, offset).to_pylist():
                one = want.get(row["line"])  # None: the rest of an event begun before the cut
                if one is not None and one["record_count"] == row["record_count"]:
                    assert row == one
                    compared += 1
        offset += part.lines
    assert compared > 50


def test_the_parent_uses_the_workers_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events open at a cut go out with the worker's row unless records were added to them in
    this process (which tiny pieces make common)."""
    closed: list[tuple[bool, bool]] = []
    close = parallel._AuditdEventsMerge._close

    def spy(merge: parallel._AuditdEventsMerge, item: parallel._Open) -> None:
        close(merge, item)
        closed.append((isinstance(item.row, tuple), item.grown))

    monkeypatch.setattr(parallel._AuditdEventsMerge, "_close", spy)
    _, many, one, fell_back = _events(str(AUDIT_LOG), 3000)
    assert many == one and not fell_back
    assert all(worker != grown for worker, grown in closed)
    assert sum(grown for _, grown in closed) > 10 and sum(w for w, _ in closed) > 100


@contextmanager
def _thread_workers(count: int, warm: tuple[str, ...] = ()) -> Iterator[object]:
    """A read's workers as threads of this process, without shared ends (no take-overs)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(count) as pool:
        yield SimpleNamespace(executor=pool, ends=None)


def test_failed_events_across_cuts_count_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """An event whose row cannot be made (an interpretation bug) keeps its provenance columns
    and counts once in the warning, whether it closed in a piece, at a cut with the worker's
    row or with records added in this process. Workers are threads here, so that the broken
    interpreter reaches them."""
    monkeypatch.setattr(native, "Parser", None)  # every row is made by event_row
    monkeypatch.setattr(scheduler.merge, "workers", _thread_workers)
    event_row = rows.event_row

    def broken(ev: object, ids: object) -> dict[str, object]:
        if ev.serial % 3 == 0:  # type: ignore[attr-defined]
            raise RuntimeError("boom")
        return event_row(ev, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "event_row", broken)
    tails: list[bool] = []
    closed_tails = parallel._closed_tails

    def spy(events: list[object], ids: object) -> pa.Table | None:
        table = closed_tails(events, ids)
        tails.append(table is None)
        return table

    monkeypatch.setattr(parallel, "_closed_tails", spy)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        want = auditlens.read_auditd(NODES)
        merge = parallel._AuditdEventsMerge(NODES, "collect", None, 2, 3000, None, None)
        got = parallel._auditd_table(merge, want.schema)
    assert got.equals(want, check_metadata=True) and not merge.fell_back
    told = [str(w.message) for w in seen if "could not be interpreted" in str(w.message)]
    assert len(told) == 2 and told[0] == told[1]
    assert any(tails) and not all(tails)  # some pieces' open events had a failed row


def test_auditd_records_table(corpora: Path) -> None:
    src = str(corpora / "auditd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one, many = auditlens.RejectLog(), auditlens.RejectLog()
        want = auditlens.read_auditd_records(src, rejects=one)
        got = parallel.read_auditd_records(src, errors="collect", rejects=many, jobs=2,
                                           chunk_bytes=64 * 1024)
    assert got.equals(want, check_metadata=True)
    assert list(many) == list(one)


def _k8s(source: object, chunk: int) -> tuple[k8s_parallel._K8sMerge, list, list]:
    """(the merge, its rejects, the one-process rejects); the tables are compared inside."""
    one, many = auditlens.RejectLog(), auditlens.RejectLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = auditlens.read_k8s_audit(source, rejects=one)  # type: ignore[arg-type]
        merge = k8s_parallel._K8sMerge(source, "collect", many, 2, chunk, True, None)  # type: ignore[arg-type]
        got = pa.Table.from_batches(list(merge.batches()), schema=want.schema)
        got = scheduler.with_meta(got, merge.counts())
    assert got.equals(want, check_metadata=True)
    return merge, list(many), list(one)


def test_k8s_json_lines_cut_without_fallback(corpora: Path) -> None:
    src = [str(SAMPLE_LOGS / "k8s"), str(corpora / "k8s" / "falcosecurity__falco")]
    merge, many, one = _k8s(src, 2000)
    assert merge.pieces is not None and len(merge.pieces) > 2
    assert not merge.fell_back
    assert many == one


def test_k8s_corpora_with_multiline_values(corpora: Path) -> None:
    """Pretty-printed values and partial container records open at a cut force the fallback."""
    merge, many, one = _k8s(str(corpora / "k8s"), 3000)
    assert merge.fell_back and merge.delivered > 0  # rows before the bad cut were kept
    assert many == one and len(one) > 0


def test_strict_error_names_the_file_wide_line(tmp_path: Path) -> None:
    good = f"type=USER_LOGIN {_stamp(1_700_000_000, 1)}: pid=1 uid=0 res=success"
    path = _write(tmp_path / "audit.log", [good] * 200 + ["not a record"] + [good] * 10)
    with pytest.raises(ParseError) as one:
        auditlens.read_auditd(path, errors="raise")
    with pytest.raises(ParseError) as many:
        parallel.read_auditd(path, passwd=None, group=None, errors="raise", rejects=None,
                             jobs=2, chunk_bytes=2000)
    assert (many.value.file, many.value.line) == (one.value.file, one.value.line) == (path, 201)


def test_jobs_through_the_public_readers_and_streams() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = auditlens.read_k8s_audit(str(SAMPLE_LOGS / "k8s"))
        stream = io.BytesIO((SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log").read_bytes())
        # a stream cannot go to a worker: read here, same result
        alone = auditlens.read_k8s_audit(stream, jobs=2)
    assert alone.num_rows == 33
    assert auditlens.read_k8s_audit(str(SAMPLE_LOGS / "k8s"), jobs=0).equals(want)
    with pytest.raises(ValueError, match="jobs"):
        auditlens.read_auditd(NODES, jobs=-2)


def test_cli_jobs_gives_the_same_file(tmp_path: Path) -> None:
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"events-{jobs}.parquet"
        res = CliRunner().invoke(cli, ["parse", *NODES, "-o", str(out), "--jobs", jobs])
        assert res.exit_code == 0, res.output
        outs.append(pq.read_table(out))
    assert outs[0].equals(outs[1])
    assert outs[0].num_rows == 1360


@pytest.mark.parametrize(("size", "chunk", "jobs"), [(1000, 300, 2), (1000, 600, 2), (1000, 600, 3),
                                                     (5000, 1000, 4), (990, 100, 1)])
def test_large_files_are_cut_into_a_multiple_of_jobs(tmp_path: Path, size: int, chunk: int,
                                                     jobs: int) -> None:
    """Pieces no larger than about ``chunk_bytes``, as many as keep every worker busy to the end
    (5 pieces for 2 workers left one worker idle for a whole piece)."""
    line = b"x" * 9 + b"\n"
    path = tmp_path / "big.log"
    path.write_bytes(line * (size // len(line)))
    pieces = scheduler.plan_pieces(auditlens.sources.expand_sources(str(path)), chunk, jobs)
    assert pieces is not None
    assert len(pieces) % jobs == 0 and len(pieces) >= -(-size // chunk)
    sizes = [p.size for p in pieces]
    assert sum(sizes) == size and max(sizes) <= chunk + len(line)
    assert all(p.start % len(line) == 0 for p in pieces)  # cut after a newline


def test_a_part_travels_through_a_temporary_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers send a part as a memory-mapped file that the parent unlinks at once: the table,
    and the rest (open events, rejects) pickled into its metadata, so the result pipe carries only
    a name (a pipe the parent's pool thread reads 64 KB at a time kept workers waiting); with no
    usable temporary directory all of it goes through the pipe."""
    import pickle
    import tempfile

    monkeypatch.setattr(scheduler_pool, "_pool_worker", True)  # sent as a pool worker sends it
    table = auditlens.read_auditd(f"{NODES[0]}/var/log/audit")
    bad = InvalidLine("x.log", 3, "not an audit record", "junk")
    part = parallel._Part(table=table, lines=7, rejects=[bad], n_rejects=1,
                          tails=[(5, ["record"] * 50_000)], tail_table=table.slice(0, 1))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    sent = pickle.dumps(part)
    assert len(sent) < 1_000 < table.nbytes  # neither the rows nor the open events
    assert len(list(tmp_path.iterdir())) == 1
    got = pickle.loads(sent)
    assert got.table.equals(table, check_metadata=True) and got.lines == 7
    assert got.rejects == [bad] and got.tails == part.tails
    assert got.tail_table is not None and got.tail_table.equals(table.slice(0, 1))
    assert list(tmp_path.iterdir()) == []  # unlinked by the receiver
    failed = pickle.loads(pickle.dumps(handover.Part(error=ValueError("boom"))))
    assert failed.table is None and str(failed.error) == "boom"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    sent = pickle.dumps(part)
    assert len(sent) > table.nbytes // 2
    assert pickle.loads(sent).table.equals(table)


def test_parts_go_to_the_ram_directory_when_it_has_room(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A part goes to the RAM-backed directory (half the cost of a disk-backed /tmp) only while it
    leaves room there and the user chose no temporary directory; a full or unusable one falls
    back to the temporary directory."""
    import tempfile

    ram, disk = tmp_path / "ram", tmp_path / "disk"
    ram.mkdir()
    disk.mkdir()
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)

    def gettempdir() -> str:
        tempfile.tempdir = str(disk)  # as the real one, which caches what it found
        return str(disk)

    monkeypatch.setattr(tempfile, "gettempdir", gettempdir)
    monkeypatch.setattr(handover, "_RAM_DIR", str(ram))
    monkeypatch.setattr(handover, "_RAM_SPARE", 0)
    table = pa.table({"n": list(range(1000))})

    def lands() -> str:
        path = Path(handover._to_file(table, b"rest"))
        got, rest = handover._from_file(str(path))
        assert got.equals(table) and rest == b"rest" and not path.exists()
        return path.parent.name

    assert lands() == "ram"
    monkeypatch.setattr(handover, "_RAM_SPARE", 1 << 62)  # no room left after this part
    assert lands() == "disk"
    monkeypatch.setattr(handover, "_RAM_SPARE", 0)
    monkeypatch.setenv("TMPDIR", str(disk))  # the user's choice wins
    assert lands() == "disk"
    monkeypatch.delenv("TMPDIR")
    monkeypatch.setattr(handover, "_RAM_DIR", str(tmp_path / "missing"))
    assert lands() == "disk"
    real_write = handover._write_piece

    def full(part: pa.Table, folder: str) -> str:
        if folder == str(ram):
            raise OSError(28, "No space left on device")
        return real_write(part, folder)

    monkeypatch.setattr(handover, "_RAM_DIR", str(ram))
    monkeypatch.setattr(handover, "_write_piece", full)
    assert lands() == "disk"
    assert list(ram.iterdir()) == [] and list(disk.iterdir()) == []


def _pid_of(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


class _Teardown:
    write = staticmethod(os.write)  # bound now: no imports during the teardown

    def __del__(self) -> None:
        self.write(1, b"torn down\n")


_KEPT: list[_Teardown] = []


def _print_and_keep(item: int) -> int:
    print(f"worker read {item}", end="")  # buffered (stdout is a file here) until flushed
    _KEPT.append(_Teardown())  # freed only by the interpreter's teardown
    return item


def test_workers_end_without_the_interpreters_teardown(capfd: pytest.CaptureFixture[str]) -> None:
    """The parent waits for its workers to end after every read; they skip the teardown
    (freeing every module) but flush what they printed, and end with status 0."""
    with scheduler.worker_pool(1) as pool:
        assert pool.submit(_print_and_keep, 7).result() == 7
        workers = list(pool._processes.values())
    out = capfd.readouterr().out
    assert "worker read 7" in out and "torn down" not in out
    assert [worker.exitcode for worker in workers] == [0]


_BLAS_PROBE = """
import os


def threads():
    import numpy  # noqa: F401 - the import starts OpenBLAS's threads, unless told not to

    return os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task"))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="threads counted in /proc")
@pytest.mark.parametrize("asked", [None, "2"])
def test_workers_start_no_blas_threads_unless_the_user_asked(
        asked: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker imports numpy (pyarrow does) and does no linear algebra: OpenBLAS's threads,
    which spin for a tenth of a second of a core, are not started; a setting of the user's is
    kept. (The probe is a module of its own: this one imports pyarrow, whose threads would count.)"""
    pytest.importorskip("numpy")
    (tmp_path / "blas_probe.py").write_text(_BLAS_PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import blas_probe

    if asked is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", asked)
    with scheduler.worker_pool(1) as pool:
        setting, threads = pool.submit(blas_probe.threads).result()
    assert setting == (asked or "1")
    if asked is None:
        assert threads == 1  # numpy imported, and no thread of OpenBLAS's beside this one


def test_this_process_reads_beside_its_workers() -> None:
    """``jobs=N`` is this process and N-1 workers: results come in order, this process reads
    the first item (while the workers start) and the worker gets items too."""
    with scheduler.worker_pool(1) as pool:
        got = list(scheduler.in_order(pool, 1, _pid_of, list(range(12))))
    assert [item for item, _ in got] == list(range(12))
    assert [square for _, (square, _) in got] == [i * i for i in range(12)]
    readers = [pid for _, (_, pid) in got]
    assert readers[0] == os.getpid() and readers[1] != os.getpid()
    assert len(set(readers)) == 2


def _slow_here(item: tuple[int, int]) -> int:
    """A piece that takes this process (``item[1]``) 0.1 s and a worker no time."""
    import time

    if os.getpid() == item[1]:
        time.sleep(0.1)
    return os.getpid()


def test_the_slower_reader_reads_less() -> None:
    """Items are not shared out in fixed turns: this process reads the next item each time it
    is free, so when it is the slower reader the worker reads more. With fixed turns this
    process would read 45 of these 90 items; here about a third (the worker may get two items
    ahead of it) and a few more while the worker starts."""
    me = os.getpid()
    items = [(i, me) for i in range(90)]
    with scheduler.worker_pool(1) as pool:
        got = list(scheduler.in_order(pool, 1, _slow_here, items))
    assert [item for item, _ in got] == items
    mine = sum(pid == me for _, pid in got)
    assert got[0][1] == me and 20 <= mine <= 38


def _text(spans: Iterable[tuple[bytes, int, int]]) -> bytes:
    return b"".join(block[start:end] for block, start, end in spans)


@pytest.mark.parametrize("tail", [b"", b"the last line, without its newline"])
def test_a_piece_is_read_in_spans_of_whole_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 tail: bytes) -> None:
    """A worker reads its piece in blocks, so that this process can move the piece's end between
    them: the spans are the piece's bytes, cut only after a newline (a line longer than a block
    comes whole, as a block of its own), each block read once and not copied, and the piece's
    lines are the lines of those bytes."""
    monkeypatch.setattr(pieces, "BLOCK_BYTES", 64)
    lines = [b"x" * n + b"\n" for n in (3, 70, 0, 150, 5, 63, 64, 1)] * 5
    data = b"".join(lines) + tail
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    cut = len(b"".join(lines[:9]))
    for start, end in ((0, cut), (cut, None), (0, None)):
        piece = pieces.Piece(str(path), str(path), 0, start, end, whole=False)
        spans = list(piece.spans(LIMIT))
        assert _text(spans) == data[start:end]
        assert all(block[e - 1:e] == b"\n" for block, _, e in spans[:-1])
        assert all(0 <= s < e <= len(block) <= pieces.BLOCK_BYTES or (s, e) == (0, len(block))
                   for block, s, e in spans)
        assert len(spans) > len(data[start:end]) // 150
        want = [line.rstrip(b"\n") for line in io.BytesIO(data[start:end])]
        assert [line for _, line in piece.lines(LIMIT)] == want


def test_this_process_takes_over_the_rest_of_a_piece(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared ends as a worker and this process use them (here both in this process): the
    end of a piece being read moves back to a line start halfway through what the worker has not
    claimed; the worker stops there and this process reads the rest, each line once. A piece
    with little left is left alone, and so is one the worker claimed past the cut meanwhile."""
    monkeypatch.setattr(pieces, "BLOCK_BYTES", 1000)
    monkeypatch.setattr(pieces, "STEAL_MIN", 1000)
    data = b"".join(b"line %d %s\n" % (i, b"y" * (i % 50)) for i in range(2000))
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    ends = pieces.SharedEnds(2)
    piece, other = ends.place([pieces.Piece(str(path), str(path), 0, 0, None, whole=False)] * 2)
    ends.open(piece)
    ends.open(other)
    assert (piece.slot, other.slot) == (0, 1) and ends.left(piece) == len(data)
    monkeypatch.setattr(pieces, "_shared_ends", ends.array)  # as in a worker
    spans = piece.spans(LIMIT)
    read = _text([next(spans)])
    assert ends.left(piece) == len(data) - 1000  # the next block is claimed
    cut = ends.split(piece)
    assert cut is not None and data[cut - 1:cut] == b"\n"
    assert 0 <= cut - (1000 + len(data)) // 2 < 100  # the next line start past the middle
    read += _text(spans)
    monkeypatch.setattr(pieces, "_shared_ends", None)  # this process
    rest = _text(dataclasses.replace(piece, start=cut, slot=-1).spans(LIMIT))
    assert (read, rest) == (data[:cut], data[cut:])
    assert ends.left(piece) == 0 and ends.split(piece) is None

    line_start = pieces._line_start

    def worker_moves_on(f: object, pos: int) -> int:
        at = line_start(f, pos)
        ends.array.get_obj()[3] = at + 1  # the worker claims past the cut before it is set
        return at

    monkeypatch.setattr(pieces, "_line_start", worker_moves_on)
    assert ends.split(other) is None and ends.array[2] == pieces._FOREVER


def _slowly(work: Callable[..., object], piece: pieces.Piece, **kw: object) -> object:
    """``work`` of a piece, read slowly in a worker (4 KB blocks, 5 ms each)."""
    import time

    if pieces._shared_ends is None:  # this process
        return work(piece, **kw)
    claim = pieces._claim

    def slow(piece: pieces.Piece, pos: int) -> int:  # named as _claim names it
        time.sleep(0.005)
        return claim(piece, pos)

    pieces.BLOCK_BYTES, pieces._claim = 4096, slow
    try:
        return work(piece, **kw)
    finally:
        pieces._claim = claim


class _SlowWorkerMerge(parallel._AuditdEventsMerge):
    def work(self) -> Callable[[pieces.Piece], object]:
        return partial(_slowly, parallel._auditd_events_work, errors=self.errors,
                       keep=self.log is not None, ids=self.ids, max_line=self.max_line)


class _SlowK8sMerge(k8s_parallel._K8sMerge):
    def work(self) -> Callable[[pieces.Piece], object]:
        return partial(_slowly, k8s_parallel._k8s_work, errors=self.errors, keep=True,
                       keep_objects=self.keep_objects, cluster=self.cluster,
                       max_line=self.max_line)


def _taken_over(monkeypatch: pytest.MonkeyPatch) -> list[pieces.Piece]:
    """The pieces this process takes over from now on (at least 4 KB each)."""
    monkeypatch.setattr(pieces, "STEAL_MIN", 4096)
    monkeypatch.setattr(scheduler_pool, "STEAL_MIN", 4096)
    taken: list[pieces.Piece] = []
    take_over = scheduler_pool._take_over

    def counted(held: object, ends: pieces.SharedEnds) -> object:
        slot = take_over(held, ends)  # type: ignore[arg-type]
        if slot is not None:
            taken.append(slot.item)
        return slot

    monkeypatch.setattr(scheduler_pool, "_take_over", counted)
    return taken


def test_the_rest_of_a_slow_workers_pieces_is_read_here_with_the_same_output(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a slow worker this process takes over the rest of its pieces again and again (in
    real reads: at the end, the last second or so of the slower reader); the table and rejects
    are still those of one process, events carried over every new cut included."""
    taken = _taken_over(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one, many = auditlens.RejectLog(), auditlens.RejectLog()
        want = auditlens.read_auditd(NODES, rejects=one)
        merge = _SlowWorkerMerge(NODES, "collect", many, 2, 100_000, None, None)
        got = parallel._auditd_table(merge, want.schema)
    assert len(taken) >= 3
    assert not merge.fell_back
    assert got.equals(want, check_metadata=True)
    assert list(many) == list(one)


def test_kubernetes_pieces_are_taken_over_with_the_same_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kubernetes workers read their byte ranges in claimed blocks too: this process takes over
    the rest of a slow worker's pieces, and the table, line account and rejects are those of one
    process (cut at line starts, JSON lines never straddle a take-over)."""
    taken = _taken_over(monkeypatch)
    lines = (SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log").read_bytes().splitlines(True)
    path = tmp_path / "audit.log"
    path.write_bytes(b"".join(lines * 12 + [b"{not json\n"] + lines * 12))
    one, many = auditlens.RejectLog(), auditlens.RejectLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = auditlens.read_k8s_audit(str(path), rejects=one)
        merge = _SlowK8sMerge(str(path), "collect", many, 2, 100_000, True, None)
        got = pa.Table.from_batches(list(merge.batches()), schema=want.schema)
        got = scheduler.with_meta(got, merge.counts())
    assert len(taken) >= 2 and not merge.fell_back
    assert got.equals(want, check_metadata=True)
    assert list(many) == list(one) and len(one) == 1


def test_without_shared_memory_a_read_goes_on_without_take_overs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No shared memory for the piece ends (a full /dev/shm and no usable temporary directory):
    the read goes on as before take-overs existed, with the same output."""
    tried: list[int] = []

    def no_room(self: pieces.SharedEnds, slots: int) -> None:
        tried.append(slots)
        raise OSError(28, "No space left on device")

    scheduler.stop_workers()  # a pool made now, without shared ends
    monkeypatch.setattr(pieces.SharedEnds, "__init__", no_room)
    _, many, one, fell_back = _events(NODES, 3000)
    scheduler.stop_workers()
    assert tried and tried[0] > 2
    assert many == one and not fell_back


def test_jobs_in_a_program_read_from_stdin_read_in_this_process() -> None:
    """Spawned workers run the main program's file first, which ``python -`` has not (each
    worker died, and the pool with it, in a traceback): such a read warns and runs here."""
    import subprocess
    import sys

    program = ("import auditlens\n"
               f"print(auditlens.read_auditd({str(AUDIT_LOG)!r}, jobs=2).num_rows)\n")
    done = subprocess.run([sys.executable, "-"], input=program, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(auditlens.read_auditd(str(AUDIT_LOG)).num_rows)
    assert "cannot start from a program read from standard input" in done.stderr
    assert "Traceback" not in done.stderr


def _node(root: Path, name: str, lines: list[str]) -> None:
    logs = root / name / "var" / "log" / "audit"
    logs.mkdir(parents=True)
    _write(logs / "audit.log", lines)


def test_a_fleet_report_reads_nodes_side_by_side(tmp_path: Path) -> None:
    """``jobs`` in report/collect: nodes read in worker processes give the same tables, rejects
    (in node order) and warnings as one process."""
    from auditlens.collect import collect

    sample = (SAMPLE_LOGS / "auditd" / "node-a" / "var" / "log" / "audit" / "audit.log")
    real = sample.read_text().splitlines()
    _node(tmp_path, "n1", [*real[:30], "not a record", *real[30:60]])
    _node(tmp_path, "n2", ["type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 "
                           "success=yes exit=0 pid=999999999999999999999999 ppid=1 comm=\"x\"",
                           "type=EOE msg=audit(1700000000.000:1): "])
    sources = [*NODES, str(tmp_path), str(SAMPLE_LOGS / "k8s")]
    got = []
    for jobs in (1, 2):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            got.append((collect(sources, jobs=jobs), [str(w.message) for w in seen]))
    (one, one_warned), (two, two_warned) = got
    assert two.auditd.equals(one.auditd) and two.k8s.equals(one.k8s)
    assert list(two.rejects) == list(one.rejects)
    assert any(r.reason and r.line == 31 for r in two.rejects)
    assert two_warned == one_warned and any("did not fit" in w for w in two_warned)
    with pytest.raises(ParseError) as err:
        collect(sources, jobs=2, errors="raise")
    assert err.value.line == 31 and err.value.file.endswith("n1/var/log/audit/audit.log")


@pytest.mark.filterwarnings("ignore:.*line\\(s\\) were rejected")
def test_jobs_0_on_one_cpu_reads_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """``jobs=0`` is one reader per CPU: with one CPU, no pool (a pool of no workers is an
    error), the same tables."""
    from auditlens import collect as collecting
    from auditlens.collect import collect

    def no_pool(*args: object) -> None:
        raise AssertionError("no pool with one reader")

    want, events = collect(NODES), auditlens.read_auditd(NODES)
    monkeypatch.setattr(scheduler_pool.os, "cpu_count", lambda: 1)
    monkeypatch.setattr(scheduler.merge, "workers", no_pool)
    monkeypatch.setattr(collecting, "workers", no_pool)
    assert collect(NODES, jobs=0).auditd.equals(want.auditd)
    assert auditlens.read_auditd(NODES, jobs=0).equals(events)


def test_cli_report_jobs_gives_the_same_report(tmp_path: Path) -> None:
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"report-{jobs}.csv"
        result = CliRunner().invoke(cli, ["report", "identity-changes", *NODES, "-o", str(out),
                                          "--jobs", jobs])
        assert result.exit_code == 0, result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1] and outs[0].count("\n") > 3


def _busy_log(path: Path, per_second: int, seconds: int) -> str:
    """A kernel log without EOE records (events close by time only), ``per_second`` one-record
    events in each of ``seconds`` seconds: every event stays open for two to three seconds."""
    lines = []
    for i in range(per_second * seconds):
        sec = 1_700_000_000 + i // per_second
        lines.append(f"type=SYSCALL {_stamp(sec, i)}: arch=c000003e syscall=2 success=yes exit=3 "
                     f'pid={i % 900 + 100} uid=0 auid=1000 comm="cat" exe="/usr/bin/cat" key=(null)')
    return _write(path, lines)


def _most_held(path: str) -> int:
    """The most events one assembler over the whole file holds at once."""
    from auditlens.auditd.assemble import Assembler

    asm, most = Assembler(), 0
    for number, raw in enumerate(Path(path).read_bytes().splitlines(), 1):
        asm.add(lexer.parse_line(raw, path, number))
        most = max(most, asm.pending)
    return most


def test_a_busy_cut_is_carried_when_one_assembler_would_hold_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a cut of a busy log thousands of events are open, and the next piece begins thousands
    more; one assembler holds both only while the carried ones are open, never the next piece's
    peak on top (which made the merge fall back, 4 reads in 9 on the benchmark log). Here one
    assembler holds at most 7,800 events; the events open at a cut (over 5,000) and a piece's
    own peak (the same 7,800: the log is steady) add up to more than 10,000; the merge carries
    them over the cuts with the same output."""
    path = _busy_log(tmp_path / "audit.log", 2600, 12)
    held = _most_held(path)
    assert 5000 < held < assemble.MAX_PENDING
    carried: list[int] = []
    take = parallel._AuditdEventsMerge.take

    def spy(self: parallel._AuditdEventsMerge, piece: object, part: object,
            offset: int) -> object:
        carried.append(len(self.carried))
        return take(self, piece, part, offset)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel._AuditdEventsMerge, "take", spy)
    _, many, one, fell_back = _events(path, 1 << 20)
    assert max(carried) > 5000 and max(carried) + held >= assemble.MAX_PENDING
    assert not fell_back and many == one


def test_a_cut_where_one_assembler_overflows_falls_back(tmp_path: Path) -> None:
    """Where one assembler would hold more than ``MAX_PENDING`` events (and close the oldest
    early), the merge cannot follow it from the pieces: the read falls back, same output."""
    path = _busy_log(tmp_path / "audit.log", 4000, 6)
    assert _most_held(path) == assemble.MAX_PENDING  # held at the bound: the oldest close early
    _, many, one, fell_back = _events(path, 1 << 20)
    assert fell_back and many == one


def test_k8s_reject_reasons_that_quote_a_line_fall_back(tmp_path: Path) -> None:
    """A reject reason that quotes a line number ("from line N" of a container record cut at the
    end of the input) would quote the piece's number, not the file's: the read falls back."""
    good = (SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log").read_bytes()
    partial = b"2024-01-01T00:00:00.000000000Z stdout P " + b"p" * 900 + b"\n"
    path = tmp_path / "audit.log"
    path.write_bytes(good + partial * 3)
    one, many = auditlens.RejectLog(), auditlens.RejectLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = auditlens.read_k8s_audit(str(path), rejects=one, max_line_bytes=2048)
        merge = k8s_parallel._K8sMerge(str(path), "collect", many, 2, 20_000, True, None,
                                       max_line=2048)
        got = pa.Table.from_batches(list(merge.batches()), schema=want.schema)
    assert [r.reason for r in one][-1].startswith("incomplete cri record too long")
    assert merge.fell_back and got.equals(want)
    assert list(many) == list(one)
