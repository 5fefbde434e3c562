"""Counts of the activity table by actor, action, object kind, node, outcome and key."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.schema import ACTIVITY_SUMMARY

DIMENSIONS = ("source", "actor", "actor_kind", "action", "object_kind", "node", "cluster", "outcome", "key")


def summary(activity: pa.Table) -> pa.Table:
    """One row per dimension and value, most frequent first within each dimension."""
    outcome = activity["outcome"]
    counts = activity.select(["time"]).append_column(
        "success", pc.cast(pc.fill_null(pc.equal(outcome, "success"), False), pa.int64())
    ).append_column(
        "failure", pc.cast(pc.fill_null(pc.equal(outcome, "failure"), False), pa.int64())
    ).append_column(
        "denied", pc.cast(pc.fill_null(pc.equal(outcome, "denied"), False), pa.int64())
    )
    parts = []
    for dim in DIMENSIONS:
        values = activity[dim]
        if values.null_count == len(values):
            continue  # e.g. no node column for a k8s-only input: nothing to count
        grouped = counts.append_column("value", values).group_by("value", use_threads=False).aggregate(
            [([], "count_all"), ("success", "sum"), ("failure", "sum"), ("denied", "sum"),
             ("time", "min"), ("time", "max")]
        )
        grouped = grouped.take(pc.sort_indices(grouped, [("count_all", "descending"), ("value", "ascending")]))
        n = grouped.num_rows
        parts.append(pa.table({
            "dimension": pa.array([dim] * n, pa.string()),
            "value": pc.cast(grouped["value"], pa.string()),
            "events": grouped["count_all"],
            "succeeded": grouped["success_sum"],
            "failed": grouped["failure_sum"],
            "denied": grouped["denied_sum"],
            "first_seen": grouped["time_min"],
            "last_seen": grouped["time_max"],
        }, schema=ACTIVITY_SUMMARY.arrow))
    if not parts:
        return ACTIVITY_SUMMARY.arrow.empty_table()
    return pa.concat_tables(parts)
