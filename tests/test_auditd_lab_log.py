"""Events of a real log, made on a test machine with the lab of scripts/sample_logs/auditlab.py: a
private auditd (ENRICHED, node ``node-cfg``), ``auditctl -w /tmp/watched -p wa -k testkey``, a
syscall rule with key ``delkey``, ``-e 1``, ``-b 8192``, both rules deleted again (``-W``/``-d``),
then an SSH login of a test user ``alice``. ``fixtures/auditd/config-change-and-login.log`` keeps
those events as logged; ``config-change-and-login.ausearch.csv`` is what the reference printed
for that file (``TZ=UTC ausearch --format csv --extra-labels --extra-keys -if``, 3.0.9).

Both reader paths must agree with it: the C fast path declines these events (their first record
is not SYSCALL) and Python makes their rows, so the two give one table.
"""

from __future__ import annotations

import csv
from typing import Any

import pyarrow as pa
import pytest
from test_vs_ausearch import (
    AUSEARCH,
    FIXTURES,
    _ausearch_key,
    as_ausearch_would,
    ausearch_value,
    run_ausearch,
)

from auditlens import read_auditd
from auditlens.auditd import native
from auditlens.auditd.normalize import NORMALIZED_COLUMNS

LOG = FIXTURES / "config-change-and-login.log"
GOLDEN = FIXTURES / "config-change-and-login.ausearch.csv"


def _read(path: str, *, fast: bool) -> pa.Table:
    saved = native.Parser
    if fast and saved is None:
        pytest.skip("the auditd C fast path is not compiled")
    native.Parser = saved if fast else None
    try:
        return read_auditd(path)
    finally:
        native.Parser = saved


@pytest.fixture(params=["python", "c"])
def rows(request: pytest.FixtureRequest) -> dict[int, dict[str, Any]]:
    table = _read(str(LOG), fast=request.param == "c")
    return {r["serial"]: r for r in table.to_pylist()}


def _golden() -> list[dict[str, str]]:
    with open(GOLDEN, newline="") as fh:
        return list(csv.DictReader(fh))


def test_c_and_python_paths_give_one_table() -> None:
    fast, py = _read(str(LOG), fast=True), _read(str(LOG), fast=False)
    assert fast.equals(py, check_metadata=True)


def test_rule_changes_are_the_op_on_the_rule_key(rows: dict[int, dict[str, Any]]) -> None:
    got = [(rows[s]["event_type"], rows[s]["action"], rows[s]["object_primary"], rows[s]["object_kind"])
           for s in range(265, 271)]
    assert got == [
        ("CONFIG_CHANGE", "add_rule", "testkey", "audit-config"),
        ("CONFIG_CHANGE", "add_rule", "delkey", "audit-config"),
        ("CONFIG_CHANGE", "set", "audit_enabled", "audit-config"),  # the setting, by name
        ("CONFIG_CHANGE", "set", "audit_backlog_limit", "audit-config"),
        ("CONFIG_CHANGE", "remove_rule", "testkey", "audit-config"),
        ("CONFIG_CHANGE", "remove_rule", "delkey", "audit-config"),
    ]
    assert {rows[s]["how"] for s in range(265, 271)} == {"/usr/sbin/auditctl"}
    assert {rows[s]["event_kind"] for s in range(265, 271)} == {"configuration"}


def test_every_column_agrees_with_what_ausearch_printed(rows: dict[int, dict[str, Any]]) -> None:
    golden = _golden()
    same_serial = [r for r in golden if r["EVENT"] == "SYSCALL"]
    ours = {(r.get("node"), r["serial"], int(r["time"].timestamp()), r["event_type"]): r
            for r in rows.values()}
    compared = 0
    for arow in golden:
        mine = ours.get(_ausearch_key(arow))
        if mine is None:  # a record ausearch split off an event of ours (LOGIN's SYSCALL)
            continue
        compared += 1
        for col in NORMALIZED_COLUMNS:
            split = [r for r in same_serial if r["SERIAL_NUM"] == arow["SERIAL_NUM"]]
            assert as_ausearch_would(mine, col) == ausearch_value(arow, col, mine, split), (col, arow)
    assert compared == len(rows)


def test_login_names_the_program_that_set_the_login_uid(rows: dict[int, dict[str, Any]]) -> None:
    login = rows[278]
    assert (login["event_type"], login["action"], login["object_primary"]) == (
        "LOGIN", "changed-login-id-to", "alice")
    assert login["how"] == "/usr/sbin/sshd"  # exe= of the SYSCALL record logged with it


@pytest.mark.skipif(AUSEARCH is None, reason="ausearch (auditd package) is not installed")
def test_the_golden_file_is_what_ausearch_prints() -> None:
    assert run_ausearch(LOG) == _golden()
