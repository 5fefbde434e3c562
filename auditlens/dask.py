"""Dask DataFrames of audit logs, for fleets larger than one machine (``pip install 'auditlens[dask]'``).

::

    import auditlens.dask
    events = auditlens.dask.read_auditd("s3-mounted/nodes/*/var/log/audit/")   # lazy
    events[events.result == "failed"].groupby("node").size().compute()

Partitions are built with :func:`dask.dataframe.from_map`, one per **log stream**: for auditd,
the rotated files of one log (``audit.log.3`` … ``audit.log`` in one directory) are one partition,
because an event can straddle a rotation and is only whole when the files are read in order;
for Kubernetes every file is one partition (Events never straddle files). Columns have
Arrow-backed dtypes (``pd.ArrowDtype``) with the declared schema as ``meta``, so nothing is
inferred and the partitions concatenate to the table ``auditlens.read_*`` gives for the same
inputs. Bad lines are handled per partition as ``errors=`` says.

Rejects: a lazy frame cannot fill the caller's ``RejectLog`` (the lines are read later, maybe on
another machine), and a warning on a remote worker is as good as silent. So
``read_*_with_rejects`` give the rejects (file, line, reason, raw) as a second lazy frame, read
in the same task as the rows; the plain readers only count them, in a warning that names those.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa

from .errors import AuditlensError
from .rejects import RejectLog
from .schema import AUDITD_EVENTS, K8S_EVENTS, REJECTS
from .sources import Source, expand_sources
from .sources.inputs import rotation_key

__all__ = ["Frames", "connect", "log_streams", "read_auditd", "read_auditd_with_rejects",
           "read_k8s_audit", "read_k8s_audit_with_rejects", "run_report"]


def _paths(source: Source) -> list[str]:
    files = expand_sources(source)
    if any(f.size is None for f in files):
        raise ValueError("auditlens.dask reads files (every worker opens its own), not streams")
    return [f.name for f in files]


def log_streams(source: Source) -> list[list[str]]:
    """The input files grouped into log streams: the rotated files of one log, oldest first."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in _paths(source):
        path = Path(name)
        groups.setdefault((str(path.parent), rotation_key(path)[0]), []).append(name)
    return list(groups.values())


def _frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _meta(schema: pa.Schema) -> pd.DataFrame:
    return _frame(schema.empty_table())


class Frames(NamedTuple):
    """A lazy table and the input lines it rejected, one partition each per input part.

    Compute them together (``dask.compute(f.rows, f.rejects)``) to read every part once."""

    rows: dd.DataFrame
    rejects: dd.DataFrame


def _read_both(read: Callable[..., pa.Table], source: Any, errors: str = "collect",
               **options: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    log = RejectLog()
    table = read(source, errors=errors, rejects=log, **options)
    return _frame(table), _frame(log.table())


def _rows_only(source: Any, read: Callable[..., pa.Table], reader: str,
               **options: Any) -> pd.DataFrame:
    """A partition of a plain reader. The reader's own warning would say "pass rejects=", which
    these readers cannot take; this one names the reader that gives the rejects."""
    rows, rejects = _read_both(read, source, **options)
    if len(rejects):
        warnings.warn(
            f"{len(rejects)} line(s) of {source if isinstance(source, str) else ', '.join(source)}"
            f" were rejected; auditlens.dask.{reader}"
            "_with_rejects() gives them as a second lazy frame (file, line, reason, raw)",
            stacklevel=2,
        )
    return rows


def _with_rejects(read: Callable[..., pa.Table], parts: Sequence[Any], schema: pa.Schema,
                  label: str, **options: Any) -> Frames:
    both = [dask.delayed(_read_both, pure=True)(read, part, **options) for part in parts]
    return Frames(
        dd.from_delayed([b[0] for b in both], meta=_meta(schema), prefix=label,
                        verify_meta=False),
        dd.from_delayed([b[1] for b in both], meta=_meta(REJECTS.arrow), prefix=f"{label}-rejects",
                        verify_meta=False),
    )


def read_auditd(source: Source, *, passwd: Any = None, group: Any = None,
                errors: str = "collect") -> dd.DataFrame:
    """auditd events as a lazy dask DataFrame, one partition per log stream (see module doc).

    ``passwd``/``group`` must be paths the workers can read (or mappings node → path). Rejected
    lines are only counted (a warning per partition); :func:`read_auditd_with_rejects` gives them.
    """
    from .auditd.reader import read_auditd as read

    return dd.from_map(_rows_only, log_streams(source), read=read, reader="read_auditd",
                       passwd=passwd, group=group, errors=errors,
                       meta=_meta(AUDITD_EVENTS.arrow), label="read-auditd",
                       enforce_metadata=False)


def read_k8s_audit(source: Source, *, errors: str = "collect", keep_objects: bool = True,
                   cluster: str | None = None) -> dd.DataFrame:
    """Kubernetes API audit Events as a lazy dask DataFrame, one partition per file. Rejected
    lines are only counted (a warning per partition); :func:`read_k8s_audit_with_rejects` gives
    them."""
    from .k8s.reader import read_k8s_audit as read

    return dd.from_map(_rows_only, _paths(source), read=read, reader="read_k8s_audit",
                       errors=errors, keep_objects=keep_objects, cluster=cluster,
                       meta=_meta(K8S_EVENTS.arrow), label="read-k8s-audit",
                       enforce_metadata=False)


def read_auditd_with_rejects(source: Source, *, passwd: Any = None, group: Any = None) -> Frames:
    """:func:`read_auditd` (``errors="collect"``) and the lines it rejected, as two lazy frames:
    ``rows`` and ``rejects`` (file, line, reason, raw), one partition each per log stream.
    Every input line is in one of them: in an event (``record_count`` lines) or a reject."""
    from .auditd.reader import read_auditd as read

    return _with_rejects(read, log_streams(source), AUDITD_EVENTS.arrow, "read-auditd",
                         passwd=passwd, group=group)


def read_k8s_audit_with_rejects(source: Source, *, keep_objects: bool = True,
                                cluster: str | None = None) -> Frames:
    """:func:`read_k8s_audit` (``errors="collect"``) and the Events/lines it rejected."""
    from .k8s.reader import read_k8s_audit as read

    return _with_rejects(read, _paths(source), K8S_EVENTS.arrow, "read-k8s-audit",
                         keep_objects=keep_objects, cluster=cluster)


@contextmanager
def connect(address: str, timeout: str = "30s") -> Iterator[Any]:
    """A ``distributed.Client`` of the cluster at ``address`` (``tcp://host:8786``, reached
    within ``timeout``), or of a new ``LocalCluster`` on this machine for ``"local"`` (closed
    again at the end of the block)."""
    from distributed import Client, LocalCluster

    if address == "local":
        with LocalCluster(processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise AuditlensError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def run_report(name: str, sources: str | Sequence[str], *, client: Any = None,
               address: str | None = None, **options: Any) -> Any:
    """:func:`auditlens.run_report` with each node's logs (and the Kubernetes logs) read by a
    Dask cluster's workers and gathered here in node order: the same report, row for row. Give
    a ``client``, or an ``address`` (``"local"`` for a LocalCluster on this machine). The
    workers must see the log paths as this machine does (shared storage). Options are
    :func:`auditlens.run_report`'s; ``jobs`` does not apply."""
    from .reports import run_report as run

    if client is not None:
        return run(name, sources, client=client, **options)
    if address is None:
        raise AuditlensError("give client= or address= (a scheduler address, or 'local')")
    with connect(address) as made:
        return run(name, sources, client=made, **options)
