"""The Kubernetes readers' defaults, in a module that imports nothing: the reader's entry points
read them before they import pyarrow (see ``auditlens.scheduler.pool.start_workers``)."""

from __future__ import annotations

__all__ = ["BATCH_ROWS", "MAX_LINE_BYTES"]

MAX_LINE_BYTES = 64 << 20
"""The readers' default ``max_line_bytes``: an Event at level RequestResponse carries whole
request and response bodies (a large ConfigMap, a CRD list), so lines of megabytes exist; a
longer one is rejected without being held."""

BATCH_ROWS = 16_384
"""Rows per RecordBatch (``open_k8s_audit``'s default ``batch_size``)."""
