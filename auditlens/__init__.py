"""auditlens: audit logs as evidence tables — who did what, when, from where, and whether it worked.

Readers return Arrow tables with one declared schema each (:mod:`auditlens.schema`)::

    import auditlens
    events = auditlens.read_auditd("nodes/worker-1/var/log/audit/")       # one row per event
    api = auditlens.read_k8s_audit("kube-apiserver/audit.log")            # one row per Event
    svc = auditlens.read_cloud_audit("activity-tracker/")                 # one row per service event
    who = auditlens.activity(auditd=events, k8s=api)                      # one row per action
    review = auditlens.review_access(auditlens.rbac_requests(api),        # granted vs used access
                                     auditlens.read_rbac("rbac-export.yaml"))

``open_*`` variants stream RecordBatches with bounded memory. Rejected lines are never silent:
pass ``rejects=auditlens.RejectLog()`` to see them (``errors="raise"`` stops at the first).
The public names are resolved lazily so that ``import auditlens`` stays cheap (no pandas, no click).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import AuditlensError, FormatError, InvalidLine, ParseError, SourceError

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "RejectLog": "auditlens.rejects",
    "read_auditd": "auditlens.auditd.reader",
    "open_auditd": "auditlens.auditd.reader",
    "read_auditd_records": "auditlens.auditd.reader",
    "open_auditd_records": "auditlens.auditd.reader",
    "read_k8s_audit": "auditlens.k8s.reader",
    "open_k8s_audit": "auditlens.k8s.reader",
    "read_cloud_audit": "auditlens.cloud.reader",
    "open_cloud_audit": "auditlens.cloud.reader",
    "activity": "auditlens.actions",
    "detect": "auditlens.detections",
    "run_report": "auditlens.reports",
    "list_reports": "auditlens.reports",
    "read_rbac": "auditlens.rbac",
    "rbac_requests": "auditlens.rbac",
    "review_access": "auditlens.rbac",
    "generate_rbac": "auditlens.rbac",
}

__all__ = sorted(
    [
        "AuditlensError",
        "FormatError",
        "InvalidLine",
        "ParseError",
        "SourceError",
        "__version__",
        *_LAZY,
    ]
)

if TYPE_CHECKING:  # pragma: no cover
    from .actions import activity
    from .auditd.reader import open_auditd, open_auditd_records, read_auditd, read_auditd_records
    from .cloud.reader import open_cloud_audit, read_cloud_audit
    from .detections import detect
    from .k8s.reader import open_k8s_audit, read_k8s_audit
    from .rbac import generate_rbac, rbac_requests, read_rbac, review_access
    from .rejects import RejectLog
    from .reports import list_reports, run_report


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'auditlens' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
