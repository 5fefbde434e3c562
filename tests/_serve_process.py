"""``auditlens serve`` run as a real subprocess for tests, with test certificates (trustme).

Every process started here is killed by :meth:`Server.stop` (fixtures call it in teardown).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

trustme = pytest.importorskip("trustme", reason="the serve tests need trustme (test extra)")
pytest.importorskip("aiohttp", reason="auditlens serve needs aiohttp (serve extra)")

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Certs:
    """A CA, the server's certificate for 127.0.0.1, the apiserver's client certificate, and
    a client certificate of another CA; all as PEM files in ``folder``."""

    folder: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_cert: Path
    other_key: Path


def make_certs(folder: Path) -> Certs:
    ca = trustme.CA()
    other = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("kube-apiserver", common_name="kube-apiserver")
    stranger = other.issue_cert("kube-apiserver", common_name="kube-apiserver")
    paths = {}
    for name, blob in {
        "ca.pem": ca.cert_pem, "server.pem": server.cert_chain_pems[0],
        "server-key.pem": server.private_key_pem, "client.pem": client.cert_chain_pems[0],
        "client-key.pem": client.private_key_pem, "other.pem": stranger.cert_chain_pems[0],
        "other-key.pem": stranger.private_key_pem,
    }.items():
        blob.write_to_path(str(folder / name))
        paths[name] = folder / name
    return Certs(folder, paths["ca.pem"], paths["server.pem"], paths["server-key.pem"],
                 paths["client.pem"], paths["client-key.pem"], paths["other.pem"],
                 paths["other-key.pem"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``python -m auditlens serve`` process; restartable on the same port."""

    def __init__(self, out: Path, certs: Certs | None, *extra: str, port: int | None = None) -> None:
        self.out, self.certs, self.extra = out, certs, list(extra)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = out.parent / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"{'https' if self.certs else 'http'}://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        args = [sys.executable, "-m", "auditlens", "serve", "--listen", f"127.0.0.1:{self.port}",
                "--out", str(self.out), "--min-free-disk", "1MiB", *self.extra]
        if self.certs:
            args += ["--tls-cert", str(self.certs.server_cert), "--tls-key",
                     str(self.certs.server_key), "--client-ca", str(self.certs.ca)]
        return args

    def start(self, timeout: float = 20) -> Server:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.log.read_text()}")
            if "listening on" in self.log.read_text().split("auditlens serve: stopped")[-1]:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, like a crash or a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._mark()

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM and wait: the graceful shutdown."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._mark()
        return code

    def _mark(self) -> None:
        with open(self.log, "a") as log:
            log.write("\nauditlens serve: stopped (test)\n")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def client_context(certs: Certs, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx
