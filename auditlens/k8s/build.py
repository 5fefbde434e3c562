"""Raw rows (tuples in ``RAW_FIELDS`` order) → RecordBatches of the ``k8s_events`` schema.

A batch is converted in one C++ pass (a list of tuples → a struct array → its fields), or comes
as Arrow columns from the C fast path (:mod:`auditlens.k8s.native`); times
are parsed vectorised, and ``latency`` is computed, not looped. A value Arrow cannot store with
its declared type (``"code": "200"``, an unparsable timestamp) becomes null and is counted in
:attr:`RowBatcher.coerced` so the reader can warn about it: never silently.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..build import CONVERT_ERRORS, safe_array
from ..schema import K8S_EVENTS, TIME
from . import native
from .event import RAW_FIELDS

_TIME_FIELDS = ("stage_time", "alt_time", "request_received")
_NS = pa.timestamp("ns", tz="UTC")


def _raw_type(name: str) -> pa.DataType:
    return pa.string() if name in _TIME_FIELDS else K8S_EVENTS[name].type


RAW_STRUCT = pa.struct([pa.field(n, _raw_type(n)) for n in RAW_FIELDS])

_FRACTION = re.compile(r"\.(\d+)")


def _parse_time(text: Any) -> int | None:
    """One timestamp in Python (the slow path): µs since the epoch, or None when unreadable."""
    if not isinstance(text, str):
        return None
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    s = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), s, count=1)
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None:  # no zone given: the API server always writes UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

class RowBatcher:
    """Turns lists of raw rows into RecordBatches; counts the values it had to null."""

    def __init__(self) -> None:
        self.schema: pa.Schema = K8S_EVENTS.arrow
        self.coerced = 0

    def _columns(self, rows: list[tuple[Any, ...]]) -> dict[str, pa.Array]:
        try:
            struct = pa.array(rows, type=RAW_STRUCT)
            return dict(zip(RAW_FIELDS, struct.flatten()))
        except CONVERT_ERRORS:
            pass
        out: dict[str, pa.Array] = {}
        for name, values in zip(RAW_FIELDS, zip(*rows)):
            array, bad = safe_array(list(values), RAW_STRUCT.field(name).type)
            self.coerced += bad
            out[name] = array
        return out

    def _times(self, text: pa.Array) -> pa.Array:
        if text.null_count == len(text):
            return pa.nulls(len(text), TIME)
        try:
            return text.cast(_NS).cast(TIME, safe=False)
        except CONVERT_ERRORS:
            pass
        values = text.to_pylist()
        micros = [_parse_time(v) for v in values]
        self.coerced += sum(1 for v, m in zip(values, micros) if v is not None and m is None)
        return pa.array(micros, type=pa.int64()).cast(TIME)

    def batch(self, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
        """The batch of raw rows (tuples in RAW_FIELDS order)."""
        return self._batch(self._columns(rows))

    def chunk(self, chunk: native.Chunk) -> pa.RecordBatch:
        """The batch of a fast-path chunk: the builder's columns (already Arrow, of the raw row
        types) with the Python path's rows put back in their places."""
        cols = dict(zip(RAW_FIELDS, native.arrays(chunk.columns, RAW_STRUCT)))
        if chunk.inserts:
            more = self._columns([row for _, row in chunk.inserts])
            order = pa.array(chunk.order(), pa.int64())
            cols = {n: pa.concat_arrays([a, more[n]]).take(order) for n, a in cols.items()}
        return self._batch(cols)

    def _batch(self, cols: dict[str, pa.Array]) -> pa.RecordBatch:
        stage = self._times(cols.pop("stage_time"))
        alt = self._times(cols.pop("alt_time"))
        received = self._times(cols["request_received"])
        cols["request_received"] = received
        cols["time"] = pc.coalesce(stage, alt)
        cols["latency"] = pc.subtract(stage, received)
        return pa.RecordBatch.from_arrays([cols[n] for n in self.schema.names], schema=self.schema)
