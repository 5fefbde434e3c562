"""``auditlens.dask``: lazy DataFrames on a real (local, multi-process) Dask cluster."""

from __future__ import annotations

import subprocess
import sys
import warnings

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


def test_on_a_local_cluster_equals_the_single_process_table() -> None:
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    import pandas as pd

    import auditlens.dask as adk

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
    assert events.npartitions == 6 and api.npartitions == 2
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want)
    pd.testing.assert_frame_equal(got_k8s.reset_index(drop=True), want_k8s)
    assert failed.sum() == (want.result == "failed").sum() > 0
