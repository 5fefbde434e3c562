"""uid/gid → name, from what the log itself says or from the node's own passwd/group files.

Names come from two places only, in this order:

1. the ENRICHED translations auditd wrote next to the record (``AUID="alice"``), which were
   resolved on the node when the event happened;
2. the ``passwd`` / ``group`` files of that node, passed in by the caller (a path, a text or
   binary file object, or a mapping ``{node_name: file}`` for aggregated multi-node logs;
   the key ``None`` or ``"*"`` is the default for records without a matching node).

Never from the machine the analyst runs on: ``ausearch -i`` resolves the uids of RAW logs with
the *local* passwd, which silently names the wrong people when logs come from another host.
We return no name instead (see docs/auditd-vs-ausearch.md).

``4294967295`` (``(uint32)-1``) and ``-1`` mean "unset" (e.g. a daemon that never logged in):
the id becomes null and the name ``"unset"``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from typing import IO, Any, Union

UNSET_NAME = "unset"
_UNSET_VALUES = frozenset({"4294967295", "-1"})

IdFile = Union[str, "os.PathLike[str]", IO[str], IO[bytes]]
IdSource = Union[IdFile, Mapping[str | None, IdFile], None]  # noqa: UP007 (a runtime alias on 3.10)


_ID_MEMO: dict[str, int | None] = {}
_MEMO_LIMIT = 16_384
_MISS = object()


def parse_id(value: str | None) -> int | None:
    """A uid/gid/ses as logged → int, or None when unset, missing or not a number.

    On the hot path (several ids per event, few distinct values): results are memoised."""
    if value is None:
        return None
    got = _ID_MEMO.get(value, _MISS)
    if got is not _MISS:
        return got  # type: ignore[return-value]
    n = _parse_id(value)
    if len(_ID_MEMO) >= _MEMO_LIMIT:
        _ID_MEMO.clear()
    _ID_MEMO[value] = n
    return n


def _parse_id(value: str) -> int | None:
    v = value.strip('"')
    if v in _UNSET_VALUES:
        return None
    try:
        n = int(v)
    except ValueError:
        return None
    return None if n < 0 or n == 4294967295 else n


def is_unset(value: str | None) -> bool:
    """True for the logged spellings of an unset id (4294967295, -1)."""
    return value is not None and value.strip('"') in _UNSET_VALUES


def enriched_name(value: str | None) -> str | None:
    """An ENRICHED translation → name; None when auditd itself could not resolve it."""
    if value is None:
        return None
    v = value.strip('"')
    if not v or v.startswith("unknown(") or v == "?":
        return None
    return v


def _read_text(src: IdFile) -> str:
    if isinstance(src, (str, os.PathLike)):
        with open(src, "rb") as fh:
            data: bytes | str = fh.read()
    else:
        data = src.read()
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


def parse_id_file(text: str) -> dict[int, str]:
    """``name:x:ID:…`` lines (passwd or group format) → {id: name}; the first name wins."""
    out: dict[int, str] = {}
    for line in io.StringIO(text):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < 3:
            continue
        try:
            n = int(parts[2])
        except ValueError:
            continue
        out.setdefault(n, parts[0])
    return out


def _load(source: IdSource) -> dict[str | None, dict[int, str]]:
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return {("*" if k is None else k): parse_id_file(_read_text(v)) for k, v in source.items()}
    return {"*": parse_id_file(_read_text(source))}


class IdNames:
    """Resolves uids and gids of one read; files are parsed once, here."""

    def __init__(self, passwd: IdSource = None, group: IdSource = None) -> None:
        self._users = _load(passwd)
        self._groups = _load(group)
        self._user_by_name: dict[str | None, dict[str, int]] = {
            node: {name: uid for uid, name in table.items()} for node, table in self._users.items()
        }
        # answers of user()/group() so far: few distinct ids per read, asked for on every event
        self._user_memo: dict[tuple[str | None, str | None, str | None], str | None] = {}
        self._group_memo: dict[tuple[str | None, str | None, str | None], str | None] = {}
        self.memo: dict[tuple[object, ...], str] = {}
        """Free for the normaliser: rendered field values of this read (names depend on it)."""

    @staticmethod
    def _table(tables: Mapping[str | None, dict[int, str]], node: str | None) -> dict[int, str] | None:
        if not tables:
            return None
        t = tables.get(node) if node is not None else None
        return t if t is not None else tables.get("*")

    def _name(self, tables: Mapping[str | None, dict[int, str]], raw: str | None,
              enriched: str | None, node: str | None) -> str | None:
        if raw is None and enriched is None:
            return None
        if is_unset(raw):
            return UNSET_NAME
        name = enriched_name(enriched)
        if name is not None:
            return name
        n = parse_id(raw)
        if n is None:
            return None
        table = self._table(tables, node)
        return table.get(n) if table else None

    def _remembered(self, memo: dict[Any, Any], tables: Any, raw: str | None,
                    enriched: str | None, node: str | None) -> str | None:
        """``_name`` with a bounded memo: the same few ids recur on every record."""
        key = (raw, enriched, node)
        got = memo.get(key, _MISS)
        if got is _MISS:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            got = memo[key] = self._name(tables, raw, enriched, node)
        return got

    def user(self, raw: str | None, enriched: str | None = None, node: str | None = None) -> str | None:
        """Name of a logged uid (``raw`` as in the log, ``enriched`` its ENRICHED translation)."""
        return self._remembered(self._user_memo, self._users, raw, enriched, node)

    def group(self, raw: str | None, enriched: str | None = None, node: str | None = None) -> str | None:
        """Name of a logged gid."""
        return self._remembered(self._group_memo, self._groups, raw, enriched, node)

    def uid_of(self, name: str, node: str | None = None) -> int | None:
        """Reverse lookup in the node's passwd (for ``acct=NAME`` fields); None when unknown."""
        if not self._user_by_name:
            return None
        t = self._user_by_name.get(node) if node is not None else None
        if t is None:
            t = self._user_by_name.get("*")
        return t.get(name) if t else None
