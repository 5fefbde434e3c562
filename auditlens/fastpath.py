"""What the optional C fast paths share on the Python side: the switch that loads them and the
conversion of their column entries into Arrow arrays.

The extensions (``auditlens/k8s/_fastrow.c``, ``auditlens/auditd/_fastaudit.c``) are compiled at
install time when a C compiler is there (``setup.py``); without one, or with
``AUDITLENS_PURE_PYTHON=1`` in the environment, the readers run in Python with the same output.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pyarrow as pa

from .scheduler.arena import current


def load(module: str, name: str) -> Any:
    """``module.name`` of a compiled fast path, or None: not compiled (no C compiler at install
    time) or switched off with ``AUDITLENS_PURE_PYTHON``."""
    if os.environ.get("AUDITLENS_PURE_PYTHON"):
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None


def finish(builder: Any) -> list[tuple[Any, ...]]:
    """``builder.finish()``: its column entries, their buffers written into the arena of the
    piece this worker reads when there is one (:func:`auditlens.scheduler.arena.current`), where
    they are handed over to the parent without another copy."""
    arena = current()
    return builder.finish() if arena is None else builder.finish(arena)


def _buffer(data: bytes | memoryview | None) -> pa.Buffer | None:
    return None if data is None else pa.py_buffer(data)


def array_of(entry: tuple[Any, ...], type_: pa.DataType) -> pa.Array:
    """One column entry of a C fast path (what its ``finish()`` gives; see ``auditlens/_columns.h``)
    → an Arrow array of ``type_``. An entry is (kind, length, null count, validity bitmap,
    buffers..., children...), the validity read only when the null count is not 0; a buffer is
    bytes or a slice of an arena (wrapped without a copy either way):

    - "s" string: offsets, data;
    - "l" list: offsets, the items' entry (of any kind);
    - "m" map: offsets, the keys' entry, the values' entry;
    - "t" struct: a list of the children's entries, in the order of ``type_``'s fields;
    - anything else ("i" int32, "q" int64 or a timestamp, "b" bool...): the values buffer, of
      the fixed-width ``type_``.
    """
    kind, length, nulls, validity, *rest = entry
    buffers: list[pa.Buffer | None] = [_buffer(validity) if nulls else None]
    if kind == "s":
        return pa.Array.from_buffers(type_, length, buffers + [_buffer(b) for b in rest], nulls)
    if kind == "l":
        item = array_of(rest[1], type_.value_type)
        return pa.Array.from_buffers(type_, length, buffers + [_buffer(rest[0])], nulls,
                                     children=[item])
    if kind == "m":
        keys = array_of(rest[1], type_.key_type)
        items = array_of(rest[2], type_.item_type)
        entries = pa.StructArray.from_arrays([keys, items], fields=[type_.key_field,
                                                                    type_.item_field])
        return pa.Array.from_buffers(type_, length, buffers + [_buffer(rest[0])], nulls,
                                     children=[entries])
    if kind == "t":
        if len(rest[0]) != type_.num_fields:
            raise ValueError(f"a struct entry of {len(rest[0])} children for {type_}")
        children = [array_of(child, type_.field(i).type) for i, child in enumerate(rest[0])]
        return pa.Array.from_buffers(type_, length, buffers, nulls, children=children)
    return pa.Array.from_buffers(type_, length, buffers + [_buffer(rest[0])], nulls)
