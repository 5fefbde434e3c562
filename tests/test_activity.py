"""The activity table: one row per auditd event / Kubernetes request, actor = the accountable person.

Expectations come from what the sample-log scenario did (sample_logs/README.md) and from the
Kubernetes Events themselves, read here with plain Python, not from our own output.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.actions import from_auditd, from_k8s, request_rows
from auditlens.collect import collect, node_root
from auditlens.schema import ACTIVITY

NODE_A = SAMPLE_LOGS / "auditd" / "node-a"
K8S = SAMPLE_LOGS / "k8s"


@pytest.fixture(scope="module")
def node_a() -> auditlens.RejectLog:
    return collect([str(NODE_A)])


def test_every_auditd_event_is_one_activity_row(node_a) -> None:  # type: ignore[no-untyped-def]
    act = from_auditd(node_a.auditd)
    assert act.schema.equals(ACTIVITY.arrow, check_metadata=False)
    assert act.num_rows == node_a.auditd.num_rows > 0
    assert act["evidence"].to_pylist()[0].endswith(f"serial {node_a.auditd['serial'][0].as_py()}")


def test_node_directory_passwd_is_used_and_not_read_as_a_log(node_a) -> None:  # type: ignore[no-untyped-def]
    assert node_a.reject_count == 0
    assert sorted(Path(p).name for p in node_a.id_files) == ["group", "passwd"]
    # node-a is RAW: without its passwd file uid 1001 would have no name
    assert "alice" in node_a.auditd["auid_name"].to_pylist()
    assert node_root(str(NODE_A / "var/log/audit/audit.log")) == NODE_A


def test_sudo_commands_have_the_login_user_as_actor(node_a) -> None:  # type: ignore[no-untyped-def]
    act = from_auditd(node_a.auditd)
    sudo = act.filter(pc.equal(act["action"], "ran-command")).to_pylist()
    assert {r["object"] for r in sudo} >= {"cat /etc/shadow", "id"}
    assert {r["actor"] for r in sudo} == {"alice", "bob"}  # bob's sudo was refused
    refused = [r for r in sudo if r["actor"] == "bob"]
    assert refused and all(r["outcome"] == "denied" for r in refused)
    # the commands sudo ran: executed as root, the person behind them is still alice
    ran = act.filter(pc.and_(pc.equal(act["action"], "executed"),
                             pc.equal(act["acting_as"], "root"))).to_pylist()
    nft = [r for r in ran if r["object"] and r["object"].startswith("nft ")]
    assert nft and {r["actor"] for r in nft} == {"alice"}
    assert all(r["actor_kind"] == "human" and r["session"] is not None for r in nft)


def test_failed_ssh_logins_carry_the_claimed_user_and_source_address(node_a) -> None:  # type: ignore[no-untyped-def]
    act = from_auditd(node_a.auditd)
    failed = act.filter(pc.and_(pc.equal(act["action"], "authenticated"),
                                pc.equal(act["outcome"], "failure"))).to_pylist()
    pairs = {(r["actor"], r["origin"]) for r in failed}
    assert {("alice", "127.0.0.23"), ("oracle", "127.0.0.23"), ("admin", "::1"), ("bob", "::1")} <= pairs


def test_denied_file_open_is_denied_with_errno(node_a) -> None:  # type: ignore[no-untyped-def]
    act = from_auditd(node_a.auditd)
    denied = act.filter(pc.equal(act["outcome"], "denied")).to_pylist()
    opens = [r for r in denied if r["action"] == "opened-file"]
    assert any(r["actor"] == "bob" and r["reason"] == "EACCES" and r["object"] == "/etc/passwd" for r in opens)


def test_k8s_requests_collapse_to_one_row_per_audit_id() -> None:
    k8s = auditlens.read_k8s_audit(str(K8S))
    ids = [a for a in k8s["audit_id"].to_pylist() if a]
    assert len(set(ids)) < len(ids)  # the sample has multi-stage requests
    req = request_rows(k8s)
    assert sorted(req["audit_id"].to_pylist()) == sorted(set(ids))
    stages = dict(zip(req["audit_id"].to_pylist(), req["stage"].to_pylist()))
    for row in k8s.to_pylist():
        if row["stage"] == "ResponseComplete":
            assert stages[row["audit_id"]] == "ResponseComplete"


def test_k8s_actor_impersonation_and_kinds() -> None:
    k8s = auditlens.read_k8s_audit(str(K8S))
    act = from_k8s(k8s).to_pylist()
    events = {r["audit_id"]: r for r in k8s.to_pylist()}
    for row in act:
        audit_id = row["evidence"].rsplit(" ", 1)[-1]
        ev = events[audit_id]
        oauth_user = dict(ev["annotations"] or []).get("authentication.openshift.io/username")
        assert row["actor"] == (oauth_user or ev["user"])
        assert row["acting_as"] == ev["impersonated_user"]
        if ev["response_code"] == 403:
            assert row["outcome"] == "denied"
        if (ev["user"] or "").startswith("system:serviceaccount:") and not oauth_user:
            assert row["actor_kind"] == "service-account"
    assert any(r["acting_as"] == "bob" and r["actor"] == "alice" for r in act)
    assert any(r["actor_kind"] == "anonymous" for r in act)


def test_activity_from_sources_equals_from_tables() -> None:
    a = auditlens.activity([str(NODE_A), str(K8S)])
    got = collect([str(NODE_A), str(K8S)])
    b = auditlens.activity(auditd=got.auditd, k8s=got.k8s)
    assert a.equals(b)
    times = a["time"].to_pylist()
    assert times == sorted(times)
    assert set(a["source"].to_pylist()) == {"auditd", "k8s"}


def test_activity_of_nothing_is_an_empty_table_with_the_schema() -> None:
    t = auditlens.activity()
    assert t.num_rows == 0 and t.schema.names == ACTIVITY.names


def test_files_skipped_while_walking_are_named_in_a_warning() -> None:
    with pytest.warns(UserWarning, match=r"skipped \d+ file\(s\) that are not audit logs: .*README\.md"):
        auditlens.activity(str(SAMPLE_LOGS))


EKS = Path(__file__).parent / "data" / "cloud_timeline" / "eks"


def test_actor_id_is_each_layers_stable_id(node_a) -> None:  # type: ignore[no-untyped-def]
    """auditd: the login uid (else the process uid); k8s: the ARN EKS keeps in user.extra, else
    user.uid; service events: the caller's id as the provider logs it."""
    events = node_a.auditd
    rows = from_auditd(events).to_pylist()
    for row, ev in zip(rows, events.to_pylist()):
        if ev["auid"] is not None:
            assert row["actor_id"] == str(ev["auid"])
    k8s = auditlens.read_k8s_audit(str(K8S))
    for row in from_k8s(k8s).to_pylist():
        ev = next(e for e in k8s.to_pylist() if row["evidence"].endswith(e["audit_id"] or "-"))
        oauth = dict(ev["annotations"] or []).get("authentication.openshift.io/username")
        assert row["actor_id"] == (None if oauth else ev["user_uid"])
    eks = auditlens.activity(str(EKS))
    got = set(zip(eks["source"].to_pylist(), eks["actor"].to_pylist(), eks["actor_id"].to_pylist()))
    assert got == {
        ("cloud", "alice", "arn:aws:iam::111122223333:user/alice"),
        ("k8s", "alice-admin", "arn:aws:iam::111122223333:user/alice"),  # user.extra arn
        ("cloud", "Deployer/ci-run-4711", "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-4711"),
        ("k8s", "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-4711",
         "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-4711"),
    }
