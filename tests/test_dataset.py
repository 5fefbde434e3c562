"""``auditlens parse --partition``: a Hive-partitioned Parquet dataset that DuckDB reads as is."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.cli import cli
from auditlens.dataset import check_partition_keys
from auditlens.errors import AuditlensError
from auditlens.schema import AUDITD_EVENTS, K8S_EVENTS

NODES = [str(SAMPLE_LOGS / "auditd" / "node-a"), str(SAMPLE_LOGS / "auditd" / "node-b")]


def _parse(*args: str) -> str:
    res = CliRunner().invoke(cli, ["parse", *args])
    assert res.exit_code == 0, res.output
    return res.output


def test_auditd_by_node_and_date_reads_back_with_duckdb(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "events"
    _parse(*NODES, "-o", str(out), "--partition", "node,date", "--jobs", "2")
    assert sorted(p.name for p in out.iterdir()) == ["node=node-a", "node=node-b"]
    single = auditlens.read_auditd(NODES, rejects=auditlens.RejectLog())
    glob = f"{out}/**/*.parquet"
    con = duckdb.connect()
    total = con.execute(f"select count(*) from read_parquet('{glob}', hive_partitioning=true)"
                        ).fetchone()[0]
    assert total == single.num_rows
    got = con.execute(
        f"select node, strftime(date, '%Y-%m-%d'), result, count(*), sum(record_count) "
        f"from read_parquet('{glob}', hive_partitioning=true) group by all order by all"
    ).fetchall()
    con.register("single", single)
    want = con.execute(
        "select node, strftime(time at time zone 'UTC', '%Y-%m-%d'), result, count(*), "
        "sum(record_count) from single group by all order by all").fetchall()
    assert got == want and len(got) > 2


def test_k8s_by_namespace_and_date(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "api"
    _parse(str(SAMPLE_LOGS / "k8s"), "-o", str(out), "--partition", "namespace,date")
    single = auditlens.read_k8s_audit(str(SAMPLE_LOGS / "k8s"))
    got = duckdb.sql(f"select namespace, count(*) from read_parquet('{out}/**/*.parquet', "
                     "hive_partitioning=true) group by all order by all").fetchall()
    names = single.column("namespace").to_pylist()
    want = sorted(((n, names.count(n)) for n in set(names)),
                  key=lambda r: (r[0] is None, r[0] or ""))
    assert sorted(got, key=lambda r: (r[0] is None, r[0] or "")) == want and len(want) > 1


@pytest.mark.parametrize(("keys", "schema", "message"), [
    ("node,serialx", AUDITD_EVENTS, "no such column"),
    ("record_types", AUDITD_EVENTS, "not a string, integer or boolean"),
    ("node,,date", AUDITD_EVENTS, "column names separated by commas"),
    ("date,date", AUDITD_EVENTS, "twice"),
    ("node", K8S_EVENTS, "cluster,date"),
])
def test_partition_keys_are_checked_against_the_schema(keys: str, schema: object,
                                                       message: str) -> None:
    with pytest.raises(AuditlensError, match=message):
        check_partition_keys(keys, schema.arrow)  # type: ignore[attr-defined]


def test_partition_refuses_files_and_full_directories(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    for out, message in ((tmp_path / "full", "not empty"), (tmp_path / "e.csv", "cannot be partitioned")):
        res = CliRunner().invoke(cli, ["parse", *NODES, "-o", str(out), "--partition", "node"])
        assert res.exit_code == 1 and message in res.output
    assert not (tmp_path / "e.csv").exists()
    assert check_partition_keys(["node", "date"], pa.schema(AUDITD_EVENTS.arrow)) == ["node", "date"]
