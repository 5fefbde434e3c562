"""Writes the sample API audit logs of a small made-up cluster "demo" (run from anywhere).

The Events follow k8s.io/apiserver ``pkg/apis/audit/v1/types.go`` field for field, in the order
the API server writes them; people, hosts and addresses are neutral (alice, bob; documentation
IP ranges 192.0.2.0/24 and 198.51.100.0/24). The story, in time order:

- controllers and the scheduler at work (service accounts, system users, watches);
- alice (an admin, kubectl from 192.0.2.10) logs in through the OpenShift oauth-server, reads pods,
  reads a secret, lists secrets cluster-wide, creates a deployment (SCC and pod-security
  annotations on the pod), execs into a pod (ResponseStarted, then ResponseComplete);
- bob (a developer, 198.51.100.23) fails a login once, then logs in, is forbidden to read secrets
  and to delete a pod (403, decision=forbid);
- alice binds bob to "edit" in the shop namespace (RequestResponse), then, checking what bob can
  do, impersonates him (``kubectl --as=bob``); she also grants cluster-admin to bob;
- anonymous requests from 198.51.100.77: /version allowed, a secrets list forbidden;
- bob, now allowed, deletes the pod.

Regenerate: ``python scripts/make_k8s_samples.py`` (deterministic: same bytes every run).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1] / "sample_logs" / "k8s"
START = dt.datetime(2026, 11, 28, 20, 10, 0, tzinfo=dt.timezone.utc)  # beside the auditd samples
KUBECTL = "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625"
OC = "oc/4.15.0 (linux/amd64) kubernetes/62c4d45"
ALICE = {"username": "alice", "uid": "6a1f0b1c-2a64-4f3e-9a53-0c3b1d9b7e11",
         "groups": ["admins", "system:authenticated:oauth", "system:authenticated"],
         "extra": {"scopes.authorization.openshift.io": ["user:full"]}}
BOB = {"username": "bob", "uid": "0e9c4b8e-4d7e-4c55-8f0a-5a3f3b8d2c42",
       "groups": ["developers", "system:authenticated:oauth", "system:authenticated"],
       "extra": {"scopes.authorization.openshift.io": ["user:full"]}}
ANON = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def tick(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


def stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}Z"


def sa(ns: str, name: str, pod: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {
        "username": f"system:serviceaccount:{ns}:{name}",
        "uid": str(uuid.UUID(int=random.getrandbits(128), version=4)),
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"],
    }
    if pod:
        user["extra"] = {"authentication.kubernetes.io/pod-name": [pod],
                         "authentication.kubernetes.io/pod-uid":
                             [str(uuid.UUID(int=random.getrandbits(128), version=4))]}
    return user


def rbac_reason(kind: str, binding: str, role: str, subject: str) -> str:
    return f'RBAC: allowed by {kind} "{binding}" of ClusterRole "{role}" to {subject}'


def event(clock: Clock, *, user: dict[str, Any], verb: str, uri: str, ips: list[str], agent: str,
          ref: dict[str, Any] | None = None, code: int | None = 200, stage: str = "ResponseComplete",
          level: str = "Metadata", decision: str = "allow", reason: str = "",
          extra_ann: dict[str, str] | None = None, impersonated: dict[str, Any] | None = None,
          request: Any = None, response: Any = None, latency_ms: float = 4.0,
          audit_id: str | None = None, received: dt.datetime | None = None,
          status: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Event with the API server's field order (types.go)."""
    received = received or clock.tick(random.uniform(0.2, 9.0))
    ev: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level,
        "auditID": audit_id or str(uuid.UUID(int=random.getrandbits(128), version=4)),
        "stage": stage, "requestURI": uri, "verb": verb, "user": user,
    }
    if impersonated is not None:
        ev["impersonatedUser"] = impersonated
    ev["sourceIPs"] = ips
    ev["userAgent"] = agent
    if ref is not None:
        ev["objectRef"] = ref
    if status is not None:
        ev["responseStatus"] = status
    elif code is not None:
        ev["responseStatus"] = {"metadata": {}, "code": code}
    if request is not None:
        ev["requestObject"] = request
    if response is not None:
        ev["responseObject"] = response
    ev["requestReceivedTimestamp"] = stamp(received)
    ev["stageTimestamp"] = stamp(received + dt.timedelta(milliseconds=latency_ms))
    if stage != "RequestReceived":
        ann = {"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": reason}
        ann.update(extra_ann or {})
        ev["annotations"] = ann
    return ev


def forbidden(user: str, verb: str, resource: str, ns: str | None, group: str = "") -> dict[str, Any]:
    where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
    res = f"{resource}.{group}" if group else resource
    return {"metadata": {}, "status": "Failure",
            "message": f'{res} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
                       f'in API group "{group}"{where}',
            "reason": "Forbidden", "details": {"kind": resource}, "code": 403}


def apiserver_events() -> list[dict[str, Any]]:
    clock = Clock()
    out: list[dict[str, Any]] = []
    add = out.append
    node_ip, cp_ip = "192.0.2.31", "192.0.2.2"
    rs_ctrl = sa("kube-system", "replicaset-controller")
    prom = sa("monitoring", "prometheus-k8s", "prometheus-k8s-0")

    # background: scheduler lease renewals, a kubelet reading its node, prometheus watching pods
    for _ in range(4):
        add(event(clock, user={"username": "system:kube-scheduler", "groups": ["system:authenticated"]},
                  verb="update",
                  uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
                  ips=[cp_ip], agent="kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election",
                  ref={"resource": "leases", "namespace": "kube-system", "name": "kube-scheduler",
                       "apiGroup": "coordination.k8s.io", "apiVersion": "v1"},
                  reason=rbac_reason("ClusterRoleBinding", "system:kube-scheduler",
                                     "system:kube-scheduler", 'User "system:kube-scheduler"')))
        add(event(clock, user={"username": "system:node:worker-1", "groups": ["system:nodes", "system:authenticated"]},
                  verb="get", uri="/api/v1/nodes/worker-1?resourceVersion=0&timeout=10s",
                  ips=[node_ip], agent="kubelet/v1.29.3 (linux/amd64) kubernetes/6813625",
                  ref={"resource": "nodes", "name": "worker-1", "apiVersion": "v1"}))
    watch_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
    watch_at = clock.tick(1.0)
    for stage in ("RequestReceived", "ResponseStarted"):
        add(event(clock, user=prom, verb="watch", received=watch_at, audit_id=watch_id, stage=stage,
                  uri="/api/v1/pods?allowWatchBookmarks=true&resourceVersion=48211&timeout=9m12s&timeoutSeconds=552&watch=true",
                  ips=["192.0.2.57"], agent="prometheus/2.48.0", code=None if stage == "RequestReceived" else 200,
                  ref={"resource": "pods", "apiVersion": "v1"}, latency_ms=0.6,
                  reason=rbac_reason("ClusterRoleBinding", "prometheus-k8s", "prometheus-k8s",
                                     'ServiceAccount "prometheus-k8s/monitoring"')))

    # alice reads around, reads a secret, lists secrets everywhere
    add(event(clock, user=ALICE, verb="list", uri="/api/v1/namespaces/shop/pods?limit=500",
              ips=["192.0.2.10"], agent=KUBECTL, ref={"resource": "pods", "namespace": "shop", "apiVersion": "v1"},
              reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))
    add(event(clock, user=ALICE, verb="get", uri="/api/v1/namespaces/shop/secrets/db-password",
              ips=["192.0.2.10"], agent=KUBECTL,
              ref={"resource": "secrets", "namespace": "shop", "name": "db-password", "apiVersion": "v1"},
              reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))
    add(event(clock, user=ALICE, verb="list", uri="/api/v1/secrets?limit=500",
              ips=["192.0.2.10"], agent=KUBECTL, ref={"resource": "secrets", "apiVersion": "v1"},
              reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))

    # alice creates a deployment; the replicaset controller creates the pod (SCC + pod security)
    deploy = {"kind": "Deployment", "apiVersion": "apps/v1",
              "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": None},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "registry.example/shop/web:1.4"}]}}}}
    add(event(clock, user=ALICE, verb="create", uri="/apis/apps/v1/namespaces/shop/deployments?fieldManager=kubectl-client-side-apply",
              ips=["192.0.2.10"], agent=KUBECTL, level="Request", request=deploy, code=201,
              ref={"resource": "deployments", "namespace": "shop", "name": "web", "apiGroup": "apps", "apiVersion": "v1"},
              reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))
    add(event(clock, user=rs_ctrl, verb="create", uri="/api/v1/namespaces/shop/pods",
              ips=[cp_ip], agent="kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:replicaset-controller",
              ref={"resource": "pods", "namespace": "shop", "name": "web-7c9d8b5f6d-x2x9q", "apiVersion": "v1"}, code=201,
              reason=rbac_reason("ClusterRoleBinding", "system:controller:replicaset-controller",
                                 "system:controller:replicaset-controller", 'ServiceAccount "replicaset-controller/kube-system"'),
              extra_ann={"pod-security.kubernetes.io/enforce-policy": "restricted:latest",
                         "securitycontextconstraints.admission.openshift.io/chosen": "restricted-v2"}))

    # alice execs into the pod: logged when the stream starts and when it ends
    exec_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
    exec_at = clock.tick(12.0)
    exec_ref = {"resource": "pods", "namespace": "shop", "name": "web-7c9d8b5f6d-x2x9q",
                "apiVersion": "v1", "subresource": "exec"}
    exec_uri = "/api/v1/namespaces/shop/pods/web-7c9d8b5f6d-x2x9q/exec?command=sh&container=web&stdin=true&stdout=true&tty=true"
    for stage, ms in (("ResponseStarted", 21.0), ("ResponseComplete", 95_412.0)):
        add(event(clock, user=ALICE, verb="create", uri=exec_uri, ips=["192.0.2.10"], agent=KUBECTL,
                  ref=exec_ref, code=101, stage=stage, received=exec_at, audit_id=exec_id, latency_ms=ms,
                  level="Request",
                  reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))
    clock.tick(96.0)

    # bob is forbidden twice
    add(event(clock, user=BOB, verb="get", uri="/api/v1/namespaces/payments/secrets/stripe-api-key",
              ips=["198.51.100.23"], agent=KUBECTL, decision="forbid",
              ref={"resource": "secrets", "namespace": "payments", "name": "stripe-api-key", "apiVersion": "v1"},
              status=forbidden("bob", "get", "secrets", "payments")))
    add(event(clock, user=BOB, verb="delete", uri="/api/v1/namespaces/shop/pods/web-7c9d8b5f6d-x2x9q",
              ips=["198.51.100.23"], agent=KUBECTL, decision="forbid", level="Request",
              request={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
              ref={"resource": "pods", "namespace": "shop", "name": "web-7c9d8b5f6d-x2x9q", "apiVersion": "v1"},
              status=forbidden("bob", "delete", "pods", "shop")))

    # alice grants bob "edit" in shop (RBAC change, RequestResponse), checks as bob, then
    # grants cluster-admin to bob
    rb_uid = str(uuid.UUID(int=random.getrandbits(128), version=4))
    rolebinding = {"kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
                   "metadata": {"name": "bob-edit", "namespace": "shop"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}
    created = json.loads(json.dumps(rolebinding))
    created["metadata"].update({"uid": rb_uid, "resourceVersion": "48377",
                                "creationTimestamp": stamp(clock.now + dt.timedelta(seconds=3))[:19] + "Z"})
    add(event(clock, user=ALICE, verb="create",
              uri="/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings?fieldManager=kubectl-create&fieldValidation=Strict",
              ips=["192.0.2.10"], agent=KUBECTL, level="RequestResponse", request=rolebinding, response=created,
              code=201, ref={"resource": "rolebindings", "namespace": "shop", "name": "bob-edit",
                             "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
              reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))
    add(event(clock, user=ALICE, impersonated={"username": "bob", "groups": ["system:authenticated"]},
              verb="list", uri="/api/v1/namespaces/shop/pods?limit=500", ips=["192.0.2.10"], agent=KUBECTL,
              ref={"resource": "pods", "namespace": "shop", "apiVersion": "v1"},
              reason='RBAC: allowed by RoleBinding "bob-edit/shop" of ClusterRole "edit" to User "bob"'))
    add(event(clock, user=ALICE, impersonated={"username": "bob", "groups": ["system:authenticated"]},
              verb="get", uri="/api/v1/namespaces/kube-system/secrets", ips=["192.0.2.10"], agent=KUBECTL,
              ref={"resource": "secrets", "namespace": "kube-system", "apiVersion": "v1"}, decision="forbid",
              status=forbidden("bob", "list", "secrets", "kube-system")))
    crb = {"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
           "metadata": {"name": "bob-cluster-admin"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
           "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}
    add(event(clock, user=ALICE, verb="create",
              uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create&fieldValidation=Strict",
              ips=["192.0.2.10"], agent=KUBECTL, level="RequestResponse", request=crb,
              response={**crb, "metadata": {"name": "bob-cluster-admin", "resourceVersion": "48391",
                                            "uid": str(uuid.UUID(int=random.getrandbits(128), version=4))}},
              code=201, ref={"resource": "clusterrolebindings", "name": "bob-cluster-admin",
                             "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
              reason=rbac_reason("ClusterRoleBinding", "admins-cluster-admin", "cluster-admin", 'Group "admins"')))

    # anonymous requests
    add(event(clock, user=ANON, verb="get", uri="/version", ips=["198.51.100.77"], agent="curl/8.5.0",
              reason=rbac_reason("ClusterRoleBinding", "system:public-info-viewer", "system:public-info-viewer",
                                 'Group "system:unauthenticated"')))
    add(event(clock, user=ANON, verb="list", uri="/api/v1/namespaces/kube-system/secrets", ips=["198.51.100.77"],
              agent="curl/8.5.0", decision="forbid", ref={"resource": "secrets", "namespace": "kube-system", "apiVersion": "v1"},
              status=forbidden("system:anonymous", "list", "secrets", "kube-system")))

    # bob, now allowed, deletes the pod (RequestReceived and ResponseComplete, as the default
    # Kubernetes policy logs both)
    del_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
    del_at = clock.tick(30.0)
    for stage in ("RequestReceived", "ResponseComplete"):
        add(event(clock, user=BOB, verb="delete", uri="/api/v1/namespaces/shop/pods/web-7c9d8b5f6d-x2x9q",
                  ips=["198.51.100.23"], agent=KUBECTL, stage=stage, received=del_at, audit_id=del_id,
                  code=None if stage == "RequestReceived" else 200, latency_ms=0.2 if stage == "RequestReceived" else 18.0,
                  ref={"resource": "pods", "namespace": "shop", "name": "web-7c9d8b5f6d-x2x9q", "apiVersion": "v1"},
                  reason='RBAC: allowed by RoleBinding "bob-edit/shop" of ClusterRole "edit" to User "bob"'))

    # background again, to the end of the period
    for _ in range(3):
        add(event(clock, user=prom, verb="list", uri="/api/v1/namespaces/shop/pods",
                  ips=["192.0.2.57"], agent="prometheus/2.48.0", ref={"resource": "pods", "namespace": "shop", "apiVersion": "v1"},
                  reason=rbac_reason("ClusterRoleBinding", "prometheus-k8s", "prometheus-k8s",
                                     'ServiceAccount "prometheus-k8s/monitoring"')))
        add(event(clock, user={"username": "system:kube-scheduler", "groups": ["system:authenticated"]},
                  verb="update", uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
                  ips=[cp_ip], agent="kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election",
                  ref={"resource": "leases", "namespace": "kube-system", "name": "kube-scheduler",
                       "apiGroup": "coordination.k8s.io", "apiVersion": "v1"},
                  reason=rbac_reason("ClusterRoleBinding", "system:kube-scheduler", "system:kube-scheduler",
                                     'User "system:kube-scheduler"')))
    out.sort(key=lambda e: e["stageTimestamp"])
    return out


def oauth_events() -> list[dict[str, Any]]:
    """oauth-server logins: the user is anonymous, the person is in the annotations."""
    clock = Clock()
    clock.tick(40.0)
    out = []
    for who, ip, decision, code in (("alice", "192.0.2.10", "allow", 302),
                                    ("bob", "198.51.100.23", "deny", 401),
                                    ("bob", "198.51.100.23", "allow", 302)):
        ev = event(clock, user=ANON, verb="get",
                   uri="/oauth/authorize?client_id=openshift-challenging-client&code_challenge_method=S256&redirect_uri=https%3A%2F%2Foauth-openshift.apps.demo.example%2Foauth%2Ftoken%2Fimplicit&response_type=code",
                   ips=[ip, "192.0.2.2"], agent=OC, decision="allow",
                   reason='RBAC: allowed by ClusterRoleBinding "system:openshift:public-info-viewer" of ClusterRole "system:openshift:public-info-viewer" to Group "system:unauthenticated"',
                   extra_ann={"authentication.openshift.io/decision": decision,
                              "authentication.openshift.io/username": who},
                   code=code, latency_ms=62.0)
        out.append(ev)
        clock.tick(50.0)
    return out


def write(path: Path, events: list[dict[str, Any]]) -> None:
    with path.open("w") as f:
        for ev in events:
            f.write(json.dumps(ev, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    random.seed(20240506)
    write(HERE / "kube-apiserver-audit.log", apiserver_events())
    write(HERE / "oauth-server-audit.log", oauth_events())
