"""Roles generated from observed use: audit2rbac's README example reproduced by meaning (the
two policies decide every request of the log and many near misses alike), and a generated
policy always covers what it was made from."""

from __future__ import annotations

import itertools
import re
import textwrap
from pathlib import Path

import pyarrow.compute as pc
import pytest

import auditlens
from auditlens.rbac import (
    Authorizer,
    GenerateOptions,
    Request,
    generate_rbac,
    rbac_requests,
    read_rbac,
    to_yaml,
)
from auditlens.rbac.generate import compact
from auditlens.rbac.load import parse_objects
from auditlens.rbac.model import PolicyRule
from auditlens.rbac.requests import as_requests
from auditlens.rejects import Rejecter

A2R = "rbac/audit2rbac"
AUDIT2RBAC = GenerateOptions(include_denied=True)  # audit2rbac grants what was denied too


def _demo(corpora: Path) -> Path:
    path = corpora / A2R / "testdata" / "demo.log"
    if not path.is_file():
        pytest.skip("audit2rbac's demo.log is not in the corpora")
    return path


def _readme_policy(corpora: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The Role and RoleBinding of the README's alice example, read by our loader."""
    text = (corpora / A2R / "README.md").read_text()
    blocks = [textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    alice = [b for b in blocks if "audit2rbac:alice" in b]
    assert len(alice) == 1, "the README's alice example changed shape"
    path = tmp_path / "alice-roles.yaml"
    path.write_text(alice[0])
    return read_rbac(path, errors="raise")


def near_misses(user: str, seen: list[Request]) -> list[Request]:
    """Every logged request as ``user`` and requests one step away: other verbs, namespaces,
    resources, groups, names and subresources."""
    out = [Request(user, r.groups, r.verb, r.api_group, r.resource, r.subresource, r.namespace,
                   r.name, r.path) for r in seen]
    for verb, ns, res, name, sub, group in itertools.product(
            ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
            ["ns1", "default", "", "kube-system"], ["pods", "configmaps", "secrets", "nodes", "services"],
            ["", "x"], ["", "log", "exec"], ["", "apps"]):
        out.append(Request(user, ("system:authenticated",), verb, group, res, sub, ns, name))
    out += [Request(user, (), "get", path=p) for p in ("/api", "/apis", "/healthz", "/version")]
    return out


def test_alice_as_in_audit2rbacs_readme(corpora: Path, tmp_path: Path) -> None:
    golden = _readme_policy(corpora, tmp_path)
    requests = rbac_requests(auditlens.read_k8s_audit(str(_demo(corpora))))
    (alice,) = generate_rbac(requests, subjects=["alice"], options=AUDIT2RBAC)
    ours, theirs = Authorizer(alice.policy()), Authorizer(golden)
    cases = near_misses("alice", list(as_requests(requests)))
    assert len(cases) > 1900
    differ = [c for c in cases if ours.allows(c) != theirs.allows(c)]
    assert not differ, differ[:5]
    assert sum(theirs.allows(c) for c in cases) > 10  # the comparison is not all-deny
    # and the YAML we print reads back as the same policy
    path = tmp_path / "ours.yaml"
    path.write_text(to_yaml([alice]))
    again = Authorizer(read_rbac(path, errors="raise"))
    assert all(again.allows(c) == ours.allows(c) for c in cases)


def test_denied_requests_are_left_out_by_default_and_listed(corpora: Path) -> None:
    requests = rbac_requests(auditlens.read_k8s_audit(str(_demo(corpora))))
    (alice,) = generate_rbac(requests, subjects=["alice"])
    assert not alice.cluster_rules and not alice.namespaced_rules
    assert {(r.verb, r.resource, r.namespace) for r in alice.denied} == {
        ("list", "pods", "ns1"), ("list", "configmaps", "ns1"), ("list", "secrets", "ns1")}
    assert "list secrets in ns1 (1x)" in to_yaml([alice])


@pytest.mark.parametrize("options", [GenerateOptions(), AUDIT2RBAC,
                                     GenerateOptions(expand_names=False, expand_namespaces=False,
                                                     verb_expansions={})])
def test_generated_rules_cover_every_request_they_came_from(corpora: Path, options: GenerateOptions) -> None:
    requests = rbac_requests(auditlens.read_k8s_audit(str(_demo(corpora))))
    for g in generate_rbac(requests, options=options):
        az = Authorizer(g.policy())
        mine = requests.filter(pc.equal(requests["subject"], g.subject))
        for req, outcome in zip(as_requests(mine), mine["outcome"].to_pylist()):
            if outcome != "denied" or options.include_denied:
                assert az.allows(req), req


def test_without_widening_nothing_more_than_seen_is_granted() -> None:
    """No expansion, no widening: exactly the requests seen (by verb, namespace and name)."""
    import pyarrow as pa

    from auditlens.schema import RBAC_REQUESTS

    rows = [dict(subject="u", groups=[], verb="get", api_group="", resource="pods", subresource=None,
                 namespace=ns, name=name, path=None, outcome="allowed")
            for ns, name in (("a", "p1"), ("b", "p2"))]
    table = pa.Table.from_pylist([{**{c: None for c in RBAC_REQUESTS.names}, **r} for r in rows],
                                 schema=RBAC_REQUESTS.arrow)
    strict = GenerateOptions(expand_names=False, expand_namespaces=False, verb_expansions={})
    (g,) = generate_rbac(table, options=strict)
    az = Authorizer(g.policy())
    assert az.allows(Request("u", verb="get", resource="pods", namespace="a", name="p1"))
    assert not az.allows(Request("u", verb="get", resource="pods", namespace="a", name="p2"))
    assert not az.allows(Request("u", verb="list", resource="pods", namespace="a"))
    (wide,) = generate_rbac(table)  # audit2rbac's defaults: two namespaces and names → cluster-wide, unnamed
    az = Authorizer(wide.policy())
    assert az.allows(Request("u", verb="get", resource="pods", namespace="c", name="any"))
    assert not az.allows(Request("u", verb="list", resource="pods", namespace="c"))
    assert [r.resource_names for r in wide.cluster_rules] == [()]


def test_compaction_grants_exactly_the_same() -> None:
    rules = [PolicyRule(("get",), ("",), ("pods",), ("a",)), PolicyRule(("get",), ("",), ("pods",), ("b",)),
             PolicyRule(("get", "list"), ("",), ("secrets",)), PolicyRule(("list",), ("",), ("secrets",)),
             PolicyRule(("get",), ("",), ("configmaps",), ("a",)),
             PolicyRule(("get",), non_resource_urls=("/x",)), PolicyRule(("get",), non_resource_urls=("/y",))]
    merged = compact(rules)
    assert len(merged) < len(rules)
    probes = [Request("u", (), v, "", res, "", "n", name) for v in ("get", "list") for res in
              ("pods", "secrets", "configmaps") for name in ("", "a", "b", "c")]
    probes += [Request("u", (), "get", path=p) for p in ("/x", "/y", "/z")]
    from auditlens.rbac.authorize import rule_allows
    for p in probes:
        assert any(rule_allows(r, p) for r in rules) == any(rule_allows(r, p) for r in merged), p


def test_generated_names_and_subjects() -> None:
    import pyarrow as pa

    from auditlens.schema import RBAC_REQUESTS

    subjects = ["IAM#alice@example.com", "system:serviceaccount:ns1:default", "system:serviceaccount:ns2:default"]
    table = pa.Table.from_pylist(
        [{**{c: None for c in RBAC_REQUESTS.names}, "subject": s, "groups": [], "verb": "get",
          "api_group": "", "resource": "pods", "namespace": "ns1", "name": "p", "outcome": "allowed"}
         for s in subjects], schema=RBAC_REQUESTS.arrow)
    out = generate_rbac(table)
    names = [g.object_name for g in out]
    assert len(set(names)) == 3 and names[0] == "auditlens:iam-alice@example.com".replace("@", "-")
    again = parse_objects(to_yaml(out), "x", Rejecter("raise", None))
    assert sorted(b.subjects[0].display for b in again.bindings) == sorted(subjects)
    sa = out[1].objects()[1]["subjects"][0]
    assert sa == {"kind": "ServiceAccount", "name": "default", "namespace": "ns1"}


@pytest.mark.parametrize("names,namespaces,seen,allowed,refused", [
    # only namespaces widen: the same name in two namespaces → that name everywhere
    (False, True, [("a", "p1"), ("b", "p1")], [("c", "p1")], [("c", "p2"), ("a", "p2")]),
    # only names widen: two names in one namespace → every name there, not elsewhere
    (True, False, [("a", "p1"), ("a", "p2"), ("b", "p3")], [("a", "zz"), ("b", "p3")], [("b", "zz"), ("c", "p1")]),
    # both: different names in different namespaces → every name everywhere
    (True, True, [("a", "p1"), ("b", "p2")], [("c", "zz")], []),
])
def test_expansion_options_one_at_a_time(names: bool, namespaces: bool, seen: list, allowed: list,
                                         refused: list) -> None:
    import pyarrow as pa

    from auditlens.schema import RBAC_REQUESTS

    rows = [{**{c: None for c in RBAC_REQUESTS.names}, "subject": "u", "groups": [], "verb": "get",
             "api_group": "", "resource": "pods", "namespace": ns, "name": name, "outcome": "allowed"}
            for ns, name in seen]
    table = pa.Table.from_pylist(rows, schema=RBAC_REQUESTS.arrow)
    (g,) = generate_rbac(table, options=GenerateOptions(expand_names=names, expand_namespaces=namespaces))
    az = Authorizer(g.policy())
    for ns, name in seen + allowed:
        assert az.allows(Request("u", verb="get", resource="pods", namespace=ns, name=name)), (ns, name)
    for ns, name in refused:
        assert not az.allows(Request("u", verb="get", resource="pods", namespace=ns, name=name)), (ns, name)
