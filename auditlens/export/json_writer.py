"""JSON Lines and JSON: one object per row, types kept where JSON has them.

Timestamps are ISO 8601 text (``Z`` in UTC, ``+HH:MM`` after ``--tz``), lists and maps are
arrays and objects, bytes are UTF-8 text with ``\\xNN`` for undecodable bytes, non-finite floats
are the strings ``NaN``/``Infinity``. ``json`` of one table is an array of row objects; of
sections it is ``{"title", "timezone", "cover", "sections": {NAME: {..., "rows": [...]}}}``.
``jsonl`` of sections puts a ``section`` field first in every row, after one cover line.
Both stream: rows are encoded a batch at a time, never the whole table at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from typing import Any, TextIO

import pyarrow as pa

from auditlens.errors import AuditlensError
from auditlens.spill import TableLike

from ._base import Cover, Dest, Options, Section, open_text
from .cells import json_column


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def iter_rows(
    batches: Iterable[pa.RecordBatch], names: list[str], tz: tzinfo
) -> Iterator[dict[str, Any]]:
    """Row objects, batch by batch (shared by both writers and handy for tests)."""
    for batch in batches:
        columns = [json_column(col, tz) for col in batch.columns]
        for values in zip(*columns):
            yield dict(zip(names, values))


def _batches(table: TableLike) -> Iterable[pa.RecordBatch]:
    return table.to_batches(max_chunksize=65536)


# --- jsonl -----------------------------------------------------------------------------------


def _jsonl(out: TextIO, batches: Iterable[pa.RecordBatch], schema: pa.Schema, tz: tzinfo) -> None:
    for row in iter_rows(batches, schema.names, tz):
        out.write(_dumps(row))
        out.write("\n")


def write_jsonl_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, dest: Dest, opts: Options
) -> None:
    with open_text(dest, newline="\n") as out:
        _jsonl(out, batches, schema, opts.tz)


def write_jsonl_table(table: TableLike, dest: Dest, opts: Options) -> None:
    write_jsonl_batches(_batches(table), table.schema, dest, opts)


def _cover_value(cover: Cover, tz: tzinfo) -> Any:
    if isinstance(cover, pa.Table):
        return list(iter_rows(_batches(cover), cover.schema.names, tz))
    return cover


def write_jsonl_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    for s in sections:
        if "section" in s.table.schema.names:
            raise AuditlensError(
                f"section {s.name!r} has a column named 'section', which jsonl uses to tag rows"
            )
    with open_text(dest, newline="\n") as out:
        head: dict[str, Any] = {"section": "_cover", "title": opts.title, "timezone": opts.tz_name}
        head["cover"] = _cover_value(cover, opts.tz)
        head["sections"] = {s.name: s.table.num_rows for s in sections}
        out.write(_dumps(head) + "\n")
        for s in sections:
            for row in iter_rows(_batches(s.table), s.table.schema.names, opts.tz):
                out.write(_dumps({"section": s.name, **row}) + "\n")


# --- json ------------------------------------------------------------------------------------


def _json_array(out: TextIO, rows: Iterable[dict[str, Any]], indent: str) -> None:
    first = True
    for row in rows:
        out.write(("[\n" if first else ",\n") + indent + "  " + _dumps(row))
        first = False
    out.write("[]" if first else "\n" + indent + "]")


def write_json_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, dest: Dest, opts: Options
) -> None:
    with open_text(dest, newline="\n") as out:
        _json_array(out, iter_rows(batches, schema.names, opts.tz), "")
        out.write("\n")


def write_json_table(table: TableLike, dest: Dest, opts: Options) -> None:
    write_json_batches(_batches(table), table.schema, dest, opts)


def write_json_sections(sections: list[Section], dest: Dest, opts: Options, cover: Cover) -> None:
    with open_text(dest, newline="\n") as out:
        out.write("{\n")
        out.write(f'  "title": {_dumps(opts.title)},\n  "timezone": {_dumps(opts.tz_name)},\n')
        out.write(f'  "cover": {_dumps(_cover_value(cover, opts.tz))},\n  "sections": {{')
        for i, s in enumerate(sections):
            out.write(("\n" if i == 0 else ",\n") + f"    {_dumps(s.name)}: {{\n")
            for key, value in (
                ("title", s.title),
                ("description", s.description),
                ("requirement", s.requirement),
                ("row_count", s.table.num_rows),
            ):
                out.write(f"      {_dumps(key)}: {_dumps(value)},\n")
            out.write('      "rows": ')
            _json_array(out, iter_rows(_batches(s.table), s.table.schema.names, opts.tz), "      ")
            out.write("\n    }")
        out.write("\n  }\n}\n" if sections else "}\n}\n")
