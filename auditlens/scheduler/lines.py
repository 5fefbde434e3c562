"""The merge of formats read line by line, whose units are lines except where a multi-line one is
open at a cut (a pretty-printed JSON document, a partial container record): the Kubernetes and
the cloud readers. A worker says whether its piece ended with a unit open (``dirty``) and whether
a reject reason quotes one of its line numbers (``numbered``: the piece's own, not the file's);
then the read falls back to one process. Every line is counted once in the read's account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..rejects import Rejecter
from .handover import Part
from .merge import Merge, shift, warn_coerced, with_meta
from .pieces import Piece

__all__ = ["LinesMerge", "LinesPart"]

_QUOTES_LINES = ("at line ", "(lines ", "from line ")
"""How the line readers' reject reasons quote a line number."""


@dataclass
class LinesPart(Part):
    """A piece's part with its line account (the merge's ``counted``), ``dirty`` and ``numbered``."""

    account: tuple[int, ...] = ()
    dirty: bool = False
    numbered: bool = False

    def close(self, account: Any, counted: tuple[str, ...], coerced: int, rejecter: Rejecter,
              dirty: bool) -> LinesPart:
        """The part once its piece is read: ``account`` holds the ``counted`` attributes."""
        self.account = tuple(getattr(account, name) for name in counted)
        self.dirty = dirty
        self.account_for(account.lines, coerced, rejecter)
        self.numbered = any(quote in r.reason for r in self.rejects for quote in _QUOTES_LINES)
        return self


class LinesMerge(Merge):
    """A line format's merge; a subclass gives its piece work, its one-process read (whose
    ``account`` and ``rejecter`` it counts with), the account's names and its table schema."""

    shared_ends = True
    counted: tuple[str, ...] = ("lines",)
    """The line account's names, as the one-process read's ``account`` attributes and table
    metadata call them."""
    unseen = ""
    """What the warning about unseen rejects calls a line (``k8s``, ``cloud audit``)."""
    schema: pa.Schema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = [0] * len(self.counted)

    def take(self, piece: Piece, part: Any, offset: int) -> Iterator[pa.RecordBatch] | None:
        if (part.dirty and not piece.last) or (part.numbered and not piece.first):
            return None
        self.coerced += part.coerced
        self.account = [a + b for a, b in zip(self.account, part.account, strict=True)]
        self.add_rejects(part.rejects, part.n_rejects, offset)
        return iter(shift(part.table, offset).to_batches())

    def warn(self) -> None:
        if self.fell_back:
            self.sequential_state.warn()
            return
        warn_coerced(self.coerced, self.what)
        self.rejecter.warn_if_unseen(self.unseen)

    def counts(self) -> dict[str, int]:
        """The line account of the whole read, as the one-process read gives it."""
        if self.fell_back:
            read = self.sequential_state
            account = [getattr(read.account, name) for name in self.counted]
            return {"rejects": read.rejecter.count, **dict(zip(self.counted, account))}
        return {"rejects": self.rejecter.count, **dict(zip(self.counted, self.account))}

    def table(self) -> pa.Table:
        """The whole read as one table, its account in the metadata (``read_*`` readers)."""
        table = pa.Table.from_batches(list(self.batches()), schema=self.schema)
        table = with_meta(table, self.counts())
        self.warn()
        return table
