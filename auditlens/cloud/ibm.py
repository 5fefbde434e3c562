"""IBM Cloud Activity Tracker / Event Routing / IBM Cloud Logs events (CADF-style).

Shapes recognised by :func:`unwrap` (the reader frames JSON lines, documents, arrays and the
IBM Cloud Logs Parquet column ``src_obj__user_data``):

- a plain event: ``eventTime`` + ``initiator`` + ``action``;
- the legacy wrapper ``{"payload": {...event...}, "meta": {...}, "logSourceCRN": ...}``;
- a LogDNA archive record: the event under ``_source``, nested objects' keys prefixed ``o_``
  (``_source.o_initiator.o_host.address``), the logged line itself under ``_source._line``.
  The ``_source`` fields win: they are the event as LogDNA parsed and indexed it, and hold every
  field; ``_line`` is used only when ``_source`` has no ``action`` (a record kept as text only)
  and it parses as an event.

Mapping (docs/cloud-formats.md): the account and region come from the target's CRN
``crn:v1:<cname>:<ctype>:<service>:<region>:a/<account>:<instance>:<type>:<resource>``;
``actor_kind`` from ``initiator.typeURI``; ``denied`` is a failure with reason code 401 or 403.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from .providers import Event, Provider, register

__all__ = ["IBM", "actor_kind", "crn_parts", "row", "unwrap"]

_KINDS = {
    "service/security/account/user": "user",
    "service/security/account/serviceid": "service-id",
    "service/security/account/trustedprofile": "trusted-profile",
    "service/security/account/profile": "trusted-profile",
    "service/security/clientid": "service",
    "service/security/account/service": "service",
}
"""``initiator.typeURI`` → ``actor_kind``; anything else under ``service/…`` is a service."""

_CLUSTER_KIND = "containers-kubernetes/cluster"


def _looks_like_event(value: Any) -> bool:
    return type(value) is dict and "action" in value and ("eventTime" in value or "initiator" in value)


def _strip_prefixes(value: Any) -> Any:
    """LogDNA's ``o_`` prefixed keys of nested objects back to the event's own names."""
    if type(value) is dict:
        return {(k[2:] if k.startswith("o_") else k): _strip_prefixes(v) for k, v in value.items()}
    if type(value) is list:
        return [_strip_prefixes(v) for v in value]
    return value


def _from_source(source: dict[str, Any]) -> dict[str, Any] | None:
    """The event of a LogDNA ``_source``: its fields (``_``-keys are LogDNA's own), else its
    ``_line`` when that is an event."""
    if "action" in source or "o_initiator" in source:
        return {k: v for k, v in _strip_prefixes(source).items() if not k.startswith("_")}
    line = source.get("_line")
    if isinstance(line, str) and line.lstrip().startswith("{"):
        try:
            event = json.loads(line)
        except ValueError:
            return None
        return event if _looks_like_event(event) else None
    return None


def unwrap(value: Any) -> Iterable[Event] | None:
    """The IBM events inside one JSON value, or None when it is not IBM's."""
    if type(value) is not dict:
        return None
    if _looks_like_event(value):
        return (value,)
    payload = value.get("payload")
    if type(payload) is dict and ("meta" in value or "logSourceCRN" in value
                                  or _looks_like_event(payload)):
        return (payload,)
    source = value.get("_source")
    if type(source) is dict:
        event = _from_source(source)
        if event is not None:
            return (event,)
    return None


@lru_cache(maxsize=4096)
def crn_parts(crn: Any) -> tuple[str | None, str | None, str | None]:
    """(service, region, account) of a CRN; Nones for what it does not say or a non-CRN.
    Cached: an account's events name the same few CRNs over and over."""
    if not isinstance(crn, str) or not crn.startswith("crn:"):
        return None, None, None
    parts = crn.split(":")
    if len(parts) < 7:
        return None, None, None
    account = parts[6]
    account = account[2:] if account.startswith(("a/", "o/", "s/")) else account
    return parts[4] or None, parts[5] or None, account or None


@lru_cache(maxsize=256)
def actor_kind(type_uri: str) -> str:
    """``initiator.typeURI`` → ``actor_kind``."""
    return _KINDS.get(type_uri) or ("service" if type_uri.startswith("service/") else "unknown")


def _obj(value: Any, field: str) -> dict[str, Any]:
    """A nested object (``{}`` when absent); another type is a malformed event."""
    if type(value) is dict:
        return value
    if value is None:
        return {}
    if type(value) is not dict:
        raise TypeError(f"{field} is a {type(value).__name__}, not an object")
    return value


def _data(value: Any) -> dict[str, Any]:
    """``requestData``/``responseData``: an object, or (older events) an object as JSON text."""
    if type(value) is dict:
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            got = json.loads(value)
        except ValueError:
            return {}
        return got if type(got) is dict else {}
    return {}


def _cluster(action: str, crn: Any, request: Any) -> str | None:
    """The cluster an event is about: the target when it is one; else, for actions on a part
    of a cluster (worker, worker-pool, cluster-audit-webhook, alb…), the cluster the request or
    the target's CRN names (``…:<cluster-id>:worker:<worker-id>``)."""
    if not action.startswith("containers-kubernetes."):
        return None
    data = _data(request)
    for key in ("cluster", "clusterID", "clusterId", "clusterName", "cluster_id", "idOrName"):
        found = data.get(key)
        if found and type(found) is str:
            return found
    if isinstance(crn, str) and crn.startswith("crn:"):
        parts = crn.split(":")
        if len(parts) > 7 and parts[7]:
            return parts[7]
    return None


def row(event: Event) -> dict[str, Any]:
    """The ``cloud_events`` columns of one IBM event (``time`` as logged). Kept lean: it runs
    once per event (text values are passed on as logged, empty text as null). The C fast path
    (``_fastcloud.c``) makes the same row of a plain one-line event: a change here is one there
    too (tests/test_cloud_native.py fails until both agree)."""
    action = event["action"]
    if type(action) is not str:
        raise TypeError(f"action is a {type(action).__name__}, not text")
    get = event.get
    initiator = _obj(get("initiator"), "initiator")
    target = _obj(get("target"), "target")
    reason = _obj(get("reason"), "reason")
    host = _obj(initiator.get("host"), "initiator.host")
    credential = _obj(initiator.get("credential"), "initiator.credential")
    target_id = target.get("id") or None
    _, region, account = crn_parts(target_id) if type(target_id) is str else (None, None, None)
    if account is None:
        source_crn = get("logSourceCRN")
        if type(source_crn) is str:
            _, region2, account = crn_parts(source_crn)
            region = region or region2
    actor_id = initiator.get("id") or None
    actor = initiator.get("name") or actor_id
    behind = initiator.get("authnName") or initiator.get("authnId") or None
    type_uri = initiator.get("typeURI")
    code = reason.get("reasonCode")
    code = None if code is None or code == "" else str(code)
    outcome = get("outcome")
    if type(outcome) is str:
        outcome = outcome.lower()
        if outcome == "failure" and code in ("401", "403"):
            outcome = "denied"
    target_kind = target.get("typeURI") or None
    return {
        "time": get("eventTime"),
        "provider": "ibm",
        "service": action.split(".", 1)[0] or None,
        "account": account,
        "region": region,
        "action": action,
        "actor": actor,
        "actor_id": actor_id,
        "actor_kind": actor_kind(type_uri) if type(type_uri) is str else None,
        "acting_for": behind if behind not in (actor, actor_id) else None,
        "credential": credential.get("type") or None,
        "target": target.get("name") or target_id,
        "target_id": target_id,
        "target_kind": target_kind,
        "cluster": (target.get("name") or target_id if target_kind == _CLUSTER_KIND
                    else _cluster(action, target_id, get("requestData"))),
        "outcome": outcome,
        "reason_code": code,
        "reason": reason.get("reasonForFailure") or None,
        "severity": get("severity") or None,
        "message": get("message") or None,
        "origin": host.get("address") or None,
        "user_agent": host.get("agent") or None,
        "correlation_id": get("correlationId") or None,
    }


IBM = register(Provider("ibm", unwrap, row))
