"""Compliance reports, registered by the names users type after ``auditlens report``.

Every report gives one table; ``compliance`` gives all of them as sections with a cover sheet.
Rows of the activity-based reports carry the PCI DSS 10.2.2 details: user, type of event, date
and time, success or failure, origin, and the affected data, component or resource. What each
report is and takes lives in :mod:`.registry`; how a fleet's report is worked out node by node
in bounded memory, in :mod:`.engine`.
"""

from .engine import ReadSummary, ReportOutput, run_report
from .registry import (
    COMPLIANCE,
    REPORTS,
    Evidence,
    Filters,
    Report,
    apply_filters,
    get_report,
    list_reports,
)

__all__ = ["COMPLIANCE", "REPORTS", "Evidence", "Filters", "ReadSummary", "Report",
           "ReportOutput", "apply_filters", "get_report", "list_reports", "run_report"]
