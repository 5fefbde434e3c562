"""Placeholder: uid/gid → name resolution (being written)."""
from __future__ import annotations

import os


class IdNames:
    def __init__(self, passwd: str | os.PathLike | None = None, group: str | os.PathLike | None = None) -> None:
        self.passwd = passwd
        self.group = group
