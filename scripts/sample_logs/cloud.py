"""Write sample_logs/cloud/: IBM Cloud Activity Tracker events of the sample cluster "demo".

Written by hand from the documented field list of an Activity Tracker event (ibm-cloud-docs
``atracker`` event.md; the OpenShift actions of at-events-ref.md), not taken from a real account.
The times are set against the sample API log (sample_logs/k8s/, made by
scripts/make_k8s_samples.py), so that the three layers tell one story:

- 20:10:14 alice logs in to IBM Cloud with an API key, 20:10:21 she downloads the cluster's
  admin kubeconfig; her first API request is at 20:10:41 (from the same address);
- 20:11:08 alice deletes the cluster's audit webhook: the API log's last request before it
  started at 20:11:07 (her exec into a pod);
- 20:11:31 bob tries to download the admin kubeconfig: 403, denied;
- 20:12:41 alice sets the audit webhook again: the API log resumes at 20:12:42 (the completion of
  her exec, 95 s long);
- 20:13:30 bob reboots a worker.

Two more events (alice's cluster-rbac.apply at 20:12:50 and bob's kubeconfig download at
20:13:05) are in the legacy ``{"payload", "meta"}`` wrapper, the shape an older Activity Tracker
instance exported (accounts ran both while moving to Event Routing), so that reading the folder
shows both shapes; no event is in both files.

Run from anywhere: ``python scripts/sample_logs/cloud.py`` (deterministic: same bytes each run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "sample_logs" / "cloud"
ACCOUNT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLUSTER_ID = "cl7f2k9d0s3tq8a1vbn0"
CLUSTER = "demo"
REGION = "us-south"
CLUSTER_CRN = f"crn:v1:bluemix:public:containers-kubernetes:{REGION}:a/{ACCOUNT}:{CLUSTER_ID}::"
LOG_SOURCE = f"crn:v1:bluemix:public:containers-kubernetes:{REGION}:a/{ACCOUNT}:::"
WORKER = f"kube-{CLUSTER_ID}-{CLUSTER}-default-000001d2"
CLI = "IBM Cloud CLI 2.30.0 / linux"
OC_PLUGIN = "IBM Cloud CLI 2.30.0 / linux; container-service/1.0.650"
WEBHOOK = "https://audit-collector.demo.example:8443/api/v1/audit"

ALICE = {"id": "IBMid-270006B1QA", "name": "alice@example.com", "address": "192.0.2.10"}
BOB = {"id": "IBMid-270006B2QB", "name": "bob@example.com", "address": "198.51.100.23"}


def initiator(who: dict[str, str], credential: str, agent: str) -> dict[str, Any]:
    return {"id": who["id"], "name": who["name"], "typeURI": "service/security/account/user",
            "credential": {"type": credential},
            "host": {"address": who["address"], "addressType": "IPv4", "agent": agent}}


def cluster_target() -> dict[str, Any]:
    return {"id": CLUSTER_CRN, "name": CLUSTER, "typeURI": "containers-kubernetes/cluster"}


def event(time: str, action: str, who: dict[str, str], target: dict[str, Any], message: str,
          *, code: int = 200, severity: str = "normal", correlation: str,
          request: dict[str, Any] | None = None, credential: str = "token",
          agent: str = OC_PLUGIN, failure: str | None = None,
          log_source: str = LOG_SOURCE) -> dict[str, Any]:
    """One event, fields in the order of the documented field list."""
    ok = code < 400
    reason: dict[str, Any] = {"reasonCode": code, "reasonType": "OK" if ok else "Forbidden"}
    if failure:
        reason["reasonForFailure"] = failure
    ev: dict[str, Any] = {
        "eventTime": time,
        "action": action,
        "outcome": "success" if ok else "failure",
        "reason": reason,
        "severity": severity if ok else "critical",
        "initiator": initiator(who, credential, agent),
        "target": target,
        "observer": {"name": "ActivityTracker"},
        "correlationId": correlation,
        "dataEvent": False,
        "saveServiceCopy": True,
        "logSourceCRN": log_source,
        "message": message + ("" if ok else " -failure"),
    }
    if request is not None:
        ev["requestData"] = request
    return ev


def events() -> list[dict[str, Any]]:
    svc = "Red Hat OpenShift on IBM Cloud"
    return [
        event("2026-11-28T20:10:14.52+0000", "iam-identity.user-apikey.login", ALICE,
              {"id": f"crn:v1:bluemix:public:iam-identity::a/{ACCOUNT}::apikey:ApiKey-5d1c9e02-7f3a-4b8e-9c61-2e4f8a7b3d10",
               "name": "alice-cli", "typeURI": "iam-identity/user-apikey"},
              "IAM Identity Service: login user-apikey alice-cli", credential="apikey", agent=CLI,
              correlation="4d6f1b0e-93c2-4c11-8a57-6f0e2b9d1a01",
              log_source=f"crn:v1:bluemix:public:iam-identity:global:a/{ACCOUNT}:::"),
        event("2026-11-28T20:10:21.08+0000", "containers-kubernetes.cluster.config", ALICE,
              cluster_target(), f"{svc}: config cluster {CLUSTER}",
              correlation="a3f0c9e1-0a4b-4d52-b1e7-27c9e8f4d902",
              request={"cluster": CLUSTER, "admin": True, "network": False}),
        event("2026-11-28T20:11:08.27+0000", "containers-kubernetes.cluster-audit-webhook.delete",
              ALICE, cluster_target(), f"{svc}: delete cluster-audit-webhook {CLUSTER}",
              severity="warning", correlation="c81e2f47-5b90-4e3d-a6c2-90d1f3b7e503",
              request={"cluster": CLUSTER}),
        event("2026-11-28T20:11:31.70+0000", "containers-kubernetes.cluster.config", BOB,
              cluster_target(), f"{svc}: config cluster {CLUSTER}", code=403,
              failure="The user does not have the Administrator platform access role for the "
                      "cluster, which is required to get the admin configuration.",
              correlation="1b7d5a30-e2c4-4f69-8d0a-5c3e9f2b6a04",
              request={"cluster": CLUSTER, "admin": True, "network": False}),
        event("2026-11-28T20:12:41.30+0000", "containers-kubernetes.cluster-audit-webhook.update",
              ALICE, cluster_target(), f"{svc}: update cluster-audit-webhook {CLUSTER}",
              severity="warning", correlation="e6a9d2c5-7f18-4b0a-93e4-1d5c8b2f7a05",
              request={"cluster": CLUSTER, "remoteServer": WEBHOOK}),
        event("2026-11-28T20:13:30.15+0000", "containers-kubernetes.worker.reboot", BOB,
              {"id": f"crn:v1:bluemix:public:containers-kubernetes:{REGION}:a/{ACCOUNT}:{CLUSTER_ID}:worker:{WORKER}",
               "name": WORKER, "typeURI": "containers-kubernetes/worker"},
              f"{svc}: reboot worker {WORKER}", severity="warning",
              correlation="7c2e0b94-3d5f-4a81-b6e9-8f1a4c7d2e06",
              request={"cluster": CLUSTER, "workers": [WORKER], "skipMasterHealthcheck": False}),
    ]


def legacy_events() -> list[dict[str, Any]]:
    """The legacy export's wrapper: the event under ``payload``, LogDNA's own data in ``meta``."""
    svc = "Red Hat OpenShift on IBM Cloud"
    inner = [
        event("2026-11-28T20:12:50.64+0000", "containers-kubernetes.cluster-rbac.apply", ALICE,
              cluster_target(), f"{svc}: apply cluster-rbac {CLUSTER}",
              correlation="f4b8e1a7-2c6d-4e93-a05f-6b9d3c1e8a07", request={"cluster": CLUSTER}),
        event("2026-11-28T20:13:05.91+0000", "containers-kubernetes.cluster.config", BOB,
              cluster_target(), f"{svc}: config cluster {CLUSTER}",
              correlation="0d3a6c9f-8e2b-4f17-b4c0-3a7e5d9b1c08",
              request={"cluster": CLUSTER, "admin": False, "network": False}),
    ]
    return [{"payload": ev, "meta": {"logSourceCRN": LOG_SOURCE, "saveServiceCopy": True},
             "logSourceCRN": LOG_SOURCE} for ev in inner]


def write(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("w") as f:
        for value in lines:
            f.write(json.dumps(value, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write(OUT / "activity-tracker.jsonl", events())
    write(OUT / "activity-tracker-legacy.jsonl", legacy_events())
