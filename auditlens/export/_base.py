"""What every writer shares: the Section value, resolved options, and opening destinations.

Destinations are a path or an open binary stream. A path is written through a temporary file
beside it and renamed at the end, so a failed export never leaves a half-written evidence file
that looks complete. A stream is written to and left open: the caller owns it.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from pathlib import Path
from typing import BinaryIO, TextIO, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from auditlens.errors import AuditlensError
from auditlens.spill import SpilledTable, TableLike

Dest = Union[str, "os.PathLike[str]", BinaryIO]
"""Where an export goes: a file path, or a binary stream the caller keeps open."""

Cover = Union[dict[str, str], pa.Table, None]  # noqa: UP007 (runtime alias on 3.10)
"""The cover sheet of a multi-section export: key/value pairs or a ready table."""


@dataclass(frozen=True)
class Figure:
    """A picture for the HTML report (issue 6): an SVG or PNG document embedded as a data URI.

    Embedding through ``<img src="data:...">`` keeps the page self-contained and keeps any script
    inside the picture from running, so the Content-Security-Policy stays strict.
    """

    title: str
    data: bytes
    mime: str = "image/svg+xml"
    alt: str = ""


@dataclass(frozen=True)
class Section:
    """One part of a multi-section export (a report inside ``compliance``).

    ``name`` is the machine name (sheet, file and anchor names derive from it), ``title`` the
    heading people read, ``description`` what it shows, ``requirement`` the control it answers
    (e.g. "PCI DSS 10.2.1.4"). Formats that cannot show ``figures`` leave them out.
    """

    name: str
    title: str
    description: str
    table: TableLike
    requirement: str = ""
    figures: tuple[Figure, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.table, (pa.Table, SpilledTable)):
            raise AuditlensError(
                f"section {self.name!r}: table must be an Arrow table, not {type(self.table).__name__}"
            )
        for label in ("name", "title", "description", "requirement"):
            if not isinstance(getattr(self, label), str):
                raise AuditlensError(f"section {self.name!r}: {label} must be text")


@dataclass(frozen=True)
class Options:
    """Resolved keyword options shared by all writers."""

    title: str | None = None
    tz: tzinfo = timezone.utc
    tz_name: str = "UTC"


def resolve_tz(tz: str | None) -> tuple[tzinfo, str]:
    """Turn a user's ``--tz`` into a tzinfo; UTC when not given, a clear error when unknown."""
    if tz is None or tz.upper() in ("UTC", "Z"):
        return timezone.utc, "UTC"
    try:
        return ZoneInfo(tz), tz
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise AuditlensError(
            f"unknown time zone {tz!r}; use an IANA name such as Europe/Berlin, or UTC"
        ) from None


def make_options(title: str | None, tz: str | None) -> Options:
    zone, name = resolve_tz(tz)
    return Options(title=title, tz=zone, tz_name=name)


def is_stream(dest: Dest) -> bool:
    return not isinstance(dest, (str, os.PathLike))


def _writable(directory: Path, path: Path) -> None:
    # a file is written beside its final name and renamed: the directory must take new files
    if not os.access(directory, os.W_OK | os.X_OK):
        raise AuditlensError(f"cannot write {path}: directory {directory} is not writable")


def check_file_target(path: Path) -> Path:
    """The directory a file export of ``path`` writes into, refused when it could not: checked
    before anything is written (and before a report reads its sources), creating nothing."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise AuditlensError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise AuditlensError(f"cannot write {path}: it is a directory; give a file name")
    _writable(parent, path)
    return parent


@contextmanager
def open_binary(dest: Dest) -> Iterator[BinaryIO]:
    """Yield a binary stream for ``dest``; paths are replaced atomically when the block succeeds."""
    if is_stream(dest):
        yield dest  # type: ignore[misc]
        return
    path = Path(os.fspath(dest))  # type: ignore[arg-type]
    parent = check_file_target(path)
    tmp = parent / f".{path.name}.{secrets.token_hex(6)}.part"
    # os.open with 0o666 lets the umask decide the final mode, as a plain open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@contextmanager
def open_text(dest: Dest, *, newline: str | None = None) -> Iterator[TextIO]:
    """Yield a UTF-8 text stream over ``open_binary``; a caller's stream is detached, not closed."""
    with open_binary(dest) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline=newline, write_through=True)
        try:
            yield text
        finally:
            text.flush()
            text.detach()


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(name: str) -> str:
    """A section name made safe as a file name (no separators, no leading dot)."""
    stem = _SAFE_NAME.sub("_", name).lstrip(".")
    return stem or "section"


RESERVED_STEMS = ("_cover", "_sections")
"""File stems the directory writers use for the cover and the section index."""


def check_sections(sections: list[Section]) -> None:
    """Refuse section lists whose names would collide in sheets, files or anchors."""
    seen: dict[str, str] = {}
    for s in sections:
        if not isinstance(s, Section):
            raise AuditlensError(f"expected Section objects, got {type(s).__name__}")
        key = file_stem(s.name).lower()
        if key in seen or key in RESERVED_STEMS:
            other = seen.get(key, key)
            raise AuditlensError(f"section name {s.name!r} collides with {other!r}")
        seen[key] = s.name


def section_directory(dest: Dest, fmt: str) -> Path:
    """Where a one-table-per-file format writes sections: a directory, created when missing.

    A stream, or a path that looks like a single file (has a suffix and is not a directory), is
    refused: silently writing only one section into it would lose the others.
    """
    path = check_section_directory(dest, fmt)
    if not path.is_dir():
        path.mkdir(parents=True)
    return path


def check_section_directory(dest: Dest, fmt: str) -> Path:
    """The directory :func:`section_directory` would write into, refused as it would refuse it
    (and when it could not be created or written), without creating it."""
    refusal = (
        f"{fmt} holds one table; use -f xlsx/html/json or -o DIR "
        f"(a directory gets one .{fmt} file per section)"
    )
    if is_stream(dest):
        raise AuditlensError(refusal)
    path = Path(os.fspath(dest))  # type: ignore[arg-type]
    if path.is_dir():
        _writable(path, path)
        return path
    if path.exists() or path.suffix:
        raise AuditlensError(refusal)
    # created with its missing parents: the nearest one that exists must be a writable directory
    existing = next((p for p in path.parents if p.exists()), Path("."))
    if not existing.is_dir():
        raise AuditlensError(f"cannot write {path}: {existing} is not a directory")
    _writable(existing, path)
    return path


def write_section_files(sections: list[Section], dest: Dest, opts: Options, cover: Cover,
                        fmt: str, write_table: Callable[[TableLike, Dest, Options], None]) -> None:
    """Sections of a one-table-per-file format: ``_cover``, ``_sections`` and one file each."""
    directory = section_directory(dest, fmt)
    front = cover_table(cover)
    if front is not None:
        write_table(front, directory / f"_cover.{fmt}", opts)
    write_table(index_table(sections), directory / f"_sections.{fmt}", opts)
    for s in sections:
        write_table(s.table, directory / f"{file_stem(s.name)}.{fmt}", opts)


def cover_table(cover: Cover) -> pa.Table | None:
    """The cover as a table: a dict becomes two string columns ``item`` and ``value``."""
    if cover is None or isinstance(cover, pa.Table):
        return cover
    if not isinstance(cover, dict):
        raise AuditlensError(f"cover must be a dict or an Arrow table, not {type(cover).__name__}")
    return pa.table(
        {
            "item": pa.array([str(k) for k in cover], pa.string()),
            "value": pa.array([None if v is None else str(v) for v in cover.values()], pa.string()),
        }
    )


def index_table(sections: list[Section]) -> pa.Table:
    """One row per section: what it is, the requirement it answers, how many rows it holds."""
    return pa.table(
        {
            "section": pa.array([s.name for s in sections], pa.string()),
            "title": pa.array([s.title for s in sections], pa.string()),
            "requirement": pa.array([s.requirement for s in sections], pa.string()),
            "rows": pa.array([s.table.num_rows for s in sections], pa.int64()),
            "description": pa.array([s.description for s in sections], pa.string()),
        }
    )
