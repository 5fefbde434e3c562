"""Azure Activity Log events as ``cloud_events`` rows.

Two shapes of the same event:

- **resource-log form** (diagnostic settings to a storage account or event hub): ``{"records":
  [...]}`` documents or one record per line, fields ``time``, ``resourceId``, ``operationName``
  (a string, often upper case: ``MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/DELETE``),
  ``category`` (``Administrative``, or the operation type ``Write``/``Delete``/``Action``;
  ``Policy``, ``Security``…), ``resultType``, ``resultSignature``, ``callerIpAddress``,
  ``correlationId``, ``identity`` (``authorization``, ``claims``), ``level``, ``properties``;
- **REST/Portal form** (``az monitor activity-log list``, the Portal's JSON download, the REST
  API's ``{"value": [...]}``): ``eventTimestamp``, ``caller``, ``claims``, ``authorization``,
  ``operationName.value``, ``status.value``, ``subStatus.value``, ``httpRequest``,
  ``subscriptionId``.

Resource logs of AKS (``kube-audit``, ``kube-audit-admin``, other AKS categories) share the
first shape but are the Kubernetes API audit log: the Kubernetes reader owns them, ``unwrap``
answers ``None``. So it does for resource logs of other services (Key Vault ``AuditEvent``…).

Why the choices below (docs/cloud-formats.md says the same for users):

- Names are kept as logged (upper case in the resource-log form): ``action``, ``service``,
  ``target`` and ``cluster`` compare case-insensitively, as Azure itself treats them.
- Azure logs a write/delete/action twice, ``Start`` then ``Success``/``Failure``, with one
  ``correlationId``: each is a row; ``Start``/``Accepted`` are ``pending``. The provider is
  stateless: pairing them is the report's business (same ``correlation_id``).
- ``denied`` when the sub-status or status code is ``Forbidden``/``Unauthorized``/``401``/
  ``403``, the status message names ``AuthorizationFailed``, or Policy denied the request.
- ``actor_kind`` is ``service-id`` for an application (``idtyp`` ``app``, or ``appid`` without
  a ``upn``), else ``user`` when a person's claims are there; ``credential`` is
  ``managed-identity``, ``client-secret``, ``certificate`` (``appidacr`` 1/2) for an
  application, ``mfa``/``password`` (``amr``) for a person.
- ``reason`` is the error message inside ``properties.statusMessage`` (a JSON string);
  ``message`` the REST form's ``description`` when it is one short line (the resource-log
  form's ``properties.message`` only repeats the operation name).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .providers import Event, Provider, mapping, register

_ACTIVITY_CATEGORIES = frozenset({
    "Administrative", "Write", "Delete", "Action", "ServiceHealth", "ResourceHealth", "Alert",
    "Autoscale", "Recommendation", "Security", "Policy",
})
_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_AMR = "http://schemas.microsoft.com/claims/authnmethodsreferences"
_OUTCOME = {
    "success": "success", "succeeded": "success", "failure": "failure", "failed": "failure",
    "start": "pending", "started": "pending", "accept": "pending", "accepted": "pending",
}
_APP_CREDENTIAL: Mapping[Any, str] = {"1": "client-secret", "2": "certificate"}
_DENIED = frozenset({"forbidden", "unauthorized", "401", "403", "authorizationfailed"})
_SHORT = 200  # a description longer than this is not a one-line message


def _is_ours(value: Any) -> bool:
    if not isinstance(value, dict) or "operationName" not in value:
        return False
    category = value.get("category")
    if isinstance(category, str):  # resource-log form
        return category in _ACTIVITY_CATEGORIES and "resourceId" in value
    if isinstance(category, dict):  # REST form: {"value": "Administrative", ...}
        return "eventDataId" in value or "eventTimestamp" in value
    return False


def unwrap(value: Any) -> Iterable[Event] | None:
    """Activity Log events in ``value``: ``records``/``value`` of a document, or one event.

    A one-event value comes back as the 1-tuple ``(value,)``: the reader then keeps the line
    itself as ``raw`` instead of encoding the event again.
    """
    if not isinstance(value, dict):
        return None
    for key in ("records", "value"):
        items = value.get(key)
        if isinstance(items, list):
            ours = [item for item in items if _is_ours(item)]
            return ours or None
    return (value,) if _is_ours(value) else None



def _value(event: Event, key: str) -> Any:
    """A REST-form ``{"value": ..., "localizedValue": ...}`` member's value, or a plain one."""
    field = event.get(key)
    return field.get("value") if isinstance(field, dict) else field


def _resource(resource_id: str) -> tuple[Any, Any, Any, Any]:
    """(subscription, kind, name, cluster) of an ARM resource id."""
    parts = resource_id.split("/")
    lower = resource_id.lower().split("/")
    # a GUID: lower case, so that both forms (the resource-log form is upper case) agree
    subscription = lower[2] if len(parts) > 2 and lower[1] == "subscriptions" else None
    cluster = None
    if "managedclusters" in lower:
        at = lower.index("managedclusters")
        cluster = parts[at + 1] if at + 1 < len(parts) else None
    kind = None
    if "providers" in lower:
        at = len(lower) - 1 - lower[::-1].index("providers")  # the innermost provider
        rest = parts[at + 1:]
        if len(rest) >= 2:
            kind = "/".join([rest[0], *rest[1::2]])
    name = (parts[-1] or None) if len(parts) > 3 else None
    return subscription, kind, name, cluster


def _error_message(status_message: Any) -> Any:
    """The message inside ``statusMessage`` (``{"error": {"code", "message"}}`` as a string)."""
    if not isinstance(status_message, str) or not status_message.startswith("{"):
        return status_message
    try:
        parsed = json.loads(status_message)
    except ValueError:
        return status_message
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return status_message


def row(event: Event) -> dict[str, Any]:
    """The ``cloud_events`` columns of one Activity Log event (either form)."""
    if not isinstance(event, dict):
        raise TypeError(f"an event is {type(event).__name__}, not an object")
    time = event.get("time") or event.get("eventTimestamp")
    if time is None:
        raise KeyError("time")
    if not isinstance(time, str):
        raise TypeError(f"time is {type(time).__name__}, not a string")
    operation = _value(event, "operationName")
    if not isinstance(operation, str):
        raise TypeError("operationName is not a string")
    identity = mapping(event.get("identity"), "identity")
    claims = mapping(identity.get("claims") or event.get("claims"), "claims")
    properties = mapping(event.get("properties"), "properties")
    http = mapping(event.get("httpRequest"), "httpRequest")

    resource_id = event.get("resourceId")
    if resource_id is None:
        subscription = kind = target = cluster = None
    elif isinstance(resource_id, str):
        subscription, kind, target, cluster = _resource(resource_id)
    else:
        raise TypeError("resourceId is not a string")

    upn = claims.get(_UPN) or claims.get("upn")
    appid = claims.get("appid")
    actor = upn or event.get("caller") or claims.get(_NAME) or claims.get("name") or appid
    if claims.get("idtyp") == "app" or (appid and not upn):
        actor_kind = "service-id"
        if claims.get("xms_mirid"):
            credential: Any = "managed-identity"
        else:
            credential = _APP_CREDENTIAL.get(claims.get("appidacr"))
    elif upn or claims.get(_OID):
        actor_kind = "user"
        methods = claims.get(_AMR) or claims.get("amr") or ""
        methods = " ".join(methods) if isinstance(methods, list) else str(methods)
        credential = "mfa" if "mfa" in methods else "password" if "pwd" in methods else None
    else:
        actor_kind = "unknown"
        credential = None

    status = event.get("resultType") or _value(event, "status")
    sub_status = event.get("resultSignature") or _value(event, "subStatus")
    status_code = properties.get("statusCode")
    status_message = properties.get("statusMessage")
    outcome = _OUTCOME.get(status.lower()) if isinstance(status, str) else None
    if outcome == "failure" or outcome is None:
        signs = {str(sub_status).lower(), str(sub_status).rpartition(".")[2].lower(),
                 str(status_code).lower()}
        if (signs & _DENIED
                or (isinstance(status_message, str) and "AuthorizationFailed" in status_message)
                or operation.lower() == "microsoft.authorization/policies/deny/action"):
            outcome = "denied"

    description = event.get("description")
    message = (description if isinstance(description, str) and description
               and len(description) <= _SHORT and "\n" not in description else None)
    return {
        "time": time,
        "provider": "azure",
        "service": operation.partition("/")[0],
        "account": subscription or event.get("subscriptionId"),
        "region": event.get("location"),
        "action": operation,
        "actor": actor,
        "actor_id": claims.get(_OID) or claims.get("oid"),
        "actor_kind": actor_kind,
        "acting_for": None,
        "credential": credential,
        "target": target,
        "target_id": resource_id,
        "target_kind": kind,
        "cluster": cluster,
        "outcome": outcome,
        "reason_code": sub_status or status_code,
        "reason": _error_message(status_message) if outcome in ("failure", "denied") else None,
        "severity": _value(event, "level"),
        "message": message,
        "origin": event.get("callerIpAddress") or http.get("clientIpAddress"),
        "user_agent": None,
        "correlation_id": event.get("correlationId"),
    }


PROVIDER = register(Provider("azure", unwrap, row))
