"""The cloud reader's defaults, in a module that imports nothing: the reader's entry points name
them before a parallel read has started its workers (see ``auditlens.scheduler.pool.prestart``)."""

from __future__ import annotations

__all__ = ["BATCH_ROWS", "MAX_LINE_BYTES"]

MAX_LINE_BYTES = 64 << 20
"""Default ``max_line_bytes``: a CloudTrail file is often one line of a thousand events; a
longer line, or a multi-line document longer than this, is rejected without being held."""
BATCH_ROWS = 16_384
"""Rows per batch of a streamed read."""
