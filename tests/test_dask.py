"""``auditlens.dask``: lazy DataFrames on a real (local, multi-process) Dask cluster."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import SAMPLE_LOGS

import auditlens

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
