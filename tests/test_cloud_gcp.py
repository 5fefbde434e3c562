"""GCP Cloud Audit Logs entries as cloud_events rows: the provider alone, without the reader.

Every fixture entry is checked on every column against its golden file (rows as the provider
returns them, reviewed in the diff; ``AUDITLENS_UPDATE_GOLDEN=1`` rewrites them), and the
columns that carry a decision are also spelt out here by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _cloud_provider import CLOUD, COLUMNS, golden, values

from auditlens.cloud import gcp
from auditlens.cloud.providers import PROVIDERS

DATA = CLOUD / "gcp"


def rows(name: str) -> list[dict[str, Any]]:
    """The provider's rows of a fixture's service entries; its GKE entries (k8s.io) must be
    refused with the reason a reject will give."""
    service = []
    for value in values(DATA / name):
        events = gcp.unwrap(value)
        assert events is not None, f"{name}: a value is not claimed"
        for event in events:
            if event["protoPayload"].get("serviceName") == "k8s.io":
                with pytest.raises(ValueError, match="GKE Kubernetes API audit entry"):
                    gcp.row(event)
            else:
                service.append(event)
    return [gcp.row(event) for event in service]


@pytest.mark.parametrize("name", ["entries.jsonl", "export.json"])
def test_every_column_of_every_entry_matches_the_golden_file(name: str) -> None:
    got = rows(name)
    assert got == golden(got, DATA / (name.partition(".")[0] + ".expected.json"))
    for row in got:
        assert list(row) == COLUMNS
        assert row["provider"] == "gcp" and row["message"] is None


# action (method), actor, actor_kind, acting_for, credential, target, cluster, outcome, reason_code
CM = "google.container.v1.ClusterManager."
SINKS = "google.logging.v2.ConfigServiceV2."
DECISIONS = {
    "entries.jsonl": [
        (CM + "CreateCluster", "alice@example.com", "user", None, None, "prod-eu", "prod-eu", "success", None),
        (CM + "CreateCluster", "alice@example.com", "user", None, None, "prod-eu", "prod-eu", "success", None),
        (CM + "UpdateCluster", "terraform@acme-prod.iam.gserviceaccount.com", "service-id",
         "bob@example.com", "impersonation", "prod-eu", "prod-eu", "success", None),
        ("SetIamPolicy", "alice@example.com", "user", None, None, "acme-prod", None, "success", None),
        (SINKS + "UpdateSink", "alice@example.com", "user", None, None, "audit-to-siem", None, "success", None),
        (SINKS + "DeleteSink", "ci-admin@acme-prod.iam.gserviceaccount.com", "service-id", None,
         "service-account-key", "audit-to-siem", None, "success", None),
        (CM + "DeleteCluster", "dave@example.com", "user", None, None, "prod-eu", "prod-eu", "denied", "7"),
        (CM + "DeleteCluster", "bob@example.com", "user", None, None, "legacy-zonal", "legacy-zonal",
         "success", None),
    ],
    "export.json": [  # the k8s.io entry of this export is refused (see rows)
        (CM + "SetNodePoolSize", "alice@example.com", "user", None, "oauth", "default-pool", "prod-eu",
         "success", None),
        ("google.iam.admin.v1.CreateServiceAccountKey", None, "unknown", None, None,
         "ci-admin@acme-prod.iam.gserviceaccount.com", None, "denied", "16"),
        (SINKS + "DeleteSink", "security-admin@example.com", "user", None, None, "org-audit", None,
         "success", None),
    ],
}
DECIDED = ("action", "actor", "actor_kind", "acting_for", "credential", "target", "cluster",
           "outcome", "reason_code")


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_decided_columns(name: str) -> None:
    got = [tuple(row[column] for column in DECIDED) for row in rows(name)]
    assert got == DECISIONS[name]


def test_account_region_and_correlation() -> None:
    create, done, *_ = rows("entries.jsonl")
    assert (create["account"], create["region"]) == ("acme-prod", "europe-west1")
    # both halves of a long-running operation share the operation id
    assert create["correlation_id"] == done["correlation_id"] == "operation-1764493012345-5f0a1b2c"
    assert create["target_kind"] == "gke_cluster" and create["severity"] == "NOTICE"
    assert create["actor_id"] == "user:alice@example.com" and done["actor_id"] == "alice@example.com"
    org_sink = rows("export.json")[-1]
    assert org_sink["account"] == "organizations/987654321098"  # from logName, no project label
    assert org_sink["correlation_id"] == "aa11bb22-0000-4000-8000-000000000004"  # insertId


def test_denied_by_authorization_info_alone() -> None:
    entry = values(DATA / "entries.jsonl")[3]
    entry["protoPayload"]["authorizationInfo"][0]["granted"] = False
    assert gcp.row(entry)["outcome"] == "denied"
    entry["protoPayload"]["status"] = {"code": 9, "message": "FAILED_PRECONDITION"}
    entry["protoPayload"]["authorizationInfo"][0]["granted"] = True
    assert (gcp.row(entry)["outcome"], gcp.row(entry)["reason_code"]) == ("failure", "9")


def test_gke_kubernetes_entries_are_left_to_the_kubernetes_reader() -> None:
    """A list of GKE entries alone is not ours; one in a file of service events is refused
    with a reason (the reader's reject), not dropped unaccounted."""
    (entry,) = values(DATA / "k8s_entry.json")
    assert gcp.unwrap({"entries": [entry]}) is None
    assert gcp.unwrap(entry) == (entry,)
    with pytest.raises(ValueError, match="the Kubernetes reader reads these"):
        gcp.row(entry)


FOREIGN = [
    CLOUD / "aws" / "records.json", CLOUD / "aws" / "events.jsonl", CLOUD / "aws" / "eventbridge.json",
    CLOUD / "azure" / "records.json", CLOUD / "azure" / "records.jsonl", CLOUD / "azure" / "rest.json",
    CLOUD / "azure" / "kube_audit.json",
]
OTHERS = [
    # a LogEntry that is not an audit log
    {"textPayload": "started", "resource": {"type": "gke_cluster"}, "timestamp": "2026-11-30T08:00:00Z"},
    {"protoPayload": {"@type": "type.googleapis.com/google.appengine.logging.v1.RequestLog"}},
    {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a", "verb": "get"},
    {"entries": []}, [], "text", None,
]


@pytest.mark.parametrize("path", FOREIGN, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_other_providers_files_are_not_claimed(path: Path) -> None:
    for value in values(path):
        assert gcp.unwrap(value) is None


@pytest.mark.parametrize("value", OTHERS)
def test_other_values_are_not_claimed(value: Any) -> None:
    assert gcp.unwrap(value) is None


@pytest.mark.parametrize("value", values(DATA / "malformed.jsonl"), ids=lambda value: value["insertId"])
def test_malformed_entries_are_claimed_and_raise(value: Any) -> None:
    events = gcp.unwrap(value)
    assert events is not None
    with pytest.raises((KeyError, TypeError, ValueError)):
        gcp.row(next(iter(events)))


def test_registered() -> None:
    assert PROVIDERS["gcp"] is gcp.PROVIDER


@pytest.mark.parametrize("value", ["text", 3, None, ["a"]])
def test_a_non_object_event_raises_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        gcp.row(value)


def test_a_one_event_value_is_handed_back_itself_so_the_line_stays_raw() -> None:
    value = values(DATA / "entries.jsonl")[0]
    found = gcp.unwrap(value)
    assert type(found) is tuple and len(found) == 1 and found[0] is value
