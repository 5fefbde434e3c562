"""One audit Event (a decoded JSON object) → one raw row, the hot path of the k8s reader.

A raw row is a plain tuple in :data:`RAW_FIELDS` order: a tuple is the cheapest thing Python can
build per event, and :mod:`auditlens.k8s.build` turns a batch of them into Arrow in one C++ pass.
Times stay strings here (converted per batch, vectorised). ``RAW_FIELDS`` is the ``k8s_events``
schema with ``time``/``latency`` replaced by the two strings they are computed from; a test holds
the two in step.

Field meanings: k8s.io/apiserver ``pkg/apis/audit/v1/types.go`` (v1), and the older v1beta1 /
v1alpha1 Events (``timestamp``, ``metadata``; v1alpha1 ``objectRef.apiVersion`` = "group/version").
"""

from __future__ import annotations

import json
from typing import Any

import orjson

RAW_FIELDS: tuple[str, ...] = (
    "stage_time", "alt_time", "request_received", "audit_id", "stage", "level", "verb",
    "request_uri", "user", "user_uid", "groups", "user_extra", "impersonated_user",
    "impersonated_groups", "service_account_namespace", "service_account_name", "source_ips",
    "user_agent", "api_group", "api_version", "resource", "subresource", "namespace", "name",
    "object_uid", "response_code", "response_status", "response_reason", "response_message",
    "decision", "reason", "annotations", "request_object", "response_object", "cluster",
    "wrapper", "file", "line", "truncated",
)
"""Order of a raw row. ``stage_time`` (stageTimestamp) and ``alt_time`` (the fallback chain) give
``time`` and, with ``request_received``, ``latency``."""

_EMPTY: dict[str, Any] = {}
_SA_PREFIX = "system:serviceaccount:"
DECISION = "authorization.k8s.io/decision"
REASON = "authorization.k8s.io/reason"
TRUNCATED = "audit.k8s.io/truncated"


class Origin:
    """Where an Event came from: file, the chain of wrappers, and what the wrappers told us."""

    __slots__ = ("chain", "cluster", "file", "keep_objects", "time", "truncated")

    def __init__(self, file: str, *, cluster: str | None = None, keep_objects: bool = True,
                 chain: str = "", truncated: bool = False, time: str | None = None) -> None:
        self.file = file
        self.chain = chain
        self.cluster = cluster
        self.truncated = truncated
        self.time = time
        self.keep_objects = keep_objects

    @property
    def wrapper(self) -> str:
        return self.chain or "event"

    def inner(self, name: str, *, cluster: str | None = None, truncated: bool = False,
              time: str | None = None) -> Origin:
        """The origin of what a wrapper named ``name`` holds (its facts added to ours)."""
        return Origin(
            self.file, cluster=cluster or self.cluster, keep_objects=self.keep_objects,
            chain=f"{self.chain}/{name}" if self.chain else name,
            truncated=truncated or self.truncated, time=time or self.time,
        )


def json_text(value: Any) -> str:
    """A JSON value as compact text (stdlib fallback for what orjson refuses, e.g. huge ints)."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def service_account(username: Any) -> tuple[str | None, str | None]:
    """``system:serviceaccount:NS:NAME`` → (NS, NAME); anything else → (None, None)."""
    if type(username) is str and username.startswith(_SA_PREFIX):
        parts = username.split(":")
        if len(parts) == 4 and parts[2] and parts[3]:
            return parts[2], parts[3]
    return None, None


def is_event(d: dict[str, Any]) -> bool:
    """Cheap check: a (v1, v1beta1, v1alpha1 or kind-less) audit Event, not a ViaQ record."""
    kind = d.get("kind", None)
    if kind is None:
        if not ("auditID" in d or ("verb" in d and "requestURI" in d)):
            return False
    elif kind != "Event":
        return False
    return "k8s_audit_level" not in d and "log_type" not in d


def event_row(ev: dict[str, Any], o: Origin, line: int) -> tuple[Any, ...]:
    """The raw row of one Event. Raises AttributeError/TypeError when a field has the wrong JSON
    type (e.g. ``"user": 5``); the caller rejects the Event with :func:`why_malformed`."""
    g = ev.get
    u = g("user") or _EMPTY
    ref = g("objectRef") or _EMPTY
    rs = g("responseStatus") or _EMPTY
    ann = g("annotations")
    a = ann or _EMPTY
    imp = g("impersonatedUser") or _EMPTY
    username = u.get("username")
    sa_ns = sa_name = None
    if username and username.startswith(_SA_PREFIX):
        sa_ns, sa_name = service_account(username)
    group = ref.get("apiGroup")
    version = ref.get("apiVersion")
    if group is None and version and "/" in version:  # v1alpha1: apiVersion is "group/version"
        group, _, version = version.rpartition("/")
    stage_time = g("stageTimestamp")
    alt_time = None if stage_time else (
        g("timestamp") or g("requestReceivedTimestamp") or o.time)
    req = resp = None
    if o.keep_objects:
        req = g("requestObject")
        if req is not None:
            req = json_text(req)
        resp = g("responseObject")
        if resp is not None:
            resp = json_text(resp)
    return (
        stage_time, alt_time, g("requestReceivedTimestamp"), g("auditID"), g("stage"),
        g("level"), g("verb"), g("requestURI"),
        username, u.get("uid"), u.get("groups"), u.get("extra"),
        imp.get("username"), imp.get("groups"), sa_ns, sa_name,
        g("sourceIPs"), g("userAgent"),
        group, version, ref.get("resource"), ref.get("subresource"), ref.get("namespace"),
        ref.get("name"), ref.get("uid"),
        rs.get("code"), rs.get("status"), rs.get("reason"), rs.get("message"),
        a.get(DECISION), a.get(REASON), ann, req, resp,
        o.cluster, o.chain or "event", o.file, line,
        o.truncated or a.get(TRUNCATED) == "true",
    )


_OBJECT_FIELDS = ("user", "impersonatedUser", "objectRef", "responseStatus", "annotations")


def why_malformed(ev: dict[str, Any]) -> str:
    """A one-sentence reason why :func:`event_row` could not read this Event."""
    for key in _OBJECT_FIELDS:
        value = ev.get(key)
        if value is not None and not isinstance(value, dict):
            return f"malformed audit Event: {key} is a JSON {type(value).__name__}, not an object"
    for key in ("username",):
        value = (ev.get("user") or {}).get(key)
        if value is not None and not isinstance(value, str):
            return f"malformed audit Event: user.{key} is not a string"
    return "malformed audit Event: a field has an unexpected JSON type"


def row_from_fields(fields: dict[str, Any], o: Origin, line: int) -> tuple[Any, ...]:
    """A raw row from named values, for forms that are not an Event (GKE entries, legacy text).

    Provenance (cluster, wrapper, file, line, truncated) comes from ``o``; other missing names are
    null. Slower than :func:`event_row`, which is fine for these rarer forms."""
    values = dict(fields)
    if values.get("cluster") is None:
        values["cluster"] = o.cluster
    values["wrapper"] = o.chain or "event"
    values["file"] = o.file
    values["line"] = line
    values["truncated"] = bool(values.get("truncated")) or o.truncated
    if values.get("stage_time") is None and values.get("alt_time") is None:
        values["alt_time"] = o.time
    return tuple(values.get(f) for f in RAW_FIELDS)
