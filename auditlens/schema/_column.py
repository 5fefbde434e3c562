"""The building blocks of a table declaration: a column and a table of columns.

Each table auditlens produces is declared once (name, Arrow type, documentation). Readers build
their Arrow schema from it, writers and the CLI pick columns from it, and ``docs/`` is generated
from it, so a column cannot mean two things in two places.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, its Arrow type and a one-sentence meaning."""

    name: str
    type: pa.DataType
    doc: str
    source: str = ""  # where the value comes from, e.g. "SYSCALL auid" or "objectRef.resource"


@dataclass(frozen=True)
class TableSchema:
    """A named, documented, ordered set of columns. ``optional`` columns are declared here too
    but added only on request (they cost a pass over the whole table): they come after the
    others, in the order asked for, and are not in :attr:`names`, :attr:`arrow` or iteration."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    optional: tuple[Column, ...] = ()
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        every = self.columns + self.optional
        by_name = {c.name: c for c in every}
        if len(by_name) != len(every):
            raise ValueError(f"table {self.name} declares a column twice")
        object.__setattr__(self, "_by_name", by_name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow(self) -> pa.Schema:
        """The Arrow schema, with the table name in its metadata."""
        return pa.schema(
            [pa.field(c.name, c.type) for c in self.columns],
            metadata={b"auditlens.table": self.name.encode()},
        )

    def arrow_with(self, *optional: str) -> pa.Schema:
        """The Arrow schema with the ``optional`` columns named appended."""
        schema = self.arrow
        for name in optional:
            column = self._by_name[name]
            if column not in self.optional:
                raise KeyError(f"{name!r} is not an optional column of {self.name}")
            schema = schema.append(pa.field(column.name, column.type))
        return schema

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def empty(self) -> pa.Table:
        """A zero-row table with this schema (what a reader returns for empty input)."""
        return self.arrow.empty_table()


TIME = pa.timestamp("us", tz="UTC")
"""``time`` is the same type in every table: microseconds, UTC."""
