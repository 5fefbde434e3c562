"""``auditlens serve`` over real sockets: a subprocess with test certificates (mTLS on loopback)."""

from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from _apiserver_client import WebhookClient, event_list
from _serve_process import Certs, Server, client_context, make_certs

MAX_BODY = 256 * 1024


def _events(tag: str, n: int, pad: int = 0) -> list[dict]:
    return [{"level": "Metadata", "auditID": f"{tag}-{i}", "stage": "ResponseComplete",
             "requestURI": "/api/v1/pods", "verb": "list", "user": {"username": "u" + "x" * pad},
             "requestReceivedTimestamp": "2024-05-01T10:00:00.000001Z",
             "stageTimestamp": "2024-05-01T10:00:00.000002Z"} for i in range(n)]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("serve") / "out"
    s = Server(out, certs, "--max-body", str(MAX_BODY), "--max-in-flight", str(MAX_BODY * 3 // 2),
               "--rotate-age", "1h")
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _post(server: Server, certs: Certs, body: bytes, path: str = "/audit/prod",
          headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10,
                                       context=client_context(certs, certs.client_cert, certs.client_key))
    try:
        conn.request("POST", path + "?timeout=30s", body=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp
    finally:
        conn.close()


def _get(server: Server, certs: Certs, path: str) -> tuple[int, str]:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10,
                                       context=client_context(certs, certs.client_cert, certs.client_key))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def _metric(server: Server, certs: Certs, name: str) -> float:
    _, text = _get(server, certs, "/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(f"auditlens_serve_{name}") and not line.startswith("#")
               and (line[len(f"auditlens_serve_{name}"):][:1] in ("{", " ")))


def test_an_event_list_is_stored_and_answered_200(server: Server, certs: Certs) -> None:
    before = _metric(server, certs, "events_committed_total")
    status, text, _ = _post(server, certs, event_list(_events("ok", 5)))
    assert (status, text) == (200, b"stored\n")
    assert _metric(server, certs, "events_committed_total") == before + 5
    assert _get(server, certs, "/healthz")[0] == 200
    assert _get(server, certs, "/readyz")[0] == 200


def test_gzip_bodies_and_single_events_are_accepted(server: Server, certs: Certs) -> None:
    status, text, _ = _post(server, certs, gzip.compress(event_list(_events("gz", 4))),
                            headers={"Content-Encoding": "gzip"})
    assert (status, text) == (200, b"stored\n")
    single = orjson.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1beta1", **_events("one", 1)[0]})
    assert _post(server, certs, single)[0] == 200


@pytest.mark.parametrize("who", ["no certificate", "another CA"])
def test_a_client_without_a_trusted_certificate_is_refused(server: Server, certs: Certs, who: str) -> None:
    ctx = client_context(certs) if who == "no certificate" else \
        client_context(certs, certs.other_cert, certs.other_key)
    before = _metric(server, certs, "events_committed_total")
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=ctx)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        conn.request("POST", "/audit/prod", body=event_list(_events("evil", 1)))
        conn.getresponse().read()  # TLS 1.3: the refusal arrives after the client's Finished
    conn.close()
    assert _metric(server, certs, "events_committed_total") == before


def test_a_body_over_the_limit_gets_413_while_it_is_read(server: Server, certs: Certs) -> None:
    big = event_list(_events("big", 300, pad=1000))
    assert len(big) > MAX_BODY
    assert _post(server, certs, big)[0] == 413
    # no Content-Length to refuse up front, and a small gzip body that inflates past the limit
    assert _post(server, certs, gzip.compress(big), headers={"Content-Encoding": "gzip"})[0] == 413
    chunks = iter([big[i:i + 65536] for i in range(0, len(big), 65536)])
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10,
                                       context=client_context(certs, certs.client_cert, certs.client_key))
    try:
        conn.request("POST", "/audit/prod", body=chunks, encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        assert conn.getresponse().status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading and closed: refused all the same
    finally:
        conn.close()
    assert not list(server.out.rglob("*.jsonl*")) or all(
        b"big-" not in p.read_bytes() for p in server.out.rglob("*.jsonl*"))


def test_a_malformed_body_is_quarantined_and_answered_400(server: Server, certs: Certs) -> None:
    body = b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"x"}]}'
    status, text, _ = _post(server, certs, body)
    assert status == 400 and b"quarantine" in text
    kept = [p for p in (server.out / ".auditlens-serve" / "quarantine").glob("*.body")
            if p.read_bytes() == body]
    assert len(kept) == 1
    assert orjson.loads(kept[0].with_suffix(".json").read_bytes())["peer"].endswith("CN=kube-apiserver")


def test_503_with_retry_after_and_not_ready_while_bytes_in_flight_are_over_the_cap(
        server: Server, certs: Certs) -> None:
    """A slow sender holds MAX_BODY bytes in flight: the next batch (which would pass the cap)
    is refused 503 with Retry-After, readyz says no; once it finishes, all is well again."""
    ctx = client_context(certs, certs.client_cert, certs.client_key)
    body = event_list(_events("slow", 200, pad=600))
    assert MAX_BODY // 2 < len(body) < MAX_BODY
    raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port)), server_hostname="127.0.0.1")
    try:
        raw.sendall(b"POST /audit/prod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % MAX_BODY + body[:1000])
        deadline = time.monotonic() + 10
        while _metric(server, certs, "bytes_in_flight") < MAX_BODY and time.monotonic() < deadline:
            time.sleep(0.05)
        status, _, resp = _post(server, certs, event_list(_events("late", 200, pad=600)))
        assert status == 503 and resp.getheader("Retry-After")
        assert _get(server, certs, "/readyz")[0] == 503
        assert _metric(server, certs, "ready") == 0
        raw.sendall(body[1000:] + b" " * (MAX_BODY - len(body)))  # JSON may end in spaces
        reply = raw.recv(1000)
        assert reply.startswith(b"HTTP/1.1 200")
    finally:
        raw.close()
    assert _get(server, certs, "/readyz")[0] == 200


def test_a_reply_lost_after_the_commit_is_absorbed_on_resend(server: Server, certs: Certs) -> None:
    """The connection is cut before the reply is read (the apiserver's timeout); the batch was
    committed all the same, and the apiserver's resend is answered 200 and not stored again."""
    body = event_list(_events("lost-reply", 7))
    before = _metric(server, certs, "events_committed_total")
    ctx = client_context(certs, certs.client_cert, certs.client_key)
    raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port)), server_hostname="127.0.0.1")
    raw.sendall(b"POST /audit/prod HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    raw.close()
    deadline = time.monotonic() + 10
    while _metric(server, certs, "events_committed_total") < before + 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    dup = _metric(server, certs, "duplicates_absorbed_total")
    status, text, _ = _post(server, certs, body)
    assert (status, text) == (200, b"duplicate of a stored batch\n")
    assert _metric(server, certs, "events_committed_total") == before + 7
    assert _metric(server, certs, "duplicates_absorbed_total") == dup + 1


def test_the_apiserver_like_client_streams_through_a_kubeconfig(server: Server, certs: Certs, tmp_path: Path) -> None:
    from auditlens.serve.kubeconfig import webhook_kubeconfig

    kubeconfig = tmp_path / "webhook.yaml"
    kubeconfig.write_text(webhook_kubeconfig(server.url + "/audit/stream", ca_cert=str(certs.ca),
                                             client_cert=str(certs.client_cert),
                                             client_key=str(certs.client_key)))
    client = WebhookClient(kubeconfig, in_flight=3, max_wait=0.05)
    for e in _events("stream", 1000):
        client.send(e)
    stats = client.close()
    assert not stats.dropped and sum(len(b) for b in stats.acked) == 1000
    assert max(len(b) for b in stats.acked) <= 400 and len(stats.acked) >= 3


def test_graceful_sigterm_closes_the_files_for_the_readers(certs: Certs, tmp_path: Path) -> None:
    import auditlens

    s = Server(tmp_path / "out", certs).start()
    try:
        assert _post(s, certs, event_list(_events("term", 9)), path="/audit/c1")[0] == 200
        assert not list((tmp_path / "out").glob("c1/*/audit-*.jsonl"))  # still being written
        assert s.terminate() == 0
    finally:
        s.stop()
    table = auditlens.read_k8s_audit(tmp_path / "out")
    assert sorted(table["audit_id"].to_pylist()) == sorted(f"term-{i}" for i in range(9))


def test_a_disk_under_the_floor_is_503_and_not_ready(certs: Certs, tmp_path: Path) -> None:
    s = Server(tmp_path / "out", certs, "--min-free-disk", "1000000TiB").start()
    try:
        status, _, resp = _post(s, certs, event_list(_events("full", 2)))
        assert status == 503 and resp.getheader("Retry-After")
        assert _get(s, certs, "/readyz")[0] == 503
        assert _get(s, certs, "/healthz")[0] == 200
    finally:
        s.stop()


def test_refused_handshakes_are_counted(server: Server, certs: Certs) -> None:
    before = _metric(server, certs, "tls_failures_total")
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10,
                                       context=client_context(certs, certs.other_cert, certs.other_key))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        conn.request("GET", "/healthz")
        conn.getresponse().read()
    conn.close()
    deadline = time.monotonic() + 5
    while _metric(server, certs, "tls_failures_total") <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _metric(server, certs, "tls_failures_total") == before + 1


def test_a_subject_not_on_the_allow_list_gets_403(certs: Certs, tmp_path: Path) -> None:
    s = Server(tmp_path / "out", certs, "--allow-subject", "CN=someone-else").start()
    try:
        status, text, _ = _post(s, certs, event_list(_events("subj", 2)))
        assert status == 403 and b"kube-apiserver" in text
    finally:
        s.stop()
    s = Server(tmp_path / "out2", certs, "--allow-subject", "kube-apiserver").start()
    try:
        assert _post(s, certs, event_list(_events("subj", 2)))[0] == 200
    finally:
        s.stop()


def test_a_bearer_token_is_required_when_configured(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    s = Server(tmp_path / "out", None, "--token-file", str(token)).start()
    try:
        assert "WARNING: plain HTTP" in s.log.read_text()

        def post(headers: dict[str, str]) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
            conn.request("POST", "/audit", body=event_list(_events("tok", 1)), headers=headers)
            status = conn.getresponse().status
            conn.close()
            return status

        assert post({}) == 401
        assert post({"Authorization": "Bearer wrong"}) == 401
        assert post({"Authorization": "Bearer s3cret"}) == 200
    finally:
        s.stop()
    assert list((tmp_path / "out").glob("default/*/.audit-*.active"))  # POST /audit: "default"


def test_a_body_that_does_not_decompress_is_quarantined_as_sent(server: Server, certs: Certs) -> None:
    body = gzip.compress(event_list(_events("cut", 5)))[:-20]  # cut short in transit
    status, text, _ = _post(server, certs, body, headers={"Content-Encoding": "gzip"})
    assert status == 400 and b"not gzip" in text
    kept = [p for p in (server.out / ".auditlens-serve" / "quarantine").glob("*.body")
            if p.read_bytes() == body]
    assert len(kept) == 1
    assert _post(server, certs, b"x", headers={"Content-Encoding": "br"})[0] == 415


def test_the_test_client_retries_five_times_then_drops_like_the_apiserver(
        certs: Certs, tmp_path: Path) -> None:
    from _serve_process import free_port

    from auditlens.serve.kubeconfig import webhook_kubeconfig

    kubeconfig = tmp_path / "webhook.yaml"
    kubeconfig.write_text(webhook_kubeconfig(f"https://127.0.0.1:{free_port()}/audit",
                                             ca_cert=str(certs.ca), client_cert=str(certs.client_cert),
                                             client_key=str(certs.client_key)))
    client = WebhookClient(kubeconfig, in_flight=1, scale=0.002)  # nobody listens there
    for e in _events("nowhere", 450):
        client.send(e)
    stats = client.close(timeout=30)
    assert [len(b) for b in stats.dropped] == [400, 50] and not stats.acked
    assert stats.attempts == 10 and stats.statuses == {"error": 10}


def _wait_for(check: object, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_closed_files_reach_the_parquet_dataset(certs: Certs, tmp_path: Path) -> None:
    s = Server(tmp_path / "out", certs, "--rotate-age", "1s", "--parquet", str(tmp_path / "pq")).start()
    try:
        assert _post(s, certs, event_list(_events("pq", 6)), path="/audit/c1")[0] == 200
        assert _wait_for(lambda: list((tmp_path / "pq").glob("cluster=c1/date=*/*.parquet")))
    finally:
        s.stop()
    import pyarrow.dataset as ds

    table = ds.dataset(tmp_path / "pq", partitioning="hive").to_table()
    assert sorted(table["audit_id"].to_pylist()) == sorted(f"pq-{i}" for i in range(6))


def test_retention_removes_closed_files(certs: Certs, tmp_path: Path) -> None:
    s = Server(tmp_path / "out", certs, "--rotate-age", "1s", "--retention-size", "1").start()
    try:
        assert _post(s, certs, event_list(_events("old", 3)), path="/audit/c1")[0] == 200
        assert list((tmp_path / "out").glob("c1/*/.audit-*.jsonl.active"))
        # closed after a second, then removed: the total is over the 1-byte budget
        assert _wait_for(lambda: not [p for p in (tmp_path / "out").rglob("*") if ".jsonl" in p.name])
    finally:
        s.stop()
