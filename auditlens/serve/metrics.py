"""The receiver's counters and their Prometheus text exposition (``GET /metrics``).

Kept dependency-free (no prometheus_client): a handful of counters, gauges and one
histogram, rendered in the text format 0.0.4 that Prometheus scrapes.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable

__all__ = ["FSYNC_BUCKETS", "Metrics"]

FSYNC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PREFIX = "auditlens_serve_"

_HELP = {
    "requests_total": ("counter", "Requests answered, by status code."),
    "events_committed_total": ("counter", "Events written and fsynced, by source."),
    "bytes_committed_total": ("counter", "Bytes of JSON lines written and fsynced, by source."),
    "batches_committed_total": ("counter", "Batches written and fsynced, by source."),
    "duplicates_absorbed_total": ("counter", "Batches received again after being stored "
                                  "(a lost reply), answered 200 and not stored twice."),
    "quarantined_total": ("counter", "Malformed bodies kept in quarantine and answered 400."),
    "tls_failures_total": ("counter", "TLS handshakes that failed (no or untrusted client "
                           "certificate, protocol too old)."),
    "auth_refused_total": ("counter", "Requests refused 401/403 (token, subject allow-list)."),
    "group_commits_total": ("counter", "Group commits (one fsync round shared by its batches)."),
    "bytes_in_flight": ("gauge", "Request bytes read and not yet answered."),
    "ready": ("gauge", "1 when accepting batches, 0 under backpressure or shutting down."),
    "source_last_batch_timestamp_seconds": ("gauge", "When each source last sent a batch."),
    "source_silent": ("gauge", "1 when a source that used to send has been silent longer than "
                      "the threshold."),
    "recovery_rolled_back_bytes": ("gauge", "Unacknowledged bytes cut off at the last start."),
    "recovery_lost_bytes": ("gauge", "Acknowledged bytes found missing at the last start "
                            "(data loss on disk)."),
    "fsync_seconds": ("histogram", "Time of each group commit's fsyncs (data files and journal)."),
}


class Metrics:
    """Counters and gauges keyed by (name, labels); the histogram of fsync times; gauges
    that are read when scraped (``gauge_fn``)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.gauge_fns: dict[str, Callable[[], dict[tuple[tuple[str, str], ...], float]]] = {}
        self.buckets = [0] * (len(FSYNC_BUCKETS) + 1)
        self.fsync_sum = 0.0
        self.fsync_count = 0

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        self.values[(name, tuple(sorted(labels.items())))] += value

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[(name, tuple(sorted(labels.items())))] = value

    def get(self, name: str, **labels: str) -> float:
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def observe_fsync(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(FSYNC_BUCKETS, seconds)] += 1
        self.fsync_sum += seconds
        self.fsync_count += 1

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        values: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        for (name, labels), v in self.values.items():
            values[name][labels] = v
        for name, fn in self.gauge_fns.items():
            values[name].update(fn())
        lines: list[str] = []
        for name, (kind, text) in _HELP.items():
            full = PREFIX + name
            lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
            if kind == "histogram":
                total = 0
                for bound, n in zip((*map(str, FSYNC_BUCKETS), "+Inf"), self.buckets):
                    total += n
                    lines.append(f'{full}_bucket{{le="{bound}"}} {total}')
                lines += [f"{full}_sum {self.fsync_sum:.6f}", f"{full}_count {self.fsync_count}"]
                continue
            for labels, v in sorted(values.get(name, {}).items()):
                lines.append(f"{full}{_labels(labels)} {v:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
