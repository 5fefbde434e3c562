"""Every table auditlens produces, declared once. ``TABLES`` is keyed by table name."""

from __future__ import annotations

from ._column import TIME, Column, TableSchema
from .activity import ACTIVITY, ACTIVITY_SUMMARY
from .auditd import AUDITD_EVENTS, AUDITD_RECORDS
from .cloud import CLOUD_EVENTS
from .common import REJECTS
from .detections import DETECTION_RULES, DETECTIONS
from .k8s import K8S_EVENTS
from .rbac import ACCESS_REVIEW, ACCESS_SUBJECTS, RBAC_REQUESTS
from .reports import AUDIT_TRAIL, SESSIONS, TIMELINE

TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (ACTIVITY, ACTIVITY_SUMMARY, AUDIT_TRAIL, AUDITD_EVENTS, AUDITD_RECORDS, CLOUD_EVENTS, DETECTIONS,
              DETECTION_RULES, K8S_EVENTS, REJECTS, SESSIONS, TIMELINE, ACCESS_REVIEW, ACCESS_SUBJECTS,
              RBAC_REQUESTS)
}

__all__ = ["ACCESS_REVIEW", "ACCESS_SUBJECTS", "ACTIVITY", "ACTIVITY_SUMMARY", "AUDITD_EVENTS", "AUDITD_RECORDS", "AUDIT_TRAIL", "CLOUD_EVENTS", "DETECTIONS", "DETECTION_RULES", "K8S_EVENTS", "RBAC_REQUESTS", "REJECTS", "SESSIONS", "TABLES", "TIME", "TIMELINE", "Column", "TableSchema"]
