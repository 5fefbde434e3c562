"""A webhook request body → the events to store, one JSON line each, and the batch's identity.

The apiserver's webhook backend POSTs one ``audit.k8s.io/v1`` EventList per request (v1beta1
from clusters before 1.24 and from replays); other senders post a single Event. Anything else
is malformed: it is refused whole (400 and kept in quarantine by the caller), because a batch
stored in part could not be told apart from one stored whole when it is sent again.

The identity of a batch is a digest of its events' (auditID, stage, stageTimestamp) — what
identifies an event record (the apiserver reuses a client's ``Audit-ID``, so auditID alone
does not) — sorted, with the source name. The apiserver resends the very same batch after a
lost reply, so the same digest means the same events, whatever the JSON's spacing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

__all__ = ["API_GROUP", "Batch", "MalformedBatch", "decode_batch"]

API_GROUP = "audit.k8s.io/"
_IDENTITY = ("auditID", "stage", "stageTimestamp")


class MalformedBatch(ValueError):
    """A body that is not an EventList or an Event of ``audit.k8s.io``; the message says why."""


@dataclass(frozen=True)
class Batch:
    """The events of one request, as the JSON lines to append, and the batch's digest."""

    source: str
    lines: list[bytes]
    digest: str

    @property
    def events(self) -> int:
        return len(self.lines)

    @property
    def nbytes(self) -> int:
        return sum(len(line) for line in self.lines)


def _items(doc: object) -> list[object]:
    if not isinstance(doc, dict):
        raise MalformedBatch(f"the body is a JSON {type(doc).__name__}, not an EventList or Event")
    kind, version = doc.get("kind"), doc.get("apiVersion")
    if not isinstance(version, str) or not version.startswith(API_GROUP):
        raise MalformedBatch(f"apiVersion {version!r} is not {API_GROUP}v1 or v1beta1")
    if kind == "EventList":
        items = doc.get("items")
        if items is None:  # an empty list is serialised as null by Go
            return []
        if not isinstance(items, list):
            raise MalformedBatch("EventList items is not a list")
        return items
    if kind == "Event":
        return [doc]
    raise MalformedBatch(f"kind {kind!r} is not EventList or Event")


def _event_key(n: int, item: object) -> bytes:
    if not isinstance(item, dict):
        raise MalformedBatch(f"item {n} is not an object")
    parts = []
    for name in _IDENTITY:
        value = item.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedBatch(f"item {n} has no {name}")
        parts.append(value.encode())
    return b"\0".join(parts)


def decode_batch(body: bytes, source: str) -> Batch:
    """The events of ``body`` (already decompressed) for ``source``; MalformedBatch if it is
    not valid JSON of an EventList / Event, or an event lacks auditID, stage or
    stageTimestamp (without them the event cannot be identified, nor the batch deduplicated)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBatch(f"not JSON: {exc}") from None
    items = _items(doc)
    keys = sorted(_event_key(n, item) for n, item in enumerate(items))
    h = hashlib.blake2b(source.encode() + b"\n", digest_size=16)
    for key in keys:
        h.update(key + b"\n")
    for item in items:  # the stored line is the event as sent, and the apiVersion it came in
        if isinstance(item, dict) and "apiVersion" not in item:
            item["apiVersion"] = doc["apiVersion"]
            item.setdefault("kind", "Event")
    lines = [orjson.dumps(item, option=orjson.OPT_APPEND_NEWLINE) for item in items]
    return Batch(source, lines, h.hexdigest())
