"""The commit journal: one checksummed line per group commit, appended and fsynced last.

A record is ``<crc32 of the JSON, 8 hex digits> <JSON>\\n``; the JSON holds the time (``t``),
the committed length of every active file the commit wrote (``f``: path relative to the store
→ bytes) and the digests of the batches it stored (``d``). The record is written after the data
files are fsynced and is itself fsynced before any batch of the group is answered 200, so:

- a record on disk means its batches are on disk (the data was fsynced first);
- a batch without a record was never answered 200, and recovery cuts it off the data file;
- a torn or half-written last record (crash or power loss while appending it) fails its
  checksum: it and anything after it are ignored and cut off, and its batches, never answered,
  are rolled back with it.

Why a separate journal rather than markers inside the data files: the data files stay plain
JSON lines that every reader (and ``jq``) reads, with no line that is not an audit Event.
Compaction rewrites the journal as one checkpoint (the open files' lengths and the digests
still inside the dedup window) into a temporary file, fsynced and renamed over the old one.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Journal", "Record", "fsync_dir", "write_all"]


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a file created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Record:
    """One commit: when, each written file's committed length, the batch digests stored."""

    t: float
    files: dict[str, int] = field(default_factory=dict)
    digests: dict[str, float] = field(default_factory=dict)

    def encode(self) -> bytes:
        body = orjson.dumps({"t": self.t, "f": self.files, "d": self.digests})
        return b"%08x " % zlib.crc32(body) + body + b"\n"


def _decode(line: bytes) -> Record | None:
    """The record of a whole line, None when it is torn or corrupt."""
    if len(line) < 10 or line[8:9] != b" " or not line.endswith(b"\n"):
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        doc: Any = orjson.loads(body)
        return Record(float(doc["t"]), dict(doc["f"]), dict(doc["d"]))
    except (ValueError, KeyError, TypeError):
        return None


class Journal:
    """The append-only journal file of a store (see the module docstring)."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self.fd = -1
        self.size = 0
        self.broken = False

    def replay(self) -> Iterator[Record]:
        """The valid records in order; the file is cut after the last one (a torn tail)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        good = 0
        for line in data.splitlines(keepends=True):
            record = _decode(line)
            if record is None:
                break
            good += len(line)
            yield record
        if good < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = os.fstat(self.fd).st_size
        fsync_dir(self.path.parent)

    def append(self, record: Record) -> None:
        """Write and fsync one record: after this returns, its batches are committed. On an
        error the journal is cut back to where it was: a torn record left in the middle would
        hide every record after it from the recovery. If even that fails, the journal refuses
        every later commit (the receiver answers 503) rather than write after a torn record."""
        if self.broken:
            raise OSError(5, f"the journal {self.path} could not be repaired after an I/O error")
        data = record.encode()
        try:
            write_all(self.fd, data)
            if self.fsync:
                os.fdatasync(self.fd)
        except OSError:
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                self.broken = True
            raise
        self.size += len(data)

    def rewrite(self, records: list[Record]) -> None:
        """Replace the journal by ``records`` atomically (compaction)."""
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            write_all(fd, b"".join(r.encode() for r in records))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self.close()
        self.open()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written (a write may be short)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
