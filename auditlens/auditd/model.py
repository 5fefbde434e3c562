"""The values passed between the auditd layers: lexer → assembler → interpreter/normaliser."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Record:
    """One auditd record (one input line), as lexed; nothing is interpreted yet.

    ``fields`` keeps every ``key=value`` in input order with values exactly as written
    (double quotes kept, so a quoted string can be told from a hex-encoded one); the inner
    ``msg='…'`` of user-space records is flattened into the same dict, as auparse does.
    ``enriched`` holds the UPPERCASE translations that ENRICHED logs append after ``\\x1d``.
    """

    node: str | None
    type: str
    sec: int
    msec: int
    serial: int
    fields: dict[str, str]
    enriched: dict[str, str]
    file: str
    line: int


@dataclass(slots=True)
class Event:
    """Records that share (node, serial, timestamp), in input order."""

    node: str | None
    serial: int
    sec: int
    msec: int
    records: list[Record] = field(default_factory=list)

    def first(self, rtype: str) -> Record | None:
        """The first record of a type, e.g. ``event.first("SYSCALL")``."""
        for r in self.records:
            if r.type == rtype:
                return r
        return None
