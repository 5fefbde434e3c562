"""Every table auditlens produces, declared once. ``TABLES`` is keyed by table name."""

from __future__ import annotations

from ._column import TIME, Column, TableSchema
from .activity import ACTIVITY
from .auditd import AUDITD_EVENTS, AUDITD_RECORDS
from .common import REJECTS

TABLES: dict[str, TableSchema] = {
    t.name: t for t in (ACTIVITY, AUDITD_EVENTS, AUDITD_RECORDS, REJECTS)
}

__all__ = ["ACTIVITY", "AUDITD_EVENTS", "AUDITD_RECORDS", "REJECTS", "TABLES", "TIME", "Column", "TableSchema"]
