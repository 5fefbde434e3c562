"""The audit-trail report: daemon events, rule changes, audit-log access, and holes."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import warnings
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.reports.audit_trail import audit_trail
from auditlens.schema import AUDIT_TRAIL

AUDITD = SAMPLE_LOGS / "auditd"


def _read(node: str) -> tuple[pa.Table, pa.Table]:
    logs = AUDITD / node / "var" / "log" / "audit"
    passwd = AUDITD / "node-a" / "etc" / "passwd"  # the gap log is a copy of node-a's
    return (auditlens.read_auditd(logs, passwd=passwd, errors="raise"),
            auditlens.read_auditd_records(logs, errors="raise"))


def _rows(table: pa.Table, finding: str) -> list[dict]:
    return [r for r in table.to_pylist() if r["finding"] == finding]


def test_the_cut_out_hole_is_found_exactly() -> None:
    cut = json.loads((AUDITD / "gap.json").read_text())
    events, records = _read("gap")
    trail = audit_trail(events, None, records=records)
    assert trail.schema == AUDIT_TRAIL.arrow
    gaps = _rows(trail, "serial-gap")
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap["node"] == cut["node"]
    assert (gap["first_missing"], gap["last_missing"], gap["missing_count"]) == (
        cut["first_removed_serial"], cut["last_removed_serial"], cut["serials_removed"])
    assert f"serial {cut['last_serial_before']}" in gap["evidence"]
    assert f"serial {cut['first_serial_after']}" in gap["evidence"]
    assert gap["gap_start"] <= gap["gap_end"]


@pytest.mark.parametrize("node", ["node-a", "node-b"])
def test_sample_nodes_daemon_and_rule_changes_and_no_holes(node: str) -> None:
    events, records = _read(node)
    trail = audit_trail(events, None, records=records)
    times = trail["time"].to_pylist()
    assert times == sorted(times)
    assert not _rows(trail, "serial-gap") and not _rows(trail, "time-gap")
    daemon = [r["object"] for r in _rows(trail, "audit-daemon")]
    assert daemon == ["DAEMON_START", "DAEMON_ROTATE", "DAEMON_ROTATE", "DAEMON_END"]
    rules = _rows(trail, "rule-change")
    added = {r["key"] for r in rules if r["action"] == "add_rule"}
    assert {"identity", "scope", "audit-config", "audit-log-access", "exec", "hosts-file"} <= added
    # alice added and removed a watch through sudo: she is the actor, root the identity used
    hosts = [r for r in rules if r["key"] == "hosts-file"]
    assert [r["action"] for r in hosts] == ["add_rule", "remove_rule"]
    assert {(r["actor"], r["acting_as"]) for r in hosts} == {("alice", "root")}
    assert any(r["action"] == "remove_rule" and r["actor"] == "root" for r in rules)  # auditctl -D
    config = _rows(trail, "config-change")
    assert [r["object"] for r in config] == ["audit_backlog_limit=8192 (was 64)"]
    access = _rows(trail, "audit-access")
    # bob's ls of the audit log directory was refused; alice read it through sudo
    assert any(r["actor"] == "bob" and r["outcome"] == "denied" and r["key"] == "audit-log-access"
               for r in access)
    assert any(r["actor"] == "alice" and r["outcome"] == "success"
               and r["key"] == "audit-log-access" for r in access)


def test_without_records_the_rule_key_comes_from_the_command_line() -> None:
    events, _ = _read("node-a")
    rules = _rows(audit_trail(events, None), "rule-change")
    assert {r["key"] for r in rules if r["action"] == "add_rule"} >= {"identity", "hosts-file"}


def test_interleaved_nodes_and_shuffled_input_make_no_holes() -> None:
    a, _ = _read("node-a")
    b = auditlens.read_auditd(AUDITD / "node-b" / "var" / "log" / "audit", errors="raise")
    both = pa.concat_tables([a, b])
    mixed = both.take(pc.sort_indices(both, [("time", "ascending")]))  # nodes interleaved
    assert not _rows(audit_trail(mixed, None), "serial-gap")
    start = a.slice(200)  # the file starts mid-stream
    assert not _rows(audit_trail(start, None), "serial-gap")


def test_a_serial_hole_and_a_reboot_in_one_stream() -> None:
    a, _ = _read("node-a")
    kernel = a.filter(pc.invert(pc.starts_with(a["event_type"], "DAEMON_")))
    serials = kernel["serial"].to_pylist()
    # drop three events in the middle, then replay the start as a second boot
    keep = pa.array([s not in serials[100:103] for s in serials])
    trail = audit_trail(pa.concat_tables([kernel.filter(keep), kernel.slice(0, 50)]), None,
                        node_silence=None)
    gaps = _rows(trail, "serial-gap")
    assert [(g["first_missing"], g["missing_count"]) for g in gaps] == [(serials[100], 3)]


def test_time_holes_threshold() -> None:
    a, _ = _read("node-a")
    assert not _rows(audit_trail(a, None), "time-gap")
    times = sorted(t.timestamp() for t in a["time"].to_pylist())
    pauses = [b - x for x, b in itertools.pairwise(times) if b - x > 0.5]
    holes = _rows(audit_trail(a, None, node_silence=timedelta(seconds=0.5)), "time-gap")
    assert pauses and [h["gap_seconds"] for h in holes] == pytest.approx(pauses)
    assert not _rows(audit_trail(a, None, node_silence=None), "time-gap")


def test_since_until_keep_findings_touching_the_period() -> None:
    events, records = _read("gap")
    full = audit_trail(events, None, records=records)
    gap = _rows(full, "serial-gap")[0]
    inside = audit_trail(events, None, records=records, since=gap["gap_end"].isoformat(),
                         until=gap["gap_end"].isoformat())
    assert [r["finding"] for r in inside.to_pylist()] == ["serial-gap"]
    assert audit_trail(events, None, since="2000-01-01", until="2000-01-02").num_rows == 0


def _k8s_event(audit_id: str, stage: str, t: str, verb: str = "get") -> dict:
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": audit_id, "stage": stage, "requestURI": f"/api/v1/pods?{audit_id}",
            "verb": verb, "user": {"username": "alice"}, "sourceIPs": ["10.0.0.1"],
            "requestReceivedTimestamp": t, "stageTimestamp": t,
            **({"responseStatus": {"code": 200}} if stage != "RequestReceived" else {})}


def test_k8s_incomplete_requests_and_silence(tmp_path: Path) -> None:
    events = [
        _k8s_event("done", "RequestReceived", "2024-05-01T10:00:00Z"),
        _k8s_event("done", "ResponseComplete", "2024-05-01T10:00:01Z"),
        _k8s_event("lost", "RequestReceived", "2024-05-01T10:00:02Z", verb="delete"),
        _k8s_event("watch", "RequestReceived", "2024-05-01T10:00:03Z", verb="watch"),
        _k8s_event("watch", "ResponseStarted", "2024-05-01T10:00:03Z", verb="watch"),
        _k8s_event("late", "ResponseComplete", "2024-05-01T11:00:00Z"),
        _k8s_event("last", "RequestReceived", "2024-05-01T11:00:00Z"),
    ]
    log = tmp_path / "audit.log"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    trail = audit_trail(None, auditlens.read_k8s_audit(log, errors="raise"))
    incomplete = _rows(trail, "incomplete-request")
    assert [r["evidence"].rsplit(" ", 1)[-1] for r in incomplete] == ["lost", "last"]
    assert incomplete[0]["actor"] == "alice" and incomplete[0]["action"] == "delete"
    assert "may still have been running" in incomplete[1]["reason"]
    silence = _rows(trail, "time-gap")
    assert len(silence) == 1 and silence[0]["source"] == "k8s"
    assert silence[0]["gap_seconds"] == pytest.approx(3600 - 3)


def test_corpora_run_without_contradictions(corpora: Path) -> None:
    """Every auditd corpus file: holes never overlap within a node, counts add up."""
    files = sorted(p for p in (corpora / "auditd").rglob("*") if p.is_file()
                   and p.name != "MANIFEST.tsv")
    assert files
    found = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in files:
            events = auditlens.read_auditd(f, rejects=auditlens.RejectLog())
            trail = audit_trail(events, None, node_silence=None)
            gaps = _rows(trail, "serial-gap")
            found += len(gaps)
            for g in gaps:
                assert g["missing_count"] == g["last_missing"] - g["first_missing"] + 1 > 0
    assert found > 0  # excerpts of real logs do have holes (e.g. go-libaudit lost_messages.log)
    lost = auditlens.read_auditd(corpora / "auditd" / "elastic__go-libaudit" /
                                 "testdata__lost_messages.log")
    normal = auditlens.read_auditd(corpora / "auditd" / "elastic__go-libaudit" /
                                   "testdata__normal.log")
    assert [(g["first_missing"], g["last_missing"]) for g in
            _rows(audit_trail(lost, None), "serial-gap")] == [(50, 58)]
    assert not _rows(audit_trail(normal, None), "serial-gap")


@pytest.mark.skipif(shutil.which("aureport") is None, reason="aureport (audit-userspace) not installed")
def test_config_changes_match_aureport(tmp_path: Path) -> None:
    logs = AUDITD / "node-a" / "var" / "log" / "audit"
    joined = tmp_path / "joined.log"
    joined.write_bytes(b"".join((logs / n).read_bytes()
                                for n in ("audit.log.2", "audit.log.1", "audit.log")))
    out = subprocess.run(["aureport", "-c", "-if", str(joined)], capture_output=True,
                         text=True, check=True).stdout
    reference = {int(m.group(2)) for m in re.finditer(
        r"^\d+\. \S+ \S+ (\S+) \S+ \S+ (\d+)$", out, re.MULTILINE) if m.group(1) == "CONFIG_CHANGE"}
    events, records = _read("node-a")
    trail = audit_trail(events, None, records=records)
    ours = {int(r["evidence"].rsplit(" ", 1)[-1]) for r in trail.to_pylist()
            if r["finding"] in ("rule-change", "config-change")}
    assert reference and ours == reference


def _typed(records: pa.Table) -> pa.Table:
    from auditlens.reports.audit_trail import RECORD_TYPES

    mask = pc.starts_with(records["record_type"], RECORD_TYPES[0])
    for prefix in RECORD_TYPES[1:]:
        mask = pc.or_(mask, pc.starts_with(records["record_type"], prefix))
    return records.filter(mask)


@pytest.mark.parametrize("where", ["sample", "corpora"])
def test_the_trail_reads_only_its_record_types_and_gets_the_same_rows(
        where: str, corpora: Path, tmp_path: Path) -> None:
    """The second read for the trail picks CONFIG_CHANGE / AUDIT_LOST / DAEMON_* lines by a byte
    search: the rows are exactly those of the full records table, kernel-ring lines (numeric
    types) included."""
    from auditlens.auditd.reader import read_record_types
    from auditlens.reports.audit_trail import RECORD_TYPES

    ring = tmp_path / "kern.log"
    ring.write_text(
        "Nov 28 10:00:00 web-1 kernel: audit: type=1305 audit(1700000000.100:7): op=set "
        "audit_backlog_limit=8192 old=64 auid=0 ses=1 res=1\n"
        "Nov 28 10:00:01 web-1 kernel: audit: type=1300 audit(1700000001.100:8): arch=c000003e "
        "syscall=59 success=yes exit=0\n")
    sources = [str(SAMPLE_LOGS / "auditd"), str(ring)] if where == "sample" else [
        str(corpora / "auditd"), str(corpora / "auditd-reference")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = auditlens.read_auditd_records(sources, rejects=auditlens.RejectLog())
    want = _typed(full)
    got = read_record_types(sources, RECORD_TYPES)
    assert got.equals(want)
    assert want.num_rows > 0
    if where == "sample":
        assert "CONFIG_CHANGE" in got.filter(pc.equal(got["file"], str(ring)))["record_type"].to_pylist()
