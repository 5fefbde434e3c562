"""The audit trail's own integrity: was auditing on, who changed it, and is anything missing?

One row per finding (schema ``audit_trail``), sorted by time:

- ``audit-daemon``: auditd start, stop, abort, rotate, reconfigure, resume (DAEMON_* records);
  ``system-state``: SYSTEM_BOOT / SYSTEM_SHUTDOWN (a boot restarts the kernel's serials).
- ``rule-change`` (CONFIG_CHANGE op=add_rule/remove_rule/…) and ``config-change`` (op=set …,
  enabled flag, backlog, failure mode): who did it and the auditctl command line. The rule key,
  list and old/new values are on the CONFIG_CHANGE record itself, which the events table does not
  keep (its ``key`` is the SYSCALL's, ``(null)`` for auditctl): pass ``records=`` (an
  ``auditd_records`` table) to get them; without it the key is taken from the command line.
- ``audit-access``: events touching /var/log/audit or /etc/audit, or fired by a rule whose key
  mentions ``audit`` (CIS/STIG ``audit-log-access``, ``audit-config``, ``audit-tools`` …).
- ``lost-events``: a kernel lost-event counter (``lost=`` / ``audit_lost=`` with ``old=`` on a
  CONFIG_CHANGE or DAEMON record, AUDIT_LOST records) — needs ``records=``.
- ``serial-gap``: event serials missing on a node. Serials count up per boot, so holes are
  looked for inside segments that end where a boot or auditd restart begins (SYSTEM_BOOT,
  DAEMON_START, or a serial going backwards in time order). DAEMON_* records carry auditd's own
  numbers and are left out. Events are put in time order per node first, so interleaved nodes,
  interleaved records and files given in any order do not make holes, and nothing is claimed
  before the first event or after the last (a log that starts mid-stream is not a hole).
- ``time-gap``: no event at all on a node for longer than ``node_silence`` (default 1 h) between
  two events — quiet periods at the edges of the files are not holes. A node with narrow rules can
  be quiet for an hour legitimately: raise it, or pass None to switch this check off. The same per
  Kubernetes cluster with ``cluster_silence`` (default 10 min: API servers log continuously).
- ``time-gap`` with action ``no-batches``: a source of an ``auditlens serve`` receiver (its
  ``cluster``) that sent no batch for longer than the receiver's ``--silence`` threshold,
  read from the receiver's state when the Kubernetes logs read are in its output directory
  (:func:`auditlens.serve.store.silences`): the apiserver's webhook failing, seen from the
  receiving end.
- ``incomplete-request``: a Kubernetes request logged at RequestReceived with no ResponseStarted,
  ResponseComplete or Panic (long-running watch/exec requests end at ResponseStarted: complete).

- ``pipeline-change``: a service (cloud) event that changes the audit pipeline itself: the
  cluster's audit webhook or logging configuration, an Activity Tracker route or target, a
  CloudTrail trail, a GCP log sink, GKE/EKS cluster logging, an Azure diagnostic setting
  (:data:`PIPELINE_RULES`).
- ``pipeline-gap``: each *removal* among those (webhook deleted, trail stopped, sink deleted …)
  linked to the hole it opened in the cluster's API audit log, when both are read: from the
  removal to the next event restoring the same pipeline of the same cluster (or the end of what
  was read), with how many API audit events the cluster logged inside that window (none
  confirms the hole), who removed and who restored it, and both service events as evidence.
  The cluster is matched by the name or id the provider gives (``cloud_events.cluster``, any
  case) against the API log's ``cluster``; an API log with no cluster name, read with service
  events of one cluster only, is taken to be that cluster's (the reason says so). A removal
  that names no cluster (a trail stopped or deleted, a project's sink deleted), and a change
  that may cut the pipeline without saying so (a trail or sink updated, GKE logging set), is
  linked only to a silence of an API log (no event for longer than ``cluster_silence``) that
  begins within :data:`LINK_WINDOW` of it, in a cluster of the same account (and region, when
  both are known) — or of an account no service event names — and its reason calls that a
  coincidence in time. ``linked_by`` says which link holds; nothing is linked otherwise.

``since``/``until`` keep the findings that touch the period (a hole overlapping it counts); the
detection itself always runs over everything read, so a hole at the edge of the period is found.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..actions import from_auditd, from_k8s
from ..schema import AUDIT_TRAIL, AUDITD_EVENTS, CLOUD_EVENTS, K8S_EVENTS
from ..timerange import TimeBound, time_range
from .selections import OAUTH_PATHS

DAEMON_PREFIX = "DAEMON_"
RECORD_TYPES = ("CONFIG_CHANGE", "AUDIT_LOST", DAEMON_PREFIX)
"""The record types (prefixes) whose fields the trail reads from the records table."""
SYSTEM_TYPES = ("SYSTEM_BOOT", "SYSTEM_SHUTDOWN")
RULE_OPS = {"add_rule", "remove_rule", "updated_rules", "list_rules", "remove_all_rules"}
FILTER_LISTS = {"0": "user", "1": "task", "2": "entry", "3": "watch", "4": "exit",
                "5": "exclude", "6": "filesystem", "7": "io_uring"}
"""The kernel's AUDIT_FILTER_* list numbers (``list=`` of CONFIG_CHANGE), as auditctl names them."""
AUDIT_DIRS = ("/var/log/audit", "/etc/audit")
_AUDIT_KEY = re.compile(r"audit", re.IGNORECASE)
_KEY_IN_COMMAND = re.compile(r"(?:^|\s)(?:-k\s*|-F\s*key=|--key[= ])(\S+)")
_CONFIG_SKIP = {"op", "auid", "ses", "res", "subj", "pid", "uid", "old", "by", "list", "key"}
_LOST_FIELDS = ("lost", "audit_lost")
_RULE_VERBS = {"add_rule": "added", "remove_rule": "removed", "updated_rules": "updated (watched "
               "path changed)", "remove_all_rules": "all removed", "list_rules": "listed"}
_US = 1_000_000
_CLOCK_SLACK_US = 60 * _US
"""How far back in time an event may be and still continue its segment (old kernels stamp the
time at syscall entry, so a slow syscall's event can look older than the one logged before it)."""


def _utc(us: int | None) -> datetime | None:
    if us is None:
        return None
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(us))


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _blank_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(AUDIT_TRAIL.names)
    row.update(values)
    return row


def _where(file: str | None, line: int | None, serial: int | None = None) -> str:
    text = f"{file or '-'}:{line or 0}"
    return text if serial is None else f"{text} serial {serial}"


# ---------------------------------------------------------------------------------------------
# records: the CONFIG_CHANGE / DAEMON fields the events table does not keep


@dataclass(frozen=True)
class _RecordFields:
    """Fields of the CONFIG_CHANGE / DAEMON / AUDIT_LOST records, by (node, serial, time)."""

    by_event: dict[tuple[str | None, int, int], dict[str, str]]

    @classmethod
    def of(cls, records: pa.Table | None) -> _RecordFields:
        if records is None or records.num_rows == 0:
            return cls({})
        rtype = records["record_type"]
        wanted = pc.or_(pc.is_in(rtype, pa.array(["CONFIG_CHANGE", "AUDIT_LOST"])),
                        pc.starts_with(rtype, DAEMON_PREFIX))
        sub = records.filter(pc.fill_null(wanted, False))
        times = pc.cast(sub["time"], pa.int64()).to_pylist()
        out: dict[tuple[str | None, int, int], dict[str, str]] = {}
        for node, serial, t, fields in zip(sub["node"].to_pylist(), sub["serial"].to_pylist(),
                                           times, sub["fields"].to_pylist()):
            out.setdefault((node, serial, t), {}).update(dict(fields or []))
        return cls(out)

    def get(self, node: str | None, serial: int, t: int) -> dict[str, str]:
        return self.by_event.get((node, serial, t), {})


def _unquote(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip('"')
    return None if value in ("(null)", "", "?") else value


def _config_object(fields: dict[str, str]) -> str | None:
    """``audit_backlog_limit=8192 (was 64)`` for op=set and the old enable/backlog forms."""
    parts = [f"{k}={v}" for k, v in fields.items() if k not in _CONFIG_SKIP]
    if not parts:
        return None
    old = fields.get("old")
    return " ".join(parts) + (f" (was {old})" if old is not None else "")


# ---------------------------------------------------------------------------------------------
# auditd: events that are findings by themselves


def _event_findings(auditd: pa.Table, fields: _RecordFields) -> list[dict[str, Any]]:
    etype = auditd["event_type"]
    daemon = pc.fill_null(pc.starts_with(etype, DAEMON_PREFIX), False)
    system = pc.fill_null(pc.is_in(etype, pa.array(SYSTEM_TYPES)), False)
    config = pc.fill_null(pc.equal(etype, "CONFIG_CHANGE"), False)
    lost = pc.fill_null(pc.equal(etype, "AUDIT_LOST"), False)
    access = _audit_access_mask(auditd)
    special = pc.or_(pc.or_(daemon, system), pc.or_(config, lost))
    access = pc.and_(access, pc.invert(special))
    chosen = auditd.filter(pc.or_(special, access))
    if chosen.num_rows == 0:
        return []
    act = from_auditd(chosen.select(AUDITD_EVENTS.names)).to_pylist()
    ev = chosen.select(["node", "serial", "time", "event_type", "op", "key", "proctitle",
                        "argv", "paths", "cwd", "exe"]).to_pylist()
    times = pc.cast(chosen["time"], pa.int64()).to_pylist()
    rows: list[dict[str, Any]] = []
    for a, e, t in zip(act, ev, times):
        base = {k: a[k] for k in ("time", "source", "node", "actor", "acting_as", "action",
                                  "outcome", "reason", "origin", "session", "evidence", "key")}
        command = " ".join(e["argv"]) if e["argv"] else e["proctitle"]
        base["command"] = command
        f = fields.get(e["node"], e["serial"], t) if t is not None else {}
        etype_v = e["event_type"] or ""
        lost_value = next((_int(f.get("old")) if f.get(name) == "0" and "old" in f
                           else _int(f.get(name)) for name in _LOST_FIELDS if name in f), None)
        if etype_v.startswith(DAEMON_PREFIX) or etype_v in SYSTEM_TYPES:
            kind = "audit-daemon" if etype_v.startswith(DAEMON_PREFIX) else "system-state"
            base.update(finding=kind, object=etype_v, reason=base["reason"] or _daemon_reason(e))
        elif etype_v == "CONFIG_CHANGE":
            op = _unquote(f.get("op")) or e["op"]
            op = op.replace(" ", "_") if op else op
            key = _unquote(f.get("key")) or e["key"] or _key_from_command(command)
            if op in RULE_OPS:
                lst = FILTER_LISTS.get(f.get("list", ""), f.get("list"))
                obj = " ".join(p for p in (f"key={key}" if key else None,
                                           f"list={lst}" if lst else None) if p) or None
                base.update(finding="rule-change", action=op, key=key, object=obj,
                            reason=f"audit rule {_RULE_VERBS.get(op, op)}"
                            + (f" (key {key})" if key else ""))
            else:
                obj = _config_object(f)
                base.update(finding="config-change", action=op or "set", object=obj,
                            reason="audit configuration changed" + (f": {obj}" if obj else ""))
        else:
            path = _audit_path(e)
            if path is None and not _AUDIT_KEY.search(e["key"] or ""):
                continue  # a relative path that resolved outside the audit directories
            obj = path or e["exe"]
            base.update(finding="audit-access", object=obj,
                        reason=base["reason"] or "access to the audit trail, its configuration "
                        "or tools")
        rows.append(_blank_row(**base))
        if lost_value or etype_v == "AUDIT_LOST":
            rows.append(_blank_row(
                time=base["time"], source="auditd", node=e["node"], finding="lost-events",
                action="lost-events", actor=base["actor"], missing_count=lost_value,
                outcome="failure", evidence=base["evidence"],
                reason=f"the kernel counted {lost_value if lost_value is not None else 'some'} "
                "audit event(s) lost (backlog full, rate limit or auditd not reading)"))
    return rows


def _daemon_reason(e: dict[str, Any]) -> str | None:
    etype = e["event_type"]
    return {
        "DAEMON_START": "auditd started: logging (re)begins",
        "DAEMON_END": "auditd stopped: nothing is logged until it starts again",
        "DAEMON_ABORT": "auditd aborted: nothing is logged until it starts again",
        "DAEMON_ROTATE": "audit log rotated",
        "DAEMON_CONFIG": "auditd configuration changed",
        "DAEMON_RECONFIG": "auditd reconfigured",
        "DAEMON_RESUME": "auditd resumed logging after a suspension: events in between are lost",
        "DAEMON_ERR": "auditd reported an error",
        "SYSTEM_BOOT": "system booted: kernel serial numbers restart",
        "SYSTEM_SHUTDOWN": "system shut down",
    }.get(etype)


def _key_from_command(command: str | None) -> str | None:
    m = _KEY_IN_COMMAND.search(command or "")
    return m.group(1) if m else None


def _audit_path(e: dict[str, Any]) -> str | None:
    for item in e["paths"] or []:
        name = item.get("name")
        if not name:
            continue
        if not name.startswith("/") and e["cwd"]:
            name = e["cwd"].rstrip("/") + "/" + name
        if any(name == d or name.startswith(d + "/") for d in AUDIT_DIRS):
            return name
    return None


def _audit_access_mask(auditd: pa.Table) -> pa.ChunkedArray:
    key = pc.fill_null(pc.match_substring_regex(auditd["key"], _AUDIT_KEY.pattern,
                                                ignore_case=True), False)
    flat = pc.list_flatten(auditd["paths"])
    parents = pc.list_parent_indices(auditd["paths"])
    names = pc.struct_field(flat, "name")
    hit = pc.fill_null(pc.or_(*[pc.or_(pc.equal(names, d), pc.starts_with(names, d + "/"))
                                for d in AUDIT_DIRS]), False)
    relative = pc.fill_null(pc.invert(pc.starts_with(names, "/")), False)
    rows = np.zeros(auditd.num_rows, dtype=bool)
    idx = np.asarray(parents)
    rows[idx[np.asarray(pc.or_(hit, relative))]] = True  # candidates: relative names need cwd
    return pc.or_(key, pa.chunked_array([pa.array(rows)]))


# ---------------------------------------------------------------------------------------------
# auditd: holes


def _sorted_columns(auditd: pa.Table) -> dict[str, np.ndarray]:
    t = auditd.select(["node", "serial", "time", "event_type", "file", "line"])
    order = pc.sort_indices(t, [("node", "ascending"), ("time", "ascending"),
                                ("serial", "ascending")])
    t = t.take(order)
    return {
        "node": np.asarray(t["node"].to_pylist(), dtype=object),
        "serial": np.asarray(pc.fill_null(t["serial"], -1)),
        "time": np.asarray(pc.fill_null(pc.cast(t["time"], pa.int64()), -1)),
        "type": np.asarray(pc.fill_null(t["event_type"], "").to_pylist(), dtype=object),
        "file": np.asarray(t["file"].to_pylist(), dtype=object),
        "line": np.asarray(pc.fill_null(t["line"], 0)),
    }


def _serial_gaps(auditd: pa.Table) -> list[dict[str, Any]]:
    """Holes in the kernel's serial numbers, per node and boot, in the order the events were read.

    Per node and log directory (:func:`_log_dir`). Input order (rotated files oldest first, lines
    in order) is kept, not time order: old kernels
    stamp the time at syscall entry and the serial at the first record, so the two can disagree.
    A segment (one boot / one auditd run / one excerpt) ends at SYSTEM_BOOT, DAEMON_START, a
    serial below the smallest one of the segment, or a time more than a minute before the
    segment's latest; a small step back is interleaving, not a restart. Holes are looked for in
    each segment's sorted set of serials, and a hole that a neighbouring segment fills is no hole,
    so records logged out of order never make one.
    """
    n = auditd.num_rows
    if n == 0:
        return []
    nodes = auditd["node"].to_pylist()
    serials = auditd["serial"].to_pylist()
    types = pc.fill_null(auditd["event_type"], "").to_pylist()
    times = pc.cast(auditd["time"], pa.int64()).to_pylist()
    files, lines = auditd["file"].to_pylist(), auditd["line"].to_pylist()
    # per node: segments (serial → first row index) and the current one's lowest serial and
    # latest time
    segments: dict[tuple[str | None, str], list[dict[int, int]]] = {}
    lowest: dict[tuple[str | None, str], int] = {}
    latest: dict[tuple[str | None, str], int] = {}
    for i in range(n):
        serial, typ, t = serials[i], types[i], times[i]
        group = (nodes[i], _log_dir(files[i]))
        segs = segments.setdefault(group, [{}])
        if typ.startswith(DAEMON_PREFIX):
            if typ == "DAEMON_START" and segs[-1]:
                segs.append({})
            continue  # auditd's own numbering
        if serial is None or t is None:
            continue
        if segs[-1] and (typ == "SYSTEM_BOOT" or serial < lowest[group]
                         or t < latest[group] - _CLOCK_SLACK_US):
            segs.append({})
        if not segs[-1]:
            lowest[group], latest[group] = serial, t
        lowest[group], latest[group] = min(lowest[group], serial), max(latest[group], t)
        segs[-1].setdefault(serial, i)
    rows = []
    for (node, _), segs in segments.items():
        keys = [sorted(seg) for seg in segs]
        for k, seg in enumerate(segs):
            ordered = keys[k]
            neighbours = keys[max(k - 1, 0):k] + keys[k + 1:k + 2]
            for lo, hi in itertools.pairwise(ordered):
                if hi <= lo + 1 or any(_has_between(other, lo, hi) for other in neighbours):
                    continue  # no hole, or filled by records logged across a segment boundary
                a, b = seg[lo], seg[hi]
                first, last = lo + 1, hi - 1
                count = last - first + 1
                t0, t1 = times[a], times[b]
                what = f"serial {first}" if count == 1 else f"serials {first}–{last}"
                rows.append(_blank_row(
                    time=_utc(t0), source="auditd", node=node, finding="serial-gap",
                    action="events-missing", outcome="failure", first_missing=first,
                    last_missing=last, missing_count=count, gap_start=_utc(t0),
                    gap_end=_utc(t1), gap_seconds=(t1 - t0) / _US,
                    reason=f"{count} event(s) missing ({what}) between serial {lo} and {hi}: "
                    "removed from the log, or lost by the kernel or auditd",
                    evidence=f"{_where(files[a], lines[a], lo)} → {_where(files[b], lines[b], hi)}"))
    return rows


def _log_dir(file: str | None) -> str:
    """The directory a log file is in: one node's rotated set lives in one directory, and two
    copies of a node's logs (a collector's archive and a cut-down copy) must not fill each
    other's holes."""
    return (file or "").rpartition("/")[0]


def _has_between(ordered: list[int], lo: int, hi: int) -> bool:
    """Whether a sorted list holds a value strictly between lo and hi."""
    j = bisect.bisect_right(ordered, lo)
    return j < len(ordered) and ordered[j] < hi


_STOPPED = ("DAEMON_END", "DAEMON_ABORT", "SYSTEM_SHUTDOWN")
_STARTED = ("DAEMON_START", "SYSTEM_BOOT")


def _time_gaps(groups: np.ndarray, times: np.ndarray, silence: timedelta, *, source: str,
               where: list[str], types: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Consecutive events (already in group, time order) further apart than ``silence``."""
    ok = times >= 0
    g, t, idx = groups[ok], times[ok], np.flatnonzero(ok)
    if len(t) < 2:
        return []
    limit = silence / timedelta(microseconds=1)
    hole = (g[1:] == g[:-1]) & ((t[1:] - t[:-1]) > limit)
    rows = []
    for j in np.flatnonzero(hole):
        t0, t1 = int(t[j]), int(t[j + 1])
        hours = (t1 - t0) / _US / 3600
        note = ""
        if types is not None:
            before, after = types[idx[j]], types[idx[j + 1]]
            if before in _STOPPED:
                note = f" (after {before}: auditing was off)"
            elif after in _STARTED:
                note = f" (ends at {after}: auditd or the system was down)"
        rows.append(_blank_row(
            time=_utc(t0), source=source, finding="time-gap", action="no-events",
            outcome="failure", gap_start=_utc(t0), gap_end=_utc(t1), gap_seconds=(t1 - t0) / _US,
            reason=f"no events for {hours:.1f} h (longer than {silence}){note}",
            evidence=f"{where[idx[j]]} → {where[idx[j + 1]]}",
            **({"node": g[j]} if source == "auditd" else {"cluster": g[j]})))
    return rows


def _auditd_holes(auditd: pa.Table, node_silence: timedelta | None) -> list[dict[str, Any]]:
    rows = _serial_gaps(auditd)
    if node_silence is not None:
        c = _sorted_columns(auditd)
        where = [_where(f, ln, s) for f, ln, s in zip(c["file"], c["line"], c["serial"])]
        seen = {(r["node"], r["gap_start"], r["gap_end"]) for r in rows}
        for r in _time_gaps(c["node"], c["time"], node_silence, source="auditd", where=where,
                            types=c["type"]):
            if (r["node"], r["gap_start"], r["gap_end"]) not in seen:
                rows.append(r)
    return rows


# ---------------------------------------------------------------------------------------------
# Kubernetes


def _k8s_findings(k8s: pa.Table, cluster_silence: timedelta | None,
                  in_flight: timedelta) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if k8s.num_rows == 0:
        return rows
    t = k8s.select(K8S_EVENTS.names)
    acts = from_k8s(t)
    last_by_cluster: dict[str | None, int] = {}
    for cl, tm in zip(t["cluster"].to_pylist(), pc.cast(t["time"], pa.int64()).to_pylist()):
        if tm is not None:
            last_by_cluster[cl] = max(tm, last_by_cluster.get(cl, tm))
    # activity gives an incomplete request no outcome and this reason (see actions.from_k8s)
    incomplete = acts.filter(pc.fill_null(pc.is_null(acts["outcome"]), False))
    req_stage: dict[str | None, set[str | None]] = {}
    for aid, stage in zip(t["audit_id"].to_pylist(), t["stage"].to_pylist()):
        req_stage.setdefault(aid, set()).add(stage)
    uri = dict(zip(t["audit_id"].to_pylist(), t["request_uri"].to_pylist()))
    for a in incomplete.to_pylist():
        evidence = a["evidence"] or ""
        aid = evidence.rsplit("auditID ", 1)[-1] if "auditID " in evidence else None
        if aid is None or req_stage.get(aid) != {"RequestReceived"}:
            continue  # GKE entries (no stage) and rows without an auditID prove nothing
        received = a["time"]
        last = last_by_cluster.get(a["cluster"])
        note = ""
        if received is not None and last is not None:
            before_end = last - int(received.timestamp() * _US)
            if before_end <= in_flight / timedelta(microseconds=1):
                note = (f"; received {before_end / _US:.0f} s before the log ends, so it may "
                        "still have been running")
        rows.append(_blank_row(
            time=received, source="k8s", cluster=a["cluster"], finding="incomplete-request",
            action=a["action"], actor=a["actor"], acting_as=a["acting_as"],
            object=" ".join(p for p in (a["action"], uri.get(aid)) if p) or a["object"],
            outcome=None, origin=a["origin"], evidence=a["evidence"],
            reason="request logged at RequestReceived with no ResponseStarted, ResponseComplete "
            f"or Panic: its outcome is not in the audit log{note}"))
    rows.extend(_receiver_silences(t))
    if cluster_silence is not None:
        order = pc.sort_indices(t, [("cluster", "ascending"), ("time", "ascending")])
        s = t.select(["cluster", "time", "file", "line", "audit_id"]).take(order)
        groups = np.asarray(s["cluster"].to_pylist(), dtype=object)
        times = np.asarray(pc.fill_null(pc.cast(s["time"], pa.int64()), -1))
        where = [f"{_where(f, ln)} auditID {a}" for f, ln, a in
                 zip(s["file"].to_pylist(), s["line"].to_pylist(), s["audit_id"].to_pylist())]
        rows.extend(_time_gaps(groups, times, cluster_silence, source="k8s", where=where))
    return rows


def _receiver_silences(k8s: pa.Table) -> list[dict[str, Any]]:
    """Silences of the sources of the ``auditlens serve`` directories the logs were read from
    (a receiver's file is ``OUT/<source>/<day>/audit-….jsonl``)."""
    from pathlib import Path

    from ..serve.store import silences

    roots = {Path(f).parents[2] for f in pc.unique(k8s["file"]).to_pylist()
             if f and len(Path(f).parents) > 2}
    rows = []
    for root in sorted(roots):
        for s in silences(root):
            start, end = _utc(int(s.start * _US)), _utc(int(s.end * _US))
            minutes = (s.end - s.start) / 60
            until = "and still silent when the receiver last wrote its state" if s.ongoing \
                else "until its next batch"
            rows.append(_blank_row(
                time=start, source="k8s", cluster=s.source, finding="time-gap",
                action="no-batches", outcome="failure", gap_start=start, gap_end=end,
                gap_seconds=s.end - s.start, evidence=s.state_file,
                reason=f"the audit webhook receiver got no batch from {s.source} for "
                f"{minutes:.1f} min {until}: the apiserver's webhook was failing, or the "
                "receiver was down (its events may be lost)"))
    return rows


# ---------------------------------------------------------------------------------------------
# service (cloud) events that change the audit pipeline


@dataclass(frozen=True)
class PipelineRule:
    """Service events that change one audit pipeline: ``changes`` (any change, a regular
    expression over ``action``, any case), among them the ``removals`` that stop it and the
    ``restores`` that bring it back. ``also``: a pattern the raw event must match too (a
    cluster update is a pipeline change only when it touches logging). ``removed_when`` /
    ``restored_when``: a change is a removal / restore when its ``message`` matches (EKS: the
    reader's summary of the logging request, ``control-plane logs disabled: api, audit``).
    Every other change may still cut the pipeline (a trail or sink pointed elsewhere): it is
    linked to a silence of the API log by time only, and says so."""

    name: str
    changes: str
    removals: str | None = None
    restores: str | None = None
    also: str | None = None
    removed_when: str | None = None
    restored_when: str | None = None

    def removes(self, e: dict[str, Any]) -> bool:
        return _matches(self.removals, e["action"]) or _matches(self.removed_when, e["message"])

    def restores_it(self, e: dict[str, Any]) -> bool:
        return _matches(self.restores, e["action"]) or _matches(self.restored_when, e["message"])


_IBM = r"^containers-kubernetes\."
PIPELINE_RULES: tuple[PipelineRule, ...] = (
    PipelineRule("IBM cluster audit webhook", _IBM + r"cluster-audit-webhook\.(update|delete|create)$",
                 _IBM + r"cluster-audit-webhook\.delete$",
                 _IBM + r"cluster-audit-webhook\.(update|create)$"),
    PipelineRule("IBM cluster logging configuration",
                 _IBM + r"(cluster-)?logging-(config|filter)\.(create|update|delete|refresh)$"
                 "|" + _IBM + r"observe-logging\.(create|modify|remove)$",
                 _IBM + r"(cluster-)?logging-config\.delete$|" + _IBM + r"observe-logging\.remove$",
                 _IBM + r"(cluster-)?logging-config\.create$|" + _IBM + r"observe-logging\.create$"),
    PipelineRule("IBM Activity Tracker route or target",
                 r"^atracker\.(route|target|setting|settings)\.(create|update|delete|replace)$",
                 r"^atracker\.(route|target)\.delete$", r"^atracker\.(route|target)\.create$"),
    PipelineRule("AWS CloudTrail trail",
                 r"(^|:)(StopLogging|StartLogging|DeleteTrail|CreateTrail|UpdateTrail"
                 r"|PutEventSelectors|PutInsightSelectors)$",
                 r"(^|:)(StopLogging|DeleteTrail)$", r"(^|:)(StartLogging|CreateTrail)$"),
    PipelineRule("AWS EKS cluster logging", r"^eks(\.amazonaws\.com)?:UpdateClusterConfig$",
                 also=r'(?i)"?logging"?', removed_when=r"\bdisabled: [^;]*\baudit\b",
                 restored_when=r"\benabled: [^;]*\baudit\b"),
    PipelineRule("GCP log sink", r"\.ConfigServiceV2\.(DeleteSink|UpdateSink|CreateSink)$",
                 r"\.ConfigServiceV2\.DeleteSink$", r"\.ConfigServiceV2\.CreateSink$"),
    PipelineRule("GCP GKE cluster logging",
                 r"^google\.container\.v1(beta1|alpha1)?\.ClusterManager\.(UpdateCluster|SetLoggingService)$",
                 also=r"(?i)logging"),
    PipelineRule("Azure diagnostic setting",
                 r"^Microsoft\.Insights/diagnosticSettings/(write|delete)$",
                 r"^Microsoft\.Insights/diagnosticSettings/delete$",
                 r"^Microsoft\.Insights/diagnosticSettings/write$"),
)
"""The audit pipelines a service event can change, each with its removals and restores."""


def _matches(pattern: str | None, text: str | None) -> bool:
    return bool(pattern and text and re.search("(?i)" + pattern, text))


def _cloud_where(e: dict[str, Any]) -> str:
    text = f"{_where(e['file'], e['line'])} {e['provider'] or '-'}"
    return text + (f" correlationId {e['correlation_id']}" if e["correlation_id"] else "")


def _who(e: dict[str, Any]) -> str | None:
    return e["acting_for"] or e["actor"]


def _pipeline_findings(cloud: pa.Table, k8s: pa.Table | None,
                       silence: timedelta) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    events = cloud.select(CLOUD_EVENTS.names)
    events = events.take(pc.sort_indices(events, [("time", "ascending")]))
    changes: list[tuple[PipelineRule, dict[str, Any]]] = []
    for e in events.to_pylist():
        for rule in PIPELINE_RULES:
            if _matches(rule.changes, e["action"]) and (rule.also is None
                                                        or _matches(rule.also, e["raw"])):
                changes.append((rule, e))
                break
    for rule, e in changes:
        rows.append(_blank_row(
            time=e["time"], source="cloud", cluster=e["cluster"], finding="pipeline-change",
            action=e["action"], actor=_who(e), acting_as=e["actor"] if e["acting_for"] else None,
            object=e["target"] or e["target_id"], outcome=e["outcome"], origin=e["origin"],
            reason=f"{rule.name} changed through the {e['provider'] or 'cloud'} control plane"
            + (f": {e['message']}" if e["message"] else ""),
            evidence=_cloud_where(e)))
    rows.extend(_pipeline_gaps(changes, events, k8s, silence))
    return rows


def _api_times(k8s: pa.Table | None) -> dict[str | None, list[int]]:
    """Each cluster's API audit event times (µs), sorted. OpenShift's oauth server writes its
    own audit log (its requests, ``/oauth/…`` and ``/login``, never pass the API server's
    audit backends), so its events say nothing of a hole in the API server's log."""
    out: dict[str | None, list[int]] = {}
    if k8s is None or k8s.num_rows == 0:
        return out
    oauth = pc.fill_null(pc.match_substring_regex(k8s["request_uri"], OAUTH_PATHS), False)
    k8s = k8s.filter(pc.invert(oauth))
    for cl, tm in zip(k8s["cluster"].to_pylist(), pc.cast(k8s["time"], pa.int64()).to_pylist()):
        if tm is not None:
            out.setdefault(cl, []).append(tm)
    for times in out.values():
        times.sort()
    return out


def _us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


_DONE = ("success", "pending", None)
"""Outcomes of a removal or restore that took (IBM logs asynchronous operations as pending)."""


def _names_of(e: dict[str, Any]) -> set[str]:
    """The names a service event gives its cluster: ``cluster``; for an event on the cluster
    itself its target's name and id; the cluster id of an IBM Kubernetes Service CRN
    (``crn:v1:…:containers-kubernetes:<region>:a/<account>:<cluster-id>:…``)."""
    names = {e["cluster"]} if e["cluster"] else set()
    if (e["target_kind"] or "").lower().endswith(("cluster", "clusters")):
        names |= {v for v in (e["target"], e["target_id"]) if v}
    crn = (e["target_id"] or "").split(":")
    if len(crn) >= 8 and crn[0] == "crn" and crn[4] == "containers-kubernetes" and crn[7]:
        names.add(crn[7])
    return names


def cluster_aliases(events: list[dict[str, Any]]) -> list[set[str]]:
    """The service events' clusters, each as the set of names it goes by: a name and an id
    given together by one event (a cluster's name and the id in its CRN) are one cluster."""
    groups: list[set[str]] = []
    for e in events:
        names = _names_of(e)
        if not names or not (e["cluster"] or len(names) > 1):
            continue
        joined = [g for g in groups if g & names]
        merged = names.union(*joined)
        groups = [g for g in groups if not g & names] + [merged]
    return groups


TIME_LINKS = ("time", "time+account", "cluster+time")
"""``linked_by`` values of a hole linked by time only (its silence is also a time-gap)."""
LINK_WINDOW = timedelta(minutes=5)
"""How close to a pipeline change a silence of the API log must begin to be linked to it by
time (the change names no cluster, or it may cut the pipeline without saying so)."""
_SILENCE = timedelta(minutes=10)


@dataclass(frozen=True)
class _Hole:
    """A window of one API log a removal opened, and how it was tied to the removal."""

    log: str | None
    start: int
    end: int
    linked_by: str
    how: str
    restore: dict[str, Any] | None = None
    cluster: str | None = None  # the name shown when the log has none


def _silences(times: list[int], silence: timedelta) -> list[tuple[int, int]]:
    """(last event before, first event after) of each stretch without an event longer than
    ``silence`` (what the audit trail reports as a cluster's time-gap)."""
    limit = silence / timedelta(microseconds=1)
    return [(a, b) for a, b in zip(times, times[1:]) if b - a > limit]


def _where_is(clusters: list[set[str]], events: list[dict[str, Any]]) -> dict[str, set[tuple[Any, Any]]]:
    """Per cluster name or id (lower-cased): the (account, region) pairs the service events
    naming it give."""
    out: dict[str, set[tuple[Any, Any]]] = {}
    for e in events:
        names = _names_of(e)
        if not names or e["account"] is None:
            continue
        group = set().union(*(g for g in clusters if g & names)) or names
        for name in group:
            out.setdefault(name.lower(), set()).add((e["account"], e["region"]))
    return out


def _same(a: Any, b: Any) -> bool:
    return str(a).lower() == str(b).lower()


def _by_time(e: dict[str, Any], api: dict[str | None, list[int]], silence: timedelta,
             places: dict[str, set[tuple[Any, Any]]], only: set[str] | None) -> list[_Hole]:
    """The API logs' silences that begin within :data:`LINK_WINDOW` of change ``e`` (and last
    past it), in clusters it may be about: ``only`` (the clusters it names), else the clusters
    of its account (and region, when both are known), else — the cluster's account unknown —
    any, said so."""
    t = _us(e["time"])
    window = LINK_WINDOW / timedelta(microseconds=1)
    holes = []
    for log, times in api.items():
        if only is not None and log not in only:
            continue
        known = places.get(log.lower(), set()) if log is not None else set()
        if only is not None:
            how, linked = f"it names this cluster ({log})", "cluster+time"
        elif not known:
            how, linked = "its account and the cluster's are not known to be the same: no " \
                          "service event read names this cluster", "time"
        elif e["account"] is not None and any(_same(a, e["account"]) and (
                e["region"] is None or r is None or _same(r, e["region"])) for a, r in known):
            same = "account and region" if e["region"] and any(r for _, r in known) else "account"
            how, linked = f"the same {same} ({e['account']})", "time+account"
        else:
            continue  # a cluster of another account or region
        for start, end in _silences(times, silence):
            if start - window <= t <= start + window and end > t:
                holes.append(_Hole(log, start, end, linked, how))
    return holes


def _pipeline_gaps(changes: list[tuple[PipelineRule, dict[str, Any]]], events: pa.Table,
                   k8s: pa.Table | None, silence: timedelta) -> list[dict[str, Any]]:
    api = _api_times(k8s)
    if not api:
        return []
    listed = events.to_pylist()
    clusters = cluster_aliases(listed)
    places = _where_is(clusters, listed)
    event_times = [(_names_of(e), _us(e["time"])) for e in listed if e["time"]]
    rows: list[dict[str, Any]] = []
    open_until: dict[tuple[str, str | None], int] = {}  # a removal already open: no second hole
    for i, (rule, e) in enumerate(changes):
        if e["outcome"] not in _DONE or not e["time"]:
            continue
        names = set().union(*(g for g in clusters if g & _names_of(e))) or _names_of(e)
        start = _us(e["time"])
        lowered = {n.lower() for n in names}  # Azure gives names in either case
        named = sorted(log for log in api if log is not None and log.lower() in lowered)
        holes: list[_Hole]
        if not rule.removes(e):  # may cut the pipeline: a silence right after it, by time only
            holes = _by_time(e, api, silence, places, set(named) if names else None)
        elif named or (None in api and len(api) == 1 and len(clusters) == 1 and names):
            key = (rule.name, min(names))
            if open_until.get(key, -1) > start:
                continue  # removed again while still removed: the hole is the first removal's
            log = named[0] if named else None
            restore = next((r for rr, r in changes[i + 1:] if rr is rule and _names_of(r) & names
                            and r["outcome"] in _DONE and rule.restores_it(r)), None)
            last_service = max((t for n, t in event_times if n & names), default=start)
            end = _us(restore["time"]) if restore is not None \
                else max(api[log][-1], last_service, start)
            open_until[key] = end
            if named:
                hole = _Hole(log, start, end, "cluster", f"it names this cluster ({log})", restore)
            else:
                shown = sorted(n for n in names if ":" not in n and "/" not in n) or sorted(names)
                hole = _Hole(None, start, end, "sole-cluster", "the API audit log names no cluster "
                             f"and the service events name only one ({' = '.join(shown)}): taken "
                             "to be its log", restore, min(names))
            holes = [hole]
        elif names:
            continue  # a removal in a cluster whose API log was not read
        else:  # an account-wide removal (a trail, a sink): the silence that follows it
            holes = _by_time(e, api, silence, places, None)
        rows.extend(_gap_row(rule, e, hole, api[hole.log]) for hole in holes)
    return rows


def _gap_row(rule: PipelineRule, e: dict[str, Any], hole: _Hole, times: list[int]) -> dict[str, Any]:
    inside = bisect.bisect_left(times, hole.end) - bisect.bisect_right(times, hole.start)
    evidence = _cloud_where(e)
    if hole.linked_by in ("cluster", "sole-cluster"):
        restore = hole.restore
        until = (f"until {_who(restore) or 'someone'} restored it ({restore['action']})"
                 if restore is not None else "and not restored before the end of the logs read")
        confirm = ("no API audit event logged inside: the hole is confirmed" if inside == 0 else
                   f"{inside} API audit event(s) logged inside: the API log was not silent")
        reason = f"{rule.name} removed by {_who(e) or 'someone'} {until}; {confirm}"
        if hole.linked_by == "sole-cluster":
            reason += f"; {hole.how}"
        if restore is not None:
            evidence += f"; restored: {_cloud_where(restore)}"
    else:
        after = (hole.start - _us(e["time"])) / _US
        when = f"{after:.0f} s after" if after >= 0 else f"{-after:.0f} s before"
        verb = "removed" if rule.removes(e) else "changed"
        reason = (f"{rule.name} {verb} by {_who(e) or 'someone'}; the API audit log of cluster "
                  f"{hole.log or '(unnamed)'} falls silent {when} it, for "
                  f"{(hole.end - hole.start) / _US:.0f} s; linked by time only, {hole.how}: a "
                  "coincidence in time, not proof that this change caused it")
        evidence += f"; silence: {_utc(hole.start)} → {_utc(hole.end)}"
    return _blank_row(
        time=e["time"], source="cloud", cluster=e["cluster"] or hole.log or hole.cluster,
        finding="pipeline-gap",
        action=e["action"], actor=_who(e), acting_as=e["actor"] if e["acting_for"] else None,
        object=e["target"] or e["target_id"], outcome="failure", origin=e["origin"],
        gap_start=_utc(hole.start), gap_end=_utc(hole.end),
        gap_seconds=(hole.end - hole.start) / _US, events_in_gap=inside, evidence=evidence,
        linked_by=hole.linked_by, reason=reason)


def audit_trail(auditd: pa.Table | None, k8s: pa.Table | None = None, *,
                since: TimeBound = None, until: TimeBound = None,
                records: pa.Table | None = None, cloud: pa.Table | None = None,
                node_silence: timedelta | None = timedelta(hours=1),
                cluster_silence: timedelta | None = timedelta(minutes=10),
                in_flight: timedelta = timedelta(minutes=1)) -> pa.Table:
    """Findings about the audit trail itself (``audit_trail`` schema), sorted by time.

    ``auditd`` is an ``auditd_events`` table, ``k8s`` a ``k8s_events`` table (either may be None).
    ``records`` (optional ``auditd_records``; only CONFIG_CHANGE/DAEMON_*/AUDIT_LOST rows are
    used) adds rule keys, filter lists, old values and lost-event counters. ``in_flight``: an
    incomplete request received this close to the end of its cluster's log is said to be
    possibly still running. ``cloud`` (a ``cloud_events`` table) adds the pipeline changes and
    the holes their removals opened in ``k8s``.
    """
    rows: list[dict[str, Any]] = []
    if auditd is not None and auditd.num_rows:
        rows.extend(_event_findings(auditd, _RecordFields.of(records)))
        rows.extend(_auditd_holes(auditd, node_silence))
    if k8s is not None and k8s.num_rows:
        rows.extend(_k8s_findings(k8s, cluster_silence, in_flight))
    if cloud is not None and cloud.num_rows:
        rows.extend(_pipeline_findings(cloud, k8s, cluster_silence or _SILENCE))
    table = pa.Table.from_pylist(rows, schema=AUDIT_TRAIL.arrow) if rows \
        else AUDIT_TRAIL.empty()
    lo, hi = time_range(since, until)
    if table.num_rows and (lo is not None or hi is not None):
        typ = table.schema.field("time").type
        ends = pc.coalesce(table["gap_end"], table["time"])
        keep = pa.chunked_array([pa.array(np.ones(table.num_rows, dtype=bool))])
        if lo is not None:
            keep = pc.and_(keep, pc.greater_equal(ends, pa.scalar(lo, typ)))
        if hi is not None:
            keep = pc.and_(keep, pc.less_equal(table["time"], pa.scalar(hi, typ)))
        table = table.filter(keep)
    if table.num_rows:
        table = table.take(pc.sort_indices(table, [("time", "ascending"), ("node", "ascending")]))
    return table
