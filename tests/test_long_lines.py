"""Over-long lines and decompression bombs: rejected with their length, in bounded memory.

The bombs and long lines are made here, in ``tmp_path`` (a compressed block of zeros written
several times is a valid multi-member file that inflates to gigabytes in a fraction of a second).
Peak memory is measured in a child process, which reports its own peak (``VmHWM``: Linux carries
``ru_maxrss`` over ``exec`` from the forking test process, and ``RUSAGE_CHILDREN`` is the largest
child of the whole session).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens import RejectLog, read_auditd, read_auditd_records, read_k8s_audit
from auditlens.auditd import native as auditd_native
from auditlens.cli import cli
from auditlens.k8s import native as k8s_native
from auditlens.sources.lines import PREFIX_BYTES, LongLine, iter_lines, line_spans, strip_ending

MiB = 1 << 20
MAX_RSS_MB = 250
"""A child that imports auditlens and pyarrow peaks near 100 MB; a reader that held the line
would need its whole length (at least 200 MB, up to 1 GB here) on top."""

FAST = auditd_native.Parser is not None and k8s_native.Builder is not None
PATHS = ["c", "python"] if FAST else ["python"]


def _syscall(serial: int) -> list[bytes]:
    head = f"msg=audit(1700000000.{serial:03d}:{serial})".encode()
    return [b"type=SYSCALL " + head + b": arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 "
            b"a2=3 a3=4 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 "
            b"sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"id\" exe=\"/usr/bin/id\" key=(null)",
            b"type=EOE " + head + b": "]


def _event(n: int) -> bytes:
    return (b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-%d",'
            b'"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods",'
            b'"verb":"list","user":{"username":"alice"},"sourceIPs":["10.0.0.1"],'
            b'"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},'
            b'"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z",'
            b'"stageTimestamp":"2024-01-01T00:00:00.100000Z"}' % n)


@pytest.fixture(params=PATHS)
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test once on the C fast path and once on the Python path."""
    if request.param == "python":
        monkeypatch.setattr(auditd_native, "Parser", None)
        monkeypatch.setattr(k8s_native, "Builder", None)
    return str(request.param)


def _child_env(path_kind: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AUDITLENS_PURE_PYTHON", None)
    if path_kind == "python":
        env["AUDITLENS_PURE_PYTHON"] = "1"
    return env


_PEAK = """
def peak_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
_READ = _PEAK + """
import json, sys
import auditlens
import resource
kind, path, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = auditlens.RejectLog()
read = auditlens.read_auditd if kind == "auditd" else auditlens.read_k8s_audit
table = read(path, rejects=log, jobs=jobs)
workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # 0 without workers
print(json.dumps({"rss_mb": max(peak_mb(), workers_mb),
                  "rows": table.num_rows, "lines": int(table.schema.metadata[b"auditlens.lines"]),
                  "rejects": [[r.line, r.reason, r.raw[:8]] for r in log]}))
"""


def _read_in_child(kind: str, path: Path, path_kind: str, jobs: int = 1) -> dict:
    """The reader's result and the peak memory of the child (and of its workers, with jobs)."""
    done = subprocess.run([sys.executable, "-c", _READ, kind, str(path), str(jobs)],
                          capture_output=True, text=True, timeout=300, env=_child_env(path_kind),
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _bomb(path: Path, compress: Callable[[bytes], bytes], inflated: int) -> Path:
    """A file of zeros without a newline, ``inflated`` bytes once decompressed: one compressed
    member of 64 MiB written again and again (every format here reads concatenated members)."""
    block = 64 * MiB
    member = compress(b"\0" * block)
    with path.open("wb") as f:
        for _ in range(inflated // block):
            f.write(member)
    return path


def _zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard", reason="zstandard extra not installed")
    return zstandard.ZstdCompressor(level=1).compress(data)


# -- bombs and huge lines, memory measured --------------------------------------------------


@pytest.mark.parametrize("kind", ["auditd", "k8s"])
def test_gzip_bomb_is_one_reject_in_bounded_memory(tmp_path: Path, kind: str,
                                                   path_kind: str) -> None:
    bomb = _bomb(tmp_path / "bomb.gz", lambda d: gzip.compress(d, 1), 1024 * MiB)
    got = _read_in_child(kind, bomb, path_kind)
    limit = 1 * MiB if kind == "auditd" else 64 * MiB
    assert got["rejects"] == [[1, f"line too long: {1024 * MiB} bytes (limit {limit})", "\0" * 8]]
    assert (got["rows"], got["lines"]) == (0, 1)
    assert got["rss_mb"] < MAX_RSS_MB


@pytest.mark.parametrize("suffix", ["bz2", "xz", "zst"])
def test_other_compressed_bombs_are_read_in_bounded_memory(tmp_path: Path, suffix: str) -> None:
    compress = {"bz2": lambda d: bz2.compress(d, 1), "xz": lambda d: lzma.compress(d, preset=0),
                "zst": _zstd}[suffix]
    bomb = _bomb(tmp_path / f"bomb.{suffix}", compress, 512 * MiB)
    got = _read_in_child("auditd", bomb, PATHS[0])
    assert got["rejects"] == [[1, f"line too long: {512 * MiB} bytes (limit {MiB})", "\0" * 8]]
    assert got["rss_mb"] < MAX_RSS_MB


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("kind", ["auditd", "k8s"])
def test_a_200_mb_line_is_skipped_not_held(tmp_path: Path, kind: str, path_kind: str,
                                           jobs: int) -> None:
    """Also with ``jobs=2``: the 200 MB file is cut into pieces (the cut is looked for without
    holding the line) and each worker reads its piece with the limit."""
    good = _syscall(1) if kind == "auditd" else [_event(1), _event(2)]
    path = tmp_path / "huge.log"
    with path.open("wb") as f:
        f.write(good[0] + b"\n")
        for _ in range(200):
            f.write(b"x" * MiB)
        f.write(b"\n" + good[1] + b"\n")
    got = _read_in_child(kind, path, path_kind, jobs)
    limit = 1 * MiB if kind == "auditd" else 64 * MiB
    assert got["rejects"] == [[2, f"line too long: {200 * MiB} bytes (limit {limit})", "x" * 8]]
    assert got["lines"] == 3 and got["rows"] == (1 if kind == "auditd" else 2)
    assert got["rss_mb"] < MAX_RSS_MB


_CLI = _PEAK + """
import sys
from auditlens.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="auditlens", standalone_mode=False)
finally:
    print("rss_mb", peak_mb(), file=sys.stderr)
"""


def test_cli_parse_of_a_bomb_reports_the_reject(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.gz", lambda d: gzip.compress(d, 1), 1024 * MiB)
    rejects = tmp_path / "rejects.jsonl"
    args = ["parse", "--source-type", "auditd", str(bomb), "-o", str(tmp_path / "out.parquet"),
            "--rejects", str(rejects)]
    done = subprocess.run([sys.executable, "-c", _CLI, *args], capture_output=True, text=True,
                          timeout=300, env=_child_env(PATHS[0]), check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "auditd: 0 events from 0 records, 1 lines rejected" in done.stderr
    (reject,) = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert (reject["line"], reject["reason"]) == (1, f"line too long: {1024 * MiB} bytes (limit {MiB})")
    assert reject["file"] == str(bomb) and len(reject["raw"]) == PREFIX_BYTES
    assert float(done.stderr.rsplit("rss_mb ", 1)[1]) < MAX_RSS_MB


# -- line numbers, the account and the limit itself ------------------------------------------


def test_lines_after_a_long_line_keep_their_numbers(tmp_path: Path, path_kind: str) -> None:
    lines = [*_syscall(1), b"A" * (3 * MiB), *_syscall(2), b"type=" + b"B" * (2 * MiB) + b"\r",
             *_syscall(3), b"C" * (MiB + 1)]  # the last one without a newline
    path = tmp_path / "a.log"
    path.write_bytes(b"\n".join(lines))
    log = RejectLog()
    t = read_auditd(path, rejects=log)
    assert [(r.file, r.line, r.reason) for r in log] == [
        (str(path), 3, f"line too long: {3 * MiB} bytes (limit {MiB})"),
        (str(path), 6, f"line too long: {2 * MiB + 5} bytes (limit {MiB})"),
        (str(path), 9, f"line too long: {MiB + 1} bytes (limit {MiB})")]
    assert [r.raw for r in log] == ["A" * PREFIX_BYTES, "type=" + "B" * (PREFIX_BYTES - 5),
                                    "C" * PREFIX_BYTES]
    assert t.column("line").to_pylist() == [1, 4, 7]
    lines_read = int(t.schema.metadata[b"auditlens.lines"])
    assert sum(t.column("record_count").to_pylist()) + len(log) == lines_read == 9
    records = read_auditd_records(path, rejects=RejectLog())
    assert records.column("line").to_pylist() == [1, 2, 4, 5, 7, 8]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_line_at_the_limit_is_read_one_byte_more_is_rejected(tmp_path: Path, ending: bytes,
                                                                path_kind: str) -> None:
    syscall, eoe = _syscall(1)
    path = tmp_path / "a.log"
    path.write_bytes(syscall + ending + eoe + ending)
    t = read_auditd(path, rejects=RejectLog(), max_line_bytes=len(syscall))
    assert t.column("record_count").to_pylist() == [2]
    log = RejectLog()
    t = read_auditd(path, rejects=log, max_line_bytes=len(syscall) - 1)
    assert [(r.line, r.reason) for r in log] == [
        (1, f"line too long: {len(syscall)} bytes (limit {len(syscall) - 1})")]
    assert t.column("record_count").to_pylist() == [1]


def test_a_long_line_inside_a_block_is_rejected(tmp_path: Path, path_kind: str) -> None:
    """A limit far below the block size: the long line sits inside a block the C parser takes."""
    lines = [*_syscall(1), b"type=SYSCALL " + b"x" * 500, *_syscall(2)] * 3000
    path = tmp_path / "a.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    log = RejectLog()
    t = read_auditd(path, rejects=log, max_line_bytes=400)
    assert [r.line for r in log] == list(range(3, len(lines), 5))
    assert {r.reason for r in log} == {"line too long: 513 bytes (limit 400)"}
    assert sum(t.column("record_count").to_pylist()) + len(log) == len(lines)


def test_k8s_long_line_keeps_the_line_account(tmp_path: Path, path_kind: str) -> None:
    lines = [_event(1), b"", b'{"kind":"Event","x":"' + b"y" * 5000 + b'"}', _event(2), b"z" * 3000]
    path = tmp_path / "audit.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    log = RejectLog()
    t = read_k8s_audit(path, rejects=log, max_line_bytes=2048)
    assert [(r.line, r.reason) for r in log] == [(3, "line too long: 5023 bytes (limit 2048)"),
                                                 (5, "line too long: 3000 bytes (limit 2048)")]
    assert t.column("line").to_pylist() == [1, 4]
    lines, in_rows, in_rejects, empty = (int(t.schema.metadata[f"auditlens.{key}".encode()])
                                         for key in ("lines", "lines_in_rows", "lines_in_rejects",
                                                     "lines_empty"))
    assert (lines, in_rows, in_rejects, empty) == (5, 2, 2, 1)


def test_raise_mode_stops_at_the_long_line(tmp_path: Path) -> None:
    from auditlens import ParseError

    path = tmp_path / "a.log"
    path.write_bytes(b"\n".join([*_syscall(1), b"x" * 400]) + b"\n")
    with pytest.raises(ParseError, match=r"a.log:3: line too long: 400 bytes \(limit 300\)"):
        read_auditd(path, errors="raise", max_line_bytes=300)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_the_limit_must_be_a_positive_number_of_bytes(tmp_path: Path, bad: object) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"\n".join(_syscall(1)))
    for read in (read_auditd, read_k8s_audit):
        with pytest.raises(ValueError, match="max_line_bytes"):
            read(path, max_line_bytes=bad)  # type: ignore[operator]


def test_cli_option_reaches_parse_and_report(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"\n".join([*_syscall(1), b"type=SYSCALL " + b"x" * 400, *_syscall(2)]) + b"\n")
    runner = CliRunner()
    parsed = runner.invoke(cli, ["parse", str(path), "-o", str(tmp_path / "o.csv"),
                                 "--max-line-bytes", "300"], catch_exceptions=False)
    assert parsed.exit_code == 0 and "2 events from 4 records, 1 lines rejected" in parsed.output
    reported = runner.invoke(cli, ["report", "summary", str(path), "-o", str(tmp_path / "r.csv"),
                                   "--max-line-bytes", "300"], catch_exceptions=False)
    assert reported.exit_code == 0 and "1 input lines rejected" in reported.output
    refused = runner.invoke(cli, ["parse", str(path), "-o", "x.csv", "--max-line-bytes", "0"])
    assert refused.exit_code == 2 and "--max-line-bytes" in refused.output


# -- the splitter against a plain reference -------------------------------------------------


def _reference(data: bytes, limit: int) -> list[bytes | LongLine]:
    out: list[bytes | LongLine] = []
    for raw in io.BytesIO(data):
        line = strip_ending(raw)
        out.append(LongLine(len(line), limit, line[:PREFIX_BYTES]) if len(line) > limit else line)
    return out


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b"x" * 97, b"y" * 300]),
                       max_size=40),
       cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=6),
       limit=st.integers(min_value=1, max_value=700))
def test_line_spans_match_a_line_by_line_reference(pieces: list[bytes], cuts: list[int],
                                                   limit: int) -> None:
    """Every line once, in order, cut anywhere between chunks: a LongLine exactly where the
    line is over the limit, with its length and prefix; spans hold the other lines' bytes."""
    data = b"".join(pieces)
    bounds = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)]) if b > a]
    assert [line for _, line in iter_lines(chunks, limit)] == _reference(data, limit)
    kept = b"".join(item[0][item[1]:item[2]] for item in line_spans(chunks, limit)
                    if not isinstance(item, LongLine))
    assert kept == b"".join(raw for raw in io.BytesIO(data) if len(strip_ending(raw)) <= limit)


# -- units joined from several lines ----------------------------------------------------------


def _cri(content: bytes, tag: bytes) -> bytes:
    return b"2024-01-01T00:00:00.000000000Z stdout " + tag + b" " + content


def test_a_cri_record_joined_past_the_limit_is_one_reject(tmp_path: Path, path_kind: str) -> None:
    """Partial CRI lines are joined into one record; a record that grows past the limit is one
    reject with its line range and first bytes, its pieces counted but not kept, and the records
    after it are read as usual (so are the lines: the account adds up)."""
    lines = [_cri(_event(1), b"F"), *[_cri(b"p" * 700, b"P") for _ in range(5)],
             _cri(b"q" * 10, b"F"), _cri(_event(2), b"F"), *[_cri(b"r" * 900, b"P") for _ in range(3)]]
    path = tmp_path / "kube-apiserver.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    log = RejectLog()
    t = read_k8s_audit(path, rejects=log, max_line_bytes=2048)
    assert [(r.line, r.reason) for r in log] == [
        (2, "cri record too long: 3510 bytes in 6 pieces (lines 2–7; limit 2048)"),
        (9, "incomplete cri record too long: 2700 bytes in 3 pieces (from line 9; limit 2048)")]
    assert [r.raw for r in log] == ["p" * PREFIX_BYTES, "r" * PREFIX_BYTES]
    assert t.column("line").to_pylist() == [1, 8]
    account = [int(t.schema.metadata[f"auditlens.{key}".encode()])
               for key in ("lines", "lines_in_rows", "lines_in_rejects", "lines_empty")]
    assert account == [11, 2, 9, 0]


def test_a_pretty_printed_value_past_the_limit_is_rejected(tmp_path: Path) -> None:
    body = [b'{"kind": "Event",', *[b'  "k%d": "%s",' % (i, b"v" * 100) for i in range(40)],
            b'  "end": 1', b"}"]
    path = tmp_path / "audit.json"
    path.write_bytes(b"\n".join(body) + b"\n" + _event(1) + b"\n")
    log = RejectLog()
    t = read_k8s_audit(path, rejects=log, max_line_bytes=2048)
    first = next(iter(log))
    assert first.line == 1 and "is not closed after" in first.reason and "limit 2048" in first.reason
    assert t.column("line").to_pylist()[-1] == len(body) + 1  # the Event after it is read


def test_endless_partial_lines_are_read_in_bounded_memory(tmp_path: Path, path_kind: str) -> None:
    """300 MB of CRI partial lines that never end: the default 64 MiB limit holds."""
    path = tmp_path / "cri.log"
    piece = _cri(b"x" * (MiB - 64), b"P") + b"\n"
    with path.open("wb") as f:
        for _ in range(300):
            f.write(piece)
    got = _read_in_child("k8s", path, path_kind)
    assert got["rows"] == 0 and len(got["rejects"]) == 1 and got["lines"] == 300
    assert got["rejects"][0][1].startswith("incomplete cri record too long:")
    assert got["rss_mb"] < MAX_RSS_MB
