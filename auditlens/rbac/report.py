"""The ``access-review`` report: the review of a log's requests against an RBAC export, or, when
no export is given, the used access per subject (what the log alone can say).

The report engine hands over the Kubernetes requests of the cluster unit (all the Kubernetes
logs are one unit, so the review sees the whole window) and the export's path; the export's
malformed objects join the report's rejected lines.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.rejects import RejectLog
from auditlens.schema import ACCESS_REVIEW

from .load import read_rbac
from .requests import rbac_requests
from .review import review_access

__all__ = ["access_review"]


def access_review(k8s: pa.Table, export: str | None, *, since: datetime | None = None,
                  until: datetime | None = None, user: str | None = None,
                  namespace: str | None = None, rejects: RejectLog | None = None) -> pa.Table:
    """The ``access_review`` rows of the requests in ``k8s`` (a ``k8s_events`` table) within the
    period, by ``user`` (subject or the authenticated user behind it) and in ``namespace``."""
    if k8s.num_rows == 0:
        return ACCESS_REVIEW.empty()
    requests = rbac_requests(k8s)
    mask = pa.array([True] * requests.num_rows)
    time_type = requests["time"].type
    if since is not None:
        mask = pc.and_(mask, pc.fill_null(pc.greater_equal(requests["time"], pa.scalar(since, time_type)), False))
    if until is not None:
        mask = pc.and_(mask, pc.fill_null(pc.less_equal(requests["time"], pa.scalar(until, time_type)), False))
    if user:
        mask = pc.and_(mask, pc.fill_null(pc.or_(pc.equal(requests["subject"], user),
                                                 pc.equal(requests["authenticated_user"], user)), False))
    if namespace:
        mask = pc.and_(mask, pc.fill_null(pc.equal(requests["namespace"], namespace), False))
    policy = read_rbac(export, rejects=rejects) if export else None
    rows = review_access(requests.filter(mask), policy).rows
    if user:  # the user's own rows and the group grants the user used
        keep = [s == user or user in (by or ()) for s, by in
                zip(rows["subject"].to_pylist(), rows["used_by"].to_pylist())]
        rows = rows.filter(pa.array(keep, pa.bool_()))
    return rows
