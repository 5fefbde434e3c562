"""The reports users name after ``auditlens report``, and what each is built from.

Every report is built from an :class:`Evidence` (sources read, the activity table derived) and
gives one table. A fleet's report is built node by node (:mod:`.engine`): each report says the
order its rows are given in (``order``), so the parts can be merged into that order, or how its
parts combine (``finish``, for counts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditlens.actions import from_auditd, from_cloud, from_k8s, request_rows
from auditlens.auditd.ancestry import with_ancestry
from auditlens.collect import Collection
from auditlens.errors import AuditlensError
from auditlens.export import Section

from .selections import SELECTIONS

ORIGIN, POSITION = "__origin", "__position"
"""Columns a report's rows carry while it is built: where each row came from (the index of its
node folder; the Kubernetes logs come after every node, the service events after those) and its
place there. Ties in time are
given in this order, which is the order the sources were read in."""
HIDDEN = (ORIGIN, POSITION)


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the report to; each applies where a table has the column."""

    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None
    node: str | None = None
    namespace: str | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("user", self.user), ("node", self.node),
                                          ("namespace", self.namespace)) if v]
        return ", ".join(parts) or "none"


class Evidence:
    """The sources read (all, or one node's), the Kubernetes requests and the activity rows
    derived once, each row placed (:data:`ORIGIN`, :data:`POSITION`). ``origins``: each auditd
    row's origin (default 0), ``k8s_origin`` the Kubernetes rows' (default 1), the service
    events' the one after it. The auditd events get their ``ancestry`` here, before any report
    looks at them. ``cluster``: the cluster named when reading (``--cluster``)."""

    def __init__(self, collection: Collection, filters: Filters, *,
                 origins: np.ndarray | None = None, k8s_origin: int = 1,
                 cluster: str | None = None, rbac: str | None = None) -> None:
        if "ancestry" not in collection.auditd.column_names:  # node by node, over all read
            collection = replace(collection, auditd=with_ancestry(collection.auditd))
        self.collection = collection
        self.filters = filters
        self.cluster = cluster  # the cluster the logs were read for (the timeline keeps it only)
        self.rbac = rbac  # the RBAC export the access review compares with (None: not given)
        self.requests = request_rows(collection.k8s)
        n = collection.auditd.num_rows
        self.auditd_activity = placed(from_auditd(collection.auditd),
                                      np.zeros(n, np.int64) if origins is None else origins)
        self.k8s_activity = placed(from_k8s(self.requests),
                                   np.full(self.requests.num_rows, k8s_origin, np.int64))
        self.cloud_activity = placed(from_cloud(collection.cloud), k8s_origin + 1)

    def activity(self, auditd_mask: Any = None, k8s_mask: Any = None,
                 cloud_mask: Any = None) -> pa.Table:
        """Activity rows (selected by the masks, when given) passing the filters, by time."""
        a, k, c = self.auditd_activity, self.k8s_activity, self.cloud_activity
        if auditd_mask is not None:
            a = a.filter(auditd_mask)
        if k8s_mask is not None:
            k = k.filter(k8s_mask)
        if cloud_mask is not None:
            c = c.filter(cloud_mask)
        table = pa.concat_tables([a, k, c])
        table = apply_filters(table, self.filters)
        return table.take(pc.sort_indices(table, [("time", "ascending")]))


def placed(table: pa.Table, origins: np.ndarray | int) -> pa.Table:
    """``table`` with :data:`ORIGIN` (``origins``: per row, or one for all) and :data:`POSITION`
    (its row numbers)."""
    n = table.num_rows
    origin = np.full(n, origins, np.int64) if isinstance(origins, int) else origins
    return table.append_column(ORIGIN, pa.array(origin, pa.int64())).append_column(
        POSITION, pa.array(np.arange(n, dtype=np.int64)))


def public(table: pa.Table) -> pa.Table:
    """``table`` without the :data:`HIDDEN` columns."""
    return table.drop_columns([c for c in HIDDEN if c in table.column_names])


def apply_filters(table: pa.Table, filters: Filters) -> pa.Table:
    """Keep the rows matching every filter whose column the table has (``--user`` matches the
    actor or the identity acted as; the period applies to ``time``, or to ``start``–``end``)."""
    names = table.column_names
    mask = pa.array([True] * table.num_rows, pa.bool_())

    def both(m: Any) -> None:
        nonlocal mask
        mask = pc.and_(mask, pc.fill_null(m, False))

    # a row with a span (a session) counts when it overlaps the period
    first = "time" if "time" in names else "start" if "start" in names else None
    last = "end" if first == "start" and "end" in names else first
    if first and filters.since is not None:
        end = pc.coalesce(table[last], table[first])
        both(pc.greater_equal(end, pa.scalar(filters.since, table[first].type)))
    if first and filters.until is not None:
        both(pc.less_equal(table[first], pa.scalar(filters.until, table[first].type)))
    if filters.user and "actor" in names:
        m = pc.equal(table["actor"], filters.user)
        if "acting_as" in names:
            m = pc.or_(pc.fill_null(m, False), pc.fill_null(pc.equal(table["acting_as"], filters.user), False))
        both(m)
    for name in ("node", "namespace"):
        value = getattr(filters, name)
        if value and name in names:
            both(pc.equal(table[name], value))
    return table.filter(mask)


@dataclass(frozen=True)
class Report:
    """One report: the name users type, what it shows, the requirement it answers, how it is
    built, the order of its rows (columns, ascending, nulls last; :data:`HIDDEN` last) and, for
    a report of counts, how the counts of parts of the evidence ``finish`` into one table.

    A report whose rows need knowledge from every part of the evidence (the timeline ties a
    node's login to the API username another part logs) says what each part knows (``share``:
    a small frozenset, the parts' are joined) and how that knowledge completes its rows
    (``resolve``, a batch at a time). ``compliance``: whether the compliance export has it."""

    name: str
    title: str
    requirement: str
    description: str
    build: Callable[[Evidence], pa.Table] = field(repr=False)
    order: tuple[str, ...] = ("time", *HIDDEN)
    finish: Callable[[Sequence[pa.Table]], pa.Table] | None = field(default=None, repr=False)
    share: Callable[[Evidence], frozenset[Any]] | None = field(default=None, repr=False)
    resolve: Callable[[frozenset[Any], pa.Table], pa.Table] | None = field(default=None, repr=False)
    compliance: bool = True

    def table(self, evidence: Evidence) -> pa.Table:
        """The report of ``evidence`` held in memory (what :mod:`.engine` gives, in one piece)."""
        table = self.build(evidence)
        if self.resolve is not None and self.share is not None:
            table = self.resolve(self.share(evidence), table)
        return public(self.finish([table]) if self.finish else table)

    def section(self, table: Any) -> Section:
        return Section(self.name, self.title, self.description, table, self.requirement)


def _selected(name: str) -> Callable[[Evidence], pa.Table]:
    selection = SELECTIONS[name]

    def build(ev: Evidence) -> pa.Table:
        auditd = ev.collection.auditd
        a_mask = selection.auditd(auditd) if auditd.num_rows else None
        k_mask = selection.k8s(ev.requests) if ev.requests.num_rows else None
        cloud = ev.collection.cloud
        c_mask = selection.cloud(cloud) if cloud.num_rows else None
        return ev.activity(a_mask, k_mask, c_mask)

    return build


def _audit_trail(ev: Evidence) -> pa.Table:
    from .audit_trail import RECORD_TYPES, audit_trail

    f = ev.filters
    got = ev.collection
    table = audit_trail(got.auditd, got.k8s, since=f.since, until=f.until,
                        records=got.auditd_records(RECORD_TYPES), cloud=got.cloud)
    # audit_trail applies the period itself: a hole that began before it and ends inside counts
    return apply_filters(table, Filters(node=f.node))


def _sessions(ev: Evidence) -> pa.Table:
    from .sessions import sessions

    return apply_filters(sessions(ev.collection.auditd), ev.filters)


def _timeline_activity(ev: Evidence) -> tuple[pa.Table, list[str] | None]:
    """Every activity row in the period, node and namespace asked (the person is the
    timeline's own filter: by any form of the identity), and the names of the cluster asked:
    the one given and the ids the service events give it."""
    from .audit_trail import cluster_aliases

    table = pa.concat_tables([ev.auditd_activity, ev.k8s_activity, ev.cloud_activity])
    table = apply_filters(table, replace(ev.filters, user=None))
    if ev.cluster is None:
        return table, None
    names = {ev.cluster}
    named = ev.collection.cloud.select(["cluster", "target", "target_id", "target_kind"])
    for group in cluster_aliases(named.to_pylist()):
        if ev.cluster in group:
            names |= group
    return table, sorted(names)


def _timeline(ev: Evidence) -> pa.Table:
    from .timeline import timeline_rows

    table, cluster = _timeline_activity(ev)
    rows = timeline_rows(table, cluster=cluster, person=ev.filters.user)
    return rows.take(pc.sort_indices(rows, [(c, "ascending") for c in ("time", *HIDDEN)]))


def _timeline_known(ev: Evidence) -> frozenset[Any]:
    from .timeline import known_identities, timeline_rows

    table, cluster = _timeline_activity(ev)
    return known_identities(timeline_rows(table, cluster=cluster))


def _timeline_resolve(known: frozenset[Any], rows: pa.Table) -> pa.Table:
    from .timeline import resolve

    return resolve(rows, known)


def _access_review(ev: Evidence) -> pa.Table:
    from auditlens.rbac.report import access_review

    f = ev.filters
    return access_review(ev.requests, ev.rbac, since=f.since, until=f.until, user=f.user,
                         namespace=f.namespace, rejects=ev.collection.rejects)


def _detections(ev: Evidence) -> pa.Table:
    from .detections import detections

    return apply_filters(detections(ev.collection), ev.filters)


def _counts(ev: Evidence) -> pa.Table:
    from .summary import counts

    return counts(ev.activity())


def _summary_of(parts: Sequence[pa.Table]) -> pa.Table:
    from .summary import summary_of

    return summary_of(parts)


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        # first: what is suspicious, before the evidence it is drawn from
        Report("detections", "Detections", "PCI DSS 10.4.1; SOC 2 CC7.2; NIST AU-6",
               "Matches of auditlens' built-in Sigma rules (auditlens detect runs SigmaHQ's and "
               "your own too): audit rules deleted, auditd stopped, audit logs or log forwarding "
               "removed, set-user-ID files, kernel modules, SSH brute force followed by a "
               "success; Kubernetes audit forwarding or policy changed, privileged or "
               "host-namespace workloads, exec/attach/port-forward, bindings to cluster-admin, "
               "wildcard roles, secrets read by people, anonymous requests allowed. Each match "
               "names its rule, level, author and the records or request it matched.",
               _detections, order=("time", "rule_id", *HIDDEN)),
        Report("logins", "Logins and authentication", "PCI DSS 10.2.1.4, 10.2.1.5; NIST AU-2",
               "SSH and console logins and logouts, failed attempts with source address, "
               "unknown-user attempts; Kubernetes anonymous requests, 401s and OpenShift oauth "
               "logins; service events: IBM IAM API key logins, CloudTrail ConsoleLogin and "
               "federated sign-ins, requests refused as unauthenticated.", _selected("logins")),
        Report("failed-access", "Failed and denied access", "PCI DSS 10.2.1.4; SOC 2 CC7.2",
               "Denied file access (EACCES/EPERM), SELinux/AppArmor denials, failed "
               "authentication and authorization (sudo refused); Kubernetes 401/403 and "
               "forbidden decisions; service events denied or failed with 401/403, AccessDenied, "
               "PERMISSION_DENIED or AuthorizationFailed.", _selected("failed-access")),
        Report("admin-actions", "Administrative actions", "PCI DSS 10.2.1.2",
               "Everything done with administrative power: sudo/su commands and root actions "
               "with the logged-in person behind them; Kubernetes requests by cluster-admin or "
               "system:masters, impersonation, exec/attach/port-forward into pods; service "
               "events: cluster, master and worker operations through the cloud (IBM "
               "containers-kubernetes create/delete/update/reboot/reload/replace/refresh, "
               "EKS/GKE/AKS cluster and node-pool changes).",
               _selected("admin-actions")),
        Report("identity-changes", "Identity and credential changes", "PCI DSS 10.2.1.5",
               "Users and groups created, deleted or changed, passwords, account locks, writes, "
               "renames, deletions and mode or owner changes of passwd/shadow/group/sudoers (not "
               "reads: those are sensitive or failed access); Kubernetes RBAC roles and bindings, service "
               "accounts and tokens, OpenShift users, groups and identities; service events: IAM "
               "users, service ids, API keys, access groups and policies, IBM cluster RBAC sync, "
               "AWS IAM and EKS access entries, GCP SetIamPolicy, Azure role assignments.",
               _selected("identity-changes")),
        Report("audit-trail", "Audit trail integrity", "PCI DSS 10.2.1.3, 10.2.1.6; NIST AU-9",
               "auditd start/stop/rotate/abort, audit rule changes, access to audit logs, lost "
               "events and gaps (serial holes, silent periods); Kubernetes requests without a "
               "completion and silent periods; service events that change the audit pipeline "
               "(audit webhook, logging configuration, trails, sinks, diagnostic settings), each "
               "removal linked to the hole it opened in the cluster's API log.", _audit_trail,
               order=("time", "node", *HIDDEN)),
        Report("system-objects", "System-level objects", "PCI DSS 10.2.1.7",
               "Kernel modules, software installs, services started and stopped, firewall "
               "changes, SELinux policy and mode, mounts, time changes; Kubernetes namespaces, "
               "nodes, CRDs, admission webhooks and privileged or host-namespace workloads; service "
               "events: clusters, worker pools, subnets, load balancers and networks created or "
               "deleted.",
               _selected("system-objects")),
        Report("sensitive-access", "Access to sensitive data", "PCI DSS 10.2.1.1",
               "Reads and writes by a logged-in person of files opened under an audit rule (-w … "
               "-k) and of sensitive system files (shadow, sudoers, keys); Kubernetes secrets "
               "read, listed or watched; service events: kubeconfig and admin credential "
               "downloads (IBM cluster.config, AKS listClusterAdminCredential), secret-store "
               "reads.", _selected("sensitive-access")),
        Report("sessions", "Login sessions", "PCI DSS 10.2.1.2, 10.2.2",
               "Each login session: who, from where, start and end, and every command run in it "
               "(including sudo, shown with the person who ran it).", _sessions,
               order=("start", "node", "session", *HIDDEN)),
        Report("timeline", "One person across the layers", "PCI DSS 10.2.2; NIST AU-3, AU-6",
               "Every action of the service layer (cloud control-plane events), the API layer "
               "(Kubernetes requests) and the node layer (auditd events) on one timeline, each "
               "under the person it is tied to across layers where the logs allow it: an "
               "OpenShift-on-IBM-Cloud username `IAM#<e-mail>` and the service event's e-mail, "
               "the same e-mail (GKE, AKS), the same AWS principal (CloudTrail's ARN and the one "
               "EKS keeps in `user.extra`), the identical name in two layers; `matched_by` says "
               "which, `unmatched` where no other layer has the identity. `--user` keeps one "
               "person's rows, named in any of those forms; `--cluster` keeps the rows of that "
               "cluster (its name or the ids the service events give it) and those that name "
               "none (node rows, account logins). Sorted by time. Not a section of `compliance`: "
               "it repeats every action of every layer.", _timeline,
               share=_timeline_known, resolve=_timeline_resolve, compliance=False),
        Report("access-review", "Access review (least privilege)",
               "PCI DSS 7.2.4, 7.2.5; SOC 2 CC6.3; NIST AC-6",
               "Granted against used Kubernetes access, per subject and rule, from the API log "
               "and an RBAC export (--rbac): used (count, first and last use), excess (granted, "
               "unused in the window), uncovered (allowed, but by no binding of the export), "
               "denied; sensitive grants flagged (secrets, wildcards, escalate/bind/impersonate, "
               "nodes/proxy, pods/exec) and a least-privilege score per subject. Without an "
               "export: the access each subject used. The window and the audit levels are in "
               "every row: an unused grant is excess for that window only.", _access_review,
               order=("subject", "status", "binding", "rule", *HIDDEN)),
        Report("summary", "Summary", "SOC 2 CC7.2; NIST AU-6",
               "Counts by source (auditd, k8s, cloud), actor, action, object kind, node, "
               "cluster, outcome and rule key.",
               _counts, order=(), finish=_summary_of),
    )
}


def compliance_sections() -> tuple[str, ...]:
    """The reports the compliance export has as sections, in its order."""
    return tuple(name for name, r in REPORTS.items() if r.compliance)


COMPLIANCE = "compliance"
COMPLIANCE_DESCRIPTION = ("Every report above but the timeline in one export, with a cover "
                          "sheet: period, sources read, event and reject counts, gaps found, each "
                          "section's row count and the requirement it answers; plus the rejected "
                          "input lines.")


def list_reports() -> list[Report]:
    """The registered reports in the order of the compliance export (``compliance`` last)."""
    return [*REPORTS.values(), Report(COMPLIANCE, "Compliance evidence", "PCI DSS 10.2; SOC 2 CC7.2; "
                                      "NIST AU-2, AU-3", COMPLIANCE_DESCRIPTION, _no_build)]


def _no_build(ev: Evidence) -> pa.Table:  # pragma: no cover - compliance is assembled by run_report
    raise AuditlensError("compliance is a set of sections, not one table")


def get_report(name: str) -> Report:
    if name == COMPLIANCE:
        return list_reports()[-1]
    try:
        return REPORTS[name]
    except KeyError:
        known = ", ".join([*REPORTS, COMPLIANCE])
        raise AuditlensError(f"unknown report {name!r}; known reports: {known}") from None


