"""Which reader each file goes to, by its first lines: every wrapper of the service-event
fixtures is service events; GKE and AKS API audit logs, EKS control-plane logs and every real
Kubernetes corpus file stay Kubernetes; S3 notifications (``{"Records": …}`` too) are neither.
A GCP file mixing GKE's API entries with service entries is service events, and its GKE
entries are rejects that say why, not rows of the wrong layer or lines gone unaccounted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import CORPORA, SAMPLE_LOGS

from auditlens import RejectLog, read_cloud_audit, read_k8s_audit
from auditlens.formats import detect_file, detect_lines
from auditlens.sources import expand_sources

DATA = Path(__file__).parent / "data"

EXPECTED = {
    "cloud/ibm-events.jsonl": "cloud", "cloud/ibm-export.json": "cloud",
    "cloud/ibm-legacy.jsonl": "cloud", "cloud/ibm-malformed.jsonl": "cloud",
    "cloud/logdna-archive.json": "cloud", "cloud/event-routing.log": "cloud",
    "cloud/aws/records.json": "cloud", "cloud/aws/events.jsonl": "cloud",
    "cloud/aws/eventbridge.json": "cloud", "cloud/aws/malformed.jsonl": "cloud",
    "cloud/aws/cloudwatch_subscription.json": "cloud", "cloud/aws/cloudwatch_export.json": "cloud",
    "cloud/gcp/entries.jsonl": "cloud", "cloud/gcp/malformed.jsonl": "cloud",
    "cloud/gcp/export.json": "cloud",  # service entries with one of GKE's
    "cloud/gcp/k8s_entry.json": "k8s",
    "cloud/azure/records.json": "cloud", "cloud/azure/records.jsonl": "cloud",
    "cloud/azure/rest.json": "cloud", "cloud/azure/malformed.jsonl": "cloud",
    "cloud/azure/kube_audit.json": "k8s",
    "cloud_reports/activity-tracker.jsonl": "cloud", "cloud_reports/kube-apiserver-audit.log": "k8s",
    "cloud_pipeline/cloudtrail.json": "cloud", "cloud_pipeline/gcp.jsonl": "cloud",
    "cloud_pipeline/azure.json": "cloud",
    "cloud_timeline/eks/cloudtrail.jsonl": "cloud", "cloud_timeline/eks/kube-apiserver-audit.jsonl": "k8s",
}


def detect(path: Path) -> str | None:
    return detect_file(expand_sources(str(path))[0])


def test_every_fixture_is_listed() -> None:
    """A new fixture gets its expected reader here."""
    found = {str(p.relative_to(DATA)) for base in ("cloud", "cloud_reports", "cloud_pipeline", "cloud_timeline")
             for p in (DATA / base).rglob("*") if p.is_file() and ".expected." not in p.name}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_goes_to_its_reader(name: str) -> None:
    assert detect(DATA / name) == EXPECTED[name]


@pytest.mark.parametrize("name", ["activity-tracker.jsonl", "activity-tracker-legacy.jsonl"])
def test_the_sample_service_events(name: str) -> None:
    assert detect(SAMPLE_LOGS / "cloud" / name) == "cloud"


def test_gzip_and_pretty_printed_cloudtrail(tmp_path: Path) -> None:
    import gzip

    doc = json.loads((DATA / "cloud/aws/records.json").read_text())
    pretty = tmp_path / "trail.json"
    pretty.write_text(json.dumps(doc, indent=4))  # eventSource far below the first lines
    packed = tmp_path / "111122223333_CloudTrail_eu-west-1_20261130T0915Z_abc.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert detect(pretty) == detect(packed) == "cloud"


@pytest.mark.parametrize(("head", "expected"), [
    # an S3 event notification: Records, but no CloudTrail
    (b'{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1",'
     b'"eventTime":"2026-11-30T09:00:00.000Z","eventName":"ObjectCreated:Put"}]}', None),
    # EKS control-plane logs through CloudWatch Logs: Kubernetes Events in the messages
    (b'{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/prod-eu/cluster","logEvents":[{"id":"1",'
     b'"timestamp":1764490442000,"message":"{\\"kind\\":\\"Event\\",\\"apiVersion\\":\\"audit.k8s.io/v1\\",'
     b'\\"auditID\\":\\"a1\\",\\"stage\\":\\"ResponseComplete\\",\\"requestURI\\":\\"/api\\"}"}]}', "k8s"),
    # a CloudTrail record in a CloudWatch Logs export
    (b'{"events":[{"logStreamName":"s","timestamp":1,"message":"{\\"eventVersion\\":\\"1.09\\",'
     b'\\"eventSource\\":\\"cloudtrail.amazonaws.com\\",\\"eventName\\":\\"StopLogging\\"}"}]}', "cloud"),
    # GKE's API entries alone, and mixed with another service's
    (b'{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",'
     b'"serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.get"}}', "k8s"),
    (b'{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",'
     b'"serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.get"}}\n'
     b'{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",'
     b'"serviceName":"logging.googleapis.com","methodName":"google.logging.v2.ConfigServiceV2.DeleteSink"}}',
     "cloud"),
    # AKS kube-audit records beside Azure's own
    (b'{"records":[{"category":"kube-audit","operationName":"Microsoft.ContainerService/managedClusters/'
     b'diagnosticLogs/Read","resourceId":"/SUBSCRIPTIONS/X","properties":{"log":"{}"}}]}', "k8s"),
])
def test_look_alikes(head: bytes, expected: str | None) -> None:
    assert detect_lines(head.split(b"\n")) == expected


def test_a_mixed_gcp_file_keeps_its_gke_entries_as_rejects_with_a_reason(tmp_path: Path) -> None:
    gke = (DATA / "cloud/gcp/k8s_entry.json").read_text().strip()
    service = (DATA / "cloud/gcp/entries.jsonl").read_text().splitlines()[:2]
    mixed = tmp_path / "cloudaudit.googleapis.com_activity_20261130.json"
    mixed.write_text("\n".join([gke, *service]) + "\n")
    assert detect(mixed) == "cloud"
    rejects = RejectLog()
    table = read_cloud_audit(str(mixed), rejects=rejects)
    assert table.num_rows == 2
    assert [(r.line, "GKE Kubernetes API audit entry" in r.reason) for r in rejects] == [(1, True)]
    # read as Kubernetes (--source-type k8s) the other way round: service entries are rejects
    k8s_rejects = RejectLog()
    assert read_k8s_audit(str(mixed), rejects=k8s_rejects).num_rows == 1
    assert [(r.line, "which the cloud reader reads" in r.reason) for r in k8s_rejects] == [
        (2, True), (3, True)]
    export = RejectLog()
    assert read_cloud_audit(str(DATA / "cloud/gcp/export.json"), rejects=export).num_rows == 3
    assert len(export) == 1 and "k8s.io" in next(iter(export)).reason


def _corpus_files(kind: str) -> list[Path]:
    base = CORPORA / kind
    if not base.is_dir():
        pytest.skip(f"real-log corpora not found (set AUDITLENS_CORPORA); looked at {CORPORA.name}/")
    return sorted(p for p in base.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")


def test_no_real_kubernetes_log_is_taken_for_service_events() -> None:
    files = _corpus_files("k8s")
    with (CORPORA / "k8s" / "MANIFEST.tsv").open(newline="") as f:
        malformed = {r["local_file"] for r in csv.DictReader(f, delimiter="\t")
                     if "MALFORMED" in r.get("notes", "")}
    got = {f"{p.parent.name}/{p.name}": detect(p) for p in files}
    assert got and all(kind == "k8s" for name, kind in got.items() if name not in malformed), got
    assert "cloud" not in got.values()


def test_no_auditd_log_is_taken_for_service_events() -> None:
    assert "cloud" not in {detect(p) for p in _corpus_files("auditd")}
