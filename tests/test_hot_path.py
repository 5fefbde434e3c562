"""The speed-ups of the auditd hot path (memoised interpretations, column transposition, GC
pause) must not change a single value: cold and warm reads agree, memos do not leak between
reads, and the batch builder gives the same batch whichever way it collects the columns."""

from __future__ import annotations

import gc
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS, corpus_files
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens import RejectLog
from auditlens.auditd import interpret, lexer
from auditlens.auditd.reader import open_auditd, read_auditd
from auditlens.build import BatchBuilder
from auditlens.schema import AUDITD_RECORDS

NODE_A = SAMPLE_LOGS / "auditd" / "node-a"
AUDITD_FILES = [p for p in corpus_files("auditd") if p.stat().st_size > 20_000][:6]


@pytest.mark.parametrize("path", AUDITD_FILES, ids=lambda p: p.name)
def test_cold_and_warm_reads_are_identical(path: Path) -> None:
    interpret.clear_memos()
    cold = read_auditd(path, rejects=RejectLog())
    warm = read_auditd(path, rejects=RejectLog())
    assert cold.num_rows > 0
    assert cold.equals(warm, check_metadata=True)


def test_memoised_names_do_not_leak_between_reads() -> None:
    if not NODE_A.is_dir():
        pytest.skip("sample_logs/auditd/node-a is absent")
    log = NODE_A / "var" / "log" / "audit"
    etc = NODE_A / "etc"
    bare = read_auditd(log)
    named = read_auditd(log, passwd=etc / "passwd", group=etc / "group")
    again = read_auditd(log)
    assert bare.equals(again)
    # the node's passwd names users that a read without it must leave unnamed
    assert named["uid_name"].null_count < bare["uid_name"].null_count
    assert named["subject_secondary"] != bare["subject_secondary"]


def _event(serial: int, cwd: str) -> str:
    stamp = f"audit(1700000000.{serial:03d}:{serial})"
    return "\n".join([
        (f"type=SYSCALL msg={stamp}: arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c "
         "a1=1 a2=0 a3=0 items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 "
         'fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="cat" '
         'exe="/usr/bin/cat" key="k"'),
        f'type=CWD msg={stamp}: cwd="{cwd}"',
        (f'type=PATH msg={stamp}: item=0 name="notes.txt" inode=1 dev=fe:00 mode=0100644 '
         "ouid=0 ogid=0 rdev=00:00 nametype=NORMAL"),
        f"type=EOE msg={stamp}:",
    ])


def test_relative_path_names_are_joined_to_each_events_own_cwd(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(_event(1, "/home/a") + "\n" + _event(2, "/srv/b") + "\n")
    table = read_auditd(log)
    assert table["object_primary"].to_pylist() == ["/home/a/notes.txt", "/srv/b/notes.txt"]
    # the shared (memoised) PATH item is the same value for both events
    assert table["paths"][0].as_py() == table["paths"][1].as_py()


def _rows() -> list[dict[str, object]]:
    full = {"node": "n", "serial": 1, "time": 1_700_000_000_000_000, "record_type": "SYSCALL",
            "fields": [("a", "1")], "enriched": None, "file": "f", "line": 1}
    return [full, {"serial": 2, "line": 2}, dict(full, serial=3, node=None)]


@pytest.mark.parametrize("rows", [_rows(), _rows()[:1], _rows()[1:2]])
def test_batch_builder_transposition_matches_per_column_gets(rows: list[dict[str, object]]) -> None:
    builder = BatchBuilder(AUDITD_RECORDS)
    for row in rows:
        builder.append(row)
    batch = builder.finish()
    expected = pa.RecordBatch.from_arrays(
        [pa.array([r.get(c.name) for r in rows], type=c.type) for c in AUDITD_RECORDS.columns],
        schema=AUDITD_RECORDS.arrow,
    )
    assert batch.equals(expected)


def test_gc_is_paused_only_while_a_batch_is_collected(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("\n".join(_event(i, "/") for i in range(1, 40)) + "\n")
    assert gc.isenabled()
    seen = []
    stream = open_auditd(log, batch_size=10)
    for batch in stream:
        seen.append(gc.isenabled())  # the consumer always runs with the collector on
        if len(seen) == 2:
            break
    stream.close()  # abandoned half way: the collector must be back on
    assert seen == [True, True]
    assert gc.isenabled()
    gc.disable()
    try:
        assert sum(b.num_rows for b in open_auditd(log, batch_size=10)) == 39
        assert not gc.isenabled()  # a caller who turned it off keeps it off
    finally:
        gc.enable()


# --- the lexer's learnt shapes -------------------------------------------------------------------

_KEY = st.text(alphabet="abcdefgh_-[]0123", min_size=1, max_size=4)
_VAL = st.one_of(
    st.text(alphabet='ab01"{} =()', max_size=6),
    st.just('"x y"'), st.just("{ a=1 }"), st.just('"'), st.just(""), st.just("c000003e"),
)
_SEP = st.sampled_from([" ", " ", " ", "  ", "\t", " word "])


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_KEY, _VAL), min_size=1, max_size=6),
       seps=st.lists(_SEP, min_size=6, max_size=6), other=st.lists(_VAL, min_size=6, max_size=6))
def test_shaped_lexing_equals_findall(pairs: list[tuple[str, str]], seps: list[str],
                                      other: list[str]) -> None:
    """Once a shape is learnt from one record, any body gives exactly what findall gives."""
    def reference(body: str) -> dict[str, str]:
        return lexer._first_wins(lexer._KV.findall(body))

    rtype = "HYPOTHESIS_" + "_".join(k for k, _ in pairs)
    canonical = "".join(f" {k}={v}" for k, v in pairs)
    assert lexer._shaped(rtype, canonical) == reference(canonical)  # may learn the shape
    variant = "".join(f"{sep}{k}={v}" for (k, _), sep, v in zip(pairs, seps, other))
    for body in (canonical, variant, canonical + " tail", canonical[:-1]):
        got = lexer._shaped(rtype, body)
        assert got == reference(body)
        assert list(got) == list(reference(body))
