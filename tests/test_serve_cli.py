"""The ``serve`` command's user mistakes are one-line errors, and the webhook kubeconfig."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditlens.cli import cli

pytest.importorskip("aiohttp", reason="auditlens serve needs aiohttp (serve extra)")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output


def test_plain_http_off_loopback_is_refused(tmp_path: Path) -> None:
    code, out = _run("--listen", "0.0.0.0:0", "--out", str(tmp_path / "o"))
    assert code == 1 and "refusing plain HTTP on 0.0.0.0" in out


def test_a_missing_certificate_is_named(tmp_path: Path) -> None:
    code, out = _run("--listen", "127.0.0.1:0", "--out", str(tmp_path / "o"),
                     "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(tmp_path / "nope-key.pem"))
    assert code == 1 and "nope.pem" in out and "Traceback" not in out


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = _run("--listen", f"127.0.0.1:{port}", "--out", str(tmp_path / "o"))
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in out


@pytest.mark.parametrize("args, message", [
    (["--listen", "nowhere"], "give HOST:PORT"),
    (["--max-body", "lots"], "give a size"),
    (["--rotate-age", "soon"], "give a duration"),
])
def test_bad_option_values(tmp_path: Path, args: list[str], message: str) -> None:
    code, out = _run("--out", str(tmp_path / "o"), *args)
    assert code == 1 and message in out


def test_print_kubeconfig_writes_what_an_apiserver_reads() -> None:
    code, out = _run("--print-kubeconfig", "https://audit.example.com:8443/audit/prod",
                     "--ca-cert", "/etc/kubernetes/audit/ca.pem",
                     "--client-cert", "/etc/kubernetes/audit/client.pem",
                     "--client-key", "/etc/kubernetes/audit/client-key.pem")
    assert code == 0
    doc = yaml.safe_load(out)
    assert doc["kind"] == "Config" and doc["current-context"] == "auditlens"
    cluster, user = doc["clusters"][0]["cluster"], doc["users"][0]["user"]
    assert cluster == {"server": "https://audit.example.com:8443/audit/prod",
                       "certificate-authority": "/etc/kubernetes/audit/ca.pem"}
    assert user == {"client-certificate": "/etc/kubernetes/audit/client.pem",
                    "client-key": "/etc/kubernetes/audit/client-key.pem"}


def test_print_kubeconfig_refuses_plain_http() -> None:
    code, out = _run("--print-kubeconfig", "http://audit.example.com/audit")
    assert code == 1 and "https" in out
