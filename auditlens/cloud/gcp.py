"""GCP Cloud Audit Logs entries as ``cloud_events`` rows.

A LogEntry is ours when its ``protoPayload`` is an ``AuditLog``. Those whose ``serviceName`` is
``k8s.io`` are GKE's Kubernetes API audit entries: the Kubernetes reader's (a file of them
alone is detected as Kubernetes). In a file that mixes them with service entries (a Cloud
Storage sink of ``cloudaudit.googleapis.com/activity`` holds every service's), each becomes a
reject saying so rather than vanishing: nothing read is left unaccounted. Containers: one
LogEntry (a JSON line of a Cloud Storage sink, an element of a ``gcloud logging read
--format=json`` array) and the ``{"entries": [...]}`` answer of ``entries.list``.

Why the choices below (docs/cloud-formats.md says the same for users):

- ``outcome`` is ``denied`` for status 7 (PERMISSION_DENIED) and 16 (UNAUTHENTICATED) and when
  an ``authorizationInfo`` entry says ``granted: false``; another non-zero code is ``failure``.
- ``acting_for`` is the first authority of ``serviceAccountDelegationInfo`` (the API keeps the
  delegation chain in order, the original caller first): the person who impersonated the
  service account that acted.
- ``credential`` is ``service-account-key`` (a key was used: ``serviceAccountKeyName``),
  ``impersonation`` (delegation info present), ``oauth`` (``oauthInfo``), else null: the
  AuditLog says no more.
- ``target`` is the last segment of ``resourceName`` (``clusters/prod`` → ``prod``),
  ``target_id`` the whole of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .providers import Event, Provider, mapping, register, text

AUDIT_LOG = "type.googleapis.com/google.cloud.audit.AuditLog"
_DENIED_CODES = frozenset({7, 16})
_CLUSTER_TYPES = frozenset({"gke_cluster", "k8s_cluster"})


def _is_ours(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    payload = value.get("protoPayload")
    return isinstance(payload, dict) and payload.get("@type") == AUDIT_LOG


def unwrap(value: Any) -> Iterable[Event] | None:
    """Audit entries in ``value``: one LogEntry, or ``entries`` of a list answer (a list with
    at least one service entry: one of GKE's entries alone is the Kubernetes reader's).

    A one-event value comes back as the 1-tuple ``(value,)``: the reader then keeps the line
    itself as ``raw`` instead of encoding the event again.
    """
    if _is_ours(value):
        return (value,)
    if isinstance(value, dict):
        entries = value.get("entries")
        if isinstance(entries, list) and any(_is_ours(e) and not _is_gke(e) for e in entries):
            return entries
    return None


def _is_gke(entry: Mapping[str, Any]) -> bool:
    payload = entry.get("protoPayload")
    return isinstance(payload, dict) and payload.get("serviceName") == GKE_API


GKE_API = "k8s.io"
"""The ``serviceName`` of GKE's Kubernetes API audit entries (the Kubernetes reader's)."""




def _account(labels: Mapping[str, Any], log_name: Any) -> Any:
    project = labels.get("project_id")
    if project is not None or not isinstance(log_name, str):
        return project
    # projects/P/logs/..., or organizations/O, folders/F, billingAccounts/B
    parent, _, rest = log_name.partition("/")
    name = rest.partition("/")[0]
    if not name:
        return None
    return name if parent == "projects" else f"{parent}/{name}"


def _cluster(resource_type: Any, labels: Mapping[str, Any], resource_name: str | None) -> Any:
    if resource_type in _CLUSTER_TYPES and labels.get("cluster_name"):
        return labels["cluster_name"]
    if resource_name is not None:
        at = resource_name.find("/clusters/")
        if at >= 0:
            return resource_name[at + 10:].partition("/")[0] or None
    return None


def row(event: Event) -> dict[str, Any]:
    """The ``cloud_events`` columns of one Cloud Audit Logs entry."""
    if not isinstance(event, dict):
        raise TypeError(f"an event is {type(event).__name__}, not an object")
    time = text(event, "timestamp", "timestamp")
    payload = mapping(event["protoPayload"], "protoPayload")
    service = text(payload, "serviceName", "protoPayload.serviceName")
    if service == GKE_API:
        raise ValueError("a GKE Kubernetes API audit entry (serviceName k8s.io), in a file of "
                         "service events: the Kubernetes reader reads these; keep them in "
                         "files of their own (e.g. a sink filtered on protoPayload.serviceName)")
    method = text(payload, "methodName", "protoPayload.methodName")
    resource = mapping(event.get("resource"), "resource")
    labels = mapping(resource.get("labels"), "resource.labels")
    auth = mapping(payload.get("authenticationInfo"), "authenticationInfo")
    request = mapping(payload.get("requestMetadata"), "requestMetadata")
    status = mapping(payload.get("status"), "status")

    email = auth.get("principalEmail")
    subject = auth.get("principalSubject")
    actor = email or subject
    if isinstance(email, str):
        kind = "service-id" if email.endswith(".gserviceaccount.com") else "user"
    elif isinstance(subject, str):
        kind = "service-id" if subject.startswith("serviceAccount:") else "user"
    else:
        kind = "unknown"

    acting_for = None
    credential = None
    delegation = auth.get("serviceAccountDelegationInfo")
    if delegation:
        if not isinstance(delegation, list):
            raise TypeError("serviceAccountDelegationInfo is not a list")
        first = mapping(delegation[0], "serviceAccountDelegationInfo[0]")
        party = mapping(first.get("firstPartyPrincipal"), "firstPartyPrincipal")
        acting_for = party.get("principalEmail") or first.get("principalSubject")
        credential = "impersonation"
    if auth.get("serviceAccountKeyName"):
        credential = "service-account-key"
    elif credential is None and auth.get("oauthInfo"):
        credential = "oauth"

    resource_name = payload.get("resourceName")
    if resource_name is not None and not isinstance(resource_name, str):
        raise TypeError("protoPayload.resourceName is not a string")
    target = resource_name.rpartition("/")[2] if resource_name else None

    code = status.get("code") or 0
    if not isinstance(code, int):
        raise TypeError(f"status.code is {type(code).__name__}, not an integer")
    if code in _DENIED_CODES:
        outcome = "denied"
    elif code:
        outcome = "failure"
    else:
        outcome = "success"
    grants = payload.get("authorizationInfo")
    if grants and outcome != "denied":
        if not isinstance(grants, list):
            raise TypeError("authorizationInfo is not a list")
        for grant in grants:
            if isinstance(grant, dict) and grant.get("granted") is False:
                outcome = "denied"
                break

    region = labels.get("location") or labels.get("zone") or labels.get("region")
    if region is None:
        location = mapping(payload.get("resourceLocation"), "resourceLocation")
        current = location.get("currentLocations")
        if isinstance(current, list) and current:
            region = current[0]

    operation = mapping(event.get("operation"), "operation")
    return {
        "time": time,
        "provider": "gcp",
        "service": service,
        "account": _account(labels, event.get("logName")),
        "region": region,
        "action": method,
        "actor": actor,
        "actor_id": subject or email,
        "actor_kind": kind,
        "acting_for": acting_for,
        "credential": credential,
        "target": target,
        "target_id": resource_name,
        "target_kind": resource.get("type"),
        "cluster": _cluster(resource.get("type"), labels, resource_name),
        "outcome": outcome,
        "reason_code": str(code) if code else None,
        "reason": status.get("message"),
        "severity": event.get("severity"),
        "message": None,
        "origin": request.get("callerIp"),
        "user_agent": request.get("callerSuppliedUserAgent"),
        "correlation_id": operation.get("id") or event.get("insertId"),
    }


PROVIDER = register(Provider("gcp", unwrap, row))
