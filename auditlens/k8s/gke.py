"""GKE Cloud Audit Log entries (``protoPayload`` of type google.cloud.audit.AuditLog) → raw rows.

GKE does not log Kubernetes Events; it logs a Cloud Audit Log entry per request. How its fields
map (see docs/k8s-formats.md):

- user ← ``authenticationInfo.principalEmail``; source_ips ← [``requestMetadata.callerIp``];
  user_agent ← ``requestMetadata.callerSuppliedUserAgent``
- verb ← last part of ``methodName`` (``io.k8s.core.v1.pods.exec.create`` → create)
- api_group/api_version/namespace/resource/name/subresource ← ``resourceName``
  (``core/v1/namespaces/NS/pods/NAME/exec…``; group ``core`` is the core group → null, as in Events)
- audit_id ← ``operation.id``; annotations ← entry ``labels`` (they carry the
  ``authorization.k8s.io/*`` annotations); decision ← that label, else ``authorizationInfo[].granted``
- response: ``status`` is a google.rpc.Status. response_code is the HTTP code google/rpc/code.proto
  documents for its ``code`` (absent = OK = 200) except UNKNOWN, which GKE writes for upgraded
  connections (exec, attach) and which therefore gives null; response_reason is the code's name.
- stage, level, request_uri, request_received: not in the entry → null.

Two spellings are read: the LogEntry JSON (``gcloud logging read --format=json``, sinks) and the
Go logging client's ``Entry`` dump (``{"Entry": {...}, "AuditPayload": "<JSON>"}``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .event import DECISION, REASON, Origin, json_text, row_from_fields, service_account

GKE_API = "k8s.io"
"""The ``serviceName`` of GKE's Kubernetes API entries; other services' entries in the same
Cloud Audit Logs are service events (the cloud reader's)."""

# google/rpc/code.proto: name and the HTTP mapping documented beside each code.
GRPC_CODES: dict[int, tuple[str, int | None]] = {
    0: ("OK", 200), 1: ("CANCELLED", 499), 2: ("UNKNOWN", None), 3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504), 5: ("NOT_FOUND", 404), 6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403), 8: ("RESOURCE_EXHAUSTED", 429), 9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409), 11: ("OUT_OF_RANGE", 400), 12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500), 14: ("UNAVAILABLE", 503), 15: ("DATA_LOSS", 500),
    16: ("UNAUTHENTICATED", 401),
}

_CAMEL = re.compile(r"_([a-z])")


def _camel(value: Any) -> Any:
    """snake_case keys (the Go client's proto dump) → camelCase (the JSON spelling), recursively."""
    if isinstance(value, dict):
        return {_CAMEL.sub(lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def parse_resource_name(name: Any) -> dict[str, str | None]:
    """``group/version/[namespaces/NS/]resource[/name[/subresource…]]`` → objectRef-like fields."""
    out: dict[str, str | None] = {}
    if not isinstance(name, str) or name.count("/") < 2:
        return out
    parts = name.split("/")
    group, version, rest = parts[0], parts[1], parts[2:]
    out["api_group"] = None if group == "core" else group
    out["api_version"] = version
    if rest[0] == "namespaces" and len(rest) >= 3:
        out["namespace"] = rest[1]
        rest = rest[2:]
    out["resource"] = rest[0] or None
    if len(rest) > 1:
        out["name"] = rest[1]
        if rest[0] == "namespaces" and len(rest) == 2:  # a namespace is in itself, as in Events
            out["namespace"] = rest[1]
    if len(rest) > 2:
        out["subresource"] = rest[2]
    return out


def _decision(labels: dict[str, Any], payload: dict[str, Any]) -> str | None:
    if DECISION in labels:
        return labels[DECISION]
    infos = payload.get("authorizationInfo")
    if not isinstance(infos, list) or not infos:
        return None
    return "allow" if all(isinstance(i, dict) and i.get("granted") for i in infos) else "forbid"


def gke_fields(payload: dict[str, Any], labels: dict[str, Any] | None,
               operation: dict[str, Any] | None, keep_objects: bool) -> dict[str, Any]:
    """Raw-row fields of one AuditLog payload (camelCase) and its entry's labels/operation."""
    labels = labels or {}
    auth = payload.get("authenticationInfo") or {}
    meta = payload.get("requestMetadata") or {}
    status = payload.get("status") or {}
    code = status.get("code", 0) or 0
    code_name, http = GRPC_CODES.get(code, (str(code), None))
    user = auth.get("principalEmail")
    method = payload.get("methodName")
    ip = meta.get("callerIp")
    fields: dict[str, Any] = {
        "audit_id": (operation or {}).get("id"),
        "verb": method.rpartition(".")[2] if isinstance(method, str) else None,
        "user": user,
        "source_ips": [ip] if ip else None,
        "user_agent": meta.get("callerSuppliedUserAgent"),
        "response_code": http,
        "response_status": "Success" if code == 0 else "Failure",
        "response_reason": None if code == 0 else code_name,
        "response_message": status.get("message"),
        "decision": _decision(labels, payload),
        "reason": labels.get(REASON),
        "annotations": {str(k): str(v) for k, v in labels.items()} or None,
    }
    fields["service_account_namespace"], fields["service_account_name"] = service_account(user)
    fields.update(parse_resource_name(payload.get("resourceName")))
    if keep_objects:
        for key, col in (("request", "request_object"), ("response", "response_object")):
            if payload.get(key) is not None:
                fields[col] = json_text(payload[key])
    return fields


def gke_log_entry_row(entry: dict[str, Any], o: Origin, line: int) -> tuple[Any, ...]:
    """A LogEntry JSON object with ``protoPayload``."""
    fields = gke_fields(entry["protoPayload"], entry.get("labels"), entry.get("operation"),
                        o.keep_objects)
    if fields["audit_id"] is None:
        fields["audit_id"] = entry.get("insertId")
    fields["alt_time"] = entry.get("timestamp") or entry.get("receiveTimestamp")
    fields["cluster"] = ((entry.get("resource") or {}).get("labels") or {}).get("cluster_name")
    return row_from_fields(fields, o, line)


def gke_entry_dump_row(dump: dict[str, Any], o: Origin, line: int) -> tuple[Any, ...]:
    """The Go logging client's dump: ``Entry`` (Go field names) plus ``AuditPayload`` JSON text."""
    entry = dump.get("Entry") or {}
    text = dump.get("AuditPayload")
    payload = orjson.loads(text) if isinstance(text, (str, bytes)) else _camel(entry.get("Payload"))
    if not isinstance(payload, dict):
        raise TypeError("GKE entry without an AuditLog payload")
    fields = gke_fields(payload, entry.get("Labels"), entry.get("Operation"), o.keep_objects)
    if fields["audit_id"] is None:
        fields["audit_id"] = entry.get("InsertID")
    fields["alt_time"] = entry.get("Timestamp")
    fields["cluster"] = ((entry.get("Resource") or {}).get("labels") or {}).get("cluster_name")
    return row_from_fields(fields, o, line)
