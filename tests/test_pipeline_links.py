"""Audit pipeline changes of every provider linked to the hole they opened in a cluster's API
audit log: by the cluster the event names (an EKS cluster's audit log turned off, an AKS
diagnostic setting deleted), or — a trail stopped, a sink deleted, changes that name no cluster
or may cut the pipeline without saying so — by a silence of the API log that begins within
minutes of the change in a cluster of the same account, said to be a coincidence in time.
No link is claimed without a silence or a named cluster. Fixtures: tests/data/cloud_pipeline,
written from the providers' documented fields; the API logs are generated here."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from auditlens import RejectLog, read_cloud_audit
from auditlens.k8s.reader import read_k8s_audit
from auditlens.reports import run_report
from auditlens.reports.audit_trail import LINK_WINDOW, audit_trail
from auditlens.spill import as_table

DATA = Path(__file__).parent / "data" / "cloud_pipeline"
UTC = timezone.utc
DAY = datetime(2026, 11, 30, tzinfo=UTC)

# cluster → (first, last event, silences): the API log has an event every 30 s but in these
SILENT: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "prod-eu": ("08:30:00", "12:00:00", [("09:00:30", "09:45:00"),    # after StopLogging
                                         ("10:00:00", "10:20:30"),    # EKS audit log off
                                         ("11:30:00", "11:50:00")]),  # another account's trail
    "gke-prod": ("12:30:00", "15:30:00", [("13:01:00", "13:40:00"),   # after DeleteSink
                                          ("14:32:00", "15:00:00")]),  # after UpdateSink
    "aks-prod": ("14:00:00", "16:00:00", [("14:59:30", "15:30:30")]),  # diagnostic setting
    "lab": ("08:30:00", "10:00:00", [("09:01:00", "09:30:00")]),  # no service event names it
}


def at(hms: str) -> datetime:
    h, m, s = map(int, hms.split(":"))
    return DAY + timedelta(hours=h, minutes=m, seconds=s)


def api_log(tmp: Path, cluster: str, silences: bool = True) -> pa.Table:
    first, last, quiet = SILENT[cluster]
    path = tmp / f"{cluster}-audit.log"
    with path.open("w") as f:
        t, n = at(first), 0
        while t <= at(last):
            if not (silences and any(at(a) < t < at(b) for a, b in quiet)):
                n += 1
                stamp = t.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
                f.write(json.dumps({
                    "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                    "auditID": f"{cluster}-{n:05d}", "stage": "ResponseComplete",
                    "requestURI": "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
                    "verb": "update", "user": {"username": "system:kube-scheduler"},
                    "sourceIPs": ["10.0.0.2"], "responseStatus": {"code": 200},
                    "objectRef": {"resource": "leases", "namespace": "kube-system", "name": "kube-scheduler"},
                    "requestReceivedTimestamp": stamp, "stageTimestamp": stamp}) + "\n")
            t += timedelta(seconds=30)
        for a, b in quiet if silences else ():  # the silence's edges are events
            for edge in (a, b):
                stamp = at(edge).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
                f.write(json.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1",
                                    "auditID": f"{cluster}-{edge}", "stage": "ResponseComplete",
                                    "verb": "get", "requestURI": "/healthz",
                                    "user": {"username": "system:kube-scheduler"},
                                    "responseStatus": {"code": 200},
                                    "requestReceivedTimestamp": stamp, "stageTimestamp": stamp}) + "\n")
    return read_k8s_audit([str(path)], cluster=cluster)


def cloud() -> pa.Table:
    rejects = RejectLog()
    table = read_cloud_audit(str(DATA), rejects=rejects)
    assert len(rejects) == 0
    return table


def gaps(k8s: pa.Table) -> list[dict[str, Any]]:
    rows = audit_trail(None, k8s, cloud=cloud()).to_pylist()
    return sorted((r for r in rows if r["finding"] == "pipeline-gap"),
                  key=lambda r: (r["time"], r["cluster"] or ""))


@pytest.fixture(scope="module")
def all_logs(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    tmp = tmp_path_factory.mktemp("api")
    return pa.concat_tables([api_log(tmp, c) for c in SILENT])


def test_every_provider_change_is_a_pipeline_change(all_logs: pa.Table) -> None:
    rows = audit_trail(None, all_logs, cloud=cloud()).to_pylist()
    changes = {r["action"] for r in rows if r["finding"] == "pipeline-change"}
    assert changes == {
        "cloudtrail:StopLogging", "cloudtrail:StartLogging", "cloudtrail:UpdateTrail",
        "cloudtrail:DeleteTrail", "eks:UpdateClusterConfig",
        "google.logging.v2.ConfigServiceV2.DeleteSink", "google.logging.v2.ConfigServiceV2.UpdateSink",
        "google.container.v1.ClusterManager.SetLoggingService",
        "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE",
    }  # not eks:CreateCluster: logging set at creation changes no running pipeline


def test_each_hole_is_linked_and_says_how(all_logs: pa.Table) -> None:
    got = [(r["action"], r["cluster"], r["linked_by"], r["gap_start"], r["gap_end"], r["events_in_gap"])
           for r in gaps(all_logs)]
    assert got == [
        # a trail stopped names no cluster: the silence that follows in the account's cluster,
        # and in the cluster whose account no service event says
        ("cloudtrail:StopLogging", "lab", "time", at("09:01:00"), at("09:30:00"), 0),
        ("cloudtrail:StopLogging", "prod-eu", "time+account", at("09:00:30"), at("09:45:00"), 0),
        # the EKS cluster's audit log turned off, until it is turned on again
        ("eks:UpdateClusterConfig", "prod-eu", "cluster", at("10:00:00"), at("10:20:00"), 0),
        ("google.logging.v2.ConfigServiceV2.DeleteSink", "gke-prod", "time+account",
         at("13:01:00"), at("13:40:00"), 0),
        ("google.logging.v2.ConfigServiceV2.UpdateSink", "gke-prod", "time+account",
         at("14:32:00"), at("15:00:00"), 0),
        ("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", "AKS-PROD", "cluster",
         at("15:00:00"), at("15:30:00"), 0),
    ]
    by = {(r["action"], r["linked_by"]): r for r in gaps(all_logs)}
    stop = by[("cloudtrail:StopLogging", "time+account")]
    assert "falls silent 30 s after it" in stop["reason"]
    assert "the same account and region (111122223333)" in stop["reason"]
    assert "coincidence in time, not proof" in stop["reason"]
    assert "no service event read names this cluster" in by[("cloudtrail:StopLogging", "time")]["reason"]
    eks = by[("eks:UpdateClusterConfig", "cluster")]
    assert eks["actor"] == "mallory" and "restored it (eks:UpdateClusterConfig)" in eks["reason"]
    assert "hole is confirmed" in eks["reason"] and "alice" in eks["reason"]
    assert "changed by mallory@example.com" in by[
        ("google.logging.v2.ConfigServiceV2.UpdateSink", "time+account")]["reason"]
    aks = by[("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", "cluster")]
    assert "restored: " in aks["evidence"] and aks["actor"] == "mallory@contoso.com"


def test_no_link_is_claimed_without_a_silence_or_across_accounts(tmp_path: Path) -> None:
    # another account's DeleteTrail (11:30) meets prod-eu's silence: its account differs;
    # UpdateTrail (11:00) and SetLoggingService (14:00) are followed by no silence
    linked = {r["action"] for r in gaps(pa.concat_tables([api_log(tmp_path, c) for c in SILENT]))}
    assert not linked & {"cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                         "google.container.v1.ClusterManager.SetLoggingService",
                         "cloudtrail:StartLogging"}
    # API logs without any silence: only the removals that name their cluster are holes, and
    # their reason says the API log went on
    busy = pa.concat_tables([api_log(tmp_path, c, silences=False) for c in SILENT])
    got = gaps(busy)
    assert {(r["action"], r["linked_by"]) for r in got} == {
        ("eks:UpdateClusterConfig", "cluster"), ("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", "cluster")}
    assert all(r["events_in_gap"] > 0 and "was not silent" in r["reason"] for r in got)


def test_a_silence_beyond_the_window_is_not_linked(tmp_path: Path) -> None:
    late = dict(SILENT)
    first, last, _ = SILENT["prod-eu"]
    start = (DAY + timedelta(hours=9) + LINK_WINDOW + timedelta(seconds=30)).strftime("%H:%M:%S")
    SILENT["prod-eu-late"] = (first, last, [(start, "09:45:00")])
    try:
        got = gaps(api_log(tmp_path, "prod-eu-late"))
    finally:
        SILENT.clear()
        SILENT.update(late)
    assert got == []  # a silence from 5.5 min after StopLogging on: not linked


def test_the_report_links_them_read_from_files(tmp_path: Path) -> None:
    api_log(tmp_path, "prod-eu")  # written to tmp_path/prod-eu-audit.log
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with run_report("audit-trail", [str(DATA / "cloudtrail.json"), str(tmp_path)],
                        cluster="prod-eu") as out:
            table = as_table(out.table)
    rows = [r for r in table.to_pylist() if r["finding"] == "pipeline-gap"]
    assert {(r["action"], r["linked_by"]) for r in rows} == {
        ("cloudtrail:StopLogging", "time+account"), ("eks:UpdateClusterConfig", "cluster")}
    assert "linked_by" in table.column_names


def test_the_cover_counts_holes_linked_by_time_apart(tmp_path: Path) -> None:
    """A silence linked by time only is a silent period already: not a second hole."""
    api_log(tmp_path, "prod-eu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with run_report("compliance", [str(DATA / "cloudtrail.json"), str(tmp_path)],
                        cluster="prod-eu") as out:
            gaps_found = (out.cover or {})["Gaps found"]
    assert "silent periods: 3" in gaps_found  # prod-eu's three
    assert "holes opened by a removed audit pipeline: 1)" in gaps_found  # the EKS audit log off
    assert "(linked by time only, among the silent periods): 1;" in gaps_found  # StopLogging
