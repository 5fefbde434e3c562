"""What a worker hands back for an item (:class:`Part`) and how it travels: a table through a
memory-mapped Arrow file, an error with its file and line."""

from __future__ import annotations

import os
import pickle
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..errors import AuditlensError, InvalidLine
from ..rejects import Rejecter
from .arena import Arena, pack, piece_arena, ranges, unpack
from .leftovers import RAM_DIR, file_prefix
from .pool import in_pool_worker

__all__ = ["Part", "piece_arena_here", "portable", "raise_error"]


def portable(exc: BaseException) -> BaseException:
    """An exception that survives pickling: auditlens errors keep file and line."""
    if isinstance(exc, AuditlensError):
        return _ErrorInfo(type(exc), exc.message, exc.file, exc.line)
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - anything unpicklable travels as text
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class _ErrorInfo(Exception):
    """An AuditlensError in transit (its keyword-only constructor does not pickle)."""

    def __init__(self, cls: type[AuditlensError], message: str, file: str | None,
                 line: int | None) -> None:
        super().__init__(cls, message, file, line)
        self.cls, self.message, self.file, self.line = cls, message, file, line

    def rebuild(self, line_offset: int) -> AuditlensError:
        line = None if self.line is None else self.line + line_offset
        return self.cls(self.message, file=self.file, line=line)


def raise_error(error: BaseException, line_offset: int) -> None:
    """Raise a worker's error here, its line number made file-wide."""
    if isinstance(error, _ErrorInfo):
        raise error.rebuild(line_offset)
    raise error


@dataclass
class Part:
    """What a worker hands back for one item: its rows, line count, rejects, nulled values, or
    the error it met. A format's merge subclasses it for what it carries over a cut."""

    table: pa.Table | None = None
    lines: int = 0
    rejects: list[InvalidLine] = field(default_factory=list)
    n_rejects: int = 0
    coerced: int = 0
    error: BaseException | None = None

    arena: Arena | None = field(default=None, repr=False, compare=False)
    """Where the C fast paths wrote this part's columns in a worker (:func:`.arena.piece_arena`):
    the table travels as the layout of its buffers in that file, without a copy."""

    def __getstate__(self) -> dict[str, Any]:
        """Sent from a pool worker: everything goes through a temporary file, which the parent maps
        without a copy: the table, and the rest pickled beside it; only the file's name goes
        through the result pipe. The file is the part's arena when it has one (:func:`.arena.
        pack`: the buffers are where the C fast paths wrote them), else an Arrow IPC file.
        Pickled into the pipe, a piece's table was copied four times (pickle, pipe, unpickle);
        and the events open at a piece's end (a few MB of records) kept the worker waiting on the
        pipe: the pool's thread in the parent reads it 64 KB at a time, each time waiting for the
        GIL, which the parent's own reading holds (measured: 0.7 s per 128 MB auditd piece)."""
        if not in_pool_worker():  # a Dask worker's result, a user's pickle: a path would not do
            return {**self.__dict__, "arena": None}
        state = dict(self.__dict__)
        table, arena = state["table"], state.pop("arena")
        state["table"] = table is not None
        if arena is not None and table is not None:
            try:
                return {"arena": _to_arena(table, state, arena)}
            except (OSError, NotImplementedError):  # no room, or a table it cannot describe
                pass
        try:
            return {"file": _to_file(pa.table({}) if table is None else table,
                                     pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))}
        except OSError:  # no usable temporary directory: send it in the pipe
            return {**self.__dict__, "arena": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "arena" in state and isinstance(state["arena"], tuple):
            state = _from_arena(*state["arena"])
        elif "file" in state:
            table, rest = _from_file(state["file"])
            state = pickle.loads(rest)
            state["table"] = table if state["table"] else None
        self.__dict__.update(state)
        self.arena = None

    def account_for(self, lines: int, coerced: int, rejecter: Rejecter) -> None:
        """The piece's line count, nulled values and rejects, as the parent needs them."""
        self.lines, self.coerced = lines, coerced
        self.rejects = list(rejecter.log or ())
        self.n_rejects = rejecter.count


_REST = b"auditlens.part"
"""The schema metadata key of a part's pickled state in its temporary file."""


_RAM_DIR = RAM_DIR
"""Where pieces go while it has room (tmpfs). A piece handed over there cost half of what it cost in
``/tmp`` on ext4: writing 183 MB 0.08 s against 0.16 s, freeing it in the parent 0.065 s against
0.15 s (the inode of an unlinked file on disk is released extent by extent); ``jobs=2`` read
3–5 % faster in paired runs."""
_RAM_SPARE = 1 << 30
"""Free space left in :data:`_RAM_DIR` after a piece, for everyone else (Docker gives 64 MB)."""


def _ram_has_room(nbytes: int) -> bool:
    """Whether a piece of ``nbytes`` goes to the RAM-backed directory: it has room for it, and
    the user chose no temporary directory (``TMPDIR``), where the parent's mapped pieces can be
    paged out to disk, which a table larger than memory needs."""
    statvfs = getattr(os, "statvfs", None)  # not on Windows
    if statvfs is None or any(os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")):
        return False
    try:
        ram = statvfs(_RAM_DIR)
    except OSError:
        return False
    return ram.f_bavail * ram.f_frsize >= 2 * nbytes + _RAM_SPARE


def piece_arena_here() -> AbstractContextManager[Arena | None]:
    """The arena for the piece this process reads (:func:`.arena.piece_arena`): in a worker
    process, whose part is handed over, in the RAM-backed directory when it has room for a
    piece, else in the temporary directory (the rules of :func:`_to_file`); in the process that
    keeps its rows (the parent, or a read in one process), none."""
    if not in_pool_worker():
        return piece_arena(None)
    return piece_arena(_RAM_DIR if _ram_has_room(_PIECE_ROOM) else tempfile.gettempdir())


_PIECE_ROOM = 256 << 20
"""Room a piece's arena is assumed to need when its directory is chosen (before it is written;
a piece of the default size, 32 MB, makes a table of about 20 MB). An arena that does not fit
after all falls back on bytes, and its part on the IPC file (:class:`Part`)."""


def _to_arena(table: pa.Table, state: dict[str, Any], arena: Arena) -> tuple[str, int, int]:
    layouts = pack(table, arena)
    rest = pickle.dumps((state, table.schema, layouts), protocol=pickle.HIGHEST_PROTOCOL)
    at = arena.put(rest)
    kept = [(at, len(rest))] + [r for chunks in layouts for chunk in chunks for r in ranges(chunk)]
    return arena.hand_over(kept), at, len(rest)


def _from_arena(path: str, at: int, size: int) -> dict[str, Any]:
    state: dict[str, Any] = {}

    def rest(data: pa.Buffer) -> tuple[pa.Schema, Any]:
        nonlocal state
        state, schema, layouts = pickle.loads(data.slice(at, size))
        return schema, layouts

    state["table"] = unpack(path, rest)
    return state


def _to_file(table: pa.Table, rest: bytes) -> str:
    schema = table.schema.with_metadata({**(table.schema.metadata or {}), _REST: rest})
    table = table.replace_schema_metadata(schema.metadata)
    if _ram_has_room(table.nbytes):
        try:
            return _write_piece(table, _RAM_DIR)
        except OSError:  # full after all, or not writable: the temporary directory
            pass
    return _write_piece(table, tempfile.gettempdir())


def _write_piece(table: pa.Table, folder: str) -> str:
    fd, path = tempfile.mkstemp(prefix=file_prefix("piece"), suffix=".arrow", dir=folder)
    os.close(fd)
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _from_file(path: str) -> tuple[pa.Table, bytes]:
    """The table a worker wrote, memory-mapped, and the pickled rest; the file is unlinked at once
    (the mapping keeps the data until the table is freed)."""
    try:
        with pa.memory_map(path) as source:
            table = pa.ipc.open_file(source).read_all()
    finally:
        os.unlink(path)
    meta = dict(table.schema.metadata)
    rest = meta.pop(_REST)
    return table.replace_schema_metadata(meta or None), rest

