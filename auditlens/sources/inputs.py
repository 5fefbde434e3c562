"""Expanding a user's ``source`` argument into an ordered list of inputs."""

from __future__ import annotations

import glob
import io
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

from ..errors import SourceError
from ..progress import counted
from .compression import open_decompressed
from .receiver import committed_length, is_active, open_plain

Source = Union[str, os.PathLike, IO[bytes], Iterable[Union[str, os.PathLike, IO[bytes]]]]  # noqa: UP007


@dataclass(frozen=True)
class InputFile:
    """One input: a display name, its size when known, and how to open it decompressed."""

    name: str
    opener: Callable[[], IO[bytes]]
    size: int | None = None
    end: int | None = None
    """Read only the plain bytes before this offset: a receiver's file still being written, up
    to its last committed batch (:mod:`auditlens.serve.layout`)."""

    def open(self) -> IO[bytes]:
        """The decompressed stream; an unreadable file is a SourceError naming it."""
        try:
            return open_decompressed(self.opener())
        except SourceError:
            raise
        except OSError as exc:
            raise SourceError(f"cannot open: {exc.strerror or exc}", file=self.name) from exc


def bytes_on_disk(files: list[str]) -> int | None:
    """Bytes on disk of ``files`` (what reading them counts, compressed ones too); None when one
    is not a file (standard input)."""
    if "-" in files:
        return None
    try:
        return sum(os.stat(f).st_size for f in files)
    except OSError:
        return None


def release(inp: InputFile, stream: Any) -> None:
    """Done with ``stream``, opened from ``inp``: close what a reader opened (a path), leave a
    caller's own stream open, and unwrap the buffer put around it, which would close it when
    garbage-collected."""
    if inp.size is not None:  # a path: we opened it
        stream.close()
        return
    caller = inp.opener()  # a stream input's opener hands back the caller's own object
    if stream is not caller and isinstance(stream, io.BufferedReader) and stream.raw is caller:
        stream.detach()


_COMPRESSED_SUFFIX = re.compile(r"\.(gz|bz2|xz|zst)$")
_ROTATED = re.compile(r"^(?P<base>.*?)\.(?P<n>\d+)$")


def rotation_key(path: Path) -> tuple[str, int, str]:
    """Sort key that puts rotated logs oldest first: ``audit.log.3``, ``.2``, ``.1``, ``audit.log``.

    auditd (and logrotate) rotate by renaming ``audit.log`` to ``audit.log.1`` and shifting the
    others up, so a larger number is older. Timestamped names (kube-apiserver's
    ``audit-2021-03-09T00-12-19.834.log``) sort by name, which is by time, before the live file.
    """
    name = _COMPRESSED_SUFFIX.sub("", path.name)
    m = _ROTATED.match(name)
    if m:
        return (m.group("base"), -int(m.group("n")), name)
    stem = name
    # kube-apiserver: audit-<timestamp>.log rotates out of audit.log; keep it before audit.log
    if re.match(r"^.+-\d{4}-\d{2}-\d{2}T[\d.-]+\.log$", name):
        stem = re.sub(r"-\d{4}-\d{2}-\d{2}T[\d.-]+\.log$", ".log", name)
        return (stem, -1, name)
    return (stem, 0, name)


def _from_path(path: Path) -> InputFile:
    if is_active(path):
        end = committed_length(path)
        return InputFile(str(path), lambda: counted(io.BufferedReader(_Head(open_plain(str(path)), end))),
                         end, end)
    return InputFile(str(path), lambda: counted(open(path, "rb")), path.stat().st_size)


class _Head(io.RawIOBase):
    """The first ``n`` bytes of a file (what is committed of a file still being written)."""

    def __init__(self, f: IO[bytes], n: int) -> None:
        super().__init__()
        self._f, self._left = f, n

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        n = self._f.readinto(memoryview(buffer)[:self._left])  # type: ignore[attr-defined]
        self._left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


def _expand_dir(directory: Path) -> list[InputFile]:
    files: list[InputFile] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths = [Path(root) / n for n in names
                 if not n.startswith(".") or is_active(Path(root) / n)]
        files.extend(_from_path(p) for p in sorted(paths, key=rotation_key) if p.is_file())
    return files


def _expand_one(item: str | os.PathLike | IO[bytes]) -> list[InputFile]:
    if hasattr(item, "read"):
        stream: IO[bytes] = item  # type: ignore[assignment]
        if isinstance(stream, io.TextIOBase):
            raise SourceError("file objects must be opened in binary mode ('rb')")
        name = getattr(stream, "name", "<stream>")
        return [InputFile(str(name), lambda: stream)]
    text = os.fspath(item)
    if text == "-":
        return [InputFile("-", lambda: sys.stdin.buffer)]
    path = Path(text)
    if path.is_dir():
        found = _expand_dir(path)
        if not found:
            raise SourceError("directory contains no files", file=text)
        return found
    if path.is_file():
        return [_from_path(path)]
    if glob.has_magic(text):
        matches = [Path(p) for p in glob.glob(text, recursive=True)]
        if not matches:
            raise SourceError("no file matches this pattern", file=text)
        out: list[InputFile] = []
        for p in sorted(matches, key=lambda p: (str(p.parent), rotation_key(p))):
            out.extend(_expand_dir(p) if p.is_dir() else [_from_path(p)])
        return out
    if path.exists():
        raise SourceError("not a regular file or directory", file=text)
    raise SourceError("no such file or directory", file=text)


def expand_sources(source: Source) -> list[InputFile]:
    """Turn any accepted ``source`` form into an ordered list of inputs.

    Accepts a path, a directory (walked, rotated files oldest first), a glob, ``-`` for stdin,
    a binary file object, or a list/tuple of these.
    """
    if isinstance(source, (str, os.PathLike)) or hasattr(source, "read"):
        return _expand_one(source)  # type: ignore[arg-type]
    if isinstance(source, Iterable):
        items = list(source)
        if not items:
            raise SourceError("no input given")
        out: list[InputFile] = []
        for item in items:
            out.extend(_expand_one(item))
        return out
    raise SourceError(f"cannot read from a {type(source).__name__}")
