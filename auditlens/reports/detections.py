"""The ``detections`` report: auditlens' built-in Sigma rule pack over one unit of evidence.

Runs inside the streamed engine, unit by unit (a node, or the cluster layer): auditd rules need
the node's records, which the events table does not keep, so the records of the record types the
rules name are read again from the unit's files (:meth:`Collection.auditd_records`), as the
audit-trail report does for rule changes. Correlations (SSH brute force) therefore see one node
at a time, which is what they group by anyway. Without pySigma (the ``detect`` extra) the
section is empty and a warning says why: the other reports do not need it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from functools import lru_cache
from typing import Any

import pyarrow as pa

from auditlens.detections.levels import LEVELS
from auditlens.schema.detections import DETECTIONS

__all__ = ["detections", "level_counts"]


@lru_cache(maxsize=1)
def _pack() -> Any:
    from auditlens.detections import load_rules

    return load_rules()


def _record_types(rules: Any) -> list[str]:
    """The record types the auditd rules pin (``""``: every type, when one rule pins none)."""
    types: set[str] = set()
    for rule in rules.rules:
        if rule.view.source != "auditd":
            continue
        needs = rule.node.needs()
        if needs is None:
            return [""]
        types |= needs
    return sorted(types)


def detections(collection: Any) -> pa.Table:
    """Matches of the built-in pack over ``collection`` (a :class:`auditlens.collect.Collection`)."""
    try:
        import sigma  # noqa: F401
    except ImportError:
        warnings.warn("the detections section is empty: it needs pySigma "
                      "(pip install 'auditlens[detect]')", stacklevel=2)
        return DETECTIONS.empty()
    from auditlens.detections.engine import run_rules

    rules = _pack()
    auditd = collection.auditd_records(_record_types(rules)) if collection.files.get("auditd") else None
    k8s = collection.k8s if collection.k8s.num_rows else None
    return run_rules(rules, auditd=auditd, k8s=k8s).matches


def level_counts(table: pa.Table) -> Counter[str]:
    """``level\\ttitle`` → matches, for the cover."""
    return Counter(f"{lv}\t{t}" for lv, t in zip(table["rule_level"].to_pylist(),
                                                  table["rule_title"].to_pylist(), strict=True))


def cover_line(counts: Counter[str]) -> str:
    """The cover's line: matches by level, then by rule (most severe first)."""
    if not counts:
        return "0"
    by_level: Counter[str] = Counter()
    for key, n in counts.items():
        by_level[key.split("\t", 1)[0]] += n
    order = {lv: i for i, lv in enumerate(reversed(LEVELS))}
    levels = ", ".join(f"{by_level[lv]} {lv}" for lv in sorted(by_level, key=lambda x: order.get(x, 9)))
    rules = "; ".join(f"{key.split(chr(9), 1)[1]} ({key.split(chr(9), 1)[0]}): {n}" for key, n in
                      sorted(counts.items(), key=lambda kv: (order.get(kv[0].split("\t")[0], 9), -kv[1])))
    return f"{sum(counts.values())} ({levels}) — {rules}"
