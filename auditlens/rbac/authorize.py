"""Kubernetes RBAC decisions over a :class:`~auditlens.rbac.model.Policy`.

The matching follows the Kubernetes RBAC authorizer (kubernetes ``plugin/pkg/auth/authorizer/
rbac/rbac.go`` and the RBAC documentation): one small function per dimension of a rule, a rule
allows a request when every dimension matches, a request is allowed when a grant that applies
to its user allows it. RBAC only adds permissions: there is no deny rule.

The :class:`Authorizer` indexes its grants per identity and per (API group, resource), so a
decision looks only at the few grants that can match, not at every rule of the policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Grant, Policy, PolicyRule, service_account_user, split_service_account

__all__ = ["Authorizer", "Request", "effective_groups", "rule_allows"]

ANONYMOUS = "system:anonymous"


@dataclass(frozen=True, slots=True)
class Request:
    """The authorizer's view of one API request. A resource request has ``resource``; a
    non-resource request (``/healthz``, ``/apis``) has ``path`` instead. ``api_group`` is ""
    for the core group; empty strings mean "none"."""

    user: str
    groups: tuple[str, ...] = ()
    verb: str = "get"
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def resource_request(self) -> bool:
        return bool(self.resource)


def effective_groups(user: str, groups: Iterable[str] = ()) -> tuple[str, ...]:
    """The groups as logged plus those every authenticator implies: ``system:authenticated``
    (``system:unauthenticated`` for anonymous) and, for a service account,
    ``system:serviceaccounts`` and ``system:serviceaccounts:<namespace>``."""
    out = list(dict.fromkeys(g for g in groups if g))
    implied = ["system:unauthenticated"] if user == ANONYMOUS else ["system:authenticated"]
    sa = split_service_account(user)
    if sa is not None:
        implied += ["system:serviceaccounts", f"system:serviceaccounts:{sa[0]}"]
    out += [g for g in implied if g not in out]
    return tuple(out)


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return "*" in rule.verbs or verb in rule.verbs


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    return "*" in rule.api_groups or group in rule.api_groups


def resource_matches(rule: PolicyRule, resource: str, subresource: str) -> bool:
    """``*``, the exact ``resource`` or ``resource/subresource``, or ``*/subresource``."""
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.resources:
        if r == "*" or r == combined:
            return True
        if subresource and r == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    """No names: every object; else only the named ones (a request without a name, like
    ``list`` or ``create``, matches no named rule)."""
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    """``*``, the exact path, or a prefix ending in ``*``."""
    for url in rule.non_resource_urls:
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(rule: PolicyRule, req: Request) -> bool:
    if not verb_matches(rule, req.verb):
        return False
    if req.resource_request:
        return (api_group_matches(rule, req.api_group)
                and resource_matches(rule, req.resource, req.subresource)
                and resource_name_matches(rule, req.name))
    return non_resource_url_matches(rule, req.path)


def scope_matches(grant: Grant, req: Request) -> bool:
    """A ClusterRoleBinding's grant applies everywhere; a RoleBinding's only to namespaced
    requests in its namespace (never to cluster-scoped objects or non-resource URLs)."""
    return grant.namespace is None or (req.resource_request and req.namespace == grant.namespace)


class _Index:
    """One identity's grants by (API group, resource) as written in the rules, and its
    non-resource grants."""

    def __init__(self, grants: Sequence[Grant]) -> None:
        self.by_key: dict[tuple[str, str], list[Grant]] = {}
        self.non_resource: list[Grant] = []
        for g in grants:
            if g.rule.non_resource_urls and g.namespace is None:
                self.non_resource.append(g)
            for group in g.rule.api_groups:
                for res in g.rule.resources:
                    self.by_key.setdefault((group, res), []).append(g)

    def candidates(self, req: Request) -> list[Grant]:
        if not req.resource_request:
            return self.non_resource
        combined = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
        keys = [combined, "*"] + (["*/" + req.subresource] if req.subresource else [])
        out: list[Grant] = []
        for group in (req.api_group, "*"):
            for res in keys:
                out.extend(self.by_key.get((group, res), ()))
        return out


class Authorizer:
    """Decisions of one policy. ``matching`` gives every grant that allows a request (RBAC
    itself stops at the first; a review wants them all)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.grants = policy.grants()
        self._users: dict[str, list[Grant]] = {}
        self._groups: dict[str, list[Grant]] = {}
        for g in self.grants:
            for s in g.binding.subjects:
                if s.kind == "User":
                    self._users.setdefault(s.name, []).append(g)
                elif s.kind == "Group":
                    self._groups.setdefault(s.name, []).append(g)
                elif s.kind == "ServiceAccount":
                    # without a namespace: the binding's (as Subject.applies_to)
                    user = service_account_user(s.namespace or g.binding.namespace or "", s.name)
                    self._users.setdefault(user, []).append(g)
        self._indexes: dict[tuple[str, tuple[str, ...]], _Index] = {}

    def grants_of(self, user: str, groups: tuple[str, ...]) -> list[Grant]:
        """Every grant whose binding names this user, its service account or one of its groups."""
        seen: dict[int, Grant] = {g.id: g for g in self._users.get(user, ())}
        for group in groups:
            for g in self._groups.get(group, ()):
                seen.setdefault(g.id, g)
        return [seen[i] for i in sorted(seen)]

    def _index(self, user: str, groups: tuple[str, ...]) -> _Index:
        key = (user, groups)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = _Index(self.grants_of(user, groups))
        return index

    def matching(self, req: Request) -> list[Grant]:
        """The grants that allow ``req``, in policy order, each once."""
        groups = effective_groups(req.user, req.groups)
        found = {g.id: g for g in self._index(req.user, groups).candidates(req)
                 if scope_matches(g, req) and rule_allows(g.rule, req)}
        return [found[i] for i in sorted(found)]

    def allows(self, req: Request) -> bool:
        return bool(self.matching(req))
