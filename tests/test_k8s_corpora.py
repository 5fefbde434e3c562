"""Every real file in the shared k8s corpora: read without a crash, every Event a row that says
what the source says, the line account adds up, and the malformed file is a reject with a reason.

Expected values come from the files themselves (stdlib json, unwrapped here by hand per form) and
the event counts from the corpora's MANIFEST.tsv, never from the reader's own output.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from _k8s_expect import assert_row_matches, jsonl_events, parse_time, physical_lines
from conftest import CORPORA, corpus_files

from auditlens import ParseError, RejectLog
from auditlens.k8s.gke import GRPC_CODES
from auditlens.k8s.reader import read_k8s_audit

FILES = corpus_files("k8s")


def _manifest() -> dict[str, dict[str, str]]:
    path = CORPORA / "k8s" / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        return {r["local_file"]: r for r in csv.DictReader(f, delimiter="\t")}


MANIFEST = _manifest()


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _manifest_events(path: Path) -> int | None:
    m = re.match(r"events=(\d+)", MANIFEST.get(_key(path), {}).get("notes", ""))
    return int(m.group(1)) if m else None


def _form(path: Path) -> str:
    return MANIFEST.get(_key(path), {}).get("format", "")


def source_events(path: Path) -> list[dict[str, Any]]:
    """The Events a corpus file holds, unwrapped by hand per its MANIFEST format."""
    form = _form(path)
    if "OTLP" in form:
        doc = json.loads(path.read_text())
        return [json.loads(rec["body"]["stringValue"])
                for rl in doc["resourceLogs"] for sl in rl["scopeLogs"] for rec in sl["logRecords"]]
    if "ViaQ" in form:
        doc = json.loads(path.read_text())
        (level,) = [v for k, v in doc.items() if k.endswith("_audit_level")]
        return [dict(doc, level=level)]
    if "Event Hubs" in form:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        return [json.loads(r["properties"]["log"]) for r in doc["records"]]
    if "AKS diagnostic record" in form:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        return [json.loads(doc["properties"]["log"])]
    return jsonl_events(path)


def _id(path: Path) -> str:
    return _key(path)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_corpus_file_reads_and_accounts_for_every_line(corpora: Path, path: Path) -> None:
    log = RejectLog()
    table = read_k8s_audit(path, rejects=log)
    meta = {k.decode(): int(v) for k, v in table.schema.metadata.items() if k != b"auditlens.table"}
    assert meta["auditlens.lines"] == physical_lines(path)
    assert meta["auditlens.lines"] == (meta["auditlens.lines_in_rows"] + meta["auditlens.lines_in_rejects"]
                                       + meta["auditlens.lines_empty"])
    assert meta["auditlens.rejects"] == len(log)
    want = _manifest_events(path)
    if "malformed" in _form(path):
        assert table.num_rows == 0 and len(log) == 1
        (bad,) = list(log)
        assert bad.line == 1 and "not an audit Event" in bad.reason and bad.raw == '{"kind": 0}'
        return
    assert len(log) == 0, [r.reason for r in log]
    if want is not None:
        assert table.num_rows == want, f"MANIFEST says {want} events"


EVENT_FILES = [p for p in FILES if "GKE" not in _form(p) and "malformed" not in _form(p)]
GKE_FILES = [p for p in FILES if "GKE" in _form(p)]


@pytest.mark.parametrize("path", EVENT_FILES, ids=_id)
def test_corpus_events_become_rows_that_equal_the_source(corpora: Path, path: Path) -> None:
    rows = read_k8s_audit(path).to_pylist()
    events = source_events(path)
    assert len(rows) == len(events)
    for row, ev in zip(rows, events):
        assert_row_matches(row, ev, _key(path))
        assert row["file"] == str(path)


def test_jsonl_rows_point_at_their_own_line(corpora: Path) -> None:
    path = CORPORA / "k8s" / "liggitt__audit2rbac" / "testdata__demo.log"
    if not path.is_file():
        pytest.skip("audit2rbac demo log not in the corpora")
    rows = read_k8s_audit(path).to_pylist()
    lines = path.read_text().splitlines()
    assert [r["line"] for r in rows] == list(range(1, len(lines) + 1))
    for row, text in zip(rows, lines):
        assert json.loads(text)["auditID"] == row["audit_id"]


def test_pretty_printed_event_is_one_row_accounting_for_all_its_lines(corpora: Path) -> None:
    path = CORPORA / "k8s" / "sysdiglabs__aks-audit-log" / "samples__sample_KubeAuditLog_event.json"
    if not path.is_file():
        pytest.skip("AKS sample not in the corpora")
    table = read_k8s_audit(path)
    assert table.num_rows == 1 and table.column("line").to_pylist() == [1]
    assert int(table.schema.metadata[b"auditlens.lines_in_rows"]) == physical_lines(path)


def test_wrapped_forms_name_their_wrapper_and_cluster(corpora: Path) -> None:
    base = CORPORA / "k8s"
    viaq = base / "openshift__cluster-logging-operator" / "hack__logsamples__viaq_audit_kubernetes.json"
    aks = base / "sysdiglabs__aks-audit-log" / "samples__event.json"
    otlp = base / "openshift__cluster-logging-operator" / "hack__logsamples__otlp_audit_kube.json"
    for path in (viaq, aks, otlp):
        if not path.is_file():
            pytest.skip(f"{path.name} not in the corpora")
    t = read_k8s_audit(viaq).to_pylist()[0]
    assert t["wrapper"] == "viaq"
    assert t["cluster"] == json.loads(viaq.read_text())["openshift"]["cluster_id"]
    rows = read_k8s_audit(aks).to_pylist()
    doc = json.loads(aks.read_text(encoding="utf-8-sig"))
    assert {r["wrapper"] for r in rows} == {"eventhubs/aks"}
    assert [r["cluster"] for r in rows] == [d["resourceId"].rsplit("/", 1)[1] for d in doc["records"]]
    rows = read_k8s_audit(otlp).to_pylist()
    attrs = {a["key"]: a["value"]["stringValue"]
             for a in json.loads(otlp.read_text())["resourceLogs"][0]["resource"]["attributes"]}
    assert {r["cluster"] for r in rows} == {attrs["openshift.cluster_id"]}


@pytest.mark.parametrize("path", GKE_FILES, ids=_id)
def test_gke_entries_map_who_what_outcome(corpora: Path, path: Path) -> None:
    (row,) = read_k8s_audit(path).to_pylist()
    dump = json.loads(path.read_text())
    entry = dump["Entry"]
    payload = json.loads(dump["AuditPayload"])
    assert row["wrapper"] == "gke-entry" and row["stage"] is None and row["level"] is None
    assert row["user"] == payload["authenticationInfo"]["principalEmail"]
    assert row["verb"] == payload["methodName"].split(".")[-1]
    assert row["source_ips"] == [payload["requestMetadata"]["callerIp"]]
    assert row["user_agent"] == payload["requestMetadata"]["callerSuppliedUserAgent"]
    assert row["audit_id"] == entry["Operation"]["id"]
    assert row["decision"] == entry["Labels"]["authorization.k8s.io/decision"]
    assert row["reason"] == entry["Labels"]["authorization.k8s.io/reason"]
    assert row["cluster"] == entry["Resource"]["labels"]["cluster_name"]
    assert row["time"] == parse_time(entry["Timestamp"])
    parts = payload["resourceName"].split("/")
    assert row["api_version"] == parts[1]
    assert row["api_group"] == (None if parts[0] == "core" else parts[0])
    rest = parts[2:]
    if rest[0] == "namespaces" and len(rest) >= 3:
        assert row["namespace"] == rest[1]
        rest = rest[2:]
    assert row["resource"] == rest[0]
    assert row["name"] == (rest[1] if len(rest) > 1 else None)
    assert row["subresource"] == (rest[2] if len(rest) > 2 else None)
    code = (payload.get("status") or {}).get("code", 0)
    assert row["response_code"] == GRPC_CODES[code][1]
    assert row["response_status"] == ("Success" if code == 0 else "Failure")
    if "request" in payload:
        assert json.loads(row["request_object"]) == payload["request"]


def test_malformed_corpus_file_raises_with_file_and_line(corpora: Path) -> None:
    path = CORPORA / "k8s" / "falcosecurity__falco" / "test__trace_files__k8s_audit__fal_01_003.json"
    if not path.is_file():
        pytest.skip("fal_01_003.json not in the corpora")
    with pytest.raises(ParseError) as info:
        read_k8s_audit(path, errors="raise")
    assert info.value.file == str(path) and info.value.line == 1
