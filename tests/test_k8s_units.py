"""The k8s reader's small parts alone, and property tests at its boundary (hypothesis)."""

from __future__ import annotations

import io
import json

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from auditlens import RejectLog
from auditlens.k8s.detect import looks_like_k8s_audit
from auditlens.k8s.gke import parse_resource_name
from auditlens.k8s.legacy import go_unquote
from auditlens.k8s.reader import read_k8s_audit
from auditlens.k8s.truncated import salvage
from auditlens.k8s.wrappers import WRAPPERS
from auditlens.sources.compression import sniff_compression
from auditlens.sources.lines import depth_change

EVENT = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a-1",
         "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/x/pods", "verb": "list",
         "user": {"username": "alice", "groups": ["g"]}, "sourceIPs": ["192.0.2.1"],
         "requestReceivedTimestamp": "2024-01-01T00:00:00.000001Z",
         "stageTimestamp": "2024-01-01T00:00:00.000002Z"}


def test_go_unquote_reads_go_escapes() -> None:
    assert go_unquote(r"a\"b\\c\n\t\x41\u00e9") == 'a"b\\c\n\tAé'
    assert go_unquote(r"\xff") == "\\xff"  # a raw invalid byte stays visible


def test_depth_ignores_brackets_in_strings() -> None:
    assert depth_change(b'{"a": "[{", "b": [') == 2
    assert depth_change(b'"\\"}"]}') == -2


def test_salvage_keeps_every_complete_member() -> None:
    text = json.dumps({"auditID": "x", "user": {"username": "u", "groups": ["a", "b"]},
                       "requestObject": {"data": "y" * 100}})
    got = salvage(text[:80] + "[Truncated...]")
    assert got == {"auditID": "x", "user": {"username": "u", "groups": ["a", "b"]}}
    assert salvage("not json") is None


def test_gke_resource_names() -> None:
    assert parse_resource_name("core/v1/namespaces/ns1") == {
        "api_group": None, "api_version": "v1", "resource": "namespaces", "name": "ns1", "namespace": "ns1"}
    assert parse_resource_name("rbac.authorization.k8s.io/v1/clusterroles/r") == {
        "api_group": "rbac.authorization.k8s.io", "api_version": "v1", "resource": "clusterroles", "name": "r"}


def test_wrapper_claims_are_exclusive_on_each_form() -> None:
    samples = {
        "event": EVENT,
        "viaq": dict(EVENT, level="default", k8s_audit_level="Metadata", log_type="audit"),
        "eventlist": {"kind": "EventList", "items": [EVENT]},
        "eventhubs": {"records": []},
        "aks": {"category": "kube-audit", "properties": {"log": "{}"}},
        "cloudwatch": {"events": []},
        "eks": {"timestamp": 1, "message": "{}"},
        "gke": {"protoPayload": {}},
        "gke-entry": {"Entry": {"Payload": {}}, "AuditPayload": "{}"},
        "otlp": {"resourceLogs": []},
        "docker": {"log": "x\n", "stream": "stdout", "time": "t"},
    }
    assert set(samples) == set(WRAPPERS)
    for name, obj in samples.items():
        claimed = [w.name for w in WRAPPERS.values() if w.claims(obj)]
        assert claimed == [name], (name, claimed)


def test_detection_of_k8s_inputs() -> None:
    assert looks_like_k8s_audit(json.dumps(EVENT).encode() + b"\n")
    assert looks_like_k8s_audit(b"\xef\xbb\xbf{\n  \"records\": [\n")
    assert looks_like_k8s_audit(b'2024-01-01T00:00:00.1Z stdout F {"kind":"Event"}\n')
    assert looks_like_k8s_audit(b'2024-01-01T00:00:00.1Z AUDIT: id="x" stage="ResponseComplete"\n')
    assert not looks_like_k8s_audit(b"type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e\n")
    assert not looks_like_k8s_audit(b"")


_line = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([json.dumps(EVENT).encode(), b"{", b"}", b"[", b"]", b"", b"  ", b"[]", b"{}",
                     b'{"kind":"EventList","items":[' + json.dumps(EVENT).encode() + b"]}",
                     b"2024-01-01T00:00:00Z stdout P {\"kind\":",
                     b"2024-01-01T00:00:00Z stdout F \"Event\"}",
                     b'{"log":"{\\"auditID\\":\\"z\\",","stream":"stdout","time":"t"}',
                     b'2024-01-01T00:00:00Z AUDIT: id="x" method="get" response="<deferred>"',
                     b'{"kind":"Event","auditID":"q","user":[]}', b"\xef\xbb\xbf{"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=12), st.booleans())
def test_any_input_reads_without_crash_and_every_line_is_accounted(lines: list[bytes], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    assume(sniff_compression(data[:6]) is None)  # a compressed stream's lines are its contents'
    log = RejectLog()
    table = read_k8s_audit(io.BytesIO(data), rejects=log)
    meta = {k.decode(): int(v) for k, v in table.schema.metadata.items() if k != b"auditlens.table"}
    physical = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    assert meta["auditlens.lines"] == physical
    assert physical == (meta["auditlens.lines_in_rows"] + meta["auditlens.lines_in_rejects"]
                        + meta["auditlens.lines_empty"])
    assert meta["auditlens.rejects"] == len(log)
    assert (table.num_rows > 0) == (meta["auditlens.lines_in_rows"] > 0)
    assert (len(log) > 0) >= (meta["auditlens.lines_in_rejects"] > 0)
    assert all(1 <= r.line <= max(physical, 1) for r in log)
    assert all(1 <= n <= physical for n in table.column("line").to_pylist())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([json.dumps(EVENT), "not audit", ""]), max_size=20))
def test_one_event_per_line_means_rows_plus_rejects_plus_blanks_equal_lines(lines: list[str]) -> None:
    data = "".join(line + "\n" for line in lines).encode()
    log = RejectLog()
    table = read_k8s_audit(io.BytesIO(data), rejects=log)
    assert table.num_rows == lines.count(json.dumps(EVENT))
    assert table.num_rows + len(log) + lines.count("") == len(lines)
