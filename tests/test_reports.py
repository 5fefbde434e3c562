"""Reports on real logs: the sample logs made with real auditd (sample_logs/README.md says what
the scenario did) and the shared Kubernetes corpora (expectations computed here from the Events
with plain Python)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS

from auditlens.actions import request_rows
from auditlens.collect import collect
from auditlens.errors import AuditlensError
from auditlens.reports import REPORTS, Filters, apply_filters, get_report, list_reports, run_report
from auditlens.schema import ACTIVITY, TABLES

NODES = [str(SAMPLE_LOGS / "auditd" / "node-a"), str(SAMPLE_LOGS / "auditd" / "node-b")]


@pytest.fixture(scope="module")
def compliance():  # type: ignore[no-untyped-def]
    out = run_report("compliance", [str(SAMPLE_LOGS)])
    return {s.name: s.table for s in out.sections}, out


def rows(table: pa.Table) -> list[dict]:  # type: ignore[type-arg]
    return table.to_pylist()


def test_registry_lists_every_report_once_with_a_requirement() -> None:
    names = [r.name for r in list_reports()]
    assert names == [*REPORTS, "compliance"]
    assert len(set(names)) == len(names)
    assert all(r.requirement and r.description for r in list_reports())
    with pytest.raises(AuditlensError, match="known reports"):
        get_report("nope")


def test_logins_show_failed_and_successful_ssh_with_source(compliance) -> None:  # type: ignore[no-untyped-def]
    logins = rows(compliance[0]["logins"])
    ssh = [r for r in logins if r["source"] == "auditd"]
    failed = {(r["node"], r["actor"], r["origin"]) for r in ssh if r["outcome"] == "failure"}
    for node in ("node-a", "node-b"):
        assert {(node, "alice", "127.0.0.23"), (node, "oracle", "127.0.0.23"),
                (node, "admin", "::1"), (node, "bob", "::1"),
                (node, "(invalid user)", "127.0.0.23")} <= failed
        ok = {(r["actor"], r["origin"]) for r in ssh if r["outcome"] == "success" and r["node"] == node}
        assert {("alice", "127.0.0.1"), ("bob", "127.0.0.1"), ("alice", "::1")} <= ok
    # every row carries the PCI DSS 10.2.2 details
    for r in logins:
        assert r["actor"] and r["action"] and r["time"] and r["outcome"] and r["evidence"]


def test_sudo_commands_show_the_user_in_admin_actions_and_sessions(compliance) -> None:  # type: ignore[no-untyped-def]
    admin = rows(compliance[0]["admin-actions"])
    sudo = [r for r in admin if r["action"] == "ran-command" and r["source"] == "auditd"]
    assert {r["object"] for r in sudo} >= {"id", "cat /etc/shadow", "useradd carol"} or any(
        (r["object"] or "").startswith("useradd") for r in sudo)
    assert {r["actor"] for r in sudo if r["object"] == "cat /etc/shadow"} == {"alice"}
    assert "root" not in {r["actor"] for r in sudo}
    sessions = rows(compliance[0]["sessions"])
    alice = [s for s in sessions if s["actor"] == "alice"]
    commands = [c for s in alice for c in (s["commands"] or [])]
    assert any("cat /etc/shadow" in c for c in commands)


def test_identity_changes_cover_users_groups_passwords(compliance) -> None:  # type: ignore[no-untyped-def]
    ident = rows(compliance[0]["identity-changes"])
    actions = {(r["node"], r["action"], r["object"]) for r in ident}
    for node in ("node-a", "node-b"):
        assert (node, "added-user-account", "carol") in actions
        assert (node, "deleted-user-account", "carol") in actions
        assert any(n == node and a == "changed-password" for n, a, o in actions)
    # ENRICHED logs name the group; the RAW node's group file was copied without it (it was
    # created and deleted within the session), so there only its number is known
    assert ("node-b", "added-group-account-to", "auditors") in actions
    assert ("node-b", "deleted-group-account-from", "auditors") in actions
    assert ("node-a", "added-group-account-to", "1005") in actions
    # carol was created by alice through sudo: alice is the actor
    assert {r["actor"] for r in ident if r["action"] == "added-user-account" and r["object"] == "carol"} == {"alice"}


def test_firewall_changes_are_system_objects(compliance) -> None:  # type: ignore[no-untyped-def]
    sysobj = rows(compliance[0]["system-objects"])
    fw = [r for r in sysobj if r["object_kind"] == "firewall"]
    for node in ("node-a", "node-b"):
        tables = {r["object"].split(":")[0] for r in fw if r["node"] == node}
        assert {"al_lab", "filter"} <= tables  # nft's own table and iptables' filter table
    assert {r["actor"] for r in fw} == {"alice"}
    assert {r["acting_as"] for r in fw} == {"root"}


def test_cut_out_hole_shows_in_audit_trail(compliance) -> None:  # type: ignore[no-untyped-def]
    import json

    cut = json.loads((SAMPLE_LOGS / "auditd" / "gap.json").read_text())
    trail = rows(compliance[0]["audit-trail"])
    gaps = [r for r in trail if r.get("missing_count")]
    first = cut.get("first_removed_serial", cut.get("first_missing"))
    assert any(g["first_missing"] == first for g in gaps), gaps
    cover = compliance[1].cover
    assert int(cover["Gaps found"].split()[0]) >= 1


def test_compliance_cover_accounts_for_every_line(compliance) -> None:  # type: ignore[no-untyped-def]
    sections, out = compliance
    cover = out.cover
    got = out.collection
    assert cover["Input lines"] == str(got.lines)
    assert cover["Rejected lines"].startswith(str(got.reject_count))
    assert sections["rejected-lines"].num_rows == got.reject_count
    assert cover["Nodes"] == "node-a, node-b, node-gap"
    assert "Reviewed by (name, role, date)" in cover


def test_filters_narrow_every_section() -> None:
    out = run_report("compliance", NODES, user="bob", node="node-b")
    for s in out.sections:
        if set(ACTIVITY.names) <= set(s.table.column_names):
            for r in rows(s.table):
                assert r["node"] == "node-b"
                assert "bob" in (r["actor"], r["acting_as"])


def test_time_window_and_empty_result_keep_headers() -> None:
    out = run_report("logins", NODES, since="2001-01-01", until="2001-01-02")
    assert out.table.num_rows == 0
    assert out.table.schema.names == ACTIVITY.names


def test_apply_filters_only_uses_columns_the_table_has() -> None:
    t = pa.table({"x": [1, 2]})
    assert apply_filters(t, Filters(user="alice", node="n")).num_rows == 2


def test_report_tables_use_declared_schemas(compliance) -> None:  # type: ignore[no-untyped-def]
    declared = {s.arrow.remove_metadata() for s in TABLES.values()}
    for name, table in compliance[0].items():
        assert table.schema.remove_metadata() in declared, name


# --- Kubernetes corpora: expectations from the Events themselves ------------------------------

RBAC = {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}
MUTATING = {"create", "update", "patch", "delete", "deletecollection"}


@pytest.fixture(scope="module")
def k8s_corpus(corpora):  # type: ignore[no-untyped-def]
    src = [str(corpora / "k8s")]
    out = run_report("compliance", src)
    requests = request_rows(collect(src).k8s).to_pylist()
    by_section = {s.name: s.table.to_pylist() for s in out.sections}
    return requests, by_section


def _ids(section: list[dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["evidence"].rsplit(" ", 1)[-1]: r for r in section if r["source"] == "k8s"}


@pytest.mark.parametrize(
    ("section", "wanted"),
    [
        ("identity-changes", lambda e: e["resource"] in RBAC and e["verb"] in MUTATING),
        ("sensitive-access", lambda e: e["resource"] == "secrets" and e["verb"] in ("get", "list", "watch")),
        ("admin-actions", lambda e: e["subresource"] in ("exec", "attach", "portforward")
         or e["impersonated_user"] is not None),
        ("failed-access", lambda e: e["response_code"] in (401, 403) or e["decision"] == "forbid"),
        ("logins", lambda e: e["user"] == "system:anonymous"),
    ],
)
def test_k8s_corpus_requests_land_in_the_right_section(k8s_corpus, section, wanted) -> None:  # type: ignore[no-untyped-def]
    requests, by_section = k8s_corpus
    expected = [e for e in requests if e["audit_id"] and wanted(e)]
    assert expected, f"the corpora hold no request for {section}"
    got = _ids(by_section[section])
    for e in expected:
        row = got.get(e["audit_id"])
        assert row is not None, (section, e["audit_id"], e["verb"], e["resource"])
        assert row["actor"] == e["user"] or row["actor_kind"] == "human"
        assert row["acting_as"] == e["impersonated_user"]
        if e["response_code"] in (401, 403):
            assert row["outcome"] == "denied"


def test_k8s_corpus_has_exec_and_impersonation_in_admin_actions(k8s_corpus) -> None:  # type: ignore[no-untyped-def]
    requests, by_section = k8s_corpus
    got = _ids(by_section["admin-actions"])
    execs = [e for e in requests if e["subresource"] == "exec"]
    impersonated = [e for e in requests if e["impersonated_user"]]
    assert execs and impersonated
    assert all(got[e["audit_id"]]["object_kind"] == "pods/exec" for e in execs)
    assert all(got[e["audit_id"]]["acting_as"] == e["impersonated_user"] for e in impersonated)


def test_a_hole_that_begins_before_since_is_still_reported() -> None:
    full = run_report("audit-trail", str(SAMPLE_LOGS / "auditd" / "gap")).table.to_pylist()
    (gap,) = [r for r in full if r["finding"] == "serial-gap"]
    # the period starts inside the hole: the hole touches it, so it is evidence for it
    middle = gap["gap_start"] + (gap["gap_end"] - gap["gap_start"]) / 2
    out = run_report("audit-trail", str(SAMPLE_LOGS / "auditd" / "gap"), since=middle)
    assert [r["first_missing"] for r in out.table.to_pylist() if r["finding"] == "serial-gap"] \
        == [gap["first_missing"]]


def test_a_session_running_into_the_period_is_kept() -> None:
    node = str(SAMPLE_LOGS / "auditd" / "node-a")
    everything = run_report("sessions", node).table.to_pylist()
    longest = max(everything, key=lambda s: s["end"] - s["start"])
    inside = longest["start"] + (longest["end"] - longest["start"]) / 2
    kept = run_report("sessions", node, since=inside, until=inside).table.to_pylist()
    assert (longest["node"], longest["session"]) in {(s["node"], s["session"]) for s in kept}
