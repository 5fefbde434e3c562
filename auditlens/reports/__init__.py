"""Compliance reports, registered by the names users type after ``auditlens report``.

Every report is built from one :class:`Evidence` (the sources read once, the activity table
derived once) and gives one table; ``compliance`` gives all of them as sections with a cover
sheet. Rows of the activity-based reports carry the PCI DSS 10.2.2 details: user, type of event,
date and time, success or failure, origin, and the affected data, component or resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.actions import from_auditd, from_k8s, request_rows
from auditlens.collect import Collection, collect
from auditlens.errors import AuditlensError
from auditlens.export import Section, write_sections, write_table
from auditlens.export._base import Dest
from auditlens.timerange import TimeBound

from .preflight import preflight
from .selections import SELECTIONS


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
    """The sources read once, the Kubernetes requests and the activity rows derived once."""

    def __init__(self, collection: Collection, filters: Filters) -> None:
        self.collection = collection
        self.filters = filters
        self.requests = request_rows(collection.k8s)
        self.auditd_activity = from_auditd(collection.auditd)
        self.k8s_activity = from_k8s(self.requests)

    def activity(self, auditd_mask: Any = None, k8s_mask: Any = None) -> pa.Table:
        """Activity rows (selected by the masks, when given) passing the filters, by time."""
        a, k = self.auditd_activity, self.k8s_activity
        if auditd_mask is not None:
            a = a.filter(auditd_mask)
        if k8s_mask is not None:
            k = k.filter(k8s_mask)
        table = pa.concat_tables([a, k])
        table = apply_filters(table, self.filters)
        return table.take(pc.sort_indices(table, [("time", "ascending")]))


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
    """One report: the name users type, what it shows, the requirement it answers."""

    name: str
    title: str
    requirement: str
    description: str
    build: Callable[[Evidence], pa.Table] = field(repr=False)

    def section(self, evidence: Evidence) -> Section:
        return Section(self.name, self.title, self.description, self.build(evidence), self.requirement)


def _selected(name: str) -> Callable[[Evidence], pa.Table]:
    selection = SELECTIONS[name]

    def build(ev: Evidence) -> pa.Table:
        auditd = ev.collection.auditd
        a_mask = selection.auditd(auditd) if auditd.num_rows else None
        k_mask = selection.k8s(ev.requests) if ev.requests.num_rows else None
        return ev.activity(a_mask, k_mask)

    return build


def _audit_trail(ev: Evidence) -> pa.Table:
    from .audit_trail import RECORD_TYPES, audit_trail

    f = ev.filters
    got = ev.collection
    table = audit_trail(got.auditd, got.k8s, since=f.since, until=f.until, records=got.auditd_records(RECORD_TYPES))
    # audit_trail applies the period itself: a hole that began before it and ends inside counts
    return apply_filters(table, Filters(node=f.node))


def _sessions(ev: Evidence) -> pa.Table:
    from .sessions import sessions

    return apply_filters(sessions(ev.collection.auditd), ev.filters)


def _summary(ev: Evidence) -> pa.Table:
    from .summary import summary

    return summary(ev.activity())


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report("logins", "Logins and authentication", "PCI DSS 10.2.1.4, 10.2.1.5; NIST AU-2",
               "SSH and console logins and logouts, failed attempts with source address, "
               "unknown-user attempts; Kubernetes anonymous requests, 401s and OpenShift oauth "
               "logins.", _selected("logins")),
        Report("failed-access", "Failed and denied access", "PCI DSS 10.2.1.4; SOC 2 CC7.2",
               "Denied file access (EACCES/EPERM), SELinux/AppArmor denials, failed "
               "authentication and authorization (sudo refused); Kubernetes 401/403 and "
               "forbidden decisions.", _selected("failed-access")),
        Report("admin-actions", "Administrative actions", "PCI DSS 10.2.1.2",
               "Everything done with administrative power: sudo/su commands and root actions "
               "with the logged-in person behind them; Kubernetes requests by cluster-admin or "
               "system:masters, impersonation, exec/attach/port-forward into pods.",
               _selected("admin-actions")),
        Report("identity-changes", "Identity and credential changes", "PCI DSS 10.2.1.5",
               "Users and groups created, deleted or changed, passwords, account locks, writes "
               "to passwd/shadow/group/sudoers; Kubernetes RBAC roles and bindings, service "
               "accounts and tokens, OpenShift users, groups and identities.",
               _selected("identity-changes")),
        Report("audit-trail", "Audit trail integrity", "PCI DSS 10.2.1.3, 10.2.1.6; NIST AU-9",
               "auditd start/stop/rotate/abort, audit rule changes, access to audit logs, lost "
               "events and gaps (serial holes, silent periods); Kubernetes requests without a "
               "completion and silent periods.", _audit_trail),
        Report("system-objects", "System-level objects", "PCI DSS 10.2.1.7",
               "Kernel modules, software installs, services started and stopped, firewall "
               "changes, SELinux policy and mode, mounts, time changes; Kubernetes namespaces, "
               "nodes, CRDs, admission webhooks and privileged or host-namespace workloads.",
               _selected("system-objects")),
        Report("sensitive-access", "Access to sensitive data", "PCI DSS 10.2.1.1",
               "Files opened under an audit watch (-w … -k) and reads of sensitive system "
               "files; Kubernetes secrets read, listed or watched.", _selected("sensitive-access")),
        Report("sessions", "Login sessions", "PCI DSS 10.2.1.2, 10.2.2",
               "Each login session: who, from where, start and end, and every command run in it "
               "(including sudo, shown with the person who ran it).", _sessions),
        Report("summary", "Summary", "SOC 2 CC7.2; NIST AU-6",
               "Counts by source, actor, action, object kind, node, cluster, outcome and rule key.",
               _summary),
    )
}

COMPLIANCE = "compliance"
COMPLIANCE_DESCRIPTION = ("Every report above in one export, with a cover sheet: period, sources "
                          "read, event and reject counts, gaps found, each section's row count and "
                          "the requirement it answers; plus the rejected input lines.")


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


@dataclass
class ReportOutput:
    """What a report run produced: its sections, the cover sheet (compliance) and what was read."""

    name: str
    sections: list[Section]
    cover: dict[str, str] | None
    collection: Collection

    @property
    def table(self) -> pa.Table:
        """The single table of a one-section report."""
        if len(self.sections) != 1:
            raise AuditlensError(f"report {self.name!r} has {len(self.sections)} sections; use .sections")
        return self.sections[0].table

    def write(self, dest: Dest, fmt: str, *, tz: str | None = None) -> None:
        """Write in format ``fmt``: one table, or sections with the cover (compliance, html)."""
        title = "auditlens: " + (self.sections[0].title if len(self.sections) == 1 else "compliance evidence")
        if self.cover is None and fmt != "html":
            write_table(self.table, dest, fmt, title=title, tz=tz)
        else:
            write_sections(self.sections, dest, fmt, title=title, cover=self.cover, tz=tz)


def _cover(evidence: Evidence, trail: pa.Table) -> dict[str, str]:
    got, f = evidence.collection, evidence.filters
    times = [t for t in (got.auditd["time"], got.k8s["time"]) if len(t)]
    first = min((pc.min(t).as_py() for t in times if pc.min(t).as_py()), default=None)
    last = max((pc.max(t).as_py() for t in times if pc.max(t).as_py()), default=None)

    def iso(t: datetime | None) -> str:
        return t.astimezone(timezone.utc).isoformat(timespec="seconds") if t else "-"

    findings = trail["finding"].to_pylist() if "finding" in trail.column_names else []

    def count(name: str) -> int:
        return findings.count(name)

    gaps = (f"{count('serial-gap') + count('time-gap')} (serial-number holes: {count('serial-gap')}, "
            f"silent periods: {count('time-gap')}); lost-event reports: {count('lost-events')}; "
            f"requests without completion: {count('incomplete-request')}")
    nodes = sorted({n for n in got.auditd["node"].to_pylist() if n})
    clusters = sorted({c for c in got.k8s["cluster"].to_pylist() if c})
    from auditlens import __version__

    cover = {
        "Report": "Audit evidence (PCI DSS v4.0 requirement 10.2; SOC 2 CC7.2; NIST SP 800-53 AU-2/AU-3)",
        "Period requested": f"{iso(f.since) if f.since else 'start of logs'} to {iso(f.until) if f.until else 'end of logs'}",
        "Events in the sources": f"{iso(first)} to {iso(last)}",
        "Filters": f.describe(),
        "Generated (UTC)": iso(datetime.now(timezone.utc)),
        "Generated by": f"auditlens {__version__}",
        "Files read": f"{sum(len(v) for v in got.files.values())} "
                      f"(auditd: {len(got.files.get('auditd', []))}, Kubernetes: {len(got.files.get('k8s', []))})",
        "Account files used for uid names": ", ".join(got.id_files) or "none",
        "Files skipped (not audit logs)": ", ".join(got.skipped) or "none",
        "Nodes": ", ".join(nodes) or "none",
        "Clusters": ", ".join(clusters) or ("unnamed" if got.k8s.num_rows else "none"),
        "Input lines": str(got.lines),
        "auditd events": str(got.auditd.num_rows),
        "Kubernetes audit events / requests": f"{got.k8s.num_rows} / {evidence.requests.num_rows}",
        "Rejected lines": f"{got.reject_count} (listed in the rejected-lines section)",
        "Gaps found": gaps,
    }
    # SOC 2 auditors look for evidence that the logs were reviewed: a place to sign
    cover["Reviewed by (name, role, date)"] = ""
    return cover  # the writers add the table of sections (rows, requirement) after the cover


def run_report(
    name: str,
    sources: str | Iterable[str],
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    user: str | None = None,
    node: str | None = None,
    namespace: str | None = None,
    cluster: str | None = None,
    source_type: str = "auto",
    output: Dest | None = None,
    fmt: str | None = None,
    tz: str | None = None,
    jobs: int = 1,
    max_line_bytes: int | None = None,
    client: Any = None,
) -> ReportOutput:
    """Read ``sources`` and build report ``name``; write it to ``output`` when given.

    ``since``/``until``: datetimes, ISO 8601, anything dateutil parses, or relative forms
    (``24h``, ``7d``, ``today``, ``yesterday``). Output times are UTC unless ``tz`` names a zone.
    ``jobs``: processes reading (this one and jobs-1 workers; 0: one per CPU); the report is
    the same. ``max_line_bytes``: longer input lines are rejected unread (None: each format's
    default, see :func:`auditlens.collect.collect`). ``client``: a ``distributed.Client`` whose
    workers read the nodes (``auditlens.dask.run_report`` makes one); the report is the same.

    Every mistake that does not need the input (the report name, the period, the output's
    format, writer, destination and zone, ``jobs``) is refused before reading starts
    (:mod:`.preflight`).
    """
    report = get_report(name)
    checked = preflight(since=since, until=until, source_type=source_type, output=output,
                        fmt=fmt, sections=report.name == COMPLIANCE, tz=tz, jobs=jobs,
                        max_line_bytes=max_line_bytes)
    filters = Filters(checked.since, checked.until, user, node, namespace)
    got = collect([sources] if isinstance(sources, str) else list(sources),
                  source_type=source_type, cluster=cluster, jobs=jobs,
                  max_line_bytes=max_line_bytes, client=client)
    evidence = Evidence(got, filters)
    if report.name == COMPLIANCE:
        sections = [r.section(evidence) for r in REPORTS.values()]
        sections.append(Section("rejected-lines", "Rejected input lines",
                                "Every input line that could not be read as an audit record, "
                                "with file, line number and reason.", got.rejects.table(),
                                "Completeness of the evidence"))
        trail = next(s.table for s in sections if s.name == "audit-trail")
        out = ReportOutput(report.name, sections, _cover(evidence, trail), got)
    else:
        out = ReportOutput(report.name, [report.section(evidence)], None, got)
    if output is not None and checked.fmt is not None:
        out.write(output, checked.fmt, tz=tz)
    return out
