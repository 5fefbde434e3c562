"""AWS CloudTrail records as cloud_events rows: the provider alone, without the reader.

Every fixture event is checked on every column against its golden file (rows as the provider
returns them, reviewed in the diff; ``AUDITLENS_UPDATE_GOLDEN=1`` rewrites them), and the
columns that carry a decision are also spelt out here by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _cloud_provider import CLOUD, COLUMNS, golden, provider_rows, values

from auditlens.cloud import aws
from auditlens.cloud.providers import PROVIDERS

DATA = CLOUD / "aws"


def rows(name: str) -> list[dict[str, Any]]:
    return provider_rows(aws, DATA / name)


@pytest.mark.parametrize("name", ["records.json", "events.jsonl", "eventbridge.json",
                                  "cloudwatch_subscription.json", "cloudwatch_export.json"])
def test_every_column_of_every_event_matches_the_golden_file(name: str) -> None:
    got = rows(name)
    assert got == golden(got, DATA / (name.partition(".")[0] + ".expected.json"))
    for row in got:
        assert list(row) == COLUMNS
        assert row["provider"] == "aws" and row["severity"] is None
        # CloudTrail has no summary line: the message is the reader's, of EKS logging only
        assert row["message"] is None or (row["action"].startswith("eks:")
                                          and row["message"].startswith("control-plane logs "))


# action, actor, actor_kind, acting_for, credential, target, cluster, outcome, reason_code
DECISIONS = {
    "records.json": [
        ("eks:CreateCluster", "alice", "user", None, "access-key", "prod-eu", "prod-eu", "success", None),
        ("eks:UpdateClusterConfig", "platform-admin/bob", "role", "bob@example.com", "assumed-role",
         "prod-eu", "prod-eu", "success", None),
        ("eks:AssociateAccessPolicy", "AWSReservedSSO_AdministratorAccess_0123456789abcdef/carol@example.com",
         "role", "carol@example.com", "assumed-role", "prod-eu", "prod-eu", "success", None),
        ("cloudtrail:StopLogging", "alice", "user", None, "access-key", "org-management", None, "success", None),
        ("cloudtrail:DeleteTrail", "platform-admin/bob", "role", "bob@example.com", "assumed-role",
         "org-management", None, "denied", "AccessDenied"),
        ("cloudtrail:DeleteTrail", "alice", "user", None, "access-key", "org-management", None, "success", None),
        ("eks:DeleteCluster", "platform-admin/bob", "role", "bob@example.com", "assumed-role",
         "prod-eu", "prod-eu", "success", None),
        ("ec2:DeleteNetworkInterface", "eks.amazonaws.com", "service", None, "aws-service", None, None,
         "failure", "Client.InvalidNetworkInterfaceID.NotFound"),
    ],
    "events.jsonl": [
        ("signin:ConsoleLogin", "alice", "user", None, "console-password", None, None, "success", None),
        ("signin:ConsoleLogin", "mallory", "user", None, "console-password", None, None, "failure", None),
        ("signin:ConsoleLogin", "root", "user", None, "console-password", None, None, "success", None),
        ("eks:UpdateClusterConfig", "dave", "user", None, "access-key", "prod-eu", "prod-eu", "denied",
         "AccessDeniedException"),
        ("sso:ListAccountRoles", "94482488-3041-7026-18f3-be45837cd0e4", "user",
         "94482488-3041-7026-18f3-be45837cd0e4", "identity-center", None, None, "success", None),
    ],
    "eventbridge.json": [
        ("eks:CreateAccessEntry", "ci-deployer/gh-actions-4711", "role", None, "assumed-role",
         "staging-eu", "staging-eu", "success", None),
    ],
}
# a trail sent to CloudWatch Logs: the same records as in records.json, as JSON text
DECISIONS["cloudwatch_subscription.json"] = [DECISIONS["records.json"][3], DECISIONS["records.json"][6]]
DECISIONS["cloudwatch_export.json"] = [DECISIONS["records.json"][4]]
DECIDED = ("action", "actor", "actor_kind", "acting_for", "credential", "target", "cluster",
           "outcome", "reason_code")


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_decided_columns(name: str) -> None:
    got = [tuple(row[column] for column in DECIDED) for row in rows(name)]
    assert got == DECISIONS[name]


def test_stop_logging_names_the_trail_and_keeps_its_arn() -> None:
    stop = rows("records.json")[3]
    assert stop["target_id"] == "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-management"
    assert stop["target_kind"] == "AWS::CloudTrail::Trail"
    assert stop["origin"] == "203.0.113.10" and stop["region"] == "eu-west-1"
    assert stop["account"] == "111122223333"
    assert stop["correlation_id"] == "6b2f5c1e-4a7d-4f0e-9a51-0d3c2b1a0e04"


def test_a_record_without_request_id_is_correlated_by_event_id() -> None:
    login = rows("events.jsonl")[0]
    assert login["correlation_id"] == "0f3e1d2c-5b6a-4978-8c1d-2e3f4a5b6c11"
    assert login["reason"] is None


def test_a_call_by_an_aws_service_keeps_the_service_as_origin() -> None:
    service = rows("records.json")[7]
    assert service["origin"] == "eks.amazonaws.com" and service["actor_id"] is None


FOREIGN = [
    CLOUD / "gcp" / "entries.jsonl", CLOUD / "gcp" / "export.json", CLOUD / "gcp" / "k8s_entry.json",
    CLOUD / "azure" / "records.json", CLOUD / "azure" / "records.jsonl", CLOUD / "azure" / "rest.json",
    CLOUD / "azure" / "kube_audit.json",
]
OTHERS = [
    # an S3 event notification: "Records" too, but not CloudTrail
    {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
                  "eventTime": "2026-11-30T08:00:00.000Z", "eventName": "ObjectCreated:Put",
                  "userIdentity": {"principalId": "AWS:AIDAZ4EXAMPLEALICE01"}, "s3": {}}]},
    # an EventBridge event that is not from CloudTrail
    {"version": "0", "detail-type": "EKS Cluster State Change", "source": "aws.eks", "detail": {}},
    # a Kubernetes API audit event (EKS control-plane logs are the Kubernetes reader's)
    {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a", "stage": "ResponseComplete",
     "verb": "get", "user": {"username": "kubernetes-admin",
                             "extra": {"arn": ["arn:aws:iam::111122223333:user/alice"]}}},
    # an IBM Cloud Activity Tracker event
    {"eventTime": "2026-11-30T08:00:00.00+0000", "action": "containers-kubernetes.cluster.delete",
     "outcome": "success", "initiator": {"id": "IBMid-1", "name": "a@example.com"}},
    [], "text", 3, None,
]


@pytest.mark.parametrize("path", FOREIGN, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_other_providers_files_are_not_claimed(path: Path) -> None:
    for value in values(path):
        assert aws.unwrap(value) is None


@pytest.mark.parametrize("value", OTHERS)
def test_other_values_are_not_claimed(value: Any) -> None:
    assert aws.unwrap(value) is None


def test_an_empty_trail_file_is_claimed_with_no_events() -> None:
    assert aws.unwrap({"Records": []}) == []


@pytest.mark.parametrize("value", values(DATA / "malformed.jsonl"),
                         ids=lambda value: value["eventID"][-2:])
def test_malformed_records_are_claimed_and_raise(value: Any) -> None:
    events = aws.unwrap(value)
    assert events is not None
    with pytest.raises((KeyError, TypeError, ValueError)):
        aws.row(next(iter(events)))


def test_registered() -> None:
    assert PROVIDERS["aws"] is aws.PROVIDER


def test_a_malformed_record_among_good_ones_is_left_to_row() -> None:
    (document,) = values(DATA / "records.json")
    document["Records"][0:0] = ["not an object", {"eventTime": "2026-11-30T08:00:00Z"}]
    events = list(aws.unwrap(document) or [])
    assert len(events) == 10
    for bad in events[:2]:
        with pytest.raises((KeyError, TypeError, ValueError)):
            aws.row(bad)


def test_a_one_event_value_is_handed_back_itself_so_the_line_stays_raw() -> None:
    value = values(DATA / "events.jsonl")[0]
    found = aws.unwrap(value)
    assert type(found) is tuple and len(found) == 1 and found[0] is value


def test_cloudwatch_logs_of_anything_else_are_not_claimed() -> None:
    k8s = json.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a", "verb": "get"})
    assert aws.unwrap({"logGroup": "/aws/eks/prod-eu/cluster", "logEvents": [{"message": k8s}]}) is None
    assert aws.unwrap({"events": [{"message": "I1130 08:00:00.000000 1 controller.go:1] up"}]}) is None
    assert aws.unwrap({"events": []}) is None


def test_a_cloudwatch_message_that_is_no_record_is_left_to_row() -> None:
    (payload,) = values(DATA / "cloudwatch_subscription.json")
    payload["logEvents"].append({"id": "x", "timestamp": 0, "message": '{"eventTime": "2026-11-30T1'})
    events = list(aws.unwrap(payload) or [])
    assert len(events) == 3 and events[2] == '{"eventTime": "2026-11-30T1'
    with pytest.raises(TypeError):
        aws.row(events[2])


@pytest.mark.parametrize(("logging", "message"), [
    ([{"types": ["api", "audit"], "enabled": False}], "control-plane logs disabled: api, audit"),
    ([{"types": ["audit"], "enabled": True}, {"types": ["scheduler"], "enabled": False}],
     "control-plane logs enabled: audit; disabled: scheduler"),
    ([], None),
    ("audit", None),  # not the documented shape: no claim
])
def test_eks_logging_requests_are_summed_up_in_the_message(logging: Any, message: str | None) -> None:
    from auditlens.cloud.aws import row

    event = {"eventTime": "2026-11-30T09:05:31Z", "eventSource": "eks.amazonaws.com",
             "eventName": "UpdateClusterConfig", "userIdentity": {"type": "IAMUser"},
             "requestParameters": {"name": "prod-eu", "logging": {"clusterLogging": logging}}}
    got = row(event)
    assert (got["cluster"], got["message"]) == ("prod-eu", message)
