"""Test-side reading of audit Events, independent of auditlens: what a row must say about an Event.

The reader under test uses orjson and its own unwrapping; here the stdlib ``json`` and plain
dictionary access on the documented Event fields (k8s.io/apiserver types.go) give the expected
values, so a wrong mapping in the reader cannot also be wrong here in the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

UTC = dt.timezone.utc


def parse_time(text: str | None) -> dt.datetime | None:
    """RFC 3339 → aware datetime, fractions beyond µs truncated (the table keeps µs)."""
    if text is None:
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    base = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    micros = int((frac + "000000")[:6]) if frac else 0
    return base + dt.timedelta(microseconds=micros)


def expected_row(ev: dict[str, Any]) -> dict[str, Any]:
    """The who/what/outcome/time values of one Event, straight from its JSON."""
    user = ev.get("user") or {}
    imp = ev.get("impersonatedUser") or {}
    ref = ev.get("objectRef") or {}
    status = ev.get("responseStatus") or {}
    ann = ev.get("annotations") or {}
    out = {
        "time": parse_time(ev.get("stageTimestamp") or ev.get("timestamp")
                           or ev.get("requestReceivedTimestamp")),
        "request_received": parse_time(ev.get("requestReceivedTimestamp")),
        "audit_id": ev.get("auditID"),
        "stage": ev.get("stage"),
        "level": ev.get("level"),
        "verb": ev.get("verb"),
        "request_uri": ev.get("requestURI"),
        "user": user.get("username"),
        "user_uid": user.get("uid"),
        "groups": user.get("groups"),
        "impersonated_user": imp.get("username"),
        "impersonated_groups": imp.get("groups"),
        "source_ips": ev.get("sourceIPs"),
        "user_agent": ev.get("userAgent"),
        "api_group": ref.get("apiGroup"),
        "api_version": ref.get("apiVersion"),
        "resource": ref.get("resource"),
        "subresource": ref.get("subresource"),
        "namespace": ref.get("namespace"),
        "name": ref.get("name"),
        "object_uid": ref.get("uid"),
        "response_code": status.get("code"),
        "response_status": status.get("status"),
        "response_reason": status.get("reason"),
        "response_message": status.get("message"),
        "decision": ann.get("authorization.k8s.io/decision"),
        "reason": ann.get("authorization.k8s.io/reason"),
    }
    if ev.get("stageTimestamp") and ev.get("requestReceivedTimestamp"):
        out["latency"] = parse_time(ev["stageTimestamp"]) - parse_time(ev["requestReceivedTimestamp"])
    username = user.get("username") or ""
    parts = username.split(":")
    if username.startswith("system:serviceaccount:") and len(parts) == 4:
        out["service_account_namespace"], out["service_account_name"] = parts[2], parts[3]
    else:
        out["service_account_namespace"] = out["service_account_name"] = None
    return out


def as_python(row: dict[str, Any]) -> dict[str, Any]:
    """A table row with map columns as dicts (pyarrow gives maps as lists of pairs)."""
    out = dict(row)
    for key in ("annotations", "user_extra"):
        if out.get(key) is not None:
            out[key] = dict(out[key])
    return out


def assert_row_matches(row: dict[str, Any], ev: dict[str, Any], where: str = "") -> None:
    row = as_python(row)
    for key, want in expected_row(ev).items():
        assert row[key] == want, f"{where} {ev.get('auditID')}: {key} is {row[key]!r}, source says {want!r}"
    assert row["annotations"] == ev.get("annotations"), where
    assert row["user_extra"] == (ev.get("user") or {}).get("extra"), where
    for col, field in (("request_object", "requestObject"), ("response_object", "responseObject")):
        got = None if row[col] is None else json.loads(row[col])
        assert got == ev.get(field), f"{where}: {col} differs from {field}"


def jsonl_events(path: Path) -> list[dict[str, Any]]:
    """Events of a JSON-lines file, or of a file holding one (maybe pretty-printed) Event."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return whole if isinstance(whole, list) else [whole]


def physical_lines(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
