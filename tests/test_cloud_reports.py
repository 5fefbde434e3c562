"""Service (cloud control-plane) events in the activity table and in every report: each
section's service rows, the removed audit webhook linked to the hole it opened in the API log,
the streamed report equal to the one held in memory with a service log read, the cover figures.

Until the cloud reader is in, the fixture's IBM CADF events are turned into ``cloud_events``
rows here (:func:`cadf_table`), by hand; the tests that need the real reader skip without it.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS
from test_report_engine import assert_same, in_memory, streamed

import auditlens.collect as collect_module
import auditlens.formats as formats_module
from auditlens.actions import activity, from_cloud
from auditlens.collect import Collection
from auditlens.k8s.reader import read_k8s_audit
from auditlens.rejects import RejectLog
from auditlens.reports import REPORTS, Evidence, Filters
from auditlens.reports.audit_trail import audit_trail
from auditlens.schema import AUDITD_EVENTS, CLOUD_EVENTS, K8S_EVENTS

DATA = Path(__file__).parent / "data" / "cloud_reports"
CADF = DATA / "activity-tracker.jsonl"
API_LOG = DATA / "kube-apiserver-audit.log"
UTC = timezone.utc

_KINDS = {"service/security/account/user": "user",
          "service/security/account/serviceid": "service-id"}


def cloud_table(rows: list[dict[str, Any]]) -> pa.Table:
    """A ``cloud_events`` table of ``rows`` (missing columns null)."""
    full = [{name: row.get(name) for name in CLOUD_EVENTS.names} for row in rows]
    return pa.Table.from_pylist(full, schema=CLOUD_EVENTS.arrow)


def cadf_table(path: Path) -> pa.Table:
    """The fixture's IBM Activity Tracker events as ``cloud_events`` rows: a stand-in for the
    reader, enough for the reports (one JSON event per line, no wrappers)."""
    rows = []
    for n, text in enumerate(path.read_text().splitlines(), 1):
        e = json.loads(text)
        who, what = e["initiator"], e["target"]
        code = e["reason"]["reasonCode"]
        # as the IBM provider names it: the target's name when the target is the cluster, else
        # the cluster id of the target's CRN (``…:<cluster-id>:worker:<worker-id>``)
        cluster = (what["name"] if what["typeURI"] == "containers-kubernetes/cluster"
                   else what["id"].split(":")[7] or None
                   if e["action"].startswith("containers-kubernetes.") else None)
        rows.append(dict(
            time=datetime.strptime(e["eventTime"], "%Y-%m-%dT%H:%M:%S.%f%z"), provider="ibm",
            service=e["action"].split(".")[0], account="7d1c0e2b9f7a4c31b0a6e5f4d3c2b1a0",
            region="eu-de", action=e["action"], actor=who["name"], actor_id=who["id"],
            actor_kind=_KINDS.get(who["typeURI"], "unknown"), acting_for=who.get("authnName"),
            credential=who["credential"]["type"], target=what["name"], target_id=what["id"],
            target_kind=what["typeURI"], cluster=cluster,
            outcome="denied" if code in (401, 403) else e["outcome"], reason_code=str(code),
            reason=e["reason"].get("reasonForFailure"), severity=e["severity"],
            message=e["message"], origin=who["host"]["address"], user_agent=who["host"]["agent"],
            correlation_id=e["correlationId"], raw=text, file=str(path), line=n))
    table = cloud_table(rows)
    return table.replace_schema_metadata({b"auditlens.lines": str(len(rows)).encode()})


def evidence(cloud: pa.Table, k8s: pa.Table | None = None) -> Evidence:
    k8s = k8s if k8s is not None else K8S_EVENTS.arrow.empty_table()
    got = Collection(AUDITD_EVENTS.arrow.empty_table(), k8s.replace_schema_metadata(None),
                     RejectLog(), {}, [], 0, cloud=cloud)
    return Evidence(got, Filters())


# --- the activity rows ---------------------------------------------------------------------------

def test_the_person_behind_a_service_id_is_the_actor_and_the_service_id_is_acting_as() -> None:
    rows = from_cloud(cadf_table(CADF)).to_pylist()
    by_action = {r["action"]: r for r in rows}
    removed = by_action["containers-kubernetes.cluster-audit-webhook.delete"]
    assert (removed["actor"], removed["actor_kind"], removed["acting_as"]) == (
        "mallory@example.com", "human", "ops-automation")
    config = by_action["containers-kubernetes.cluster.config"]
    assert (config["actor"], config["actor_kind"], config["acting_as"]) == (
        "jane.doe@example.com", "human", None)
    assert config["source"] == "cloud" and config["cluster"] == "mycluster"
    assert config["object"] == "mycluster" and config["object_kind"] == "containers-kubernetes/cluster"
    assert config["evidence"].startswith(f"{CADF}:2 ibm correlationId ")
    assert config["node"] is None and config["key"] is None and config["session"] is None
    denied = by_action["containers-kubernetes.cluster.delete"]
    assert (denied["outcome"], denied["reason"]) == (
        "denied", "The user does not have the Administrator role")


def test_service_ids_and_roles_without_a_person_behind_are_service_accounts() -> None:
    table = cloud_table([
        dict(time=datetime(2026, 1, 1, tzinfo=UTC), action="eks:UpdateNodegroupConfig",
             actor="deploy-role", actor_kind="role", reason_code="ThrottlingException"),
        dict(time=datetime(2026, 1, 1, tzinfo=UTC), action="eks:UpdateNodegroupConfig",
             actor="admin-role", actor_kind="role", acting_for="alice"),
    ])
    rows = from_cloud(table).to_pylist()
    assert [(r["actor"], r["actor_kind"], r["acting_as"], r["reason"]) for r in rows] == [
        ("deploy-role", "service-account", None, "ThrottlingException"),
        ("alice", "human", "admin-role", None)]


def test_activity_takes_a_cloud_table_beside_the_others() -> None:
    k8s = read_k8s_audit([str(API_LOG)])
    table = activity(k8s=k8s, cloud=cadf_table(CADF))
    assert table.num_rows == 16 + 8
    sources = table["source"].to_pylist()
    assert sources.count("cloud") == 8
    times = table["time"].to_pylist()
    assert times == sorted(times)


# --- the sections ---------------------------------------------------------------------------------

T = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
CASES: list[tuple[dict[str, Any], set[str]]] = [
    (dict(action="iam-identity.user-apikey.login"), {"logins"}),
    (dict(action="signin.amazonaws.com:ConsoleLogin"), {"logins"}),
    (dict(action="google.login.LoginService.loginSuccess"), {"logins"}),
    (dict(action="containers-kubernetes.cluster.get", outcome="failure", reason_code="401"),
     {"logins", "failed-access"}),
    (dict(action="containers-kubernetes.cluster.get", outcome="denied", reason_code="403"),
     {"failed-access"}),
    (dict(action="eks:DescribeCluster", outcome="failure", reason_code="AccessDenied"),
     {"failed-access"}),
    (dict(action="google.container.v1.ClusterManager.GetCluster", outcome="failure",
          reason_code="PERMISSION_DENIED"), {"failed-access"}),
    (dict(action="Microsoft.ContainerService/managedClusters/read", outcome="failure",
          reason_code="AuthorizationFailed"), {"failed-access"}),
    (dict(action="eks:CreateNodegroup", outcome="failure", reason_code="ResourceInUseException"),
     {"admin-actions", "system-objects"}),
    (dict(action="containers-kubernetes.worker.reboot"), {"admin-actions"}),
    (dict(action="containers-kubernetes.worker.replace"), {"admin-actions"}),
    (dict(action="containers-kubernetes.cluster-master.refresh"), {"admin-actions"}),
    (dict(action="containers-kubernetes.cluster.create"), {"admin-actions", "system-objects"}),
    (dict(action="containers-kubernetes.cluster-worker-pool.create"),
     {"admin-actions", "system-objects"}),
    (dict(action="containers-kubernetes.cluster-subnet.detach"), {"system-objects"}),
    (dict(action="containers-kubernetes.cluster-alb.create"), {"system-objects"}),
    (dict(action="containers-kubernetes.cluster.list"), set()),
    (dict(action="containers-kubernetes.cluster-rbac.apply"), {"identity-changes"}),
    (dict(action="iam-identity.serviceid-apikey.create"), {"identity-changes"}),
    (dict(action="iam-groups.member.add"), {"identity-changes"}),
    (dict(action="iam.amazonaws.com:AttachRolePolicy"), {"identity-changes"}),
    (dict(action="iam:ListRoles"), set()),
    (dict(action="eks:CreateAccessEntry"), {"identity-changes"}),
    (dict(action="eks:AssociateAccessPolicy"), {"identity-changes"}),
    (dict(action="google.iam.admin.v1.CreateServiceAccountKey"), {"identity-changes"}),
    (dict(action="SetIamPolicy"), set()),
    (dict(action="google.cloud.resourcemanager.v3.Projects.SetIamPolicy"), {"identity-changes"}),
    (dict(action="MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"), {"identity-changes"}),
    (dict(action="google.container.v1.ClusterManager.DeleteNodePool"),
     {"admin-actions", "system-objects"}),
    (dict(action="Microsoft.ContainerService/managedClusters/agentPools/delete"),
     {"admin-actions", "system-objects"}),
    (dict(action="Microsoft.Network/virtualNetworks/subnets/write"), {"system-objects"}),
    (dict(action="v1.compute.firewalls.insert"), {"system-objects"}),
    (dict(action="containers-kubernetes.cluster.config"), {"sensitive-access"}),
    (dict(action="Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"),
     {"sensitive-access"}),
    (dict(action="secretsmanager.amazonaws.com:GetSecretValue"), {"sensitive-access"}),
]
SECTIONS = ("logins", "failed-access", "admin-actions", "identity-changes", "system-objects",
            "sensitive-access")


@pytest.mark.parametrize(("event", "want"), CASES, ids=[c[0]["action"] for c in CASES])
def test_a_service_event_is_in_the_sections_its_action_says(event: dict[str, Any],
                                                            want: set[str]) -> None:
    row = {"time": T, "provider": "test", "actor": "jane", "actor_kind": "user",
           "outcome": "success", "file": "events.json", "line": 1, **event}
    ev = evidence(cloud_table([row]))
    got = {name for name in SECTIONS if REPORTS[name].table(ev).num_rows}
    assert got == want


def test_each_section_of_the_fixture_shows_its_service_rows() -> None:
    ev = evidence(cadf_table(CADF))
    actions = {name: REPORTS[name].table(ev)["action"].to_pylist() for name in SECTIONS}
    k = "containers-kubernetes."
    assert actions == {
        "logins": ["iam-identity.user-apikey.login"],
        "failed-access": [k + "cluster.delete"],
        # an attempt counts, as a refused kubectl delete does: its outcome says it was refused
        "admin-actions": [k + "worker.reboot", k + "cluster.delete", k + "cluster-worker-pool.create"],
        "identity-changes": [k + "cluster-rbac.apply"],
        "system-objects": [k + "cluster.delete", k + "cluster-worker-pool.create"],
        "sensitive-access": [k + "cluster.config"],
    }
    summary = REPORTS["summary"].table(ev).to_pylist()
    assert {"dimension": "source", "value": "cloud"} in [
        {"dimension": r["dimension"], "value": r["value"]} for r in summary]


# --- the audit trail ------------------------------------------------------------------------------

def _trail(cloud: pa.Table, k8s: pa.Table | None) -> list[dict[str, Any]]:
    return audit_trail(None, k8s, cloud=cloud).to_pylist()


def test_the_removed_webhook_is_linked_to_the_hole_it_opened_in_the_api_log() -> None:
    rows = _trail(cadf_table(CADF), read_k8s_audit([str(API_LOG)]))
    changes = [r for r in rows if r["finding"] == "pipeline-change"]
    assert [r["action"] for r in changes] == ["containers-kubernetes.cluster-audit-webhook.delete",
                                              "containers-kubernetes.cluster-audit-webhook.update"]
    (gap,) = [r for r in rows if r["finding"] == "pipeline-gap"]
    assert (gap["cluster"], gap["actor"], gap["acting_as"]) == (
        "mycluster", "mallory@example.com", "ops-automation")
    assert gap["gap_start"] == datetime(2026, 11, 28, 20, 12, 10, 123000, tzinfo=UTC)
    assert gap["gap_end"] == datetime(2026, 11, 28, 20, 14, 50, tzinfo=UTC)
    assert gap["gap_seconds"] == pytest.approx(159.877)
    assert gap["events_in_gap"] == 0
    assert "restored it" in gap["reason"] and "jane.doe@example.com" in gap["reason"]
    assert "hole is confirmed" in gap["reason"]
    # the unnamed API log taken to be mycluster's: its name and the id workers' CRNs give are one
    assert "name only one (cl1a2b3c4d5e6f7g8h9i = mycluster): taken to be its log" in gap["reason"]
    assert gap["evidence"].startswith(f"{CADF}:4 ibm correlationId ")
    assert f"restored: {CADF}:7 ibm" in gap["evidence"]


def test_an_api_log_with_events_in_the_window_is_said_not_to_be_silent() -> None:
    busy = read_k8s_audit(sorted(str(p) for p in (SAMPLE_LOGS / "k8s").iterdir()))
    (gap,) = [r for r in _trail(cadf_table(CADF), busy) if r["finding"] == "pipeline-gap"]
    assert gap["events_in_gap"] > 0
    assert "was not silent" in gap["reason"]


def test_a_removal_never_restored_runs_to_the_end_of_the_logs() -> None:
    cloud = cadf_table(CADF)
    cloud = cloud.filter(pa.array([a != "containers-kubernetes.cluster-audit-webhook.update"
                                   for a in cloud["action"].to_pylist()]))
    (gap,) = [r for r in _trail(cloud, read_k8s_audit([str(API_LOG)]))
              if r["finding"] == "pipeline-gap"]
    assert gap["gap_end"] == datetime(2026, 11, 28, 20, 17, 40, 4000, tzinfo=UTC)  # the API log's last
    assert gap["events_in_gap"] == 8
    assert "not restored" in gap["reason"]


def test_clusters_are_matched_by_name_and_other_clusters_get_no_gap() -> None:
    named = read_k8s_audit([str(API_LOG)], cluster="mycluster")
    (gap,) = [r for r in _trail(cadf_table(CADF), named) if r["finding"] == "pipeline-gap"]
    assert gap["events_in_gap"] == 0 and "names no cluster" not in gap["reason"]
    other = read_k8s_audit([str(API_LOG)], cluster="othercluster")
    assert not [r for r in _trail(cadf_table(CADF), other) if r["finding"] == "pipeline-gap"]
    assert not [r for r in _trail(cadf_table(CADF), None) if r["finding"] == "pipeline-gap"]


@pytest.mark.parametrize(("action", "raw", "kind"), [
    ("cloudtrail.amazonaws.com:StopLogging", "{}", "gap"),
    ("cloudtrail:DeleteTrail", "{}", "gap"),
    ("cloudtrail:PutEventSelectors", "{}", "change"),
    ("eks:UpdateClusterConfig", '{"requestParameters": {"logging": {}}}', "change"),
    ("eks:UpdateClusterConfig", '{"requestParameters": {"resourcesVpcConfig": {}}}', None),
    ("google.logging.v2.ConfigServiceV2.DeleteSink", "{}", "gap"),
    ("google.container.v1.ClusterManager.UpdateCluster",
     '{"update": {"desiredLoggingService": "none"}}', "change"),
    ("microsoft.insights/diagnosticSettings/delete", "{}", "gap"),
    ("atracker.route.delete", "{}", "gap"),
    ("containers-kubernetes.cluster-logging-config.delete", "{}", "gap"),
])
def test_the_pipelines_of_every_provider(action: str, raw: str, kind: str | None) -> None:
    cloud = cloud_table([dict(time=datetime(2026, 11, 28, 20, 12, tzinfo=UTC), action=action,
                              raw=raw, cluster="mycluster", outcome="success", actor="ops",
                              provider="test", file="e.json", line=1)])
    found = {r["finding"] for r in _trail(cloud, read_k8s_audit([str(API_LOG)]))}
    want = {None: set(), "change": {"pipeline-change"},
            "gap": {"pipeline-change", "pipeline-gap"}}[kind]
    assert found == want


# --- the engine and the cover ---------------------------------------------------------------------

@pytest.fixture
def cadf_routed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture routed as a service log and read by :func:`cadf_table` (before the reader and
    its detection are in; one process: the patches do not reach workers)."""
    detect = formats_module.detect_file

    def detect_file(inp: Any) -> str | None:
        return "cloud" if str(inp.name).endswith(".jsonl") else detect(inp)

    def read_cloud(files: list[str], **_: Any) -> pa.Table:
        tables = [cadf_table(Path(f)) for f in files]
        lines = sum(int(t.schema.metadata[b"auditlens.lines"]) for t in tables)
        return pa.concat_tables(tables).replace_schema_metadata(
            {b"auditlens.lines": str(lines).encode()})

    monkeypatch.setattr(formats_module, "detect_file", detect_file)
    monkeypatch.setattr(collect_module, "read_cloud", read_cloud)


@pytest.mark.usefixtures("cadf_routed")
@pytest.mark.parametrize("sources", [[str(DATA)], [str(SAMPLE_LOGS / "auditd"), str(DATA)]],
                         ids=["cluster layer", "with nodes"])
def test_streamed_report_with_service_events_equals_the_one_in_memory(sources: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = in_memory(sources)
        got = streamed(sources)
    assert_same(got, want)
    tables, front = got
    assert "cloud" in tables["admin-actions"]["source"].to_pylist()
    assert front["Service (cloud) events"] == "8"
    assert front["Files read"].endswith("Kubernetes: 1, cloud: 1)")
    assert "holes opened by a removed audit pipeline: 1)" in front["Gaps found"]
    if len(sources) == 1:
        assert front["Gaps found"].startswith("1 (serial-number holes: 0, silent periods: 0, ")
    assert "audit pipeline changes (service events): 2" in front["Gaps found"]
    assert "mycluster" in front["Clusters"]


@pytest.mark.usefixtures("cadf_routed")
def test_service_rows_sort_after_api_rows_of_the_same_time(tmp_path: Path) -> None:
    api = json.loads(API_LOG.read_text().splitlines()[0])
    event = json.loads(CADF.read_text().splitlines()[0])
    event["eventTime"] = api["requestReceivedTimestamp"].replace("Z", "+0000")
    event["outcome"], event["reason"]["reasonCode"] = "failure", 401
    (tmp_path / "api.log").write_text(json.dumps({**api, "responseStatus": {"code": 401}}) + "\n")
    (tmp_path / "svc.jsonl").write_text(json.dumps(event) + "\n")
    want = in_memory([str(tmp_path)])
    got = streamed([str(tmp_path)])
    assert_same(got, want)
    assert got[0]["logins"]["source"].to_pylist() == ["k8s", "cloud"]


# --- with the reader ------------------------------------------------------------------------------

def test_the_fixture_read_by_the_reader_fills_the_sections() -> None:
    reader = pytest.importorskip("auditlens.cloud.reader")
    table = reader.read_cloud_audit([str(CADF)])
    assert table.num_rows == 8
    ev = evidence(table, read_k8s_audit([str(API_LOG)]))
    assert "containers-kubernetes.worker.reboot" in REPORTS["admin-actions"].table(ev)["action"].to_pylist()
    assert REPORTS["sensitive-access"].table(ev)["action"].to_pylist() == [
        "containers-kubernetes.cluster.config"]
    trail = REPORTS["audit-trail"].table(ev).to_pylist()
    assert [r["events_in_gap"] for r in trail if r["finding"] == "pipeline-gap"] == [0]


def test_an_unnamed_api_log_is_linked_to_no_cluster_when_the_service_events_name_two() -> None:
    other = cloud_table([dict(time=datetime(2026, 11, 28, 20, 0, tzinfo=UTC), provider="ibm",
                              action="containers-kubernetes.cluster.get", cluster="othercluster",
                              target="othercluster", target_kind="containers-kubernetes/cluster",
                              outcome="success", file="e.json", line=1)])
    cloud = pa.concat_tables([cadf_table(CADF), other])
    found = {r["finding"] for r in _trail(cloud, read_k8s_audit([str(API_LOG)]))}
    assert found == {"pipeline-change"}


def test_the_api_log_may_name_the_cluster_by_the_id_in_its_crn() -> None:
    by_id = read_k8s_audit([str(API_LOG)], cluster="cl1a2b3c4d5e6f7g8h9i")
    (gap,) = [r for r in _trail(cadf_table(CADF), by_id) if r["finding"] == "pipeline-gap"]
    assert (gap["cluster"], gap["events_in_gap"]) == ("mycluster", 0)


def test_a_second_removal_while_removed_opens_no_second_hole_and_pending_counts() -> None:
    cloud = cadf_table(CADF)
    removal = cloud.filter(pa.array([a == "containers-kubernetes.cluster-audit-webhook.delete"
                                     for a in cloud["action"].to_pylist()])).to_pylist()[0]
    again = {**removal, "time": datetime(2026, 11, 28, 20, 13, 45, tzinfo=UTC), "line": 99,
             "outcome": "pending"}
    both = pa.concat_tables([cloud, cloud_table([again])])
    rows = _trail(both, read_k8s_audit([str(API_LOG)]))
    gaps = [r for r in rows if r["finding"] == "pipeline-gap"]
    assert [g["gap_start"].second for g in gaps] == [10]
    assert len([r for r in rows if r["finding"] == "pipeline-change"]) == 3
    pending_only = cloud_table([again])
    (gap,) = [r for r in _trail(pending_only, read_k8s_audit([str(API_LOG)]))
              if r["finding"] == "pipeline-gap"]
    assert gap["outcome"] == "failure" and "not restored" in gap["reason"]


def test_a_refused_removal_opens_no_hole() -> None:
    cloud = cloud_table([dict(time=datetime(2026, 11, 28, 20, 12, tzinfo=UTC), provider="ibm",
                              action="containers-kubernetes.cluster-audit-webhook.delete",
                              cluster="mycluster", outcome="denied", reason_code="403",
                              actor="eve", file="e.json", line=1)])
    found = [r["finding"] for r in _trail(cloud, read_k8s_audit([str(API_LOG)]))]
    assert found == ["pipeline-change"]


def test_streamed_report_with_the_reader_and_workers_equals_the_one_in_memory() -> None:
    pytest.importorskip("auditlens.cloud.reader")
    sources = [str(SAMPLE_LOGS), str(DATA)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = in_memory(sources)
        got = streamed(sources, jobs=2)
    assert_same(got, want)
    from auditlens.cloud.reader import read_cloud_audit

    events = read_cloud_audit([str(SAMPLE_LOGS / "cloud"), str(DATA)]).num_rows
    assert events > 8 and got[1]["Service (cloud) events"] == str(events)
    # two clusters in the service events (the fixture's and the sample's) and API logs that
    # name none: the removals are changes, linked to no hole (which cluster's log is it?)
    assert "holes opened by a removed audit pipeline: 0)" in got[1]["Gaps found"]
    assert "audit pipeline changes (service events): 4" in got[1]["Gaps found"]


def test_the_sample_webhook_hole_is_confirmed_though_the_oauth_server_logged_inside() -> None:
    """The sample cluster's webhook is removed 20:11:08–20:12:41; the oauth server's own log has
    bob's login at 20:11:46 (it never passes the API server's audit webhook), the API server's
    log has nothing: the hole is confirmed, 0 events inside."""
    from auditlens import run_report

    trail = run_report("audit-trail", str(SAMPLE_LOGS), cluster="demo").table.to_pylist()
    (gap,) = [r for r in trail if r["finding"] == "pipeline-gap"]
    assert gap["events_in_gap"] == 0 and gap["actor"] == "alice@example.com"
    oauth = read_k8s_audit([str(SAMPLE_LOGS / "k8s" / "oauth-server-audit.log")])
    assert any(gap["gap_start"] < t < gap["gap_end"] for t in oauth["time"].to_pylist())
