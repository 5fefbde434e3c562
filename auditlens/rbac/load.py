"""Reading RBAC objects as users export them: ``kubectl get roles,clusterroles,rolebindings,
clusterrolebindings -A -o yaml`` (a ``List``), ``-o json``, a YAML stream of manifests, or a
folder of such files.

JSON is read with the standard library; YAML needs PyYAML (the ``rbac`` extra), and asking for
it without PyYAML is a clear error, not a traceback. Objects of other kinds (a Deployment in a
folder of manifests; OpenShift 3's ``authorization.openshift.io`` copies of the RBAC objects,
which OpenShift 4 serves as ``rbac.authorization.k8s.io`` too) are counted in
:attr:`Policy.skipped`; an RBAC object that is malformed
(no name, rules that are not a list, a roleRef without a name, …) is a reject with its file, the
line where it starts (YAML; JSON: line 1 and the item's index in the reason) and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from auditlens.errors import AuditlensError, SourceError
from auditlens.rejects import Rejecter, RejectLog

from .model import Binding, LabelSelector, Policy, PolicyRule, Role, Subject

__all__ = ["read_rbac", "parse_objects"]

RBAC_GROUPS = ("rbac.authorization.k8s.io",)
ROLE_KINDS = {"Role", "ClusterRole"}
BINDING_KINDS = {"RoleBinding", "ClusterRoleBinding"}
SUFFIXES = (".yaml", ".yml", ".json")


class _Malformed(Exception):
    """Why one object cannot be read (becomes a reject)."""


def read_rbac(sources: str | Path | Iterable[str | Path], *, rejects: RejectLog | None = None,
              errors: str = "collect") -> Policy:
    """The roles and bindings of ``sources`` (files or folders, read recursively for
    ``*.yaml``, ``*.yml`` and ``*.json``). Malformed objects go to ``rejects`` (or raise with
    ``errors="raise"``); rejects nobody asked to see are warned about."""
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise SourceError(f"no .yaml, .yml or .json files in {path}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise SourceError(f"RBAC export not found: {path}")
    rejecter = Rejecter(errors, rejects)
    policy = Policy()
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        policy.extend(parse_objects(text, str(path), rejecter))
    rejecter.warn_if_unseen("RBAC object")
    return policy


def parse_objects(text: str, file: str, rejecter: Rejecter) -> Policy:
    """The RBAC objects of one file's ``text`` (JSON or YAML)."""
    policy = Policy(sources=[file])
    for line, where, obj in _documents(text, file):
        try:
            _add(policy, obj, file, where)
        except _Malformed as exc:
            raw = json.dumps(obj, default=str)[:2000] if obj is not None else ""
            rejecter.reject(file, line, f"{where}{exc}", raw)
    return policy


def _documents(text: str, file: str) -> Iterator[tuple[int, str, Any]]:
    """(line, position text, object) of every object, ``List`` items one by one."""
    stripped = text.lstrip()
    if not stripped:
        return
    if stripped[0] in "{[":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AuditlensError(f"not valid JSON: {exc.msg}", file=file, line=exc.lineno) from None
        yield from _flatten(doc, 1, "")
        return
    yield from _yaml_documents(text, file)


def _flatten(doc: Any, line: int, where: str) -> Iterator[tuple[int, str, Any]]:
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield line, f"{where}[{i}]: ", item
    elif isinstance(doc, dict) and isinstance(doc.get("items"), list) and str(doc.get("kind", "")).endswith("List"):
        for i, item in enumerate(doc["items"]):
            yield line, f"{where}items[{i}]: ", item
    else:
        yield line, where, doc


def _yaml_documents(text: str, file: str) -> Iterator[tuple[int, str, Any]]:
    try:
        import yaml
    except ImportError:
        raise AuditlensError("this RBAC export is YAML, which needs PyYAML: pip install "
                             "'auditlens[rbac]' (or export with -o json)", file=file) from None
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            items = _list_items(node)
            if items is None:
                doc = loader.construct_document(node)
                if doc is not None:  # an empty document (a trailing ---) holds nothing
                    yield line, "", doc
                continue
            for i, item in enumerate(items):
                yield item.start_mark.line + 1, f"items[{i}]: ", loader.construct_document(item)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise AuditlensError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                             line=mark.line + 1 if mark is not None else None) from None
    finally:
        loader.dispose()


def _list_items(node: Any) -> list[Any] | None:
    """The item nodes of a ``kind: …List`` mapping node, else None."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    fields = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    kind = fields.get("kind")
    items = fields.get("items")
    if isinstance(kind, yaml.ScalarNode) and str(kind.value).endswith("List") \
            and isinstance(items, yaml.SequenceNode):
        return list(items.value)
    return None


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Malformed(f"{what} must be a list of strings")
    return tuple(value)


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"{what} must be a mapping")
    return value


def _labels(meta: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    labels = _mapping(meta.get("labels"), "metadata.labels")
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def _rule(raw: Any, i: int) -> PolicyRule:
    if not isinstance(raw, dict):
        raise _Malformed(f"rules[{i}] is not a mapping")
    rule = PolicyRule(
        verbs=_strings(raw.get("verbs"), f"rules[{i}].verbs"),
        api_groups=_strings(raw.get("apiGroups"), f"rules[{i}].apiGroups"),
        resources=_strings(raw.get("resources"), f"rules[{i}].resources"),
        resource_names=_strings(raw.get("resourceNames"), f"rules[{i}].resourceNames"),
        non_resource_urls=_strings(raw.get("nonResourceURLs"), f"rules[{i}].nonResourceURLs"),
    )
    if not rule.verbs:
        raise _Malformed(f"rules[{i}] has no verbs")
    return rule


def _selector(raw: Any, i: int) -> LabelSelector:
    raw = _mapping(raw, f"aggregationRule.clusterRoleSelectors[{i}]")
    labels = _mapping(raw.get("matchLabels"), "matchLabels")
    exprs = raw.get("matchExpressions") or []
    if not isinstance(exprs, list):
        raise _Malformed("matchExpressions must be a list")
    parsed = []
    for e in exprs:
        e = _mapping(e, "matchExpressions item")
        if not isinstance(e.get("key"), str) or e.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise _Malformed("a matchExpressions item needs a key and an operator In, NotIn, Exists or DoesNotExist")
        parsed.append((e["key"], e["operator"], _strings(e.get("values"), "values")))
    return LabelSelector(tuple(sorted((str(k), str(v)) for k, v in labels.items())), tuple(parsed))


def _subject(raw: Any, i: int) -> Subject:
    raw = _mapping(raw, f"subjects[{i}]")
    kind, name = raw.get("kind"), raw.get("name")
    if kind not in ("User", "Group", "ServiceAccount") or not isinstance(name, str) or not name:
        raise _Malformed(f"subjects[{i}] needs kind User, Group or ServiceAccount and a name")
    namespace = raw.get("namespace")
    return Subject(kind, name, namespace if isinstance(namespace, str) and namespace else None)


def _add(policy: Policy, obj: Any, file: str, where: str) -> None:
    """Add one object to ``policy``: a role, a binding, or a skipped kind."""
    if not isinstance(obj, dict):
        raise _Malformed("not an object")
    kind, api_version = obj.get("kind"), str(obj.get("apiVersion", ""))
    group = api_version.rpartition("/")[0]
    if kind not in ROLE_KINDS | BINDING_KINDS or group not in RBAC_GROUPS:
        label = str(kind) if kind else "(no kind)"
        if kind in ROLE_KINDS | BINDING_KINDS:  # e.g. OpenShift 3's authorization.openshift.io
            label += f" ({api_version or 'no apiVersion'})"
        policy.skipped[label] = policy.skipped.get(label, 0) + 1
        return
    meta = _mapping(obj.get("metadata"), "metadata")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise _Malformed(f"{kind} without metadata.name")
    namespaced = kind in ("Role", "RoleBinding")
    namespace = meta.get("namespace")
    if namespaced and (not isinstance(namespace, str) or not namespace):
        raise _Malformed(f"{kind} {name} without metadata.namespace")
    ns = namespace if namespaced else None
    source = f"{file}:{where.rstrip(': ')}" if where else file
    if kind in ROLE_KINDS:
        rules = obj.get("rules")
        if rules is not None and not isinstance(rules, list):
            raise _Malformed(f"{kind} {name}: rules must be a list")
        aggregation: tuple[LabelSelector, ...] = ()
        if kind == "ClusterRole" and obj.get("aggregationRule") is not None:
            agg = _mapping(obj["aggregationRule"], "aggregationRule")
            selectors = agg.get("clusterRoleSelectors") or []
            if not isinstance(selectors, list):
                raise _Malformed("aggregationRule.clusterRoleSelectors must be a list")
            aggregation = tuple(_selector(s, i) for i, s in enumerate(selectors))
        policy.roles.append(Role(kind, name, ns, tuple(_rule(r, i) for i, r in enumerate(rules or [])),
                                 _labels(meta), aggregation, source))
        return
    ref = _mapping(obj.get("roleRef"), "roleRef")
    if ref.get("kind") not in ROLE_KINDS or not isinstance(ref.get("name"), str) or not ref["name"]:
        raise _Malformed(f"{kind} {name}: roleRef needs kind Role or ClusterRole and a name")
    if kind == "ClusterRoleBinding" and ref["kind"] == "Role":
        raise _Malformed(f"{kind} {name}: a ClusterRoleBinding can only refer to a ClusterRole")
    subjects = obj.get("subjects") or []
    if not isinstance(subjects, list):
        raise _Malformed(f"{kind} {name}: subjects must be a list")
    policy.bindings.append(Binding(kind, name, ns, ref["kind"], ref["name"],
                                   tuple(_subject(s, i) for i, s in enumerate(subjects)),
                                   _labels(meta), source))
