"""Test helper: the assembled auditd Events of one file, through the real lexer and assembler."""

from __future__ import annotations

from pathlib import Path

from auditlens.auditd.assemble import Assembler
from auditlens.auditd.lexer import parse_line
from auditlens.auditd.model import Event


def read_events(path: Path) -> list[Event]:
    """Events of ``path`` in output order; every line must lex (tests feed well-formed logs)."""
    with open(path, "rb") as fh:
        records = [parse_line(raw.rstrip(b"\n"), str(path), n) for n, raw in enumerate(fh, 1) if raw.strip()]
    return list(Assembler().assemble(iter(records)))
