"""The durable store without the network: commit, dedup, recovery, rotation, retention."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

import auditlens
from auditlens.serve.batch import Batch, MalformedBatch, decode_batch
from auditlens.serve.journal import Record
from auditlens.serve.store import STATE_DIR, Outcome, Store, StoreLocked


def _events(tag: str, n: int) -> list[dict]:
    return [{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
             "auditID": f"{tag}-{i}", "stage": "ResponseComplete", "verb": "get",
             "requestURI": f"/api/v1/namespaces/ns/pods/p{i}", "user": {"username": "alice"},
             "sourceIPs": ["10.0.0.1"], "objectRef": {"resource": "pods", "namespace": "ns"},
             "responseStatus": {"code": 200},
             "requestReceivedTimestamp": "2024-05-01T10:00:00.000001Z",
             "stageTimestamp": f"2024-05-01T10:00:0{i % 10}.000002Z"} for i in range(n)]


def _batch(tag: str, n: int = 3, source: str = "prod") -> Batch:
    body = orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": _events(tag, n)})
    return decode_batch(body, source)


class Clock:
    def __init__(self, t: float = 1_714_557_600.0) -> None:  # 2024-05-01T10:00:00Z
        self.t = t

    def __call__(self) -> float:
        return self.t


def _store(root: Path, clock: Clock | None = None, **kw: object) -> Store:
    s = Store(root, clock=clock or Clock(), **kw)  # type: ignore[arg-type]
    s.open()
    return s


def _stored_ids(root: Path, *, active: bool = True) -> list[str]:
    pattern = "*/*/*.jsonl*" if active else "*/*/audit-*.jsonl"
    ids = []
    for p in sorted(root.glob(pattern)):
        ids += [orjson.loads(line)["auditID"] for line in p.read_bytes().splitlines()]
    return ids


def _crash(store: Store) -> None:
    """Drop the store without closing anything (what SIGKILL leaves)."""
    for af in store.active.values():
        os.close(af.fd)
    store.journal.close()
    os.close(store._lock_fd)


def test_decode_accepts_v1_v1beta1_and_a_single_event() -> None:
    for version in ("audit.k8s.io/v1", "audit.k8s.io/v1beta1"):
        b = decode_batch(orjson.dumps({"kind": "EventList", "apiVersion": version,
                                       "items": _events("x", 2)}), "c")
        assert b.events == 2 and all(orjson.loads(x)["auditID"].startswith("x-") for x in b.lines)
    one = decode_batch(orjson.dumps(_events("y", 1)[0]), "c")
    assert one.events == 1
    same = [orjson.loads(x) for x in one.lines]
    assert same == _events("y", 1)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"kind":"EventList","apiVersion":"v1","items":[]}',
                                  b'{"kind":"Pod","apiVersion":"audit.k8s.io/v1"}',
                                  b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"a"}]}'])
def test_decode_refuses_what_is_not_an_event_list(body: bytes) -> None:
    with pytest.raises(MalformedBatch):
        decode_batch(body, "c")


def test_the_digest_is_the_events_not_the_spelling() -> None:
    events = _events("d", 4)
    a = decode_batch(orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events}), "c")
    b = decode_batch(orjson.dumps({"apiVersion": "audit.k8s.io/v1", "kind": "EventList",
                                   "items": events[::-1]}, option=orjson.OPT_INDENT_2), "c")
    other = decode_batch(orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                                       "items": events[:3]}), "c")
    assert a.digest == b.digest != other.digest
    assert decode_batch(orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                                      "items": events}), "elsewhere").digest != a.digest


def test_a_resent_batch_is_stored_once_also_after_a_restart(tmp_path: Path) -> None:
    s = _store(tmp_path)
    a, b = _batch("a"), _batch("b")
    assert s.commit([a, b, a]) == [Outcome.STORED, Outcome.STORED, Outcome.DUPLICATE]
    assert s.commit([a]) == [Outcome.DUPLICATE]
    _crash(s)
    s2 = _store(tmp_path)
    assert s2.commit([b, _batch("c")]) == [Outcome.DUPLICATE, Outcome.STORED]
    s2.close()
    ids = _stored_ids(tmp_path)
    assert sorted(ids) == sorted(f"{t}-{i}" for t in "abc" for i in range(3))


def test_recovery_cuts_a_half_written_tail_to_the_last_committed_batch(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.commit([_batch("a")])
    s.commit([_batch("b")])
    active = s.active["prod"].path
    committed = active.stat().st_size
    with open(active, "ab") as f:  # a batch being written when the process died
        f.write(b"".join(_batch("c").lines)[:-40])
    _crash(s)
    s2 = Store(tmp_path, clock=Clock())
    assert s2.open().rolled_back_bytes == _batch("c").nbytes - 40
    assert not active.exists()  # closed into place
    closed = list(tmp_path.glob("prod/*/audit-*.jsonl"))
    assert len(closed) == 1 and closed[0].stat().st_size == committed
    assert _stored_ids(tmp_path) == [f"{t}-{i}" for t in "ab" for i in range(3)]
    s2.close()


def test_a_batch_written_but_not_journaled_is_rolled_back(tmp_path: Path) -> None:
    """Power cut after the data was written but while its journal record was: the torn record
    fails its checksum, the batch (never answered 200) is cut off."""
    s = _store(tmp_path)
    s.commit([_batch("a")])
    af = s.active["prod"]
    c = _batch("c")
    os.write(af.fd, b"".join(c.lines))
    torn = Record(s.now(), {af.rel: af.committed + c.nbytes}, {c.digest: s.now()}).encode()
    os.write(s.journal.fd, torn[:-7])
    _crash(s)
    s2 = Store(tmp_path, clock=Clock())
    recovery = s2.open()
    assert recovery.rolled_back_bytes == c.nbytes
    assert _stored_ids(tmp_path) == [f"a-{i}" for i in range(3)]
    assert s2.commit([c]) == [Outcome.STORED]  # the resend is stored, not taken for a duplicate
    s2.close()


def test_acknowledged_bytes_missing_on_disk_are_reported(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.commit([_batch("a")])
    path = s.active["prod"].path
    _crash(s)
    with open(path, "r+b") as f:
        f.truncate(10)
    recovery = Store(tmp_path, clock=Clock()).open()
    assert recovery.lost_bytes == _batch("a").nbytes - 10


def test_a_failed_commit_keeps_nothing_and_the_retry_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = _store(tmp_path)
    s.commit([_batch("a")])
    size = s.active["prod"].path.stat().st_size

    def full(record: Record) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(s.journal, "append", full)
    with pytest.raises(OSError):
        s.commit([_batch("b")])
    assert s.active["prod"].path.stat().st_size == size
    monkeypatch.undo()
    assert s.commit([_batch("b")]) == [Outcome.STORED]
    s.close()
    assert sorted(_stored_ids(tmp_path)) == sorted(f"{t}-{i}" for t in "ab" for i in range(3))


def test_one_server_per_directory(tmp_path: Path) -> None:
    s = _store(tmp_path)
    with pytest.raises(StoreLocked):
        _store(tmp_path)
    s.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_readers_see_the_file_being_written_up_to_its_last_commit(tmp_path: Path, jobs: int) -> None:
    clock = Clock()
    s = _store(tmp_path, clock, rotate_seconds=60)
    s.commit([_batch("a")])
    clock.t += 61
    s.commit([_batch("b")])  # the first file is past its age: closed before this batch
    (af,) = s.active.values()
    os.write(af.fd, b'{"kind":"Event","auditID":"c-0"')  # a batch being written, not committed
    log = auditlens.RejectLog()
    table = auditlens.read_k8s_audit(tmp_path, jobs=jobs, rejects=log)
    assert sorted(table["audit_id"].to_pylist()) == sorted(f"{t}-{i}" for t in "ab" for i in range(3))
    assert len(log) == 0  # the half-written batch is not read, so not rejected either
    os.ftruncate(af.fd, af.committed)  # (what a rolled-back group leaves)
    s.commit([_batch("d")])
    assert len(auditlens.read_k8s_audit(tmp_path, jobs=jobs)) == 9
    assert (tmp_path / STATE_DIR / "journal").exists()  # the state folder is not read as a log
    s.close()


def test_a_file_closed_after_it_was_listed_is_read_under_its_closed_name(tmp_path: Path) -> None:
    from auditlens.sources import expand_sources

    s = _store(tmp_path)
    s.commit([_batch("a")])
    (listed,) = expand_sources(tmp_path)
    assert listed.name.endswith(".active")
    s.close()  # renamed into place between the listing and the reading
    with listed.open() as f:
        assert [orjson.loads(x)["auditID"] for x in f.read().splitlines()] == [f"a-{i}" for i in range(3)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_receivers_files_name_their_cluster_by_source(tmp_path: Path, jobs: int) -> None:
    """The apiserver's events name no cluster; the source they were POSTed to does. A log
    outside a receiver's layout keeps the caller's ``cluster``."""
    s = _store(tmp_path)
    s.commit([_batch("p", source="prod"), _batch("d", source="dev")])
    s.close()
    other = tmp_path.parent / f"{tmp_path.name}-plain" / "2024-05-01"
    other.mkdir(parents=True)
    (other / "audit.log").write_bytes(b"\n".join(orjson.dumps(e) for e in _events("x", 2)) + b"\n")
    table = auditlens.read_k8s_audit([tmp_path, other], cluster="given", jobs=jobs)
    got = {(a.split("-")[0], c) for a, c in zip(table["audit_id"].to_pylist(),
                                                  table["cluster"].to_pylist())}
    assert got == {("p", "prod"), ("d", "dev"), ("x", "given")}


def test_rotation_by_size_midnight_and_age_between_batches(tmp_path: Path) -> None:
    clock = Clock(1_714_607_990.0)  # 2024-05-01T23:59:50Z
    s = _store(tmp_path, clock, rotate_bytes=1000, rotate_seconds=3600)
    for tag in "abc":
        s.commit([_batch(tag, 3)])  # each batch > 1000 bytes: one file each, never split
    clock.t += 20  # past midnight
    s.commit([_batch("d")])
    s.close()
    files = sorted(tmp_path.glob("prod/*/audit-*.jsonl"))
    assert [p.parent.name for p in files] == ["2024-05-01"] * 3 + ["2024-05-02"]
    assert [len(p.read_bytes().splitlines()) for p in files] == [3, 3, 3, 3]


def test_retention_by_size_and_age_removes_the_oldest_closed_files(tmp_path: Path) -> None:
    clock = Clock()
    s = _store(tmp_path, clock, rotate_seconds=10)
    for tag in "abcd":
        s.commit([_batch(tag)])
        clock.t += 11
    s.maintain()  # closes the last one by age
    files = s.closed_files()
    assert len(files) == 4
    one = files[0].stat().st_size
    removed = s.apply_retention(max_age_seconds=None, max_bytes=2 * one + 10)
    assert removed == files[:2]
    removed = s.apply_retention(max_age_seconds=20, max_bytes=None)
    assert removed == files[2:3]
    s.close()


def test_quarantine_keeps_the_body_once(tmp_path: Path) -> None:
    s = _store(tmp_path)
    p1 = s.quarantine(b"junk", "not JSON", "prod", "CN=x")
    p2 = s.quarantine(b"junk", "not JSON", "prod", "CN=x")
    assert p1 == p2 and p1.read_bytes() == b"junk"
    assert orjson.loads(p1.with_suffix(".json").read_bytes())["reason"] == "not JSON"
    s.close()


def test_a_silent_source_is_a_gap_in_the_audit_trail_report(tmp_path: Path) -> None:
    """prod sends, goes quiet for 20 min (over the 10 min threshold), sends again; dev sends
    once and is still quiet when the state is written: both are gaps of their source."""
    clock = Clock()
    s = _store(tmp_path, clock, rotate_seconds=60, silence_seconds=600)
    s.commit([_batch("a"), _batch("x", source="dev")])
    clock.t += 120
    s.commit([_batch("b")])
    clock.t += 1200
    s.commit([_batch("c")])
    assert set(s.silent()) == {"dev"}
    s.close()
    rows = auditlens.run_report("audit-trail", [str(tmp_path)]).sections[0].table.to_pylist()
    gaps = [r for r in rows if r["action"] == "no-batches"]
    assert sorted((g["cluster"], g["gap_seconds"]) for g in gaps) == [("dev", 1320.0), ("prod", 1200.0)]
    assert all(g["finding"] == "time-gap" and g["source"] == "k8s" for g in gaps)


def test_no_silence_no_gap(tmp_path: Path) -> None:
    clock = Clock()
    s = _store(tmp_path, clock, silence_seconds=600)
    s.commit([_batch("a")])
    clock.t += 300
    s.commit([_batch("b")])
    s.close()
    rows = auditlens.run_report("audit-trail", [str(tmp_path)]).sections[0].table.to_pylist()
    assert rows is not None and "no-batches" not in [r["action"] for r in rows]


def test_closed_files_are_copied_into_the_parse_dataset_layout(tmp_path: Path) -> None:
    import pyarrow.dataset as ds

    from auditlens.serve.parquet import ParquetCopier

    clock = Clock()
    s = _store(tmp_path / "out", clock, rotate_seconds=60)
    s.commit([_batch("a")])
    clock.t += 61
    s.commit([_batch("b")])
    s.close()
    copier = ParquetCopier(tmp_path / "out", tmp_path / "pq")
    todo = copier.pending(s.closed_files())
    assert len(todo) == 2
    assert [copier.convert(p) for p in todo] == [3, 3]
    assert copier.pending(s.closed_files()) == []
    assert ParquetCopier(tmp_path / "out", tmp_path / "pq").pending(s.closed_files()) == []
    files = sorted(p.relative_to(tmp_path / "pq").parts[:2] for p in (tmp_path / "pq").rglob("*.parquet"))
    assert files == [("cluster=prod", "date=2024-05-01")] * 2
    table = ds.dataset(tmp_path / "pq", partitioning="hive").to_table()
    assert sorted(table["audit_id"].to_pylist()) == sorted(f"{t}-{i}" for t in "ab" for i in range(3))
    assert set(table["cluster"].to_pylist()) == {"prod"}


def test_journal_compaction_keeps_commits_and_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditlens.serve.store as store_module

    monkeypatch.setattr(store_module, "_JOURNAL_LIMIT", 2000)
    s = _store(tmp_path)
    batches = [_batch(f"j{i}", 1) for i in range(30)]
    for b in batches:
        s.commit([b])
    grown = s.journal.size
    s.maintain()
    assert s.journal.size < grown / 2  # one checkpoint: the open file and the digests
    path = s.active["prod"].path
    with open(path, "ab") as f:
        f.write(b'{"half a line')
    _crash(s)
    s2 = Store(tmp_path, clock=Clock())
    assert s2.open().rolled_back_bytes == len(b'{"half a line')
    assert s2.commit(batches[:3]) == [Outcome.DUPLICATE] * 3
    s2.close()
    assert sorted(_stored_ids(tmp_path)) == sorted(f"j{i}-0" for i in range(30))


def test_a_lost_journal_never_cuts_acknowledged_lines(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.commit([_batch("a")])
    path = s.active["prod"].path
    with open(path, "ab") as f:
        f.write(b'{"half')
    _crash(s)
    (tmp_path / STATE_DIR / "journal").unlink()
    Store(tmp_path, clock=Clock()).open()
    assert _stored_ids(tmp_path) == [f"a-{i}" for i in range(3)]


def test_a_failed_journal_write_is_cut_back_so_later_commits_stay_visible(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal write that fails half-way (disk full) must not leave a torn record before
    the next ones (recovery would stop there and roll back batches answered 200 after it),
    nor a whole record of a batch answered 503 (its resend would be taken for a duplicate)."""
    import auditlens.serve.journal as journal_module

    real_write_all = journal_module.write_all
    for torn in (True, False):
        root = tmp_path / str(torn)
        s = _store(root)
        s.commit([_batch("a")])

        def failing(fd: int, data: bytes) -> None:
            if fd == s.journal.fd:
                real_write_all(fd, data[:len(data) // 2] if torn else data)
                raise OSError(28, "No space left on device")
            real_write_all(fd, data)

        monkeypatch.setattr(journal_module, "write_all", failing)
        with pytest.raises(OSError):
            s.commit([_batch("b")])
        monkeypatch.undo()
        assert s.commit([_batch("c")]) == [Outcome.STORED]
        _crash(s)
        s2 = _store(root)
        assert s2.commit([_batch("b")]) == [Outcome.STORED]  # answered 503: not a duplicate
        s2.close()
        assert sorted(_stored_ids(root)) == sorted(f"{t}-{i}" for t in "abc" for i in range(3))
