"""AWS CloudTrail records as ``cloud_events`` rows.

Containers: a CloudTrail log file (``{"Records": [...]}``), one record per line (CloudTrail Lake
and most SIEM exports), the EventBridge envelope (``{"detail-type": "AWS API Call via
CloudTrail", "detail": {...}}``), and a trail sent to CloudWatch Logs (a subscription payload
``{"logGroup", "logEvents": [...]}`` or ``aws logs filter-log-events`` output ``{"events":
[...]}``, each ``message`` a record as JSON text). S3 event notifications also carry
``Records`` but are not CloudTrail (``eventSource`` ``aws:s3``): they are left alone, and so
are CloudWatch Logs events of anything else (EKS control-plane logs: the Kubernetes reader's).

Why the choices below (docs/cloud-formats.md says the same for users):

- ``actor`` of an assumed role is ``ROLE/SESSION`` (from the ``assumed-role`` ARN): the role
  says what power was used, the session name is usually who used it (SSO sessions are named
  after the person), and neither alone answers "who".
- ``acting_for`` is the person behind the actor only when the record says so:
  ``sessionContext.sourceIdentity``, ``onBehalfOf.userId`` (Identity Center, trusted identity
  propagation), or the session name of an IAM Identity Center role (``AWSReservedSSO_*``).
- ``credential`` is what the record shows: ``access-key`` (long-term ``AKIA`` key),
  ``session-token`` (temporary ``ASIA`` key of a user, e.g. a console session),
  ``assumed-role``, ``federation-token``, ``identity-center``, ``console-password`` (a
  ``ConsoleLogin`` by a user or root), ``aws-service``; else null.
- ``message`` says what an EKS request does to the control-plane logs (``control-plane logs
  enabled: api; disabled: audit``, from ``requestParameters.logging.clusterLogging``): the
  audit trail tells a cluster's audit log turned off by it.
- ``origin`` is ``sourceIPAddress`` as logged: for calls AWS makes itself it is a service name
  (``eks.amazonaws.com``), which is still the true answer to "where from".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .providers import Event, Provider, mapping, register, text

_DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
    "Client.UnauthorizedOperation", "UnauthorizedAccess", "Unauthorized",
})
_KIND = {
    "IAMUser": "user", "Root": "user", "FederatedUser": "user", "IdentityCenterUser": "user",
    "SAMLUser": "user", "WebIdentityUser": "user", "AssumedRole": "role",
    "AWSService": "service", "AWSAccount": "unknown", "Unknown": "unknown",
}
_CREDENTIAL = {
    "AssumedRole": "assumed-role", "FederatedUser": "federation-token",
    "IdentityCenterUser": "identity-center", "AWSService": "aws-service",
}
# requestParameters members that name the target, in the order they are preferred
_TARGET_NAMES = ("clusterName", "name", "trailName", "roleName", "userName", "groupName",
                 "policyArn", "bucketName", "functionName", "instanceId")
_EMPTY: Mapping[str, Any] = {}


def _is_record(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    source = value.get("eventSource")
    return isinstance(source, str) and source.endswith(".amazonaws.com") and "eventName" in value


def _from_cloudwatch(items: list[Any]) -> list[Any] | None:
    """The records of CloudWatch Logs events whose ``message`` is a CloudTrail record (a trail
    sent to a log group), or ``None`` when the first is not (EKS control-plane logs, say).

    A message that is not a JSON object is handed on as it is: ``row`` rejects it."""
    events: list[Any] = []
    for item in items:
        message = item.get("message") if isinstance(item, dict) else item
        try:
            events.append(json.loads(message) if isinstance(message, str) else message)
        except ValueError:
            events.append(message)
        if len(events) == 1 and not _is_record(events[0]):
            return None
    return events or None


def unwrap(value: Any) -> Iterable[Event] | None:
    """CloudTrail records in ``value``: a log file's ``Records``, an EventBridge envelope, or one.

    A one-event value comes back as the 1-tuple ``(value,)``: the reader then keeps the line
    itself as ``raw`` instead of encoding the event again.
    """
    if not isinstance(value, dict):
        return None
    records = value.get("Records")
    if isinstance(records, list):
        # one good record is enough: a malformed one among them becomes the reader's reject
        if not records or any(_is_record(record) for record in records):
            return records
        return None
    for key in ("logEvents", "events"):  # CloudWatch Logs: a subscription payload, an export
        items = value.get(key)
        if isinstance(items, list):
            return _from_cloudwatch(items)
    detail = value.get("detail")
    if isinstance(detail, dict):
        kind = value.get("detail-type")
        if isinstance(kind, str) and kind.endswith("via CloudTrail"):
            return (detail,)
        return None
    return (value,) if _is_record(value) else None




def _logging_summary(params: Mapping[str, Any]) -> str | None:
    """``control-plane logs enabled: api, audit; disabled: scheduler`` from an EKS request's
    ``logging.clusterLogging`` (``[{"types": [...], "enabled": bool}]``, CreateCluster and
    UpdateClusterConfig): what the audit trail needs to tell a removal of the cluster's audit
    log from another logging change; None when the request sets no logging."""
    logging = params.get("logging")
    setups = logging.get("clusterLogging") if isinstance(logging, dict) else None
    if not isinstance(setups, list):
        return None
    said: dict[bool, list[str]] = {True: [], False: []}
    for setup in setups:
        if isinstance(setup, dict) and isinstance(setup.get("enabled"), bool) \
                and isinstance(setup.get("types"), list):
            said[setup["enabled"]].extend(t for t in setup["types"] if isinstance(t, str))
    parts = [f"{word}: {', '.join(said[on])}" for on, word in ((True, "enabled"), (False, "disabled"))
             if said[on]]
    return "control-plane logs " + "; ".join(parts) if parts else None


def row(event: Event) -> dict[str, Any]:
    """The ``cloud_events`` columns of one CloudTrail record."""
    if not isinstance(event, dict):
        raise TypeError(f"an event is {type(event).__name__}, not an object")
    time = text(event, "eventTime")
    source = text(event, "eventSource")
    name = text(event, "eventName")
    who = mapping(event.get("userIdentity"), "userIdentity")
    params = mapping(event.get("requestParameters"), "requestParameters")
    kind = who.get("type")
    arn = who.get("arn")
    context = mapping(who.get("sessionContext"), "userIdentity.sessionContext")
    on_behalf = mapping(who.get("onBehalfOf"), "userIdentity.onBehalfOf")

    acting_for = context.get("sourceIdentity") or on_behalf.get("userId")
    actor: Any
    if kind == "AssumedRole" and isinstance(arn, str) and ":assumed-role/" in arn:
        actor = arn.partition(":assumed-role/")[2]  # ROLE/SESSION
        if acting_for is None and actor.startswith("AWSReservedSSO_"):
            acting_for = actor.partition("/")[2] or None
    elif kind == "Root":
        actor = who.get("userName") or "root"
    else:
        actor = (who.get("userName") or arn or who.get("principalId") or who.get("invokedBy")
                 or on_behalf.get("userId"))

    credential = _CREDENTIAL.get(kind) if isinstance(kind, str) else None
    if name == "ConsoleLogin" and kind in ("IAMUser", "Root"):
        credential = "console-password"
    elif credential is None:
        key = who.get("accessKeyId")
        if isinstance(key, str):
            if key.startswith("AKIA"):
                credential = "access-key"
            elif key.startswith("ASIA"):
                credential = "session-token"

    resources = event.get("resources")
    first: Mapping[str, Any] = _EMPTY
    if resources is not None:
        if not isinstance(resources, list):
            raise TypeError(f"resources is {type(resources).__name__}, not a list")
        if resources:
            first = mapping(resources[0], "resources[0]")
    target_id = first.get("ARN")
    target = None
    for key in _TARGET_NAMES:
        value = params.get(key)
        if isinstance(value, str):
            target = value
            break
    if target is None:
        target = target_id
    elif target.startswith("arn:"):  # a name given as an ARN: trail/org-management
        if target_id is None:
            target_id = target
        target = target.rpartition("/")[2] or target

    cluster = message = None
    if source == "eks.amazonaws.com":
        cluster = params.get("clusterName") or params.get("name")
        message = _logging_summary(params)

    error = event.get("errorCode")
    if error is not None:
        if not isinstance(error, str):
            raise TypeError(f"errorCode is {type(error).__name__}, not a string")
        denied = error in _DENIED or "Unauthorized" in error or error.startswith("AccessDenied")
        outcome = "denied" if denied else "failure"
    elif name == "ConsoleLogin" and mapping(
            event.get("responseElements"), "responseElements").get("ConsoleLogin") == "Failure":
        outcome = "failure"
    else:
        outcome = "success"

    return {
        "time": time,
        "provider": "aws",
        "service": source,
        "account": event.get("recipientAccountId") or who.get("accountId"),
        "region": event.get("awsRegion"),
        "action": source.partition(".")[0] + ":" + name,
        "actor": actor,
        "actor_id": arn or who.get("principalId"),
        "actor_kind": _KIND.get(kind, "unknown") if isinstance(kind, str) else "unknown",
        "acting_for": acting_for,
        "credential": credential,
        "target": target,
        "target_id": target_id,
        "target_kind": first.get("type"),
        "cluster": cluster,
        "outcome": outcome,
        "reason_code": error,
        "reason": event.get("errorMessage"),
        "severity": None,
        "message": message,
        "origin": event.get("sourceIPAddress"),
        "user_agent": event.get("userAgent"),
        "correlation_id": event.get("requestID") or event.get("eventID"),
    }


PROVIDER = register(Provider("aws", unwrap, row))
