"""The C fast path for one-line Events (auditlens/k8s/_fastrow.c) must give what the Python path
gives, value for value: on every real file, on the sample logs, on generated Events with every
JSON type in every field, and it must leave to Python the lines it cannot do the same way.

The Python path is the reference: the reader with ``native.Builder`` switched off (as it runs
without a C compiler or with AUDITLENS_PURE_PYTHON=1), its rows as ``pa.array(rows, RAW_STRUCT)``
stores them.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import REPO, SAMPLE_LOGS, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditlens import RejectLog
from auditlens.k8s import frame, native
from auditlens.k8s.build import RAW_STRUCT
from auditlens.k8s.event import Origin
from auditlens.k8s.reader import open_k8s_audit, read_k8s_audit
from auditlens.rejects import Rejecter

FAST = native.Builder
pytestmark = pytest.mark.skipif(
    FAST is None, reason="the C fast path is not compiled (no C compiler at install time, "
    "or AUDITLENS_PURE_PYTHON is set)")

ORIGINS = [
    Origin("a.log"),
    Origin("b.log", cluster="prod", keep_objects=False, chain="cri", truncated=True,
           time="2024-01-01T00:00:00Z"),
]


def _python_row(line: bytes, o: Origin) -> tuple[Any, ...] | None:
    """The Python path's row for a line read as line 1 of a file, or None when the line gives
    no row or several (a reject, an EventList...)."""
    rejects = RejectLog()
    reader = frame.FileReader(o.file, o, Rejecter("collect", rejects), frame.Account())
    native.Builder = None  # the Python path (hypothesis tests cannot take the monkeypatch fixture)
    try:
        rows = list(reader.rows(io.BytesIO(line)))
    finally:
        native.Builder = FAST
    return rows[0] if len(rows) == 1 and not len(rejects) else None


def _fast(lines: list[bytes], o: Origin) -> tuple[int, pa.StructArray]:
    """How many of ``lines`` the fast path takes, and the rows it makes of them."""
    builder = FAST()
    taken = builder.add(lines, 0, 1, native.context(o), 1000)
    arrays = native.arrays(builder.finish(), RAW_STRUCT)
    for a in arrays:
        a.validate(full=True)
    return taken, pa.StructArray.from_arrays(arrays, fields=list(RAW_STRUCT))


def _check(line: bytes) -> bool:
    """Whether the fast path takes ``line`` with the default origin; under every origin it
    takes it, its row must be the Python row exactly as Arrow stores it."""
    takes = []
    for o in ORIGINS:
        taken, got = _fast([line], o)
        takes.append(taken == 1)
        if taken:
            row = _python_row(line, o)
            assert row is not None, line
            assert got.equals(pa.array([row], type=RAW_STRUCT)), line
    return takes[0]


def _both(source: Any, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> None:
    """Read ``source`` with and without the fast path: same table, metadata and rejects."""
    r_fast, r_py = RejectLog(), RejectLog()
    fast = read_k8s_audit(source, rejects=r_fast, **kw)
    monkeypatch.setattr(native, "Builder", None)
    py = read_k8s_audit(source, rejects=r_py, **kw)
    monkeypatch.setattr(native, "Builder", FAST)
    assert fast.num_rows == py.num_rows
    assert fast.equals(py, check_metadata=True)
    assert r_fast.table().equals(r_py.table())


# -- real files --------------------------------------------------------------------------------

K8S_FILES = corpus_files("k8s") + sorted((SAMPLE_LOGS / "k8s").glob("*"))


@pytest.mark.parametrize("path", K8S_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_files_read_the_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _both(path, monkeypatch)


def test_real_files_without_bodies_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    _both(K8S_FILES, monkeypatch, keep_objects=False, cluster="c1")


def test_the_fast_path_takes_the_real_one_line_events() -> None:
    """Guard against a fast path that takes nothing (and so would prove nothing)."""
    path = SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log"
    lines = path.read_bytes().splitlines(keepends=True)
    taken, _ = _fast(lines, Origin(str(path)))
    assert taken == len(lines) >= 30


# -- lines it must leave to Python ------------------------------------------------------------

EVENT = (b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1",'
         b'"stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list",'
         b'"user":{"username":"system:serviceaccount:ns:sa","groups":["g1"]},'
         b'"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},'
         b'"requestObject":{"a":[1,true,null,"x"]},'
         b'"stageTimestamp":"2024-01-01T00:00:01.5Z"}')


def _with(key: bytes, value: bytes) -> bytes:
    return EVENT[:-1] + b"," + key + b":" + value + b"}"


@pytest.mark.parametrize("line", [
    b"",                                             # empty
    b" " + EVENT,                                    # not starting with "{"
    EVENT + b"x",                                    # content after the value
    EVENT[:-1],                                      # cut short
    _with(b'"kind"', b'"EventList"'),                # not an Event
    _with(b'"kind"', b"null"),
    _with(b'"log_type"', b'"application"'),          # claimed by no wrapper
    _with(b'"log_type"', b"null"),
    _with(b'"k8s_audit_level"', b'"x"')[:-1] + b',"log":"x","time":"t"}',  # a docker record
    _with(b'"k8s_audit_level"', b'"x"')[:-1] + b',"log":"x"}',  # any "log": left to Python
    _with(b'"k8s_audit_level"', b"5"),               # a level that is not a string
    _with(b'"log_type"', b'"audit"')[:-1] + b',"openshift":{"cluster_id":7}}',
    EVENT.replace(b'"auditID":"a1",', b""),          # no auditID
    _with(b'"x"', b"1.5"),                           # a float, even where it is not used
    _with(b'"x"', b"1e3"),
    _with(b'"x"', b"12345678901234567890"),          # more than 64 bits
    _with(b'"x"', b"01"),                            # not JSON
    _with(b'"x"', b"[1,]"),
    _with(b'"x"', b'"\\ud800"'),                     # a lone surrogate
    _with(b'"x"', b'"\\udc00"'),
    _with(b'"x"', b'"\xff"'),                        # not UTF-8
    _with(b'"x"', b'"\xed\xa0\x80"'),                # an encoded surrogate
    _with(b'"x"', b'"\xc0\x80"'),                    # overlong
    _with(b'"x"', b'"a\tb"'),                        # a raw control character
    _with(b'"x"', b'"\\x"'),                         # a bad escape
    _with(b'"x"', b"[" * 70 + b"]" * 70),            # deeper than the fast path goes
    _with(b'"user"', b'["u"]'),                      # a field of the wrong JSON type
    _with(b'"user"', b'{"username":5}'),
    _with(b'"objectRef"', b'{"apiVersion":["a/b"]}'),
    _with(b'"requestObject"', b'{"a":1,"a":2}'),     # a key twice inside a body
    _with(b'"annotations"', b'"x"'),
    b'{"auditID":"a", "x": nul}',
    _with(b'"verb"', b"5"),                          # the Python path nulls it and counts it
    _with(b'"sourceIPs"', b'["1.2.3.4",7]'),
    _with(b'"sourceIPs"', b'"1.2.3.4"'),
    _with(b'"user"', b'{"extra":{"a":"x"}}'),
    _with(b'"user"', b'{"extra":{"a":["x"],"a":["y"]}}'),
    _with(b'"annotations"', b'{"a":1}'),
    _with(b'"annotations"', b'{"a":"x","a":"y"}'),
    _with(b'"responseStatus"', b'{"code":2147483648}'),
    _with(b'"responseStatus"', b'{"code":"200"}'),
    _with(b'"timestamp"', b"5"),
    _with(b'"stageTimestamp"', b"0"),
])
def test_lines_for_the_python_path(line: bytes) -> None:
    assert not _check(line)


@pytest.mark.parametrize("line", [
    EVENT,
    EVENT + b"\r\n",
    EVENT.replace(b",", b" ,\t").replace(b":", b" : "),           # JSON whitespace
    _with(b'"kind"', b'"Event"'),                                 # a key twice: the last wins
    _with(b'"user"', b'{"username":"a","username":"b","extra":{"k":["v"]}}'),
    _with(b'"requestObject"', b'{"s":"\\u00e9\\/\\n\\u0001\\"\\\\\\ud83d\\ude00\xc3\xa9"}'),
    _with(b'"responseObject"', b'{"n":-0,"m":-12,"e":{},"l":[],"t":"\\u2028\x7f"}'),
    _with(b'"requestObject"', b"null"),
    _with(b'"responseObject"', b'"just text"'),
    _with(b'"objectRef"', b'{"apiVersion":"apps/v1beta1","resource":"deployments"}'),
    _with(b'"objectRef"', b'{"apiGroup":"","apiVersion":"g/v"}'),
    _with(b'"annotations"', b'{"audit.k8s.io/truncated":"true",'
                            b'"authorization.k8s.io/decision":"allow"}'),
    _with(b'"user"', b"{}"),
    _with(b'"user"', b'{"username":"system:serviceaccount:a:b:c"}'),
    _with(b'"user"', b'{"username":""}'),
    _with(b'"stageTimestamp"', b'""'),                            # falsy: the fallback chain
    _with(b'"timestamp"', b'"2024-01-01T00:00:00Z"').replace(b'"stageTimestamp"', b'"st"'),
    _with(b'"sourceIPs"', b'["1.2.3.4",null]'),
    _with(b'"user"', b'{"extra":{"a":["x",null],"b":null,"c":[]}}'),
    _with(b'"annotations"', b'{"a":null}'),
    _with(b'"responseStatus"', b'{"code":-2147483648}'),
    _with(b'"x"', b'{"deep":' + b"[" * 40 + b"]" * 40 + b"}"),
    # OpenShift ViaQ records: the level of the first *_audit_level key, openshift.cluster_id
    _with(b'"k8s_audit_level"', b'"RequestResponse"'),
    _with(b'"log_type"', b'"audit"'),
    _with(b'"log_type"', b'"audit"')[:-1] + b',"oauth_audit_level":"Metadata",'
    b'"k8s_audit_level":"Request","oauth_audit_level":"None"}',
    _with(b'"k8s_audit_level"', b'"Request"')[:-1] + b',"openshift":{"cluster_id":"c-1"}}',
    _with(b'"k8s_audit_level"', b'"Request"')[:-1] + b',"openshift":{"cluster_id":""}}',
    _with(b'"k8s_audit_level"', b'"Request"')[:-1] + b',"openshift":"c-2"}',
    _with(b'"k8s_audit_level"', b"null").replace(b'"kind":"Event"', b'"kind":"EventList"'),
])
def test_lines_for_the_fast_path(line: bytes) -> None:
    assert _check(line)


# -- generated Events -------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_scalar = st.one_of(_text, _text, st.none(), st.booleans(), st.integers(-(2**63), 2**64),
                    st.sampled_from(["system:serviceaccount:ns:sa", "apps/v1", "true", "", "/",
                                     "audit"]))
"""Floats and integers over 64 bits are in the fixed cases: here they would send nearly every
Event to the Python path and leave the fast one untested."""
_json = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)), max_leaves=12)
_KEYS = ["kind", "auditID", "stage", "level", "verb", "requestURI", "stageTimestamp", "timestamp",
         "requestReceivedTimestamp", "sourceIPs", "userAgent", "requestObject", "responseObject",
         "apiVersion", "other", "k8s_audit_level", "oauth_audit_level", "log_type", "log"]
_SUB = {
    "user": ["username", "uid", "groups", "extra", "other"],
    "impersonatedUser": ["username", "groups"],
    "objectRef": ["apiGroup", "apiVersion", "resource", "subresource", "namespace", "name", "uid"],
    "responseStatus": ["code", "status", "reason", "message"],
    "annotations": ["authorization.k8s.io/decision", "authorization.k8s.io/reason",
                    "audit.k8s.io/truncated", "other"],
    "openshift": ["cluster_id", "other"],
}


_value = st.one_of(_text, _text, _text, st.none(), st.lists(st.one_of(_text, st.none()),
                                                           max_size=3), _json)
"""Mostly what a column holds (strings, lists of strings), sometimes anything."""


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    ev: dict[str, Any] = {"auditID": draw(_scalar)}
    for key in draw(st.lists(st.sampled_from(_KEYS), max_size=10)):
        ev[key] = draw(_value)
    for key, subkeys in _SUB.items():
        if draw(st.booleans()):
            ev[key] = (draw(st.dictionaries(st.sampled_from(subkeys), _value, max_size=5))
                       if draw(st.integers(0, 9)) else draw(_json))
    if draw(st.booleans()):
        ev["kind"] = "Event"
    return ev


_maybe_text = st.one_of(_text, _text, st.none(), st.sampled_from(["", "a/b", "audit", "true"]))
_text_list = st.one_of(st.none(), st.lists(st.one_of(_text, st.none()), max_size=3))
_TYPED: dict[str, st.SearchStrategy[Any]] = {
    **{k: _maybe_text for k in ("stage", "level", "verb", "requestURI", "stageTimestamp",
                                "timestamp", "requestReceivedTimestamp", "userAgent",
                                "k8s_audit_level", "oauth_audit_level", "log_type")},
    "kind": st.sampled_from(["Event", "Event", "EventList"]),
    "sourceIPs": _text_list,
    "requestObject": _json, "responseObject": _json, "other": _json,
    "user": st.fixed_dictionaries({}, optional={
        "username": st.one_of(_maybe_text, st.from_regex(r"system:serviceaccount:[a-z:]{0,6}",
                                                         fullmatch=True)),
        "uid": _maybe_text, "groups": _text_list,
        "extra": st.one_of(st.none(), st.dictionaries(_text, _text_list, max_size=3))}),
    "impersonatedUser": st.fixed_dictionaries({}, optional={"username": _maybe_text,
                                                            "groups": _text_list}),
    "objectRef": st.fixed_dictionaries({}, optional={k: _maybe_text for k in _SUB["objectRef"]}),
    "responseStatus": st.fixed_dictionaries({}, optional={
        "code": st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)), "status": _maybe_text,
        "reason": _maybe_text, "message": _maybe_text}),
    "annotations": st.one_of(st.none(), st.dictionaries(
        st.one_of(_text, st.sampled_from(_SUB["annotations"])), _maybe_text, max_size=4)),
    "openshift": st.fixed_dictionaries({}, optional={"cluster_id": _maybe_text}),
}


@st.composite
def typed_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events whose values have their columns' types: the ones the fast path must take."""
    ev: dict[str, Any] = {"auditID": draw(_maybe_text)}
    for key in draw(st.lists(st.sampled_from(sorted(_TYPED)), max_size=14, unique=True)):
        ev[key] = draw(_TYPED[key])
    return ev


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_events(), st.booleans())
def test_generated_typed_events(ev: dict[str, Any], ascii_only: bool) -> None:
    _check(json.dumps(ev, ensure_ascii=ascii_only).encode())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.booleans(), st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :\t")]))
def test_generated_events(ev: dict[str, Any], ascii_only: bool, seps: tuple[str, str]) -> None:
    line = json.dumps(ev, ensure_ascii=ascii_only, separators=seps).encode() + b"\n"
    _check(line)


@settings(max_examples=200, deadline=None)
@given(events(), st.integers(0, 200), st.binary(min_size=1, max_size=3))
def test_damaged_events(ev: dict[str, Any], at: int, junk: bytes) -> None:
    """A line with bytes changed somewhere: None, or the Python row (never a third answer)."""
    line = json.dumps(ev, ensure_ascii=False).encode()
    at = min(at, len(line))
    _check(line[:at] + junk + line[at + len(junk):])


# -- the reader around it ---------------------------------------------------------------------

def test_mixed_file_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain lines around a pretty-printed EventList whose inner lines are one-line Events (they
    belong to the list, not the fast path), CRI lines, bad lines and blank lines, with chunks so
    small that every kind of line meets a chunk boundary."""
    inner = _with(b'"x"', b"1")
    lines = [EVENT, b"[", inner + b",", inner, b"]", b"", b"not json", _with(b'"x"', b"2.5"),
             b"2024-01-01T00:00:00.1Z stdout P " + EVENT[:40],
             b"2024-01-01T00:00:00.2Z stdout F " + EVENT[40:], EVENT, b"{", b'"a": 1', b"}",
             _with(b'"user"', b"[1]"), EVENT]
    path = tmp_path / "mixed.log"
    path.write_bytes(b"\n".join(lines * 5) + b"\n")
    for size in (1, 2, 3, 1024):
        monkeypatch.setattr(frame, "_CHUNK_LINES", size)
        _both(path, monkeypatch)
        _both(path, monkeypatch, keep_objects=False)


def test_corrupt_compressed_file_reads_the_same(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines before a corrupt spot are read and counted; the rest is one reject."""
    data = gzip.compress((EVENT + b"\n") * 3000)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2] + b"\x00" * 64)
    _both(path, monkeypatch)
    meta = read_k8s_audit(path, rejects=RejectLog()).schema.metadata
    assert 0 < int(meta[b"auditlens.lines_in_rows"]) < 3000


def test_streamed_batches_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    path = SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log"
    fast = list(open_k8s_audit(path, batch_size=7))
    monkeypatch.setattr(native, "Builder", None)
    py = list(open_k8s_audit(path, batch_size=7))
    assert [b.num_rows for b in fast] == [b.num_rows for b in py]
    assert all(a.equals(b) for a, b in zip(fast, py))


def test_batches_keep_input_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python-path rows between fast ones: never more than batch_size rows a batch, and the
    rows in input order."""
    lines = [EVENT, _with(b'"x"', b"1.5"), EVENT, EVENT, _with(b'"verb"', b"5"), EVENT] * 7
    path = tmp_path / "order.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.warns(UserWarning, match="7 k8s audit value"):  # the seven "verb": 5
        fast = list(open_k8s_audit(path, batch_size=3))
    monkeypatch.setattr(native, "Builder", None)
    with pytest.warns(UserWarning, match="7 k8s audit value"):
        py = pa.Table.from_batches(list(open_k8s_audit(path, batch_size=3)))
    assert max(b.num_rows for b in fast) <= 3
    assert pa.Table.from_batches(fast).equals(py)
    assert py["line"].to_pylist() == list(range(1, len(lines) + 1))


# -- memory safety ----------------------------------------------------------------------------

def _libasan() -> str | None:
    if shutil.which("gcc") is None:
        return None
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    path = out.stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


@pytest.mark.skipif(bool(os.environ.get("AUDITLENS_UNDER_ASAN")), reason="already under ASan")
def test_under_address_sanitizer(corpora: Path) -> None:
    """The C code (k8s, auditd and cloud fast paths) parses attacker-controlled lines: their
    tests and three mutation fuzzers run against a build with AddressSanitizer
    (scripts/asan_fastpath.sh), which aborts on any bad access; the auditd fuzzer also holds both
    auditd paths equal. The script runs with this interpreter (a checkout without .venv too)."""
    if _libasan() is None:
        pytest.skip("gcc with AddressSanitizer (libasan) is not installed")
    run = subprocess.run(["bash", str(REPO / "scripts" / "asan_fastpath.sh"), str(corpora), "5000"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHON": sys.executable})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("no fault") == 3, run.stdout[-3000:]  # k8s, cloud and auditd fuzzers
