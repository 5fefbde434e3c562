"""The API requests of a ``k8s_events`` table as the RBAC authorizer saw them.

One request per auditID (the most final stage logged: a request logged at RequestReceived and
ResponseComplete is one request). The subject is the impersonated user when there is one,
since that is whose permissions the authorizer checks (audit2rbac does the same). The object's
name is cleared for ``create`` of a new object: the authorizer never sees it (it is in the body,
not the URL), so RBAC cannot limit it by name; creating a namespace is likewise a
cluster-scoped request, whatever namespace the log gives it.

The outcome: the ``authorization.k8s.io/decision`` annotation when logged (a 403 with decision
``allow`` was refused by admission, not by RBAC); else a 403 is denied, a response that is not
401, 403 or 429 means the request got past the authorizer, and no response (or a 429, refused
before authorization) is unknown. Requests RBAC never judges are left out and counted: 401s
(no authenticated subject) and OpenShift OAuth server logins (the person is in an annotation,
the request is ``system:anonymous``).

OpenShift admits a pod under a SecurityContextConstraint the requester (or the pod's service
account) may ``use``; the chosen SCC (annotation
``securitycontextconstraints.admission.openshift.io/chosen``) becomes a derived ``use``
request of ``securitycontextconstraints`` in group ``security.openshift.io``, so a review can
see which SCC grants were used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.actions import request_rows
from auditlens.schema import RBAC_REQUESTS

from .authorize import Request
from .model import SA_PREFIX

__all__ = ["RequestCounts", "as_requests", "rbac_requests"]

DECISION = "authorization.k8s.io/decision"
REASON = "authorization.k8s.io/reason"
OAUTH_USER = "authentication.openshift.io/username"
SCC_CHOSEN = "securitycontextconstraints.admission.openshift.io/chosen"
SCC_GROUP, SCC_RESOURCE = "security.openshift.io", "securitycontextconstraints"


_NEEDED = ("time", "audit_id", "stage", "user", "groups", "impersonated_user", "impersonated_groups",
           "verb", "api_group", "resource", "subresource", "namespace", "name", "request_uri",
           "response_code", "level", "file", "line")


@dataclass
class RequestCounts:
    """What :func:`rbac_requests` left out, and why."""

    requests: int = 0
    unauthenticated: int = 0
    oauth_logins: int = 0
    no_subject: int = 0


def _lookup(annotations: Any, key: str) -> Any:
    return pc.map_lookup(annotations, pa.scalar(key), "first")


def _text(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def rbac_requests(k8s: pa.Table, counts: RequestCounts | None = None) -> pa.Table:
    """An ``rbac_requests`` table of a ``k8s_events`` table (see the module's docstring)."""
    counts = counts if counts is not None else RequestCounts()
    if k8s.num_rows == 0:
        return RBAC_REQUESTS.empty()
    # only the columns needed, the annotations looked up first: the bodies and maps are the
    # bulk of the table and need not be carried through the dedup
    annotations = k8s["annotations"]
    looked = {key: _lookup(annotations, key) for key in (DECISION, REASON, OAUTH_USER, SCC_CHOSEN)}
    req = request_rows(pa.table({**{c: k8s[c] for c in _NEEDED}, **looked}))
    counts.requests += req.num_rows
    decision = req[DECISION]
    code = req["response_code"]
    impersonating = pc.is_valid(req["impersonated_user"])
    subject = pc.coalesce(req["impersonated_user"], req["user"])
    unauthenticated = pc.and_(pc.fill_null(pc.equal(code, 401), False), pc.is_null(decision))
    oauth = pc.is_valid(req[OAUTH_USER])
    keep = pc.and_(pc.and_(pc.invert(unauthenticated), pc.invert(oauth)), pc.is_valid(subject))
    counts.unauthenticated += pc.sum(pc.cast(unauthenticated, pa.int64())).as_py() or 0
    counts.oauth_logins += pc.sum(pc.cast(pc.and_(oauth, pc.invert(unauthenticated)), pa.int64())).as_py() or 0
    counts.no_subject += pc.sum(pc.cast(pc.and_(pc.and_(pc.invert(unauthenticated), pc.invert(oauth)),
                                                pc.is_null(subject)), pa.int64())).as_py() or 0
    n = req.num_rows
    forbid = pc.fill_null(pc.equal(decision, "forbid"), False)
    allow = pc.fill_null(pc.equal(decision, "allow"), False)
    got_past = pc.fill_null(pc.invert(pc.is_in(code, pa.array([401, 403, 429], pa.int32()))), False)
    outcome = pc.if_else(forbid, _text("denied", n), pc.if_else(
        allow, _text("allowed", n), pc.if_else(
            pc.fill_null(pc.equal(code, 403), False), _text("denied", n),
            pc.if_else(got_past, _text("allowed", n), _text("unknown", n)))))
    resource_request = pc.is_valid(req["resource"])
    new_object = pc.and_(pc.fill_null(pc.equal(req["verb"], "create"), False), pc.is_null(req["subresource"]))
    name = pc.if_else(new_object, pa.nulls(n, pa.string()), req["name"])
    # a namespace's own namespace is itself, except when it is created (POST /api/v1/namespaces
    # is cluster-scoped): some log forms (GKE) name it anyway
    new_namespace = pc.and_(new_object, pc.fill_null(pc.equal(req["resource"], "namespaces"), False))
    namespace = pc.if_else(new_namespace, pa.nulls(n, pa.string()), req["namespace"])
    path = pc.if_else(resource_request, pa.nulls(n, pa.string()),
                      pc.replace_substring_regex(req["request_uri"], r"\?.*$", ""))
    table = pa.table({
        "time": req["time"],
        "audit_id": req["audit_id"],
        "subject": subject,
        "subject_kind": pc.if_else(pc.fill_null(pc.starts_with(subject, SA_PREFIX), False),
                                   _text("ServiceAccount", n), _text("User", n)),
        "groups": pc.if_else(impersonating, req["impersonated_groups"], req["groups"]),
        "authenticated_user": req["user"],
        "verb": req["verb"],
        "api_group": pc.if_else(resource_request, pc.fill_null(req["api_group"], ""),
                                pa.nulls(n, pa.string())),
        "resource": req["resource"],
        "subresource": req["subresource"],
        "namespace": namespace,
        "name": name,
        "path": path,
        "outcome": outcome,
        "response_code": code,
        "level": req["level"],
        "authorization_reason": req[REASON],
        "derived": pa.nulls(n, pa.string()),
        "file": req["file"],
        "line": req["line"],
    }, schema=RBAC_REQUESTS.arrow)
    chosen = req[SCC_CHOSEN]
    if not pc.all(keep).as_py():  # filtering copies every column: only when something goes
        table, chosen = table.filter(keep), chosen.filter(keep)
    return _with_scc_use(table, chosen)


def _with_scc_use(table: pa.Table, chosen: Any) -> pa.Table:
    """``table`` plus a derived ``use`` request for each admitted pod's SCC."""
    admitted = pc.and_(pc.is_valid(chosen), pc.and_(pc.equal(table["outcome"], "allowed"),
                                                    pc.fill_null(pc.equal(table["resource"], "pods"), False)))
    pods = table.filter(admitted)
    if pods.num_rows == 0:
        return table
    n = pods.num_rows
    derived = pods.set_column(pods.schema.get_field_index("verb"), "verb", _text("use", n))
    for column, value in (("api_group", SCC_GROUP), ("resource", SCC_RESOURCE), ("derived", "scc")):
        derived = derived.set_column(derived.schema.get_field_index(column), column, _text(value, n))
    for column in ("subresource", "authorization_reason"):  # the pod's reason is not the SCC's
        derived = derived.set_column(derived.schema.get_field_index(column), column, pa.nulls(n, pa.string()))
    derived = derived.set_column(derived.schema.get_field_index("name"), "name", chosen.filter(admitted))
    both = pa.concat_tables([table, derived])
    return both.take(pc.sort_indices(both, [("time", "ascending")]))


def as_requests(table: pa.Table) -> Iterator[Request]:
    """The authorizer's :class:`Request` of each row of an ``rbac_requests`` table."""
    cols = {c: table[c].to_pylist() for c in ("subject", "groups", "verb", "api_group", "resource",
                                              "subresource", "namespace", "name", "path")}
    for i in range(table.num_rows):
        yield request_of({c: v[i] for c, v in cols.items()})


def request_of(row: dict[str, Any]) -> Request:
    """The :class:`Request` of one ``rbac_requests`` row (a dict of its columns)."""
    return Request(row["subject"], tuple(row["groups"] or ()), row["verb"] or "",
                   row["api_group"] or "", row["resource"] or "", row["subresource"] or "",
                   row["namespace"] or "", row["name"] or "", row["path"] or "")
