"""``auditlens report`` through the CLI: every report, every format, and attacker-controlled
log contents (a login attempt as ``=HYPERLINK(…)``, a Kubernetes user ``<script>…``) that must
come out inert in CSV, XLSX and HTML."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_LOGS

from auditlens.cli import cli
from auditlens.reports import REPORTS
from auditlens.reports.registry import compliance_sections

NODE_B = str(SAMPLE_LOGS / "auditd" / "node-b")
K8S = str(SAMPLE_LOGS / "k8s")
FORMATS = ["csv", "jsonl", "json", "parquet", "md", "xlsx", "html"]


def run(*args: str) -> object:
    result = CliRunner().invoke(cli, ["report", *args], catch_exceptions=False)
    return result


def _read(path: Path, fmt: str) -> int:
    """Row count of a written single-table report, read back with the format's own reader."""
    if fmt == "csv":
        return len(list(csv.DictReader(path.open(newline=""))))
    if fmt == "jsonl":
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    if fmt == "json":
        return len(json.loads(path.read_text()))
    if fmt == "parquet":
        return pq.read_table(path).num_rows
    if fmt == "xlsx":
        import openpyxl

        return sum(1 for _ in openpyxl.load_workbook(path).active.iter_rows()) - 1
    return path.read_text().count("<tr") - 1 if fmt == "html" else path.read_text().count("\n|") - 1


@pytest.mark.parametrize("index", range(len(REPORTS)))
def test_each_report_writes_a_readable_file(tmp_path: Path, index: int) -> None:
    name = list(REPORTS)[index]
    fmt = ["csv", "jsonl", "json", "parquet", "xlsx"][index % 5]
    out = tmp_path / f"{name}.{fmt}"
    result = run(name, NODE_B, K8S, "-o", str(out))
    assert result.exit_code == 0, result.output
    written = _read(out, fmt)
    reported = int(result.output.split(f"{name}: ", 1)[1].split(" rows")[0])
    assert written == reported
    if name not in ("summary",):
        assert reported > 0, f"{name} found nothing in the sample logs"


@pytest.mark.parametrize("fmt", FORMATS)
def test_compliance_in_every_format(tmp_path: Path, fmt: str) -> None:
    # sections of csv and parquet go to a directory of files, one per section
    out = tmp_path / ("evidence" if fmt in ("csv", "parquet") else f"evidence.{fmt}")
    result = run("compliance", NODE_B, K8S, "-f", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    if fmt in ("csv", "parquet"):
        names = {p.stem for p in out.iterdir()}
        assert {*compliance_sections(), "rejected-lines"} <= names
    elif fmt == "xlsx":
        import openpyxl

        sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
        assert sheets[0].lower().startswith("cover")
        assert {n[:31] for n in compliance_sections()} <= set(sheets)
    else:
        text = out.read_text()
        for name in compliance_sections():
            assert name in text


def test_markdown_to_stdout_by_default() -> None:
    result = run("logins", NODE_B)
    assert result.exit_code == 0
    assert "| time |" in result.output


def test_list_describes_every_report() -> None:
    result = run("--list")
    assert result.exit_code == 0
    for name in [*REPORTS, "compliance"]:
        assert f"\n{name}\n" in "\n" + result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", NODE_B], "unknown report"),
        (["logins"], "at least one source"),
        (["logins", NODE_B, "--since", "not a time"], "cannot read 'not a time' as a time"),
        (["logins", NODE_B, "-f", "xlsx"], "binary format"),
        (["logins", "/nonexistent/path"], "nonexistent"),
    ],
)
def test_user_mistakes_are_one_line_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["report", *args])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert message in result.output.lower() or message in result.output


def test_empty_result_is_a_valid_file_with_headers(tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    result = run("logins", NODE_B, "--since", "2001-01-01", "--until", "2001-01-02", "-o", str(out))
    assert result.exit_code == 0
    assert "no matching rows" in result.output
    header = out.read_text().splitlines()
    assert len(header) == 1 and header[0].startswith("time,source,")


# --- log contents are attacker-controlled ------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/x","click")'
SCRIPT = "<script>alert(1)</script>"


def _hostile_logs(tmp: Path) -> list[str]:
    """A failed SSH login whose user name is a spreadsheet formula (sshd hex-encodes it, as a
    real sshd does for names with quotes), and an API request by a user named like markup."""
    acct = FORMULA.encode().hex().upper()
    audit = tmp / "audit.log"
    audit.write_text(
        "type=USER_AUTH msg=audit(1700000000.100:10): pid=7 uid=0 auid=4294967295 ses=4294967295 "
        f"msg='op=PAM:authentication grantors=? acct={acct} exe=\"/usr/sbin/sshd\" "
        "hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=failed'\n"
        "type=USER_LOGIN msg=audit(1700000000.200:11): pid=7 uid=0 auid=4294967295 ses=4294967295 "
        "msg='op=login acct=\"@SUM(1+1)\" exe=\"/usr/sbin/sshd\" hostname=? addr=203.0.113.9 "
        "terminal=sshd res=failed'\n"
    )
    event = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a-1",
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/x/secrets", "verb": "list",
        "user": {"username": SCRIPT, "groups": ["system:authenticated"]},
        "sourceIPs": ["198.51.100.4"], "userAgent": "-cmd|' /C calc'!A0",
        "objectRef": {"resource": "secrets", "namespace": "x", "apiVersion": "v1"},
        "responseStatus": {"code": 403},
        "requestReceivedTimestamp": "2023-11-14T22:13:20.000000Z",
        "stageTimestamp": "2023-11-14T22:13:20.002000Z",
        "annotations": {"authorization.k8s.io/decision": "forbid"},
    }
    api = tmp / "kube-apiserver-audit.log"
    api.write_text(json.dumps(event) + "\n")
    return [str(audit), str(api)]


def test_injection_csv(tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    assert run("failed-access", *_hostile_logs(tmp_path), "-o", str(out)).exit_code == 0
    cells = [c for row in csv.reader(out.open(newline="")) for c in row]
    assert any(FORMULA in c for c in cells), "the payload must still be visible, just inert"
    for c in cells:
        assert not c.startswith(("=", "+", "-", "@", "\t", "\r")), c


def test_injection_xlsx(tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "f.xlsx"
    assert run("compliance", *_hostile_logs(tmp_path), "-o", str(out)).exit_code == 0
    wb = openpyxl.load_workbook(out)
    seen = False
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen = seen or FORMULA in cell.value
                    assert not cell.value.startswith(("=", "+", "-", "@")), cell.value
    assert seen


def test_injection_html(tmp_path: Path) -> None:
    out = tmp_path / "f.html"
    assert run("compliance", *_hostile_logs(tmp_path), "-o", str(out)).exit_code == 0
    page = out.read_text()
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    csp = page.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert "default-src &#x27;none&#x27;" in csp and "script-src &#x27;sha256-" in csp


def test_injection_markdown_stdout(tmp_path: Path) -> None:
    result = run("failed-access", *_hostile_logs(tmp_path))
    assert result.exit_code == 0
    assert SCRIPT not in result.output


def test_tz_shows_local_time_and_since_accepts_relative_forms(tmp_path: Path) -> None:
    utc, local = tmp_path / "utc.csv", tmp_path / "local.csv"
    assert run("logins", NODE_B, "-o", str(utc)).exit_code == 0
    assert run("logins", NODE_B, "--tz", "Asia/Kolkata", "-o", str(local)).exit_code == 0
    first_utc = next(csv.DictReader(utc.open(newline="")))["time"]
    first_local = next(csv.DictReader(local.open(newline="")))["time"]
    assert first_utc.endswith("Z") and first_local.endswith("+05:30")
    from datetime import datetime

    assert datetime.fromisoformat(first_utc.replace("Z", "+00:00")) == datetime.fromisoformat(first_local)
    # relative bounds: until 100 years ago leaves headers only, since then keeps everything
    recent, all_ = tmp_path / "recent.csv", tmp_path / "all.csv"
    assert run("logins", NODE_B, "--until", "36500d", "-o", str(recent)).exit_code == 0
    assert run("logins", NODE_B, "--since", "36500d", "-o", str(all_)).exit_code == 0
    assert len(recent.read_text().splitlines()) == 1
    assert all_.read_text() == utc.read_text()
