"""Arrow values as cells: JSON-ready values, display values, and formula neutralisation.

Every writer goes through here so a timestamp, a list or a byte string looks the same in every
format: timestamps are ISO 8601 with a fixed number of fraction digits per column (so text sorts
in time order) and ``Z`` for UTC or ``+HH:MM`` after ``--tz``; lists, maps and structs are JSON;
bytes are UTF-8 with undecodable bytes shown as ``\\xNN``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

import pyarrow as pa

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula; other text is returned as is."""
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def show_hidden(text: str) -> str:
    """Show characters that hide or reorder text as ``\\xNN``/``\\uNNNN`` for people to see.

    Control characters (except tab and newline; CR too, which HTML and XML turn into LF),
    DEL, bidirectional overrides ("Trojan Source" spoofing) and XML non-characters. Used by
    the display formats (html, md, xlsx); csv and json keep the data exactly.
    """
    return _HIDDEN.sub(_visible, text)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_UNITS = {"s": (1, 0), "ms": (1_000, 3), "us": (1_000_000, 6), "ns": (1_000_000_000, 9)}


def _offset(dt: datetime) -> str:
    off = dt.utcoffset()
    if not off:
        return "Z" if dt.tzinfo is timezone.utc else "+00:00"
    minutes = int(off.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def timestamp_formatter(unit: str, tz: tzinfo) -> Callable[[int], str]:
    """A function from an epoch count in ``unit`` to ISO 8601 text in ``tz``.

    Naive Arrow timestamps are read as UTC, the convention of every auditlens table.
    """
    factor, digits = _UNITS[unit]
    seconds_cache: dict[int, tuple[str, str]] = {}  # many rows share a second

    def fmt(value: int) -> str:
        secs, frac = divmod(value, factor)
        head = seconds_cache.get(secs)
        if head is None:
            try:
                dt = _EPOCH + timedelta(seconds=secs)
            except OverflowError:
                return f"{value} {unit} since 1970-01-01 (out of calendar range)"
            if tz is not timezone.utc:
                dt = dt.astimezone(tz)
            head = dt.strftime("%Y-%m-%dT%H:%M:%S"), _offset(dt)
            if len(seconds_cache) > 65536:
                seconds_cache.clear()
            seconds_cache[secs] = head
        stamp, off = head
        return f"{stamp}.{frac:0{digits}d}{off}" if digits else f"{stamp}{off}"

    return fmt


def _datetime_text(value: datetime, unit: str, tz: tzinfo) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    micros = (value - _EPOCH) // timedelta(microseconds=1)
    nanos = getattr(value, "nanosecond", 0)  # pandas.Timestamp keeps nanoseconds
    factor = _UNITS[unit][0]
    count = micros * 1000 + nanos if unit == "ns" else micros * factor // 1_000_000
    return timestamp_formatter(unit, tz)(count)


def bytes_text(value: bytes) -> str:
    """Bytes as text: UTF-8 where it decodes, ``\\xNN`` for each byte that does not."""
    return value.decode("utf-8", "backslashreplace")


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def to_json(value: Any, typ: pa.DataType, tz: tzinfo) -> Any:
    """One Python value (from ``to_pylist``) of Arrow type ``typ`` as a JSON-ready value."""
    if value is None:
        return None
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_map(typ):
        return {str(to_json(k, typ.key_type, tz)): to_json(v, typ.item_type, tz) for k, v in value}
    if pa.types.is_struct(typ):
        return {f.name: to_json(value.get(f.name), f.type, tz) for f in typ}
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return [to_json(v, typ.value_type, tz) for v in value]
    if pa.types.is_timestamp(typ) and isinstance(value, datetime):
        return _datetime_text(value, typ.unit, tz)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(bytes(value))
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _plain(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_dictionary(array.type):
        return array.cast(array.type.value_type)
    return array


def json_column(array: pa.Array | pa.ChunkedArray, tz: tzinfo) -> list[Any]:
    """A whole column as JSON-ready values, with fast paths for the common flat types."""
    array = _plain(array)
    typ = array.type
    if pa.types.is_timestamp(typ):
        fmt = timestamp_formatter(typ.unit, tz)
        return [None if v is None else fmt(v) for v in array.cast(pa.int64()).to_pylist()]
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_integer(typ):
        return array.to_pylist()
    if pa.types.is_boolean(typ):
        return array.to_pylist()
    if pa.types.is_floating(typ):
        return [None if v is None else _float(v) for v in array.to_pylist()]
    if pa.types.is_null(typ):
        return [None] * len(array)
    return [to_json(v, typ, tz) for v in array.to_pylist()]


Display = str | int | float | bool | None


def display_column(array: pa.Array | pa.ChunkedArray, tz: tzinfo) -> list[Display]:
    """A column for people: numbers and booleans stay typed, everything else becomes text.

    Lists, maps and structs become compact JSON text. Strings are *not* neutralised here:
    the spreadsheet writers do that, HTML and Markdown escape instead.
    """
    values = json_column(array, tz)
    typ = _plain(array).type
    if pa.types.is_floating(typ) or pa.types.is_integer(typ) or pa.types.is_boolean(typ):
        return values
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_timestamp(typ):
        return values
    return [
        v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values
    ]


def display_text(value: Display) -> str:
    """A display value as the text a cell shows (``true``/``false`` like JSON, empty for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_numeric(typ: pa.DataType) -> bool:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


__all__ = [
    "FORMULA_STARTS",
    "Display",
    "bytes_text",
    "display_column",
    "display_text",
    "is_numeric",
    "json_column",
    "neutralise",
    "show_hidden",
    "timestamp_formatter",
    "to_json",
]
