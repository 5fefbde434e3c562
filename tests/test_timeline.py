"""The cross-layer timeline: identities tied across the service, API and node layers only where
the logs allow it, and said so; rows ordered by person then time; the cluster and person
filters; the sample logs' layers of one person on one timeline."""

from __future__ import annotations

import datetime as dt
import importlib.util
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import REPO, SAMPLE_LOGS

import auditlens
from auditlens.reports.timeline import identity, timeline
from auditlens.schema import ACTIVITY, TIMELINE

T0 = dt.datetime(2026, 11, 28, 20, 10, tzinfo=dt.timezone.utc)
SOURCE = {"service": "cloud", "api": "k8s", "node": "auditd"}


def row(layer: str, actor: str | None, second: float, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(ACTIVITY.names)
    values.update(time=T0 + dt.timedelta(seconds=second), source=SOURCE[layer], actor=actor,
                  action=f"{layer}-action", outcome="success", evidence=f"{layer}:{second}")
    if layer == "node":
        values["node"] = "node-a"
    values.update(extra)
    return values


def table(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=ACTIVITY.arrow)


def ties(result: pa.Table) -> set[tuple[str, str, str, str]]:
    return set(zip(*(result[c].to_pylist() for c in ("layer", "actor", "person", "matched_by"))))


# -- matching rules -------------------------------------------------------------------------------

def test_openshift_on_ibm_cloud_usernames_tie_to_the_service_events_email() -> None:
    got = timeline(table(row("service", "alice@example.com", 1, cluster="demo"),
                         row("api", "IAM#Alice@Example.com", 2, cluster="demo")))
    assert ties(got) == {("service", "alice@example.com", "alice@example.com", "IAM#email"),
                         ("api", "IAM#Alice@Example.com", "alice@example.com", "IAM#email")}


def test_the_same_email_in_two_layers_is_one_person() -> None:  # GKE, AKS
    got = timeline(table(row("service", "bob@example.com", 1), row("api", "Bob@example.com", 2)))
    assert set(got["person"].to_pylist()) == {"bob@example.com"}
    assert set(got["matched_by"].to_pylist()) == {"email"}


def test_aws_principals_tie_by_arn_without_path_and_a_role_alone_never_ties() -> None:
    got = timeline(table(
        row("service", "arn:aws:iam::123456789012:user/ops/carol", 1),
        row("api", "arn:aws:iam::123456789012:user/carol", 2),
        row("service", "arn:aws:sts::123456789012:assumed-role/Admin/dave@example.com", 3),
        row("api", "arn:aws:sts::123456789012:assumed-role/Admin/dave@example.com", 4),
        row("api", "arn:aws:iam::123456789012:role/Admin", 5),
    ))
    assert ties(got) == {
        ("service", "arn:aws:iam::123456789012:user/ops/carol", "arn:aws:iam::123456789012:user/carol", "arn"),
        ("api", "arn:aws:iam::123456789012:user/carol", "arn:aws:iam::123456789012:user/carol", "arn"),
        ("service", "arn:aws:sts::123456789012:assumed-role/Admin/dave@example.com",
         "arn:aws:sts::123456789012:assumed-role/Admin/dave@example.com", "arn"),
        ("api", "arn:aws:sts::123456789012:assumed-role/Admin/dave@example.com",
         "arn:aws:sts::123456789012:assumed-role/Admin/dave@example.com", "arn"),
        ("api", "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:role/Admin", "unmatched"),
    }


def test_a_node_login_ties_to_the_same_api_username_and_an_email_does_not_guess() -> None:
    got = timeline(table(row("node", "alice", 1), row("api", "alice", 2),
                         row("service", "alice@example.com", 3), row("node", "root", 4)))
    assert ties(got) == {("node", "alice", "alice", "same-name"), ("api", "alice", "alice", "same-name"),
                         ("service", "alice@example.com", "alice@example.com", "unmatched"),
                         ("node", "root", "root", "unmatched")}


def test_aliases_are_the_callers_word_and_say_so() -> None:
    got = timeline(table(row("node", "alice", 1), row("api", "alice", 2),
                         row("service", "alice@example.com", 3)),
                   aliases={"alice": "alice@example.com"})
    assert set(got["person"].to_pylist()) == {"alice@example.com"}
    assert set(got["matched_by"].to_pylist()) == {"alias"}


def test_the_strongest_link_is_named_when_there_are_several() -> None:
    got = timeline(table(row("service", "alice@example.com", 1), row("api", "IAM#alice@example.com", 2),
                         row("node", "alice", 3)), aliases={"alice": "alice@example.com"})
    assert ties(got) == {("service", "alice@example.com", "alice@example.com", "IAM#email"),
                         ("api", "IAM#alice@example.com", "alice@example.com", "IAM#email"),
                         ("node", "alice", "alice@example.com", "alias")}


@pytest.mark.parametrize("nobody", ["system:anonymous", "(invalid user)", "unknown(1001)", None])
def test_nobody_ties(nobody: str | None) -> None:
    got = timeline(table(row("api", nobody, 1), row("node", nobody, 2)))
    assert got["matched_by"].to_pylist() == ["unmatched", "unmatched"]
    assert got["person"].to_pylist() == [nobody, nobody]


def test_rows_of_one_layer_alone_are_unmatched_and_keep_their_actor() -> None:
    got = timeline(table(row("api", "IAM#erin@example.com", 1), row("api", "IAM#erin@example.com", 2)))
    assert got["person"].to_pylist() == ["IAM#erin@example.com"] * 2
    assert got["matched_by"].to_pylist() == ["unmatched"] * 2


@pytest.mark.parametrize(("actor", "expected"), [
    ("IAM#Alice@Example.com", ("alice@example.com", "IAM#email")),
    ("IAM#iam-ServiceId-1a2b", ("IAM#iam-ServiceId-1a2b", "name")),
    ("IBMid-270006B1QA", ("IBMid-270006B1QA", "name")),
    ("arn:aws:sts::1:assumed-role/R", ("arn:aws:sts::1:assumed-role/R", "nobody")),
    ("arn:aws:iam::1:role/Admin", ("arn:aws:iam::1:role/Admin", "nobody")),
    ("arn:aws:s3:::bucket", ("arn:aws:s3:::bucket", "nobody")),
    ("system:serviceaccount:ns:sa", ("system:serviceaccount:ns:sa", "name")),
])
def test_identity_forms(actor: str, expected: tuple[str | None, str]) -> None:
    assert identity(actor) == expected


# -- order and filters ----------------------------------------------------------------------------

def test_sorted_by_person_then_time_then_service_api_node() -> None:
    got = timeline(table(row("node", "bob", 5), row("api", "alice", 3), row("node", "alice", 2),
                         row("service", "alice", 2), row("api", "alice", 2), row("api", "bob", 1),
                         row("node", "alice", 1)))
    assert list(zip(got["person"].to_pylist(), got["evidence"].to_pylist())) == [
        ("alice", "node:1"), ("alice", "service:2"), ("alice", "api:2"), ("alice", "node:2"),
        ("alice", "api:3"), ("bob", "api:1"), ("bob", "node:5")]
    assert got.schema == TIMELINE.arrow


def test_cluster_filter_drops_other_clusters_and_keeps_rows_that_do_not_say() -> None:
    rows = table(row("service", "alice@example.com", 1, cluster="demo"),
                 row("service", "alice@example.com", 2, cluster="cl7f2k9d0s3tq8a1vbn0"),
                 row("api", "IAM#alice@example.com", 3, cluster="other"),
                 row("api", "IAM#alice@example.com", 4, cluster="demo"),
                 row("service", "alice@example.com", 5),  # an account-level login
                 row("node", "alice", 6))
    got = timeline(rows, cluster="demo")
    assert set(got["evidence"].to_pylist()) == {"service:1", "api:4", "service:5", "node:6"}
    both = timeline(rows, cluster=("demo", "cl7f2k9d0s3tq8a1vbn0"))
    assert set(both["evidence"].to_pylist()) == {"service:1", "service:2", "api:4", "service:5", "node:6"}


def test_person_filter_takes_any_form_of_the_identity() -> None:
    rows = table(row("service", "alice@example.com", 1), row("api", "IAM#alice@example.com", 2),
                 row("api", "bob", 3), row("node", "alice", 4))
    for asked in ("alice@example.com", "IAM#alice@example.com", "ALICE@example.com"):
        assert timeline(rows, person=asked)["evidence"].to_pylist() == ["service:1", "api:2"]
    assert timeline(rows, person="bob")["evidence"].to_pylist() == ["api:3"]
    aliased = timeline(rows, person="alice", aliases={"alice": "alice@example.com"})
    assert aliased["evidence"].to_pylist() == ["service:1", "api:2", "node:4"]


def test_an_unknown_source_is_an_error_not_a_silent_layer() -> None:
    with pytest.raises(ValueError, match="unknown source serve"):
        timeline(table(row("api", "alice", 1, source="serve")))


def test_no_rows() -> None:
    assert timeline(ACTIVITY.empty()).schema == TIMELINE.arrow
    assert timeline(ACTIVITY.empty(), cluster="demo", person="alice").num_rows == 0


# -- the sample logs ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_activity() -> pa.Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the files not read (README, JSON, cloud until it lands)
        return auditlens.activity(str(SAMPLE_LOGS))


def test_sample_logs_put_alices_api_and_node_rows_on_one_timeline(sample_activity: pa.Table) -> None:
    got = timeline(sample_activity, person="alice")
    assert {"api", "node"} <= set(got["layer"].to_pylist())
    assert set(got["node"].drop_null().to_pylist()) == {"node-a", "node-b"}
    assert set(got["matched_by"].to_pylist()) == {"same-name"}
    times = got["time"].to_pylist()
    assert times == sorted(times)
    api = got.filter(pc.equal(got["layer"], "api"))
    assert api.num_rows == 10 and set(api["actor"].to_pylist()) == {"alice"}
    # the services accounts of the API log and the nodes' root have no other layer
    everyone = timeline(sample_activity)
    unmatched = set(everyone.filter(pc.equal(everyone["matched_by"], "unmatched"))["person"].to_pylist())
    assert {"root", "system:kube-scheduler", "system:anonymous"} <= unmatched


def test_the_committed_service_samples_are_what_their_script_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("cloud_samples", REPO / "scripts/sample_logs/cloud.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.write(tmp_path / "a.jsonl", script.events())
    script.write(tmp_path / "b.jsonl", script.legacy_events())
    assert (tmp_path / "a.jsonl").read_bytes() == (SAMPLE_LOGS / "cloud/activity-tracker.jsonl").read_bytes()
    assert (tmp_path / "b.jsonl").read_bytes() == (SAMPLE_LOGS / "cloud/activity-tracker-legacy.jsonl").read_bytes()


def test_the_service_samples_are_read_as_activity() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a reject would warn
        got = auditlens.activity([str(SAMPLE_LOGS / "k8s"), str(SAMPLE_LOGS / "cloud")])
    assert set(got["source"].to_pylist()) == {"k8s", "cloud"}


def test_sample_service_events_join_the_timeline(sample_activity: pa.Table) -> None:
    from auditlens.actions import from_cloud
    from auditlens.cloud.reader import read_cloud_audit

    rejects = auditlens.RejectLog()
    events = read_cloud_audit(str(SAMPLE_LOGS / "cloud"), rejects=rejects)
    assert events.num_rows == 8 and len(rejects) == 0
    service = from_cloud(events)
    rows = pa.concat_tables([sample_activity.filter(pc.not_equal(sample_activity["source"], "cloud")),
                             service])

    apart = timeline(rows, person="alice@example.com")  # the logs alone do not tie alice@ to alice
    assert set(apart["layer"].to_pylist()) == {"service"}
    assert set(apart["matched_by"].to_pylist()) == {"unmatched"}

    got = timeline(rows, cluster="demo", person="alice", aliases={"alice": "alice@example.com"})
    assert {"service", "api", "node"} == set(got["layer"].to_pylist())
    actions = got.filter(pc.equal(got["layer"], "service"))["action"].to_pylist()
    assert actions == ["iam-identity.user-apikey.login", "containers-kubernetes.cluster.config",
                       "containers-kubernetes.cluster-audit-webhook.delete",
                       "containers-kubernetes.cluster-audit-webhook.update",
                       "containers-kubernetes.cluster-rbac.apply"]
    # while the webhook was gone the cluster's API log holds no request
    webhook = got.filter(pc.match_substring(got["action"], "cluster-audit-webhook"))["time"].to_pylist()
    api = rows.filter(pc.match_substring(rows["evidence"], "kube-apiserver-audit.log"))
    inside = api.filter(pc.and_(pc.greater(api["time"], webhook[0]), pc.less(api["time"], webhook[1])))
    assert inside.num_rows == 0


def test_an_arn_as_actor_id_ties_whatever_name_each_layer_logs() -> None:
    got = timeline(table(
        row("service", "carol", 1, actor_id="arn:aws:iam::123456789012:user/ops/carol"),
        row("api", "carol-eks", 2, actor_id="arn:aws:iam::123456789012:user/carol"),
        row("api", "deployer", 3, actor_id="arn:aws:iam::123456789012:role/Deployer"),
        row("service", "Deployer", 4, actor_id="arn:aws:iam::123456789012:role/Deployer"),
        row("api", "dave", 5, actor_id="IBMid-270006B1QA"),
        row("service", "dave@example.com", 6, actor_id="IBMid-270006B1QA"),
    ))
    carol = "arn:aws:iam::123456789012:user/carol"
    assert ties(got) == {
        ("service", "carol", carol, "arn"), ("api", "carol-eks", carol, "arn"),
        # a role is not a person, an IAM id is no ARN: neither ties
        ("api", "deployer", "deployer", "unmatched"), ("service", "Deployer", "Deployer", "unmatched"),
        ("api", "dave", "dave", "unmatched"),
        ("service", "dave@example.com", "dave@example.com", "unmatched"),
    }
    assert timeline(table(row("service", "carol", 1, actor_id=carol)), person=carol).num_rows == 1


def test_eks_usernames_tie_to_cloudtrail_by_the_arn_in_user_extra() -> None:
    got = timeline(auditlens.activity(str(REPO / "tests/data/cloud_timeline/eks")))
    assert ties(got) == {
        ("service", "alice", "arn:aws:iam::111122223333:user/alice", "arn"),
        ("api", "alice-admin", "arn:aws:iam::111122223333:user/alice", "arn"),
        ("service", "Deployer/ci-run-4711",
         "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-4711", "arn"),
        ("api", "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-4711",
         "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-4711", "arn"),
    }
