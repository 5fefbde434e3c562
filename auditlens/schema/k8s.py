"""The Kubernetes / OpenShift API audit table: one row per logged audit Event.

Field meanings follow k8s.io/apiserver ``pkg/apis/audit/v1/types.go`` (the ``Event`` type);
``source`` names the Event field a column comes from. Wrapped inputs (AKS, EKS, GKE, ViaQ,
container logs) are unwrapped first; ``docs/k8s-formats.md`` says how each form maps.
"""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema

_str = pa.string()
_strs = pa.list_(_str)

K8S_EVENTS = TableSchema(
    "k8s_events",
    "One row per logged Kubernetes/OpenShift API audit Event, whatever the input form "
    "(no stage dedup: a request logged at RequestReceived and ResponseComplete gives two rows).",
    (
        Column("time", TIME, "When the Event was logged: stageTimestamp, else the v1beta1 "
               "timestamp, else requestReceivedTimestamp, else the wrapper's time (UTC, µs).",
               "stageTimestamp / timestamp"),
        Column("request_received", TIME, "When the API server received the request (UTC, µs).",
               "requestReceivedTimestamp"),
        Column("latency", pa.duration("us"), "time − request_received: how long the request had "
               "run when this stage was logged; null when either is missing.", "derived"),
        Column("audit_id", _str, "Unique id of the request; shared by all stages of one request.",
               "auditID"),
        Column("stage", _str, "RequestReceived, ResponseStarted, ResponseComplete or Panic; null "
               "for GKE entries.", "stage"),
        Column("level", _str, "Audit level: None, Metadata, Request or RequestResponse (ViaQ: "
               "k8s_audit_level); null for GKE entries.", "level"),
        Column("verb", _str, "Kubernetes verb (get, list, watch, create, …) or the lowercase HTTP "
               "method of a non-resource request.", "verb"),
        Column("request_uri", _str, "Request URI as sent by the client.", "requestURI"),
        Column("user", _str, "Authenticated user name.", "user.username"),
        Column("user_uid", _str, "Authenticated user's uid.", "user.uid"),
        Column("groups", _strs, "Groups of the authenticated user.", "user.groups"),
        Column("user_extra", pa.map_(_str, _strs), "Extra authenticator attributes (e.g. OpenShift "
               "scopes, service-account pod name).", "user.extra"),
        Column("impersonated_user", _str, "User the request impersonated; null when none.",
               "impersonatedUser.username"),
        Column("impersonated_groups", _strs, "Groups of the impersonated user.",
               "impersonatedUser.groups"),
        Column("service_account_namespace", _str, "Namespace of a service-account user "
               "(system:serviceaccount:NS:NAME).", "user.username"),
        Column("service_account_name", _str, "Name of a service-account user.", "user.username"),
        Column("source_ips", _strs, "Client IPs: X-Forwarded-For entries first (client-settable), "
               "the remote address last.", "sourceIPs"),
        Column("user_agent", _str, "User agent the client reported.", "userAgent"),
        Column("api_group", _str, "API group of the object; null for the core group.",
               "objectRef.apiGroup"),
        Column("api_version", _str, "API version of the object.", "objectRef.apiVersion"),
        Column("resource", _str, "Resource type (pods, secrets, clusterrolebindings, …).",
               "objectRef.resource"),
        Column("subresource", _str, "Subresource (exec, attach, status, log, …).",
               "objectRef.subresource"),
        Column("namespace", _str, "Namespace of the object.", "objectRef.namespace"),
        Column("name", _str, "Name of the object.", "objectRef.name"),
        Column("object_uid", _str, "uid of the object.", "objectRef.uid"),
        Column("response_code", pa.int32(), "HTTP status code of the response; null before the "
               "response (RequestReceived).", "responseStatus.code"),
        Column("response_status", _str, "Success or Failure, when the server said.",
               "responseStatus.status"),
        Column("response_reason", _str, "Machine-readable failure reason (Forbidden, NotFound, …).",
               "responseStatus.reason"),
        Column("response_message", _str, "Human-readable response message.",
               "responseStatus.message"),
        Column("decision", _str, "Authorization decision: allow or forbid.",
               "annotations[authorization.k8s.io/decision]"),
        Column("reason", _str, "Why the authorizer decided so (e.g. the RBAC binding).",
               "annotations[authorization.k8s.io/reason]"),
        Column("annotations", pa.map_(_str, _str), "All annotations (authorization, OpenShift "
               "authentication/SCC, pod-security, admission webhooks, …).", "annotations"),
        Column("request_object", _str, "Request body as JSON text (levels Request and above); null "
               "when not logged or when read with keep_objects=False.", "requestObject"),
        Column("response_object", _str, "Response body as JSON text (level RequestResponse).",
               "responseObject"),
        Column("cluster", _str, "Cluster name or id, from the wrapper (ViaQ, AKS, EKS, GKE, OTLP) "
               "or the reader's cluster= option.", "wrapper"),
        Column("wrapper", _str, "Input form the Event came in, outermost first, e.g. event, "
               "eventlist, cri, eventhubs/aks, eks, gke, viaq, otlp, legacy.", "reader"),
        Column("file", _str, "Input file the Event came from.", "provenance"),
        Column("line", pa.int64(), "First line of the Event (or of the JSON value holding it) in "
               "that file.", "provenance"),
        Column("truncated", pa.bool_(), "The Event is incomplete: cut by the log shipper (EKS "
               "[Truncated...]) or marked audit.k8s.io/truncated by the API server.", "wrapper"),
    ),
)
