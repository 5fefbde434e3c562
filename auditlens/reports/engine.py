"""A report built node by node, in memory bounded by the largest node whatever the fleet's size.

The sources are cut into *units*: the logs of one node (every folder of that name, e.g. two
months' collections of ``worker-1``), the loose auditd files, the cluster layer (the Kubernetes
logs with the service events: those are small, and a removed audit webhook is linked to the
hole it opened in the API log only when both are in one unit). Each unit is
read and its sections computed on its own — in this process, in worker processes (``jobs``) or
on a Dask cluster's workers — and each section's rows are written to disk as a run sorted in the
report's order (:mod:`auditlens.spill`); counts and the cover's figures are kept as small totals.
A section is then the merge of its runs, read a batch at a time by the writers: the rows, the
order and the cover figures that one table of everything gives (tested against it), with memory
for one unit and a batch per run.

What depends on more than one event stays inside a unit: sessions, process ancestry, serial
holes and silent periods of a node; incomplete requests and silent periods of a cluster, holes
opened by a removed audit pipeline. A node
name met in two units (a loose file's ``node=`` naming a folder's node) is warned about: its
sessions and gaps are then worked out per unit.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditlens import progress
from auditlens.collect import (
    Collection,
    gathered,
    in_node_order,
    lines_read,
    node_groups,
    read_node,
)
from auditlens.errors import AuditlensError, SourceError
from auditlens.export import Section, write_sections, write_table
from auditlens.export._base import Dest
from auditlens.formats import route
from auditlens.rejects import RejectLog
from auditlens.sources import bytes_on_disk
from auditlens.spill import Run, Spill, TableLike, as_table, write_run
from auditlens.timerange import TimeBound

from .audit_trail import TIME_LINKS
from .detections import cover_line, level_counts
from .preflight import preflight
from .registry import (
    COMPLIANCE,
    HIDDEN,
    ORIGIN,
    REPORTS,
    Evidence,
    Filters,
    compliance_sections,
    get_report,
    placed,
)

REJECTED = Section("rejected-lines", "Rejected input lines", "Every input line that could not be "
                   "read as an audit record, with file, line number and reason.",
                   RejectLog().table(), "Completeness of the evidence")
"""The compliance export's last section (its table here is empty: each report has its own)."""


@dataclass(frozen=True)
class Unit:
    """Sources whose report is worked out together: one node's folders, or the cluster layer
    (Kubernetes logs and service events). ``origin`` orders rows of equal time: the first
    folder's index (Kubernetes: after all; the service events: the origin after it)."""

    origin: int
    label: str
    nodes: tuple[tuple[int, Path | None, tuple[str, ...]], ...] = ()
    k8s: tuple[str, ...] = ()
    cloud: tuple[str, ...] = ()

    @property
    def files(self) -> list[str]:
        return [f for _, _, files in self.nodes for f in files] + list(self.k8s) + list(self.cloud)


def plan_units(groups: list[tuple[Path | None, list[str]]], k8s: list[str],
               cloud: list[str] | None = None) -> list[Unit]:
    """The units of node folders ``groups`` (:func:`auditlens.collect.node_groups`), Kubernetes
    files ``k8s`` and service-event files ``cloud``: folders of one name together, in order of
    first appearance; the Kubernetes and service files one unit, last."""
    by_name: dict[Any, list[tuple[int, Path | None, tuple[str, ...]]]] = {}
    for i, (root, files) in enumerate(groups):
        name = root.name if root is not None and root.name else None
        by_name.setdefault(name if name else ("loose", i), []).append((i, root, tuple(files)))
    units = [Unit(folders[0][0], key if isinstance(key, str) else "auditd", tuple(folders))
             for key, folders in by_name.items()]
    cloud = cloud or []
    if k8s or cloud:
        label = "Kubernetes" if not cloud else "Service events" if not k8s \
            else "Kubernetes and service events"
        units.append(Unit(len(groups), label, (), tuple(k8s), tuple(cloud)))
    return units


@dataclass
class Totals:
    """What the cover says of the sources, summed over units."""

    first: datetime | None = None
    last: datetime | None = None
    nodes: set[str] = field(default_factory=set)
    clusters: set[str] = field(default_factory=set)
    auditd_events: int = 0
    k8s_events: int = 0
    requests: int = 0
    cloud_events: int = 0
    lines: int = 0
    rejects: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    detections: Counter[str] = field(default_factory=Counter)  # "level\ttitle" → matches

    @classmethod
    def of(cls, got: Collection, requests: int, trail: pa.Table | None,
           detections: pa.Table | None = None) -> Totals:
        times = [pc.min_max(t["time"]) for t in (got.auditd, got.k8s, got.cloud) if t.num_rows]
        firsts = [m["min"].as_py() for m in times if m["min"].is_valid]
        lasts = [m["max"].as_py() for m in times if m["max"].is_valid]
        return cls(min(firsts, default=None), max(lasts, default=None),
                   _values(got.auditd["node"]), _values(got.k8s["cluster"]) | _values(got.cloud["cluster"]),
                   got.auditd.num_rows, got.k8s.num_rows, requests, got.cloud.num_rows, got.lines,
                   got.reject_count,
                   _findings(trail) if trail is not None else Counter(),
                   level_counts(detections) if detections is not None else Counter())

    def add(self, other: Totals) -> None:
        self.first = min((t for t in (self.first, other.first) if t), default=None)
        self.last = max((t for t in (self.last, other.last) if t), default=None)
        self.nodes |= other.nodes
        self.clusters |= other.clusters
        for name in ("auditd_events", "k8s_events", "requests", "cloud_events", "lines", "rejects"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.findings.update(other.findings)
        self.detections.update(other.detections)


BY_TIME = "pipeline-gap-by-time"
"""How the totals count a pipeline-gap linked by time only (its silence is also a time-gap)."""


def _findings(trail: pa.Table) -> Counter[str]:
    """The audit trail's findings by kind; a pipeline hole linked by time only apart."""
    linked = trail["linked_by"].to_pylist() if "linked_by" in trail.column_names \
        else [None] * trail.num_rows
    return Counter(BY_TIME if f == "pipeline-gap" and by in TIME_LINKS else f
                   for f, by in zip(trail["finding"].to_pylist(), linked))


def _values(column: pa.ChunkedArray) -> set[str]:
    return {v for v in pc.unique(column).to_pylist() if v}


@dataclass(frozen=True)
class Plan:
    """What every unit works out: the reports, the filters, how to read, where runs go (a
    directory this machine shares with its workers; None: tables are handed back, for Dask)."""

    reports: tuple[str, ...]
    filters: Filters
    rejected: bool = False
    cluster: str | None = None
    max_line_bytes: int | None = None
    spill: str | None = None
    rbac: str | None = None


@dataclass
class UnitResult:
    """A unit's sections (runs on disk, or tables to be written there), its totals and what it
    knows that other units' rows need (:attr:`Report.share`)."""

    sections: dict[str, Run | pa.Table]
    totals: Totals
    shared: dict[str, frozenset[Any]] = field(default_factory=dict)


def _unit(unit: Unit, plan: Plan, log: RejectLog, jobs: int) -> UnitResult:
    """Read ``unit`` and work out its part of every report of ``plan``."""
    from auditlens.collect import read_cloud
    from auditlens.k8s.reader import read_k8s_audit
    from auditlens.schema import AUDITD_EVENTS, CLOUD_EVENTS, K8S_EVENTS

    folders = [(root, list(files)) for _, root, files in unit.nodes]
    tables = [read_node(root, files, errors="collect", rejects=log, jobs=jobs,
                        max_line_bytes=plan.max_line_bytes) for root, files in folders]
    origins = np.concatenate([np.full(t.num_rows, i, np.int64)
                              for (i, _, _), t in zip(unit.nodes, tables)] or [np.zeros(0, np.int64)])
    k8s = read_k8s_audit(list(unit.k8s), errors="collect", rejects=log, cluster=plan.cluster,
                         jobs=jobs, max_line_bytes=plan.max_line_bytes) if unit.k8s \
        else K8S_EVENTS.arrow.empty_table()
    cloud = read_cloud(list(unit.cloud), errors="collect", rejects=log, jobs=jobs,
                       max_line_bytes=plan.max_line_bytes) if unit.cloud \
        else CLOUD_EVENTS.arrow.empty_table()
    lines = sum(lines_read(t) for t in (*tables, k8s, cloud))
    auditd = pa.concat_tables([AUDITD_EVENTS.arrow.empty_table(),
                               *(t.replace_schema_metadata(None) for t in tables)])
    got = Collection(auditd, k8s.replace_schema_metadata(None), log,
                     {"auditd": [f for _, files in folders for f in files], "k8s": list(unit.k8s),
                      "cloud": list(unit.cloud)},
                     [], lines, max_line_bytes=plan.max_line_bytes,
                     cloud=cloud.replace_schema_metadata(None))
    ev = Evidence(got, plan.filters, origins=origins, k8s_origin=unit.origin, cluster=plan.cluster,
                  rbac=plan.rbac)
    sections: dict[str, Run | pa.Table] = {}
    shared = {name: share(ev) for name in plan.reports
              if (share := REPORTS[name].share) is not None}
    for name in plan.reports:
        table = REPORTS[name].build(ev)
        ordered = REPORTS[name].finish is None and ORIGIN not in table.column_names
        sections[name] = placed(table, unit.origin) if ordered else table
    if plan.rejected:
        sections[REJECTED.name] = log.table()
    trail = sections.get("audit-trail")
    found = sections.get("detections")
    totals = Totals.of(got, ev.requests.num_rows, trail if isinstance(trail, pa.Table) else None,
                       found if isinstance(found, pa.Table) else None)
    if plan.spill is not None:  # counts stay in the result: they are small
        sections = {name: t if _counted(name) else write_run(t, plan.spill, _order(name))
                    for name, t in sections.items()}
    log.clear()  # a section now, or counted in the totals: not handed back a second time
    return UnitResult(sections, totals, shared)


def _order(name: str) -> tuple[str, ...]:
    """The order of a section's rows (the rejected lines: as read)."""
    return REPORTS[name].order if name in REPORTS else ()


def _counted(name: str) -> bool:
    """Whether a section is counts whose parts :attr:`Report.finish` combines."""
    return name in REPORTS and REPORTS[name].finish is not None


def _unit_work(unit: Unit, plan: Plan, *, jobs: int = 1, here: bool = False) -> Any:
    """:func:`_unit` as a part (:func:`auditlens.collect.gathered`); its rejects are a section
    (compliance) or a count."""
    return gathered(lambda log: _unit(unit, plan, log, jobs), here)


@dataclass
class ReadSummary:
    """What a report read: the files by kind, what was skipped, input lines and rejects."""

    files: dict[str, list[str]]
    skipped: list[str]
    id_files: list[str]
    lines: int
    reject_count: int


@dataclass
class ReportOutput:
    """What a report run produced: its sections, the cover sheet (compliance) and what was read.

    Section tables of a fleet's report can be larger than memory: they are kept on disk and read
    a batch at a time (:class:`auditlens.spill.SpilledTable`; ``.read()`` loads one). The files
    are removed by :meth:`close` (or when this object is collected)."""

    name: str
    sections: list[Section]
    cover: dict[str, str] | None
    collection: ReadSummary
    spill: Spill | None = field(default=None, repr=False)

    @property
    def table(self) -> pa.Table:
        """The single table of a one-section report, in memory."""
        if len(self.sections) != 1:
            from auditlens.errors import AuditlensError

            raise AuditlensError(f"report {self.name!r} has {len(self.sections)} sections; use .sections")
        return as_table(self.sections[0].table)

    def write(self, dest: Dest, fmt: str, *, tz: str | None = None) -> None:
        """Write in format ``fmt``: one table, or sections with the cover (compliance, html)."""
        title = "auditlens: " + (self.sections[0].title if len(self.sections) == 1 else "compliance evidence")
        if self.cover is None and fmt != "html":
            write_table(self.sections[0].table, dest, fmt, title=title, tz=tz)
        else:
            write_sections(self.sections, dest, fmt, title=title, cover=self.cover, tz=tz)

    def close(self) -> None:
        """Remove the sections kept on disk."""
        if self.spill is not None:
            self.spill.close()

    def __enter__(self) -> ReportOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cover(totals: Totals, read: ReadSummary, filters: Filters, rbac: str | None = None) -> dict[str, str]:
    """The compliance export's cover sheet; the writers add the table of sections after it."""
    from auditlens import __version__

    def iso(t: datetime | None) -> str:
        return t.astimezone(timezone.utc).isoformat(timespec="seconds") if t else "-"

    count = totals.findings.__getitem__
    holes = count('serial-gap') + count('time-gap') + count('pipeline-gap')
    gaps = (f"{holes} (serial-number holes: {count('serial-gap')}, "
            f"silent periods: {count('time-gap')}, "
            f"holes opened by a removed audit pipeline: {count('pipeline-gap')}); "
            f"silent periods that began just after an audit pipeline change (linked by time "
            f"only, among the silent periods): {count(BY_TIME)}; "
            f"lost-event reports: {count('lost-events')}; "
            f"requests without completion: {count('incomplete-request')}; "
            f"audit pipeline changes (service events): {count('pipeline-change')}")
    f = filters
    return {
        "Report": "Audit evidence (PCI DSS v4.0 requirement 10.2; SOC 2 CC7.2; NIST SP 800-53 AU-2/AU-3)",
        "Period requested": f"{iso(f.since) if f.since else 'start of logs'} to {iso(f.until) if f.until else 'end of logs'}",
        "Events in the sources": f"{iso(totals.first)} to {iso(totals.last)}",
        "Filters": f.describe(),
        "Generated (UTC)": iso(datetime.now(timezone.utc)),
        "Generated by": f"auditlens {__version__}",
        "Files read": f"{sum(len(v) for v in read.files.values())} "
                      f"(auditd: {len(read.files.get('auditd', []))}, Kubernetes: {len(read.files.get('k8s', []))}, "
                      f"cloud: {len(read.files.get('cloud', []))})",
        "Account files used for uid names": ", ".join(read.id_files) or "none",
        "Files skipped (not audit logs)": ", ".join(read.skipped) or "none",
        "Nodes": ", ".join(sorted(totals.nodes)) or "none",
        "Clusters": ", ".join(sorted(totals.clusters)) or ("unnamed" if totals.k8s_events else "none"),
        "Input lines": str(totals.lines),
        "auditd events": str(totals.auditd_events),
        "Kubernetes audit events / requests": f"{totals.k8s_events} / {totals.requests}",
        "Service (cloud) events": str(totals.cloud_events),
        "Rejected lines": f"{totals.rejects} (listed in the rejected-lines section)",
        "Gaps found": gaps,
        "RBAC export (access review)": rbac or "not given: the access review shows the access "
                                               "used, not what was granted (--rbac EXPORT)",
        "Detections (built-in rules)": cover_line(totals.detections),
        # SOC 2 auditors look for evidence that the logs were reviewed: a place to sign
        "Reviewed by (name, role, date)": "",
    }


def _results(units: list[Unit], plan: Plan, jobs: int, client: Any) -> Iterator[UnitResult]:
    """Each unit's result, in unit order, worked out as :func:`in_node_order` shares work."""
    work = partial(_unit_work, plan=plan)
    steps = [(u.label, u.files) for u in units]
    for part in in_node_order(units, steps, work, RejectLog(), jobs=jobs, client=client):
        yield part.value


def _warn_shared_nodes(seen: dict[str, str], unit: Unit, nodes: Iterable[str]) -> None:
    for node in sorted(nodes):
        other = seen.setdefault(node, unit.label)
        if other != unit.label:
            warnings.warn(f"node {node!r} is in the logs of {other!r} and of {unit.label!r}: its "
                          "sessions, serial holes and silent periods are worked out for each "
                          "apart", stacklevel=4)


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
    spill_dir: str | None = None,
    rbac: str | None = None,
) -> ReportOutput:
    """Read ``sources`` and build report ``name``; write it to ``output`` when given.

    ``since``/``until``: datetimes, ISO 8601, anything dateutil parses, or relative forms
    (``24h``, ``7d``, ``today``, ``yesterday``). Output times are UTC unless ``tz`` names a zone.
    ``jobs``: processes reading (this one and jobs-1 workers; 0: one per CPU); the report is
    the same. ``max_line_bytes``: longer input lines are rejected unread (None: each format's
    default, see :func:`auditlens.collect.collect`). ``client``: a ``distributed.Client`` whose
    workers work out the nodes (``auditlens.dask.run_report`` makes one); the report is the same.
    ``spill_dir``: where the sections are kept while the report lives (default: the system's
    temporary directory); they take about the report's size on disk. ``rbac``: the RBAC export
    (file or folder) the ``access-review`` report (also in ``compliance``) compares with.

    The report is worked out node by node (:mod:`.engine`), in memory bounded by the largest
    node. Every mistake that does not need the input (the report name, the period, the output's
    format, writer, destination and zone, ``jobs``) is refused before reading starts
    (:mod:`.preflight`).
    """
    report = get_report(name)
    compliance = report.name == COMPLIANCE
    checked = preflight(since=since, until=until, source_type=source_type, output=output,
                        fmt=fmt, sections=compliance, tz=tz, jobs=jobs,
                        max_line_bytes=max_line_bytes)
    filters = Filters(checked.since, checked.until, user, node, namespace)
    if rbac is not None:
        if report.name not in ("access-review", COMPLIANCE):
            raise AuditlensError("--rbac is for the access-review and compliance reports")
        from auditlens.rbac import read_rbac

        read_rbac(rbac, rejects=RejectLog())  # a missing or unreadable export fails before reading
    sources = [sources] if isinstance(sources, str) else list(sources)
    if not sources:
        raise SourceError("no sources given")
    routed = route(sources, source_type)
    if not routed.files:
        raise SourceError("no audit log lines found in: " + ", ".join(sources))
    units = plan_units(node_groups(routed.files.get("auditd", [])), routed.files.get("k8s", []),
                       routed.files.get("cloud", []))
    spill = Spill(spill_dir)
    names = compliance_sections() if compliance else (report.name,)
    plan = Plan(names, filters, compliance, cluster, max_line_bytes,
                None if client is not None else spill.path, rbac)
    runs: dict[str, list[Run]] = {n: [] for n in (*names, REJECTED.name)}
    counts: dict[str, list[pa.Table]] = {n: [] for n in names}
    totals = Totals()
    shared: dict[str, set[Any]] = {n: set() for n in names}
    seen: dict[str, str] = {}
    total = bytes_on_disk([f for files in routed.files.values() for f in files])
    with progress.reading(total, steps=len(units)):
        for unit, result in zip(units, _results(units, plan, jobs, client)):
            for section, part in result.sections.items():
                if isinstance(part, Run):
                    runs[section].append(part)
                elif _counted(section):
                    counts[section].append(part)
                else:  # from a Dask worker
                    runs[section].append(spill.write(part, _order(section)))
            _warn_shared_nodes(seen, unit, result.totals.nodes)
            totals.add(result.totals)
            for section, known in result.shared.items():
                shared[section] |= known
    sections = [_section(n, runs[n], counts[n], spill, frozenset(shared[n])) for n in names]
    if compliance:
        sections.append(Section(REJECTED.name, REJECTED.title, REJECTED.description,
                                spill.table(runs[REJECTED.name], REJECTED.table.schema),
                                REJECTED.requirement))
    read = ReadSummary(routed.files, routed.skipped, routed.id_files, totals.lines, totals.rejects)
    out = ReportOutput(report.name, sections, cover(totals, read, filters, rbac) if compliance else None,
                       read, spill)
    if output is not None and checked.fmt is not None:
        out.write(output, checked.fmt, tz=tz)
    return out


def _section(name: str, runs: list[Run], counts: list[pa.Table], spill: Spill,
             shared: frozenset[Any]) -> Section:
    report = REPORTS[name]
    table: TableLike
    if report.finish is not None:
        table = report.finish(counts)
    else:
        resolve = partial(report.resolve, shared) if report.resolve is not None else None
        table = spill.table(runs, runs[0].schema, report.order, hidden=HIDDEN, transform=resolve)
    return report.section(table)
