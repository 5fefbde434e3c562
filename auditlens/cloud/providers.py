"""The provider registry: how each cloud's events are found in JSON and mapped to a row.

A provider knows two things only (the reader does the rest, the same for all):

``unwrap(value)``
    Given one parsed JSON value from an input (a JSON line, a whole JSON document, an element
    of a top-level array), the provider's events inside it — the value itself, or the events of
    its wrappers (``{"Records": [...]}``, ``{"payload": ...}``, ``_source`` with ``o_`` keys…) —
    or ``None`` when the value is not this provider's. Providers are asked in registry order;
    the first that does not answer ``None`` owns the value.

``row(event)``
    The ``cloud_events`` columns of one event (see :mod:`auditlens.schema.cloud`) as a dict,
    without ``raw``, ``file`` and ``line`` (the reader adds them). ``time`` is the event's time
    *as logged* (text): the reader parses every provider's times in one place and rejects an
    event without a usable one. A malformed event may raise ``KeyError``, ``TypeError`` or
    ``ValueError``: the reader rejects it with the message as the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Event = Mapping[str, Any]


@dataclass(frozen=True)
class Provider:
    """One cloud's service events: the name users see in ``provider``, and the two functions."""

    name: str
    unwrap: Callable[[Any], Iterable[Event] | None]
    row: Callable[[Event], dict[str, Any]]


_EMPTY: Mapping[str, Any] = {}


def mapping(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` when it is an object, ``{}`` when absent or null; another type is a malformed
    event (``TypeError`` naming the member ``what``, which the reader makes the reject's reason)."""
    if value is None:
        return _EMPTY
    if not isinstance(value, dict):
        raise TypeError(f"{what} is {type(value).__name__}, not an object")
    return value


def text(obj: Mapping[str, Any], key: str, what: str | None = None) -> str:
    """``obj[key]``, which must be there (``KeyError``) and be text (``TypeError``)."""
    value = obj[key]
    if not isinstance(value, str):
        raise TypeError(f"{what or key} is {type(value).__name__}, not a string")
    return value


PROVIDERS: dict[str, Provider] = {}
"""Registered providers by name, in the order they are asked."""


def register(provider: Provider) -> Provider:
    """Add ``provider`` to :data:`PROVIDERS` (each provider module registers itself)."""
    PROVIDERS[provider.name] = provider
    return provider
