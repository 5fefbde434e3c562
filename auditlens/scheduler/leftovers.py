"""The temporary files of a parallel read, named after the process that made them, and the sweep
of those a killed read left behind.

A worker writes each piece it hands back to a file (an arena or an Arrow IPC file, in
``/dev/shm`` or the temporary directory) that the parent unlinks once it has mapped it. A read
killed with ``SIGKILL`` (or a worker killed before its parent took its file) leaves such files in
memory until the machine restarts: 58 MB were found in ``/dev/shm`` after a day of tests. Each
file name carries its writer's process id, so that a new pool can remove the files whose writer
is gone, and only those (a read running beside it in another program keeps its files).
No pyarrow here: the pool imports this module before a read imports pyarrow.
"""

from __future__ import annotations

import os
import re
import tempfile

__all__ = ["RAM_DIR", "file_prefix", "sweep"]

RAM_DIR = "/dev/shm"
"""Linux's RAM-backed file system (tmpfs), where pieces go while it has room."""
_NAME = re.compile(r"auditlens-(?:piece|arena)-(\d+)-")


def file_prefix(kind: str) -> str:
    """The start of a temporary file's name: its kind (``piece``, ``arena``) and this process."""
    return f"auditlens-{kind}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    return True


def sweep(folders: tuple[str, ...] | None = None) -> list[str]:
    """Remove the read files whose writing process no longer runs; the paths removed. Files of
    another user, or that vanish meanwhile, are left alone."""
    removed = []
    for folder in folders or (RAM_DIR, tempfile.gettempdir()):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _NAME.match(name)
            if match is None or _alive(int(match.group(1))):
                continue
            path = os.path.join(folder, name)
            try:
                os.unlink(path)
            except OSError:
                continue
            removed.append(path)
    return removed
