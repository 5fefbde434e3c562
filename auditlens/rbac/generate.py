"""Roles and bindings that grant a subject what it was seen doing, and no more than the options
widen it to.

The choices are audit2rbac's (liggitt/audit2rbac ``pkg/process.go``), as options:
requests are taken broadest first (non-resource, cluster-scoped, unnamed, list before get);
one already allowed by the rules made so far (or by an ``existing`` policy) adds nothing; a
verb, group and resource seen in more than one namespace becomes a cluster-wide grant
(``expand_namespaces``) and seen on more than one object an unnamed one (``expand_names``);
verbs are widened (``verb_expansions``: watch → get, list; list → get, watch; update → get,
patch; patch → get, update). Rules differing only in verbs, names or resources are merged where
the merge grants nothing more.

Where we differ from audit2rbac, and why: denied requests are left out unless
``include_denied`` (a 403 is evidence the subject must *not* have it, and audit2rbac's grants
from 403s are how its README example gets any rule at all); every subject of a log in one run;
a non-resource rule is the URL path without its query (the authorizer never sees the query);
no discovery role is assumed: pass the cluster's export as ``existing`` to leave out what it
grants already.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from auditlens.rejects import Rejecter

from .authorize import Authorizer, Request, rule_allows
from .load import parse_objects
from .model import Policy, PolicyRule, split_service_account
from .requests import request_of

__all__ = ["AUDIT2RBAC_VERBS", "GenerateOptions", "Generated", "generate_rbac", "to_yaml"]

AUDIT2RBAC_VERBS: Mapping[str, tuple[str, ...]] = {
    "watch": ("get", "list"),
    "list": ("get", "watch"),
    "update": ("get", "patch"),
    "patch": ("get", "update"),
}
RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class GenerateOptions:
    """audit2rbac's choices; its defaults except ``include_denied``."""

    expand_names: bool = True
    expand_namespaces: bool = True
    verb_expansions: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(AUDIT2RBAC_VERBS))
    include_denied: bool = False
    name_prefix: str = "auditlens"


@dataclass
class Generated:
    """One subject's generated rules: cluster-wide, and per namespace; the denied requests left
    out (with how often each was seen)."""

    subject: str
    subject_kind: str
    object_name: str
    cluster_rules: list[PolicyRule] = field(default_factory=list)
    namespaced_rules: dict[str, list[PolicyRule]] = field(default_factory=dict)
    denied: Counter[Request] = field(default_factory=Counter)
    requests: int = 0

    def objects(self) -> list[dict[str, Any]]:
        """ClusterRole, ClusterRoleBinding, then a Role and RoleBinding per namespace."""
        label = _label_value(self.subject)
        meta_labels = {"auditlens/generated": "true", "auditlens/subject": label}
        subject = _subject(self.subject)
        out: list[dict[str, Any]] = []
        scopes: list[tuple[str | None, list[PolicyRule]]] = [(None, self.cluster_rules)] if self.cluster_rules else []
        scopes += sorted(self.namespaced_rules.items())
        for ns, rules in scopes:
            kind = "ClusterRole" if ns is None else "Role"
            meta: dict[str, Any] = {"name": self.object_name, "labels": dict(meta_labels)}
            if ns is not None:
                meta["namespace"] = ns
            out.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": meta,
                        "rules": [r.as_dict() for r in rules]})
            out.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind + "Binding",
                        "metadata": dict(meta), "roleRef": {"apiGroup": RBAC_GROUP, "kind": kind,
                                                            "name": self.object_name},
                        "subjects": [subject]})
        return out

    def policy(self) -> Policy:
        """The generated objects as a :class:`Policy` (what a review of them reads)."""
        return parse_objects(json.dumps({"kind": "List", "items": self.objects()}),
                             f"generated:{self.subject}", Rejecter("raise", None))


def _subject(user: str) -> dict[str, str]:
    sa = split_service_account(user)
    if sa is not None:
        return {"kind": "ServiceAccount", "name": sa[1], "namespace": sa[0]}
    return {"apiGroup": RBAC_GROUP, "kind": "User", "name": user}


def _label_value(text: str) -> str:
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:63].strip("-") or "x"


def object_name(user: str, prefix: str) -> str:
    """``PREFIX:NAME``: a service account's name (unless ``default``), else the user name,
    lower-cased, with characters Kubernetes names refuse made ``-`` (audit2rbac's rule)."""
    sa = split_service_account(user)
    who = sa[1] if sa is not None and sa[1] != "default" else user
    return f"{prefix}:" + re.sub(r"[^a-z0-9:.]", "-", who.lower())


def _sort_key(r: Request) -> tuple[Any, ...]:
    """audit2rbac's order: non-resource first; cluster-scoped, unnamed, list-before-get."""
    if not r.resource_request:
        return (0, r.verb, r.path)
    rank = {"list": 0, "get": 1}.get(r.verb, 2)
    return (1, bool(r.namespace), bool(r.name), rank, r.api_group, r.resource, r.subresource,
            r.namespace, r.name, r.verb)


def _widened(r: Request, options: GenerateOptions) -> tuple[str, ...]:
    return (r.verb, *options.verb_expansions.get(r.verb, ()))


def _others(seen: set[str], mine: str) -> bool:
    """Whether ``seen`` holds a non-empty value other than ``mine``."""
    return len(seen - {"", mine}) > 0


class _Kinds:
    """The namespaces and names seen per kind of request (verb, group, resource, subresource),
    so that widening one request looks sets up instead of scanning every other request."""

    def __init__(self, reqs: Sequence[Request]) -> None:
        self.namespaces: dict[tuple[str, ...], set[str]] = {}
        self.names: dict[tuple[str, ...], set[str]] = {}
        self.namespaces_by_name: dict[tuple[str, ...], set[str]] = {}
        self.names_by_namespace: dict[tuple[str, ...], set[str]] = {}
        for a in reqs:
            if not a.resource_request:
                continue
            kind = _kind(a)
            self.namespaces.setdefault(kind, set()).add(a.namespace)
            self.names.setdefault(kind, set()).add(a.name)
            self.namespaces_by_name.setdefault(kind + (a.name,), set()).add(a.namespace)
            self.names_by_namespace.setdefault(kind + (a.namespace,), set()).add(a.name)

    def expanded(self, r: Request, options: GenerateOptions) -> tuple[str, str]:
        """(namespace, name) of ``r`` once widened: the namespace dropped when its kind was
        seen in another namespace (with the same name unless names are widened too), the name
        when seen on another object (in the same namespace unless namespaces are too)."""
        kind = _kind(r)
        both = options.expand_namespaces and options.expand_names
        namespace, name = r.namespace, r.name
        if options.expand_namespaces and r.namespace:
            seen = self.namespaces[kind] if both else self.namespaces_by_name[kind + (r.name,)]
            if _others(seen, r.namespace):
                namespace = ""
        if options.expand_names and r.name:
            seen = self.names[kind] if both else self.names_by_namespace[kind + (r.namespace,)]
            if _others(seen, r.name):
                name = ""
        return namespace, name


def _kind(r: Request) -> tuple[str, ...]:
    return (r.verb, r.api_group, r.resource, r.subresource)


def generate_rbac(requests: pa.Table, *, subjects: Iterable[str] | None = None,
                  options: GenerateOptions | None = None,
                  existing: Policy | None = None) -> list[Generated]:
    """The rules each subject (all subjects of ``requests``, an ``rbac_requests`` table, unless
    named) needs for its requests; subjects in order of first request."""
    options = options or GenerateOptions()
    wanted = None if subjects is None else set(subjects)
    known = Authorizer(existing) if existing is not None else None
    rows: dict[str, dict[Request, str]] = {}
    denied_seen: Counter[tuple[str, Request]] = Counter()
    cols = {c: requests[c].to_pylist() for c in (
        "subject", "groups", "verb", "api_group", "resource", "subresource", "namespace", "name",
        "path", "outcome")}
    for i in range(requests.num_rows):
        row = {c: v[i] for c, v in cols.items()}
        if wanted is not None and row["subject"] not in wanted:
            continue
        seen = rows.setdefault(row["subject"], {})
        req = request_of(row)
        denied = row["outcome"] == "denied"
        denied_seen[(row["subject"], req)] += denied
        # allowed wins over denied for the same request (the grant may have come mid-window)
        seen[req] = "allowed" if not denied or seen.get(req) == "allowed" else "denied"
    names: Counter[str] = Counter(object_name(s, options.name_prefix) for s in rows)
    out = []
    for subject, seen in rows.items():
        name = object_name(subject, options.name_prefix)
        if names[name] > 1:  # two subjects that sanitise alike keep apart
            name += "-" + hashlib.sha256(subject.encode()).hexdigest()[:6]
        g = Generated(subject, "ServiceAccount" if split_service_account(subject) else "User", name)
        g.requests = len(seen)
        take = []
        for req, outcome in seen.items():
            if outcome == "denied" and not options.include_denied:
                g.denied[req] = denied_seen[(subject, req)]
            else:
                take.append(req)
        _build(g, take, options, known)
        out.append(g)
    return out


def _build(g: Generated, reqs: list[Request], options: GenerateOptions, existing: Authorizer | None) -> None:
    reqs = sorted(reqs, key=_sort_key)
    kinds = _Kinds(reqs)
    made: list[tuple[str | None, PolicyRule]] = []

    def allowed(r: Request) -> bool:
        for ns, rule in made:
            if (ns is None or (r.resource_request and ns == r.namespace)) and rule_allows(rule, r):
                return True
        return False

    for r in reqs:
        if existing is not None and existing.allows(r):
            continue
        if allowed(r):
            continue
        if not r.resource_request:
            made.append((None, PolicyRule(verbs=(r.verb,), non_resource_urls=(r.path,))))
            continue
        namespace, name = kinds.expanded(r, options)
        resource = f"{r.resource}/{r.subresource}" if r.subresource else r.resource
        rule = PolicyRule(verbs=_widened(r, options), api_groups=(r.api_group,), resources=(resource,),
                          resource_names=(name,) if name else ())
        made.append((namespace or None, rule))
    cluster = [rule for ns, rule in made if ns is None]
    g.cluster_rules = compact(cluster)
    for ns in sorted({ns for ns, _ in made if ns is not None}):
        g.namespaced_rules[ns] = compact([rule for n, rule in made if n == ns])


def compact(rules: Sequence[PolicyRule]) -> list[PolicyRule]:
    """Fewer rules granting exactly the same: rules are broken down to one verb, group,
    resource and name each, then merged by verbs, by names (an unnamed rule takes in the named
    ones), and by resources where the names are the same."""
    verbs: dict[tuple[str, str, str | None], set[str]] = {}
    urls: dict[str, set[str]] = {}
    for rule in rules:
        for verb in rule.verbs:
            for url in rule.non_resource_urls:
                urls.setdefault(url, set()).add(verb)
            for group in rule.api_groups:
                for res in rule.resources:
                    for name in rule.resource_names or (None,):
                        verbs.setdefault((group, res, name), set()).add(verb)
    # names: per (group, resource, verbs); an unnamed rule covers every name
    by_target: dict[tuple[str, str, frozenset[str]], set[str | None]] = {}
    for (group, res, name), verb_set in verbs.items():
        by_target.setdefault((group, res, frozenset(verb_set)), set()).add(name)
    named: dict[tuple[str, frozenset[str], tuple[str, ...]], list[str]] = {}
    for (group, res, target_verbs), names in by_target.items():
        key_names: tuple[str, ...] = () if None in names else tuple(sorted(n for n in names if n))
        named.setdefault((group, target_verbs, key_names), []).append(res)
    out = [PolicyRule(verbs=tuple(sorted(vs)), api_groups=(group,), resources=tuple(sorted(res)),
                      resource_names=names)
           for (group, vs, names), res in named.items()]
    by_verbs: dict[frozenset[str], list[str]] = {}
    for url, vs in urls.items():
        by_verbs.setdefault(frozenset(vs), []).append(url)
    out += [PolicyRule(verbs=tuple(sorted(vs)), non_resource_urls=tuple(sorted(u)))
            for vs, u in by_verbs.items()]
    return sorted(out, key=lambda r: (bool(r.non_resource_urls), r.api_groups, r.text()))


def to_yaml(generated: Sequence[Generated], *, header: str = "") -> str:
    """A YAML stream of every subject's objects, each subject's denied requests left out listed
    in comments before its objects."""
    parts: list[str] = []
    if header:
        parts.append("".join(f"# {line}\n" for line in header.splitlines()))
    for g in generated:
        lines = [f"# {g.subject_kind} {g.subject}: {g.requests} distinct requests"]
        if g.denied:
            lines.append(f"# denied requests left out ({len(g.denied)}; --include-denied grants them):")
            for req, n in sorted(g.denied.items(), key=lambda kv: _sort_key(kv[0])):
                lines.append(f"#   {describe(req)} ({n}x)")
        if not g.cluster_rules and not g.namespaced_rules:
            lines.append("# nothing to grant")
        text = "\n".join(lines) + "\n"
        docs = [_yaml(obj) for obj in g.objects()]
        parts.append(text + "".join(f"---\n{d}" for d in docs))
    return "".join(parts)


def describe(req: Request) -> str:
    """A request in one line: ``list pods in ns1``, ``get /healthz``."""
    if not req.resource_request:
        return f"{req.verb} {req.path}"
    res = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    group = f".{req.api_group}" if req.api_group else ""
    name = f" {req.name}" if req.name else ""
    where = f" in {req.namespace}" if req.namespace else " (cluster)"
    return f"{req.verb} {res}{group}{name}{where}"


_PLAIN = re.compile(r"^[A-Za-z0-9_./-][A-Za-z0-9_./:@#-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: str) -> str:
    """A string as YAML: plain when it cannot be read as anything else, else double-quoted
    (JSON string syntax is valid YAML)."""
    if _PLAIN.match(value) and value.lower() not in _YAML_WORDS and not re.match(r"^[-+.\d]", value) \
            and not value.endswith(":") and ": " not in value and " #" not in value:
        return value
    return json.dumps(value)


def _yaml(value: Any, indent: int = 0) -> str:
    """Block YAML of dicts, lists and strings (all RBAC objects hold)."""
    pad = " " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{_scalar(k)}:\n{_yaml(v, indent + 2)}")
            else:
                out.append(f"{pad}{_scalar(k)}: {_yaml_inline(v)}\n")
        return "".join(out)
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, dict) and v:
                inner = _yaml(v, indent + 2)
                out.append(f"{pad}- {inner[indent + 2:]}")
            else:
                out.append(f"{pad}- {_yaml_inline(v)}\n")
        return "".join(out)
    return f"{pad}{_yaml_inline(value)}\n"


def _yaml_inline(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(str(v))
