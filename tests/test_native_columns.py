"""The column entries of the C fast paths (auditlens/_columns.h) as
:func:`auditlens.fastpath.array_of` turns them into Arrow arrays: entries made by hand here, with
the bytes the header's columns write (little-endian int32/int64, LSB-first bitmaps), so these run
without the C extension.
"""

from __future__ import annotations

import datetime as dt
import struct

import pyarrow as pa
import pytest

from auditlens.fastpath import array_of


def bitmap(*bits: int) -> bytes:
    """An Arrow bitmap (least significant bit first), one byte per 8 bits as Bits writes it."""
    out = bytearray((len(bits) + 7) // 8)
    for i, on in enumerate(bits):
        if on:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def i64(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}q", *values)


def i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def built(entry: tuple, type_: pa.DataType) -> pa.Array:
    array = array_of(entry, type_)
    array.validate(full=True)
    assert array.type == type_
    return array


def test_int64_with_nulls() -> None:
    entry = ("q", 3, 1, bitmap(1, 0, 1), i64(7, 0, -(2**63)))
    assert built(entry, pa.int64()).to_pylist() == [7, None, -(2**63)]


def test_int64_without_nulls_ignores_the_validity() -> None:
    assert built(("q", 2, 0, None, i64(1, 2)), pa.int64()).to_pylist() == [1, 2]
    assert built(("q", 2, 0, b"\x00", i64(1, 2)), pa.int64()).to_pylist() == [1, 2]


def test_int32() -> None:
    entry = ("i", 3, 1, bitmap(0, 1, 1), i32(0, -5, 2**31 - 1))
    assert built(entry, pa.int32()).to_pylist() == [None, -5, 2**31 - 1]


def test_int64_as_utc_microsecond_timestamps() -> None:
    t = pa.timestamp("us", tz="UTC")
    stamp = dt.datetime(2024, 2, 29, 12, 30, 1, 250, tzinfo=dt.timezone.utc)
    micros = (stamp - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(
        microseconds=1)
    array = built(("q", 3, 1, bitmap(1, 0, 1), i64(micros, 0, 0)), t)
    assert array.to_pylist() == [stamp, None, dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)]


def test_bool_has_a_validity_and_a_values_bitmap() -> None:
    # 10 rows: two bytes in each bitmap; a null's value bit is 0
    valid = [1, 1, 0, 1, 1, 1, 1, 1, 0, 1]
    values = [1, 0, 0, 1, 1, 0, 0, 0, 0, 1]
    array = built(("b", 10, 2, bitmap(*valid), bitmap(*values)), pa.bool_())
    assert array.to_pylist() == [None if not ok else bool(v) for ok, v in zip(valid, values)]


def test_struct_of_children_of_every_kind() -> None:
    t = pa.struct([("n", pa.int64()), ("ok", pa.bool_()), ("s", pa.string()),
                   ("tags", pa.list_(pa.string()))])
    children = [
        ("q", 3, 0, b"\x07", i64(1, 0, 3)),
        ("b", 3, 1, bitmap(1, 1, 0), bitmap(1, 0, 0)),
        ("s", 3, 0, b"\x07", i32(0, 2, 2, 5), b"hiabc"),
        ("l", 3, 1, bitmap(1, 0, 1), i32(0, 1, 1, 1), ("s", 1, 0, b"\x01", i32(0, 1), b"x")),
    ]
    # the second row is a null struct: its children hold a slot each all the same
    array = built(("t", 3, 1, bitmap(1, 0, 1), children), t)
    assert array.to_pylist() == [
        {"n": 1, "ok": True, "s": "hi", "tags": ["x"]},
        None,
        {"n": 3, "ok": None, "s": "abc", "tags": []},
    ]


def test_struct_without_nulls() -> None:
    t = pa.struct([("a", pa.int32())])
    array = built(("t", 2, 0, None, [("i", 2, 0, None, i32(4, 5))]), t)
    assert array.to_pylist() == [{"a": 4}, {"a": 5}]


def test_struct_with_another_number_of_children_than_fields_is_refused() -> None:
    t = pa.struct([("a", pa.int32()), ("b", pa.int32())])
    with pytest.raises(ValueError, match="1 children"):
        array_of(("t", 1, 0, None, [("i", 1, 0, None, i32(4))]), t)


def test_list_of_structs() -> None:
    # rows: [{a:1,b:true}, null-item], null, [], [{a:4,b:null}]: 3 items in the children
    item = pa.struct([("a", pa.int64()), ("b", pa.bool_())])
    t = pa.list_(item)
    items = ("t", 3, 1, bitmap(1, 0, 1), [
        ("q", 3, 0, None, i64(1, 0, 4)),
        ("b", 3, 2, bitmap(1, 0, 0), bitmap(1, 0, 0)),
    ])
    entry = ("l", 4, 1, bitmap(1, 0, 1, 1), i32(0, 2, 2, 2, 3), items)
    array = built(entry, t)
    assert array.to_pylist() == [[{"a": 1, "b": True}, None], None, [], [{"a": 4, "b": None}]]


def test_empty_columns() -> None:
    # what each *_entry gives for a column with no row (offsets: the one 0)
    assert built(("q", 0, 0, b"", b""), pa.int64()).to_pylist() == []
    assert built(("b", 0, 0, b"", b""), pa.bool_()).to_pylist() == []
    t = pa.list_(pa.struct([("a", pa.int64())]))
    entry = ("l", 0, 0, b"", i32(0), ("t", 0, 0, b"", [("q", 0, 0, b"", b"")]))
    assert built(entry, t).to_pylist() == []
