"""The access review: what each subject was granted against what it used in the log's window.

For every binding subject and granted rule (:class:`~auditlens.rbac.model.Grant`): **used**
(with how often, first and last use, by whom, which verbs and resources) or **excess** (granted,
never used in the window). For requests the export cannot explain: **uncovered** (allowed in the
log, granted by no binding of the export: the export is incomplete, a group membership is
unknown, or another authorizer (Node, a webhook) allowed it; the log's own authorization
reason is kept in ``note``) and **denied** (refused: evidence, not a grant to make). A
subject's least-privilege score is its used grants over its grants.

An unused grant is excess *for this window* only: a grant used once a quarter looks unused in a
week's log, and a Metadata-level log shows every request, a log with ``omitStages`` or a policy
that leaves users out does not. The window and the audit levels are in every row.

Requests are first grouped (Arrow ``group_by``) into distinct (subject, groups, verb, group,
resource, subresource, namespace, name, path, outcome) keys with their counts and first/last
times; each key is then decided once through the :class:`Authorizer`'s per-identity index, so
the work grows with distinct requests and the few grants that can match each, not with
requests × rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from auditlens.schema import ACCESS_REVIEW, ACCESS_SUBJECTS

from .authorize import Authorizer, Request, effective_groups
from .model import Grant, Policy, PolicyRule, split_service_account

__all__ = ["Review", "review_access", "sensitive"]

_SEP = "\x1f"
_KEYS = ("subject", "groups_key", "verb", "api_group", "resource", "subresource", "namespace",
         "name", "path", "outcome")
_READ = {"get", "list", "watch", "*"}


def sensitive(rule: PolicyRule) -> list[str]:
    """Why a rule matters more than most (the powers a least-privilege review looks at first)."""
    out = []
    if "*" in rule.verbs or "*" in rule.resources or "*" in rule.api_groups or "*" in rule.non_resource_urls:
        out.append("wildcard")
    core = "" in rule.api_groups or "*" in rule.api_groups
    res = set(rule.resources)
    if core and ("secrets" in res or "*" in res) and _READ & set(rule.verbs):
        out.append("secrets")
    for verb in ("escalate", "bind", "impersonate"):
        if verb in rule.verbs:
            out.append(verb)
    for sub in ("nodes/proxy", "pods/exec", "pods/attach"):
        if sub in res or ("*/" + sub.split("/")[1]) in res:
            out.append(sub)
    return out


@dataclass
class _Use:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    evidence: str | None = None
    users: Counter[str] = field(default_factory=Counter)
    verbs: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    outcomes: set[str] = field(default_factory=set)
    granted_now: bool = False
    masters: bool = False  # by a member of system:masters

    def add(self, n: int, first: datetime, last: datetime, evidence: str, user: str, req: Request) -> None:
        self.count += n
        if self.first is None or (first is not None and first < self.first):
            self.first, self.evidence = first, evidence
        if self.last is None or (last is not None and last > self.last):
            self.last = last
        self.users[user] += n
        self.verbs.add(req.verb)
        self.resources.add(_resource_text(req))

    def merge(self, other: _Use) -> None:
        self.count += other.count
        if self.first is None or (other.first is not None and other.first < self.first):
            self.first, self.evidence = other.first, other.evidence
        if self.last is None or (other.last is not None and other.last > self.last):
            self.last = other.last
        self.users.update(other.users)
        self.verbs |= other.verbs
        self.resources |= other.resources


def _resource_text(req: Request) -> str:
    if not req.resource_request:
        return req.path
    res = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    return f"{res}.{req.api_group}" if req.api_group else res


@dataclass
class Review:
    """An access review: ``rows`` (``access_review``), ``subjects`` (``access_subjects``), the
    window read and its audit levels, and what the export's reading noted."""

    rows: pa.Table
    subjects: pa.Table
    window: tuple[datetime | None, datetime | None]
    levels: list[str]
    warnings: list[str]
    has_export: bool

    @property
    def window_days(self) -> float | None:
        start, end = self.window
        return None if start is None or end is None else (end - start).total_seconds() / 86400

    def describe_window(self) -> str:
        start, end = self.window
        if start is None or end is None:
            return "no requests in the log"
        levels = ", ".join(self.levels) or "unknown"
        return (f"window {start.isoformat(timespec='seconds')} to {end.isoformat(timespec='seconds')} "
                f"({self.window_days:.2f} days), audit level(s): {levels}; a grant unused in this "
                "window is excess for this window only")


def _grouped(requests: pa.Table) -> list[dict[str, Any]]:
    """Distinct request keys with count, first/last time and first evidence."""
    if requests.num_rows == 0:
        return []
    groups_key = pc.fill_null(pc.binary_join(requests["groups"], _SEP), "")
    t = requests.append_column("groups_key", groups_key)
    agg = t.group_by(list(_KEYS), use_threads=False).aggregate([
        ("time", "min"), ("time", "max"), ("audit_id", "count", pc.CountOptions(mode="all")),
        ("file", "first"), ("line", "first"), ("audit_id", "first"), ("authorization_reason", "first"),
    ])
    return agg.to_pylist()


def _request(row: dict[str, Any]) -> Request:
    groups = tuple(g for g in (row["groups_key"] or "").split(_SEP) if g)
    return Request(row["subject"], groups, row["verb"] or "", row["api_group"] or "",
                   row["resource"] or "", row["subresource"] or "", row["namespace"] or "",
                   row["name"] or "", row["path"] or "")


def _evidence(row: dict[str, Any]) -> str:
    where = f"{row['file_first']}:{row['line_first']}" if row["file_first"] else ""
    return " ".join(x for x in (where, f"auditID {row['audit_id_first']}" if row["audit_id_first"] else "") if x)


def review_access(requests: pa.Table, policy: Policy | None) -> Review:
    """Review ``requests`` (an ``rbac_requests`` table) against ``policy`` (None: no export;
    only the used access per subject can be said)."""
    authz = Authorizer(policy) if policy is not None else None
    times = pc.min_max(requests["time"]) if requests.num_rows else None
    window = (times["min"].as_py(), times["max"].as_py()) if times is not None else (None, None)
    levels = sorted(v for v in pc.unique(requests["level"]).to_pylist() if v) if requests.num_rows else []
    usage: dict[tuple[int, str, tuple[str, ...]], _Use] = {}
    loose: dict[tuple[str, str, str, str, str, str, str], _Use] = {}  # uncovered / denied / export-less used
    per_identity: dict[str, Counter[str]] = {}
    seen_window: dict[str, tuple[datetime, datetime]] = {}
    kinds: dict[str, str] = {}
    for row in _grouped(requests):
        req = _request(row)
        n, first, last = row["audit_id_count"], row["time_min"], row["time_max"]
        ev = _evidence(row)
        stats = per_identity.setdefault(req.user, Counter())
        stats["requests"] += n
        kinds[req.user] = "ServiceAccount" if split_service_account(req.user) else "User"
        if first is not None and last is not None:  # (a request without a time has none)
            old = seen_window.get(req.user)
            seen_window[req.user] = (min(old[0], first), max(old[1], last)) if old else (first, last)
        outcome = row["outcome"]
        grants = authz.matching(req) if authz is not None else []
        if outcome == "denied":
            stats["denied"] += n
            use = loose.setdefault(("denied", *_kind_key(req)), _Use())
            use.add(n, first, last, ev, req.user, req)
            use.granted_now = use.granted_now or bool(grants)
            continue
        stats["allowed"] += n
        if authz is None or not grants:
            status = "used" if authz is None else "uncovered"
            if authz is not None:
                stats["uncovered"] += n
            use = loose.setdefault((status, *_kind_key(req)), _Use())
            use.add(n, first, last, ev, req.user, req)
            use.outcomes.add(outcome)
            use.masters = use.masters or "system:masters" in req.groups
            if row["authorization_reason_first"]:
                use.reasons[row["authorization_reason_first"]] += n
            continue
        groups = effective_groups(req.user, req.groups)
        for g in grants:
            use = usage.setdefault((g.id, req.user, groups), _Use())
            use.add(n, first, last, ev, req.user, req)
    common = {"window_start": window[0], "window_end": window[1], "audit_levels": ", ".join(levels) or None}
    rows: list[dict[str, Any]] = []
    scores: dict[tuple[str, str], tuple[int, int, int]] = {}
    if authz is not None:
        rows, scores = _grant_rows(authz.grants, usage, common)
    for (status, user, *what), use in loose.items():
        rows.append(_loose_row(status, user, kinds.get(user, "User"), what, use, common))
    # the report's order: subject, status, binding (nulls last), rule
    rows.sort(key=lambda r: (r["subject"], r["status"], r["binding"] is None, r["binding"] or "", r["rule"]))
    for r in rows:
        s = scores.get((r["subject"], r["subject_kind"]))
        r["score"] = s[1] / s[0] if s and s[0] else None
    table = pa.Table.from_pylist(rows, schema=ACCESS_REVIEW.arrow) if rows else ACCESS_REVIEW.empty()
    subjects = _subjects(per_identity, kinds, seen_window, scores, common)
    return Review(table, subjects, window, levels, list(policy.warnings) if policy else [],
                  policy is not None)


def _kind_key(req: Request) -> tuple[str, str, str, str, str, str]:
    """What uncovered and denied requests are counted by: who, verb, API group, resource
    (with subresource), path, namespace (not the object's name)."""
    res = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    return (req.user, req.verb, req.api_group, res, req.path, req.namespace)


def _grant_rows(grants: list[Grant], usage: dict[tuple[int, str, tuple[str, ...]], _Use],
                common: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], tuple[int, int, int]]]:
    by_grant: dict[int, list[tuple[str, tuple[str, ...], _Use]]] = {}
    for (gid, user, groups), use in usage.items():
        by_grant.setdefault(gid, []).append((user, groups, use))
    rows = []
    scores: dict[tuple[str, str], list[int]] = {}
    for g in grants:
        flags = sensitive(g.rule)
        for s in dict.fromkeys(g.binding.subjects):
            total = _Use()
            for user, groups, use in by_grant.get(g.id, ()):
                if s.applies_to(user, groups, g.binding.namespace):
                    total.merge(use)
            used = total.count > 0
            score = scores.setdefault((s.display, s.kind), [0, 0, 0])
            score[0] += 1
            score[1] += used
            score[2] += (not used) and bool(flags)
            rule = g.rule
            rows.append({
                "subject": s.display, "subject_kind": s.kind, "status": "used" if used else "excess",
                "binding": g.binding.ref, "role": g.role.ref, "scope": g.namespace or "cluster-wide",
                "rule": rule.text(), "verbs": list(rule.verbs), "api_groups": list(rule.api_groups),
                "resources": list(rule.resources), "resource_names": list(rule.resource_names),
                "non_resource_urls": list(rule.non_resource_urls), "request_count": total.count,
                "first_use": total.first, "last_use": total.last,
                "used_by": [u for u, _ in total.users.most_common()],
                "used_verbs": sorted(total.verbs), "used_resources": sorted(total.resources),
                "sensitive": flags, "bootstrap": g.bootstrap, "note": None,
                "evidence": total.evidence, **common,
            })
    return rows, {k: (v[0], v[1], v[2]) for k, v in scores.items()}


def _loose_row(status: str, user: str, kind: str, what: list[str], use: _Use,
               common: dict[str, Any]) -> dict[str, Any]:
    verb, group, resource, path, namespace = what
    notes = []
    if status == "uncovered":
        notes.append("allowed in the log but by no binding of the export")
        if use.reasons:
            notes.append("the log's authorization reason: " + use.reasons.most_common(1)[0][0])
        if "unknown" in use.outcomes:
            notes.append("some requests have no logged outcome")
        if user.startswith("system:node:"):
            notes.append("nodes are authorized by the Node authorizer, not RBAC")
        if use.masters:
            notes.append("a member of system:masters, whom the API server allows everything "
                         "before RBAC is asked")
    elif status == "denied" and use.granted_now:
        notes.append("the export grants this now: the grant came after the request")
    elif status == "used":
        notes.append("no RBAC export given: granted access and excess unknown")
    if path:
        rule, scope = f"{verb} {path}", None
    else:
        where = f" in {namespace}" if namespace else " (cluster-wide)"
        rule, scope = f"{verb} {resource} ({group or 'core'}){where}", namespace or "cluster-wide"
    return {
        "subject": user, "subject_kind": kind, "status": status, "binding": None, "role": None,
        "scope": scope, "rule": rule, "verbs": [verb], "api_groups": [] if path else [group],
        "resources": [] if path else [resource], "resource_names": [],
        "non_resource_urls": [path] if path else [], "request_count": use.count,
        "first_use": use.first, "last_use": use.last,
        "used_by": [u for u, _ in use.users.most_common()], "used_verbs": sorted(use.verbs),
        "used_resources": sorted(use.resources), "sensitive": [], "bootstrap": False,
        "note": "; ".join(notes) or None, "evidence": use.evidence, **common,
    }


def _subjects(per_identity: dict[str, Counter[str]], kinds: dict[str, str],
              seen: dict[str, tuple[datetime, datetime]], scores: dict[tuple[str, str], tuple[int, int, int]],
              common: dict[str, Any]) -> pa.Table:
    keys = {(u, kinds[u]) for u in per_identity} | set(scores)
    rows = []
    for subject, kind in sorted(keys):
        stats = per_identity.get(subject, Counter()) if kind != "Group" else Counter()
        granted, used, sens = scores.get((subject, kind), (0, 0, 0))
        first, last = seen.get(subject, (None, None)) if kind != "Group" else (None, None)
        rows.append({"subject": subject, "subject_kind": kind, "requests": stats["requests"],
                     "allowed": stats["allowed"], "denied": stats["denied"],
                     "uncovered": stats["uncovered"], "grants": granted, "used": used,
                     "excess": granted - used, "sensitive_excess": sens,
                     "score": used / granted if granted else None, "first_seen": first,
                     "last_seen": last, "window_start": common["window_start"],
                     "window_end": common["window_end"]})
    return pa.Table.from_pylist(rows, schema=ACCESS_SUBJECTS.arrow) if rows else ACCESS_SUBJECTS.empty()
