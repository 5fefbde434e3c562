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
inputs. Bad lines are handled per partition as ``errors=`` says. A warning on a remote worker
is as good as silent, so ``read_*_with_rejects`` give the rejects (file, line, reason, raw) as a
second lazy frame, read in the same task as the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa

from .rejects import RejectLog
from .schema import AUDITD_EVENTS, K8S_EVENTS, REJECTS
from .sources import Source, expand_sources
from .sources.inputs import rotation_key

__all__ = ["Frames", "log_streams", "read_auditd", "read_auditd_with_rejects", "read_k8s_audit",
           "read_k8s_audit_with_rejects"]


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


def _auditd_part(files: list[str], passwd: Any, group: Any, errors: str) -> pd.DataFrame:
    from .auditd.reader import read_auditd as read

    return _frame(read(files, passwd=passwd, group=group, errors=errors))


def _k8s_part(file: str, errors: str, keep_objects: bool, cluster: str | None) -> pd.DataFrame:
    from .k8s.reader import read_k8s_audit as read

    return _frame(read(file, errors=errors, keep_objects=keep_objects, cluster=cluster))


class Frames(NamedTuple):
    """A lazy table and the input lines it rejected, one partition each per input part.

    Compute them together (``dask.compute(f.rows, f.rejects)``) to read every part once."""

    rows: dd.DataFrame
    rejects: dd.DataFrame


def _read_both(read: Callable[..., pa.Table], source: Any,
               **options: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    log = RejectLog()
    table = read(source, errors="collect", rejects=log, **options)
    return _frame(table), _frame(log.table())


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

    ``passwd``/``group`` must be paths the workers can read (or mappings node → path).
    """
    streams = log_streams(source)
    return dd.from_map(_auditd_part, streams, passwd=passwd, group=group, errors=errors,
                       meta=_meta(AUDITD_EVENTS.arrow), label="read-auditd",
                       enforce_metadata=False)


def read_k8s_audit(source: Source, *, errors: str = "collect", keep_objects: bool = True,
                   cluster: str | None = None) -> dd.DataFrame:
    """Kubernetes API audit Events as a lazy dask DataFrame, one partition per file."""
    files: Sequence[str] = _paths(source)
    return dd.from_map(_k8s_part, list(files), errors=errors, keep_objects=keep_objects,
                       cluster=cluster, meta=_meta(K8S_EVENTS.arrow), label="read-k8s-audit",
                       enforce_metadata=False)


def read_auditd_with_rejects(source: Source, *, passwd: Any = None, group: Any = None) -> Frames:
    """:func:`read_auditd` (``errors="collect"``) and the lines it rejected, as two lazy frames."""
    from .auditd.reader import read_auditd as read

    return _with_rejects(read, log_streams(source), AUDITD_EVENTS.arrow, "read-auditd",
                         passwd=passwd, group=group)


def read_k8s_audit_with_rejects(source: Source, *, keep_objects: bool = True,
                                cluster: str | None = None) -> Frames:
    """:func:`read_k8s_audit` (``errors="collect"``) and the Events/lines it rejected."""
    from .k8s.reader import read_k8s_audit as read

    return _with_rejects(read, _paths(source), K8S_EVENTS.arrow, "read-k8s-audit",
                         keep_objects=keep_objects, cluster=cluster)
