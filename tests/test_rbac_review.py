"""The access review: used, excess, uncovered and denied worked out right on small hand-made
cases, and on every user of the real k8s corpora a generated policy reviewed against the log it
came from shows nothing unused and nothing uncovered."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from test_rbac_authorizer import binding, group, policy_of, role, user

import auditlens
from auditlens.rbac import Authorizer, Policy, generate_rbac, rbac_requests, review_access
from auditlens.rbac.model import PolicyRule
from auditlens.rbac.requests import RequestCounts, as_requests
from auditlens.rbac.review import Review, sensitive
from auditlens.schema import ACCESS_REVIEW, ACCESS_SUBJECTS, K8S_EVENTS, RBAC_REQUESTS


def _corpus_events(corpora: Path) -> pa.Table:
    files = sorted(str(p) for p in (corpora / "k8s").rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")
    if not files:
        pytest.skip("no k8s corpus files")
    return auditlens.read_k8s_audit(files, rejects=auditlens.RejectLog())


def _self_review(requests: pa.Table) -> tuple[Authorizer, Review]:
    """The generated policy of every subject of ``requests``, and its review against them."""
    policy = Policy()
    for g in generate_rbac(requests):
        policy.extend(g.policy())
    return Authorizer(policy), review_access(requests, policy)


def _assert_covered_with_nothing_to_spare(requests: pa.Table) -> Review:
    az, review = _self_review(requests)
    allowed = requests.filter(pc.not_equal(requests["outcome"], "denied"))
    for req in as_requests(allowed):
        assert az.allows(req), req
    status = review.rows["status"].to_pylist()
    assert status.count("used") == len(az.grants)
    assert "excess" not in status and "uncovered" not in status
    granted = review.subjects.filter(pc.not_equal(review.subjects["grants"], 0))
    assert pc.all(pc.equal(granted["score"], 1.0)).as_py()
    return review


def test_every_corpus_user_is_covered_by_its_generated_policy_with_nothing_to_spare(corpora: Path) -> None:
    requests = rbac_requests(_corpus_events(corpora))
    assert len(set(requests["subject"].to_pylist())) >= 10
    review = _assert_covered_with_nothing_to_spare(requests)
    assert review.rows.num_rows > 20


@pytest.mark.parametrize("name", ["testdata-01.json", "testdata-02.json"])
def test_rbac_tool_auditgen_fixtures(corpora: Path, name: str) -> None:
    """rbac-tool's auditgen inputs: creates in one or several namespaces, one subject each."""
    path = corpora / "rbac" / "rbac-tool" / "testdata" / "auditgen" / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the corpora")
    requests = rbac_requests(auditlens.read_k8s_audit(str(path)))
    review = _assert_covered_with_nothing_to_spare(requests)
    (g,) = generate_rbac(requests)
    # each resource was created in one namespace only: a Role there, no cluster-wide grant
    scopes = {r["scope"] for r in review.rows.to_pylist()}
    assert scopes == set(requests["namespace"].to_pylist()) == set(g.namespaced_rules)
    assert not any(r.resource_names for rules in [g.cluster_rules, *g.namespaced_rules.values()] for r in rules)


def test_existing_grants_are_left_out_of_what_is_generated() -> None:
    events = _events([dict(user="alice", verb="list", resource="pods", namespace="ns1"),
                      dict(user="alice", verb="get", resource="secrets", namespace="ns1", name="s"),
                      dict(user="alice", verb="delete", resource="pods", namespace="ns1", name="p")])
    (g,) = generate_rbac(rbac_requests(events), existing=POLICY)
    assert [r.text() for r in g.namespaced_rules["ns1"]] == ["delete pods [p] (core)"] and not g.cluster_rules


def _events(rows: list[dict]) -> pa.Table:
    base = {c: None for c in K8S_EVENTS.names}
    out = []
    for i, r in enumerate(rows):
        e = {**base, "audit_id": f"id-{i}", "stage": "ResponseComplete", "level": "Metadata",
             "time": r.pop("time", None) or pa.scalar(1_700_000_000_000_000 + i * 1_000_000, pa.timestamp("us", tz="UTC")).as_py(),
             "groups": ["system:authenticated"], "file": "t.log", "line": i + 1, "response_code": 200,
             "annotations": [], **r}
        out.append(e)
    return pa.Table.from_pylist(out, schema=K8S_EVENTS.arrow)


POLICY = policy_of(
    role("reader", [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]},
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
    role("ops", [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]),
    binding("alice-reader", "ClusterRole", "reader", [user("alice"), user("dormant")], "ns1"),
    binding("devs-ops", "ClusterRole", "ops", [group("devs")]),
)


def test_used_excess_uncovered_denied() -> None:
    events = _events([
        dict(user="alice", verb="list", resource="pods", namespace="ns1"),
        dict(user="alice", verb="get", resource="pods", namespace="ns1", name="p"),
        dict(user="alice", verb="get", resource="pods", namespace="ns2", name="p",
             annotations=[("authorization.k8s.io/decision", "allow"),
                          ("authorization.k8s.io/reason", 'RBAC: allowed by ClusterRoleBinding "x"')]),
        dict(user="alice", verb="delete", resource="pods", namespace="ns1", name="p", response_code=403),
        dict(user="bob", groups=["devs", "system:authenticated"], verb="create", resource="pods",
             subresource="exec", namespace="ns1", name="p", response_code=101),
        dict(user="carol", verb="get", resource="pods", namespace="ns1", name="p", response_code=401),
        dict(user="root", groups=["system:masters"], verb="delete", resource="nodes", name="n1"),
    ])
    counts = RequestCounts()
    review = review_access(rbac_requests(events, counts), POLICY)
    assert counts.unauthenticated == 1
    rows = review.rows.to_pylist()
    by = {(r["subject"], r["status"], r["rule"]): r for r in rows}
    used = by[("alice", "used", "get,list pods,configmaps (core)")]
    assert used["request_count"] == 2 and used["used_verbs"] == ["get", "list"] and used["scope"] == "ns1"
    assert by[("alice", "excess", "get secrets (core)")]["sensitive"] == ["secrets"]
    assert {r["status"] for r in rows if r["subject"] == "dormant"} == {"excess"}
    unc = by[("alice", "uncovered", "get pods (core) in ns2")]
    assert 'ClusterRoleBinding "x"' in unc["note"]
    assert by[("alice", "denied", "delete pods (core) in ns1")]["request_count"] == 1
    assert "system:masters" in by[("root", "uncovered", "delete nodes (core) (cluster-wide)")]["note"]
    devs = by[("devs", "used", "create pods/exec (core)")]
    assert devs["used_by"] == ["bob"] and devs["sensitive"] == ["pods/exec"] and devs["subject_kind"] == "Group"
    subjects = {r["subject"]: r for r in review.subjects.to_pylist()}
    assert subjects["alice"]["score"] == 0.5 and subjects["alice"]["sensitive_excess"] == 1
    assert subjects["dormant"]["score"] == 0.0 and subjects["dormant"]["requests"] == 0
    assert subjects["alice"]["uncovered"] == 1 and subjects["alice"]["denied"] == 1
    assert review.rows.schema == ACCESS_REVIEW.arrow and review.subjects.schema == ACCESS_SUBJECTS.arrow
    assert "audit level(s): Metadata" in review.describe_window()


def test_impersonation_stages_and_create_names() -> None:
    """One request per auditID; the impersonated user is the subject; a create's name is not
    the authorizer's; an admission 403 after an allow decision is allowed."""
    events = _events([
        dict(user="admin", impersonated_user="bob", impersonated_groups=["system:authenticated"],
             verb="list", resource="pods", namespace="ns1"),
        dict(user="alice", verb="create", resource="pods", namespace="ns1", name="new"),
        dict(user="alice", verb="create", resource="pods", namespace="ns1", name="x", response_code=403,
             annotations=[("authorization.k8s.io/decision", "allow")]),
        dict(user="alice", verb="create", resource="namespaces", namespace="new", name="new"),
        dict(user="alice", verb="delete", resource="namespaces", namespace="old", name="old"),
    ])
    # the same request logged twice (two stages) is one request
    events = pa.concat_tables([events, events.slice(0, 1).set_column(
        K8S_EVENTS.names.index("stage"), "stage", pa.array(["RequestReceived"]))])
    req = rbac_requests(events)
    assert req.num_rows == 5
    assert req["subject"].to_pylist()[0] == "bob" and req["authenticated_user"].to_pylist()[0] == "admin"
    assert req["name"].to_pylist()[1:] == [None, None, None, "old"]
    assert req["namespace"].to_pylist()[3:] == [None, "old"]
    assert req["outcome"].to_pylist() == ["allowed"] * 5


def test_openshift_scc_use_oauth_and_iam_users() -> None:
    events = _events([
        dict(user="IAM#alice@example.com", groups=["system:authenticated:oauth", "system:authenticated"],
             verb="create", resource="pods", namespace="app",
             annotations=[("securitycontextconstraints.admission.openshift.io/chosen", "restricted-v2")]),
        dict(user="system:anonymous", verb="get", request_uri="/oauth/authorize?x=1",
             annotations=[("authentication.openshift.io/username", "alice")]),
    ])
    counts = RequestCounts()
    req = rbac_requests(events, counts)
    assert counts.oauth_logins == 1
    scc = req.filter(pc.equal(req["derived"], "scc")).to_pylist()
    assert [(r["verb"], r["api_group"], r["resource"], r["name"], r["namespace"]) for r in scc] == [
        ("use", "security.openshift.io", "securitycontextconstraints", "restricted-v2", "app")]
    pol = policy_of(
        role("scc", [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
                      "resourceNames": ["restricted-v2"], "verbs": ["use"]},
                     {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]),
        binding("oauth-users", "ClusterRole", "scc", [group("system:authenticated:oauth")], "app"))
    review = review_access(req, pol)
    assert set(review.rows["status"].to_pylist()) == {"used"}
    (gen,) = generate_rbac(req)
    assert gen.object_name == "auditlens:iam-alice-example.com"


def test_without_an_export_the_used_access_is_still_reviewed() -> None:
    review = review_access(rbac_requests(_events([dict(user="alice", verb="get", resource="secrets",
                                                       namespace="a", name="s")])), None)
    (row,) = review.rows.to_pylist()
    assert row["status"] == "used" and "no RBAC export" in row["note"] and row["binding"] is None


def test_sensitive_flags() -> None:
    assert sensitive(PolicyRule(("*",), ("*",), ("*",))) == ["wildcard", "secrets"]
    assert sensitive(PolicyRule(("bind", "escalate"), ("rbac.authorization.k8s.io",), ("clusterroles",))) == ["escalate", "bind"]
    assert sensitive(PolicyRule(("get",), ("",), ("nodes/proxy",))) == ["nodes/proxy"]
    assert sensitive(PolicyRule(("get",), ("",), ("configmaps",))) == []
    assert sensitive(PolicyRule(("impersonate",), ("",), ("users",))) == ["impersonate"]


def test_review_of_an_empty_log() -> None:
    review = review_access(RBAC_REQUESTS.empty(), POLICY)
    assert set(review.rows["status"].to_pylist()) == {"excess"}
    assert review.window == (None, None) and "no requests" in review.describe_window()


def _final_stage_rows(table: pa.Table) -> list[int]:
    """The rows request_rows keeps, worked out the plain way: per auditID the first row of its
    most final stage; rows without an auditID all kept."""
    rank = {"RequestReceived": 1, "ResponseStarted": 3, "ResponseComplete": 4, "Panic": 4}
    best: dict[str, tuple[int, int]] = {}
    keep = []
    for i, (aid, stage) in enumerate(zip(table["audit_id"].to_pylist(), table["stage"].to_pylist())):
        if aid is None:
            keep.append(i)
        elif aid not in best or rank.get(stage, 2) > best[aid][0]:
            best[aid] = (rank.get(stage, 2), i)
    return sorted(keep + [i for _, i in best.values()])


def test_one_request_per_audit_id_the_most_final_stage_in_log_order(corpora: Path) -> None:
    from auditlens.actions import request_rows

    events = _corpus_events(corpora)
    shuffled = pa.concat_tables([events.slice(300), events.slice(0, 300), events.slice(5, 40)])
    for table in (events, shuffled):
        numbered = table.append_column("__row", pa.array(range(table.num_rows)))
        assert request_rows(numbered)["__row"].to_pylist() == _final_stage_rows(table)


def test_requests_without_time_or_audit_id_are_still_counted() -> None:
    events = _events([dict(user="alice", verb="list", resource="pods", namespace="ns1"),
                      dict(user="alice", verb="list", resource="pods", namespace="ns1")])
    events = events.set_column(K8S_EVENTS.names.index("time"), "time", pa.nulls(2, K8S_EVENTS["time"].type))
    events = events.set_column(K8S_EVENTS.names.index("audit_id"), "audit_id", pa.nulls(2, pa.string()))
    review = review_access(rbac_requests(events), POLICY)
    used = [r for r in review.rows.to_pylist() if r["status"] == "used"]
    assert [r["request_count"] for r in used] == [2] and used[0]["first_use"] is None
