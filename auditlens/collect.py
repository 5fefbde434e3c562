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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import progress
from .errors import SourceError
from .formats import route
from .rejects import RejectLog
from .scheduler import Part, check_jobs, in_order, portable, raise_error, workers
from .sources import bytes_on_disk

SourceList = Iterable[str]


@dataclass
class Collection:
    """Everything read from a set of sources: the event tables (auditd, Kubernetes, service
    events: ``cloud``) and the account of lines."""

    auditd: pa.Table
    k8s: pa.Table
    rejects: RejectLog
    files: dict[str, list[str]]
    skipped: list[str]
    lines: int
    id_files: list[str] = field(default_factory=list)
    max_line_bytes: int | None = None
    """The read's line limit (None: each format's default), for reading the files again."""
    cloud: pa.Table = field(default_factory=lambda: _empty_cloud())
    """The service (cloud control-plane) events, a ``cloud_events`` table."""

    @property
    def reject_count(self) -> int:
        return len(self.rejects)

    def auditd_records(self, types: Iterable[str]) -> pa.Table:
        """The auditd records (every field) of the same files whose type starts with one of
        ``types``, read again on demand: rule changes and lost-event counters live in fields the
        events table does not keep. Bad lines are the events' rejects again: not kept twice.
        Records without ``node=`` take their node's folder name, as the events do."""
        from .auditd.reader import read_record_types
        from .schema import AUDITD_RECORDS

        tables = [AUDITD_RECORDS.arrow.empty_table()]
        for root, files in node_groups(self.files.get("auditd", [])):
            table = read_record_types(files, types, max_line_bytes=self.max_line_bytes)
            name = _node_name(root)
            tables.append(_fill_node(table, name) if name else table)
        return pa.concat_tables(tables)


def _empty_cloud() -> pa.Table:
    from .schema import CLOUD_EVENTS

    return CLOUD_EVENTS.arrow.empty_table()


def read_cloud(files: list[str], *, errors: str, rejects: RejectLog, jobs: int = 1,
               max_line_bytes: int | None = None) -> pa.Table:
    """The service events of ``files``: the one door to the cloud reader, imported when first
    needed (reports and ``activity`` work without it when no service log is read)."""
    from .cloud.reader import read_cloud_audit

    return read_cloud_audit(files, errors=errors, rejects=rejects, jobs=jobs,
                            max_line_bytes=max_line_bytes)


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


def lines_read(table: pa.Table) -> int:
    """The input lines a reader's table was made from (its ``auditlens.lines`` metadata)."""
    meta = table.schema.metadata or {}
    return int(meta.get(b"auditlens.lines", b"0"))


def read_node(root: Path | None, files: list[str], *, errors: str, rejects: RejectLog,
              jobs: int = 1, max_line_bytes: int | None = None) -> pa.Table:
    """One node's auditd events: its uids named from its own passwd/group, rows without
    ``node=`` named after its folder; :func:`lines_read` tells its input lines."""
    from .auditd.reader import read_auditd

    table = read_auditd(files, passwd=_id_file(root, "passwd"), group=_id_file(root, "group"),
                        errors=errors, rejects=rejects, jobs=jobs, max_line_bytes=max_line_bytes)
    name = _node_name(root)
    return _fill_node(table, name) if name else table


@dataclass
class _NodePart(Part):
    """A whole node read in a worker, with the warnings it gave, to give again in the parent;
    a result that is not a table (``value``) is pickled, a table travels as :class:`Part` says."""

    warned: list[tuple[type[Warning], str]] = field(default_factory=list)
    value: Any = None


def _read_node_work(group: tuple[Path | None, list[str]], errors: str,
                    max_line_bytes: int | None = None, *, jobs: int = 1,
                    here: bool = False) -> Any:
    """:func:`read_node` of ``(root, files)`` as a part: its table, rejects and warnings (see
    :func:`in_node_order`)."""
    return gathered(lambda log: read_node(*group, errors=errors, rejects=log, jobs=jobs,
                                          max_line_bytes=max_line_bytes), here)


def gathered(read: Callable[[RejectLog], Any], here: bool = False) -> Any:
    """A part holding ``read(rejects)``'s result, with its rejects and warnings, or
    the error it raised, for the process that wants it to give them in order. Read elsewhere
    (not ``here``), the read's own progress is paused: the parent counts it when it arrives."""
    part = _NodePart()
    log = RejectLog()
    with warnings.catch_warnings(record=True) as seen, \
            (nullcontext() if here else progress.paused()):
        warnings.simplefilter("always")
        try:
            result = read(log)
            if isinstance(result, pa.Table):
                part.table = result
            else:
                part.value = result
        except Exception as exc:  # noqa: BLE001 - raised by the parent, in node order
            part.error = portable(exc)
    part.rejects = list(log)
    part.warned = [(w.category, str(w.message)) for w in seen]
    return part


def in_node_order(items: list[Any], steps: list[tuple[str, list[str]]],
                  work: Callable[..., Any], rejects: RejectLog, *, jobs: int = 1,
                  client: Any = None) -> Iterator[Any]:
    """Each item's part (``work(item)``, a :func:`gathered` part) in item order, its warnings
    given again here, its rejects passed on, its error raised. ``steps``: each item's progress
    label and files. With ``jobs``, items are worked side by side, by this process and worker
    processes; with a Dask ``client``, by the cluster's workers; with one item (or one CPU),
    here, by ``work(item, jobs=jobs, here=True)``, which may cut its files into pieces."""
    if client is not None:
        yield from _delivered(steps, _on_dask(client, work, items), rejects)
        return
    count = check_jobs(jobs)
    readers = min(count, len(items))
    if readers < 2:
        for item, (label, _) in zip(items, steps):
            progress.step(label)
            yield _opened(work(item, jobs=jobs, here=True), rejects)
        return
    with workers(count - 1, (__name__,)) as team:  # the program's pool (kept)
        parts = (part for _, part in in_order(team.executor, readers - 1, work, items))
        yield from _delivered(steps, parts, rejects)


def _steps(groups: list[tuple[Path | None, list[str]]]) -> list[tuple[str, list[str]]]:
    """Each node's progress label and files."""
    return [(_node_name(root) or "auditd", files) for root, files in groups]


def _opened(part: Any, rejects: RejectLog) -> Any:
    """``part`` after its warnings are given again here, its rejects passed on and its error
    raised."""
    for category, message in part.warned:
        warnings.warn(message, category, stacklevel=4)
    for item in part.rejects:
        rejects.add(item)
    if part.error is not None:
        raise_error(part.error, 0)
    return part


def _delivered(steps: list[tuple[str, list[str]]], parts: Iterator[Any],
               rejects: RejectLog) -> Iterator[Any]:
    """Parts worked elsewhere, in order (``steps``: each one's progress label and files),
    :func:`_opened`, their bytes counted as each arrives."""
    progress.step(steps[0][0])
    for k, ((_, files), part) in enumerate(zip(steps, parts), 1):
        progress.advance(bytes_on_disk(files) or 0)
        if k < len(steps):
            progress.step(steps[k][0])
        yield _opened(part, rejects)


def _read_k8s_work(files: list[str], errors: str, cluster: str | None,
                   max_line_bytes: int | None) -> Any:
    """The Kubernetes logs read as one part (on a Dask worker), like :func:`_read_node_work`."""
    from .k8s.reader import read_k8s_audit

    return gathered(lambda log: read_k8s_audit(files, errors=errors, rejects=log, cluster=cluster,
                                               max_line_bytes=max_line_bytes))


def _on_dask(client: Any, work: Callable[..., Any], items: list[Any]) -> Iterator[Any]:
    """``work(item)`` of each item on a Dask cluster, the results in item order. A few tasks per
    worker thread are out at once, and each result is let go once taken: a finished task's
    result otherwise stays in its worker's memory until every one is gathered."""
    window = max(2, 2 * sum(client.nthreads().values()))
    todo = iter(items)
    out = deque(client.submit(work, item, pure=False) for item in islice(todo, window))
    while out:
        future = out.popleft()
        result = future.result()
        del future
        out.extend(client.submit(work, item, pure=False) for item in islice(todo, 1))
        yield result


def node_tables(groups: list[tuple[Path | None, list[str]]], *, errors: str, rejects: RejectLog,
                jobs: int = 1, max_line_bytes: int | None = None,
                client: Any = None) -> Iterator[pa.Table]:
    """Each node's :func:`read_node` table in node order (:func:`in_node_order`; on a Dask
    ``client``'s workers when one is given): the tables, rejects and warnings one process gives,
    in the same order."""
    work = partial(_read_node_work, errors=errors, max_line_bytes=max_line_bytes)
    for part in in_node_order(groups, _steps(groups), work, rejects, jobs=jobs, client=client):
        yield part.table


def read_auditd_collection(groups: list[tuple[Path | None, list[str]]], *, errors: str,
                           rejects: RejectLog, jobs: int = 1, max_line_bytes: int | None = None,
                           client: Any = None) -> tuple[pa.Table, int]:
    """The :func:`node_tables` as one table, and the input lines they were read from."""
    from .schema import AUDITD_EVENTS

    tables = list(node_tables(groups, errors=errors, rejects=rejects, jobs=jobs,
                              max_line_bytes=max_line_bytes, client=client))
    if not tables:
        return AUDITD_EVENTS.arrow.empty_table(), 0
    lines = sum(lines_read(t) for t in tables)
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
    cloud_files = routed.files.get("cloud", [])
    total = bytes_on_disk([f for files in routed.files.values() for f in files])
    with progress.reading(total, steps=len(groups) + bool(k8s_files) + bool(cloud_files)):
        remote = None if client is None or not k8s_files else client.submit(
            _read_k8s_work, k8s_files, errors, cluster, max_line_bytes, pure=False)
        auditd, lines = read_auditd_collection(groups, errors=errors, rejects=log, jobs=jobs,
                                               max_line_bytes=max_line_bytes, client=client)
        if remote is not None:
            (part,) = _delivered([("Kubernetes", k8s_files)], iter([remote.result()]), log)
            k8s = part.table
        elif k8s_files:
            progress.step("Kubernetes")
            k8s = read_k8s_audit(k8s_files, errors=errors, rejects=log, cluster=cluster,
                                 jobs=jobs, max_line_bytes=max_line_bytes)
        else:
            k8s = K8S_EVENTS.arrow.empty_table()
        lines += lines_read(k8s)
        k8s = k8s.replace_schema_metadata(None)
        if cloud_files:
            progress.step("Service events")
            cloud = read_cloud(cloud_files, errors=errors, rejects=log, jobs=jobs,
                               max_line_bytes=max_line_bytes)
            lines += lines_read(cloud)
            cloud = cloud.replace_schema_metadata(None)
        else:
            cloud = _empty_cloud()
    return Collection(auditd, k8s, log, routed.files, routed.skipped, lines, routed.id_files,
                      max_line_bytes, cloud)

