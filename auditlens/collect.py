"""Reading a mixed collection of audit logs: node audit directories and API server logs together.

Auditors hand over what collectors copied: ``nodes/worker-1/var/log/audit/…`` beside
``nodes/worker-1/etc/passwd``, API server logs, sometimes single files. Each file is routed to
its reader by content; a node's ``etc/passwd`` and ``etc/group`` (found in the node's root, the
directory that holds ``var/log/audit`` or ``etc/passwd``) name the uids of that node's RAW logs,
never the analyst's own machine. Files found by walking a directory that are neither kind are
listed in :attr:`Collection.skipped`, never dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import progress
from .errors import SourceError
from .rejects import RejectLog
from .scheduler import Part, check_jobs, in_order, portable, raise_error, worker_pool
from .sources import bytes_on_disk, expand_sources

SourceList = Iterable[str]


@dataclass
class Routed:
    """Input files by kind, in reading order, and what was skipped on the way."""

    files: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    id_files: list[str] = field(default_factory=list)


@dataclass
class Collection:
    """Everything read from a set of sources: the two event tables and the account of lines."""

    auditd: pa.Table
    k8s: pa.Table
    rejects: RejectLog
    files: dict[str, list[str]]
    skipped: list[str]
    lines: int
    id_files: list[str] = field(default_factory=list)
    max_line_bytes: int | None = None
    """The read's line limit (None: each format's default), for reading the files again."""

    @property
    def reject_count(self) -> int:
        return len(self.rejects)

    def auditd_records(self, types: Iterable[str]) -> pa.Table:
        """The auditd records (every field) of the same files whose type starts with one of
        ``types``, read again on demand: rule changes and lost-event counters live in fields the
        events table does not keep. Bad lines are the events' rejects again: not kept twice."""
        from .auditd.reader import read_record_types
        from .schema import AUDITD_RECORDS

        files = self.files.get("auditd", [])
        if not files:
            return AUDITD_RECORDS.arrow.empty_table()
        return read_record_types(files, types, max_line_bytes=self.max_line_bytes)


def route(sources: SourceList, source_type: str = "auto") -> Routed:
    """Expand ``sources`` and route each file to a reader by its content (or by ``source_type``).

    A file named directly that is neither kind is an error; one found by walking a directory or
    by a glob is skipped and listed (a README, a copied passwd file). Empty files hold no lines and are left out.
    """
    from .detect import detect_file

    routed = Routed()
    for item in sources:
        for inp in expand_sources(item):
            from_dir = inp.name != str(item)  # found by walking a directory or by a glob
            kind = source_type if source_type != "auto" else detect_file(inp)
            if kind is None:
                if inp.size == 0:
                    continue
                if from_dir and _is_id_file(inp.name):
                    routed.id_files.append(inp.name)  # a node's etc/passwd, used to name uids
                    continue
                if from_dir:
                    routed.skipped.append(inp.name)
                    continue
                raise SourceError(
                    "cannot tell whether this is an auditd or a Kubernetes audit log; "
                    "use --source-type auditd|k8s",
                    file=inp.name,
                )
            routed.files.setdefault(kind, []).append(inp.name)
    return routed


def _is_id_file(path: str) -> bool:
    p = Path(path)
    return p.name in ("passwd", "group") and p.parent.name == "etc"


def node_root(path: str) -> Path | None:
    """The directory a collector copied a node into: the parent of ``var/log/audit``, or the
    nearest ancestor holding ``etc/passwd``; None for a loose file."""
    p = Path(path).parent
    for anc in (p, *p.parents):
        if anc.name == "audit" and anc.parent.name == "log" and anc.parent.parent.name == "var":
            return anc.parent.parent.parent
        if (anc / "etc" / "passwd").is_file():
            return anc
    return None


def node_groups(files: list[str]) -> list[tuple[Path | None, list[str]]]:
    """``files`` by node root, in order of first appearance (the loose files as root None)."""
    groups: dict[Path | None, list[str]] = {}
    for f in files:
        groups.setdefault(node_root(f), []).append(f)
    return list(groups.items())


def _id_file(root: Path | None, name: str) -> Path | None:
    if root is None:
        return None
    candidate = root / "etc" / name
    return candidate if candidate.is_file() else None


def _node_name(root: Path | None) -> str | None:
    """The name a node copied into ``root`` goes by (None: loose files)."""
    return root.name if root is not None and root.name else None


def _fill_node(table: pa.Table, name: str) -> pa.Table:
    """Logs without ``node=`` prefixes take the name of the directory the node was copied into."""
    idx = table.schema.get_field_index("node")
    column = table.column(idx)
    if column.null_count == 0:
        return table
    return table.set_column(idx, "node", pc.fill_null(column, name))


def _lines(table: pa.Table) -> int:
    meta = table.schema.metadata or {}
    return int(meta.get(b"auditlens.lines", b"0"))


def _read_node(root: Path | None, files: list[str], errors: str, rejects: RejectLog,
               jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """One node's auditd events, its uids named from its own passwd/group."""
    from .auditd.reader import read_auditd

    return read_auditd(files, passwd=_id_file(root, "passwd"), group=_id_file(root, "group"),
                       errors=errors, rejects=rejects, jobs=jobs, max_line_bytes=max_line_bytes)


@dataclass
class _NodePart(Part):
    """A whole node read in a worker, with the warnings it gave, to give again in the parent."""

    warned: list[tuple[type[Warning], str]] = field(default_factory=list)


def _read_node_work(group: tuple[Path | None, list[str]], errors: str,
                    max_line_bytes: int | None = None) -> Any:
    """:func:`_read_node` of ``(root, files)`` as a part: its table, rejects and warnings (for a
    worker process; the parent reads some nodes this way too)."""
    part = _NodePart()
    log = RejectLog()
    # the parent counts a node by its files' sizes when its part arrives, read where it may
    with warnings.catch_warnings(record=True) as seen, progress.paused():
        warnings.simplefilter("always")
        try:
            part.table = _read_node(*group, errors, log, max_line_bytes=max_line_bytes)
        except Exception as exc:  # noqa: BLE001 - raised by the parent, in node order
            part.error = portable(exc)
    part.rejects = list(log)
    part.warned = [(w.category, str(w.message)) for w in seen]
    return part


def _node_tables(groups: list[tuple[Path | None, list[str]]], errors: str, rejects: RejectLog,
                 jobs: int, max_line_bytes: int | None = None,
                 client: Any = None) -> Iterator[pa.Table]:
    """Each node's table in node order. With ``jobs``, the nodes of a fleet are read side by
    side, by this process and worker processes; with a Dask ``client``, by the cluster's
    workers; either way with the tables, rejects and warnings one process gives, in the same
    order. Each node is a :func:`progress.step`, named when this process begins it or waits
    for it."""
    work = partial(_read_node_work, errors=errors, max_line_bytes=max_line_bytes)
    if client is not None:
        futures = client.map(work, groups, pure=False)  # all at once; taken in node order
        yield from _delivered(_steps(groups), (f.result() for f in futures), rejects)
        return
    readers = min(check_jobs(jobs), len(groups))
    if readers < 2:  # one node (its files are cut into pieces instead), or one CPU
        for root, files in groups:
            progress.step(_node_name(root) or "auditd")
            yield _read_node(root, files, errors, rejects, jobs, max_line_bytes)
        return
    with worker_pool(readers - 1) as pool:
        parts = (part for _, part in in_order(pool, readers - 1, work, groups))
        yield from _delivered(_steps(groups), parts, rejects)


def _steps(groups: list[tuple[Path | None, list[str]]]) -> list[tuple[str, list[str]]]:
    """Each node's progress label and files."""
    return [(_node_name(root) or "auditd", files) for root, files in groups]


def _delivered(steps: list[tuple[str, list[str]]], parts: Iterator[Any],
               rejects: RejectLog) -> Iterator[pa.Table]:
    """The tables of parts read elsewhere, in order (``steps``: each one's progress label and
    files): their warnings given again here, their rejects passed on, their errors raised, their
    bytes counted as each arrives."""
    progress.step(steps[0][0])
    for k, ((_, files), part) in enumerate(zip(steps, parts), 1):
        progress.advance(bytes_on_disk(files) or 0)
        if k < len(steps):
            progress.step(steps[k][0])
        for category, message in part.warned:
            warnings.warn(message, category, stacklevel=3)
        for item in part.rejects:
            rejects.add(item)
        if part.error is not None:
            raise_error(part.error, 0)
        yield part.table


def _read_k8s_work(files: list[str], errors: str, cluster: str | None,
                   max_line_bytes: int | None) -> Any:
    """The Kubernetes logs read as one part (on a Dask worker), like :func:`_read_node_work`."""
    from .k8s.reader import read_k8s_audit

    part = _NodePart()
    log = RejectLog()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            part.table = read_k8s_audit(files, errors=errors, rejects=log, cluster=cluster,
                                        max_line_bytes=max_line_bytes)
        except Exception as exc:  # noqa: BLE001 - raised by the client, after the nodes
            part.error = portable(exc)
    part.rejects = list(log)
    part.warned = [(w.category, str(w.message)) for w in seen]
    return part


def read_auditd_collection(groups: list[tuple[Path | None, list[str]]], *, errors: str,
                           rejects: RejectLog, jobs: int = 1, max_line_bytes: int | None = None,
                           client: Any = None) -> tuple[pa.Table, int]:
    """auditd events of the files of each node root (:func:`node_groups`), one read per node
    so each uses its own passwd/group (on a Dask ``client``'s workers when one is given)."""
    from .schema import AUDITD_EVENTS

    tables: list[pa.Table] = []
    lines = 0
    nodes = _node_tables(groups, errors, rejects, jobs, max_line_bytes, client)
    for (root, _), table in zip(groups, nodes):
        lines += _lines(table)
        name = _node_name(root)
        tables.append(_fill_node(table, name) if name else table)
    if not tables:
        return AUDITD_EVENTS.arrow.empty_table(), 0
    return pa.concat_tables(tables).replace_schema_metadata(None), lines


def collect(
    sources: SourceList,
    *,
    source_type: str = "auto",
    cluster: str | None = None,
    errors: str = "collect",
    rejects: RejectLog | None = None,
    jobs: int = 1,
    max_line_bytes: int | None = None,
    client: Any = None,
) -> Collection:
    """Read every auditd and Kubernetes audit log in ``sources`` (files, directories, globs).

    ``jobs``: processes reading (this one and jobs-1 workers; 0: one per CPU): nodes are read
    side by side, a single large log is cut into pieces; the result is the same as with one.
    ``max_line_bytes``: the readers' line limit for both formats (None: each format's own,
    1 MiB for auditd, 64 MiB for Kubernetes). The read is announced to :mod:`auditlens.progress`
    (its bytes; each node, then the Kubernetes logs, a step): a bar inside its ``shown_on``.
    ``client``: a ``distributed.Client``: each node, and the Kubernetes logs, are read by the
    cluster's workers (which must see the same paths) and gathered here in order; the
    collection is the one this process would read (see :mod:`auditlens.dask`)."""
    from .k8s.reader import read_k8s_audit
    from .schema import K8S_EVENTS

    sources = list(sources)
    if not sources:
        raise SourceError("no sources given")
    routed = route(sources, source_type)
    if not routed.files:
        raise SourceError("no audit log lines found in: " + ", ".join(sources))
    log = rejects if rejects is not None else RejectLog()
    groups = node_groups(routed.files.get("auditd", []))
    k8s_files = routed.files.get("k8s", [])
    total = bytes_on_disk([f for files in routed.files.values() for f in files])
    with progress.reading(total, steps=len(groups) + bool(k8s_files)):
        remote = None if client is None or not k8s_files else client.submit(
            _read_k8s_work, k8s_files, errors, cluster, max_line_bytes, pure=False)
        auditd, lines = read_auditd_collection(groups, errors=errors, rejects=log, jobs=jobs,
                                               max_line_bytes=max_line_bytes, client=client)
        if remote is not None:
            (k8s,) = _delivered([("Kubernetes", k8s_files)], iter([remote.result()]), log)
        elif k8s_files:
            progress.step("Kubernetes")
            k8s = read_k8s_audit(k8s_files, errors=errors, rejects=log, cluster=cluster,
                                 jobs=jobs, max_line_bytes=max_line_bytes)
        else:
            k8s = K8S_EVENTS.arrow.empty_table()
        lines += _lines(k8s)
        k8s = k8s.replace_schema_metadata(None)
    return Collection(auditd, k8s, log, routed.files, routed.skipped, lines, routed.id_files,
                      max_line_bytes)

