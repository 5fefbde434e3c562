"""Report tables whose rows are not activity rows: audit-trail findings, login sessions and the
cross-layer timeline.

Columns that mean what an ACTIVITY column means carry its name and type (time, source, cluster,
node, actor, acting_as, action, object, outcome, reason, origin, session, evidence).
"""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema
from .activity import ACTIVITY

_str = pa.string()
_i64 = pa.int64()
_f64 = pa.float64()

AUDIT_TRAIL = TableSchema(
    "audit_trail",
    "The audit trail's own integrity (PCI DSS 10.2.1.3, 10.2.1.6, 10.3): one row per finding — "
    "auditd start/stop/rotate/abort, audit rule and configuration changes, access to the audit "
    "logs, configuration and tools, lost-event counters, serial-number and time holes per node, "
    "Kubernetes requests without a completion and time holes per cluster. Sorted by time.",
    (
        Column("time", TIME, "When: the event's time; for a hole, the last event before it (UTC).",
               "auditd msg=audit / k8s stageTimestamp"),
        ACTIVITY["source"],
        Column("cluster", _str, "Cluster name or id, when known (k8s, cloud).",
               "k8s cluster / cloud cluster"),
        Column("node", _str, "Node the auditd finding is about.", "auditd node"),
        Column("finding", _str, "Kind of finding: audit-daemon, rule-change, config-change, "
               "audit-access, lost-events, serial-gap, time-gap, incomplete-request, pipeline-change or "
               "pipeline-gap.", "derived"),
        Column("action", _str, "What happened: the normalised action, the CONFIG_CHANGE op "
               "(add_rule, remove_rule, set …) or what a hole is.", "action / op"),
        Column("actor", _str, "The accountable person: login user (auid) even after sudo; k8s "
               "authenticated user.", "auid_name / user"),
        Column("acting_as", _str, "Identity the action ran as (euid/uid name).", "euid_name"),
        Column("object", _str, "What it was done to: rule key and list, configuration item, "
               "audit file path, or the request (verb and URI).", "CONFIG_CHANGE / PATH / objectRef"),
        Column("key", _str, "Audit rule key of the rule changed or of the rule that fired.",
               "CONFIG_CHANGE key / SYSCALL key"),
        Column("command", _str, "The command that did it (proctitle or argv), when logged.",
               "PROCTITLE / EXECVE"),
        Column("outcome", _str, "success, failure or denied.", "res / success / errno"),
        Column("reason", _str, "The finding in one sentence (what is missing, what changed, why).",
               "derived"),
        ACTIVITY["origin"],
        Column("session", _i64, "Login session id (auditd ses); null when none.", "ses"),
        Column("first_missing", _i64, "First event serial missing in a serial hole.", "derived"),
        Column("last_missing", _i64, "Last event serial missing in a serial hole.", "derived"),
        Column("missing_count", _i64, "Events missing: serials in the hole, or the kernel's "
               "lost-event counter.", "derived / lost="),
        Column("gap_start", TIME, "Time of the last event before a hole (UTC).", "derived"),
        Column("gap_end", TIME, "Time of the first event after a hole (UTC).", "derived"),
        Column("gap_seconds", _f64, "Length of the hole in seconds (gap_end − gap_start).",
               "derived"),
        Column("events_in_gap", _i64, "API audit events the cluster logged inside a hole "
               "opened by a removed audit pipeline (pipeline-gap; 0 confirms the hole).",
               "derived"),
        Column("evidence", _str, "Where the proof is: file:line and serial (auditd), auditID "
               "(k8s) or provider and correlation id (cloud); for a hole, the events on either "
               "side.", "provenance"),
        Column("linked_by", _str, "How a pipeline-gap was tied to its service event: `cluster` "
               "(the event names the cluster of the API log), `sole-cluster` (the API log names "
               "none and the service events only one cluster), `cluster+time` (a change that may "
               "cut the pipeline, naming the cluster, followed by a silence of its API log), "
               "`time+account` (the event names no cluster: a silence of the API log of a cluster "
               "of the same account, and region when known, begins within 5 min of it), `time` "
               "(the same, the cluster's account unknown). The time links are a coincidence in "
               "time, and the reason says so.", "derived"),
    ),
)

SESSIONS = TableSchema(
    "sessions",
    "One row per login session (auditd `ses`): who, from where, when it started and ended, its "
    "login outcome and every command run in it (execve argv and sudo commands), like "
    "`aureport --tty` / `aureport -l` but in one row per session.",
    (
        Column("node", _str, "Node the session ran on.", "auditd node"),
        Column("session", _i64, "Login session id.", "ses"),
        Column("actor", _str, "The person logged in (login uid name); stays the same after "
               "sudo/su.", "auid_name"),
        Column("auid", _i64, "Login (audit) uid of the session.", "auid"),
        Column("origin", _str, "Where the login came from: remote address, else host name.",
               "USER_LOGIN / USER_START addr, hostname"),
        Column("terminal", _str, "Terminal of the login (/dev/pts/1, ssh, cron, tty1 …).",
               "USER_LOGIN / USER_START terminal"),
        Column("login_via", _str, "Program that opened the session (sshd, login, crond …).",
               "USER_START exe"),
        Column("start", TIME, "When the session began: the LOGIN record that set ses, else the "
               "first event seen in it (UTC).", "LOGIN / USER_START / USER_LOGIN"),
        Column("end", TIME, "When it ended: USER_END / USER_LOGOUT of the program that opened it; "
               "null when not in the logs.", "USER_END / USER_LOGOUT"),
        Column("duration_seconds", _f64, "end − start in seconds; null without an end.", "derived"),
        Column("outcome", _str, "Login outcome: success or failure (res of the login records).",
               "USER_LOGIN / USER_START res"),
        Column("commands", pa.list_(_str), "Every command run in the session, in time order: "
               "execve argv joined with spaces (proctitle when no EXECVE record), and sudo "
               "commands as `sudo: CMD (as USER)`.", "EXECVE / PROCTITLE / USER_CMD"),
        Column("command_count", _i64, "Number of entries in commands.", "derived"),
        Column("event_count", _i64, "auditd events logged in the session.", "derived"),
        Column("note", _str, "What the logs do not show (login or logout outside the files read).",
               "derived"),
        Column("evidence", _str, "file:line and serial of the session's first event.",
               "provenance"),
        Column("command_ancestry", pa.list_(_str), "For each entry of commands, what started it: "
               "its ancestors' executables nearest first, joined with ` ← ` (`…` where the log "
               "stops showing them).", "auditd ancestry"),
    ),
)

TIMELINE = TableSchema(
    "timeline",
    "The cross-layer view: one row per action of the service layer (cloud control-plane events), "
    "the API layer (Kubernetes requests) and the node layer (auditd events), each under the "
    "person it is tied to across layers where the logs allow it. Sorted by person, then time.",
    (
        Column("person", _str, "The unified identity: the e-mail address when the identity has "
               "one (`IAM#alice@example.com` and `alice@example.com` are both "
               "`alice@example.com`, lower-cased), the AWS principal's ARN (path left out), "
               "else the name as logged; a row whose identity no other layer has keeps its own "
               "actor.", "derived from actor"),
        Column("matched_by", _str, "How the row was tied to another layer's rows of the same "
               "person: `IAM#email` (an OpenShift-on-IBM-Cloud username `IAM#<e-mail>` and the "
               "service event's e-mail), `email` (the same e-mail in two layers: GKE and AKS "
               "usernames), `arn` (the same AWS principal, as a name or as the actor_id: "
               "CloudTrail's userIdentity.arn and the ARN EKS keeps in user.extra), `same-name` "
               "(the identical name in two layers, e.g. a node login name and an API username), "
               "`alias` (the caller's mapping said so), or `unmatched` (no other layer has it).",
               "derived"),
        ACTIVITY["time"],
        Column("layer", _str, "service (cloud control plane), api (Kubernetes API) or node "
               "(auditd).", "source"),
        ACTIVITY["source"],
        ACTIVITY["cluster"],
        ACTIVITY["node"],
        Column("actor", _str, "The identity as the layer logged it (the activity table's "
               "actor).", "activity actor"),
        ACTIVITY["actor_id"],
        ACTIVITY["acting_as"],
        ACTIVITY["action"],
        ACTIVITY["object"],
        ACTIVITY["outcome"],
        ACTIVITY["origin"],
        ACTIVITY["evidence"],
    ),
)
