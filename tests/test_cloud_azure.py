"""Azure Activity Log events as cloud_events rows: the provider alone, without the reader.

Every fixture event is checked on every column against its golden file (rows as the provider
returns them, reviewed in the diff; ``AUDITLENS_UPDATE_GOLDEN=1`` rewrites them), and the
columns that carry a decision are also spelt out here by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _cloud_provider import CLOUD, COLUMNS, golden, provider_rows, values

from auditlens.cloud import azure
from auditlens.cloud.providers import PROVIDERS

DATA = CLOUD / "azure"


def rows(name: str) -> list[dict[str, Any]]:
    return provider_rows(azure, DATA / name)


@pytest.mark.parametrize("name", ["records.json", "records.jsonl", "rest.json"])
def test_every_column_of_every_event_matches_the_golden_file(name: str) -> None:
    got = rows(name)
    assert got == golden(got, DATA / (name.replace(".", "-") + ".expected.json"))
    for row in got:
        assert list(row) == COLUMNS
        assert row["provider"] == "azure" and row["acting_for"] is None


MC = "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/"
# action, actor, actor_kind, credential, target, target_kind, cluster, outcome, reason_code
DECISIONS = {
    "records.json": [  # the resource-log form, as diagnostic settings write it (upper case)
        (MC + "WRITE", "alice@contoso.com", "user", "mfa", "AKS-PROD",
         "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-PROD", "pending", "Started."),
        (MC + "WRITE", "alice@contoso.com", "user", "mfa", "AKS-PROD",
         "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-PROD", "success", "Succeeded."),
        (MC + "LISTCLUSTERADMINCREDENTIAL/ACTION", "alice@contoso.com", "user", "mfa", "AKS-PROD",
         "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-PROD", "success", "Succeeded.OK"),
        ("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", "alice@contoso.com", "user", "mfa",
         "AKS-AUDIT-TO-SENTINEL", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS", "AKS-PROD", "success",
         "Succeeded."),
        (MC + "DELETE", "bob@contoso.com", "user", "password", "AKS-PROD",
         "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-PROD", "denied", "Forbidden"),
    ],
    "records.jsonl": [  # a service principal's delete: Start, then Success; a Policy denial
        (MC + "DELETE", "8c7b6a59-4e3d-4c2b-9a18-f7e6d5c4b3a2", "service-id", "client-secret",
         "AKS-STAGING", "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-STAGING", "pending", "Started."),
        (MC + "DELETE", "8c7b6a59-4e3d-4c2b-9a18-f7e6d5c4b3a2", "service-id", "client-secret",
         "AKS-STAGING", "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-STAGING", "success", "Succeeded."),
        # Azure Policy refused a cluster write
        ("MICROSOFT.AUTHORIZATION/POLICIES/DENY/ACTION", "bob@contoso.com", "user", "password", "AKS-DEV",
         "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS", "AKS-DEV", "denied", "Failed."),
    ],
    "rest.json": [  # the REST/Portal form
        ("Microsoft.ContainerService/managedClusters/write", "carol@contoso.com", "user", "mfa", "aks-prod",
         "Microsoft.ContainerService/managedClusters", "aks-prod", "success", "OK"),
        ("Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
         "mallory@contoso.com", "user", "password", "aks-prod", "Microsoft.ContainerService/managedClusters",
         "aks-prod", "denied", "Forbidden"),
        ("microsoft.insights/diagnosticSettings/delete", "9f8e7d6c-5b4a-4321-8fed-cba987654321",
         "service-id", "managed-identity", "aks-audit", "microsoft.insights/diagnosticSettings",
         "aks-prod", "pending", None),
    ],
}
DECIDED = ("action", "actor", "actor_kind", "credential", "target", "target_kind", "cluster",
           "outcome", "reason_code")


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_decided_columns(name: str) -> None:
    got = [tuple(row[column] for column in DECIDED) for row in rows(name)]
    assert got == DECISIONS[name]


def test_start_and_end_share_the_correlation_id() -> None:
    start, end, _ = rows("records.jsonl")
    assert start["correlation_id"] == end["correlation_id"] == "a1b2c3d4-0005-4e5f-8a9b-0c1d2e3f4a05"
    assert (start["outcome"], end["outcome"]) == ("pending", "success")


def test_both_forms_agree_on_account_and_service() -> None:
    storage, rest = rows("records.json")[0], rows("rest.json")[0]
    assert storage["account"] == rest["account"] == "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"
    assert storage["service"].lower() == rest["service"].lower() == "microsoft.containerservice"
    assert storage["region"] == "westeurope" and rest["region"] is None
    assert storage["origin"] == "203.0.113.10" and rest["origin"] is None


def test_a_denial_carries_the_authorization_message() -> None:
    denied = rows("rest.json")[1]
    assert denied["reason"].startswith("The client 'mallory@contoso.com' with object id")
    assert denied["origin"] == "192.0.2.200"  # httpRequest.clientIpAddress
    assert denied["severity"] == "Error" and denied["message"] is None
    assert rows("rest.json")[2]["message"] == "Delete diagnostic setting of the cluster"


def test_aks_kubernetes_audit_records_are_left_to_the_kubernetes_reader() -> None:
    (document,) = values(DATA / "kube_audit.json")
    assert azure.unwrap(document) is None
    assert azure.unwrap(document["records"][0]) is None
    admin = dict(document["records"][0], category="kube-audit-admin")
    assert azure.unwrap(admin) is None and azure.unwrap({"records": [admin]}) is None


FOREIGN = [
    CLOUD / "aws" / "records.json", CLOUD / "aws" / "events.jsonl", CLOUD / "aws" / "eventbridge.json",
    CLOUD / "gcp" / "entries.jsonl", CLOUD / "gcp" / "export.json", CLOUD / "gcp" / "k8s_entry.json",
]
OTHERS = [
    # a resource log of another service (Key Vault)
    {"time": "2026-11-30T08:00:00Z", "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/"
     "MICROSOFT.KEYVAULT/VAULTS/KV", "operationName": "SecretGet", "category": "AuditEvent"},
    {"records": [{"category": "kube-apiserver", "operationName": "x", "resourceId": "/x"}]},
    {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a", "verb": "get"},
    {"records": []}, {"value": []}, [], "text", None,
]


@pytest.mark.parametrize("path", FOREIGN, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_other_providers_files_are_not_claimed(path: Path) -> None:
    for value in values(path):
        assert azure.unwrap(value) is None


@pytest.mark.parametrize("value", OTHERS)
def test_other_values_are_not_claimed(value: Any) -> None:
    assert azure.unwrap(value) is None


@pytest.mark.parametrize("value", values(DATA / "malformed.jsonl"), ids=lambda value: value["correlationId"])
def test_malformed_events_are_claimed_and_raise(value: Any) -> None:
    events = azure.unwrap(value)
    assert events is not None
    with pytest.raises((KeyError, TypeError, ValueError)):
        azure.row(next(iter(events)))


def test_registered() -> None:
    assert PROVIDERS["azure"] is azure.PROVIDER


@pytest.mark.parametrize("value", ["text", 3, None, ["a"]])
def test_a_non_object_event_raises_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        azure.row(value)


def test_a_one_event_value_is_handed_back_itself_so_the_line_stays_raw() -> None:
    value = values(DATA / "records.jsonl")[0]
    found = azure.unwrap(value)
    assert type(found) is tuple and len(found) == 1 and found[0] is value
