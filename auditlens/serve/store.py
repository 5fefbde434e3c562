"""The durable store: batches appended to per-source JSON-lines files, answered only once fsynced.

Layout under the output directory ``OUT``::

    OUT/<source>/<YYYY-MM-DD>/audit-<opened>Z-<r>.jsonl           closed files (readers read)
    OUT/<source>/<YYYY-MM-DD>/.audit-<opened>Z-<r>.jsonl.active   the file being written
    OUT/<source>/<YYYY-MM-DD>/.audit-….jsonl.active.committed     its committed length
    OUT/.auditlens-serve/journal                              commits (:mod:`.journal`)
    OUT/.auditlens-serve/sources.json                         when each source last sent
    OUT/.auditlens-serve/quarantine/                          malformed bodies, kept
    OUT/.auditlens-serve/lock                                 one server per directory

The date is the UTC day the file was opened (files are rotated at midnight).
``auditlens.read_k8s_audit(OUT)``, ``auditlens report … OUT`` and ``--since`` read the closed
files, and the file being written only up to its last committed batch: its committed length is
published beside it after every commit (:mod:`auditlens.sources.receiver`); other tools skip
its dot name. Files are closed by size (``rotate_bytes``), by age (``rotate_seconds``), at
midnight and at shutdown; always between batches. A closed file is fsynced, renamed into place (atomic) and
its directory fsynced.

Group commit (:meth:`Store.commit`): every batch waiting is written to its file, the files
fsynced, then one journal record appended and fsynced; only then are the batches answered.
The fsync cost is shared by all the batches of a group, and a batch of a group that failed
is rolled back (the file cut back) and answered 503.

Dedup: the digest of each stored batch (:mod:`.batch`) is kept ``dedup_seconds`` (default
1 h; the apiserver gives up on a batch after about 4 minutes) in memory and in the journal, so
a batch sent again after its reply was lost — also across a crash and restart — is answered
200 and not stored twice.

Recovery (:meth:`Store.open`): the journal's valid records give each file's committed length;
an active file longer than that has a half-written or unacknowledged tail, which is cut off
(its batches were never answered 200, so the apiserver sends them again); the recovered file
is then closed. An active file *shorter* than its committed length lost acknowledged data
(the disk lied, or someone truncated it): that is reported, never hidden.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import orjson

from ..sources.receiver import (
    ACTIVE_SUFFIX,
    STATE_DIR,
    closed_name,
    committed_file,
    publish_committed,
)
from .batch import Batch
from .config import ServeError
from .journal import Journal, Record, fsync_dir, write_all

__all__ = ["STATE_DIR", "Outcome", "Recovery", "Silence", "Store", "StoreLocked", "silences",
           "valid_source"]

SOURCES_FILE = "sources.json"
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_JOURNAL_LIMIT = 4 << 20


class StoreLocked(ServeError):
    """Another server already writes into this directory."""


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"


def valid_source(name: str) -> bool:
    """A source name is one path component users can type: letters, digits, ``.``, ``_``,
    ``-``, not starting with a dot (a dot would hide it from the readers)."""
    return bool(_SOURCE.match(name))


@dataclass
class Recovery:
    """What :meth:`Store.open` found: bytes cut off (never acknowledged), bytes missing that
    were acknowledged (data loss to report), files closed."""

    rolled_back_bytes: int = 0
    lost_bytes: int = 0
    closed: list[str] = field(default_factory=list)
    digests: int = 0


@dataclass
class _Active:
    rel: str
    path: Path
    fd: int
    committed: int
    opened: float
    day: str


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H%M%S.%f")


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")


class Store:
    """The durable store of one output directory (see the module docstring). Thread-safe: the
    commit, maintenance and shutdown calls take one lock."""

    def __init__(self, root: str | os.PathLike[str], *, rotate_bytes: int = 128 << 20,
                 rotate_seconds: float = 600, dedup_seconds: float = 3600,
                 silence_seconds: float | None = None, fsync: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.state = self.root / STATE_DIR
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.dedup_seconds = dedup_seconds
        self.fsync = fsync
        self.clock = clock
        self.journal = Journal(self.state / "journal", fsync=fsync)
        self.dedup: dict[str, float] = {}
        self.active: dict[str, _Active] = {}
        self.last_batch: dict[str, float] = {}
        self.first_batch: dict[str, float] = {}
        self.silences: dict[str, list[list[float]]] = {}
        self.silence_seconds = silence_seconds
        self.lock = threading.Lock()
        self._lock_fd = -1
        self._sources_written = 0.0

    def now(self) -> float:
        return float(self.clock())

    # -- start and stop ------------------------------------------------------------------

    def open(self) -> Recovery:
        """Take the directory (one server per directory), recover it and start a new journal."""
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "quarantine").mkdir(exist_ok=True)
        self._lock_fd = os.open(self.state / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise StoreLocked(f"another auditlens serve writes into {self.root}") from None
        recovery = self._recover()
        self._load_sources()
        return recovery

    def _recover(self) -> Recovery:
        out = Recovery()
        committed: dict[str, int] = {}
        horizon = self.now() - self.dedup_seconds
        journal_lost = not self.journal.path.exists() and bool(self._active_files())
        if journal_lost:  # never cut acknowledged data for want of its record: keep whole lines
            print(f"auditlens serve: {self.journal.path} is missing: the files being written are "
                  "kept up to their last whole line (a batch may be stored twice)", file=sys.stderr)
            for path in self._active_files():
                data = path.read_bytes()
                committed[str(path.relative_to(self.root))] = data.rfind(b"\n") + 1
        for record in self.journal.replay():
            committed.update(record.files)
            self.dedup.update({d: t for d, t in record.digests.items() if t >= horizon})
        out.digests = len(self.dedup)
        for path in sorted(self._active_files()):
            rel = str(path.relative_to(self.root))
            good = committed.get(rel, 0)
            size = path.stat().st_size
            if size > good:
                out.rolled_back_bytes += size - good
            elif size < good:
                out.lost_bytes += good - size
                print(f"auditlens serve: {rel} is {good - size} bytes shorter than what was "
                      "acknowledged: acknowledged events were lost on disk", file=sys.stderr)
            with open(path, "r+b") as f:
                if size > good:
                    f.truncate(good)
                os.fsync(f.fileno())
            if min(size, good) > 0:
                os.replace(path, closed_name(path))
                out.closed.append(str(closed_name(path).relative_to(self.root)))
            else:
                path.unlink()
            fsync_dir(path.parent)
            committed_file(path).unlink(missing_ok=True)
        self.journal.rewrite([Record(self.now(), {}, dict(self.dedup))])
        return out

    def _active_files(self) -> list[Path]:
        found: list[Path] = []
        for day_dir in self.root.glob("*/*"):
            if day_dir.is_dir() and not day_dir.parts[-2].startswith("."):
                found.extend(day_dir.glob(".*" + ACTIVE_SUFFIX))
        return found

    def close(self) -> None:
        """Close every open file (readable from now on) and the journal; release the directory."""
        with self.lock:
            for source in list(self.active):
                self._close_active(source)
            self._write_sources(force=True)
            self.journal.close()
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    # -- the group commit ----------------------------------------------------------------

    def commit(self, batches: list[Batch]) -> list[Outcome]:
        """Store ``batches`` durably, as one group: each is STORED, or a DUPLICATE of a batch
        stored before (or earlier in this group). On an OSError (disk full, I/O error) nothing
        of the group is kept and the error is raised: the caller answers 503 to all."""
        with self.lock:
            now = self.now()
            for source in {b.source for b in batches}:
                self._rotate_if_due(source, now)
            outcomes: list[Outcome] = []
            fresh: dict[str, float] = {}
            touched: dict[str, _Active] = {}
            sizes: dict[str, int] = {}
            try:
                for b in batches:
                    if b.digest in self.dedup or b.digest in fresh:
                        outcomes.append(Outcome.DUPLICATE)
                        continue
                    af = self._active_for(b.source, now)
                    write_all(af.fd, b"".join(b.lines))
                    sizes[af.rel] = sizes.get(af.rel, af.committed) + b.nbytes
                    touched[af.rel] = af
                    fresh[b.digest] = now
                    outcomes.append(Outcome.STORED)
                if touched or fresh:
                    if self.fsync:
                        for af in touched.values():
                            os.fdatasync(af.fd)
                    self.journal.append(Record(now, sizes, fresh))
            except OSError:
                for af in touched.values():  # roll the group back: none of it is answered 200
                    try:
                        os.ftruncate(af.fd, af.committed)
                    except OSError:  # left as it is: the next start cuts it to its committed
                        self._abandon(af)  # length; new batches go to a new file
                raise
            for rel, af in touched.items():
                af.committed = sizes[rel]
                publish_committed(af.path, af.committed)
            self.dedup.update(fresh)
            for b in batches:
                self._seen(b.source, now)
            return outcomes

    def _active_for(self, source: str, now: float) -> _Active:
        af = self.active.get(source)
        if af is not None:
            return af
        day = _day(now)
        folder = self.root / source / day
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(folder.parent)
            fsync_dir(self.root)
        # the time sorts the files; the random part keeps two files opened in the same
        # microsecond (a clock stepped back, a restart) from ever sharing a name
        path = folder / f".audit-{_stamp(now)}Z-{secrets.token_hex(3)}.jsonl{ACTIVE_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o640)
        fsync_dir(folder)
        af = _Active(str(path.relative_to(self.root)), path, fd, 0, now, day)
        self.active[source] = af
        return af

    def _abandon(self, af: _Active) -> None:
        for source, other in list(self.active.items()):
            if other is af:
                del self.active[source]
        try:
            os.close(af.fd)
        except OSError:
            pass

    def _rotate_if_due(self, source: str, now: float) -> bool:
        af = self.active.get(source)
        if af is None:
            return False
        if (af.committed >= self.rotate_bytes or now - af.opened >= self.rotate_seconds
                or _day(now) != af.day):
            self._close_active(source)
            return True
        return False

    def _close_active(self, source: str) -> None:
        """Close a file between batches: fsync, rename into place, fsync the directory."""
        af = self.active.pop(source)
        try:
            os.ftruncate(af.fd, af.committed)  # nothing uncommitted is ever renamed into place
            os.fsync(af.fd)
        finally:
            os.close(af.fd)
        if af.committed:
            os.replace(af.path, closed_name(af.path))
        else:
            af.path.unlink()
        fsync_dir(af.path.parent)
        committed_file(af.path).unlink(missing_ok=True)  # after the rename: readers fall back

    # -- maintenance ----------------------------------------------------------------------

    def maintain(self) -> None:
        """Periodic work between commits: close files past their age, forget old digests,
        compact the journal, write the sources' state."""
        with self.lock:
            now = self.now()
            for source in list(self.active):
                self._rotate_if_due(source, now)
            horizon = now - self.dedup_seconds
            self.dedup = {d: t for d, t in self.dedup.items() if t >= horizon}
            if self.journal.size > _JOURNAL_LIMIT:
                files = {af.rel: af.committed for af in self.active.values()}
                self.journal.rewrite([Record(now, files, dict(self.dedup))])
            self._write_sources()

    def closed_files(self) -> list[Path]:
        """Every closed data file, oldest first (by the time in its name)."""
        files = [p for p in self.root.glob("*/*/audit-*.jsonl") if not p.parts[-3].startswith(".")]
        return sorted(files, key=lambda p: p.name)

    def apply_retention(self, *, max_age_seconds: float | None, max_bytes: int | None) -> list[Path]:
        """Remove closed files (JSON lines and their Parquet copies) older than
        ``max_age_seconds`` (by the day folder's date and file time) or, oldest first, until
        the closed files take at most ``max_bytes``. The file being written is never removed."""
        removed: list[Path] = []
        files = self.closed_files()
        now = self.now()
        sizes = {p: p.stat().st_size for p in files}
        total = sum(sizes.values())
        for p in files:
            opened = _opened_of(p)
            old = max_age_seconds is not None and opened is not None and now - opened > max_age_seconds
            big = max_bytes is not None and total > max_bytes
            if not (old or big):
                continue
            p.unlink()
            total -= sizes[p]
            removed.append(p)
            fsync_dir(p.parent)
        return removed

    # -- sources: when each last sent -----------------------------------------------------

    def _seen(self, source: str, now: float) -> None:
        last = self.last_batch.get(source)
        if last is not None and self.silence_seconds is not None and now - last > self.silence_seconds:
            self.silences.setdefault(source, []).append([last, now])
        self.last_batch[source] = now
        self.first_batch.setdefault(source, now)

    def silent(self, now: float | None = None) -> dict[str, float]:
        """Each source silent for longer than the threshold → seconds since its last batch."""
        if self.silence_seconds is None:
            return {}
        now = self.now() if now is None else now
        return {s: now - t for s, t in self.last_batch.items() if now - t > self.silence_seconds}

    def _load_sources(self) -> None:
        try:
            doc = orjson.loads((self.state / SOURCES_FILE).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return
        for name, s in doc.get("sources", {}).items():
            self.last_batch[name] = float(s["last_batch"])
            self.first_batch[name] = float(s.get("first_batch", s["last_batch"]))
            self.silences[name] = [list(map(float, g)) for g in s.get("silences", [])]

    def _write_sources(self, force: bool = False) -> None:
        """``sources.json``: each source's first and last batch and the silences seen, for
        the audit-trail report. Advisory (not fsynced): written at most once a second."""
        now = self.now()
        if not force and now - self._sources_written < 1.0:
            return
        self._sources_written = now
        doc = {"written": now, "silence_seconds": self.silence_seconds, "sources": {
            name: {"first_batch": self.first_batch.get(name, t), "last_batch": t,
                   "silences": self.silences.get(name, [])}
            for name, t in self.last_batch.items()}}
        tmp = self.state / (SOURCES_FILE + ".tmp")
        tmp.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        os.replace(tmp, self.state / SOURCES_FILE)

    # -- quarantine -----------------------------------------------------------------------

    def quarantine(self, body: bytes, reason: str, source: str, peer: str | None) -> Path:
        """Keep a refused body (named by its content, so a resend is kept once) with a note of
        why, when and from whom; fsynced like the data, since it is evidence too."""
        digest = hashlib.sha256(body).hexdigest()[:32]
        folder = self.state / "quarantine"
        path = folder / f"{digest}.body"
        if not path.exists():
            _durable_write(path, body, self.fsync)
            note = {"reason": reason, "source": source, "peer": peer, "received": self.now(),
                    "bytes": len(body)}
            _durable_write(folder / f"{digest}.json", orjson.dumps(note), self.fsync)
            if self.fsync:
                fsync_dir(folder)
        return path

    def disk_free(self) -> int:
        return shutil.disk_usage(self.root).free


def _durable_write(path: Path, data: bytes, fsync: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


_NAME_TIME = re.compile(r"audit-(\d{8}T\d{6}\.\d{6})Z-[0-9a-f]+\.jsonl$")


def _opened_of(path: Path) -> float | None:
    m = _NAME_TIME.search(path.name)
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=timezone.utc).timestamp()


@dataclass(frozen=True)
class Silence:
    """A source that sent nothing for longer than the receiver's threshold: from its last
    batch to the next one, or (``ongoing``) to when the receiver last wrote its state."""

    source: str
    start: float
    end: float
    ongoing: bool
    state_file: str


def silences(root: str | os.PathLike[str]) -> list[Silence]:
    """The silences a receiver writing into ``root`` recorded in its ``sources.json`` (empty
    when ``root`` is not a receiver's directory or the check was off). For the audit-trail
    report: a source going quiet is the apiserver's webhook failing, seen from this end."""
    path = Path(root) / STATE_DIR / SOURCES_FILE
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    threshold = doc.get("silence_seconds")
    if not threshold:
        return []
    out: list[Silence] = []
    written = float(doc.get("written", 0))
    for name, s in sorted(doc.get("sources", {}).items()):
        out.extend(Silence(name, float(a), float(b), False, str(path)) for a, b in s.get("silences", []))
        last = float(s["last_batch"])
        if written - last > threshold:
            out.append(Silence(name, last, written, True, str(path)))
    return out
