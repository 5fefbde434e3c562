"""The k8s reader on our own fixtures (tests/fixtures/k8s, made by make_fixtures.py): every input
form gives rows equal to the base Events it wraps, lines are accounted for, errors are clear."""

from __future__ import annotations

import gzip
import io
import json
import warnings
from pathlib import Path

import pyarrow as pa
import pytest
from _k8s_expect import assert_row_matches, parse_time, physical_lines

from auditlens import ParseError, RejectLog
from auditlens.k8s.event import RAW_FIELDS
from auditlens.k8s.reader import open_k8s_audit, read_k8s_audit
from auditlens.schema import K8S_EVENTS

FIX = Path(__file__).resolve().parent / "fixtures" / "k8s"
BASE = {e["auditID"]: e for e in map(json.loads, (FIX / "base_events.jsonl").read_text().splitlines())}
E1, E2, E3, E4 = BASE.values()


def read(name: str, **kw: object) -> tuple[list[dict], RejectLog, dict[str, int]]:
    log = RejectLog()
    table = read_k8s_audit(FIX / name, rejects=log, **kw)
    meta = {k.decode()[len("auditlens."):]: int(v) for k, v in table.schema.metadata.items()
            if k != b"auditlens.table"}
    assert meta["lines"] == physical_lines(FIX / name)
    assert meta["lines"] == meta["lines_in_rows"] + meta["lines_in_rejects"] + meta["lines_empty"]
    assert meta["rejects"] == len(log)
    return table.to_pylist(), log, meta


# fixture → (the base Events it holds, in order; wrapper; first line of each)
FORMS = {
    "base_events.jsonl": ([E1, E2, E3, E4], "event", [1, 2, 3, 4]),
    "eventlist_webhook.json": ([E1, E2, E3, E4], "eventlist", [1, 1, 1, 1]),
    "eventlist_pretty.json": ([E1, E2, E3, E4], "eventlist", [1, 1, 1, 1]),
    "array_pretty.json": ([E1, E2], "array", [1, 1]),
    "cri_partial.log": ([E1, E4, E3], "cri", [1, 2, 7]),  # + a klog line: see below
    "docker_split.log": ([E1, E4, E2], "docker", [1, 2, 5]),
    "eks_subscription.json": ([E1, E3], "cloudwatch/eks", [1, 1]),
    "cloudwatch_export.log": ([E1, E2], "cloudwatch-export", [1, 2]),
    "aks_object_bom.json": ([E2], "aks", [1]),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_each_form_gives_the_rows_of_the_events_it_wraps(name: str) -> None:
    events, wrapper, lines = FORMS[name]
    rows, log, meta = read(name)
    assert len(log) == (1 if name == "cri_partial.log" else 0) and len(rows) == len(events)
    for row, ev, line in zip(rows, events, lines):
        assert_row_matches(row, ev, name)
        assert row["wrapper"] == wrapper and row["line"] == line and row["truncated"] is False
    assert meta["lines_in_rows"] == meta["lines"] - meta["lines_empty"] - meta["lines_in_rejects"]


def test_panic_stage_is_kept_as_logged() -> None:
    rows, _, _ = read("base_events.jsonl")
    panic = [r for r in rows if r["stage"] == "Panic"]
    assert len(panic) == 1 and panic[0]["response_code"] == 500 and panic[0]["audit_id"] == E3["auditID"]


def test_cri_stderr_log_line_is_a_reject_with_its_line() -> None:
    _, log, meta = read("cri_partial.log")
    (bad,) = list(log)
    assert bad.line == 3 and "stderr F I0506" in bad.raw
    assert meta["lines_in_rows"] == 6 and meta["lines_in_rejects"] == 1


def test_eks_truncated_message_is_a_truncated_row_not_a_reject() -> None:
    rows, log, _ = read("eks_filter_log_events.json")
    assert len(log) == 0 and [r["truncated"] for r in rows] == [False, False, True]
    doc = json.loads((FIX / "eks_filter_log_events.json").read_text())
    assert doc["events"][2]["message"].endswith("[Truncated...]")
    cut = rows[2]
    for key in ("audit_id", "stage", "verb", "request_uri", "user", "source_ips", "resource", "namespace", "name"):
        assert cut[key] == {"audit_id": E4["auditID"], "stage": E4["stage"], "verb": E4["verb"],
                            "request_uri": E4["requestURI"], "user": E4["user"]["username"],
                            "source_ips": E4["sourceIPs"], "resource": E4["objectRef"]["resource"],
                            "namespace": E4["objectRef"]["namespace"], "name": E4["objectRef"]["name"]}[key]
    # the stage time was cut off; the CloudWatch timestamp (ms) stands in
    assert cut["time"].timestamp() * 1000 == doc["events"][2]["timestamp"]
    assert cut["response_object"] is None
    for row, ev in zip(rows[:2], (E1, E2)):
        assert_row_matches(row, ev)


def test_eks_subscription_names_the_cluster_from_the_log_group() -> None:
    rows, _, _ = read("eks_subscription.json")
    assert {r["cluster"] for r in rows} == {"demo"}


def test_aks_event_hubs_batch_rejects_the_non_audit_record() -> None:
    rows, log, _ = read("aks_eventhubs.json")
    assert len(rows) == 1 and rows[0]["wrapper"] == "eventhubs/aks" and rows[0]["cluster"] == "DEMO"
    assert_row_matches(rows[0], E1)
    (bad,) = list(log)
    assert "quota admission" in bad.raw and bad.line == 1


def test_legacy_text_format() -> None:
    rows, log, _ = read("legacy.log")
    assert len(log) == 0 and [r["wrapper"] for r in rows] == ["legacy"] * 4
    received, *full = rows
    assert received["stage"] == "RequestReceived" and received["response_code"] is None
    for row, ev in zip(full, (E1, E2, E3)):
        assert row["audit_id"] == ev["auditID"] and row["stage"] == ev["stage"]
        assert row["verb"] == ev["verb"] and row["request_uri"] == ev["requestURI"]
        assert row["user"] == ev["user"]["username"] and row["groups"] == ev["user"]["groups"]
        assert row["source_ips"] == ev["sourceIPs"][:1] and row["user_agent"] == ev["userAgent"]
        assert row["namespace"] == ev["objectRef"]["namespace"]
        assert row["response_code"] == ev["responseStatus"]["code"]
        assert row["time"] == row["request_received"] == parse_time(ev["requestReceivedTimestamp"])
        assert row["latency"] is None
        imp = ev.get("impersonatedUser")
        assert row["impersonated_user"] == (imp["username"] if imp else None)
        assert row["impersonated_groups"] == (imp["groups"] if imp else None)
    assert full[2]["service_account_namespace"] == "shop" and full[2]["service_account_name"] == "autoscaler"


def test_gke_log_entries() -> None:
    rows, log, _ = read("gke_logentries.json")
    assert len(log) == 0 and [r["wrapper"] for r in rows] == ["array/gke"] * 2
    exec_, denied = rows
    assert (exec_["user"], exec_["verb"], exec_["resource"], exec_["subresource"], exec_["namespace"],
            exec_["name"]) == ("alice@example.com", "create", "pods", "exec", "shop", "web-0")
    assert exec_["response_code"] is None and exec_["response_reason"] == "UNKNOWN"  # upgraded stream
    assert exec_["cluster"] == "demo" and exec_["audit_id"] == "6e0f1a2b-0000-4000-8000-000000000101"
    assert denied["response_code"] == 403 and denied["decision"] == "forbid"  # PERMISSION_DENIED
    assert (denied["service_account_namespace"], denied["service_account_name"]) == ("shop", "builder")
    assert denied["api_group"] is None and denied["api_version"] == "v1"


def test_mixed_file_reads_each_line_by_its_own_form() -> None:
    rows, log, meta = read("mixed.log")
    assert [r["wrapper"] for r in rows] == ["event", "cri", "legacy", "event"]
    assert [r["line"] for r in rows] == [1, 3, 4, 6]
    assert_row_matches(rows[0], E1)
    assert_row_matches(rows[1], E2)
    assert_row_matches(rows[3], E3)
    pretty_lines = len(json.dumps(E3, indent=2).split("\n"))
    assert [(r.line, r.reason.split(":")[0]) for r in log] == [
        (5, "not JSON, a container log line or a legacy audit line"), (6 + pretty_lines, "invalid JSON")]
    assert meta["lines_in_rows"] == 3 + pretty_lines
    assert meta["lines_empty"] == 2  # the blank line and "[]"


def test_malformed_objects_are_rejects_with_reasons() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows, log, _ = read("malformed.jsonl")
    reasons = {r.line: r.reason for r in log}
    assert "user is a JSON int" in reasons[1]
    assert "not an audit Event" in reasons[3]
    assert reasons[4] == "JSON int is not an audit Event" and reasons[5] == "JSON str is not an audit Event"
    assert "keys: nope" in reasons[6]
    assert [r["audit_id"] for r in rows] == ["m-2", E1["auditID"]]
    assert rows[0]["response_code"] is None  # "200" is a string: nulled, and said so
    assert any("did not fit their column type" in str(w.message) for w in caught)


def test_errors_raise_stops_at_the_first_bad_line_with_file_and_line() -> None:
    with pytest.raises(ParseError) as info:
        read_k8s_audit(FIX / "mixed.log", errors="raise")
    assert info.value.file == str(FIX / "mixed.log") and info.value.line == 5


def test_rejects_unseen_are_warned() -> None:
    with pytest.warns(UserWarning, match="rejected"):
        read_k8s_audit(FIX / "mixed.log")


def test_keep_objects_false_drops_bodies_only() -> None:
    full = read_k8s_audit(FIX / "base_events.jsonl")
    lean = read_k8s_audit(FIX / "base_events.jsonl", keep_objects=False)
    assert lean.column("request_object").null_count == lean.num_rows
    assert lean.drop_columns(["request_object", "response_object"]).equals(
        full.drop_columns(["request_object", "response_object"]))


def test_cluster_option_fills_only_where_the_wrapper_is_silent() -> None:
    rows = read_k8s_audit([FIX / "base_events.jsonl", FIX / "eks_subscription.json"], cluster="mine").to_pylist()
    assert [r["cluster"] for r in rows] == ["mine"] * 4 + ["demo"] * 2


def test_stream_in_small_batches_equals_the_table_and_schema() -> None:
    whole = read_k8s_audit(FIX / "eventlist_pretty.json")
    batches = list(open_k8s_audit(FIX / "eventlist_pretty.json", batch_size=3))
    assert [b.num_rows for b in batches] == [3, 1]
    assert all(b.schema == K8S_EVENTS.arrow for b in batches)
    assert pa.Table.from_batches(batches).equals(whole.replace_schema_metadata(K8S_EVENTS.arrow.metadata))


def test_gzip_and_file_objects_and_lists(tmp_path: Path) -> None:
    data = (FIX / "base_events.jsonl").read_bytes()
    gz = tmp_path / "audit.log.1"
    gz.write_bytes(gzip.compress(data))
    stream = io.BytesIO(data)
    table = read_k8s_audit([gz, stream])
    assert table.num_rows == 8 and not stream.closed
    assert table.column("audit_id").to_pylist() == [*BASE] * 2


def test_raw_row_fields_follow_the_schema() -> None:
    derived = {"time", "latency"}
    assert [n for n in RAW_FIELDS if n not in ("stage_time", "alt_time")] == [
        n for n in K8S_EVENTS.names if n not in derived]


def test_time_is_utc_microseconds_and_latency_a_duration() -> None:
    table = read_k8s_audit(FIX / "base_events.jsonl")
    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("latency").type == pa.duration("us")
    assert table.column("latency").to_pylist()[2].total_seconds() == 0.25  # E3: 03.000 → 03.250
