"""Writes the IBM fixtures of this folder (python tests/data/make_cloud_fixtures.py); written from the documented field lists."""

import json
import os
import zlib

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cloud"))
ACCT = "4f2a9c7e1b8d4e6fa0c3b5d7e9f1a2c4"
CL = "c8k2p4qf0vd3h1m7ls2g"


def crn(kind, rest=""):
    return f"crn:v1:bluemix:public:containers-kubernetes:eu-de:a/{ACCT}:{CL}:{kind}:{rest}"


def ev(
    t,
    action,
    outcome="success",
    code=200,
    who=("IBMid-6610003QKV", "maria.keller@example.com", "service/security/account/user"),
    cred="token",
    target=None,
    sev="normal",
    msg="",
    req=None,
    ip="203.0.113.24",
    agent="IBM Cloud CLI 2.24.0 / darwin",
    failure=None,
    authn=None,
):
    e = {
        "eventTime": t,
        "action": action,
        "outcome": outcome,
        "reason": {"reasonCode": code, "reasonType": "OK" if code < 400 else "Forbidden"},
        "severity": sev,
        "initiator": {
            "id": who[0],
            "name": who[1],
            "typeURI": who[2],
            "credential": {"type": cred},
            "host": {"address": ip, "addressType": "IPv4", "agent": agent},
        },
        "target": target
        or {
            "id": crn("cluster"),
            "name": "prod-eu-ocp",
            "typeURI": "containers-kubernetes/cluster",
        },
        "observer": {"name": "ActivityTracker"},
        "correlationId": f"b7e1c5a2-{zlib.crc32((t + action).encode()):012d}",
        "dataEvent": False,
        "saveServiceCopy": True,
        "logSourceCRN": f"crn:v1:bluemix:public:containers-kubernetes:eu-de:a/{ACCT}::",
        "message": msg,
    }
    if failure:
        e["reason"]["reasonForFailure"] = failure
    if req is not None:
        e["requestData"] = req
    if authn:
        e["initiator"]["authnName"], e["initiator"]["authnId"] = authn
    return e


W = {
    "id": crn("worker", "kube-c8k2p4qf0vd3h1m7ls2g-prodeuocp-default-00000217"),
    "name": "kube-c8k2p4qf0vd3h1m7ls2g-prodeuocp-default-00000217",
    "typeURI": "containers-kubernetes/worker",
}
WH = {
    "id": crn("cluster-audit-webhook"),
    "name": "prod-eu-ocp",
    "typeURI": "containers-kubernetes/cluster-audit-webhook",
}
events = [
    ev(
        "2026-12-01T08:14:03.52+0000",
        "containers-kubernetes.cluster.create",
        msg="Kubernetes Service: create cluster prod-eu-ocp",
        req={
            "name": "prod-eu-ocp",
            "kubeVersion": "4.16_openshift",
            "zone": "fra02",
            "workerNum": 3,
        },
    ),
    ev(
        "2026-12-01T09:02:41.3+0000",
        "containers-kubernetes.cluster.config",
        msg="Kubernetes Service: get admin configuration for cluster prod-eu-ocp",
        req=json.dumps({"admin": True, "network": False}),
    ),
    ev(
        "2026-12-02T13:40:12.118+0000",
        "containers-kubernetes.worker.reboot",
        target=W,
        msg="Kubernetes Service: reboot worker",
        req={"cluster": CL, "workers": [W["name"]]},
    ),
    ev(
        "2026-12-02T14:05:59.9+0000",
        "containers-kubernetes.worker.replace",
        target=W,
        outcome="pending",
        code=202,
        msg="Kubernetes Service: replace worker",
        req=json.dumps({"cluster": CL, "update": False}),
    ),
    ev(
        "2026-12-03T22:17:30.44+0000",
        "containers-kubernetes.cluster-audit-webhook.update",
        target=WH,
        sev="warning",
        msg="Kubernetes Service: update audit webhook for cluster prod-eu-ocp",
        req={"cluster": CL, "remoteServer": "https://10.180.12.5:8080/audit"},
    ),
    ev(
        "2026-12-04T02:51:07.06+0000",
        "containers-kubernetes.cluster-audit-webhook.delete",
        target=WH,
        sev="critical",
        who=(
            "iam-ServiceId-9c1b7f4e-2d3a-4b5c-8e6f-0a1b2c3d4e5f",
            "ci-deployer",
            "service/security/account/serviceid",
        ),
        cred="apikey",
        ip="198.51.100.77",
        agent="terraform-provider-ibm/1.71.0",
        msg="Kubernetes Service: delete audit webhook for cluster prod-eu-ocp",
        req={"cluster": CL},
        authn=("jonas.brandt@example.com", "IBMid-550007ABCD"),
    ),
    ev(
        "2026-12-04T03:00:00.7+0000",
        "iam-identity.user-apikey.login",
        target={
            "id": f"crn:v1:bluemix:public:iam-identity::a/{ACCT}::apikey:ApiKey-7e1d2c3b-4a5f-6e7d-8c9b-0a1f2e3d4c5b",
            "name": "ops-key",
            "typeURI": "iam-identity/apikey",
        },
        cred="apikey",
        msg="IAM Identity Service: login user-apikey ops-key",
        agent="Go-http-client/1.1",
    ),
    ev(
        "2026-12-04T03:02:15.2+0000",
        "containers-kubernetes.cluster.delete",
        outcome="failure",
        code=403,
        sev="critical",
        who=("IBMid-6620008XYZ", "temp.contractor@example.org", "service/security/account/user"),
        ip="192.0.2.201",
        failure="The user does not have the Administrator platform role on the cluster.",
        msg="Kubernetes Service: delete cluster prod-eu-ocp -failure",
    ),
]
with open("ibm-events.jsonl", "w") as f:
    for e in events:
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
with open("ibm-export.json", "w") as f:  # a UI export: a pretty-printed top-level array
    json.dump(events[:3], f, indent=2)
    f.write("\n")
with open("ibm-legacy.jsonl", "w") as f:
    for e in events[3:6]:
        f.write(
            json.dumps(
                {
                    "payload": e,
                    "meta": {"logSourceCRN": e["logSourceCRN"], "saveServiceCopy": True},
                    "logSourceCRN": e["logSourceCRN"],
                }
            )
            + "\n"
        )


def oprefix(v):
    if isinstance(v, dict):
        return {
            (("o_" + k) if isinstance(x, dict) else k): oprefix(x)
            for k, x in v.items()
            for x in [v[k]]
        }
    if isinstance(v, list):
        return [oprefix(x) for x in v]
    return v


with open("logdna-archive.json", "w") as f:  # a LogDNA archive record per line
    for i, e in enumerate(events[4:8]):
        src = oprefix(e)
        src["_line"] = json.dumps(e)
        src["_app"] = "activity-tracker"
        src["_host"] = "eu-de"
        src["_ts"] = 1764806400000 + i
        f.write(json.dumps({"_index": "logdna", "_id": f"17648{i:05d}", "_source": src}) + "\n")
with open("event-routing.log", "w") as f:  # Event Routing → COS object, one event per line
    for e in events:
        f.write(json.dumps(e) + "\n")
bad = [
    json.dumps(events[0])[:150],  # a line cut in half
    json.dumps({**events[1], "initiator": "maria.keller@example.com"}),  # wrong type
    json.dumps({k: v for k, v in events[2].items() if k != "eventTime"}),  # no eventTime
    json.dumps(
        {"level": "info", "msg": "operator reconciled", "ts": "2026-12-04T03:00:00Z"}
    ),  # no provider
    json.dumps({**events[3], "eventTime": "yesterday at noon"}),  # unreadable time
    json.dumps(events[5]),  # one good one
]
with open("ibm-malformed.jsonl", "w") as f:
    f.write("\n".join(bad) + "\n\n")
