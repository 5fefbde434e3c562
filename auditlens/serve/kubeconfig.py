"""The webhook kubeconfig that points a kube-apiserver's audit webhook at this receiver.

The apiserver reads it from ``--audit-webhook-config-file``: ``clusters[].cluster.server`` is
where batches go and ``certificate-authority`` the CA that signed the receiver's certificate;
``users[].user`` holds the client certificate and key the apiserver presents (or a bearer
token). Paths are written as given: they are paths on the apiserver's host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .config import ServeError

__all__ = ["webhook_kubeconfig"]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def webhook_kubeconfig(url: str, *, ca_cert: str | None = None, client_cert: str | None = None,
                       client_key: str | None = None, token_file: str | None = None,
                       name: str = "auditlens") -> str:
    """The kubeconfig YAML text (written by hand: YAML is a JSON superset and every value is
    quoted, so no YAML library is needed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ServeError(f"--print-kubeconfig {url!r}: give the receiver's URL, e.g. "
                         "https://audit.example.com:8443/audit/my-cluster")
    if parts.scheme == "http":
        raise ServeError("an apiserver must reach the receiver over https (plain HTTP is for "
                         "loopback tests only)")
    if bool(client_cert) != bool(client_key):
        raise ServeError("give both --client-cert and --client-key (or neither)")
    cluster = [f"    server: {_quoted(url)}"]
    if ca_cert:
        cluster.append(f"    certificate-authority: {_quoted(ca_cert)}")
    user: list[str] = []
    if client_cert and client_key:
        user += [f"    client-certificate: {_quoted(client_cert)}",
                 f"    client-key: {_quoted(client_key)}"]
    if token_file:
        user.append(f"    tokenFile: {_quoted(token_file)}")
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        f"- name: {_quoted(name)}",
        "  cluster:",
        *cluster,
        "users:",
        f"- name: {_quoted(name)}",
        "  user:" + ("" if user else " {}"),
        *user,
        "contexts:",
        f"- name: {_quoted(name)}",
        "  context:",
        f"    cluster: {_quoted(name)}",
        f"    user: {_quoted(name)}",
        f"current-context: {_quoted(name)}",
    ]
    return "\n".join(lines) + "\n"
