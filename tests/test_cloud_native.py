"""The C fast path for one-line IBM events (auditlens/cloud/_fastcloud.c) must give what the
Python path gives, row for row and reject for reject: on every fixture, on generated events with
every JSON type in every field the row reads, on damaged lines, in mixed files cut into batches,
and with ``jobs=2``; and it must leave to Python the lines it cannot read the same way.

The Python path is the reference: the reader with ``native.Builder`` switched off (as it runs
without a C compiler or with AUDITLENS_PURE_PYTHON=1).
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditlens import ParseError, RejectLog
from auditlens.cloud import native, parallel
from auditlens.cloud.reader import open_cloud_audit, read_cloud_audit

FAST = native.Builder
pytestmark = pytest.mark.skipif(
    FAST is None, reason="the C fast path is not compiled (no C compiler at install time, "
    "or AUDITLENS_PURE_PYTHON is set)")

DATA = Path(__file__).parent / "data" / "cloud"
FIXTURES = sorted(p for p in DATA.rglob("*") if p.is_file())
EVENT = json.loads((DATA / "ibm-events.jsonl").read_text().splitlines()[0])


@contextmanager
def python_path() -> Iterator[None]:
    """The reader without the fast path (hypothesis tests cannot take the monkeypatch fixture)."""
    native.Builder = None
    try:
        yield
    finally:
        native.Builder = FAST


def _read(source: Any, **kw: Any) -> tuple[pa.Table, list[Any], list[str]]:
    """The table, rejects and warnings of one read."""
    log = RejectLog()
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        table = read_cloud_audit(source, rejects=log, **kw)
    return table, list(log), [str(w.message) for w in seen]


def both(source: Any, **kw: Any) -> pa.Table:
    """Read ``source`` on both paths; they must agree on everything. The fast path's table."""
    again = source.getvalue() if isinstance(source, io.BytesIO) else source
    fast = _read(source, **kw)
    with python_path():
        py = _read(again, **kw)
    assert fast[0].equals(py[0]), _first_difference(fast[0], py[0])
    assert fast[0].schema.metadata == py[0].schema.metadata
    assert fast[1] == py[1]
    assert fast[2] == py[2]
    return fast[0]


def _first_difference(a: pa.Table, b: pa.Table) -> str:
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} rows, not {b.num_rows}"
    for name in a.column_names:
        x, y = a[name].to_pylist(), b[name].to_pylist()
        for i, (u, v) in enumerate(zip(x, y)):
            if u != v:
                return f"row {i} {name}: {u!r} (C) != {v!r} (Python)"
    return "?"


def taken(line: bytes) -> bool:
    """Whether the builder takes ``line`` (alone)."""
    builder = FAST()
    got = builder.add([line], 0, 1, "f.log", 10)
    batch = native.staged(builder.finish())
    batch.validate(full=True)
    assert batch.num_rows == got
    return got == 1


def line_of(event: Any, **kw: Any) -> bytes:
    return json.dumps(event, **kw).encode() + b"\n"


# -- the fixtures -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(DATA)))
def test_fixtures_read_the_same(path: Path) -> None:
    both(path)
    both(path, since="2026-12-02")


def test_the_fast_path_takes_the_plain_ibm_lines() -> None:
    """The plain event lines of the fixtures are read in C (else the tests above prove
    nothing), wrapped ones in Python."""
    plain = (DATA / "ibm-events.jsonl").read_bytes().splitlines(keepends=True)
    assert all(taken(line) for line in plain)
    legacy = (DATA / "ibm-legacy.jsonl").read_bytes().splitlines(keepends=True)
    assert not any(taken(line) for line in legacy)  # {"payload": ...}: Python's
    builder = FAST()
    assert builder.add(plain, 0, 1, "f.log", 10**6) == len(plain) == builder.rows


def test_the_benchmark_events_read_the_same(tmp_path: Path) -> None:
    """The events benchmarks/cloud.py times (every action and outcome it makes)."""
    import random
    import sys
    from datetime import datetime, timezone

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    try:
        from cloud import event
    finally:
        sys.path.pop(0)
    rng = random.Random(7)
    t = datetime(2026, 11, 1, tzinfo=timezone.utc)
    data = b"".join(line_of(event(rng, t, "acc"), separators=(",", ":")) for _ in range(300))
    assert all(taken(line) for line in data.splitlines(keepends=True))
    assert both(data).num_rows == 300


# -- lines one way or the other -----------------------------------------------------------------


def _with(**members: Any) -> dict[str, Any]:
    return {**EVENT, **members}


@pytest.mark.parametrize("line", [
    line_of({"payload": EVENT, "meta": {}}),                   # legacy wrapper
    line_of({"_source": {"o_initiator": {}, "action": "x"}}),  # LogDNA record
    line_of(_with(action=7)),                                  # rejected by ibm.row
    line_of(_with(initiator="alice")),                         # rejected by ibm.row
    line_of(_with(initiator={**EVENT["initiator"], "host": []})),
    line_of(_with(eventTime=None)),                            # rejected: without a time
    line_of({"action": "x", "initiator": {}}),                 # the same
    line_of(_with(eventTime="yesterday")),                     # rejected: no ISO 8601 shape
    line_of(_with(eventTime="２０２６-12-01T08:14:03Z"), ensure_ascii=False),  # Python's \d
    line_of(_with(severity=0.5)),                              # a float
    line_of(_with(extra=[1.5])),                               # a float the row does not read
    line_of(_with(extra=2**70)),                               # too large for 64 bits
    line_of(_with(outcome="SUCCESS\u0130"), ensure_ascii=False),  # str.lower beyond ASCII
    line_of(_with(outcome=1)),                                 # coerced to null
    line_of(_with(message=["a"])),                             # coerced to null
    line_of(_with(requestData='{"clusterID": 1.5}')),          # JSON text with a float
    line_of(_with(requestData='{"clusterID": "c1"} x')),       # not JSON: json.loads decides
    line_of(_with(requestData='{"clusterID": "\ud800"}')),     # json.loads keeps a surrogate
    line_of(_with(reason={"reasonCode": True})),               # str(True)
    line_of(_with(logSourceCRN=5)),
    b"\xef\xbb\xbf" + line_of(EVENT),                          # a BOM
    b" " + line_of(EVENT),
    line_of(EVENT)[:-3] + b"\n",                               # cut short
    line_of(EVENT)[:-1] + b" x\n",                             # trailing junk
    line_of({"eventSource": "eks.amazonaws.com", "eventName": "DeleteCluster"}),
    b'{"action": "a", "eventTime": "2026-12-01T00:00:00Z", "x": ' + b"[" * 80 + b"]" * 80 + b"}\n",
    b'{"action": "a", "eventTime": "2026-12-01T00:00:00Z", "x": "\xff"}\n',  # not UTF-8
    b'{"action": "a", "eventTime": "2026-12-01T00:00:00Z", "x": "\\ud800"}\n',  # lone surrogate
    b'{"action": "a", "eventTime": "2026-12-01T00:00:00Z", "x": 01}\n',
])
def test_lines_for_the_python_path(line: bytes) -> None:
    assert not taken(line), line
    both(line)


@pytest.mark.parametrize("line", [
    line_of(EVENT),
    line_of(EVENT, indent=None, separators=(", ", ": ")),
    line_of(EVENT).replace(b"\n", b"\r\n"),
    line_of(EVENT)[:-1] + b"  \t\n",                           # spaces before the ending
    line_of(EVENT)[:-1],                                       # the last line, no ending
    line_of(_with(message="caf\u00e9 \u2603 \U0001f600 \"q\" \\ \t"), ensure_ascii=True),
    line_of(_with(message="caf\u00e9 \u2603 \U0001f600"), ensure_ascii=False),
    b'{"\\u0061ction": "containers-kubernetes.cluster.get", "eventTime": "2026-12-01T00:00Z"}\n',
    b'{"action": "a.b", "eventTime": "2026-12-01T00:00:00Z", "action": "c.d"}\n',  # repeated
    b'{"action": "x", "initiator": {"name": "a"}, "initiator": {"id": "i"}, '
    b'"eventTime": "2026-12-01 00:00:00.123456789+05:30"}\n',
    line_of(_with(outcome="FAILURE", reason={"reasonCode": 403})),
    line_of(_with(outcome="Failure", reason={"reasonCode": "401"})),
    line_of(_with(outcome="failure", reason={"reasonCode": -0})),
    line_of(_with(outcome="", reason={"reasonCode": ""}, severity="", message=None)),
    line_of(_with(target={"id": "", "name": "", "typeURI": "containers-kubernetes/cluster"})),
    line_of(_with(target={"id": "crn:v1:bluemix:public:containers-kubernetes:eu-de:::c1:worker:w1",
                          "typeURI": "containers-kubernetes/worker"},
                  action="containers-kubernetes.worker.reboot", requestData={"cluster": 5})),
    line_of(_with(target={"id": "crn:v1:x:y:svc:r:a/acc"}, logSourceCRN="crn:v1:x:y:s:r2:o/o1")),
    line_of(_with(target={"id": "crn:v1:x:y:svc::"}, logSourceCRN="crn:v1:x:y:s:r2:s/s1:i")),
    line_of(_with(target={"id": "not a crn"}, logSourceCRN="")),
    line_of(_with(action="containers-kubernetes.worker.list", target=None,
                  requestData={"idOrName": "c9", "clusterID": "", "cluster": None})),
    line_of(_with(initiator={"id": "i", "name": "n", "authnName": "n", "authnId": "z",
                             "typeURI": "", "credential": None, "host": None})),
    line_of(_with(initiator={"id": "i", "authnId": "i", "typeURI": "service/anything"})),
    line_of(_with(initiator={"authnName": "person", "typeURI": "user/x"})),
    line_of(_with(initiator=None, target=None, reason=None, action="")),
    line_of(_with(requestData='{"clusterID": "c1"}')),         # JSON as text, not read
    line_of(_with(target={"typeURI": "containers-kubernetes/worker"},
                  requestData=' {"clusterID": "c1"}')),        # JSON text not of an object
    line_of(_with(target={"typeURI": "containers-kubernetes/worker"},
                  requestData='{"x": {"cluster": "no"}, "clusterName": "caf\u00e9\\t",'
                              ' "clusterName": "c2", "cluster": ""}')),
    line_of(_with(target={"typeURI": "containers-kubernetes/worker"},
                  requestData='{"clusterId": "caf\u00e9\\t\\u00e9"}')),
    line_of(_with(target={"typeURI": "containers-kubernetes/worker"}, requestData="[1]")),
    line_of(_with(eventTime="2026-12-01T08:14:03.52+0000", extra={"deep": [[[{}]]], "n": -12})),
    line_of(_with(eventTime="2026-02-30T10:00:00+0000")),     # a reject when the batch is made
])
def test_lines_for_the_fast_path(line: bytes) -> None:
    assert taken(line), line
    both(line)


# -- generated events ---------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)
_words = st.sampled_from([
    "", "x", "failure", "FAILURE", "success", "pending", "401", "403", "200",
    "containers-kubernetes/cluster", "service/security/account/user",
    "service/security/account/serviceid", "service/other", "user",
    "containers-kubernetes.cluster.delete", "containers-kubernetes.worker.reboot", "iam.login",
    "crn:v1:bluemix:public:containers-kubernetes:us-south:a/acc:c1::",
    "crn:v1:bluemix:public:containers-kubernetes:us-south:a/acc:c1:worker:w1",
    "crn:v1:bluemix:public:iam::o/org", "crn:", "crn:a:b:c:d:e:f:g",
])
_times = st.one_of(
    st.sampled_from(["2026-12-01T08:14:03.52+0000", "2026-12-01T08:14:03Z", "2026-12-01 08:14",
                     "2026-12-01T08:14:03.1234567890Z", "2026-12-01T08:14:03,5-05:30",
                     "2026-02-30T00:00:00Z", "2026-12-01T08:14:03+05:", "2026-12-01T08:14:03z",
                     "2026-12-01T08:14:03.+0000", "2026-12-01T08:14:03+0530", "", "now"]),
    st.from_regex(r"\A20[0-9]{2}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]"
                  r"(:[0-9]{2}([.,][0-9]{1,10})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?\Z"))
_scalar = st.one_of(_text, _words, _words, st.none(), st.booleans(),
                    st.integers(-(2**63), 2**64), st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)), max_leaves=8)
_value = st.one_of(_words, _words, _text, st.none(), _json)


def _members(value: st.SearchStrategy[Any],
             anything: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    """The members of an event: the ones the row reads as ``value`` (or, now and then, as
    ``anything``), objects mostly of their own members."""
    def obj(keys: list[str]) -> st.SearchStrategy[Any]:
        typed = st.fixed_dictionaries({}, optional={k: value for k in keys})
        return st.one_of(typed, typed, typed, anything)

    return {
        "eventTime": st.one_of(_times, _times, _times, anything),
        "action": st.one_of(_words, _words, _text, anything),
        "outcome": value, "severity": value, "message": value, "correlationId": value,
        "logSourceCRN": value,
        "initiator": st.one_of(st.fixed_dictionaries({}, optional={
            **{k: value for k in ("id", "name", "typeURI", "authnName", "authnId")},
            "credential": obj(["type"]), "host": obj(["address", "agent"])}), anything),
        "target": obj(["id", "name", "typeURI"]),
        "reason": st.one_of(st.fixed_dictionaries({}, optional={
            "reasonCode": st.one_of(st.integers(-500, 500), _words, value),
            "reasonForFailure": value}), anything),
        "requestData": st.one_of(obj(["cluster", "clusterID", "clusterId", "clusterName",
                                      "cluster_id", "idOrName"]), _text, anything),
        "other": anything,
    }


_WILD = _members(_value, _json)
"""Any JSON type anywhere: mostly lines for the Python path."""
_TYPED = _members(st.one_of(_words, _words, _words, _text, st.none()), st.one_of(
    _text, st.none(), st.integers(-(2**63), 2**63 - 1), st.lists(_text, max_size=2)))
"""The types the row reads: mostly lines for the fast path."""


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    typed = draw(st.booleans())
    members = _TYPED if typed else _WILD
    keys = draw(st.lists(st.sampled_from(sorted(members)), max_size=len(members), unique=True))
    ev = {k: draw(members[k]) for k in keys}
    if typed:
        ev["action"], ev["eventTime"] = draw(_words), draw(_times)
    elif draw(st.integers(0, 3)):  # mostly of IBM's shape
        ev.setdefault("action", draw(_words))
        ev.setdefault("eventTime", draw(_times))
    return ev


def _text_of(ev: dict[str, Any], ascii_only: bool, seps: tuple[str, str]) -> bytes:
    return json.dumps(ev, ensure_ascii=ascii_only, separators=seps).encode() + b"\n"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.booleans(), st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :\t")]))
def test_generated_events(ev: dict[str, Any], ascii_only: bool, seps: tuple[str, str]) -> None:
    both(_text_of(ev, ascii_only, seps))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), min_size=1, max_size=12), st.integers(1, 5))
def test_generated_files_in_small_batches(evs: list[dict[str, Any]], size: int) -> None:
    """Several events a file, batches of a few rows: the same cuts, rows and rejects."""
    data = b"".join(_text_of(ev, True, (",", ":")) for ev in evs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # values nulled: both() compares the warnings
        fast = list(open_cloud_audit(io.BytesIO(data), batch_size=size, rejects=RejectLog()))
        with python_path():
            py = list(open_cloud_audit(io.BytesIO(data), batch_size=size, rejects=RejectLog()))
    assert [b.num_rows for b in fast] == [b.num_rows for b in py]
    assert all(a.equals(b) for a, b in zip(fast, py))
    both(data)


@settings(max_examples=200, deadline=None)
@given(events(), st.integers(0, 300), st.binary(min_size=1, max_size=3))
@example({}, 0, b"\x1f\x8b")  # gzip's magic, then no gzip header: the reader raised here
def test_damaged_events(ev: dict[str, Any], at: int, junk: bytes) -> None:
    line = _text_of({"action": "a.b", "eventTime": "2026-12-01T00:00:00Z", **ev}, True,
                    (",", ":"))
    at = min(at, len(line) - 1)
    both(line[:at] + junk + line[at:])


# -- whole reads --------------------------------------------------------------------------------


def _mixed() -> bytes:
    """IBM lines around everything else the reader meets: wrappers, other providers, a
    pretty-printed document, blank lines, junk, a time Arrow refuses, a long line."""
    plain = (DATA / "ibm-events.jsonl").read_bytes()
    parts = [plain, (DATA / "ibm-legacy.jsonl").read_bytes(), plain,
             (DATA / "ibm-malformed.jsonl").read_bytes(), b"\n  \n", plain,
             (DATA / "ibm-export.json").read_bytes(), b"\n", plain,
             line_of(_with(eventTime="2026-02-30T10:00:00+0000")), b"not json\n", plain,
             line_of(_with(message="m" * 5000)), plain]
    for sub in ("aws", "gcp", "azure"):
        for path in sorted((DATA / sub).glob("*.json*")):
            text = path.read_bytes()
            if text.lstrip().startswith(b"{") and text.count(b"\n") <= 1:
                parts += [text.rstrip(b"\n") + b"\n", plain]
    return b"".join(parts)


@pytest.mark.parametrize("size", [1, 2, 7, 16_384])
def test_mixed_file_in_batches(size: int) -> None:
    data = _mixed()
    fast = list(open_cloud_audit(io.BytesIO(data), batch_size=size, rejects=RejectLog()))
    with python_path():
        py = list(open_cloud_audit(io.BytesIO(data), batch_size=size, rejects=RejectLog()))
    assert [b.num_rows for b in fast] == [b.num_rows for b in py]
    assert all(a.equals(b) for a, b in zip(fast, py))
    table = both(data)
    assert table.num_rows > 50 and set(table["provider"].to_pylist()) > {"ibm"}


def test_mixed_file_since_until_and_a_long_line_limit() -> None:
    both(_mixed(), since="2026-12-02", until="2026-12-04T00:00:00Z")
    both(_mixed(), max_line_bytes=2000)


def test_errors_raise_stops_at_the_same_line() -> None:
    data = _mixed()
    with pytest.raises(ParseError) as fast:
        read_cloud_audit(io.BytesIO(data), errors="raise")
    with python_path(), pytest.raises(ParseError) as py:
        read_cloud_audit(io.BytesIO(data), errors="raise")
    assert str(fast.value) == str(py.value)


def test_jobs_2_equals_jobs_1(tmp_path: Path) -> None:
    """Workers read their pieces on the fast path too; the same table as one process."""
    path = tmp_path / "mixed.log"
    path.write_bytes(_mixed() * 3)
    one, one_rejects, _ = _read(path)
    log = RejectLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = parallel.read_cloud_audit(path, errors="collect", rejects=log, jobs=2, since=None,
                                        until=None, chunk_bytes=8192)
    assert one.equals(two) and one.schema.metadata == two.schema.metadata
    assert one_rejects == list(log)
    both(path)


def test_file_names_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "caf\u00e9 events.jsonl"
    path.write_bytes((DATA / "ibm-events.jsonl").read_bytes())
    table = both(path)
    assert set(table["file"].to_pylist()) == {str(path)}
