"""``auditlens.dask``: lazy DataFrames on a real (local, multi-process) Dask cluster."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.spill import as_table

NODES = [str(SAMPLE_LOGS / "auditd" / "node-a"), str(SAMPLE_LOGS / "auditd" / "node-b")]


def test_import_auditlens_does_not_import_dask() -> None:
    code = ("import sys, auditlens; auditlens.read_auditd; auditlens.read_k8s_audit; "
            "print('dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_log_streams_keep_rotated_files_together() -> None:
    pytest.importorskip("dask.dataframe")
    import auditlens.dask as adk

    streams = [s for s in adk.log_streams(NODES) if "audit.log" in s[0]]
    assert [[n.rsplit("/", 1)[1] for n in s] for s in streams] == [
        ["audit.log.2", "audit.log.1", "audit.log"], ["audit.log.2.gz", "audit.log.1", "audit.log"]]


def test_on_a_local_cluster_equals_the_single_process_table(tmp_path: Path) -> None:
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    import dask
    import pandas as pd

    import auditlens.dask as adk

    bad_node = tmp_path / "node-x"
    bad_node.mkdir()
    log_a = SAMPLE_LOGS / "auditd" / "node-a" / "var" / "log" / "audit" / "audit.log"
    real = log_a.read_bytes().splitlines(True)[:40]
    (bad_node / "audit.log").write_bytes(b"".join(real[:10] + [b"garbage line\n"] + real[10:]))
    bad_k8s = tmp_path / "api.log"
    k8s_lines = (SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log").read_bytes().splitlines(True)[:5]
    bad_k8s.write_bytes(b"".join(k8s_lines[:2] + [b'{"auditID": "x", "user": 5}\n'] + k8s_lines[2:]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = auditlens.read_auditd(NODES).to_pandas(types_mapper=pd.ArrowDtype)
        want_k8s = auditlens.read_k8s_audit(str(SAMPLE_LOGS / "k8s")).to_pandas(
            types_mapper=pd.ArrowDtype)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            events = adk.read_auditd(NODES)
            api = adk.read_k8s_audit(str(SAMPLE_LOGS / "k8s"))
            assert isinstance(events.dtypes["time"], pd.ArrowDtype)  # from the schema, no compute
            got = events.compute()
            got_k8s = api.compute()
            failed = events[events.result == "failed"].groupby("node").size().compute()
            both = adk.read_auditd_with_rejects([*NODES, str(bad_node)])
            both_k8s = adk.read_k8s_audit_with_rejects(str(bad_k8s))
            rows, rejects, k8s_rows, k8s_rejects = dask.compute(
                both.rows, both.rejects, both_k8s.rows, both_k8s.rejects)
        log, k8s_log = auditlens.RejectLog(), auditlens.RejectLog()
        want_rows = auditlens.read_auditd([*NODES, str(bad_node)], rejects=log)
        want_k8s_rows = auditlens.read_k8s_audit(str(bad_k8s), rejects=k8s_log)
    assert events.npartitions == 6 and api.npartitions == 2
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want)
    pd.testing.assert_frame_equal(got_k8s.reset_index(drop=True), want_k8s)
    assert failed.sum() == (want.result == "failed").sum() > 0
    # rejects come back from the workers, as the single-process reader collects them
    assert len(rows) == want_rows.num_rows and len(k8s_rows) == want_k8s_rows.num_rows
    assert rejects.reset_index(drop=True).equals(
        log.table().to_pandas(types_mapper=pd.ArrowDtype))
    mine = rejects[rejects.file == str(bad_node / "audit.log")]
    assert list(mine.line) == [11] and list(k8s_rejects.line) == [3]
    assert list(k8s_rejects.reason) == [r.reason for r in k8s_log]


def _bad_inputs(tmp_path: Path) -> tuple[Path, Path, int, int]:
    """An auditd log and a k8s log with bad lines among real ones, and their line counts."""
    audit = tmp_path / "node-y" / "audit.log"
    audit.parent.mkdir()
    real = (SAMPLE_LOGS / "auditd" / "node-a" / "var" / "log" / "audit" / "audit.log").read_bytes()
    lines = real.splitlines(True)[:30]
    audit.write_bytes(b"".join([b"garbage line\n", *lines[:12], b"\n", b"type=\n", *lines[12:]]))
    api = tmp_path / "api.log"
    k8s = (SAMPLE_LOGS / "k8s" / "kube-apiserver-audit.log").read_bytes().splitlines(True)[:6]
    api.write_bytes(b"".join([*k8s[:3], b"{not json\n", *k8s[3:], b'{"auditID": "x", "user": 5}\n']))
    return audit, api, len(lines) + 3, len(k8s) + 2


def test_rejects_come_back_and_every_line_is_accounted_for(tmp_path: Path) -> None:
    pytest.importorskip("dask.dataframe")
    import dask

    import auditlens.dask as adk

    audit, api, audit_lines, api_lines = _bad_inputs(tmp_path)
    both, both_k8s = adk.read_auditd_with_rejects(str(audit)), adk.read_k8s_audit_with_rejects(str(api))
    with dask.config.set(scheduler="threads"):  # the local scheduler
        rows, rejects, k8s_rows, k8s_rejects = dask.compute(
            both.rows, both.rejects, both_k8s.rows, both_k8s.rejects)
    assert list(rejects.columns) == ["file", "line", "reason", "raw"]
    assert list(rejects.line) == [1, 14, 15] and set(rejects.file) == {str(audit)}
    assert rejects.reason.str.len().min() > 0 and list(rejects.raw)[0] == "garbage line"
    assert int(rows.record_count.sum()) + len(rejects) == audit_lines
    assert list(k8s_rejects.line) == [4, 8] and set(k8s_rejects.file) == {str(api)}
    assert len(k8s_rows) + len(k8s_rejects) == api_lines


def test_plain_readers_warn_naming_the_reader_that_gives_the_rejects(tmp_path: Path) -> None:
    pytest.importorskip("dask.dataframe")
    import auditlens.dask as adk

    audit, api, _, _ = _bad_inputs(tmp_path)
    with pytest.warns(UserWarning, match=r"3 line\(s\) .* auditlens\.dask\.read_auditd_with_rejects\(\)"):
        adk.read_auditd(str(audit)).compute(scheduler="sync")
    with pytest.warns(UserWarning, match=r"2 line\(s\) .* auditlens\.dask\.read_k8s_audit_with_rejects\(\)"):
        adk.read_k8s_audit(str(api)).compute(scheduler="sync")


def test_a_report_on_a_local_cluster_equals_the_one_process_report(tmp_path: Path) -> None:
    """``auditlens report … --dask local`` / ``auditlens.dask.run_report``: each node (and the
    Kubernetes logs) read on the cluster's workers, gathered in node order: the same sections row
    for row, the same rejects and cover figures as one process, and the same CSV files."""
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    from click.testing import CliRunner

    import auditlens.dask as adk
    from auditlens.cli import cli

    fleet = tmp_path / "fleet"
    shutil.copytree(SAMPLE_LOGS, fleet)
    bad = fleet / "auditd" / "node-a" / "var" / "log" / "audit" / "audit.log"
    bad.write_bytes(bad.read_bytes() + b"garbage line\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = auditlens.run_report("compliance", str(fleet))
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            got = adk.run_report("compliance", str(fleet), client=client)
    assert [s.name for s in got.sections] == [s.name for s in want.sections]
    for mine, theirs in zip(got.sections, want.sections):
        assert as_table(mine.table).equals(as_table(theirs.table)), mine.name
    assert got.collection.reject_count == want.collection.reject_count == 1
    assert {k: v for k, v in (got.cover or {}).items() if k != "Generated (UTC)"} == \
        {k: v for k, v in (want.cover or {}).items() if k != "Generated (UTC)"}
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    runner = CliRunner()
    for out, extra in ((one, []), (many, ["--dask", "local"])):
        # the timeline: its units' identities come back from the workers and tie the rows
        done = runner.invoke(cli, ["report", "timeline", str(fleet), "-o", str(out), *extra])
        assert done.exit_code == 0, done.output
    assert many.read_bytes() == one.read_bytes() and one.read_bytes().count(b"\n") > 3
    assert b"same-name" in one.read_bytes()  # node logins tied to API usernames across units


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    import auditlens.dask as adk

    with pytest.raises(auditlens.AuditlensError, match="cannot reach the Dask scheduler"):
        with adk.connect("tcp://127.0.0.1:9", timeout="1s"):
            pass
