"""The workers of ``jobs=`` reads: one pool kept for the program's reads, a pool of its own for a
read that finds the kept one busy, and no worker left when the program ends."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens import scheduler
from auditlens.auditd import parallel

NODES = [str(SAMPLE_LOGS / "auditd" / "node-a"), str(SAMPLE_LOGS / "auditd" / "node-b")]
REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore:.*line\\(s\\) were rejected")


@pytest.fixture(autouse=True)
def _no_kept_pool() -> object:
    scheduler.stop_workers()
    yield
    scheduler.stop_workers()


def _read(chunk: int = 3000) -> pa.Table:
    """The sample nodes read in pieces by this process and one worker."""
    return parallel.read_auditd(NODES, passwd=None, group=None, errors="collect",
                                rejects=None, jobs=2, chunk_bytes=chunk)


def _run_program(folder: Path, program: str) -> list[str]:
    """The words a program (with workers: run from a file, as spawn needs) prints reading the
    sample nodes; it must end with status 0."""
    script = folder / "program.py"
    script.write_text(program)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script), *NODES], capture_output=True, text=True,
                          timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _worker_pids() -> set[int]:
    kept = scheduler.pool._kept
    assert kept is not None
    return set(kept.executor._processes)  # type: ignore[attr-defined]


def test_reads_of_a_program_share_one_pool() -> None:
    """The second read finds the workers of the first started (no start-up to pay again) and
    gives the same table as one process."""
    want = auditlens.read_auditd(NODES)
    assert _read().equals(want)
    first = _worker_pids()
    assert len(first) == 1
    assert _read(5000).equals(want)
    assert _worker_pids() == first


def test_a_read_that_finds_the_kept_pool_busy_gets_its_own() -> None:
    """Two reads at once (threads): the second gets a pool of its own, ended after it; both give
    the one-process table."""
    want = auditlens.read_auditd(NODES)
    with scheduler.workers(1) as kept:
        with scheduler.workers(1) as own:
            assert own is not kept
            processes = list(own.executor._processes.values())  # type: ignore[attr-defined]
            assert own.executor.submit(os.getpid).result() != os.getpid()
        assert processes and not any(p.is_alive() for p in processes)
    got: list[pa.Table] = []
    threads = [threading.Thread(target=lambda: got.append(_read())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(got) == 2 and all(t.equals(want) for t in got)


def test_a_pool_of_another_size_replaces_the_kept_one() -> None:
    with scheduler.workers(1) as one:
        processes = list(one.executor._processes.values())  # type: ignore[attr-defined]
    with scheduler.workers(2) as two:
        assert two is not one and two.count == 2
    assert processes and not any(p.is_alive() for p in processes)


def test_start_workers_starts_them_before_the_read() -> None:
    """A reader starts the pool before it imports what it reads with: the workers are running
    (and importing) by the time the read asks for them, and the read uses that pool."""
    scheduler.start_workers(2, ("auditlens.auditd.parallel",))
    kept = scheduler.pool._kept
    assert kept is not None and len(kept.executor._processes) == 1  # type: ignore[attr-defined]
    assert _read().equals(auditlens.read_auditd(NODES))
    assert scheduler.pool._kept is kept
    scheduler.start_workers(1)  # one reader: no pool
    assert scheduler.pool._kept is kept


def test_the_kept_workers_end_with_the_program(tmp_path: Path) -> None:
    """A program that read twice with ``jobs=2`` ends at once, with status 0, and its workers
    with it."""
    program = (
        "import sys\n"
        "from auditlens import scheduler\n"
        "from auditlens.auditd import parallel\n"
        "if __name__ == '__main__':\n"
        "    for chunk in (3000, 5000):\n"
        "        parallel.read_auditd(sys.argv[1:], passwd=None, group=None, errors='collect',\n"
        "                             rejects=None, jobs=2, chunk_bytes=chunk)\n"
        "    print(*scheduler.pool._kept.executor._processes)\n")
    pids = [int(p) for p in _run_program(tmp_path, program)]
    assert len(pids) == 1
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_readers_are_resolved_without_pyarrow() -> None:
    """``auditlens.read_auditd``, ``read_k8s_audit`` and ``read_cloud_audit`` are resolved, a
    RejectLog made and the CLI imported without importing pyarrow, so that a ``jobs`` read starts
    its workers first and they import beside this process."""
    program = ("import sys, auditlens, auditlens.cli\n"
               "auditlens.read_auditd, auditlens.read_k8s_audit, auditlens.read_cloud_audit\n"
               "auditlens.RejectLog()\n"
               "print(sorted(m for m in ('pyarrow', 'numpy', 'orjson') if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, check=True, env=env)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [["parse"], ["report", "identity-changes"]])
def test_the_cli_starts_its_workers_before_it_imports_pyarrow(tmp_path: Path,
                                                              command: list[str]) -> None:
    """``auditlens parse|report --jobs 2``: the pool is started once, before this process has
    imported pyarrow, and the report's node reads use the same (kept) pool as its other reads."""
    program = (
        "import sys\n"
        "from auditlens.scheduler import pool\n"
        "started = []\n"
        "init = pool.Workers.__init__\n"
        "def counted(self, *args):\n"
        "    started.append('pyarrow' in sys.modules)\n"
        "    init(self, *args)\n"
        "pool.Workers.__init__ = counted\n"
        "from auditlens.cli import cli\n"
        "if __name__ == '__main__':\n"
        f"    argv = [*{command!r}, *sys.argv[1:], '--jobs', '2', '-o', {str(tmp_path / 'out.csv')!r}]\n"
        "    try:\n"
        "        cli(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "    print(*started)\n")
    assert _run_program(tmp_path, program) == ["False"]
    assert (tmp_path / "out.csv").stat().st_size > 0


def test_workers_start_early_only_for_a_read_that_will_be_cut(tmp_path: Path) -> None:
    small = tmp_path / "a.log"
    small.write_bytes(b"x\n" * 100)
    assert scheduler.pieces.may_cut(str(small), 1000) is False
    assert scheduler.pieces.may_cut(str(small), 100) is True
    assert scheduler.pieces.may_cut([str(small), small], 1000) is True
    for stream_or_once in ("-", iter([str(small)]), str(tmp_path / "missing.log")):
        assert scheduler.pieces.may_cut(stream_or_once, 10) is False
    scheduler.start_workers(2, (), str(small), 1000)
    assert scheduler.pool._kept is None
    scheduler.start_workers(2, (), str(small), 100)
    assert scheduler.pool._kept is not None


def test_int64_values_are_those_of_to_numpy() -> None:
    """The merge's column-to-numpy read, without the pandas import of ``to_numpy``: chunks,
    slices (an offset into the buffer) and nulls give what ``to_numpy`` gives."""
    ints = pa.array(range(100), pa.int64())
    column = pa.chunked_array([ints.slice(3, 40), ints.slice(50, 7), ints.slice(0, 0)])
    assert parallel._int64_values(column).tolist() == column.to_numpy().tolist()
    assert parallel._int64_values(pa.chunked_array([], pa.int64())).tolist() == []
    with_null = pa.chunked_array([pa.array([1, None, 3], pa.int64())])
    assert parallel._int64_values(with_null).tolist()[::2] == [1.0, 3.0]


def test_an_auditd_read_with_cuts_imports_no_pandas(tmp_path: Path) -> None:
    """Carrying events over cuts (here every few KB, events open at each) needs no pandas in
    this process: importing it cost 0.5 s of CPU on the critical path of every read."""
    program = (
        "import sys\n"
        "from auditlens.auditd import parallel\n"
        "if __name__ == '__main__':\n"
        "    merge = parallel._AuditdEventsMerge(sys.argv[1:], 'collect', None, 2, 3000,\n"
        "                                        None, None)\n"
        "    rows = sum(b.num_rows for b in merge.batches())\n"
        "    print(rows, len(merge.out) + len(merge.pieces), merge.fell_back,\n"
        "          'pandas' in sys.modules)\n")
    rows, pieces, fell_back, pandas = _run_program(tmp_path, program)
    assert int(rows) == auditlens.read_auditd(NODES).num_rows and int(pieces) > 10
    assert (fell_back, pandas) == ("False", "False")


def test_in_order_holds_at_most_three_items_per_reader() -> None:
    """The bound of a streamed read's memory: items sent or read and not yet given back are at
    most three per reader and one, however slowly the caller takes them; all in order."""
    from concurrent.futures import ThreadPoolExecutor

    here: list[int] = []

    def work(item: int) -> int:
        if threading.current_thread() is threading.main_thread():
            here.append(item)
        return item * 2

    with ThreadPoolExecutor(2) as pool:
        sent: list[int] = []

        class Counting:
            def submit(self, fn: Any, item: int) -> Any:
                sent.append(item)
                return pool.submit(fn, item)

        got = []
        for given, (item, result) in enumerate(scheduler.in_order(Counting(), 2, work,  # type: ignore[arg-type]
                                                                  list(range(60))), start=1):
            got.append((item, result))
            assert len(sent) + len(here) - given < 3 * 3 + 1
    assert got == [(i, 2 * i) for i in range(60)]
    assert here and sent  # both this process and the pool read


def test_a_new_pool_sweeps_the_files_of_killed_reads(tmp_path: Path) -> None:
    """A read killed with SIGKILL leaves its pieces' files (in /dev/shm: memory until a restart);
    their names carry the writing process, and a new pool removes those whose writer is gone,
    never those of a process still running (another program's read) or files not ours."""
    from auditlens.scheduler import leftovers

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(gone.stdout)
    stale = [tmp_path / f"auditlens-piece-{dead}-abc.arrow", tmp_path / f"auditlens-arena-{dead}-x"]
    kept = [tmp_path / f"auditlens-piece-{os.getpid()}-abc.arrow", tmp_path / "auditlens-notes.txt",
            tmp_path / "auditlens-piece-abc.arrow"]  # the names of before: no process in them
    for path in stale + kept:
        path.write_bytes(b"x")
    assert sorted(leftovers.sweep((str(tmp_path),))) == sorted(map(str, stale))
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert leftovers.file_prefix("arena") == f"auditlens-arena-{os.getpid()}-"


def test_the_files_a_worker_writes_name_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A piece's file (IPC or arena) carries the writer's process id, for the sweep above."""
    from auditlens.scheduler import arena, handover

    monkeypatch.setattr(handover.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    path = handover._to_file(pa.table({"a": [1]}), b"")
    space = arena.Arena(str(tmp_path))
    space.put(b"data")
    assert os.path.basename(path).startswith(f"auditlens-piece-{os.getpid()}-")
    assert space.path is not None
    assert os.path.basename(space.path).startswith(f"auditlens-arena-{os.getpid()}-")
