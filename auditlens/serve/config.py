"""The receiver's options, its listen address, its TLS context and who may send.

Who may send is decided in two places: the TLS handshake (with ``client_ca``, a client without
a certificate signed by that CA never gets an HTTP exchange) and each request (a subject
allow-list on the verified certificate; a bearer token). Plain HTTP is allowed only on a
loopback address — audit events carry who did what with which credentials — and then
:func:`plain_http_warning` is printed.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from typing import Any

from ..errors import AuditlensError

__all__ = ["ServeConfig", "ServeError", "config_from_options", "parse_duration", "parse_listen",
           "parse_size", "plain_http_warning", "subject_of", "tls_context"]

MiB = 1 << 20


class ServeError(AuditlensError):
    """A receiver option that cannot work (no TLS on a public address, unreadable cert…)."""


@dataclass
class ServeConfig:
    """Everything ``auditlens serve`` is told. Sizes in bytes, times in seconds."""

    host: str
    port: int
    out: str
    tls_cert: str | None = None
    tls_key: str | None = None
    client_ca: str | None = None
    allowed_subjects: list[str] = field(default_factory=list)
    token: str | None = None
    max_body: int = 16 * MiB
    max_in_flight: int = 256 * MiB
    min_free_disk: int = 1024 * MiB
    rotate_bytes: int = 128 * MiB
    rotate_seconds: float = 600.0
    dedup_seconds: float = 3600.0
    silence_seconds: float | None = 600.0
    retention_seconds: float | None = None
    retention_bytes: int | None = None
    parquet_dir: str | None = None
    retry_after: int = 10
    fsync: bool = True


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8443`` for IPv6) → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ServeError(f"--listen {text!r}: give HOST:PORT, e.g. 0.0.0.0:8443 or 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(host: str, port: int) -> str:
    return (f"auditlens serve: WARNING: plain HTTP on {host}:{port} — no TLS, no client "
            "authentication. Allowed only on loopback (a local proxy or tests); give --tls-cert, "
            "--tls-key and --client-ca for an apiserver.")


def tls_context(config: ServeConfig) -> ssl.SSLContext | None:
    """The server's TLS context (TLS ≥ 1.2; client certificates required and verified
    against ``client_ca`` when given); None for plain HTTP, which needs a loopback address."""
    if not config.tls_cert and not config.tls_key:
        if config.client_ca:
            raise ServeError("--client-ca needs --tls-cert and --tls-key")
        if not is_loopback(config.host):
            raise ServeError(f"refusing plain HTTP on {config.host}: give --tls-cert and "
                             "--tls-key (and --client-ca), or listen on 127.0.0.1 / ::1")
        return None
    if not (config.tls_cert and config.tls_key):
        raise ServeError("give both --tls-cert and --tls-key")
    for option, path in (("--tls-cert", config.tls_cert), ("--tls-key", config.tls_key),
                         ("--client-ca", config.client_ca)):
        if path is not None and not os.path.isfile(path):
            raise ServeError(f"{option} {path}: no such file")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    except ssl.SSLError as exc:
        raise ServeError(f"--tls-cert/--tls-key: not a matching PEM certificate and key ({exc.reason})") from None
    if config.client_ca:
        try:
            ctx.load_verify_locations(cafile=config.client_ca)
        except ssl.SSLError as exc:
            raise ServeError(f"--client-ca {config.client_ca}: not a PEM CA certificate ({exc.reason})") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif config.allowed_subjects:
        raise ServeError("--allow-subject needs --client-ca (subjects of verified certificates)")
    return ctx


def subject_of(peercert: dict[str, Any] | None) -> str | None:
    """A verified peer certificate's subject as ``CN=…,O=…`` (None without one)."""
    if not peercert:
        return None
    parts = [f"{_SHORT.get(k, k)}={v}" for rdn in peercert.get("subject", ()) for k, v in rdn]
    return ",".join(parts) or None


_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
          "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST"}


def subject_allowed(subject: str | None, allowed: list[str]) -> bool:
    """No allow-list: any verified certificate. Else the subject must be listed, either in
    full (``CN=kube-apiserver,O=system``) or by its common name alone (``kube-apiserver``)."""
    if not allowed:
        return True
    if subject is None:
        return False
    cn = next((p[3:] for p in subject.split(",") if p.startswith("CN=")), None)
    return subject in allowed or (cn is not None and cn in allowed)


_SIZE = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000**2, "mb": 1000**2,
         "mib": 1 << 20, "g": 1000**3, "gb": 1000**3, "gib": 1 << 30, "t": 1000**4,
         "tb": 1000**4, "tib": 1 << 40}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str, option: str) -> int:
    """``16MiB``, ``500M``, ``1GiB``, ``4096`` → bytes."""
    t = text.strip().lower()
    number = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(number):].strip()
    try:
        value = float(number)
    except ValueError:
        value = -1
    if value < 0 or unit not in _SIZE:
        raise ServeError(f"{option} {text!r}: give a size such as 16MiB, 500MB or 1GiB")
    return int(value * _SIZE[unit])


def parse_duration(text: str, option: str) -> float:
    """``30s``, ``10m``, ``2h``, ``7d``, or seconds → seconds."""
    t = text.strip().lower()
    unit = t[-1:] if t[-1:] in _SECONDS else "s"
    number = t[:-1] if t[-1:] in _SECONDS else t
    try:
        value = float(number)
    except ValueError:
        value = -1
    if value < 0:
        raise ServeError(f"{option} {text!r}: give a duration such as 30s, 10m, 2h or 7d")
    return value * _SECONDS[unit]


def config_from_options(*, listen: str, out: str, tls_cert: str | None, tls_key: str | None,
                        client_ca: str | None, allow_subject: tuple[str, ...],
                        token_file: str | None, max_body: str, max_in_flight: str,
                        min_free_disk: str, rotate_size: str, rotate_age: str,
                        retention_age: str | None, retention_size: str | None, silence: str,
                        parquet_dir: str | None, dedup_window: str) -> ServeConfig:
    """The configuration from the command line's words (sizes like ``16MiB``, durations like
    ``10m``); the token is read from its file (a token on the command line would show in
    ``ps``)."""
    host, port = parse_listen(listen)
    token = None
    if token_file:
        with open(token_file, encoding="utf-8") as f:
            token = f.read().strip()
        if not token:
            raise ServeError(f"--token-file {token_file} is empty")
    return ServeConfig(
        host=host, port=port, out=out, tls_cert=tls_cert, tls_key=tls_key, client_ca=client_ca,
        allowed_subjects=list(allow_subject), token=token,
        max_body=parse_size(max_body, "--max-body"),
        max_in_flight=parse_size(max_in_flight, "--max-in-flight"),
        min_free_disk=parse_size(min_free_disk, "--min-free-disk"),
        rotate_bytes=parse_size(rotate_size, "--rotate-size"),
        rotate_seconds=parse_duration(rotate_age, "--rotate-age"),
        dedup_seconds=parse_duration(dedup_window, "--dedup-window"),
        silence_seconds=parse_duration(silence, "--silence") or None,
        retention_seconds=parse_duration(retention_age, "--retention-age") if retention_age else None,
        retention_bytes=parse_size(retention_size, "--retention-size") if retention_size else None,
        parquet_dir=parquet_dir)
