"""read_cloud_audit / open_cloud_audit: framing, wrappers, times, the line account, rejects,
since/until, jobs, detection and ``auditlens parse --source-type cloud``."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import shutil
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import auditlens
from auditlens import ParseError, RejectLog
from auditlens.cli import cli
from auditlens.cloud.reader import open_cloud_audit, parse_times, read_cloud_audit
from auditlens.collect import lines_read
from auditlens.formats import detect_file, detect_lines
from auditlens.schema import CLOUD_EVENTS
from auditlens.sources import expand_sources

DATA = Path(__file__).parent / "data" / "cloud"
K8S = Path(__file__).parent / "fixtures" / "k8s"
FILES = ["ibm-events.jsonl", "ibm-export.json", "ibm-legacy.jsonl", "logdna-archive.json",
         "event-routing.log", "ibm-malformed.jsonl"]


def meta(table: pa.Table, key: str) -> int:
    return int(table.schema.metadata[f"auditlens.{key}".encode()])


def check_account(table: pa.Table) -> None:
    """Every line is in a row, a reject or blank."""
    assert meta(table, "lines") == (meta(table, "lines_in_rows") + meta(table, "lines_in_rejects")
                                    + meta(table, "lines_empty"))


def read(source, **kw) -> tuple[pa.Table, RejectLog]:
    log = RejectLog()
    table = read_cloud_audit(source, rejects=log, **kw)
    check_account(table)
    return table, log


def test_public_api() -> None:
    assert auditlens.read_cloud_audit is read_cloud_audit
    assert auditlens.open_cloud_audit is open_cloud_audit


def test_json_lines_one_row_per_line() -> None:
    table, log = read(DATA / "ibm-events.jsonl")
    assert table.schema == CLOUD_EVENTS.arrow.with_metadata(table.schema.metadata)
    assert table.num_rows == 8 and not len(log)
    assert table.column("line").to_pylist() == list(range(1, 9))
    assert set(table.column("provider").to_pylist()) == {"ibm"}
    assert lines_read(table) == 8 == meta(table, "lines_in_rows")


@pytest.mark.parametrize("reader", [read_cloud_audit, auditlens.read_k8s_audit,
                                    auditlens.read_auditd])
@pytest.mark.parametrize("as_file", [False, True])
def test_a_false_gzip_header_is_one_reject(reader, as_file: bool, tmp_path: Path) -> None:
    """Input that starts with gzip's magic bytes but is not gzip is damaged input like any other:
    its rest is one reject at line 1, with the decompressor's reason, in every line reader (the
    cloud reader raised while it looked for a Parquet archive's magic)."""
    data = b'\x1f\x8b{"action": "a.b", "eventTime": "2026-12-01T00:00:00Z"}\n'
    path = tmp_path / "events.json"
    path.write_bytes(data)
    log = RejectLog()
    table = reader(str(path) if as_file else io.BytesIO(data), rejects=log)
    assert table.num_rows == 0
    assert [(r.line, r.reason) for r in log] == [
        (1, "the rest of the input could not be read (corrupt or truncated: Unknown compression "
            "method)")]


def test_times_with_offset_without_colon() -> None:
    table, _ = read(DATA / "ibm-events.jsonl")
    first = table.column("time")[0].as_py()
    assert first == datetime(2026, 12, 1, 8, 14, 3, 520000, tzinfo=timezone.utc)
    assert table.column("time")[2].as_py().microsecond == 118000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2022-06-30T03:12:49.63+0000", datetime(2022, 6, 30, 3, 12, 49, 630000)),
     ("2022-06-30T03:12:49.6+0000", datetime(2022, 6, 30, 3, 12, 49, 600000)),
     ("2022-06-30T05:12:49.631+0200", datetime(2022, 6, 30, 3, 12, 49, 631000)),
     ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10)),
     ("2024-05-01T10:00:00.123456789Z", datetime(2024, 5, 1, 10, 0, 0, 123456)),
     ("2024-05-01T10:00:00.1234567Z", datetime(2024, 5, 1, 10, 0, 0, 123456)),
     ("2024-05-01T15:30:00+05:30", datetime(2024, 5, 1, 10)),
     ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10))],  # no offset: UTC
)
def test_parse_times(text: str, expected: datetime) -> None:
    array, bad = parse_times([text])
    assert not bad
    assert array[0].as_py() == expected.replace(tzinfo=timezone.utc)


def test_parse_times_marks_the_unreadable() -> None:
    array, bad = parse_times(["2024-05-01T10:00:00Z", "noon", "2024-02-30T00:00:00Z"])
    assert bad == [1, 2] and array.null_count == 2 and array[0].is_valid


def test_pretty_printed_array_rows_at_its_first_line() -> None:
    table, log = read(DATA / "ibm-export.json")
    assert table.num_rows == 3 and not len(log)
    assert table.column("line").to_pylist() == [1, 1, 1]
    lines = (DATA / "ibm-export.json").read_text().count("\n")
    assert meta(table, "lines") == lines == meta(table, "lines_in_rows")


def test_legacy_payload_wrapper() -> None:
    table, log = read(DATA / "ibm-legacy.jsonl")
    assert table.num_rows == 3 and not len(log)
    raw = json.loads(table.column("raw")[0].as_py())
    assert "payload" not in raw and raw["action"] == "containers-kubernetes.worker.replace"


def test_logdna_archive_gzipped_in_a_hive_folder(tmp_path: Path) -> None:
    folder = tmp_path / "year=2026" / "month=12" / "day=04"
    folder.mkdir(parents=True)
    target = folder / "4f2a9c7e.2026-12-04.0200.json.gz"
    target.write_bytes(gzip.compress((DATA / "logdna-archive.json").read_bytes()))
    table, log = read(tmp_path)
    assert table.num_rows == 4 and not len(log)
    assert table.column("origin")[0].as_py() == "203.0.113.24"
    assert table.column("outcome").to_pylist()[-1] == "denied"
    raw = json.loads(table.column("raw")[0].as_py())
    assert "_line" not in raw and "o_initiator" not in raw and "initiator" in raw


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lambda b: b])
def test_event_routing_objects(tmp_path: Path, compress) -> None:
    path = tmp_path / "4f2a9c7e" / "eu-de" / "2026-12-04T02" / "1764813600_0b1c.log"
    path.parent.mkdir(parents=True)
    path.write_bytes(compress((DATA / "event-routing.log").read_bytes()))
    table, log = read(tmp_path)
    assert table.num_rows == 8 and not len(log)


def test_malformed_each_line_a_row_or_a_reject() -> None:
    path = DATA / "ibm-malformed.jsonl"
    table, log = read(path)
    reasons = {r.line: r.reason for r in log}
    assert table.column("line").to_pylist() == [6]
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert reasons[1].startswith("invalid JSON (a line cut short?)")
    assert "initiator is a str" in reasons[2]
    assert reasons[3] == "ibm event without a time"
    assert reasons[4].startswith("JSON of no known provider")
    assert next(r for r in log if r.line == 4).raw.endswith("}")
    assert "cannot be read" in reasons[5]
    assert all(r.file == str(path) for r in log)
    assert meta(table, "lines") == 7  # 6 lines and a blank one
    assert (meta(table, "lines_in_rows"), meta(table, "lines_in_rejects"),
            meta(table, "lines_empty")) == (1, 5, 1)
    assert meta(table, "rejects") == 5


def test_wrong_type_of_time() -> None:
    event = json.loads((DATA / "ibm-events.jsonl").read_text().splitlines()[0])
    event["eventTime"] = 1764576843
    table, log = read(io.BytesIO(json.dumps(event).encode()))
    assert table.num_rows == 0 and [r.reason for r in log] == ["ibm event whose time is a int, "
                                                                "not text"]


def test_whole_directory_every_line_accounted() -> None:
    table, log = read([DATA / name for name in FILES])
    total = sum((DATA / name).read_text().count("\n") for name in FILES)
    assert meta(table, "lines") == total
    assert table.num_rows == 8 + 3 + 3 + 4 + 8 + 1
    assert len(log) == 5


def test_errors_raise_names_file_and_line() -> None:
    with pytest.raises(ParseError) as info:
        read_cloud_audit(DATA / "ibm-malformed.jsonl", errors="raise")
    assert info.value.line == 1 and str(DATA / "ibm-malformed.jsonl") in str(info.value.file)


def test_warning_when_rejects_are_not_kept() -> None:
    with pytest.warns(UserWarning, match="5 cloud audit line"):
        read_cloud_audit(DATA / "ibm-malformed.jsonl")


def test_no_warning_for_clean_input() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_cloud_audit(DATA / "ibm-events.jsonl")


def test_since_until() -> None:
    table, _ = read(DATA / "ibm-events.jsonl", since="2026-12-02", until="2026-12-03")
    assert table.column("action").to_pylist() == [
        "containers-kubernetes.worker.reboot", "containers-kubernetes.worker.replace",
        "containers-kubernetes.cluster-audit-webhook.update"]
    assert meta(table, "rows_outside") == 5
    since = datetime(2026, 12, 4, 3, tzinfo=timezone.utc)
    assert read(DATA / "ibm-events.jsonl", since=since)[0].num_rows == 2


def test_jobs_2_equals_jobs_1() -> None:
    sources = [DATA / name for name in FILES]
    one = read_cloud_audit(sources, rejects=RejectLog())
    two = read_cloud_audit(sources, rejects=RejectLog(), jobs=2)
    assert one.equals(two) and one.schema.metadata == two.schema.metadata


def test_streaming_batches_and_stdin_like_stream() -> None:
    data = (DATA / "ibm-events.jsonl").read_bytes()
    batches = list(open_cloud_audit(io.BytesIO(data), batch_size=3))
    assert [b.num_rows for b in batches] == [3, 3, 2]


def test_max_line_bytes() -> None:
    table, log = read(DATA / "ibm-events.jsonl", max_line_bytes=900)
    assert table.num_rows + len(log) == 8
    assert all(r.reason.startswith("line too long") for r in log) and len(log) > 0


def test_document_longer_than_the_limit_is_rejected() -> None:
    table, log = read(DATA / "ibm-export.json", max_line_bytes=600)
    (reject,) = log
    assert table.num_rows == 0 and reject.reason.startswith("JSON document too long")
    assert reject.line == 1 and meta(table, "lines_in_rejects") == meta(table, "lines")


def test_line_cut_at_the_end_of_a_document() -> None:
    text = (DATA / "ibm-export.json").read_text()
    cut = text[: len(text) // 2]
    table, log = read(io.BytesIO(cut.encode()))
    assert table.num_rows == 0
    assert [r.reason for r in log][0].endswith("not closed at the end of the input")


def test_cloudtrail_records_document_of_no_registered_provider_is_a_reject() -> None:
    """Until the AWS provider lands the Records file is JSON of no known provider; with it, rows."""
    doc = {"Records": [{"eventVersion": "1.09", "eventSource": "eks.amazonaws.com",
                        "eventName": "DeleteCluster", "eventTime": "2024-05-01T10:00:00Z"}]}
    table, log = read(io.BytesIO(json.dumps(doc, indent=2).encode()))
    assert table.num_rows + len(log) == 1


def test_parquet_archive(tmp_path: Path) -> None:
    lines = (DATA / "ibm-events.jsonl").read_text().splitlines()
    texts = [*lines, None, "not json"]
    archive = pa.table({"timestamp": pa.array(range(len(texts)), pa.int64()),
                        "src_obj__user_data": pa.array(texts, pa.string())})
    path = tmp_path / "archive.parquet"
    pq.write_table(archive, path)
    table, log = read(path)
    assert table.num_rows == 8 and table.column("line").to_pylist() == list(range(1, 9))
    assert [(r.line, r.reason.split(":")[0]) for r in log] == [(10, "src_obj__user_data is not JSON")]
    assert meta(table, "lines") == 10
    assert detect_file(expand_sources(path)[0]) == "cloud"


def test_parquet_without_the_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    with pytest.raises(auditlens.FormatError):
        read_cloud_audit(path)


# -- detection --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FILES[:5])
def test_detect_ibm(name: str) -> None:
    assert detect_file(expand_sources(DATA / name)[0]) == "cloud"


@pytest.mark.parametrize(
    "head",
    [b'{"eventVersion":"1.09","eventSource":"eks.amazonaws.com","eventName":"DeleteCluster"}',
     b'{\n  "Records": [\n',
     b'{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",'
     b'"serviceName":"container.googleapis.com"}}',
     b'{"records":[{"operationName":"MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/DELETE",'
     b'"category":"Administrative","resourceId":"/SUBSCRIPTIONS/X","identity":{"claims":{}},'
     b'"caller":"a@example.com"}]}'],
)
def test_detect_other_clouds(head: bytes) -> None:
    assert detect_lines(head.split(b"\n")) == "cloud"


@pytest.mark.parametrize("name", ["gke_logentries.json", "aks_eventhubs.json",
                                  "aks_object_bom.json", "base_events.jsonl"])
def test_gke_and_aks_api_audit_stay_k8s(name: str) -> None:
    assert detect_file(expand_sources(K8S / name)[0]) == "k8s"


# -- the command ------------------------------------------------------------------------------

def test_cli_parse_source_type_cloud(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    got = CliRunner().invoke(cli, ["parse", "--source-type", "cloud", str(DATA / "ibm-events.jsonl"),
                                   str(DATA / "ibm-malformed.jsonl"), "-o", str(out)])
    assert got.exit_code == 0, got.output
    assert pq.read_table(out).num_rows == 9
    assert "cloud: 9 events, 5 lines rejected" in got.output


def test_cli_parse_detects_cloud(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(DATA / "ibm-legacy.jsonl", src)
    out = tmp_path / "out.jsonl"
    got = CliRunner().invoke(cli, ["parse", str(src), "-o", str(out)])
    assert got.exit_code == 0, got.output
    assert len(out.read_text().splitlines()) == 3


def test_collect_reads_cloud_files_beside_the_api_log(tmp_path: Path) -> None:
    from auditlens.collect import collect

    shutil.copy(DATA / "ibm-events.jsonl", tmp_path)
    shutil.copy(K8S / "base_events.jsonl", tmp_path)
    got = collect([str(tmp_path)])
    want = read_cloud_audit(DATA / "ibm-events.jsonl")
    assert got.cloud.num_rows == want.num_rows > 0 and got.k8s.num_rows > 0
    assert got.files["cloud"] == [str(tmp_path / "ibm-events.jsonl")]


@pytest.mark.parametrize("names", [["ibm-events.jsonl"] * 40, ["ibm-export.json"] * 10,
                                   ["ibm-malformed.jsonl", "ibm-events.jsonl"] * 20])
def test_jobs_2_in_byte_ranges_equals_jobs_1(tmp_path: Path, names: list[str]) -> None:
    """Large plain files are read in pieces; a document open at a cut (a pretty-printed array)
    or a reason quoting a line makes the read fall back to one process: the same table."""
    from auditlens.cloud import parallel

    path = tmp_path / "big.log"
    path.write_bytes(b"".join((DATA / n).read_bytes() for n in names))
    one_log, two_log = RejectLog(), RejectLog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = read_cloud_audit(path, rejects=one_log, since="2026-12-02")
        two = parallel.read_cloud_audit(path, errors="collect", rejects=two_log, jobs=2,
                                        since="2026-12-02", until=None, chunk_bytes=4096)
    assert one.equals(two) and one.schema.metadata == two.schema.metadata
    assert list(one_log) == list(two_log)


def test_time_of_the_right_shape_but_no_date_is_rejected_with_its_batch() -> None:
    event = json.loads((DATA / "ibm-events.jsonl").read_text().splitlines()[0])
    lines = [json.dumps({**event, "eventTime": "2026-02-30T10:00:00+0000"}), json.dumps(event)]
    table, log = read(io.BytesIO("\n".join(lines).encode()))
    assert table.num_rows == 1
    assert [(r.line, r.reason) for r in log] == [
        (1, "ibm event time '2026-02-30T10:00:00+0000' cannot be read")]
    assert (meta(table, "lines_in_rows"), meta(table, "lines_in_rejects")) == (1, 1)


def test_jobs_2_with_parquet_and_json_and_errors_raise(tmp_path: Path) -> None:
    texts = (DATA / "ibm-events.jsonl").read_text().splitlines()
    pq.write_table(pa.table({"src_obj__user_data": texts}), tmp_path / "a.parquet")
    shutil.copy(DATA / "ibm-legacy.jsonl", tmp_path / "b.jsonl")
    one = read_cloud_audit(tmp_path)
    two = read_cloud_audit(tmp_path, jobs=2)
    assert one.num_rows == 11 and one.equals(two)
    shutil.copy(DATA / "ibm-malformed.jsonl", tmp_path / "c.jsonl")
    with pytest.raises(ParseError) as info:
        read_cloud_audit(tmp_path, jobs=2, errors="raise")
    assert info.value.line == 1 and str(info.value.file).endswith("c.jsonl")
