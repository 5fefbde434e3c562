"""Does an input look like a Kubernetes API audit log? A cheap look at its first bytes.

For ``auditlens parse`` auto-detection: true for every form the k8s reader reads (JSON values,
CRI lines, CloudWatch export lines, legacy text lines), false for auditd logs and for nothing.
"""

from __future__ import annotations

from .frame import CRI_LINE, EXPORT_LINE
from .legacy import LEGACY_LINE

_BOM = b"\xef\xbb\xbf"


def looks_like_k8s_audit(first_bytes: bytes) -> bool:
    """True when the first non-blank line of ``first_bytes`` is a form the k8s reader reads."""
    for line in first_bytes.split(b"\n"):
        line = line.strip()
        if line.startswith(_BOM):
            line = line[3:].lstrip()
        if not line:
            continue
        if line[:1] in (b"{", b"["):
            return True
        return bool(CRI_LINE.match(line) or LEGACY_LINE.match(line) or EXPORT_LINE.match(line))
    return False
