"""The RBAC objects as the authorizer sees them: rules, roles, bindings, subjects, and a policy
that resolves ``aggregationRule`` and turns every binding into grants.

Field meanings follow k8s.io/api ``rbac/v1/types.go``. A :class:`Grant` is one rule of one role
made effective by one binding, with the namespace it is limited to: a RoleBinding limits even a
ClusterRole's rules to its own namespace (Kubernetes RBAC documentation, "RoleBinding and
ClusterRoleBinding"). Grants are what an access review counts, since a grant is what an
administrator removes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Binding", "Grant", "LabelSelector", "Policy", "PolicyRule", "Role", "Subject",
           "BOOTSTRAP_LABEL", "SA_PREFIX", "service_account_user", "split_service_account"]

SA_PREFIX = "system:serviceaccount:"
BOOTSTRAP_LABEL = ("kubernetes.io/bootstrapping", "rbac-defaults")
"""The label the API server puts on the roles and bindings it creates itself."""


def service_account_user(namespace: str, name: str) -> str:
    """The username a service account authenticates as."""
    return f"{SA_PREFIX}{namespace}:{name}"


def split_service_account(user: str) -> tuple[str, str] | None:
    """(namespace, name) of a service-account username, else None."""
    if not user.startswith(SA_PREFIX):
        return None
    namespace, sep, name = user[len(SA_PREFIX):].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


def object_ref(kind: str, namespace: str | None, name: str) -> str:
    """``Kind/namespace/name``, or ``Kind/name`` for a cluster-wide object."""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One rule; empty tuples mean "nothing" except ``resource_names`` (empty: every name)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def text(self) -> str:
        """A compact one-line form, e.g. ``get,list pods,secrets (core)``."""
        if self.non_resource_urls:
            return f"{','.join(self.verbs)} {','.join(self.non_resource_urls)}"
        groups = ",".join(g or "core" for g in self.api_groups)
        names = f" [{','.join(self.resource_names)}]" if self.resource_names else ""
        return f"{','.join(self.verbs)} {','.join(self.resources)}{names} ({groups})"

    def as_dict(self) -> dict[str, list[str]]:
        """The rule as Kubernetes writes it (empty fields left out)."""
        out: dict[str, list[str]] = {}
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        else:
            out["apiGroups"] = list(self.api_groups)
            out["resources"] = list(self.resources)
            if self.resource_names:
                out["resourceNames"] = list(self.resource_names)
        out["verbs"] = list(self.verbs)
        return out


def _expression_holds(labels: Mapping[str, str], key: str, op: str, values: tuple[str, ...]) -> bool:
    """One ``matchExpressions`` item (an unknown operator holds for nothing)."""
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A metav1.LabelSelector: ``match_labels`` and ``match_expressions`` (key, operator,
    values), all of which must hold."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        # an empty selector selects everything (apimachinery LabelSelectorAsSelector): an
        # aggregationRule with {} aggregates every ClusterRole, as the controller would
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.match_expressions:
            if not _expression_holds(labels, key, op, values):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Role:
    """A Role (``namespace`` set) or ClusterRole (``namespace`` None)."""

    kind: str
    name: str
    namespace: str | None
    rules: tuple[PolicyRule, ...]
    labels: tuple[tuple[str, str], ...] = ()
    aggregation: tuple[LabelSelector, ...] = ()
    source: str = ""

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def ref(self) -> str:
        return object_ref(self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Subject:
    """A binding subject: kind User, Group or ServiceAccount."""

    kind: str
    name: str
    namespace: str | None = None

    @property
    def display(self) -> str:
        """The name as the API server logs it: a service account's username, else the name."""
        if self.kind == "ServiceAccount":
            return service_account_user(self.namespace or "", self.name)
        return self.name

    def applies_to(self, user: str, groups: Iterable[str], binding_namespace: str | None) -> bool:
        """Whether a request by ``user`` in ``groups`` is this subject's (a service account
        without a namespace is the binding's namespace's, as the authorizer has it)."""
        if self.kind == "User":
            return self.name == user
        if self.kind == "Group":
            return self.name in groups
        if self.kind == "ServiceAccount":
            ns = self.namespace or binding_namespace or ""
            return user == service_account_user(ns, self.name)
        return False


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding (``namespace`` set) or ClusterRoleBinding (``namespace`` None)."""

    kind: str
    name: str
    namespace: str | None
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]
    labels: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @property
    def ref(self) -> str:
        return object_ref(self.kind, self.namespace, self.name)

    @property
    def role_key(self) -> tuple[str, str | None, str]:
        # a RoleBinding's Role is in the binding's namespace; a ClusterRole in none
        return (self.role_kind, self.namespace if self.role_kind == "Role" else None, self.role_name)


@dataclass(frozen=True, slots=True)
class Grant:
    """One rule of one role made effective by one binding; ``namespace``: where it applies
    (None: everywhere, and to cluster-scoped objects and non-resource URLs)."""

    id: int
    binding: Binding
    role: Role
    rule: PolicyRule
    namespace: str | None

    @property
    def bootstrap(self) -> bool:
        """Whether the binding or the role is one Kubernetes (or OpenShift) creates itself."""
        return any(BOOTSTRAP_LABEL in x.labels or x.name.startswith("system:")
                   for x in (self.binding, self.role))


@dataclass
class Policy:
    """The roles and bindings of an export. ``warnings``: what the authorizer would also
    ignore (a binding to a role the export lacks); ``skipped``: objects of other kinds, by kind."""

    roles: list[Role] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def extend(self, other: Policy) -> None:
        self.roles.extend(other.roles)
        self.bindings.extend(other.bindings)
        self.warnings.extend(other.warnings)
        for kind, n in other.skipped.items():
            self.skipped[kind] = self.skipped.get(kind, 0) + n
        self.sources.extend(other.sources)

    def resolved_rules(self) -> dict[tuple[str, str | None, str], tuple[PolicyRule, ...]]:
        """Each role's rules, an aggregated ClusterRole's being its own and those of every
        ClusterRole its selectors pick (followed through roles that aggregate in turn, as the
        aggregation controller converges), without repeats."""
        by_key = {r.key: r for r in self.roles}
        cluster_roles = [r for r in self.roles if r.namespace is None]
        done: dict[tuple[str, str | None, str], tuple[PolicyRule, ...]] = {}

        def rules_of(role: Role, seen: frozenset[tuple[str, str | None, str]]) -> tuple[PolicyRule, ...]:
            if role.key in done:
                return done[role.key]
            rules = list(role.rules)
            if role.aggregation:
                for other in cluster_roles:
                    if other.key in seen or other.key == role.key:
                        continue
                    labels = dict(other.labels)
                    if any(sel.matches(labels) for sel in role.aggregation):
                        rules.extend(rules_of(other, seen | {role.key}))
            unique = tuple(dict.fromkeys(rules))
            if not seen:
                done[role.key] = unique
            return unique

        return {key: rules_of(role, frozenset()) for key, role in by_key.items()}

    def grants(self) -> list[Grant]:
        """Every (binding, rule) pair that is in force; bindings to missing roles are noted in
        :attr:`warnings` once."""
        rules = self.resolved_rules()
        roles = {r.key: r for r in self.roles}
        out: list[Grant] = []
        for b in self.bindings:
            role = roles.get(b.role_key)
            if role is None:
                note = f"{b.ref} ({b.source}) refers to {b.role_kind} {b.role_name}, which the export does not hold: it grants nothing"
                if note not in self.warnings:
                    self.warnings.append(note)
                continue
            for rule in rules[role.key]:
                out.append(Grant(len(out), b, role, rule, b.namespace))
        return out
