"""Sigma correlation rules (``event_count``, ``value_count``, ``temporal``, ``temporal_ordered``)
over the matches of their base rules.

Correlations run after the base rules, on their matches only (few), in plain Python: each
match carries its time and the values of the correlation's ``group-by`` fields. A correlation
may name another correlation (SSH brute force = a burst of failures, then a success), so the
output of one is the input of the next, in the order pySigma resolved them. Windows are
sliding over each group's sorted matches; after a correlation fires, counting starts afresh
after the match that completed it, so one burst is reported once, not once per extra failure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = ["Hit", "correlate"]

Hit = dict[str, Any]
"""A match row (engine's output fields) plus ``_group`` (group-by field → value)."""


def _key(hit: Hit, fields: list[str]) -> tuple[Any, ...]:
    return tuple(hit["_group"].get(f) for f in fields)


def _merged(parts: list[Hit], group: dict[str, Any], extra: dict[str, str]) -> Hit:
    """One correlation match from the matches that made it: time, who and what of the last
    one, the lines of all of them."""
    last = parts[-1]
    lines = sorted({ln for p in parts for ln in (p.get("lines") or [])})
    matched = [(k, str(v)) for k, v in group.items() if v is not None] + list(extra.items())
    return {**last, "lines": lines, "matched": matched, "_group": dict(group)}


def _condition(cond: Any) -> Callable[[int], bool]:
    from sigma.correlations import SigmaCorrelationConditionOperator as Op

    ops = {Op.GTE: lambda n: n >= cond.count, Op.GT: lambda n: n > cond.count,
           Op.LTE: lambda n: n <= cond.count, Op.LT: lambda n: n < cond.count,
           Op.EQ: lambda n: n == cond.count}
    return ops[cond.op]


def _counting(hits: list[Hit], fields: list[str], span: timedelta, cond: Any,
              distinct: str | None) -> list[Hit]:
    """event_count (``distinct`` None) and value_count (distinct values of that field)."""
    ok = _condition(cond)
    groups: dict[tuple[Any, ...], list[Hit]] = defaultdict(list)
    for h in hits:
        groups[_key(h, fields)].append(h)
    out = []
    for key, members in groups.items():
        members.sort(key=lambda h: h["time"])
        start = 0
        for end, h in enumerate(members):
            while members[start]["time"] < h["time"] - span:
                start += 1
            window = members[start:end + 1]
            n = len({w["_group"].get(distinct) for w in window}) if distinct else len(window)
            if ok(n):
                out.append(_merged(window, dict(zip(fields, key, strict=True)),
                                   {"count": str(n)}))
                start = end + 1
                if start >= len(members):
                    break
    return out


def _temporal(per_rule: list[list[Hit]], fields: list[str], span: timedelta,
              ordered: bool) -> list[Hit]:
    """All the rules matched within ``span`` for one group (``ordered``: in the order listed);
    reported at the match of the last rule that completed it."""
    groups: dict[tuple[Any, ...], list[list[Hit]]] = defaultdict(lambda: [[] for _ in per_rule])
    for i, hits in enumerate(per_rule):
        for h in hits:
            groups[_key(h, fields)][i].append(h)
    out = []
    for key, lists in groups.items():
        for hits in lists:
            hits.sort(key=lambda h: h["time"])
        group = dict(zip(fields, key, strict=True))
        if ordered:
            for last in lists[-1]:
                chain, cur = [last], last["time"]
                for earlier in reversed(lists[:-1]):
                    fit = [h for h in earlier if last["time"] - span <= h["time"] <= cur]
                    if not fit:
                        break
                    chain.insert(0, fit[-1])
                    cur = fit[-1]["time"]
                else:
                    out.append(_merged(chain, group, {}))
            continue
        every = sorted((h for hits in lists for h in hits), key=lambda h: h["time"])
        after = None
        for h in every:
            if after is not None and h["time"] <= after:
                continue
            near = [next((x for x in reversed(hits) if h["time"] - span <= x["time"] <= h["time"]), None)
                    for hits in lists]
            if all(n is not None for n in near):
                out.append(_merged(sorted(near, key=lambda x: x["time"]), group, {}))  # type: ignore[arg-type]
                after = h["time"]
    return out


def correlate(rule: Any, inputs: list[list[Hit]]) -> list[Hit]:
    """The matches of one pySigma ``SigmaCorrelationRule`` given its referenced rules' matches
    (in the order the rule lists them)."""
    from sigma.correlations import SigmaCorrelationType as T

    fields = list(rule.group_by or [])
    span = timedelta(seconds=rule.timespan.seconds)
    if rule.type in (T.EVENT_COUNT, T.VALUE_COUNT):
        distinct = rule.condition.fieldref if rule.type == T.VALUE_COUNT else None
        return _counting([h for hits in inputs for h in hits], fields, span, rule.condition, distinct)
    if rule.type in (T.TEMPORAL, T.TEMPORAL_ORDERED):
        return _temporal(inputs, fields, span, rule.type == T.TEMPORAL_ORDERED)
    raise ValueError(f"correlation type {rule.type} is not supported")
