"""The unified who-did-what table: one row per action, the same vocabulary for node and API."""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema

_str = pa.string()

ACTIVITY = TableSchema(
    "activity",
    "One row per action from either source (auditd events, Kubernetes requests) with the "
    "PCI DSS 10.2.2 details: who, what, when, outcome, origin and the affected object.",
    (
        Column("time", TIME, "When the action happened (UTC): the auditd event time, when the API server received the request, or the service event's time.", "auditd msg=audit / k8s requestReceivedTimestamp / cloud time"),
        Column("source", _str, "Which log it came from: auditd, k8s or cloud (service events).", "reader"),
        Column("cluster", _str, "Cluster name or id, when known.", "k8s cluster / --cluster / cloud cluster"),
        Column("node", _str, "Node the auditd event was logged on.", "auditd node"),
        Column("actor", _str, "The accountable person: login user (auid) even after sudo/su; k8s authenticated user; for a service event the person behind the caller when the event names one (who authenticated for a service id, who assumed a role), else the caller.", "auid_name / user / cloud acting_for, actor"),
        Column("actor_id", _str, "The stable id of the identity that acted, as the log gives it: the login uid (auditd: auid, else uid); the AWS principal's ARN that EKS keeps in `user.extra` (`arn`), else `user.uid` (k8s); the caller's IAM id, ARN, principal or object id (cloud: the id of acting_as when a person is named behind the caller). What ties identities across layers where names differ.", "auid / uid; user.extra arn / user.uid; cloud actor_id"),
        Column("actor_kind", _str, "human, service-account, system or anonymous (a cloud user, or any caller with a person behind it, is human; a service id, service or role service-account).", "derived"),
        Column("acting_as", _str, "Identity the action ran as: euid/uid name after sudo, the impersonated user, or the service id or role a person acted through (cloud).", "euid_name / impersonatedUser / cloud actor"),
        Column("action", _str, "What was done (normalised verb, k8s verb, or the provider's action name).", "action / verb / cloud action"),
        Column("object", _str, "The affected data, component, resource or service.", "object_primary / objectRef / cloud target"),
        Column("object_kind", _str, "Kind of the object (file, account, pods, secrets…).", "object_kind / resource"),
        Column("namespace", _str, "Kubernetes namespace of the object.", "objectRef.namespace"),
        Column("outcome", _str, "success, failure or denied.", "result / responseStatus.code / decision"),
        Column("reason", _str, "Why it failed or was allowed (errno, authorization reason, status message).", "errno / authorization.k8s.io/reason"),
        Column("origin", _str, "Where it came from: source IP, remote host or terminal.", "addr / hostname / terminal / sourceIPs"),
        Column("key", _str, "auditd rule key (-k) that logged the event; null for k8s.", "auditd key"),
        Column("session", pa.int64(), "Login session id (auditd ses); null for k8s.", "ses"),
        Column("latency_ms", pa.float64(), "Request latency in milliseconds (k8s).", "stageTimestamp - requestReceivedTimestamp"),
        Column("evidence", _str, "Where the proof is: file:line and serial (auditd), auditID (k8s), or provider and correlation id (cloud).", "provenance"),
        Column("object_source", _str, "How the object was named: logged (the log gives it); same-process (a call on an open file, whose PATH name is (null): the name under which the same process reached that inode earlier); same-inode (the nearest sighting of that inode and device elsewhere in the node's log: the name it had just before, else just after); inode-only (no name in the log: inode N on dev D). Null when the row has no file object (a login, a Kubernetes request).", "PATH name / inode + dev"),
        Column("ancestry", pa.list_(_str), "Executables of the auditd process's ancestors, nearest first, `…` where the log stops showing them; null for k8s and when not worked out.", "auditd ancestry"),
    ),
)

ACTIVITY_SUMMARY = TableSchema(
    "activity_summary",
    "Counts of the activity table by one dimension at a time (what aureport --summary gives): "
    "one row per dimension and value.",
    (
        Column("dimension", _str, "What is counted: actor, action, object_kind, node, cluster, outcome, key or source.", "derived"),
        Column("value", _str, "The actor, action… counted (null: rows without one).", "activity"),
        Column("events", pa.int64(), "Activity rows with this value.", "count"),
        Column("succeeded", pa.int64(), "Of those, rows whose outcome is success.", "count"),
        Column("failed", pa.int64(), "Of those, rows whose outcome is failure.", "count"),
        Column("denied", pa.int64(), "Of those, rows whose outcome is denied.", "count"),
        Column("first_seen", TIME, "Earliest row with this value.", "min(time)"),
        Column("last_seen", TIME, "Latest row with this value.", "max(time)"),
    ),
)
