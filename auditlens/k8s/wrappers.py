"""Every JSON form an audit Event arrives in, as a registry keyed by the ``wrapper`` column value.

Each :class:`Wrapper` has a cheap ``claims(obj)`` check (a key or two, never a parse) and an
``unwrap`` that yields raw rows or :class:`Bad` items. Wrappers that hold other values (EventList,
Event Hubs batches, AKS records, CloudWatch exports, OTLP) hand them back to :func:`decode_value`,
so forms nest freely (an Event Hubs batch of AKS records → ``wrapper = "eventhubs/aks"``).
Claims are written to be mutually exclusive, so the order of the registry does not decide.
Container-log line framings (CRI, docker json-file joining) live in :mod:`auditlens.k8s.frame`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from .event import Origin, event_row, is_event, json_text, row_from_fields, why_malformed
from .gke import GKE_API, gke_entry_dump_row, gke_log_entry_row
from .legacy import LEGACY_LINE, LegacyError, legacy_row
from .truncated import TRUNCATED_MARK, salvage


class Bad:
    """Something that held no readable Event: why, and (for items inside a value) its text."""

    __slots__ = ("raw", "reason")

    def __init__(self, reason: str, raw: str | None = None) -> None:
        self.reason = reason
        self.raw = raw

    def __repr__(self) -> str:
        return f"Bad({self.reason!r})"


Decoded: TypeAlias = "tuple[Any, ...] | Bad"
_MALFORMED = (AttributeError, TypeError, ValueError, KeyError, IndexError)


@dataclass(frozen=True)
class Wrapper:
    """One input form: its name (the ``wrapper`` column), what it is, how to spot and open it."""

    name: str
    doc: str
    claims: Callable[[dict[str, Any]], bool]
    unwrap: Callable[[dict[str, Any], Origin, int], Iterator[Decoded]]


def loads(data: bytes | str) -> Any:
    """orjson, with the stdlib as fallback for what orjson refuses (ints over 64 bits, NaN)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        import json

        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise exc from None


def _iso_from_ns(ns: Any) -> str | None:
    try:
        ns = int(ns)
    except (TypeError, ValueError):
        return None
    if not -(2**62) < ns < 2**62:
        return None
    sec, rest = divmod(ns, 1_000_000_000)
    try:
        t = dt.datetime.fromtimestamp(sec, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


# ---- terminal forms: one row each -------------------------------------------------------------

def _event(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    try:
        yield event_row(d, o, line)
    except (AttributeError, TypeError):
        yield Bad(why_malformed(d), json_text(d))


def _viaq(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    ev = dict(d)
    # ViaQ's own "level" is a log level ("default"); the audit level moves to k8s_audit_level
    # (kube-apiserver), openshift_audit_level (openshift-apiserver), oauth_audit_level, …
    ev["level"] = next((v for k, v in d.items() if k.endswith("_audit_level")), None)
    openshift = d.get("openshift")
    cluster = openshift.get("cluster_id") if isinstance(openshift, dict) else None
    yield from _event(ev, o.inner("viaq", cluster=cluster), line)


def _gke(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    service = d["protoPayload"].get("serviceName")
    if isinstance(service, str) and service != GKE_API:  # another service's audit entry
        yield Bad(f"a Cloud Audit Log entry of {service}, not of GKE's Kubernetes API "
                  f"({GKE_API}): a service event, which the cloud reader reads", json_text(d))
        return
    yield gke_log_entry_row(d, o.inner("gke"), line)


def _gke_entry(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    yield gke_entry_dump_row(d, o.inner("gke-entry"), line)


def _eks(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    stamp = d.get("timestamp")
    when = _iso_from_ns(int(stamp) * 1_000_000) if isinstance(stamp, (int, float)) else None
    message: str = d["message"]
    if message.rstrip().endswith(TRUNCATED_MARK):
        inner = o.inner("eks", truncated=True, time=when)
        ev = salvage(message)
        if ev is not None and is_event(ev):
            yield from _event(ev, inner, line)
        else:  # too little left to read: still a row (it happened), marked truncated
            yield row_from_fields({}, inner, line)
        return
    yield from decode_text(message, o.inner("eks", time=when), line)


# ---- containers: hand their contents back to decode_value -------------------------------------

def _eventlist(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    items = d.get("items") or []
    if not isinstance(items, list):
        yield Bad("EventList items is not a list", json_text(d))
        return
    inner = o.inner("eventlist")
    for item in items:
        yield from decode_value(item, inner, line)


def _eventhubs(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    inner = o.inner("eventhubs")
    for record in d["records"]:
        yield from decode_value(record, inner, line)


def _aks_cluster(resource_id: Any) -> str | None:
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "managedclusters":
            return parts[i + 1]
    return None


def _aks(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    log = d["properties"].get("log")
    inner = o.inner("aks", cluster=_aks_cluster(d.get("resourceId")), time=d.get("time"))
    if isinstance(log, dict):
        yield from decode_value(log, inner, line)
    elif isinstance(log, str):
        yield from decode_text(log, inner, line)
    else:
        yield Bad("AKS record without a properties.log string or object", json_text(d))


def _cloudwatch(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    group = d.get("logGroup")
    cluster = None
    if isinstance(group, str) and group.startswith("/aws/eks/") and group.count("/") >= 4:
        cluster = group.split("/")[3]
    items = d.get("logEvents") if "logEvents" in d else d.get("events")
    inner = o.inner("cloudwatch", cluster=cluster)
    for item in items or []:
        yield from decode_value(item, inner, line)


def _otlp_attrs(attrs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in attrs or []:
        if isinstance(a, dict) and isinstance(a.get("value"), dict):
            out[str(a.get("key"))] = next(iter(a["value"].values()), None)
    return out


def _otlp(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    for rl in d["resourceLogs"]:
        attrs = _otlp_attrs((rl.get("resource") or {}).get("attributes"))
        cluster = (attrs.get("openshift.cluster_id") or attrs.get("openshift.cluster.uid")
                   or attrs.get("k8s.cluster.name") or attrs.get("k8s.cluster.uid"))
        for sl in rl.get("scopeLogs") or []:
            for rec in sl.get("logRecords") or []:
                inner = o.inner("otlp", cluster=cluster, time=_iso_from_ns(rec.get("timeUnixNano")))
                body = rec.get("body") or {}
                text = body.get("stringValue")
                if isinstance(text, str):
                    yield from decode_text(text, inner, line)
                else:
                    yield Bad("OTLP log record body is not an Event JSON string", json_text(rec))


def _docker(d: dict[str, Any], o: Origin, line: int) -> Iterator[Decoded]:
    yield from decode_text(d["log"], o.inner("docker", time=d.get("time")), line)


WRAPPERS: dict[str, Wrapper] = {w.name: w for w in (
    Wrapper("event", "An audit.k8s.io Event (v1, v1beta1, v1alpha1, or without apiVersion/kind).",
            is_event, _event),
    Wrapper("viaq", "OpenShift Logging ViaQ record: the Event flattened with hostname, "
            "openshift.cluster_id and k8s_audit_level (or openshift_audit_level, …).",
            lambda d: ("k8s_audit_level" in d or d.get("log_type") == "audit")
            and ("auditID" in d or "verb" in d), _viaq),
    Wrapper("eventlist", "audit.k8s.io EventList (what the audit webhook POSTs).",
            lambda d: d.get("kind") == "EventList", _eventlist),
    Wrapper("eventhubs", "Azure Event Hubs batch {\"records\": [...]}.",
            lambda d: type(d.get("records")) is list, _eventhubs),
    Wrapper("aks", "AKS diagnostic record (category kube-audit/kube-audit-admin), Event in "
            "properties.log as a string or object.",
            lambda d: type(d.get("properties")) is dict and "log" in d["properties"], _aks),
    Wrapper("cloudwatch", "CloudWatch Logs export: {\"events\": [...]} (filter/get-log-events) or "
            "a subscription payload {\"logGroup\", \"logEvents\": [...]}.",
            lambda d: type(d.get("logEvents")) is list
            or (type(d.get("events")) is list and "kind" not in d), _cloudwatch),
    Wrapper("eks", "One CloudWatch log event of an EKS cluster: the Event in message; "
            "[Truncated...] messages give a truncated row.",
            lambda d: type(d.get("message")) is str and ("timestamp" in d or "ingestionTime" in d
                                                       or "logStreamName" in d or "eventId" in d),
            _eks),
    Wrapper("gke", "GKE Cloud Audit Log entry (LogEntry JSON with protoPayload).",
            lambda d: type(d.get("protoPayload")) is dict, _gke),
    Wrapper("gke-entry", "GKE entry as dumped by the Go logging client (Entry + AuditPayload).",
            lambda d: "AuditPayload" in d or (type(d.get("Entry")) is dict
                                              and "Payload" in d["Entry"]), _gke_entry),
    Wrapper("otlp", "OTLP/JSON logs (OpenShift Logging): Event in body.stringValue.",
            lambda d: type(d.get("resourceLogs")) is list, _otlp),
    Wrapper("docker", "docker json-file record {\"log\": …, \"stream\": …, \"time\": …} (split "
            "records are joined by the line reader).",
            lambda d: type(d.get("log")) is str and ("stream" in d or "time" in d), _docker),
)}


def find_wrapper(d: dict[str, Any]) -> Wrapper | None:
    for w in WRAPPERS.values():
        if w.claims(d):
            return w
    return None


def _describe(d: dict[str, Any]) -> str:
    keys = sorted(str(k) for k in d)[:8]
    return "JSON object is not an audit Event or a known wrapper (keys: " + ", ".join(keys) + ")"


def decode_value(value: Any, o: Origin, line: int) -> Iterator[Decoded]:
    """Rows (or Bad items) held by one decoded JSON value."""
    if type(value) is dict:
        w = find_wrapper(value)
        if w is None:
            yield Bad(_describe(value), json_text(value))
            return
        try:
            yield from w.unwrap(value, o, line)
        except _MALFORMED as exc:
            yield Bad(f"malformed {w.name} record: {type(exc).__name__}: {exc}", json_text(value))
    elif type(value) is list:
        inner = o.inner("array")
        for item in value:
            yield from decode_value(item, inner, line)
    else:
        yield Bad(f"JSON {type(value).__name__} is not an audit Event", json_text(value))


def decode_text(text: str | bytes, o: Origin, line: int) -> Iterator[Decoded]:
    """Rows held by a text payload (a container log line, an AKS log, an EKS message)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    data = data.strip()
    if data[:1] in (b"{", b"["):
        try:
            value = loads(data)
        except (orjson.JSONDecodeError, RecursionError) as exc:
            yield Bad(f"invalid JSON: {exc}", data.decode("utf-8", "backslashreplace"))
            return
        yield from decode_value(value, o, line)
    elif LEGACY_LINE.match(data):
        try:
            yield legacy_row(data, o.inner("legacy"), line)
        except LegacyError as exc:
            yield Bad(str(exc), data.decode("utf-8", "backslashreplace"))
    elif not data:
        yield Bad("empty payload")
    else:
        try:  # a JSON scalar (42, "text", null) gets a reason that says so
            value = loads(data)
        except (orjson.JSONDecodeError, RecursionError):
            yield Bad("not JSON, a container log line or a legacy audit line",
                      data.decode("utf-8", "backslashreplace"))
            return
        yield from decode_value(value, o, line)
