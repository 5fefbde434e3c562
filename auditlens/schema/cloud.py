"""The service-layer table: one row per cloud control-plane audit event.

What people did to clusters through the cloud provider (create or delete a cluster, reboot a
worker, download an admin kubeconfig, change the audit webhook), as IBM Cloud Activity Tracker
(CADF), AWS CloudTrail, GCP Cloud Audit Logs (non-``k8s.io`` entries) and the Azure Activity Log
record it. Columns use the vocabulary of the other tables; ``source`` names the field of each
provider (IBM / AWS / GCP / Azure) a column comes from. Field facts: docs/cloud-formats.md.
"""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema

_str = pa.string()

CLOUD_EVENTS = TableSchema(
    "cloud_events",
    "One row per service (cloud control-plane) audit event, whatever the provider and wrapper.",
    (
        Column("time", TIME, "When the event happened (UTC, µs).",
               "eventTime / eventTime / timestamp / time"),
        Column("provider", _str, "Who logged it: ibm, aws, gcp or azure.", "derived"),
        Column("service", _str, "The cloud service acted on, e.g. containers-kubernetes, "
               "eks.amazonaws.com, container.googleapis.com, Microsoft.ContainerService.",
               "action prefix / eventSource / serviceName / operationName prefix"),
        Column("account", _str, "Account, project or subscription the event belongs to.",
               "target CRN account / recipientAccountId / resource project / subscriptionId"),
        Column("region", _str, "Region or location, when logged.",
               "CRN region / awsRegion / resource location / resourceId location"),
        Column("action", _str, "What was done, in the provider's words: "
               "containers-kubernetes.cluster.delete, eks:DeleteCluster, "
               "google.container.v1.ClusterManager.DeleteCluster, "
               "Microsoft.ContainerService/managedClusters/delete.",
               "action / eventSource:eventName / methodName / operationName"),
        Column("actor", _str, "Who acted: e-mail, user name, role or service name (else its id).",
               "initiator.name / userIdentity / principalEmail / caller"),
        Column("actor_id", _str, "The actor's stable id: IAM id, ARN, principal, object id.",
               "initiator.id / userIdentity.arn / principalSubject / claims oid"),
        Column("actor_kind", _str, "user, service-id, role, service or unknown.",
               "initiator.typeURI / userIdentity.type / principal form / claims"),
        Column("acting_for", _str, "The person behind the actor when the event says so: who "
               "authenticated for a service, who assumed a role.",
               "initiator.authnName / sessionIssuer + sourceIdentity / delegationInfo / claims"),
        Column("credential", _str, "How the actor authenticated: token, apikey, user, "
               "certificate, assumed-role, access-key, …", "initiator.credential.type / "
               "userIdentity.type / authenticationInfo / claims"),
        Column("target", _str, "What was acted on: its name, else its id.",
               "target.name / resources[].ARN / resourceName / resourceId"),
        Column("target_id", _str, "The target's full id (CRN, ARN, resource name or id).",
               "target.id / resources[].ARN / resourceName / resourceId"),
        Column("target_kind", _str, "The target's type, e.g. containers-kubernetes/cluster.",
               "target.typeURI / resources[].type / resource.type / resource provider type"),
        Column("cluster", _str, "The Kubernetes cluster the event is about, when it is about one "
               "(its name or id as the provider gives it).", "derived from the target"),
        Column("outcome", _str, "success, failure, denied (401/403, AccessDenied, "
               "PERMISSION_DENIED, AuthorizationFailed) or pending.",
               "outcome / errorCode / status.code / status"),
        Column("reason_code", _str, "The provider's reason or error code (HTTP status, "
               "AccessDenied, 7, AuthorizationFailed).",
               "reason.reasonCode / errorCode / status.code / subStatus"),
        Column("reason", _str, "Why it failed, in words, when logged.",
               "reason.reasonForFailure / errorMessage / status.message / properties"),
        Column("severity", _str, "normal, warning or critical (IBM), else the provider's level.",
               "severity / — / severity / level"),
        Column("message", _str, "The provider's one-line summary, when it has one.",
               "message / — / — / description"),
        Column("origin", _str, "Address the request came from.",
               "initiator.host.address / sourceIPAddress / callerIp / callerIpAddress"),
        Column("user_agent", _str, "Client that sent the request.",
               "initiator.host.agent / userAgent / callerSuppliedUserAgent / claims"),
        Column("correlation_id", _str, "Id tying the event to others of the same request.",
               "correlationId / requestID / operation.id / correlationId"),
        Column("raw", _str, "The event as logged (JSON, unwrapped): the evidence itself.", "event"),
        Column("file", _str, "Input file.", "provenance"),
        Column("line", pa.int64(), "Line number where the event starts (1-based).", "provenance"),
    ),
)
