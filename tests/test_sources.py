"""Finding, ordering and opening inputs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path

import pytest

from auditlens.errors import SourceError
from auditlens.formats import detect_file, detect_lines
from auditlens.sources import expand_sources, iter_lines
from auditlens.sources.lines import line_spans

AUDIT_LINE = b"type=USER_CMD msg=audit(1700000000.123:42): pid=1 uid=0 auid=1000 ses=3 msg='cmd=6C73 res=success'\n"


def _names(source: object) -> list[str]:
    return [Path(i.name).name for i in expand_sources(source)]  # type: ignore[arg-type]


def test_rotated_directory_is_read_oldest_first(tmp_path: Path) -> None:
    for name in ["audit.log", "audit.log.1", "audit.log.10", "audit.log.2.gz", "audit.log.3"]:
        (tmp_path / name).write_bytes(AUDIT_LINE)
    assert _names(tmp_path) == ["audit.log.10", "audit.log.3", "audit.log.2.gz", "audit.log.1", "audit.log"]


def test_kube_apiserver_rotation_names_sort_before_live_file(tmp_path: Path) -> None:
    for name in ["audit.log", "audit-2021-03-09T00-12-19.834.log", "audit-2021-03-08T00-00-00.000.log"]:
        (tmp_path / name).write_bytes(b"{}\n")
    assert _names(tmp_path) == [
        "audit-2021-03-08T00-00-00.000.log",
        "audit-2021-03-09T00-12-19.834.log",
        "audit.log",
    ]


def test_directories_are_walked_and_hidden_files_skipped(tmp_path: Path) -> None:
    for node in ["worker-2", "worker-1"]:
        (tmp_path / node).mkdir()
        (tmp_path / node / "audit.log").write_bytes(AUDIT_LINE)
    (tmp_path / ".DS_Store").write_bytes(b"x")
    names = [str(Path(i.name).relative_to(tmp_path)) for i in expand_sources(tmp_path)]
    assert names == ["worker-1/audit.log", "worker-2/audit.log"]


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress],
    ids=["gzip", "bzip2", "xz"],
)
def test_compression_is_recognised_by_content_not_name(tmp_path: Path, compress: object) -> None:
    path = tmp_path / "audit.log.1"  # no .gz suffix: collectors do this
    path.write_bytes(compress(AUDIT_LINE * 3))  # type: ignore[operator]
    (inp,) = expand_sources(path)
    with inp.open() as stream:
        assert [n for n, _ in iter_lines(stream)] == [1, 2, 3]


def test_zstd_when_installed(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard", reason="zstandard extra not installed")
    path = tmp_path / "audit.log.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(AUDIT_LINE))
    (inp,) = expand_sources(path)
    with inp.open() as stream:
        assert stream.read() == AUDIT_LINE


def test_glob_list_and_file_object(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(AUDIT_LINE)
    (tmp_path / "b.log").write_bytes(AUDIT_LINE)
    assert _names(str(tmp_path / "*.log")) == ["a.log", "b.log"]
    assert _names([tmp_path / "b.log", tmp_path / "a.log"]) == ["b.log", "a.log"]
    (inp,) = expand_sources(io.BytesIO(AUDIT_LINE))
    with inp.open() as stream:
        assert stream.read() == AUDIT_LINE


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("does/not/exist.log", "no such file"),
        ("nothing-*.log", "no file matches"),
        ([], "no input"),
    ],
)
def test_user_mistakes_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: object, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError, match=message):
        expand_sources(source)  # type: ignore[arg-type]


def test_text_mode_file_object_is_refused() -> None:
    with pytest.raises(SourceError, match="binary mode"):
        expand_sources(io.StringIO("x"))  # type: ignore[arg-type]


def test_iter_lines_keeps_every_line() -> None:
    data = b"a\r\nb\n\nc"
    assert list(iter_lines(io.BytesIO(data))) == [(1, b"a"), (2, b"b"), (3, b""), (4, b"c")]
    assert list(iter_lines(io.BytesIO(b""))) == []


@pytest.mark.parametrize(
    "chunks",
    [
        [],
        [b"a\nbb\n"],
        [b"a\nb", b"b\nc\n"],  # a line cut between two chunks
        [b"lo", b"n", b"g\n", b"x"],  # a line over three chunks; no final newline
        [b"a\n", b"\nb\n", b"\n"],  # chunks starting and ending with a newline
        [b"no newline at all"],
    ],
)
def test_line_spans_are_the_bytes_cut_after_newlines(chunks: list[bytes]) -> None:
    """The spans are the input again, each whole lines; a chunk is passed on as it is (not
    copied) and only a line cut between chunks is a new block."""
    spans = list(line_spans(chunks))
    data = b"".join(chunks)
    assert b"".join(block[s:e] for block, s, e in spans) == data
    assert all(s < e and block[e - 1:e] == b"\n" for block, s, e in spans[:-1])
    assert all(any(block is c for c in chunks) or (s, e) == (0, len(block)) for block, s, e in spans)
    assert sum(block[s:e].count(b"\n") for block, s, e in spans) == data.count(b"\n")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (AUDIT_LINE, "auditd"),
        (b"node=worker-1 " + AUDIT_LINE, "auditd"),
        (b"Mar  1 10:00:00 host audispd: " + AUDIT_LINE, "auditd"),
        (b'{"kind":"Event","apiVersion":"audit.k8s.io/v1"}\n', "k8s"),
        (b'\xef\xbb\xbf{"records": []}\n', "k8s"),
        (b'2024-01-01T00:00:00.1Z stdout F {"kind":"Event"}\n', "k8s"),
        (b'2024-01-01T00:00:00.1Z AUDIT: id="x" stage="ResponseComplete"\n', "k8s"),
        (b"hello world\n", None),
        (b'{"node": "node-a", "first_removed_serial": 5834}\n', None),  # JSON, not an audit log
    ],
)
def test_detect(head: bytes, kind: str | None, tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(gzip.compress(head))
    (inp,) = expand_sources(path)
    assert detect_file(inp) == kind
    assert detect_lines([head.rstrip(b"\n")]) == kind


def test_a_damaged_file_is_detected_from_what_can_be_read(tmp_path: Path) -> None:
    """A truncated gzip file is detected from the lines before the damage (its reader rejects
    the rest); one whose start cannot be read at all is an error naming the file and the way
    out, not the decompressor's bare exception (click showed a truncated file as "Aborted!")."""
    cut = tmp_path / "cut.log.gz"
    whole = gzip.compress(AUDIT_LINE * 200)
    cut.write_bytes(whole[:len(whole) // 2])
    (inp,) = expand_sources(cut)
    assert detect_file(inp) == "auditd"
    false = tmp_path / "false.json"
    false.write_bytes(b'\x1f\x8b{"kind":"Event"}\n')
    (inp,) = expand_sources(false)
    with pytest.raises(SourceError, match=r"false\.json: cannot tell its kind: its start cannot be "
                                          r"read \(corrupt or truncated: Unknown compression "
                                          r"method\); name the kind \(--source-type"):
        detect_file(inp)


def test_bzip2_magic_needs_its_block_size_digit() -> None:
    from auditlens.sources.compression import sniff_compression

    assert sniff_compression(bz2.compress(b"x")[:6]) == "bzip2"
    assert sniff_compression(b"BZh\n\x00") is None  # text that merely starts like it
