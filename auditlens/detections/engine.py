"""Running compiled rules over the tables and building the match rows.

auditd rules match records; a match is reported per event (node, serial, time) with the lines of
every record that matched, and with who/what/which from the event's SYSCALL record. Kubernetes
rules run over one row per request (the last stage logged for each auditID), so a request logged
at RequestReceived and ResponseComplete is one match, not two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema.detections import DETECTION_RULES, DETECTIONS
from .correlate import Hit, correlate
from .levels import LEVELS
from .loading import CompiledRule, RuleInfo, RuleSet
from .views import AuditdView, K8sView, NotApplicable, View

__all__ = ["DetectionResult", "Runner", "one_per_request", "run_rules"]

_STAGE_RANK = {"RequestReceived": 0, "ResponseStarted": 1, "ResponseComplete": 2, "Panic": 3}


@dataclass(frozen=True)
class DetectionResult:
    """Matches (``detections`` table) and every rule's fate (``detection_rules`` table)."""

    matches: pa.Table
    rules: pa.Table
    inputs: dict[str, int]
    """Rows each table offered the rules: auditd records, Kubernetes requests."""

    def counts_by_level(self) -> dict[str, int]:
        """Number of matches per rule level, most severe first (levels without matches omitted)."""
        levels = self.matches["rule_level"].to_pylist()
        order = [*reversed(LEVELS), ""]
        return {lv: levels.count(lv) for lv in order if lv in levels}

    def summary(self) -> str:
        """One line: matches by level, rules run, what they ran over."""
        by_level = ", ".join(f"{n} {lv or 'no level'}" for lv, n in self.counts_by_level().items())
        run = sum(1 for a in self.rules["applicable"].to_pylist() if a)
        over = " and ".join(f"{n} {what}" for what, n in self.inputs.items()) or "no input"
        return (f"{self.matches.num_rows} matches" + (f" ({by_level})" if by_level else "")
                + f" from {run} rules over {over}; {self.rules.num_rows - run} rules not run")

    def not_run_lines(self) -> list[str]:
        """Why rules for the tables auditlens reads did not run, one line per rule; rules for
        other log sources (Windows, cloud…) in one line, as a SigmaHQ clone has thousands."""
        out, foreign = [], 0
        for r in self.rules.filter(pc.invert(self.rules["applicable"])).to_pylist():
            if r["source"] is None and (r["reason"] or "").startswith("log source "):
                foreign += 1
            else:
                out.append(f"rule not run: {r['rule_file']}: {r['reason']}")
        if foreign:
            out.append(f"{foreign} rules are for log sources auditlens does not read")
        return out


def one_per_request(table: pa.Table) -> pa.Table:
    """One row per auditID: the latest stage logged (ResponseComplete over RequestReceived);
    Events without an auditID are each their own request."""
    if table.num_rows == 0:
        return table
    rank = pc.fill_null(pc.index_in(table["stage"], value_set=pa.array(list(_STAGE_RANK))), -1)
    order = pc.sort_indices(pa.table({"id": table["audit_id"], "rank": rank}),
                            sort_keys=[("id", "ascending"), ("rank", "descending")])
    ids = pc.take(table["audit_id"], order).combine_chunks()
    if len(ids) > 1:
        same = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
        first = pa.concat_arrays([pa.array([True]), pc.invert(pc.fill_null(same, False))])
        first = pc.or_(first, pc.is_null(ids))
        order = pc.filter(order, first)
    return table.take(pc.take(order, pc.array_sort_indices(order)))


def _limit(level: str | None) -> set[str]:
    if level is None:
        return set(LEVELS) | {""}
    return set(LEVELS[LEVELS.index(level):])


def _matched(rule: CompiledRule, view: View, row: int) -> list[tuple[str, str]]:
    out = []
    for name in rule.fields:
        value = view.text()[row].as_py() if name == "" else view.value(name, row)
        if value is not None:
            out.append(("keywords" if name == "" else name, value))
    return out


def _auid(raw: str | None) -> str | None:
    """A RAW log's auid as the ENRICHED form would name it when the number says "unset"."""
    if raw is None:
        return None
    return "unset" if raw in ("4294967295", "-1") else f"auid={raw}"


class _AuditdContext:
    """Who/what/which of matched auditd events, from their SYSCALL records (computed for the
    matched events only: matches are few, records many)."""

    def __init__(self, view: AuditdView) -> None:
        self.view = view
        self.known: dict[int, tuple[str | None, str | None, str | None]] = {}

    def of(self, events: Iterable[int]) -> None:
        wanted = [e for e in set(events) if e not in self.known]
        if not wanted:
            return
        ids = self.view.event_ids()
        rows = pc.indices_nonzero(pc.is_in(ids, value_set=pa.array(wanted, ids.type)))
        records = self.view.rows_view(rows)
        types = records.table["record_type"].to_pylist()
        evs = pc.take(ids, rows).to_pylist()
        cols = {n: records.column(n).values.to_pylist()
                for n in ("AUID", "auid", "SYSCALL", "exe", "name", "op", "acct")}
        facts: dict[int, dict[str, str]] = {}
        for i, (ev, rtype) in enumerate(zip(evs, types, strict=True)):
            got = facts.setdefault(ev, {})
            auid = cols["AUID"][i] or _auid(cols["auid"][i])
            if auid and (rtype == "SYSCALL" or "actor" not in got):
                got["actor"] = auid
            if rtype == "SYSCALL" and cols["SYSCALL"][i]:
                got["action"] = cols["SYSCALL"][i]
            elif "action" not in got:
                got["action"] = cols["op"][i] or rtype
            if rtype == "PATH" and cols["name"][i] and "path" not in got:
                got["path"] = cols["name"][i]
            other = cols["exe"][i] or cols["acct"][i]
            if other and (rtype == "SYSCALL" or "other" not in got):
                got["other"] = other
        for ev, got in facts.items():
            self.known[ev] = (got.get("actor"), got.get("action"), got.get("path") or got.get("other"))

    def __getitem__(self, event: int) -> tuple[str | None, str | None, str | None]:
        return self.known.get(event, (None, None, None))


def _auditd_rows(rule: CompiledRule, view: AuditdView, part: View, local: Any, rows: Any,
                 ctx: _AuditdContext) -> list[dict[str, Any]]:
    """Matches per event; ``rows`` are the matched records here, ``local`` the same in the
    view ``part`` the rule ran on (whose columns hold the values shown)."""
    if len(rows) == 0:
        return []
    events = pc.take(view.event_ids(), rows).to_pylist()
    t = view.table
    cols = {n: pc.take(t[n], rows).to_pylist() for n in ("time", "node", "serial", "file", "line")}
    by_event: dict[int, list[int]] = {}
    for i, ev in enumerate(events):
        by_event.setdefault(ev, []).append(i)
    ctx.of(by_event)
    out = []
    local_list = local.to_pylist()
    for ev, members in by_event.items():
        i = members[0]
        actor, action, obj = ctx[ev]
        out.append({
            "time": cols["time"][i], "source": "auditd", "node": cols["node"][i],
            "actor": actor, "action": action, "object": obj, "serial": cols["serial"][i],
            "file": cols["file"][i], "line": cols["line"][i],
            "lines": [cols["line"][j] for j in members],
            "matched": _matched(rule, part, local_list[i]), "_view": (part, local_list[i]),
        })
    return out


def _object(namespace: str | None, resource: str | None, subresource: str | None,
            name: str | None) -> str | None:
    """A request's object as namespace/resource[/subresource]/name (the parts it has)."""
    if resource and subresource:
        resource = f"{resource}/{subresource}"
    return "/".join(p for p in (namespace, resource, name) if p) or None


def _k8s_rows(rule: CompiledRule, view: K8sView, rows: Any) -> list[dict[str, Any]]:
    if len(rows) == 0:
        return []
    t = view.table
    names = ("time", "cluster", "user", "verb", "resource", "subresource", "namespace", "name",
             "audit_id", "file", "line")
    cols = {n: pc.take(t[n], rows).to_pylist() for n in names}
    out = []
    for i, row in enumerate(rows.to_pylist()):
        obj = _object(cols["namespace"][i], cols["resource"][i], cols["subresource"][i], cols["name"][i])
        out.append({
            "time": cols["time"][i], "source": "k8s", "cluster": cols["cluster"][i],
            "actor": cols["user"][i], "action": cols["verb"][i], "object": obj,
            "audit_id": cols["audit_id"][i], "file": cols["file"][i], "line": cols["line"][i],
            "lines": [cols["line"][i]], "matched": _matched(rule, view, row), "_view": (view, row),
        })
    return out


def _array(values: Any) -> Any:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _matched_map(rule: CompiledRule, view: View, rows: Any) -> Any:
    """The ``matched`` column for rows ``rows``: each field the rule reads with its value there
    (nulls left out), built over Arrow for all matches at once."""
    names = ["keywords" if f == "" else f for f in rule.fields]
    count, width = len(rows), len(names)
    values = [pc.take(view.text() if f == "" else view.joined(f), rows) for f in rule.fields]
    if not width or not count:
        return pa.MapArray.from_arrays(pa.array(np.zeros(count + 1, np.int32)),
                                       pa.array([], pa.string()), pa.array([], pa.string()))
    order = (np.arange(width)[None, :] * count + np.arange(count)[:, None]).ravel()  # row-major
    items = pc.take(pa.concat_arrays([_array(v) for v in values]), pa.array(order))
    keys = pc.take(pa.array(names, pa.string()), pa.array(np.tile(np.arange(width), count)))
    valid = pc.is_valid(items)
    per_row = valid.to_numpy(zero_copy_only=False).reshape(count, width).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)
    return pa.MapArray.from_arrays(pa.array(offsets), pc.filter(keys, valid), pc.filter(items, valid))


def _k8s_table(rule: CompiledRule, view: K8sView, rows: Any) -> pa.Table:
    """The matches of a rule over Kubernetes requests as a table, without a Python row per
    match (SigmaHQ's enumeration rules match a good part of a busy API server's requests)."""
    t, count = view.table, len(rows)
    names = ("time", "cluster", "user", "verb", "audit_id", "file", "line", "namespace", "resource",
             "subresource", "name")
    got = {n: _array(pc.take(t[n], rows)) for n in names}
    # the object in plain Python: binary_join_element_wise(null_handling="skip") returned fewer
    # rows than it was given on real requests (pyarrow 26)
    obj = [_object(*p) for p in zip(*(got[n].to_pylist() for n in ("namespace", "resource",
                                                                   "subresource", "name")), strict=True)]
    line = got["line"]
    columns = {"time": got["time"], "source": pa.array(["k8s"] * count, pa.string()),
               "cluster": got["cluster"], "actor": got["user"], "action": got["verb"],
               "object": pa.array(obj, pa.string()), "audit_id": got["audit_id"], "file": got["file"],
               "line": line, "matched": _matched_map(rule, view, rows),
               "lines": pa.ListArray.from_arrays(pa.array(np.arange(count + 1, dtype=np.int32)),
                                                 pc.cast(line, pa.int64()))}
    constant = pa.Table.from_pylist([_rule_fields(rule.info)], schema=DETECTIONS.arrow)
    constant = constant.take(pa.array(np.zeros(count, np.int64)))
    return pa.Table.from_arrays(
        [columns[f.name] if f.name in columns else constant[f.name] for f in DETECTIONS.arrow],
        schema=DETECTIONS.arrow)


def _rule_fields(i: RuleInfo) -> dict[str, Any]:
    return {"rule_id": i.id, "rule_title": i.title, "rule_level": i.level, "rule_status": i.status,
            "rule_tags": i.tags, "rule_author": i.author, "rule_references": i.references,
            "rule_file": i.file}


def _fate(info: RuleInfo, source: str | None, reason: str | None = None, matches: int = 0) -> dict[str, Any]:
    return {"rule_id": info.id, "rule_title": info.title, "rule_level": info.level,
            "rule_file": info.file, "source": source, "applicable": reason is None,
            "reason": reason, "matches": matches}


def _group_fields(rules: RuleSet) -> list[str]:
    """Fields correlations group or count by: their values are kept with each base match."""
    out: set[str] = set()
    for c in rules.correlations:
        out.update(c.sigma.group_by or [])
        ref = getattr(c.sigma.condition, "fieldref", None)
        if ref:
            out.add(ref)
    return sorted(out)


def _group_values(view: View, row: int, fields: list[str]) -> dict[str, Any]:
    got: dict[str, Any] = {}
    for name in fields:
        try:
            view.check(name)
            got[name] = view.value(name, row)
        except NotApplicable:
            got[name] = None
    return got


class Runner:
    """Rules run over the input a part at a time (:meth:`feed`), matches gathered, then the
    correlations and the fate of every rule worked out once (:meth:`finish`): memory holds one
    part's tables, not the whole input's. Rules that correlations name run whatever their
    level; they report their own matches only when the correlation says ``generate: true``."""

    def __init__(self, rules: RuleSet, *, level: str | None = None) -> None:
        self.rules = rules
        self.wanted = _limit(level)
        self.referenced = {id(r) for c in rules.correlations for r in c.refs}
        self.hidden = {id(r) for c in rules.correlations if not c.generate for r in c.refs}
        self.group_fields = _group_fields(rules)
        self.hits: dict[int, list[Hit]] = {}
        self.found: list[pa.Table] = []  # as tables: a busy log has 100 000s of matches
        self.ran: dict[int, int] = {}            # rule → matches, for rules that ran on a part
        self.why_not: dict[int, str] = {}        # rule → why it did not run on a part
        self.inputs: dict[type[View], int] = {}
        self.bodies = {f for r in rules.rules if r.view is K8sView for f in r.fields if f}

    def _runs(self, rule: CompiledRule) -> bool:
        return (rule.info.level in self.wanted and id(rule.sigma) not in self.hidden) \
            or id(rule.sigma) in self.referenced

    def feed(self, *, auditd: pa.Table | None = None, k8s: pa.Table | None = None) -> None:
        """Run the rules over one part of the input (whole events, whole requests)."""
        views: dict[type[View], View] = {}
        if auditd is not None:
            views[AuditdView] = AuditdView(auditd)
        if k8s is not None:
            views[K8sView] = K8sView(one_per_request(k8s), self.bodies)
        for kind, made in views.items():
            self.inputs[kind] = self.inputs.get(kind, 0) + made.num_rows
        try:
            self._run(views)
        finally:
            for made in views.values():
                made.release()

    def _run(self, views: dict[type[View], View]) -> None:
        ctx = _AuditdContext(views[AuditdView]) if AuditdView in views else None  # type: ignore[arg-type]
        for rule in self.rules.rules:
            view = views.get(rule.view)
            if view is None or not self._runs(rule):
                continue
            key = id(rule.sigma)
            try:
                for name in rule.fields:
                    if name:
                        view.check_data(name)
                part, index = view.subset(rule.node.needs())
                local = pc.indices_nonzero(rule.node.evaluate(part))
                rows = local if index is None else pc.take(index, local)
            except NotApplicable as exc:
                self.why_not.setdefault(key, str(exc))
                continue
            if isinstance(view, K8sView) and key not in self.referenced:
                table = _k8s_table(rule, view, rows)
                self.ran[key] = self.ran.get(key, 0) + table.num_rows
                if table.num_rows and rule.info.level in self.wanted and key not in self.hidden:
                    self.found.append(table)
                continue
            if isinstance(view, AuditdView):
                assert ctx is not None
                found = _auditd_rows(rule, view, part, local, rows, ctx)
            else:
                found = _k8s_rows(rule, view, rows)  # type: ignore[arg-type]
            common = _rule_fields(rule.info)
            matched = [{**common, **r} for r in found]
            for r in matched:
                seen, row = r.pop("_view")  # the part's tables are not kept past this call
                if key in self.referenced:
                    r["_group"] = _group_values(seen, row, self.group_fields)
            self.ran[key] = self.ran.get(key, 0) + len(matched)
            if key in self.referenced:
                self.hits.setdefault(key, []).extend(matched)
            if matched and rule.info.level in self.wanted and key not in self.hidden:
                self.found.append(pa.Table.from_pylist(matched, schema=DETECTIONS.arrow))

    def finish(self) -> DetectionResult:
        """Correlations over the gathered matches; every rule's fate; the matches by time."""
        fates: list[dict[str, Any]] = []
        not_run: dict[int, str] = {}
        sources: dict[int, str] = {}
        present = {kind.source for kind in self.inputs}
        for rule in self.rules.rules:
            if not self._runs(rule):
                continue
            key = id(rule.sigma)
            sources[key] = rule.view.source
            if key in self.ran:
                fates.append(_fate(rule.info, rule.view.source, None, self.ran[key]))
                continue
            not_run[key] = self.why_not.get(key, "") if rule.view.source in present else ""
            not_run[key] = not_run[key] or f"no {rule.view.source} input"
            fates.append(_fate(rule.info, rule.view.source, not_run[key]))
        found: list[dict[str, Any]] = []
        _run_correlations(self.rules, self.hits, not_run, sources, self.hidden, self.wanted,
                          found, fates)
        for skipped in self.rules.skipped:
            if skipped.info.level in self.wanted:
                fates.append(_fate(skipped.info, skipped.source, skipped.reason))
        self.found.append(pa.Table.from_pylist(found, schema=DETECTIONS.arrow))
        keys = pa.concat_tables([t.select(["time", "rule_id", "audit_id"]) for t in self.found])
        kept = _one_per_request(keys)
        order = pc.sort_indices(keys.take(kept),
                                sort_keys=[("time", "ascending"), ("rule_id", "ascending")])
        matches = _take_columns(self.found, pc.take(kept, order))
        inputs = {}
        if AuditdView in self.inputs:
            inputs["auditd records"] = self.inputs[AuditdView]
        if K8sView in self.inputs:
            inputs["Kubernetes requests"] = self.inputs[K8sView]
        return DetectionResult(matches, pa.Table.from_pylist(fates, schema=DETECTION_RULES.arrow),
                               inputs)


def _one_per_request(matches: pa.Table) -> Any:
    """The rows of ``matches`` (rule_id, audit_id) to keep: a request whose stages were read in
    different parts matched once per part; keep the match of its latest stage (parts are fed
    in input order, so the last one). Worked out with numpy, not a group-by: Arrow's runs on
    its thread pool, whose scratch memory stays with the process."""
    key = pc.binary_join_element_wise(matches["rule_id"], matches["audit_id"], "\x1f")
    key = key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key
    coded = pc.dictionary_encode(key)
    codes = pc.fill_null(coded.indices, 0).to_numpy(zero_copy_only=False)
    request = pc.is_valid(key).to_numpy(zero_copy_only=False)
    last = np.full(len(coded.dictionary), -1, np.int64)
    np.maximum.at(last, codes[request], np.flatnonzero(request))
    keep = ~request
    keep[last[last >= 0]] = True
    return pa.array(np.flatnonzero(keep))


def _take_columns(tables: list[pa.Table], rows: Any) -> pa.Table:
    """The rows ``rows`` of ``tables`` (emptied) stacked, taken a column at a time and each
    source column let go once taken: the matches of a large input are tens of MB, and a
    whole-table take would hold them twice."""
    table = pa.concat_tables(tables)
    tables.clear()
    names, schema = table.column_names, table.schema
    columns = []
    for name in names:
        columns.append(pc.take(table[name], rows))
        table = table.drop_columns([name])
    return pa.Table.from_arrays(columns, schema=schema)


def run_rules(rules: RuleSet, *, auditd: pa.Table | None = None, k8s: pa.Table | None = None,
              level: str | None = None) -> DetectionResult:
    """Run every rule of ``rules`` at or above ``level`` over the auditd records and Kubernetes
    Events given, held in memory (either may be None: its rules are then listed as not run,
    with the reason)."""
    runner = Runner(rules, level=level)
    runner.feed(auditd=auditd, k8s=k8s)
    return runner.finish()


def _run_correlations(rules: RuleSet, hits: dict[int, list[Hit]], not_run: dict[int, str],
                      sources: dict[int, str], hidden: set[int], wanted: set[str],
                      found: list[dict[str, Any]], fates: list[dict[str, Any]]) -> None:
    """Correlations in dependency order (one may name another); their matches join ``found``."""
    pending = list(rules.correlations)
    while pending:
        ready = [c for c in pending if all(id(r) in hits or id(r) in not_run for r in c.refs)]
        if not ready:  # names a rule that was not loaded or not run: say so, once each
            for c in pending:
                fates.append(_fate(c.info, None, "names rules that are not loaded"))
            return
        for c in ready:
            pending.remove(c)
            key = id(c.sigma)
            source = next((sources[id(r)] for r in c.refs if id(r) in sources), None)
            sources[key] = source or ""
            missing = [not_run[id(r)] for r in c.refs if id(r) in not_run]
            if missing:
                not_run[key] = f"a rule it names did not run: {missing[0]}"
                fates.append(_fate(c.info, source, not_run[key]))
                continue
            rows = [{**r, **_rule_fields(c.info)} for r in correlate(c.sigma, [hits[id(r)] for r in c.refs])]
            hits[key] = rows
            if c.info.level in wanted and key not in hidden:
                found.extend(rows)
                fates.append(_fate(c.info, source, None, len(rows)))
