"""Every table auditlens produces, declared once. ``TABLES`` is keyed by table name."""

from __future__ import annotations

from ._column import TIME, Column, TableSchema
from .activity import ACTIVITY
from .auditd import AUDITD_EVENTS, AUDITD_RECORDS
from .common import REJECTS
from .k8s import K8S_EVENTS

TABLES: dict[str, TableSchema] = {
    t.name: t for t in (ACTIVITY, AUDITD_EVENTS, AUDITD_RECORDS, K8S_EVENTS, REJECTS)
}

__all__ = ["ACTIVITY", "AUDITD_EVENTS", "AUDITD_RECORDS", "K8S_EVENTS", "REJECTS", "TABLES", "TIME", "Column", "TableSchema"]
