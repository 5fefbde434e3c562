"""Parquet: the Arrow table as is (types, UTC timestamps), for tools rather than people.

``--tz`` does not apply: Parquet keeps the instant and its UTC type, and readers convert.
A title is kept in the schema metadata as ``auditlens.title``. Multi-section exports go to a
directory: one ``NAME.parquet`` per section, ``_sections.parquet``, and ``_cover.parquet``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from auditlens.spill import TableLike

from ._base import (
    Cover,
    Dest,
    Options,
    Section,
    open_binary,
    write_section_files,
)


def _with_title(schema: pa.Schema, title: str | None) -> pa.Schema:
    if title is None:
        return schema
    return schema.with_metadata({**(schema.metadata or {}), b"auditlens.title": title.encode()})


def write_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, dest: Dest, opts: Options
) -> None:
    schema = _with_title(schema, opts.title)
    with open_binary(dest) as raw, pq.ParquetWriter(raw, schema) as writer:
        for batch in batches:
            writer.write_batch(batch.replace_schema_metadata(schema.metadata))


def write_table(table: TableLike, dest: Dest, opts: Options) -> None:
    write_batches(table.to_batches(), table.schema, dest, opts)


def write_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    write_section_files(sections, dest, opts, cover, "parquet", write_table)
