"""``auditlens serve`` under load: events/s, batches/s, time to acknowledge, memory — beside the
simplest receiver, in the same run.

Two receivers get the same stream of real-shaped audit Events (the k8s corpus replayed with
fresh auditIDs) from the apiserver-like client of the test suite (batches of 400 events, several
in flight, retries with the apiserver's backoff):

- ``auditlens serve``: mTLS (TLS 1.2+, client certificate verified), every batch written and
  fsynced (group commit) and journaled before its 200;
- the simplest receiver: a plain-HTTP handler (stdlib ``http.server``, threads) that parses the
  EventList, appends its events as JSON lines and answers 200 — no TLS, no fsync, no dedup —
  what the receivers in use today do.

Reported per receiver: sustained events/s and batches/s over the whole stream, p50/p99 time from
sending a batch to its 200, peak RSS of the receiver process; and the cost of durability as the
ratio of the two, and how far ``auditlens serve`` is above the apiserver's default ceiling of
10 batches/s × 400 events (``--audit-webhook-batch-throttle-qps``).

Usage: python benchmarks/serve.py [--events 100000] [--in-flight 8] [--corpus PATH/TO/corpora/k8s]
Output folders go to benchmarks/.data/serve/ (on the disk, not a tmpfs: fsync must be real).
A benchmark, not a test: run it on a quiet machine; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from _apiserver_client import WebhookClient, corpus_events, replayed  # noqa: E402
from _serve_process import free_port, make_certs  # noqa: E402

from auditlens.serve.kubeconfig import webhook_kubeconfig  # noqa: E402

APISERVER_BATCHES_PER_S = 10
APISERVER_BATCH = 400

SIMPLE_RECEIVER = r'''
import sys, orjson
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = open(sys.argv[2], "ab")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        items = orjson.loads(body).get("items") or []
        out.write(b"".join(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in items))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the receiver exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not listen")


def run_one(name: str, args: list[str], port: int, kubeconfig: Path, events: list[dict],
            in_flight: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        client = WebhookClient(kubeconfig, in_flight=in_flight, max_wait=0.05, scale=1.0)
        t0 = time.perf_counter()
        for e in events:
            client.send(e)
        stats = client.close(timeout=3600)
        elapsed = time.perf_counter() - t0
        rss = peak_rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    acked = sum(len(b) for b in stats.acked)
    lat = sorted(stats.latencies)
    return {"events": acked, "batches": len(stats.acked), "dropped": len(stats.dropped),
            "seconds": elapsed, "events_s": acked / elapsed, "batches_s": len(stats.acked) / elapsed,
            "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], "rss_mib": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "k8s")
    opts = parser.parse_args()
    templates = corpus_events(opts.corpus)
    if not templates:
        sys.exit(f"no audit Events found under {opts.corpus}")
    events = replayed(templates, opts.events, "bench")
    work = HERE / ".data" / "serve"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    certs = make_certs(work)
    results = {}

    port = free_port()
    kube = work / "serve.yaml"
    kube.write_text(webhook_kubeconfig(f"https://127.0.0.1:{port}/audit/bench", ca_cert=str(certs.ca),
                                       client_cert=str(certs.client_cert), client_key=str(certs.client_key)))
    results["auditlens serve (mTLS, fsync)"] = run_one(
        "serve", [sys.executable, "-m", "auditlens", "serve", "--listen", f"127.0.0.1:{port}",
                  "--out", str(work / "out"), "--tls-cert", str(certs.server_cert),
                  "--tls-key", str(certs.server_key), "--client-ca", str(certs.ca),
                  "--min-free-disk", "100MiB"], port, kube, events, opts.in_flight)

    port = free_port()
    kube = work / "simple.yaml"
    kube.write_text(webhook_kubeconfig(f"https://127.0.0.1:{port}/", ca_cert=str(certs.ca))
                    .replace("https://", "http://"))
    results["simplest receiver (HTTP, no fsync)"] = run_one(
        "simple", [sys.executable, "-c", SIMPLE_RECEIVER, str(port), str(work / "simple.jsonl")],
        port, kube, events, opts.in_flight)

    print(f"{opts.events} events ({sum(len(str(e)) for e in events[:1000]) / 1000:.0f} chars each "
          f"on average), batches of {APISERVER_BATCH}, {opts.in_flight} in flight, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| receiver | events/s | batches/s | p50 ack | p99 ack | peak RSS | dropped |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['events_s']:,.0f} | {r['batches_s']:.1f} | {r['p50_ms']:.0f} ms | "
              f"{r['p99_ms']:.0f} ms | {r['rss_mib']:.0f} MiB | {r['dropped']:.0f} |")
    serve, simple = results.values()
    print(f"\ncost of durability: auditlens serve takes {simple['events_s'] / serve['events_s']:.2f}x "
          f"the time per event of the simplest receiver")
    ceiling = APISERVER_BATCHES_PER_S * APISERVER_BATCH
    print(f"apiserver default ceiling {ceiling:,} events/s ({APISERVER_BATCHES_PER_S} batches/s x "
          f"{APISERVER_BATCH}): auditlens serve holds {serve['events_s'] / ceiling:.1f}x it")


if __name__ == "__main__":
    main()
