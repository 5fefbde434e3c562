"""The IBM Cloud Activity Tracker provider: wrappers, CRN parsing and the column mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditlens.cloud import ibm
from auditlens.cloud.providers import PROVIDERS

DATA = Path(__file__).parent / "data" / "cloud"
EVENTS = [json.loads(line) for line in (DATA / "ibm-events.jsonl").read_text().splitlines()]
CLUSTER_ID = "c8k2p4qf0vd3h1m7ls2g"


def by_action(action: str) -> dict:
    return next(e for e in EVENTS if e["action"] == action)


def test_registered() -> None:
    assert PROVIDERS["ibm"] is ibm.IBM


@pytest.mark.parametrize(
    ("crn", "parts"),
    [
        (f"crn:v1:bluemix:public:containers-kubernetes:eu-de:a/abc123:{CLUSTER_ID}::",
         ("containers-kubernetes", "eu-de", "abc123")),
        ("crn:v1:bluemix:public:iam-identity::a/abc123::apikey:ApiKey-1",
         ("iam-identity", None, "abc123")),
        ("crn:v1:bluemix:public:containers-kubernetes", (None, None, None)),
        ("IBMid-6610003QKV", (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_crn_parts(crn: str | None, parts: tuple) -> None:
    assert ibm.crn_parts(crn) == parts


def test_plain_event_row() -> None:
    row = ibm.row(by_action("containers-kubernetes.cluster.create"))
    assert row["time"] == "2026-12-01T08:14:03.52+0000"  # as logged: the reader parses times
    assert row["provider"] == "ibm"
    assert row["service"] == "containers-kubernetes"
    assert (row["account"], row["region"]) == ("4f2a9c7e1b8d4e6fa0c3b5d7e9f1a2c4", "eu-de")
    assert (row["actor"], row["actor_id"], row["actor_kind"]) == (
        "maria.keller@example.com", "IBMid-6610003QKV", "user")
    assert row["acting_for"] is None
    assert row["credential"] == "token"
    assert (row["target"], row["target_kind"]) == ("prod-eu-ocp", "containers-kubernetes/cluster")
    assert row["target_id"].startswith("crn:v1:bluemix:public:containers-kubernetes:eu-de:")
    assert row["cluster"] == "prod-eu-ocp"
    assert (row["outcome"], row["reason_code"], row["severity"]) == ("success", "200", "normal")
    assert row["origin"] == "203.0.113.24"
    assert row["user_agent"].startswith("IBM Cloud CLI")
    assert row["correlation_id"]


def test_denied_for_403() -> None:
    row = ibm.row(by_action("containers-kubernetes.cluster.delete"))
    assert (row["outcome"], row["reason_code"]) == ("denied", "403")
    assert row["reason"].startswith("The user does not have the Administrator")
    assert row["severity"] == "critical"


def test_failure_other_than_401_403_stays_failure() -> None:
    event = {**EVENTS[0], "outcome": "failure", "reason": {"reasonCode": 500}}
    assert ibm.row(event)["outcome"] == "failure"


def test_pending() -> None:
    assert ibm.row(by_action("containers-kubernetes.worker.replace"))["outcome"] == "pending"


def test_service_id_acting_for_a_person() -> None:
    row = ibm.row(by_action("containers-kubernetes.cluster-audit-webhook.delete"))
    assert (row["actor"], row["actor_kind"], row["credential"]) == ("ci-deployer", "service-id",
                                                                     "apikey")
    assert row["acting_for"] == "jonas.brandt@example.com"
    assert row["cluster"] == CLUSTER_ID  # named by the request


@pytest.mark.parametrize("action", ["containers-kubernetes.worker.reboot",
                                    "containers-kubernetes.worker.replace"])
def test_worker_actions_name_their_cluster(action: str) -> None:
    assert ibm.row(by_action(action))["cluster"] == CLUSTER_ID


def test_cluster_from_the_crn_when_the_request_does_not_say() -> None:
    event = {**by_action("containers-kubernetes.worker.reboot")}
    del event["requestData"]
    assert ibm.row(event)["cluster"] == CLUSTER_ID


def test_request_data_as_json_text() -> None:
    event = by_action("containers-kubernetes.worker.replace")
    assert isinstance(event["requestData"], str)
    assert ibm.row(event)["cluster"] == CLUSTER_ID


def test_api_key_login_is_not_about_a_cluster() -> None:
    row = ibm.row(by_action("iam-identity.user-apikey.login"))
    assert (row["service"], row["credential"], row["cluster"]) == ("iam-identity", "apikey", None)
    assert row["region"] is None  # a global service's CRN names no region


@pytest.mark.parametrize(
    ("type_uri", "kind"),
    [("service/security/account/user", "user"), ("service/security/account/serviceid", "service-id"),
     ("service/security/clientid", "service"), ("service/security/account/trustedprofile",
                                               "trusted-profile"),
     ("service/other", "service"), ("nonsense", "unknown")],
)
def test_actor_kind(type_uri: str, kind: str) -> None:
    event = {**EVENTS[0], "initiator": {**EVENTS[0]["initiator"], "typeURI": type_uri}}
    assert ibm.row(event)["actor_kind"] == kind


def test_unwrap_forms() -> None:
    event = EVENTS[0]
    assert ibm.unwrap(event) == (event,)
    assert ibm.unwrap({"payload": event, "meta": {}, "logSourceCRN": "crn:v1:..."}) == (event,)
    assert ibm.unwrap({"kind": "Event", "auditID": "x"}) is None
    assert ibm.unwrap([event]) is None  # arrays are the reader's
    assert ibm.unwrap("text") is None


def test_logdna_source_wins_over_line() -> None:
    """``_source``'s fields (``o_`` prefixes removed) are the event; ``_line`` only when they
    are missing."""
    record = json.loads((DATA / "logdna-archive.json").read_text().splitlines()[0])
    (event,) = ibm.unwrap(record)
    assert event["initiator"]["host"]["address"] == "203.0.113.24"
    assert not any(k.startswith("_") for k in event)
    changed = {**record["_source"], "action": "containers-kubernetes.cluster.get"}
    (event,) = ibm.unwrap({"_source": changed})
    assert event["action"] == "containers-kubernetes.cluster.get"  # not the _line's action
    only_line = {"_source": {"_line": record["_source"]["_line"], "_app": "at"}}
    (event,) = ibm.unwrap(only_line)
    assert event["action"] == "containers-kubernetes.cluster-audit-webhook.update"
    assert ibm.unwrap({"_source": {"_line": "plain text", "_app": "x"}}) is None


@pytest.mark.parametrize(
    ("change", "error"),
    [({"initiator": "someone"}, TypeError), ({"action": 5}, TypeError),
     ({"target": ["x"]}, TypeError)],
)
def test_malformed_events_raise(change: dict, error: type) -> None:
    with pytest.raises(error):
        ibm.row({**EVENTS[0], **change})
