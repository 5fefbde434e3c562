"""``kill -9`` of ``auditlens serve`` at random moments while an apiserver-like client streams
real-shaped events: after restarts and the client's retries, exactly the events sent are
stored, each once."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import orjson
import pytest
from _apiserver_client import WebhookClient, corpus_events, identity, replayed
from _serve_process import Server, make_certs

import auditlens

EVENTS = 20_000
KILLS = 4


def test_kill_9_at_random_moments_loses_nothing_and_stores_nothing_twice(
        corpora: Path, tmp_path: Path) -> None:
    from auditlens.serve.kubeconfig import webhook_kubeconfig

    templates = corpus_events(corpora / "k8s")
    if not templates:
        pytest.skip("no audit Events in the k8s corpus")
    events = replayed(templates, EVENTS, "kill")
    certs = make_certs(tmp_path)
    out = tmp_path / "out"
    server = Server(out, certs, "--rotate-size", "4MiB")
    kubeconfig = tmp_path / "webhook.yaml"
    kubeconfig.write_text(webhook_kubeconfig(server.url + "/audit/prod", ca_cert=str(certs.ca),
                                             client_cert=str(certs.client_cert),
                                             client_key=str(certs.client_key)))
    rng = random.Random(20240501)
    done = threading.Event()
    kills: list[float] = []
    errors: list[BaseException] = []

    batches = EVENTS // 400
    points = sorted(rng.sample(range(2, batches - 8), KILLS))  # after so many batches acked

    def killer() -> None:
        try:
            for point in points:
                while len(client.stats.acked) < point and not done.is_set():
                    time.sleep(0.002)
                if done.is_set():
                    break
                time.sleep(rng.uniform(0.0, 0.05))  # anywhere inside a batch's handling
                server.kill()
                kills.append(time.monotonic())
                time.sleep(rng.uniform(0.0, 0.3))
                server.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test
            errors.append(exc)

    server.start()
    try:
        client = WebhookClient(kubeconfig, in_flight=4, max_wait=0.05, scale=0.15)
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        for event in events:
            client.send(event)
        stats = client.close(timeout=180)
        done.set()
        thread.join(30)
        assert not errors, errors
        assert server.terminate() == 0  # graceful: the last file is closed for the readers
    finally:
        done.set()
        server.stop()
    assert len(kills) == KILLS, "the stream ended before every kill"
    assert stats.attempts > len(stats.acked), "no batch was caught by a kill"
    assert not stats.dropped, f"{len(stats.dropped)} batches dropped after the last retry"
    stored = [identity(orjson.loads(line)) for p in sorted(out.rglob("audit-*.jsonl"))
              for line in p.read_bytes().splitlines()]
    assert len(stored) == len(set(stored)), "a batch was stored twice"
    assert set(stored) == {identity(e) for e in events}
    log = server.log.read_text()
    assert "recovered" in log  # the restarts did go through recovery
    table = auditlens.read_k8s_audit(out)  # the layout is read directly
    assert table.num_rows == EVENTS
    assert not list(out.rglob("*.active"))
