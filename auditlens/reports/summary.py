"""Counts of the activity table by actor, action, object kind, node, outcome and key.

Counted in two steps so that a fleet can be counted node by node: :func:`counts` of each part of
the activity, then :func:`summary_of` those counts (sums, earliest and latest times)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.schema import ACTIVITY_SUMMARY

DIMENSIONS = ("source", "actor", "actor_kind", "action", "object_kind", "node", "cluster", "outcome", "key")
_SUMS = ("events", "succeeded", "failed", "denied")


def counts(activity: pa.Table) -> pa.Table:
    """Per dimension and value (nulls included): events, outcomes, first and last time."""
    outcome = activity["outcome"]
    base = {"time": activity["time"], "events": pa.array([1] * activity.num_rows, pa.int64())}
    for column, value in (("succeeded", "success"), ("failed", "failure"), ("denied", "denied")):
        base[column] = pc.cast(pc.fill_null(pc.equal(outcome, value), False), pa.int64())
    table = pa.table(base)
    parts = [ACTIVITY_SUMMARY.arrow.empty_table()]
    for dim in DIMENSIONS:
        grouped = table.append_column("value", pc.cast(activity[dim], pa.string())).group_by(
            "value", use_threads=False).aggregate([(c, "sum") for c in _SUMS]
                                                  + [("time", "min"), ("time", "max")])
        parts.append(_shaped(dim, grouped))
    return pa.concat_tables(parts)


def _shaped(dim: str, grouped: pa.Table) -> pa.Table:
    n = grouped.num_rows
    return pa.table({
        "dimension": pa.array([dim] * n, pa.string()),
        "value": grouped["value"],
        **{c: grouped[f"{c}_sum"] for c in _SUMS},
        "first_seen": grouped["time_min"],
        "last_seen": grouped["time_max"],
    }, schema=ACTIVITY_SUMMARY.arrow)


def summary_of(parts: Sequence[pa.Table]) -> pa.Table:
    """The summary of the activity whose :func:`counts` are ``parts``: one row per dimension and
    value, most frequent first within each dimension; a dimension with no value at all (e.g. no
    node for Kubernetes-only input) is left out."""
    table = pa.concat_tables([ACTIVITY_SUMMARY.arrow.empty_table(), *parts])
    out = []
    for dim in DIMENSIONS:
        rows = table.filter(pc.equal(table["dimension"], dim))
        if rows.num_rows == 0 or rows["value"].null_count == rows.num_rows:
            continue
        grouped = rows.group_by("value", use_threads=False).aggregate(
            [(c, "sum") for c in _SUMS] + [("first_seen", "min"), ("last_seen", "max")])
        grouped = grouped.rename_columns({"first_seen_min": "time_min", "last_seen_max": "time_max"})
        out.append(_shaped(dim, grouped.take(pc.sort_indices(
            grouped, [("events_sum", "descending"), ("value", "ascending")]))))
    return pa.concat_tables([ACTIVITY_SUMMARY.arrow.empty_table(), *out])


def summary(activity: pa.Table) -> pa.Table:
    """:func:`summary_of` one table's :func:`counts`."""
    return summary_of([counts(activity)])
