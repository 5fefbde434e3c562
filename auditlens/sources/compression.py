"""Transparent decompression chosen by magic number."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable
from typing import IO, cast

from ..errors import SourceError

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x1f\x8b", "gzip"),
    *((b"BZh" + digit.encode(), "bzip2") for digit in "123456789"),  # BZh + block size 1-9
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]


def _zstd_reader(raw: IO[bytes]) -> IO[bytes]:
    try:
        import zstandard  # optional extra: auditlens[zstd]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SourceError(
            "input is zstd-compressed; install the 'zstandard' package (pip install 'auditlens[zstd]')"
        ) from exc
    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


_OPENERS: dict[str, Callable[[IO[bytes]], IO[bytes]]] = {
    # the stdlib file objects are BufferedIOBase, which typeshed does not count as IO[bytes]
    "gzip": lambda raw: cast(IO[bytes], gzip.GzipFile(fileobj=raw)),
    "bzip2": lambda raw: cast(IO[bytes], bz2.BZ2File(raw)),
    "xz": lambda raw: cast(IO[bytes], lzma.LZMAFile(raw)),
    "zstd": _zstd_reader,
}


def sniff_compression(head: bytes) -> str | None:
    """Name of the compression whose magic number starts ``head``, or None."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_decompressed(raw: IO[bytes]) -> IO[bytes]:
    """Wrap a binary stream so that reading it yields decompressed bytes."""
    # any readable binary stream works at run time; typeshed wants a RawIOBase
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw))
    kind = sniff_compression(buffered.peek(6)[:6])
    if kind is None:
        return buffered
    return _OPENERS[kind](buffered)
