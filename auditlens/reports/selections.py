"""Which actions belong to which report: predicates over the event tables, kept as data.

Each selection looks at an auditd events table and at the Kubernetes requests (one row per
auditID, see :func:`auditlens.activity.request_rows`) and returns a boolean mask per row. Record
types and resource names come from the PCI DSS 10.2.1 mapping in docs/reports.md; rule keys are
conventions that differ between baselines, so selections use record types, syscalls and paths,
and take the key only as a hint.

An auditd section is a list of :class:`Rule`: a row is in the section when every condition of
one of its rules holds. A syscall counts by what it asks to do to its file (the events'
``access`` column: read, write, create, truncate, attr, exec, from the syscall and its open
flags), so that a denied ``cat /etc/shadow`` is failed access to sensitive data, not a change
of credentials. The same rules write the "why is this row here?" table of docs/reports.md.

A service (cloud) event is in a section when one of the section's :class:`CloudRule` holds: its
action matches a pattern of provider action names (IBM Cloud Activity Tracker
``containers-kubernetes.*`` / ``iam-*``, CloudTrail ``eventSource:eventName``, GCP
``methodName``, Azure ``operationName``, matched without regard to case: Azure logs them in
either), or its outcome and reason code say it was refused. They write their own rows of the
"why" table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

import pyarrow as pa
import pyarrow.compute as pc

Mask = Union[pa.ChunkedArray, pa.Array]  # noqa: UP007 (a runtime alias on Python 3.10)

MUTATING_VERBS = ("create", "update", "patch", "delete", "deletecollection")
READ_VERBS = ("get", "list", "watch")

LOGIN_TYPES = ("USER_LOGIN", "USER_LOGOUT", "USER_ERR", "ANOM_LOGIN_FAILURES", "ANOM_LOGIN_TIME",
               "ANOM_LOGIN_SESSIONS", "ANOM_LOGIN_ACCT", "ANOM_LOGIN_LOCATION", "ANOM_MAX_DAC",
               "ANOM_MAX_MAC")
LOGIN_PROGRAMS = r"(^|/)(sshd|login|gdm[-\w]*|lightdm|sddm|xrdp[-\w]*|cockpit-session)$"
AUTH_TYPES = ("USER_AUTH", "USER_ACCT", "USER_LOGIN", "USER_CMD", "USER_ERR", "GRP_AUTH",
              "ANOM_LOGIN_FAILURES")
DENIAL_TYPES = ("AVC", "USER_AVC", "APPARMOR_DENIED", "SELINUX_ERR", "USER_SELINUX_ERR",
                "ANOM_ACCESS_FS")
SESSION_PLUMBING = ("CRED_ACQ", "CRED_DISP", "CRED_REFR", "USER_ACCT", "USER_AUTH", "USER_START",
                    "USER_END", "LOGIN", "USER_LOGIN", "USER_LOGOUT")
IDENTITY_TYPES = ("ADD_USER", "DEL_USER", "ADD_GROUP", "DEL_GROUP", "USER_MGMT", "GRP_MGMT",
                  "USER_CHAUTHTOK", "GRP_CHAUTHTOK", "ACCT_LOCK", "ACCT_UNLOCK", "CHUSER_ID",
                  "CHGRP_ID", "ROLE_ASSIGN", "ROLE_REMOVE", "ROLE_MODIFY", "USER_ROLE_CHANGE")
IDENTITY_PATHS = (r"^/etc/(passwd|shadow|group|gshadow|npasswd|nshadow|ngroup|ngshadow|sudoers)"
                  r"|^/etc/security/opasswd")
SYSTEM_TYPES = ("KERN_MODULE", "SOFTWARE_UPDATE", "SERVICE_START", "SERVICE_STOP", "NETFILTER_CFG",
                "MAC_POLICY_LOAD", "MAC_STATUS", "MAC_CONFIG_CHANGE", "MAC_UNLBL_ALLOW",
                "SYSTEM_BOOT", "SYSTEM_SHUTDOWN", "SYSTEM_RUNLEVEL", "ANOM_PROMISCUOUS",
                "DEV_ALLOC", "DEV_DEALLOC", "TIME_ADJNTPVAL", "TIME_INJOFFSET")
SYSTEM_SYSCALLS = ("init_module", "finit_module", "delete_module", "mount", "umount2", "mknod",
                   "mknodat", "adjtimex", "settimeofday", "clock_settime", "kexec_load",
                   "kexec_file_load", "fsmount", "move_mount")
SENSITIVE_PATHS = (r"^/etc/(shadow|gshadow|sudoers)|^/root/|^/etc/ssh/ssh_host_.*key$"
                   r"|^/etc/kubernetes/pki/|^/var/lib/kubelet/pki/|^/etc/pki/.*private")
CHANGE_ACCESS = ("write", "create", "truncate", "attr")
"""``access`` values that change a file: its data, its name or its attributes."""
DATA_ACCESS = ("read", "write", "create", "truncate")
"""``access`` values that reach a file's data (a change of mode or owner alone does not)."""

K8S_ADMIN_GROUPS = ("system:masters",)
K8S_ADMIN_REASON = 'ClusterRole "cluster-admin"'
K8S_INTERACTIVE = ("exec", "attach", "portforward", "proxy")
K8S_IDENTITY = ("roles", "rolebindings", "clusterroles", "clusterrolebindings", "serviceaccounts",
                "certificatesigningrequests", "users", "groups", "identities",
                "useridentitymappings", "oauthaccesstokens", "oauthclients",
                "oauthclientauthorizations", "tokenrequests")
K8S_SYSTEM = ("namespaces", "nodes", "customresourcedefinitions", "mutatingwebhookconfigurations",
              "validatingwebhookconfigurations", "validatingadmissionpolicies",
              "validatingadmissionpolicybindings", "mutatingadmissionpolicies",
              "mutatingadmissionpolicybindings", "apiservices", "persistentvolumes",
              "storageclasses", "priorityclasses", "runtimeclasses", "podsecuritypolicies",
              "securitycontextconstraints", "clusteroperators", "machineconfigs",
              "apiservers")
K8S_WORKLOADS = ("pods", "deployments", "daemonsets", "statefulsets", "replicasets", "jobs",
                 "cronjobs", "replicationcontrollers", "deploymentconfigs")
K8S_PRIVILEGED = r'"privileged"\s*:\s*true|"host(Network|PID|IPC)"\s*:\s*true'
OAUTH_ANNOTATION = "authentication.openshift.io/decision"
OAUTH_PATHS = r"^/(oauth/(authorize|token)|login)(\b|/|\?|$)"


def _in(column: pa.ChunkedArray, values: tuple[str, ...]) -> Mask:
    return pc.fill_null(pc.is_in(column, pa.array(values, column.type)), False)


def _eq(column: pa.ChunkedArray, value: object) -> Mask:
    return pc.fill_null(pc.equal(column, value), False)


def _match(column: pa.ChunkedArray, pattern: str) -> Mask:
    return pc.fill_null(pc.match_substring_regex(column, pattern), False)


def _any(*masks: Mask) -> Mask:
    out = masks[0]
    for m in masks[1:]:
        out = pc.or_(out, m)
    return out


def _all(*masks: Mask) -> Mask:
    out = masks[0]
    for m in masks[1:]:
        out = pc.and_(out, m)
    return out


def list_has(lists: pa.ChunkedArray, predicate: Callable[[pa.Array], Mask]) -> pa.Array:
    """Per row: does any element of the list column satisfy ``predicate``?"""
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    hits = [False] * len(lists)
    flat = pc.list_flatten(lists)
    if len(flat):
        parents = pc.list_parent_indices(lists)
        for i in parents.filter(pc.fill_null(predicate(flat), False)).to_pylist():
            hits[i] = True
    return pa.array(hits, pa.bool_())


def _path_matches(events: pa.Table, pattern: str) -> pa.Array:
    return list_has(events["paths"], lambda items: _match(pc.struct_field(items, "name"), pattern))


def _auid_set(events: pa.Table) -> Mask:
    return pc.is_valid(events["auid"])


def _failed(events: pa.Table) -> Mask:
    return _eq(events["result"], "failed")


def _k8s_mutating(req: pa.Table) -> Mask:
    return _in(req["verb"], MUTATING_VERBS)


def _k8s_denied(req: pa.Table) -> Mask:
    return _any(_eq(req["decision"], "forbid"), _in_int(req["response_code"], (401, 403)))


def _in_int(column: pa.ChunkedArray, values: tuple[int, ...]) -> Mask:
    return pc.fill_null(pc.is_in(column, pa.array(values, column.type)), False)


def _oauth(req: pa.Table) -> Mask:
    decision = pc.map_lookup(req["annotations"], pa.scalar(OAUTH_ANNOTATION), "first")
    return pc.is_valid(decision)


# --- auditd rules ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cond:
    """One condition of a rule: the mask it gives and how the docs say it.

    ``column`` is where the docs table shows it: ``records`` (record types), ``syscalls``,
    ``access`` (the syscall's intent, from its flags) or ``also`` (anything else)."""

    column: str
    doc: str
    mask: Callable[[pa.Table], Mask] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Rule:
    """Conditions that together put an auditd event in a section."""

    conds: tuple[Cond, ...]

    def mask(self, ev: pa.Table) -> Mask:
        return _all(*(c.mask(ev) for c in self.conds))

    def doc(self, column: str) -> str:
        return "; ".join(c.doc for c in self.conds if c.column == column)


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def types(*values: str) -> Cond:
    return Cond("records", _names(values), lambda ev: _in(ev["event_type"], values))


def not_types(values: tuple[str, ...], doc: str) -> Cond:
    return Cond("records", doc, lambda ev: pc.invert(_in(ev["event_type"], values)))


def syscalls(*values: str) -> Cond:
    return Cond("syscalls", _names(values), lambda ev: _in(ev["syscall"], values))


def access(*values: str) -> Cond:
    """The syscall asks for any of ``values`` (the events' ``access`` column)."""
    return Cond("access", "any of " + _names(values),
                lambda ev: list_has(ev["access"], lambda a: _in(a, values)))


def also(doc: str, mask: Callable[[pa.Table], Mask]) -> Cond:
    return Cond("also", doc, mask)


def paths(pattern: str, doc: str) -> Cond:
    return also(f"a PATH name matches {doc}", lambda ev: _path_matches(ev, pattern))


LOGGED_IN = also("`auid` set (a person logged in)", _auid_set)
FAILED = also("`result` failed", _failed)


def _by_login_program(ev: pa.Table) -> Mask:
    return _match(ev["exe"], LOGIN_PROGRAMS)


BY_LOGIN_PROGRAM = also("`exe` is a login program (sshd, login, gdm…)", _by_login_program)
NOT_PLUMBING = not_types(SESSION_PLUMBING, "not the session records (" + _names(SESSION_PLUMBING) + ")")
ROOT = also("`uid` or `euid` 0", lambda ev: _any(_eq(ev["euid"], 0), _eq(ev["uid"], 0)))

AUDITD_RULES: dict[str, tuple[Rule, ...]] = {
    "logins": (
        Rule((types(*LOGIN_TYPES),)),
        Rule((types("USER_AUTH"), BY_LOGIN_PROGRAM)),
        Rule((types("USER_AUTH"), FAILED)),
        Rule((types("USER_START", "USER_END"), BY_LOGIN_PROGRAM)),
    ),
    "failed-access": (
        Rule((also("`errno` EACCES or EPERM, whatever the access asked",
                   lambda ev: _in(ev["errno"], ("EACCES", "EPERM"))),)),
        Rule((also("`avc_result` denied", lambda ev: _eq(ev["avc_result"], "denied")),)),
        Rule((types(*DENIAL_TYPES),)),
        Rule((types(*AUTH_TYPES), FAILED)),
    ),
    "admin-actions": (
        Rule((LOGGED_IN, NOT_PLUMBING, ROOT)),
        Rule((LOGGED_IN, NOT_PLUMBING, types("USER_CMD"))),
    ),
    "identity-changes": (
        Rule((types(*IDENTITY_TYPES),)),
        Rule((access(*CHANGE_ACCESS),
              paths(IDENTITY_PATHS, "the account files (/etc/passwd, shadow, group, gshadow, "
                                    "their n* temporaries, sudoers, /etc/security/opasswd)"))),
    ),
    "system-objects": (
        Rule((types(*SYSTEM_TYPES),)),
        Rule((syscalls(*SYSTEM_SYSCALLS),)),
    ),
    "sensitive-access": (
        Rule((LOGGED_IN, access(*DATA_ACCESS),
              paths(SENSITIVE_PATHS, "a sensitive file (/etc/shadow, gshadow, sudoers, /root/, "
                                     "SSH host keys, Kubernetes and kubelet PKI, /etc/pki private keys)"))),
        Rule((LOGGED_IN, access(*DATA_ACCESS),
              also("a rule key is set and `action` is opened-file, on a file that is not an "
                   "account file (those are identity-changes)",
                   lambda ev: _all(pc.is_valid(ev["key"]), _eq(ev["action"], "opened-file"),
                                   pc.invert(_path_matches(ev, IDENTITY_PATHS)))))),
    ),
}
"""Per section, the rules that put an auditd event in it (one rule holding is enough)."""


def _auditd(name: str) -> Callable[[pa.Table], Mask]:
    rules = AUDITD_RULES[name]

    def select(ev: pa.Table) -> Mask:
        return _any(*(r.mask(ev) for r in rules))

    select.__name__ = select.__qualname__ = name.replace("-", "_") + "_auditd"
    return select


logins_auditd = _auditd("logins")
failed_access_auditd = _auditd("failed-access")
admin_auditd = _auditd("admin-actions")
identity_auditd = _auditd("identity-changes")
system_auditd = _auditd("system-objects")
sensitive_auditd = _auditd("sensitive-access")


# --- Kubernetes selections ----------------------------------------------------------------------

def logins_k8s(req: pa.Table) -> Mask:
    anonymous = _any(_eq(req["user"], "system:anonymous"),
                     list_has(req["groups"], lambda g: _eq(g, "system:unauthenticated")))
    return _any(anonymous, _in_int(req["response_code"], (401,)), _oauth(req),
                _match(req["request_uri"], OAUTH_PATHS))


def failed_access_k8s(req: pa.Table) -> Mask:
    decision = pc.map_lookup(req["annotations"], pa.scalar(OAUTH_ANNOTATION), "first")
    return _any(_k8s_denied(req), _in(decision, ("deny", "error")))


def admin_k8s(req: pa.Table) -> Mask:
    return _any(
        list_has(req["groups"], lambda g: _in(g, K8S_ADMIN_GROUPS)),
        pc.fill_null(pc.match_substring(req["reason"], K8S_ADMIN_REASON), False),
        _in(req["subresource"], K8S_INTERACTIVE),
        pc.is_valid(req["impersonated_user"]),
    )


def identity_k8s(req: pa.Table) -> Mask:
    token = _all(_eq(req["resource"], "serviceaccounts"), _eq(req["subresource"], "token"))
    return _all(_any(_in(req["resource"], K8S_IDENTITY), token), _k8s_mutating(req))


def system_k8s(req: pa.Table) -> Mask:
    cluster_objects = _all(_in(req["resource"], K8S_SYSTEM), _k8s_mutating(req),
                           pc.is_null(req["subresource"]))
    privileged = _all(_in(req["resource"], K8S_WORKLOADS), _in(req["verb"], ("create", "update", "patch")),
                      _match(req["request_object"], K8S_PRIVILEGED))
    return _any(cluster_objects, privileged)


def sensitive_k8s(req: pa.Table) -> Mask:
    return _all(_eq(req["resource"], "secrets"), _in(req["verb"], READ_VERBS))


# --- service (cloud) events ---------------------------------------------------------------------

CLOUD_REFUSED_CODES = ("401", "403", "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                       "Client.UnauthorizedOperation", "PERMISSION_DENIED", "UNAUTHENTICATED", "7",
                       "16", "AuthorizationFailed", "Forbidden", "Unauthorized")
"""Reason codes of a refusal: HTTP 401/403 (IBM), CloudTrail ``errorCode``, GCP status codes 7
and 16 (by number or name), Azure ``AuthorizationFailed``."""
CLOUD_UNAUTHENTICATED_CODES = ("401", "UNAUTHENTICATED", "16", "Unauthorized")


@dataclass(frozen=True)
class CloudRule:
    """What puts a service event in a section: its action matches ``actions`` (a regular
    expression, any case), and, when given, its outcome is one of ``outcomes`` and its reason
    code one of ``codes``. ``provider`` and ``doc`` are what the docs table says of it."""

    provider: str
    doc: str
    actions: str | None = None
    outcomes: tuple[str, ...] | None = None
    codes: tuple[str, ...] | None = None

    def mask(self, ev: pa.Table) -> Mask:
        masks: list[Mask] = []
        if self.actions is not None:
            masks.append(_match(ev["action"], "(?i)" + self.actions))
        if self.outcomes is not None:
            masks.append(_in(ev["outcome"], self.outcomes))
        if self.codes is not None:
            masks.append(_in(ev["reason_code"], self.codes))
        return _all(*masks)


_IBM = "containers-kubernetes"
_EKS = r"eks(\.amazonaws\.com)?:"
_IAM_AWS = r"iam(\.amazonaws\.com)?:"
_GKE = r"google\.container\.v1(beta1|alpha1)?\.ClusterManager\."
_AKS = r"Microsoft\.ContainerService/managedClusters"

CLOUD_RULES: dict[str, tuple[CloudRule, ...]] = {
    "logins": (
        CloudRule("IBM", "IAM logins with an API key or other credential "
                  "(`iam-identity.*.login`, e.g. `iam-identity.user-apikey.login`)",
                  r"^iam-identity\.[\w-]+\.login$"),
        CloudRule("AWS", "`signin:ConsoleLogin`, and federated or session sign-ins "
                  "(`sts:AssumeRoleWithSAML`, `AssumeRoleWithWebIdentity`, `GetSessionToken`)",
                  r"(^|:)(ConsoleLogin|AssumeRoleWithSAML|AssumeRoleWithWebIdentity|GetSessionToken)$"),
        CloudRule("GCP", "`google.login.LoginService.*` (Workspace/Cloud Identity logins, when "
                  "exported with the audit logs)", r"^google\.login\.LoginService\."),
        CloudRule("any", "a request refused as unauthenticated (401, `UNAUTHENTICATED`/16)",
                  codes=CLOUD_UNAUTHENTICATED_CODES, outcomes=("failure", "denied")),
    ),
    "failed-access": (
        CloudRule("any", "outcome `denied`", outcomes=("denied",)),
        CloudRule("any", "outcome `failure` with the reason code of a refusal (HTTP 401/403, "
                  "CloudTrail AccessDenied, GCP PERMISSION_DENIED/UNAUTHENTICATED, Azure "
                  "AuthorizationFailed)",
                  outcomes=("failure",), codes=CLOUD_REFUSED_CODES),
    ),
    "admin-actions": (
        CloudRule("IBM", "cluster, master, version, worker and worker-pool operations, CA "
                  "rotation, service endpoints, KMS, add-ons, the private endpoint allowlist: "
                  "`containers-kubernetes.<object>.create|delete|update|refresh|reboot|reload|"
                  "replace|add|rebalance|resize|rotate|enable|disable|set`",
                  r"^containers-kubernetes\.(cluster|cluster-master|version|worker|cluster-worker"
                  r"|cluster-worker-pool[\w-]*|cluster-ca-certificate|cluster-private-service-endpoint"
                  r"|cluster-public-service-endpoint|cluster-kms|cluster-addon|network\.acl)\."
                  r"(create|delete|update|refresh|reboot|reload|replace|add|rebalance|resize|rotate"
                  r"|enable|disable|set)$"),
        CloudRule("AWS", "EKS cluster and node-group mutations (`eks:Create|Delete|Update"
                  "Cluster*|Nodegroup*`, add-ons, Fargate profiles)",
                  "^" + _EKS + r"(Create|Delete|Update)(Cluster|Nodegroup|Addon|FargateProfile)\w*$"),
        CloudRule("GCP", "GKE cluster and node-pool mutations (`ClusterManager.Create*|Delete*|"
                  "Update*|Set*|Rollback*|Start*|Complete*`)",
                  "^" + _GKE + r"(Create|Delete|Update|Set|Rollback|Start|Complete)\w*$"),
        CloudRule("Azure", "AKS cluster and agent-pool writes, deletes and actions "
                  "(`managedClusters[/agentPools]/write|delete`, `…/start|stop|"
                  "rotateClusterCertificates|runCommand|resetServicePrincipalProfile|"
                  "resetAADProfile/action`)",
                  "^" + _AKS + r"(/agentPools)?/(write|delete)$|^" + _AKS
                  + r"/(start|stop|rotateClusterCertificates|runCommand|resetServicePrincipalProfile"
                  r"|resetAADProfile|abort)/action$"),
    ),
    "identity-changes": (
        CloudRule("IBM", "cluster RBAC sync from IAM (`containers-kubernetes.cluster-rbac."
                  "apply|update`), the cluster API key reset, classic infrastructure credentials",
                  r"^containers-kubernetes\.(cluster-rbac\.(apply|update)|account-api-key\.reset"
                  r"|account-infra-credential\.(set|delete))$"),
        CloudRule("IBM", "IAM users, service ids, API keys, trusted profiles, access groups and "
                  "policies changed (`iam-identity.*`, `iam-groups.*`, `iam-am.*`, "
                  "`user-management.*`, not reads or logins)",
                  r"^(iam-identity|iam-groups|iam-am|iam-access-management|user-management)\."
                  r"[\w.-]+\.(create|update|delete|add|remove|lock|unlock|enable|disable|invite"
                  r"|set|assign|unassign)$"),
        CloudRule("AWS", "IAM changes (`iam:Create*|Delete*|Update*|Put*|Attach*|Detach*|Add*|"
                  "Remove*|Set*|Change*|Upload*|Enable*|Deactivate*|Reset*`) and EKS access "
                  "entries and policies",
                  "^" + _IAM_AWS + r"(Create|Delete|Update|Put|Attach|Detach|Add|Remove|Set|Change"
                  r"|Upload|Enable|Deactivate|Reset)\w*$|^" + _EKS
                  + r"((Create|Delete|Update)AccessEntry|(Associate|Disassociate)AccessPolicy"
                  r"|(Create|Delete)PodIdentityAssociation)$"),
        CloudRule("GCP", "`*.SetIamPolicy`, service accounts and their keys changed "
                  "(`google.iam.admin.v1.Create*|Delete*|Update*|Patch*|Enable*|Disable*|"
                  "Undelete*`)",
                  r"\.SetIamPolicy$|^google\.iam\.admin\.v1\.(Create|Delete|Update|Patch|Enable"
                  r"|Disable|Undelete)\w*$"),
        CloudRule("Azure", "role assignments and definitions written or deleted "
                  "(`Microsoft.Authorization/roleAssignments|roleDefinitions/write|delete`)",
                  r"^Microsoft\.Authorization/(roleAssignments|roleDefinitions)/(write|delete)$"),
    ),
    "system-objects": (
        CloudRule("IBM", "clusters, workers, worker pools and zones, subnets, ALBs, Ingress "
                  "instances, NLB subdomains and storage created, added, deleted or detached",
                  r"^containers-kubernetes\.(cluster|worker|cluster-worker|cluster-worker-pool"
                  r"|cluster-worker-pool-zone|cluster-subnet|cluster-user-subnet|cluster\.user-subnet"
                  r"|cluster-alb|cluster-ingress-instance|cluster-nlb-dns|storage-volume"
                  r"|storage-attachment)\.(create|delete|add|detach)$"),
        CloudRule("IBM", "VPC networks, subnets, gateways, load balancers and security groups "
                  "created or deleted (`is.<kind>.<object>.create|delete`)",
                  r"^is\.(vpc|subnet|public-gateway|load-balancer|security-group|network-acl)\."
                  r"[\w-]+\.(create|delete)$"),
        CloudRule("AWS", "EKS clusters and node groups, VPC networks, subnets, gateways, security "
                  "groups and load balancers created or deleted",
                  "^" + _EKS + r"(Create|Delete)(Cluster|Nodegroup|FargateProfile)$"
                  r"|^ec2(\.amazonaws\.com)?:(Create|Delete)(Vpc|Subnet|SecurityGroup|InternetGateway"
                  r"|NatGateway|RouteTable|TransitGateway)$"
                  r"|^elasticloadbalancing(\.amazonaws\.com)?:(Create|Delete)LoadBalancer$"),
        CloudRule("GCP", "GKE clusters and node pools, networks, subnetworks and firewalls "
                  "created or deleted",
                  "^" + _GKE + r"(Create|Delete)(Cluster|NodePool)$"
                  r"|(^|\.)compute\.(networks|subnetworks|firewalls|forwardingRules)\.(insert|delete)$"),
        CloudRule("Azure", "AKS clusters and agent pools, virtual networks, subnets, load "
                  "balancers and network security groups written or deleted",
                  "^" + _AKS + r"(/agentPools)?/(write|delete)$|^Microsoft\.Network/(virtualNetworks"
                  r"|virtualNetworks/subnets|loadBalancers|networkSecurityGroups|publicIPAddresses)"
                  r"/(write|delete)$"),
    ),
    "sensitive-access": (
        CloudRule("IBM", "a kubeconfig requested (`containers-kubernetes.cluster.config`: with "
                  "`--admin` it holds cluster-admin certificates), Ingress secrets read",
                  r"^containers-kubernetes\.(cluster\.config|cluster-ingress-secret\.get)$"),
        CloudRule("Azure", "AKS credentials listed (`managedClusters/listClusterAdminCredential|"
                  "listClusterUserCredential|listClusterMonitoringUserCredential/action`, "
                  "`accessProfiles/listCredential/action`)",
                  "^" + _AKS + r"/(listClusterAdminCredential|listClusterUserCredential"
                  r"|listClusterMonitoringUserCredential|accessProfiles/listCredential)/action$"),
        CloudRule("AWS / GCP / IBM", "secrets read from the provider's secret store "
                  "(`secretsmanager:GetSecretValue`, `SecretManagerService.AccessSecretVersion`, "
                  "`secrets-manager.secret.read`); EKS and GKE log no distinct credential "
                  "download (`update-kubeconfig` / `get-credentials` only describe the cluster)",
                  r"(^|:)GetSecretValue$|\.SecretManagerService\.AccessSecretVersion$"
                  r"|^secrets-manager\.secret\.read$"),
    ),
}
"""Per section, the rules that put a service event in it (one rule holding is enough)."""


def _cloud(name: str) -> Callable[[pa.Table], Mask]:
    rules = CLOUD_RULES[name]

    def select(ev: pa.Table) -> Mask:
        return _any(*(r.mask(ev) for r in rules))

    select.__name__ = select.__qualname__ = name.replace("-", "_") + "_cloud"
    return select


@dataclass(frozen=True)
class Selection:
    """The rows of each source one report takes."""

    auditd: Callable[[pa.Table], Mask]
    k8s: Callable[[pa.Table], Mask]
    cloud: Callable[[pa.Table], Mask]


SELECTIONS: dict[str, Selection] = {
    "logins": Selection(logins_auditd, logins_k8s, _cloud("logins")),
    "failed-access": Selection(failed_access_auditd, failed_access_k8s, _cloud("failed-access")),
    "admin-actions": Selection(admin_auditd, admin_k8s, _cloud("admin-actions")),
    "identity-changes": Selection(identity_auditd, identity_k8s, _cloud("identity-changes")),
    "system-objects": Selection(system_auditd, system_k8s, _cloud("system-objects")),
    "sensitive-access": Selection(sensitive_auditd, sensitive_k8s, _cloud("sensitive-access")),
}
