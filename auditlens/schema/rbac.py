"""Least-privilege tables: the API requests as the RBAC authorizer sees them, and the access
review of granted against used access (PCI DSS 7.2.4/7.2.5).

Columns meaning what a ``k8s_events`` column means carry its name and type (time, audit_id,
verb, api_group, resource, subresource, namespace, name, response_code, level, file, line).
"""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema
from .k8s import K8S_EVENTS

_str = pa.string()
_strs = pa.list_(_str)
_i64 = pa.int64()

RBAC_REQUESTS = TableSchema(
    "rbac_requests",
    "One row per Kubernetes API request (one per auditID, the most final stage logged) as the "
    "RBAC authorizer sees it: the subject (the impersonated user when there is one), its "
    "groups, and the request's attributes. Requests that RBAC never judges (401s, OpenShift "
    "OAuth server logins) are left out; an OpenShift pod admitted under a SecurityContextConstraint "
    "adds a derived `use` request of that SCC.",
    (
        K8S_EVENTS["time"],
        K8S_EVENTS["audit_id"],
        Column("subject", _str, "Whose permissions were checked: the impersonated user, else the "
               "authenticated user.", "impersonatedUser.username / user.username"),
        Column("subject_kind", _str, "ServiceAccount for `system:serviceaccount:NS:NAME`, else "
               "User.", "derived"),
        Column("groups", _strs, "The subject's groups as logged; deciding adds the implicit ones "
               "(system:authenticated or system:unauthenticated; system:serviceaccounts and "
               "system:serviceaccounts:NS for a service account).",
               "impersonatedUser.groups / user.groups"),
        Column("authenticated_user", _str, "The user who sent the request (differs from subject "
               "when impersonating).", "user.username"),
        K8S_EVENTS["verb"],
        Column("api_group", _str, "API group; empty string for the core group (as in RBAC "
               "rules).", "objectRef.apiGroup"),
        K8S_EVENTS["resource"],
        K8S_EVENTS["subresource"],
        K8S_EVENTS["namespace"],
        Column("name", _str, "Name of the object as the authorizer sees it: null for `create` "
               "of a new object (its name is in the body, not the URL).", "objectRef.name"),
        Column("path", _str, "URL path of a non-resource request (query left out); null for "
               "resource requests.", "requestURI"),
        Column("outcome", _str, "allowed (the authorizer said allow, or the request got past "
               "it), denied (forbid, or 403 with no decision logged) or unknown (no response "
               "logged).", "annotations[authorization.k8s.io/decision] / responseStatus.code"),
        K8S_EVENTS["response_code"],
        K8S_EVENTS["level"],
        Column("authorization_reason", _str, "Why the authorizer allowed it, when logged (e.g. "
               "the RBAC binding).", "annotations[authorization.k8s.io/reason]"),
        Column("derived", _str, "Null for a logged request; `scc` for the `use` of the "
               "SecurityContextConstraint OpenShift admitted a pod under.",
               "annotations[securitycontextconstraints.admission.openshift.io/chosen]"),
        K8S_EVENTS["file"],
        K8S_EVENTS["line"],
    ),
)

ACCESS_REVIEW = TableSchema(
    "access_review",
    "Granted against used access (PCI DSS 7.2.4/7.2.5, SOC 2 CC6.3, NIST AC-6): one row per "
    "binding subject and granted rule (used or excess), and per subject and kind of request "
    "that no binding of the export allows (uncovered) or that was refused (denied). Without an "
    "RBAC export, the used access per subject only. Sorted by subject, status, binding.",
    (
        Column("subject", _str, "The binding subject (user, group or service-account username), "
               "or for uncovered and denied rows the requesting subject.", "binding subjects / "
               "rbac_requests subject"),
        Column("subject_kind", _str, "User, Group or ServiceAccount.", "subjects[].kind"),
        Column("status", _str, "used (the grant allowed requests in the window), excess (granted, "
               "never used in the window), uncovered (used and allowed, but no binding of the "
               "export allows it), denied (refused by the authorizer).", "derived"),
        Column("binding", _str, "The binding that grants it: RoleBinding/NS/NAME or "
               "ClusterRoleBinding/NAME; null for uncovered and denied rows.", "binding"),
        Column("role", _str, "The role the binding refers to: Role/NS/NAME or ClusterRole/NAME.",
               "roleRef"),
        Column("scope", _str, "Where the grant applies: a namespace, or `cluster-wide`.",
               "binding namespace"),
        Column("rule", _str, "The rule in one line (verbs, resources, names, API groups), or the "
               "requests' verb, resource and namespace for uncovered, denied and export-less "
               "rows.", "rules[]"),
        Column("verbs", _strs, "The rule's verbs (for request rows: the verb).", "rules[].verbs"),
        Column("api_groups", _strs, "The rule's API groups (\"\" is the core group).",
               "rules[].apiGroups"),
        Column("resources", _strs, "The rule's resources, `resource/subresource` for "
               "subresources.", "rules[].resources"),
        Column("resource_names", _strs, "The rule's resourceNames (empty: every object).",
               "rules[].resourceNames"),
        Column("non_resource_urls", _strs, "The rule's nonResourceURLs.", "rules[].nonResourceURLs"),
        Column("request_count", _i64, "Requests in the window this row counts (0 for excess).",
               "derived"),
        Column("first_use", TIME, "First of those requests (UTC).", "time"),
        Column("last_use", TIME, "Last of those requests (UTC).", "time"),
        Column("used_by", _strs, "Who made those requests (for a group grant, its members "
               "seen in the log).", "rbac_requests subject"),
        Column("used_verbs", _strs, "The verbs actually used under this grant.", "derived"),
        Column("used_resources", _strs, "The resources (resource/subresource, or the path) "
               "actually used under this grant.", "derived"),
        Column("sensitive", _strs, "Why the grant is sensitive: wildcard, secrets, escalate, "
               "bind, impersonate, nodes/proxy, pods/exec, pods/attach; empty when none.",
               "derived"),
        Column("bootstrap", pa.bool_(), "The binding or role is a platform default (labelled "
               "kubernetes.io/bootstrapping=rbac-defaults or named system:…).", "metadata"),
        Column("score", pa.float64(), "The subject's least-privilege score: used grants ÷ "
               "granted grants (1.0: every grant was used in the window); null without grants.",
               "derived"),
        Column("note", _str, "What else the reviewer should know (the authorizer's logged "
               "reason for an uncovered request, a denied request the export now grants, an "
               "outcome not logged, a missing export).", "derived"),
        Column("window_start", TIME, "First request of the whole log read (UTC): an unused "
               "grant is excess only for this window.", "time"),
        Column("window_end", TIME, "Last request of the whole log read (UTC).", "time"),
        Column("audit_levels", _str, "Audit levels seen in the log (e.g. Metadata), comma "
               "separated.", "level"),
        Column("evidence", _str, "file:line and auditID of the first request counted.",
               "provenance"),
    ),
)

ACCESS_SUBJECTS = TableSchema(
    "access_subjects",
    "One row per subject of the access review: the binding subjects of the export and the "
    "subjects seen in the log, with their requests, grants and least-privilege score.",
    (
        ACCESS_REVIEW["subject"],
        ACCESS_REVIEW["subject_kind"],
        Column("requests", _i64, "Requests the subject made in the window (0 for a group or a "
               "subject not seen).", "rbac_requests"),
        Column("allowed", _i64, "Of those, allowed or with unknown outcome.", "rbac_requests"),
        Column("denied", _i64, "Of those, denied.", "rbac_requests"),
        Column("uncovered", _i64, "Allowed requests no binding of the export allows.", "derived"),
        Column("grants", _i64, "Rules granted to the subject by bindings naming it.", "derived"),
        Column("used", _i64, "Grants used in the window.", "derived"),
        Column("excess", _i64, "Grants not used in the window.", "derived"),
        Column("sensitive_excess", _i64, "Excess grants that are sensitive.", "derived"),
        ACCESS_REVIEW["score"],
        Column("first_seen", TIME, "The subject's first request (UTC).", "time"),
        Column("last_seen", TIME, "The subject's last request (UTC).", "time"),
        ACCESS_REVIEW["window_start"],
        ACCESS_REVIEW["window_end"],
    ),
)
