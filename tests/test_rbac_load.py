"""Reading RBAC exports: kubectl's List in YAML and JSON, YAML streams, folders of manifests;
a malformed object is a reject with file, line and reason; YAML without PyYAML is a clear
error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens import AuditlensError, ParseError, RejectLog, SourceError
from auditlens.rbac import Authorizer, Request, read_rbac
from auditlens.rbac.load import parse_objects
from auditlens.rejects import Rejecter

KUBECTL_YAML = """\
apiVersion: v1
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    labels:
      kubernetes.io/bootstrapping: rbac-defaults
    name: view
  rules:
  - apiGroups: [""]
    resources: [pods, configmaps]
    verbs: [get, list, watch]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: alice-view
    namespace: team-a
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: view
  subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: alice
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    name: broken
    namespace: team-a
  rules: not-a-list
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    name: dangling
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gone}
  subjects: [{kind: Group, name: devs}]
kind: List
metadata:
  resourceVersion: ""
"""


def test_kubectl_yaml_list(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "export.yaml"
    path.write_text(KUBECTL_YAML)
    log = RejectLog()
    policy = read_rbac(path, rejects=log)
    assert [r.name for r in policy.roles] == ["view"] and len(policy.bindings) == 2
    (bad,) = list(log)
    assert bad.file == str(path) and bad.line == 26 and "rules must be a list" in bad.reason
    az = Authorizer(policy)
    assert az.allows(Request("alice", verb="list", resource="pods", namespace="team-a"))
    assert not az.allows(Request("alice", verb="list", resource="pods", namespace="team-b"))
    assert any("gone" in w for w in policy.warnings)
    assert all(g.bootstrap for g in az.grants)
    with pytest.raises(ParseError, match="rules must be a list"):
        read_rbac(path, errors="raise")


def test_json_folder_and_other_kinds(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "roles.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
        {"apiVersion": "authorization.openshift.io/v1", "kind": "ClusterRole", "metadata": {"name": "o"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "nons"},
         "roleRef": {"kind": "ClusterRole", "name": "r"}}]}))
    (tmp_path / "notes.txt").write_text("not read")
    log = RejectLog()
    policy = read_rbac(tmp_path, rejects=log)
    assert len(policy.roles) == 1
    assert policy.skipped == {"Deployment": 1, "ClusterRole (authorization.openshift.io/v1)": 1}
    (bad,) = list(log)
    assert "items[3]" in bad.reason and "without metadata.namespace" in bad.reason


def test_yaml_stream_of_manifests(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "m.yml"
    path.write_text("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: a}\n"
                    "rules: []\n---\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
                    "metadata: {name: b}\nroleRef: {kind: Role, name: a}\nsubjects: []\n")
    log = RejectLog()
    policy = read_rbac(path, rejects=log)
    assert [r.name for r in policy.roles] == ["a"]
    (bad,) = list(log)
    assert bad.line == 8 and "can only refer to a ClusterRole" in bad.reason


def test_yaml_without_pyyaml_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "export.yaml"
    path.write_text(KUBECTL_YAML)
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(AuditlensError, match=r"auditlens\[rbac\]"):
        read_rbac(path)


def test_missing_and_broken_inputs(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        read_rbac(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AuditlensError, match="not valid JSON"):
        read_rbac(bad)
    pytest.importorskip("yaml")
    worse = tmp_path / "bad.yaml"
    worse.write_text("kind: [unclosed\n")
    with pytest.raises(AuditlensError, match="not valid YAML"):
        read_rbac(worse)


_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                       max_leaves=12)
_kinds = st.sampled_from(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Pod", None])


@st.composite
def _objects(draw: st.DrawFn) -> dict:
    obj = draw(st.dictionaries(st.sampled_from(["metadata", "rules", "roleRef", "subjects", "aggregationRule"]),
                               _values, max_size=5))
    kind = draw(_kinds)
    if kind:
        obj["kind"] = kind
        obj["apiVersion"] = draw(st.sampled_from(["rbac.authorization.k8s.io/v1", "v1"]))
    return obj


@settings(max_examples=150, deadline=None)
@given(st.lists(_objects() | st.none() | st.integers(), max_size=6))
def test_any_objects_are_read_or_rejected_never_crash(items: list) -> None:
    """Every item of an export ends as a role, a binding, a skipped kind or a reject."""
    log = RejectLog()
    policy = parse_objects(json.dumps({"kind": "List", "items": items}), "x.json", Rejecter("collect", log))
    accounted = len(policy.roles) + len(policy.bindings) + sum(policy.skipped.values()) + len(log)
    assert accounted == len(items)
    Authorizer(policy).allows(Request("u", verb="get", resource="pods", namespace="n"))
