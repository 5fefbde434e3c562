"""The RBAC authorizer against cases from the Kubernetes RBAC documentation
(https://kubernetes.io/docs/reference/access-authn-authz/rbac/, checked by hand), and
properties that must hold for any rule and request (wildcards, resourceNames, subresources,
aggregation, binding scope, and the index giving the same answer as checking every grant)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens.rbac import Authorizer, Policy, PolicyRule, Request
from auditlens.rbac.authorize import rule_allows, scope_matches
from auditlens.rbac.load import parse_objects
from auditlens.rejects import Rejecter

RBAC = "rbac.authorization.k8s.io/v1"


def policy_of(*objects: dict) -> Policy:
    return parse_objects(json.dumps({"kind": "List", "items": list(objects)}), "test", Rejecter("raise", None))


def role(name: str, rules: list[dict], namespace: str | None = None, labels: dict | None = None,
         aggregation: list[dict] | None = None) -> dict:
    meta: dict = {"name": name, **({"namespace": namespace} if namespace else {}),
                  **({"labels": labels} if labels else {})}
    obj = {"apiVersion": RBAC, "kind": "Role" if namespace else "ClusterRole", "metadata": meta,
           "rules": rules}
    if aggregation is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": aggregation}
    return obj


def binding(name: str, role_kind: str, role_name: str, subjects: list[dict],
            namespace: str | None = None) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": RBAC, "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": meta, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                          "name": role_name}, "subjects": subjects}


def user(name: str) -> dict:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> dict:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


# ---------------------------------------------------------------- documentation examples

def test_role_and_rolebinding_pod_reader() -> None:
    """"Role example" + "RoleBinding examples": jane may read pods in default only."""
    az = Authorizer(policy_of(
        role("pod-reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}], "default"),
        binding("read-pods", "Role", "pod-reader", [user("jane")], "default")))
    assert az.allows(Request("jane", verb="get", resource="pods", namespace="default", name="p"))
    assert az.allows(Request("jane", verb="list", resource="pods", namespace="default"))
    assert not az.allows(Request("jane", verb="delete", resource="pods", namespace="default", name="p"))
    assert not az.allows(Request("jane", verb="get", resource="pods", namespace="kube-system", name="p"))
    assert not az.allows(Request("jane", verb="list", resource="pods"))  # cluster-wide
    assert not az.allows(Request("bob", verb="get", resource="pods", namespace="default", name="p"))
    assert not az.allows(Request("jane", verb="get", api_group="apps", resource="pods", namespace="default"))


def test_rolebinding_to_clusterrole_is_limited_to_its_namespace() -> None:
    """"dave can only read Secrets in the development namespace" (a RoleBinding to the
    secret-reader ClusterRole)."""
    az = Authorizer(policy_of(
        role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]),
        binding("read-secrets", "ClusterRole", "secret-reader", [user("dave")], "development")))
    assert az.allows(Request("dave", verb="get", resource="secrets", namespace="development", name="s"))
    assert not az.allows(Request("dave", verb="get", resource="secrets", namespace="default", name="s"))
    assert not az.allows(Request("dave", verb="list", resource="secrets"))


def test_clusterrolebinding_to_a_group_reads_everywhere() -> None:
    """"any user in the group manager can read secrets in any namespace"."""
    az = Authorizer(policy_of(
        role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]),
        binding("read-secrets-global", "ClusterRole", "secret-reader", [group("manager")])))
    assert az.allows(Request("ann", ("manager",), verb="list", resource="secrets"))
    assert az.allows(Request("ann", ("manager",), verb="get", resource="secrets", namespace="x", name="s"))
    assert not az.allows(Request("ann", ("dev",), verb="get", resource="secrets", namespace="x", name="s"))


def test_subresources_pods_log() -> None:
    """"Referring to resources": resources ["pods", "pods/log"] reads logs, not exec."""
    rule = PolicyRule(verbs=("get", "list"), api_groups=("",), resources=("pods", "pods/log"))
    assert rule_allows(rule, Request("u", verb="get", resource="pods", subresource="log", namespace="d", name="p"))
    assert not rule_allows(rule, Request("u", verb="get", resource="pods", subresource="exec", namespace="d", name="p"))
    exec_rule = PolicyRule(verbs=("create",), api_groups=("",), resources=("pods/exec",))
    assert rule_allows(exec_rule, Request("u", verb="create", resource="pods", subresource="exec", namespace="d", name="p"))
    assert not rule_allows(exec_rule, Request("u", verb="create", resource="pods", namespace="d"))
    scale = PolicyRule(verbs=("update",), api_groups=("*",), resources=("*/scale",))
    assert rule_allows(scale, Request("u", verb="update", api_group="apps", resource="deployments",
                                      subresource="scale", namespace="d", name="x"))
    assert not rule_allows(scale, Request("u", verb="update", api_group="apps", resource="deployments",
                                          namespace="d", name="x"))


def test_resource_names() -> None:
    """resourceNames ["my-configmap"]: only that object, never list or create."""
    rule = PolicyRule(verbs=("update", "get", "list", "create"), api_groups=("",), resources=("configmaps",),
                      resource_names=("my-configmap",))
    assert rule_allows(rule, Request("u", verb="get", resource="configmaps", namespace="d", name="my-configmap"))
    assert not rule_allows(rule, Request("u", verb="get", resource="configmaps", namespace="d", name="other"))
    assert not rule_allows(rule, Request("u", verb="list", resource="configmaps", namespace="d"))
    assert not rule_allows(rule, Request("u", verb="create", resource="configmaps", namespace="d"))


def test_non_resource_urls() -> None:
    """nonResourceURLs ["/healthz", "/healthz/*"]: a trailing * is a prefix; only through a
    ClusterRoleBinding."""
    rules = [{"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}]
    az = Authorizer(policy_of(role("health", rules), binding("h", "ClusterRole", "health", [user("u")]),
                              binding("h2", "ClusterRole", "health", [user("v")], "default")))
    assert az.allows(Request("u", verb="get", path="/healthz"))
    assert az.allows(Request("u", verb="post", path="/healthz/etcd"))
    assert not az.allows(Request("u", verb="get", path="/healthzx"))
    assert not az.allows(Request("u", verb="put", path="/healthz"))
    assert not az.allows(Request("v", verb="get", path="/healthz"))  # a RoleBinding grants no URL


def test_aggregated_clusterrole() -> None:
    """"Aggregated ClusterRoles": monitoring gets the rules of the roles its selector picks."""
    az = Authorizer(policy_of(
        role("monitoring", [], aggregation=[{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]),
        role("monitoring-endpoints", [{"apiGroups": [""], "resources": ["services", "endpointslices", "pods"],
                                       "verbs": ["get", "list", "watch"]}],
             labels={"rbac.example.com/aggregate-to-monitoring": "true"}),
        role("unrelated", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
        binding("m", "ClusterRole", "monitoring", [user("mon")])))
    assert az.allows(Request("mon", verb="list", resource="services", namespace="a"))
    assert not az.allows(Request("mon", verb="get", resource="secrets", namespace="a", name="s"))


def test_service_account_and_implicit_groups() -> None:
    """Subjects: a service account (its namespace defaulting to the binding's), the groups
    system:serviceaccounts:qa and system:authenticated that requests need not log."""
    az = Authorizer(policy_of(
        role("r", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        binding("sa", "ClusterRole", "r", [{"kind": "ServiceAccount", "name": "default"}], "kube-system"),
        binding("qa", "ClusterRole", "r", [group("system:serviceaccounts:qa")], "qa"),
        binding("all", "ClusterRole", "r", [group("system:authenticated")], "public")))
    cm = dict(verb="get", resource="configmaps", name="c")
    assert az.allows(Request("system:serviceaccount:kube-system:default", namespace="kube-system", **cm))
    assert not az.allows(Request("system:serviceaccount:other:default", namespace="kube-system", **cm))
    assert az.allows(Request("system:serviceaccount:qa:x", namespace="qa", **cm))
    assert az.allows(Request("alice", namespace="public", **cm))
    assert not az.allows(Request("system:anonymous", namespace="public", **cm))


def test_wildcards_cluster_admin() -> None:
    rule = PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",))
    assert rule_allows(rule, Request("u", verb="escalate", api_group="rbac.authorization.k8s.io",
                                     resource="clusterroles", name="x"))
    assert rule_allows(rule, Request("u", verb="create", resource="pods", subresource="exec", namespace="d", name="p"))
    assert not rule_allows(rule, Request("u", verb="get", path="/metrics"))  # URLs need nonResourceURLs


# ---------------------------------------------------------------- properties

words = st.sampled_from(["", "a", "b", "apps", "pods", "secrets", "exec", "log", "x"])
verbs = st.sampled_from(["get", "list", "watch", "create", "update", "patch", "delete", "use"])
namespaces = st.sampled_from(["", "ns1", "ns2"])


@st.composite
def resource_requests(draw: st.DrawFn) -> Request:
    return Request(draw(st.sampled_from(["alice", "bob", "system:serviceaccount:ns1:sa"])),
                   tuple(draw(st.lists(st.sampled_from(["g1", "g2"]), max_size=2, unique=True))),
                   draw(verbs), draw(st.sampled_from(["", "apps"])),
                   draw(st.sampled_from(["pods", "secrets", "deployments"])),
                   draw(st.sampled_from(["", "exec", "log", "scale"])), draw(namespaces),
                   draw(st.sampled_from(["", "a", "b"])))


def _field(draw: st.DrawFn, options: list[str]) -> tuple[str, ...]:
    return tuple(draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True)))


@st.composite
def rules(draw: st.DrawFn) -> PolicyRule:
    return PolicyRule(
        verbs=_field(draw, ["get", "list", "create", "delete", "use", "*"]),
        api_groups=_field(draw, ["", "apps", "*"]),
        resources=_field(draw, ["pods", "secrets", "deployments", "pods/exec", "pods/log", "*", "*/scale"]),
        resource_names=tuple(draw(st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True))))


@given(rules(), resource_requests(), st.sampled_from(["verbs", "api_groups", "resources"]))
def test_a_wildcard_never_takes_access_away(rule: PolicyRule, req: Request, field: str) -> None:
    wider = PolicyRule(**{**{f: getattr(rule, f) for f in PolicyRule.__slots__}, field: ("*",)})
    assert not rule_allows(rule, req) or rule_allows(wider, req)


@given(rules(), resource_requests())
def test_named_rules_allow_only_their_names(rule: PolicyRule, req: Request) -> None:
    if rule.resource_names and rule_allows(rule, req):
        assert req.name in rule.resource_names


@given(rules(), resource_requests())
def test_a_subresource_needs_its_own_grant(rule: PolicyRule, req: Request) -> None:
    if req.subresource and rule_allows(rule, req):
        combined = f"{req.resource}/{req.subresource}"
        assert combined in rule.resources or "*" in rule.resources or f"*/{req.subresource}" in rule.resources
    if not req.subresource and rule_allows(rule, req):
        assert req.resource in rule.resources or "*" in rule.resources


@given(rules(), resource_requests(), st.sampled_from(["ns1", "ns2"]))
def test_a_rolebinding_grants_only_in_its_namespace(rule: PolicyRule, req: Request, ns: str) -> None:
    rule_dict = rule_as_dict(rule)
    for kind in ("ClusterRole", "Role"):
        objs = [role("r", [rule_dict], ns if kind == "Role" else None),
                binding("b", kind, "r", [user(req.user)], ns)]
        allowed = Authorizer(policy_of(*objs)).allows(req)
        assert allowed == (req.namespace == ns and rule_allows(rule, req))
    cluster = Authorizer(policy_of(role("r", [rule_dict]), binding("b", "ClusterRole", "r", [user(req.user)])))
    assert cluster.allows(req) == rule_allows(rule, req)


@given(st.lists(rules(), min_size=1, max_size=3), st.lists(rules(), min_size=1, max_size=3), resource_requests())
def test_an_aggregated_role_allows_the_union_of_its_parts(a: list[PolicyRule], b: list[PolicyRule], req: Request) -> None:
    label = {"agg": "yes"}
    pol = policy_of(role("all", [], aggregation=[{"matchLabels": label}]),
                    role("a", [rule_as_dict(r) for r in a], labels=label),
                    role("b", [rule_as_dict(r) for r in b], labels=label),
                    binding("x", "ClusterRole", "all", [user(req.user)]))
    assert Authorizer(pol).allows(req) == any(rule_allows(r, req) for r in a + b)


@settings(max_examples=60)
@given(st.lists(st.tuples(rules(), st.sampled_from([None, "ns1", "ns2"]),
                          st.sampled_from(["alice", "g1", "g2", "system:authenticated"])),
                min_size=1, max_size=12), st.lists(resource_requests(), min_size=1, max_size=10))
def test_the_index_decides_as_every_grant_would(grants: list, reqs: list[Request]) -> None:
    objs = []
    for i, (rule, ns, who) in enumerate(grants):
        subject = user(who) if who == "alice" else group(who)
        objs += [role(f"r{i}", [rule_as_dict(rule)]), binding(f"b{i}", "ClusterRole", f"r{i}", [subject], ns)]
    az = Authorizer(policy_of(*objs))
    from auditlens.rbac.authorize import effective_groups
    for req in reqs:
        groups = effective_groups(req.user, req.groups)
        brute = {g.id for g in az.grants
                 if any(s.applies_to(req.user, groups, g.binding.namespace) for s in g.binding.subjects)
                 and scope_matches(g, req) and rule_allows(g.rule, req)}
        assert {g.id for g in az.matching(req)} == brute


def rule_as_dict(rule: PolicyRule) -> dict:
    return {"verbs": list(rule.verbs), "apiGroups": list(rule.api_groups), "resources": list(rule.resources),
            **({"resourceNames": list(rule.resource_names)} if rule.resource_names else {})}


@pytest.mark.parametrize("path,url,ok", [("/healthz", "/healthz", True), ("/healthz/x", "/healthz/*", True),
                                         ("/healthz", "/healthz/*", False), ("/apis/x", "/api*", True),
                                         ("/anything", "*", True), ("/a", "/b", False)])
def test_non_resource_url_forms(path: str, url: str, ok: bool) -> None:
    assert rule_allows(PolicyRule(verbs=("get",), non_resource_urls=(url,)), Request("u", verb="get", path=path)) is ok


def test_label_selector_expressions_and_the_empty_selector() -> None:
    from auditlens.rbac.model import LabelSelector

    sel = LabelSelector((("a", "1"),), (("b", "In", ("x", "y")), ("c", "DoesNotExist", ())))
    assert sel.matches({"a": "1", "b": "x"})
    assert not sel.matches({"a": "1", "b": "z"}) and not sel.matches({"a": "1", "b": "x", "c": ""})
    assert LabelSelector((), (("b", "NotIn", ("x",)), ("a", "Exists", ()))).matches({"a": "2"})
    assert LabelSelector().matches({"anything": "at all"})
