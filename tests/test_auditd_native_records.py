"""The C fast path of the auditd *records* readers (``native_records``) must give what the
Python path gives: the same table (every column, row order, schema metadata with the line and
reject counts), the same rejects, warnings, streamed batches and exceptions, for
``read_auditd_records``, ``open_auditd_records``, ``read_record_types`` and ``jobs=2``.

The Python path is the reference, switched on as in tests/test_auditd_native.py (whose
helpers and generated logs this file reuses): ``native.Parser`` set to None.
"""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_auditd_native import (
    _GENERATED,
    _PARTS,
    COMPRESSORS,
    CORPUS_FILES,
    FAST,
    ODD_LINES,
    SAMPLE_AUDITD,
    SAMPLE_FILES,
    _assert_same,
    _assert_tables,
    _batch_shape,
    _both,
    _id,
    _mixed_log,
    _outcome,
    _sources,
    _xz,
    assert_cut_read_equals,
    auditd_logs,
)

from auditlens.auditd import lexer, native, native_records
from auditlens.auditd import parallel as par
from auditlens.auditd.reader import open_auditd_records, read_auditd_records, read_record_types
from auditlens.schema import AUDITD_RECORDS

pytestmark = pytest.mark.skipif(
    FAST is None or native_records.RecordsParser is None,
    reason="the auditd C fast path is not compiled (no C compiler at install time, or "
    "AUDITLENS_PURE_PYTHON is set)")

BENCH_LOG = Path(__file__).resolve().parents[1] / "benchmarks" / ".data" / "detect-32mb" / "auditd.log"
TYPES = (("SYSCALL", "USER_"), ("EXECVE",), ("AVC", "USER_AVC", "PATH"), ("NO_SUCH",), ())


def _types_both(source: Any, prefixes: tuple[str, ...], **kw: Any) -> pa.Table:
    """``read_record_types`` both ways (it takes no RejectLog: its rejects are dropped)."""
    fast = read_record_types(_fresh(source), prefixes, **kw)
    native.Parser = None
    try:
        py = read_record_types(_fresh(source), prefixes, **kw)
    finally:
        native.Parser = FAST
    _assert_tables(fast, py)
    return py


def _fresh(value: Any) -> Any:
    return value() if callable(value) else value


# -- real files ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES, ids=_id)
def test_real_files_records_read_the_same(path: Path) -> None:
    py = _both(read_auditd_records, path)
    assert py.table is not None
    _types_both(path, ("SYSCALL", "USER_", "AVC"))


def test_sample_logs_in_one_call_and_streamed() -> None:
    """Rotated sets of three nodes in one read, and streamed in odd batch sizes."""
    logs = [SAMPLE_AUDITD / n / "var" / "log" / "audit" for n in ("node-a", "node-b", "gap")]
    py = _both(read_auditd_records, logs)
    assert py.table is not None and py.table.num_rows > 1000
    streamed = _both(open_auditd_records, logs, batch_size=7)
    _batch_shape(streamed, 7)
    for prefixes in TYPES:
        _types_both(logs, prefixes)


@pytest.mark.skipif(not BENCH_LOG.is_file(),
                    reason="the benchmark log is made by benchmarks/make_inputs.py + detect.py")
def test_benchmark_log_reads_the_same() -> None:
    py = _both(read_auditd_records, BENCH_LOG)
    assert py.table is not None and py.table.num_rows > 100_000


def test_the_fast_path_lexes_the_lines_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard against a records path that hands every line to the Python lexer (and so would
    make this file compare Python with Python). The spy is checked on the Python path."""
    path = SAMPLE_AUDITD / "node-a" / "var" / "log" / "audit" / "audit.log"
    lines = path.read_bytes().count(b"\n")
    calls = 0
    real = lexer.parse_line

    def spy(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args)

    monkeypatch.setattr(native_records, "parse_line", spy)
    read_auditd_records(path)
    assert 0 < calls < lines // 2, (calls, lines)
    from auditlens.auditd import records

    monkeypatch.setattr(records, "parse_line", spy)
    calls = 0
    monkeypatch.setattr(native, "Parser", None)
    read_auditd_records(path)
    assert calls == lines


# -- odd input -------------------------------------------------------------------------------------

def test_odd_lines_read_the_same(tmp_path: Path) -> None:
    """The lines the events tests found odd, plus what only records show: ENRICHED parts,
    a time past 64 bits (nulled and counted by both), non-UTF-8 bytes, kernel-ring lines."""
    extra = [
        b"type=SYSCALL msg=audit(99999999999999.000:1): pid=1",  # time * 1e6 past int64
        b"type=SYSCALL msg=audit(1700000000.99999999999999999:1): pid=1",
        b"type=SYSCALL msg=audit(1700000000.000:9223372036854775808): pid=1",
        b'type=PATH msg=audit(1700000000.000:2): name="a b" name="dup" x="" y=" z=\x1dUID="root"',
        b'type=PATH msg=audit(1700000000.000:2): name="x"\x1d',
        b'type=PATH msg=audit(1700000000.000:2): a=1 #035UID="root" GID=x',
        b"type=USER_LOGIN msg=audit(1700000000.000:3): pid=1 msg='op=login acct=\"al\xffice\"'",
        b"[ 12.3] audit: type=1400 audit(1700000000.000:4): avc:  denied  { read } pid=1",
        b"<134>Oct 28 12:00:00 host audispd: node=n type=EOE msg=audit(1700000000.000:5): ",
        b"node= type=EOE msg=audit(1700000000.000:5):",
        b'type=CWD msg=audit(1700000000.000:6): cwd="/\xc3\xa9"',
    ]
    path = tmp_path / "odd.log"
    path.write_bytes(b"\n".join(ODD_LINES + extra) + b"\n")
    py = _both(read_auditd_records, path)
    assert py.table is not None and py.table["time"].null_count >= 2  # both coerced
    assert any("did not fit" in w[1] for w in py.warnings)
    _both(open_auditd_records, path, batch_size=3)
    _both(read_auditd_records, path, errors="raise")
    _types_both(path, ("SYSCALL", "PATH", "USER_LOGIN", "AVC"))


@pytest.mark.parametrize("limit", [60, 200])
def test_long_lines_are_rejected_the_same(limit: int, tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(_mixed_log() + b"type=EOE msg=audit(1.0:1): " + b"x" * 500 + b"\n" + _mixed_log())
    py = _both(read_auditd_records, path, max_line_bytes=limit)
    assert any(r.reason.startswith("line too long") for r in py.rejects)
    _both(open_auditd_records, path, max_line_bytes=limit, batch_size=5)
    _types_both(path, ("SYSCALL", "CWD"), max_line_bytes=limit)


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_input_reads_the_same(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"audit.log.{kind}"
    path.write_bytes(COMPRESSORS[kind](_mixed_log()))
    py = _both(read_auditd_records, path)
    assert py.table is not None and py.table.num_rows > 50


@pytest.mark.parametrize("damage", ["cut", "corrupt", "cut-xz"])
def test_damaged_compressed_input_reads_the_same(damage: str, tmp_path: Path) -> None:
    data = _mixed_log() * 20
    packed = _xz(data) if damage == "cut-xz" else gzip.compress(data)
    if damage == "corrupt":
        mid = len(packed) // 2
        packed = packed[:mid] + bytes(b ^ 0x5A for b in packed[mid:mid + 64]) + packed[mid + 64:]
    else:
        packed = packed[: len(packed) // 2]
    path = tmp_path / "audit.log.gz"
    path.write_bytes(packed)
    py = _both(read_auditd_records, path)
    assert any("could not be read" in r.reason for r in py.rejects)
    _both(open_auditd_records, path, batch_size=7)
    _both(read_auditd_records, path, errors="raise")
    _types_both(path, ("SYSCALL",))


def test_a_stream_and_an_empty_input(tmp_path: Path) -> None:
    data = _mixed_log()
    _both(read_auditd_records, lambda: io.BytesIO(data))
    (tmp_path / "empty.log").write_bytes(b"")
    py = _both(read_auditd_records, tmp_path / "empty.log")
    assert py.table is not None and py.table.num_rows == 0


# -- jobs ------------------------------------------------------------------------------------------

def test_jobs_2_equals_the_python_table(tmp_path: Path) -> None:
    """Workers on the fast path and the merge here give the one-process Python table."""
    mixed = tmp_path / "mixed.log"
    mixed.write_bytes(_mixed_log())
    source = [SAMPLE_AUDITD / "node-a" / "var" / "log" / "audit", mixed]
    fast = _outcome(read_auditd_records, source, python=False, jobs=2)
    _assert_same(fast, _outcome(read_auditd_records, source, python=True), where=False)


def test_pieces_cut_inside_a_file(tmp_path: Path) -> None:
    """Byte-range pieces (the records merge's piece work on the fast path)."""
    path = tmp_path / "mixed.log"
    path.write_bytes(_mixed_log() * 3)
    want = _outcome(read_auditd_records, path, python=True)
    assert_cut_read_equals(lambda log: par._AuditdRecordsMerge(path, "collect", log, 2, 2000),
                           AUDITD_RECORDS.arrow, want)


# -- generated input -------------------------------------------------------------------------------

@_GENERATED
@given(log=auditd_logs(), how=st.sampled_from(["path", "path", "stream", "gzip", "two files"]),
       batch_size=st.integers(1, 7), strict=st.booleans(), prefixes=st.sampled_from(TYPES))
def test_generated_logs_read_the_same(log: bytes, how: str, batch_size: int, strict: bool,
                                      prefixes: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = _sources(log, how, Path(tmp))
        py = _both(read_auditd_records, source)
        assert py.table is not None
        streamed = _both(open_auditd_records, source, batch_size=batch_size)
        _batch_shape(streamed, batch_size)
        if strict:
            _both(read_auditd_records, source, errors="raise")
        _types_both(source, prefixes)


@_GENERATED
@given(st.lists(st.one_of(_PARTS, _PARTS, st.just(b"\n"), st.binary(max_size=8)), max_size=60)
       .map(b"".join))
def test_any_bytes_read_the_same(data: bytes) -> None:
    """Pieces of records glued anyhow: no crash, and the Python path's answer."""
    _both(read_auditd_records, lambda: io.BytesIO(b"#" + data))
    _types_both(lambda: io.BytesIO(data), ("SYSCALL", "USER_", "EOE"))


# -- the C type on its own -------------------------------------------------------------------------

def test_add_block_checks_its_arguments() -> None:
    parser = native_records.RecordsParser(None)
    block = b"type=EOE msg=audit(1.2:3): \n"
    for pos, stop in ((-1, 5), (5, 4), (0, len(block) + 1)):
        with pytest.raises(ValueError, match="within the block"):
            parser.add_block(block, pos, stop, 1, "a.log", 10)
    with pytest.raises(TypeError):
        parser.add_block(block, 0, len(block), 1, 0, 10)
    with pytest.raises(TypeError):
        native_records.RecordsParser(["SYSCALL"])
    assert parser.add_block(block, 0, len(block), 1, "a.log", 10) == (len(block), 1)
    assert parser.rows == 1


def test_a_file_name_arrow_cannot_store(tmp_path: Path) -> None:
    """A name that is not valid UTF-8 (a surrogate escape): its lines go the Python way, and
    the nulled file column is counted as on the Python path."""
    path = tmp_path / "audit-\udcff.log"
    try:
        path.write_bytes(_mixed_log())
    except (UnicodeEncodeError, OSError):
        pytest.skip("this file system does not take a non-UTF-8 name")
    py = _both(read_auditd_records, path)
    assert py.table is not None and py.table["file"].null_count == py.table.num_rows
