"""Hive-partitioned Parquet datasets (``auditlens parse --partition node,date -o DIR/``).

The layout ``DIR/node=web-1/date=2024-05-01/part-0.parquet`` is what DuckDB, Spark, Trino,
Athena and pyarrow read as one table, with the partition columns back as columns and filters on
them skipping whole folders. ``date`` is derived: the UTC day of ``time`` (``YYYY-MM-DD``); every
other key must be a scalar column of the table. Batches are written as they come (streaming);
rows keep their input order inside each file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from .errors import AuditlensError

__all__ = ["DATE", "check_partition_keys", "check_partition_target", "write_partitioned"]

DATE = "date"
"""The derived partition key: the UTC day of ``time``."""
MAX_PARTITIONS = 100_000
_MIN_ROWS_PER_GROUP = 50_000


def _suggestion(schema: pa.Schema) -> str:
    if "cluster" in schema.names:
        return "cluster,date or namespace,date"
    return "node,date"


def _scalar(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_) or \
        pa.types.is_integer(type_) or pa.types.is_boolean(type_)


def check_partition_keys(keys: str | Iterable[str], schema: pa.Schema) -> list[str]:
    """The partition keys as a list, each a scalar column of ``schema`` or ``date``."""
    names = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else list(keys)
    if not names or any(not k for k in names):
        raise AuditlensError(f"--partition needs column names separated by commas, e.g. "
                             f"{_suggestion(schema)}")
    if len(set(names)) != len(names):
        raise AuditlensError(f"--partition names a column twice: {','.join(names)}")
    for key in names:
        if key == DATE:
            if "time" not in schema.names:
                raise AuditlensError("cannot partition by date: the table has no time column")
            continue
        if key not in schema.names:
            raise AuditlensError(f"cannot partition by {key!r}: the table has no such column "
                                 f"(try {_suggestion(schema)}; 'date' is the UTC day of time)")
        type_ = schema.field(key).type
        if not _scalar(type_):
            raise AuditlensError(f"cannot partition by {key!r}: its type {type_} is not a "
                                 f"string, integer or boolean (try {_suggestion(schema)})")
    return names


def check_partition_target(output: str, fmt: str | None) -> None:
    """A partitioned dataset is Parquet written into a new or empty directory."""
    suffix = os.path.splitext(output)[1].lower()
    if fmt not in (None, "parquet") or (fmt is None and suffix not in ("", ".parquet")):
        raise AuditlensError(f"--partition writes a Parquet dataset into a directory; "
                             f"{'-f ' + fmt if fmt else output} cannot be partitioned")
    if output == "-":
        raise AuditlensError("--partition writes a directory; give it with -o DIR")
    if os.path.exists(output):
        if not os.path.isdir(output):
            raise AuditlensError(f"--partition writes a directory, but {output} is a file")
        if os.listdir(output):
            raise AuditlensError(f"{output} is not empty; give a new or empty directory for "
                                 "the partitioned dataset")


def _with_date(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        day = pc.strftime(batch.column("time"), format="%Y-%m-%d")
        yield pa.RecordBatch.from_arrays([*batch.columns, day], schema=schema)


def write_partitioned(batches: Iterable[pa.RecordBatch], schema: pa.Schema, directory: str,
                      keys: str | Iterable[str]) -> None:
    """Write ``batches`` as a Hive-partitioned Parquet dataset under ``directory``."""
    import pyarrow.dataset as ds

    names = check_partition_keys(keys, schema)
    if DATE in names:
        schema = schema.append(pa.field(DATE, pa.string()))
        batches = _with_date(batches, schema)
    partitioning = ds.partitioning(pa.schema([schema.field(k) for k in names]), flavor="hive")
    try:
        ds.write_dataset(
            batches, directory, schema=schema, format="parquet", partitioning=partitioning,
            basename_template="part-{i}.parquet", existing_data_behavior="overwrite_or_ignore",
            max_partitions=MAX_PARTITIONS, min_rows_per_group=_MIN_ROWS_PER_GROUP,
            preserve_order=True,
        )
    except pa.ArrowInvalid as exc:
        if "partitions" in str(exc):
            raise AuditlensError(f"partitioning by {','.join(names)} makes more than "
                                 f"{MAX_PARTITIONS} folders; choose coarser keys") from exc
        raise
