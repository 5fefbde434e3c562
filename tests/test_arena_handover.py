"""A worker's part handed over through its arena (auditlens/scheduler/arena.py): the table the
parent rebuilds over the arena file is the table the worker had, whatever its layout (nulls,
slices, nested columns, columns made outside the arena), the fast paths' columns are not copied
again, the file goes once mapped, and every case the arena cannot serve falls back on the IPC
file. The ``jobs=N`` equality tests (test_parallel.py, test_k8s_*.py) run it through workers."""

from __future__ import annotations

import gc
import os
import pickle
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS

from auditlens import RejectLog, read_auditd, read_k8s_audit
from auditlens.auditd import native as auditd_native
from auditlens.k8s import native as k8s_native
from auditlens.scheduler import arena, handover, pool
from auditlens.scheduler.arena import Arena, pack, piece_arena
from auditlens.scheduler.handover import Part


@pytest.fixture(autouse=True)
def _as_a_pool_worker(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """These tests send parts as a pool worker does (the one that says otherwise excepted)."""
    if "not_a_pool_worker" not in request.node.name:
        monkeypatch.setattr(pool, "_pool_worker", True)


def test_a_part_pickled_not_a_pool_worker_carries_its_table(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Outside a pool worker (a Dask worker's result, which may cross machines; a user's
    pickle) a part's table travels in the pickle itself, and no arena is opened: a path to a
    file on this machine would mean nothing there."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    table = _nested_table()
    sent = Part(table=table, lines=3).__getstate__()
    assert "file" not in sent and "arena" in sent and sent["arena"] is None
    again = pickle.loads(pickle.dumps(Part(table=table, lines=3)))
    assert again.table.equals(table) and again.lines == 3
    with handover.piece_arena_here() as here:
        assert here is None
    assert _files(tmp_path) == []


def _files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _handed(table: pa.Table, folder: Path, **state: object) -> tuple[Part, dict[str, object]]:
    """``table`` sent as a worker sends it with an arena in ``folder``: the part the parent gets,
    and what went through the pipe."""
    part = Part(table=table, lines=7, arena=Arena(str(folder)), **state)  # type: ignore[arg-type]
    sent = part.__getstate__()
    back = Part.__new__(Part)
    back.__setstate__(pickle.loads(pickle.dumps(sent)))
    return back, sent


def test_part_sent_twice(tmp_path: Path) -> None:
    """A part pickled a second time (its arena handed over, its file cut to what it holds) goes
    as an IPC file, with the same table."""
    table = _nested_table()
    part = Part(table=table, arena=Arena(str(tmp_path)))
    first = part.__getstate__()
    again = pickle.loads(pickle.dumps(part))
    assert "file" not in first and again.table.equals(table)
    back = Part.__new__(Part)
    back.__setstate__(first)
    assert back.table is not None and back.table.equals(table)


def _nested_table() -> pa.Table:
    """Columns of every layout the readers make, with nulls at every level."""
    struct = pa.struct([("a", pa.int64()), ("b", pa.string())])
    return pa.table({
        "s": pa.array(["x", None, "", "ünï", "z" * 100]),
        "i": pa.array([1, None, 3, 4, 5], pa.int32()),
        "t": pa.array([0, 1, None, 3, 4], pa.timestamp("us", tz="UTC")),
        "b": pa.array([True, None, False, True, False]),
        "l": pa.array([["a", None], None, [], ["b"], ["c", "d", "e"]], pa.list_(pa.string())),
        "m": pa.array([[("k", ["v", None])], None, [], [("k2", None)], [("a", []), ("b", ["c"])]],
                      pa.map_(pa.string(), pa.list_(pa.string()))),
        "ms": pa.array([[("k", "v")], [("k", None)], None, [], [("x", "y")]],
                       pa.map_(pa.string(), pa.string())),
        "st": pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": None}, {"a": 4, "b": "y"},
                        {"a": 5, "b": ""}], struct),
        "ls": pa.array([[{"a": 1, "b": "p"}, None], None, [], [{"a": None, "b": "q"}], None],
                       pa.list_(struct)),
    })


@pytest.mark.parametrize("shape", ["whole", "sliced", "chunked", "empty"])
def test_round_trip_of_every_layout(tmp_path: Path, shape: str) -> None:
    """Nulls, nested lists, maps and structs, slices (offsets at every level), several chunks,
    no rows: the parent's table equals the worker's, and schema metadata travels with it."""
    table = _nested_table().replace_schema_metadata({"auditlens.lines": "5"})
    if shape == "sliced":
        table = table.slice(1, 3)
    elif shape == "chunked":
        table = pa.concat_tables([table.slice(0, 2), table.slice(2), table.slice(1, 1)])
    elif shape == "empty":
        table = table.slice(5)
    back, sent = _handed(table, tmp_path, coerced=2)
    assert isinstance(sent["arena"], tuple), sent
    assert back.table is not None
    back.table.validate(full=True)
    assert back.table.equals(table, check_metadata=True)
    assert [c.num_chunks for c in back.table.columns] == [c.num_chunks for c in table.columns]
    assert (back.lines, back.coerced, back.arena) == (7, 2, None)
    assert _files(tmp_path) == []  # removed once mapped


def test_rest_of_the_part_travels_in_the_arena(tmp_path: Path) -> None:
    """Rejects and the like go into the arena file's tail: the pipe carries only its name."""
    from auditlens.errors import InvalidLine

    rejects = [InvalidLine("f.log", k, "bad", "x" * 1000) for k in range(200)]
    back, sent = _handed(_nested_table(), tmp_path, rejects=rejects, n_rejects=200)
    assert len(pickle.dumps(sent)) < 1000
    assert back.rejects == rejects and back.n_rejects == 200


def test_fast_path_columns_are_not_copied_again(tmp_path: Path) -> None:
    """The columns the C fast path wrote into the arena are handed over where they lie: packing
    the table copies only what was made elsewhere (the times computed in Arrow)."""
    if k8s_native.Builder is None:
        pytest.skip("the C fast path is not compiled")
    sample = SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log"
    with piece_arena(str(tmp_path)) as here:
        table = read_k8s_audit(sample)
    assert here is not None and here.used > 0
    plain = read_k8s_audit(sample)
    assert table.equals(plain)
    for name in ("verb", "user", "groups", "user_extra", "annotations", "line"):
        for chunk in table.column(name).chunks:
            assert all(here.where(b) is not None for b in chunk.buffers() if b is not None), name
    written = here.used
    layouts = pack(table, here)
    copied = here.used - written
    computed = sum(table.column(n).nbytes for n in ("time", "latency", "request_received"))
    assert 0 < copied <= computed + 64 * 3 * table.column(0).num_chunks * 2
    assert len(layouts) == table.num_columns
    back, _ = _handed(table, tmp_path)
    assert back.table is not None and back.table.equals(plain)


def test_auditd_fast_path_writes_into_the_arena(tmp_path: Path) -> None:
    """The auditd events' columns (the same _columns.h) land in the arena too, and read back
    equal to those of a read without one."""
    if auditd_native.Parser is None:
        pytest.skip("the C fast path is not compiled")
    sample = SAMPLE_LOGS / "auditd" / "node-a"
    with piece_arena(str(tmp_path)) as here:
        table = read_auditd(sample, rejects=RejectLog())
    assert here is not None and here.used > 0
    assert here.where(table.column("line").chunks[0].buffers()[1]) is not None
    back, _ = _handed(table, tmp_path)
    assert back.table is not None and back.table.equals(read_auditd(sample, rejects=RejectLog()))


def test_arena_removed_when_not_handed_over(tmp_path: Path) -> None:
    """A part read in the process that keeps it is never sent: its arena's file goes with it."""
    here = Arena(str(tmp_path))
    assert bytes(here.write(b"abc")) == b"abc"
    assert len(_files(tmp_path)) == 1
    del here
    gc.collect()
    assert _files(tmp_path) == []


def test_arena_that_cannot_grow_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """A full RAM disk: the builder's buffers are then bytes of their own, and the hand-over
    falls back on the IPC file; the table is the same."""
    def full(fd: int, data: object, offset: int) -> int:
        raise OSError(28, "No space left on device")

    here = Arena(str(tmp_path))
    monkeypatch.setattr(os, "pwrite", full)
    copy = here.write(b"0123456789")
    assert copy == b"0123456789" and isinstance(copy, bytes)
    table = _nested_table()
    part = Part(table=table, arena=here)
    sent = part.__getstate__()
    monkeypatch.undo()
    assert "file" in sent and "arena" not in sent
    back = Part.__new__(Part)
    back.__setstate__(sent)
    assert back.table is not None and back.table.equals(table)
    del here, part
    gc.collect()
    assert _files(tmp_path) == []


def test_table_it_cannot_describe_falls_back(tmp_path: Path) -> None:
    """A dictionary column (no reader makes one) goes through the IPC file."""
    table = pa.table({"d": pa.array(["a", "b", "a", None]).dictionary_encode()})
    back, sent = _handed(table, tmp_path)
    assert "file" in sent
    assert back.table is not None and back.table.equals(table)
    assert _files(tmp_path) == []


def test_buffers_of_the_arena_are_aligned_and_kept(tmp_path: Path) -> None:
    """Every buffer starts at a multiple of 64 bytes, reads back as written (across segments),
    and is found in the arena."""
    here = Arena(str(tmp_path))
    data = [os.urandom(n) for n in (1, 7, 100, 3 << 20, 9 << 20, 5, 0)]
    views = [here.write(d) for d in data]
    assert [bytes(v) for v in views] == data
    for v in views[:-1]:
        buf = pa.py_buffer(v)
        assert buf.address % 64 == 0
        at = here.where(buf)
        assert at is not None and at % 64 == 0


def test_where_a_piece_arena_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules of the IPC file: none in the process that keeps its rows; in a worker the RAM
    disk when it has room and the user chose no temporary directory, else that directory."""
    monkeypatch.setattr(pool, "_pool_worker", False)
    with handover.piece_arena_here() as here:
        assert here is None and arena.current() is None
    monkeypatch.setattr(pool, "_pool_worker", True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(handover, "_ram_has_room", lambda nbytes: True)
    with handover.piece_arena_here() as here:
        assert here is not None and here.folder == handover._RAM_DIR
        assert arena.current() is here
    assert arena.current() is None
    monkeypatch.setattr(handover, "_ram_has_room", lambda nbytes: False)
    with handover.piece_arena_here() as here:
        assert here is not None and here.folder == str(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.undo()  # _ram_has_room itself: TMPDIR set means no RAM disk
    monkeypatch.setattr(pool, "_pool_worker", True)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with handover.piece_arena_here() as here:
        assert here is not None and here.folder == str(tmp_path)


def test_pages_no_buffer_uses_are_freed(tmp_path: Path) -> None:
    """Columns the worker wrote and then replaced are not handed over: their pages go."""
    here = Arena(str(tmp_path))
    first, dropped, last = (here.write(os.urandom(1 << 20)) for _ in range(3))
    kept = [(here.where(pa.py_buffer(v)), v.nbytes) for v in (first, last)]
    assert all(at is not None for at, _ in kept)
    path = here.hand_over(kept)  # type: ignore[arg-type]
    allocated = os.stat(path).st_blocks * 512
    if allocated >= 3 << 20:
        pytest.skip("this file system cannot free a file's pages (punch a hole)")
    assert (2 << 20) <= allocated < (2 << 20) + 3 * 4096
    with open(path, "rb") as f:
        data = f.read()
    assert data[:1 << 20] == first and data[-(1 << 20):] == last
    os.unlink(path)
