"""``auditlens rbac generate|review`` and ``auditlens report access-review`` through the CLI, on
audit2rbac's demo log: YAML that reads back as the policy meant, user mistakes as one-line
errors, the review in every export format and in ``compliance`` (with and without an export)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli_report import FORMATS, _read

from auditlens.cli import cli
from auditlens.rbac import Authorizer, Request, read_rbac


@pytest.fixture()
def demo(corpora: Path) -> str:
    path = corpora / "rbac" / "audit2rbac" / "testdata" / "demo.log"
    if not path.is_file():
        pytest.skip("audit2rbac's demo.log is not in the corpora")
    return str(path)


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_generate_alice_reads_back(demo: str, tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    out = tmp_path / "alice.yaml"
    result = invoke("rbac", "generate", demo, "--user", "alice", "--include-denied", "-o", str(out))
    assert result.exit_code == 0, result.output
    az = Authorizer(read_rbac(out, errors="raise"))
    assert az.allows(Request("alice", verb="watch", resource="secrets", namespace="ns1"))
    assert not az.allows(Request("alice", verb="watch", resource="secrets", namespace="ns2"))
    assert "1 subject(s)" in result.output  # the account on stderr


def test_generate_to_stdout_lists_denied(demo: str) -> None:
    result = invoke("rbac", "generate", demo, "--serviceaccount", "ns1:sa1")
    assert result.exit_code == 0, result.output
    assert "kind: ClusterRole" in result.output and "#   list nodes (cluster) (1x)" in result.output


@pytest.mark.parametrize("args,message", [
    ((), "say whose roles"),
    (("--serviceaccount", "sa1"), "NAMESPACE:NAME"),
    (("--user", "nobody"), "no requests by nobody"),
])
def test_generate_mistakes(demo: str, args: tuple[str, ...], message: str) -> None:
    result = invoke("rbac", "generate", demo, *args)
    assert result.exit_code != 0 and message in result.output


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "rbac.json"
    path.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "pods"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
                   {"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "bob"},
         "roleRef": {"kind": "ClusterRole", "name": "pods"}, "subjects": [{"kind": "User", "name": "bob"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "broken"}}]}))
    return path


def test_review_command(demo: str, tmp_path: Path) -> None:
    out, rejects = tmp_path / "review.csv", tmp_path / "rejects.csv"
    result = invoke("rbac", "review", demo, "--rbac", str(_export(tmp_path)), "-o", str(out),
                    "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "excess" in text and "used" in text and "uncovered" in text and "denied" in text
    assert "window 2017-09-11T19:55:05+00:00" in result.output and "Metadata" in result.output
    assert "without metadata.namespace" in rejects.read_text()
    subjects = invoke("rbac", "review", demo, "--rbac", str(_export(tmp_path)), "--subjects")
    assert "| bob | User |" in subjects.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_access_review_report_in_every_format(demo: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"review.{fmt}"
    result = invoke("report", "access-review", demo, "--rbac", str(_export(tmp_path)), "-o", str(out))
    assert result.exit_code == 0, result.output
    reported = int(result.output.split("access-review: ", 1)[1].split(" rows")[0])
    # md: the header and its separator line both start a line with "| "
    written = out.read_text().count("\n| ") - 2 if fmt == "md" else _read(out, fmt)
    assert reported > 5 and written == reported


def test_compliance_with_and_without_an_export(demo: str, tmp_path: Path) -> None:
    out = tmp_path / "with.json"
    assert invoke("report", "compliance", demo, "--rbac", str(_export(tmp_path)), "-f", "json",
                  "-o", str(out)).exit_code == 0
    sections = json.loads(out.read_text())["sections"]
    statuses = {r["status"] for r in sections["access-review"]["rows"]}
    assert statuses == {"used", "excess", "uncovered", "denied"}
    assert any("without metadata.namespace" in r["reason"] for r in sections["rejected-lines"]["rows"])
    without = tmp_path / "without.md"
    assert invoke("report", "compliance", demo, "-o", str(without)).exit_code == 0
    text = without.read_text()
    assert "not given: the access review shows the access used" in text
    assert "no RBAC export given" in text


def test_rbac_option_is_refused_elsewhere(demo: str, tmp_path: Path) -> None:
    result = invoke("report", "logins", demo, "--rbac", str(_export(tmp_path)))
    assert result.exit_code != 0 and "--rbac is for" in result.output
    missing = invoke("report", "access-review", demo, "--rbac", str(tmp_path / "nope.yaml"))
    assert missing.exit_code != 0 and "RBAC export not found" in missing.output


def test_access_review_report_for_one_user(demo: str, tmp_path: Path) -> None:
    out = tmp_path / "bob.jsonl"
    result = invoke("report", "access-review", demo, "--rbac", str(_export(tmp_path)), "--user", "bob",
                    "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and {r["subject"] for r in rows} == {"bob"}
    assert {r["status"] for r in rows} == {"used", "excess", "uncovered", "denied"}
