"""The cross-layer timeline as a report: built node by node like the others, each unit's rows
merged by time and tied to persons with what every unit knows of identities; the same table as
in memory and as :func:`timeline`; ``--user`` and ``--cluster``; every export format."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.cli import cli
from auditlens.collect import collect
from auditlens.rejects import RejectLog
from auditlens.reports import REPORTS, Evidence, Filters, run_report
from auditlens.reports.engine import Plan, Unit, _unit
from auditlens.reports.timeline import timeline
from auditlens.schema import TIMELINE
from auditlens.spill import as_table

DATA = Path(__file__).parent / "data"
SERVICE = [str(SAMPLE_LOGS), str(DATA / "cloud_reports")]


def streamed(sources: list[str], **options: Any) -> pa.Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # files that are not logs (README …)
        with run_report("timeline", sources, **options) as out:
            return as_table(out.table)


def in_memory(sources: list[str], filters: Filters = Filters(), cluster: str | None = None) -> pa.Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return REPORTS["timeline"].table(Evidence(collect(sources, cluster=cluster), filters,
                                                     cluster=cluster))


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return sorted(zip(*(table[c].to_pylist() for c in ("evidence", "person", "matched_by", "layer"))),
                  key=repr)


@pytest.mark.parametrize("options", [{}, {"jobs": 2}, {"user": "alice"}, {"user": "root", "node": "node-b"}])
def test_streamed_timeline_equals_the_one_held_in_memory(options: dict[str, Any]) -> None:
    got = streamed(SERVICE, **options)
    want = in_memory(SERVICE, Filters(user=options.get("user"), node=options.get("node")))
    assert got.num_rows > 0
    assert got.schema.names == TIMELINE.names
    assert got.to_pylist() == want.to_pylist()
    times = got["time"].to_pylist()
    assert times == sorted(times)


def test_the_report_ties_as_timeline_does_across_units() -> None:
    """Node rows (node units) tie to API usernames (the cluster unit) only with what the other
    unit knows: the report gives every row the person and link :func:`timeline` gives it."""
    got = streamed(SERVICE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = timeline(auditlens.activity(SERVICE))
    assert rows(got) == rows(want)
    alice = got.filter(pc.equal(got["person"], "alice"))
    assert {"api", "node"} <= set(alice["layer"].to_pylist())
    assert set(alice["matched_by"].to_pylist()) == {"same-name"}


def test_each_unit_alone_cannot_tie_a_node_login_to_an_api_username() -> None:
    """Why the report shares identities between units: a node unit's rows alone are unmatched."""
    node_a = str(SAMPLE_LOGS / "auditd" / "node-a")
    files = [str(p) for p in sorted(Path(node_a).rglob("audit.log*"))]
    unit = Unit(0, "node-a", ((0, Path(node_a), tuple(files)),))
    plan = Plan(("timeline",), Filters(user="alice"))
    result = _unit(unit, plan, RejectLog(), 1)
    part = result.sections["timeline"]
    assert isinstance(part, pa.Table) and part.num_rows > 0
    assert set(part["matched_by"].to_pylist()) == {None}  # not worked out in the unit
    known = result.shared["timeline"]
    assert ("alice", "node", "name") in known
    assert all(layer == "node" for _, layer, _ in known)  # no other layer: nothing to tie yet
    full = streamed([node_a, str(SAMPLE_LOGS / "k8s")], user="alice")
    assert set(full.filter(pc.equal(full["layer"], "node"))["matched_by"].to_pylist()) == {"same-name"}


def test_user_takes_any_form_of_the_identity() -> None:
    eks = [str(DATA / "cloud_timeline" / "eks")]
    arn = "arn:aws:iam::111122223333:user/alice"
    by_arn = streamed(eks, user=arn)
    by_path = streamed(eks, user="arn:aws:iam::111122223333:user/team/alice")  # path left out
    assert by_arn.num_rows == 2 and by_arn.to_pylist() == by_path.to_pylist()
    assert set(zip(by_arn["layer"].to_pylist(), by_arn["actor"].to_pylist())) == {
        ("service", "alice"), ("api", "alice-admin")}
    assert set(by_arn["person"].to_pylist()) == {arn}
    assert set(by_arn["matched_by"].to_pylist()) == {"arn"}
    # the name alone is only the rows logged under that name
    assert streamed(eks, user="alice")["actor"].to_pylist() == ["alice"]


def test_cluster_keeps_its_rows_by_name_or_id_and_rows_that_name_none() -> None:
    everything = streamed(SERVICE)
    clusters = set(everything["cluster"].drop_null().to_pylist())
    assert len(clusters) >= 2, clusters  # the service events name the cluster by name and by id
    mine = streamed(SERVICE, cluster="demo")
    assert mine.to_pylist() == in_memory(SERVICE, cluster="demo").to_pylist()
    kept = set(mine["cluster"].drop_null().to_pylist())
    assert "demo" in kept and kept < clusters | {"demo"}
    assert mine.num_rows > 0 and pc.sum(pc.is_null(mine["cluster"])).as_py() > 0
    other = streamed(SERVICE, cluster="no-such-cluster")
    assert set(other["cluster"].drop_null().to_pylist()) <= {"no-such-cluster"}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet", "md", "xlsx", "html"])
def test_timeline_in_every_format(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"timeline.{fmt}"
    result = CliRunner().invoke(cli, ["report", "timeline", str(SAMPLE_LOGS), "--user", "alice",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    reported = int(result.output.split("timeline: ", 1)[1].split(" rows")[0])
    assert reported == streamed([str(SAMPLE_LOGS)], user="alice").num_rows > 0


def test_compliance_leaves_the_timeline_out() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with run_report("compliance", [str(SAMPLE_LOGS / "k8s")]) as out:
            names = [s.name for s in out.sections]
    assert "timeline" not in names and "logins" in names
