"""Columns of an audit table under the names Sigma rules use, computed once per table.

A rule names ``a0`` or ``objectRef.resource``; a view answers with one string per row (or, for
list-valued fields, a flat list of strings with the row each belongs to), decoded the way the
field means (auditd hex → text, Kubernetes numbers → their decimal text), so that the compiler
(:mod:`.compiler`) only compares strings. Every column is computed at most once per table and
shared by all rules (``functools.cache``-like dict), which is what makes many rules cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..auditd.interpret import arch_of, syscall_of
from ..auditd.tables import is_encoded_field

__all__ = ["AuditdView", "Column", "K8sView", "NotApplicable", "View"]

Array: TypeAlias = Any  # pa.Array | pa.ChunkedArray: pyarrow ships no type stubs


class NotApplicable(Exception):
    """A rule cannot be evaluated over this table: it names a field the table does not have, or
    needs data the log does not hold. Carries the reason shown to the user."""


@dataclass(frozen=True)
class Column:
    """Values of one field: ``values`` row-aligned when ``rows`` is None, else a flat list of
    values with ``rows[i]`` the row that ``values[i]`` belongs to (list fields: groups, IPs…)."""

    values: Array
    rows: Array | None = None


class View:
    """Named columns of one table (subclasses say which names exist and how they are made)."""

    source = ""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.num_rows = table.num_rows
        self._cache: dict[tuple[str, bool], Column] = {}
        self._distinct: dict[tuple[Any, ...], tuple[Array, Array]] = {}
        self._text: Array | None = None
        self._by_row: dict[str, dict[int, list[str]]] = {}
        self.masks: dict[tuple[Any, ...], Any] = {}
        """Masks of field predicates, shared by the rules that test the same (compiler)."""

    def release(self) -> None:
        """Drop the columns computed (and the subsets, which point back here): a part's
        memory is freed when the rules are done with it, not when the cycle collector runs."""
        for value in vars(self).values():
            if isinstance(value, dict):
                for item in value.values():
                    if isinstance(item, tuple) and item and isinstance(item[0], View):
                        item[0].release()
                value.clear()

    @classmethod
    def check(cls, name: str) -> None:
        """Raise :class:`NotApplicable` when rules naming ``name`` cannot run on this kind of table."""
        raise NotImplementedError

    def check_data(self, name: str) -> None:
        """Raise :class:`NotApplicable` when this table's data cannot answer ``name`` (a body
        that the audit level did not log). Asked once per rule and table."""

    def _make(self, name: str, numeric: bool) -> Column:
        raise NotImplementedError

    def _make_text(self) -> Array:
        raise NotImplementedError

    def column(self, name: str, numeric: bool = False) -> Column:
        """The values of field ``name`` (``numeric``: the value is compared with a number, so
        give the number as logged, e.g. the syscall number rather than its name)."""
        key = (name, numeric)
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = self._make(name, numeric)
        return got

    def distinct(self, name: str, numeric: bool = False, lower: bool = False) -> tuple[Array, Array]:
        """:meth:`column`'s values as (distinct values, index of each value among them; null
        for a null value), lowercased for Sigma's case-insensitive tests when ``lower``. Audit
        values repeat (a few hundred distinct in 100 000 records): rules test the distinct
        values and the result is spread back with one ``take``."""
        key = (name, numeric)
        got = self._distinct.get(key)
        if got is None:
            values = self.column(name, numeric).values
            coded = pc.dictionary_encode(
                values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
            got = self._distinct[key] = (coded.dictionary, coded.indices)
        if lower:
            lowered = self._distinct.get((name, numeric, True))
            if lowered is None:
                lowered = self._distinct[(name, numeric, True)] = (pc.utf8_lower(got[0]), got[1])
            got = lowered
        return got

    def text(self) -> Array:
        """One text per row that keyword rules search (Sigma keywords: value anywhere in the
        record)."""
        if self._text is None:
            self._text = self._make_text()
        return self._text

    def subset(self, types: frozenset[str] | None) -> tuple[View, Array | None]:
        """The rows a rule pinned to record ``types`` reads (only auditd records have types)."""
        return self, None

    def event_ids(self) -> Array:
        """A number per row, equal for rows of one event (only auditd records have events)."""
        raise NotApplicable("only auditd records group into events")

    def joined(self, name: str) -> Array:
        """One value per row for showing what matched: a list field's values of each row joined
        by ", " (null when none), as :meth:`value` gives them one row at a time."""
        col = self.column(name)
        values = col.values if pa.types.is_string(col.values.type) else pc.cast(col.values, pa.string())
        if col.rows is None:
            return values
        valid = pc.is_valid(values)
        rows = pc.filter(col.rows, valid).to_numpy()
        offsets = np.searchsorted(rows, np.arange(self.num_rows + 1)).astype(np.int32)
        flat = pc.filter(values, valid)
        flat = flat.combine_chunks() if isinstance(flat, pa.ChunkedArray) else flat
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), flat), ", ")
        return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)

    def value(self, name: str, row: int) -> str | None:
        """The value of ``name`` in one row, for showing what matched (lists joined by ", ")."""
        col = self.column(name)
        if col.rows is None:
            v = col.values[row].as_py()
            return None if v is None else str(v)
        by_row = self._by_row.get(name)
        if by_row is None:  # once per list field: the values of each row
            by_row = self._by_row[name] = {}
            for r, v in zip(col.rows.to_pylist(), col.values.to_pylist(), strict=True):
                if v is not None:
                    by_row.setdefault(r, []).append(str(v))
        return ", ".join(by_row.get(row, [])) or None


# --- auditd records ------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"[a-z][a-z0-9_-]*|[A-Z][A-Z0-9_-]*")
_HEX = r"^(?:[0-9A-F]{2})+$"


def _needs_hex(data: bytes) -> bool:
    """auditd hex-encodes a string exactly when it holds a quote, a space or control byte, or a
    byte above 0x7e (audit_string_contains_control in the kernel's audit.c, and the same test in
    audit-userspace): hex text that decodes to none of these was a quoted literal (``a1="42"``)."""
    return any(b == 0x22 or b < 0x21 or b > 0x7E for b in data)


def _decode(text: str) -> str:
    data = bytes.fromhex(text)
    if not _needs_hex(data):
        return text
    return data.decode("utf-8", errors="backslashreplace").replace("\x00", " ")


def decode_hex(values: Array) -> Array:
    """Decode auditd hex values of a string column (NUL-separated proctitle argv → spaces).
    Each distinct value is tested and decoded once (values repeat a lot in audit logs)."""
    values = pa.chunked_array([values]) if isinstance(values, pa.Array) else values
    coded = pc.dictionary_encode(values.combine_chunks())
    words = coded.dictionary
    hexy = pc.match_substring_regex(words, _HEX)
    if not pc.any(hexy).as_py():
        return values
    decoded = pa.array([_decode(w) for w in pc.filter(words, hexy).to_pylist()], pa.string())
    place = pc.subtract(pc.cumulative_sum(pc.cast(hexy, pa.int64())), 1)
    words = pc.if_else(hexy, pc.take(decoded, pc.max_element_wise(place, 0)), words)
    return pa.chunked_array([pc.take(words, coded.indices)])


class AuditdView(View):
    """An ``auditd_records`` table: raw field names (``a0``, ``exe``, ``key``…), ENRICHED
    upper-case names (``SYSCALL``, ``AUID``…), ``type`` (the record type) and ``node``.

    Values of fields auditd may hex-encode (``name``, ``exe``, ``proctitle``, EXECVE ``aN``…)
    are decoded; ``SYSCALL`` falls back to the name of the raw number for the record's
    architecture when the log is RAW (no ENRICHED part); ``syscall`` compared with a word means
    that name too, compared with a number the number as logged.
    """

    source = "auditd"

    def __init__(self, table: pa.Table, parent: AuditdView | None = None,
                 rows: Array | None = None) -> None:
        super().__init__(table)
        self._event: Array | None = None
        self._parent, self._rows = parent, rows
        self._types = pc.unique(table["record_type"]).to_pylist()
        self._subsets: dict[frozenset[str], tuple[AuditdView, Array]] = {}
        self._maps: dict[str, MapEntries] = {}

    def subset(self, types: frozenset[str] | None) -> tuple[View, Array | None]:
        """A view of the records of ``types`` only and their row numbers here (None: this
        view, all rows). Nearly every auditd rule pins ``type``: it then reads the few EXECVE
        or PATH records, not all. The subset reads its columns from this view's maps at its rows
        (the maps are opened once for all rules), not from a copy of them."""
        if types is None:
            return self, None
        got = self._subsets.get(types)
        if got is None:
            upper = pc.utf8_upper(self.table["record_type"])
            rows = pc.indices_nonzero(pc.is_in(upper, value_set=pa.array(sorted(types), pa.string())))
            got = self._subsets[types] = (self.rows_view(rows), rows)
        return got

    @classmethod
    def check(cls, name: str) -> None:
        if name in ("type", "node") or _FIELD_NAME.fullmatch(name):
            return
        raise NotApplicable(f"field {name!r} is not an auditd record field (auditd fields are "
                            "lower-case as logged, or upper-case ENRICHED)")

    def _raw(self, name: str) -> Array:
        return self._lookup("fields", name)

    def _lookup(self, column: str, name: str) -> Array:
        if self._parent is not None:  # a subset reads the whole table's maps at its rows
            return self._parent._entries(column).lookup(name, self._rows)
        return self._entries(column).lookup(name)

    def rows_view(self, rows: Array) -> AuditdView:
        """A view of some records (by row number here), e.g. those of matched events."""
        small = self.table.select(["node", "serial", "time", "record_type"]).take(rows)
        return AuditdView(small, self, rows)

    def _make(self, name: str, numeric: bool) -> Column:
        if name == "type":
            return Column(self.table["record_type"])
        if name == "node":
            return Column(self.table["node"])
        if name == "SYSCALL" or (name == "syscall" and not numeric):
            return Column(self._syscall_names())
        if name.isupper():
            return Column(self._lookup("enriched", name))
        raw = self._raw(name)
        encoded = [t for t in self._types if t and is_encoded_field(t, name)]
        if not encoded:
            return Column(raw)
        mask = pc.is_in(self.table["record_type"], value_set=pa.array(encoded, pa.string()))
        return Column(pc.if_else(mask, decode_hex(raw), raw))

    def _entries(self, column: str) -> MapEntries:
        got = self._maps.get(column)
        if got is None:
            got = self._maps[column] = MapEntries(self.table[column])
        return got

    def _syscall_names(self) -> Array:
        enriched = self._lookup("enriched", "SYSCALL")
        raw = self._raw("syscall")
        arch = self._raw("arch")
        pairs = pc.binary_join_element_wise(arch, raw, ":")
        missing = pc.and_(pc.is_null(enriched), pc.is_valid(pairs))
        if not pc.any(missing).as_py():
            return enriched
        distinct = pc.unique(pc.filter(pairs, missing)).to_pylist()
        names = pa.array([_syscall_name(p) for p in distinct], pa.string())
        index = pc.index_in(pairs, value_set=pa.array(distinct, pa.string()))
        return pc.if_else(missing, pc.take(names, pc.fill_null(index, 0)), enriched)

    def _make_text(self) -> Array:
        if self._parent is not None:
            return record_text(self._parent.table.select(["record_type", "fields"]).take(self._rows))
        return record_text(self.table)

    def event_ids(self) -> Array:
        """A number per row, equal for the records of one event (same node, serial and time)."""
        if self._event is None:
            t = self.table
            key = pc.binary_join_element_wise(
                pc.fill_null(t["node"], ""), pc.cast(t["serial"], pa.string()),
                pc.cast(pc.cast(t["time"], pa.int64()), pa.string()), ":")
            self._event = pc.dictionary_encode(key).combine_chunks().indices \
                if isinstance(key, pa.ChunkedArray) else pc.dictionary_encode(key).indices
        return self._event


def record_text(table: pa.Table) -> Array:
    """The record type and every decoded value, space-separated in logged order: the command
    line of an EXECVE record reads as typed (``iptables -t nat … --to-ports 42``)."""
    chunks = []
    for chunk in table.select(["record_type", "fields"]).to_batches():
        fields = chunk.column(1)
        fields = fields.cast(pa.list_(pa.struct([fields.type.key_field, fields.type.item_field])))
        entries = pc.list_flatten(fields)
        keys, values = entries.field(0), entries.field(1)
        types = pc.take(chunk.column(0), pc.list_parent_indices(fields))
        values = pc.if_else(_encoded_mask(types, keys), decode_hex(values), values)
        offsets = pc.subtract(fields.offsets, fields.offsets[0])
        lists = pa.ListArray.from_arrays(offsets, pc.fill_null(values, "").combine_chunks(),
                                         mask=fields.is_null())
        joined = pc.binary_join(lists, " ")
        chunks.append(pc.binary_join_element_wise(chunk.column(0), pc.fill_null(joined, ""), " "))
    return pa.chunked_array(chunks, pa.string())


class MapEntries:
    """A map column (field → value per record) opened once: its entries grouped by key, so that
    one field's column costs the entries of that key, not a scan of every record's map (which is
    what ``map_lookup`` does, once per field)."""

    def __init__(self, column: Array) -> None:
        maps = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        self.rows = len(maps)
        lists = maps.cast(pa.list_(pa.struct([maps.type.key_field, maps.type.item_field])))
        entries = pc.list_flatten(lists)
        self.values = entries.field(1)
        self.parents = pc.list_parent_indices(lists).to_numpy()
        coded = pc.dictionary_encode(entries.field(0))
        codes = coded.indices.to_numpy(zero_copy_only=False)
        self.code = {k: i for i, k in enumerate(coded.dictionary.to_pylist())}
        if len(self.code) <= np.iinfo(np.uint16).max:  # numpy radix-sorts 16-bit keys: O(n)
            codes = codes.astype(np.uint16)
        self.order = np.argsort(codes, kind="stable")
        self.bounds = np.searchsorted(codes[self.order], np.arange(len(self.code) + 1))

    def lookup(self, key: str, rows: Array | None = None) -> pa.Array:
        """The value of ``key`` in each record, or in records ``rows`` only (null when absent;
        the first when repeated). Costs the entries of ``key`` plus the records asked for."""
        count = self.rows if rows is None else len(rows)
        code = self.code.get(key)
        if code is None:
            return pa.nulls(count, pa.string())
        positions = self.order[self.bounds[code]:self.bounds[code + 1]][::-1]  # first wins
        owners = self.parents[positions]
        if rows is not None:  # record number here → place in ``rows``
            place = np.full(self.rows, -1, np.int64)
            place[np.asarray(rows)] = np.arange(count)
            owners = place[owners]
            positions, owners = positions[owners >= 0], owners[owners >= 0]
        index = np.full(count, -1, np.int64)
        index[owners] = positions
        return pc.take(self.values, pa.array(index, mask=index < 0))


def _encoded_mask(types: Array, keys: Array) -> Array:
    """Whether each (record type, field name) pair is a field auditd may hex-encode."""
    pairs = pc.binary_join_element_wise(types, keys, "\x1f")
    distinct = pc.unique(pairs).to_pylist()
    flags = pa.array([is_encoded_field(*p.split("\x1f", 1)) if p else False for p in distinct])
    return pc.take(flags, pc.index_in(pairs, value_set=pa.array(distinct, pa.string())))


def _syscall_name(pair: str) -> str | None:
    arch_field, _, number = pair.partition(":")
    arch = arch_of(arch_field)
    if arch is None or not number.isdigit():
        return None
    return syscall_of(arch, int(number))


# --- Kubernetes audit Events -----------------------------------------------------------------

K8S_FIELDS: dict[str, str] = {
    "verb": "verb", "requestURI": "request_uri", "userAgent": "user_agent",
    "auditID": "audit_id", "stage": "stage", "level": "level",
    "user.username": "user", "user.uid": "user_uid", "user.groups": "groups",
    "impersonatedUser.username": "impersonated_user",
    "impersonatedUser.groups": "impersonated_groups", "sourceIPs": "source_ips",
    "objectRef.resource": "resource", "objectRef.subresource": "subresource",
    "objectRef.namespace": "namespace", "objectRef.name": "name",
    "objectRef.apiGroup": "api_group", "objectRef.apiVersion": "api_version",
    "objectRef.uid": "object_uid", "responseStatus.code": "response_code",
    "responseStatus.status": "response_status", "responseStatus.reason": "response_reason",
    "responseStatus.message": "response_message",
}
"""Sigma's dotted Event paths → ``k8s_events`` columns (``annotations.KEY`` reads the map)."""

K8S_ALIASES: dict[str, str] = {
    "apiGroup": "objectRef.apiGroup",
    "hostPath": "requestObject.spec.volumes.hostPath.path",
    "capabilities": "requestObject.spec.containers.securityContext.capabilities",
}
"""Short names some SigmaHQ Kubernetes rules use for what an Event holds under a longer path."""

_BODIES = {"requestObject": "request_object", "responseObject": "response_object"}


def _walk(node: Any, path: list[str], out: list[str]) -> None:
    """Values at ``path`` in parsed JSON; lists are searched element by element."""
    if isinstance(node, list):
        for item in node:
            _walk(item, path, out)
        return
    if not path:
        if node is not None:
            out.append(node if isinstance(node, str) else orjson.dumps(node).decode()
                       if isinstance(node, dict | list) else str(node).lower()
                       if isinstance(node, bool) else str(node))
        return
    if isinstance(node, dict) and path[0] in node:
        _walk(node[path[0]], path[1:], out)


class K8sView(View):
    """A ``k8s_events`` table under the audit Event's own dotted paths (``verb``,
    ``objectRef.resource``, ``user.username``, ``responseStatus.code``, ``requestObject.spec…``)."""

    source = "k8s"

    def __init__(self, table: pa.Table, bodies: Iterable[str] = ()) -> None:
        """``bodies``: the request/response body paths the rules read (``requestObject.spec…``),
        all taken in one pass over the bodies."""
        super().__init__(table)
        self._body_columns: dict[tuple[str, str], Column] = {}
        self._wanted: set[tuple[str, str]] = set()
        for name in bodies:
            head, _, rest = self.resolve(name).partition(".")
            if head in _BODIES and rest:
                self._wanted.add((_BODIES[head], rest))

    @staticmethod
    def resolve(name: str) -> str:
        return K8S_ALIASES.get(name, name)

    @classmethod
    def check(cls, name: str) -> None:
        name = cls.resolve(name)
        head = name.split(".", 1)[0]
        if name in K8S_FIELDS or (head in ("annotations", *_BODIES) and "." in name):
            return
        raise NotApplicable(f"field {name!r} is not a Kubernetes audit Event field auditlens maps")

    def check_data(self, name: str) -> None:
        head = self.resolve(name).split(".", 1)[0]
        column = _BODIES.get(head)
        if column is None:
            return
        if column not in self.table.column_names or \
                self.table[column].null_count == self.table.num_rows:
            level = "Request" if head == "requestObject" else "RequestResponse"
            raise NotApplicable(f"needs the {head} of requests ({name}), which the API server "
                                f"logs only at audit level {level} or above; this log holds none")

    def _make(self, name: str, numeric: bool) -> Column:
        name = self.resolve(name)
        head, _, rest = name.partition(".")
        if head == "annotations" and rest:
            return Column(pc.map_lookup(self.table["annotations"], pa.scalar(rest), "first"))
        if head in _BODIES:
            return self._body(_BODIES[head], rest.split("."))
        values = self.table[K8S_FIELDS[name]]
        if pa.types.is_list(values.type):
            flat = pa.chunked_array([pc.list_flatten(c) for c in values.chunks], values.type.value_type)
            rows, offset = [], 0
            for c in values.chunks:
                rows.append(pc.add(pc.list_parent_indices(c), offset))
                offset += len(c)
            return Column(flat, pa.chunked_array(rows, pa.int64()))
        if not pa.types.is_string(values.type):
            values = pc.cast(values, pa.string())
        return Column(values)

    def _body(self, column: str, path: list[str]) -> Column:
        key = (column, ".".join(path))
        if key not in self._body_columns:
            self._extract(column, {key[1], *(p for c, p in self._wanted if c == column)})
        return self._body_columns[key]

    def _extract(self, column: str, paths: set[str]) -> None:
        """Parse each body of ``column`` once and take every path rules read from it; the
        parsed bodies are not kept (as Python objects they are many times their JSON)."""
        found: dict[str, tuple[list[str], list[int]]] = {p: ([], []) for p in paths}
        if column in self.table.column_names:
            texts = self.table[column]
            present = pc.indices_nonzero(pc.is_valid(texts)).to_pylist()
            for row, text in zip(present, pc.take(texts, present).to_pylist(), strict=True):
                try:
                    body = orjson.loads(text)
                except orjson.JSONDecodeError:
                    continue
                for p, (values, rows) in found.items():
                    out: list[str] = []
                    _walk(body, p.split("."), out)
                    values.extend(out)
                    rows.extend([row] * len(out))
        for p, (values, rows) in found.items():
            self._body_columns[(column, p)] = Column(
                pa.chunked_array([pa.array(values, pa.string())]),
                pa.chunked_array([pa.array(rows, pa.int64())]))

    def _make_text(self) -> Array:
        parts = [pc.fill_null(pc.cast(self.table[c], pa.string()), "")
                 for c in ("verb", "request_uri", "user", "user_agent", "resource", "subresource",
                           "namespace", "name", "response_message")]
        return pc.binary_join_element_wise(*parts, " ")
