"""The report worked out node by node (reports.engine) equals the report of everything held in
memory at once: the same rows in the same order, the same cover figures; its runs on disk merge
in rounds; its memory does not grow with the fleet (measured in a child process)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import CORPORA, SAMPLE_LOGS

import auditlens.spill as spill
from auditlens.collect import collect
from auditlens.errors import AuditlensError
from auditlens.reports import REPORTS, Evidence, Filters, run_report
from auditlens.reports.engine import ReadSummary, Totals, cover
from auditlens.spill import Spill, as_table


def in_memory(sources: list[str], filters: Filters = Filters()) -> tuple[dict[str, pa.Table], dict[str, str]]:
    """Every section and the cover of the compliance report as one table of everything gives."""
    got = collect(sources)
    ev = Evidence(got, filters)
    tables = {r.name: r.table(ev) for r in REPORTS.values() if r.compliance}
    tables["rejected-lines"] = got.rejects.table()
    totals = Totals.of(got, ev.requests.num_rows, tables["audit-trail"], tables["detections"])
    read = ReadSummary(got.files, got.skipped, got.id_files, got.lines, got.reject_count)
    return tables, cover(totals, read, filters)


def streamed(sources: list[str], **options: Any) -> tuple[dict[str, pa.Table], dict[str, str]]:
    out = run_report("compliance", sources, **options)
    return {s.name: as_table(s.table) for s in out.sections}, out.cover or {}


def assert_same(got: tuple[dict[str, pa.Table], dict[str, str]],
                want: tuple[dict[str, pa.Table], dict[str, str]]) -> None:
    tables, front = got
    assert list(tables) == list(want[0])
    for name, table in tables.items():
        assert table.schema.names == want[0][name].schema.names, name
        assert table.to_pylist() == want[0][name].to_pylist(), name
    ignore = {"Generated (UTC)"}
    assert {k: v for k, v in front.items() if k not in ignore} == \
        {k: v for k, v in want[1].items() if k not in ignore}


def _corpus(sub: str) -> str:
    if not (CORPORA / sub).is_dir():
        pytest.skip(f"real-log corpora not found (set AUDITLENS_CORPORA); looked at {CORPORA.name}/")
    return str(CORPORA / sub)


def _with_service_events() -> list[str]:
    """The sample logs with the service-event fixture (IBM CADF lines and an API log with the
    hole a removed webhook opened); needs the cloud reader and its detection."""
    pytest.importorskip("auditlens.cloud.reader")
    return [str(SAMPLE_LOGS), str(Path(__file__).parent / "data" / "cloud_reports")]


SOURCES = {
    "sample logs": lambda: [str(SAMPLE_LOGS)],
    "with service events": _with_service_events,
    "auditd corpus": lambda: [_corpus("auditd")],
    "k8s corpus": lambda: [_corpus("k8s")],
    "everything": lambda: [str(SAMPLE_LOGS), _corpus("auditd"), _corpus("k8s")],
}


@pytest.mark.parametrize("which", SOURCES)
def test_streamed_report_equals_the_report_held_in_memory(which: str) -> None:
    sources = SOURCES[which]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = in_memory(sources)
        got = streamed(sources)
    assert sum(t.num_rows for t in got[0].values()) > 0
    assert_same(got, want)


def test_streamed_report_with_workers_and_filters_equals_the_one_in_memory() -> None:
    sources = [str(SAMPLE_LOGS), _corpus("k8s")]
    since = datetime(2026, 11, 28, tzinfo=timezone.utc)
    for filters in (Filters(since=since), Filters(user="root"), Filters(node="node-b")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = in_memory(sources, filters)
            got = streamed(sources, since=filters.since, user=filters.user, node=filters.node,
                           jobs=2)
        assert_same(got, want)


def test_runs_are_merged_in_rounds_with_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many runs (more than FAN_IN) of tiny batches merge into the same order."""
    sources = [str(SAMPLE_LOGS), _corpus("auditd"), _corpus("k8s")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = streamed(sources)
        monkeypatch.setattr(spill, "FAN_IN", 2)
        monkeypatch.setattr(spill, "BATCH_BYTES", 2000)
        got = streamed(sources)
    assert_same(got, want)


def test_a_node_collected_twice_is_one_node(tmp_path: Path) -> None:
    """Two collections of one node (folders of one name, cut inside a login session) are
    worked out together: the session across them is one row, as in one table of everything."""
    node = SAMPLE_LOGS / "auditd" / "node-a"
    logs = node / "var" / "log" / "audit"
    lines = b"".join((logs / n).read_bytes() for n in ("audit.log.2", "audit.log.1", "audit.log"))
    lines_list = lines.splitlines(keepends=True)
    login = next(i for i, line in enumerate(lines_list) if b"type=LOGIN " in line)
    serial = re.search(rb"msg=audit\([\d.]+:(\d+)\)", lines_list[login])
    assert serial is not None
    cut = next(i for i in range(login, len(lines_list)) if serial.group(0) not in lines_list[i])
    for month, part in (("2026-11", lines_list[:cut]), ("2026-12", lines_list[cut:])):
        folder = tmp_path / month / "node-a"
        shutil.copytree(node / "etc", folder / "etc")
        (folder / "var" / "log" / "audit").mkdir(parents=True)
        (folder / "var" / "log" / "audit" / "audit.log").write_bytes(b"".join(part))
    sources = [str(tmp_path / "2026-11"), str(tmp_path / "2026-12")]
    got = streamed(sources)
    assert_same(got, in_memory(sources))
    # the same sessions as the node's folder read whole (but for the files named as evidence)
    columns = ["session", "actor", "start", "end", "commands", "event_count", "note"]
    whole = streamed([str(node)])[0]["sessions"].select(columns)
    assert got[0]["sessions"].select(columns).to_pylist() == whole.to_pylist()
    # and not what each collection alone gives: the session cut in two, once without logout
    alone = [streamed([s])[0]["sessions"]["note"].to_pylist() for s in sources]
    assert len(alone[0]) + len(alone[1]) == whole.num_rows + 1
    assert any("no logout" in (n or "") for n in alone[0])


def test_a_node_named_in_two_places_is_warned_about(tmp_path: Path) -> None:
    node = SAMPLE_LOGS / "auditd" / "node-a"
    shutil.copytree(node, tmp_path / "node-a")
    loose = tmp_path / "loose.log"
    loose.write_bytes((node / "var" / "log" / "audit" / "audit.log").read_bytes()[:4000])
    with pytest.warns(UserWarning, match="node 'node-a' is in the logs of"):
        run_report("sessions", [str(tmp_path / "node-a"), str(loose)])


def test_spilled_table_merges_with_nulls_last_and_reads_in_slices(tmp_path: Path) -> None:
    s = Spill(str(tmp_path))
    ts = pa.timestamp("us", tz="UTC")
    a = pa.table({"time": pa.array([3, None, 1], ts), "node": ["b", "a", None],
                  "__origin": [0, 0, 0], "__position": [0, 1, 2]})
    b = pa.table({"time": pa.array([1, 3, None], ts), "node": ["a", "a", "b"],
                  "__origin": [1, 1, 1], "__position": [0, 1, 2]})
    order = ("time", "node", "__origin", "__position")
    table = s.table([s.write(a, order), s.write(b, order)], a.schema, order,
                    hidden=("__origin", "__position"))
    assert table.column_names == ["time", "node"]
    rows = [(r["time"] and r["time"].timestamp() * 1e6, r["node"]) for r in table.to_pylist()]
    assert rows == [(1, "a"), (1, None), (3, "a"), (3, "b"), (None, "a"), (None, "b")]
    assert table.slice(2, 3).read().to_pylist() == table.read().slice(2, 3).to_pylist()
    assert table.select(["node"]).read().column_names == ["node"]
    s.close()
    assert not any(tmp_path.iterdir())


_PEAK_RUN = """
import sys
import auditlens
auditlens.run_report("compliance", sys.argv[1], output=sys.argv[2], fmt="csv")
with open("/proc/self/status") as f:
    print(next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) // 1024)
"""


def _fleet(root: Path, nodes: int, log: Path) -> Path:
    for i in range(nodes):
        folder = root / f"node-{i:03d}" / "var" / "log" / "audit"
        folder.mkdir(parents=True)
        try:
            os.link(log, folder / "audit.log")
        except OSError:
            shutil.copy(log, folder / "audit.log")
    return root


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for peak memory")
def test_memory_does_not_grow_with_the_fleet(tmp_path: Path) -> None:
    """Peak memory of a compliance report to CSV over 6 and over 24 nodes (a real 3 MB log
    each): the second reads four times as much; the whole fleet in memory took +87 %."""
    log = Path(_corpus("auditd")) / "SELinuxProject__selinux" / "python__sepolgen__tests__test_data__httpd.log"
    if not log.is_file():
        pytest.skip("the SELinux httpd log of the corpora is not there")
    peaks = {}
    for nodes in (6, 24):
        fleet = _fleet(tmp_path / f"fleet-{nodes}", nodes, log)
        done = subprocess.run([sys.executable, "-c", _PEAK_RUN, str(fleet), str(tmp_path / f"out-{nodes}")],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        peaks[nodes] = int(done.stdout.strip().splitlines()[-1])
        rows = sum(1 for f in (tmp_path / f"out-{nodes}").glob("*.csv") for _ in f.open())
        assert rows > nodes * 100
    assert peaks[24] <= peaks[6] * 1.15, json.dumps(peaks)


def test_no_room_for_the_rows_is_said_plainly(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(AuditlensError, match="cannot keep the report's rows on disk in .*TMPDIR"):
        run_report("logins", str(SAMPLE_LOGS), spill_dir=str(not_a_dir))
    with pytest.raises(AuditlensError, match="cannot keep the report's rows on disk"):
        spill.write_run(pa.table({"a": [1]}), not_a_dir)
