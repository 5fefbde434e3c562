"""A test client that sends audit events the way the kube-apiserver's batch webhook backend does.

What it copies (kubernetes/apiserver ``plugin/pkg/audit/buffered/buffered.go`` and
``plugin/pkg/audit/webhook/webhook.go``, client-go ``rest/request.go``):

- events are buffered and cut into batches of at most ``max_batch`` (400) events, or fewer
  once ``max_wait`` has passed since the batch's first event;
- one ``audit.k8s.io/v1`` EventList per POST, ``?timeout=30s`` appended, JSON, not compressed;
- several batches in flight at once (``in_flight`` sender threads);
- any error — a status outside 200–206, a timeout, a refused or cut connection — is retried
  with backoff from 10 s, factor 1.5, jitter 0.2, 5 tries in all (times multiplied by
  ``scale`` for tests), honouring ``Retry-After``; after the last try the batch is dropped;
- the server, its CA and the client certificate come from a webhook kubeconfig.
"""

from __future__ import annotations

import http.client
import queue
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import yaml

BACKOFF_INITIAL = 10.0
BACKOFF_FACTOR = 1.5
BACKOFF_JITTER = 0.2
BACKOFF_STEPS = 5
REQUEST_TIMEOUT = 30.0


@dataclass
class Kubeconfig:
    server: str
    ca: str | None
    cert: str | None
    key: str | None

    @classmethod
    def load(cls, path: str | Path) -> Kubeconfig:
        doc = yaml.safe_load(Path(path).read_text())
        cluster = doc["clusters"][0]["cluster"]
        user = doc["users"][0].get("user") or {}
        return cls(cluster["server"], cluster.get("certificate-authority"),
                   user.get("client-certificate"), user.get("client-key"))

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        return ctx


def event_list(events: list[dict]) -> bytes:
    return orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                         "metadata": {}, "items": events})


@dataclass
class Stats:
    acked: list[list[dict]] = field(default_factory=list)
    dropped: list[list[dict]] = field(default_factory=list)
    attempts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


class WebhookClient:
    """Feed events with :meth:`send`; :meth:`close` flushes and waits for every batch to be
    acknowledged or dropped. ``stats`` tells what happened."""

    def __init__(self, kubeconfig: str | Path, *, max_batch: int = 400, max_wait: float = 0.2,
                 in_flight: int = 4, scale: float = 0.1, timeout: float = REQUEST_TIMEOUT,
                 steps: int = BACKOFF_STEPS) -> None:
        self.config = Kubeconfig.load(kubeconfig)
        url = urlsplit(self.config.server)
        self.host, self.port = url.hostname or "", url.port or 443
        self.path = (url.path or "/") + "?timeout=30s"
        self.tls = url.scheme == "https"
        self.ctx = self.config.ssl_context() if self.tls else None
        self.max_batch, self.max_wait = max_batch, max_wait
        self.scale, self.timeout, self.steps = scale, timeout * scale, steps
        self.events: queue.Queue[dict | None] = queue.Queue(maxsize=10_000)
        self.batches: queue.Queue[list[dict] | None] = queue.Queue(maxsize=in_flight * 2)
        self.stats = Stats()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._batcher, daemon=True)]
        self.threads += [threading.Thread(target=self._sender, daemon=True) for _ in range(in_flight)]
        self.in_flight = in_flight
        for t in self.threads:
            t.start()

    def send(self, event: dict) -> None:
        self.events.put(event)

    def close(self, timeout: float = 120) -> Stats:
        self.events.put(None)
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            raise TimeoutError("the webhook client did not finish in time")
        return self.stats

    def _batcher(self) -> None:
        batch: list[dict] = []
        started = 0.0
        while True:
            wait = None if not batch else max(0.0, started + self.max_wait - time.monotonic())
            try:
                item = self.events.get(timeout=wait)
            except queue.Empty:
                item = ...  # the time limit: send what is buffered
            if item is None or item is ...:
                if batch:
                    self.batches.put(batch)
                    batch = []
                if item is None:
                    for _ in range(self.in_flight):
                        self.batches.put(None)
                    return
                continue
            if not batch:
                started = time.monotonic()
            batch.append(item)  # type: ignore[arg-type]
            if len(batch) >= self.max_batch:
                self.batches.put(batch)
                batch = []

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                               timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _sender(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while True:
            batch = self.batches.get()
            if batch is None:
                if conn is not None:
                    conn.close()
                return
            body = event_list(batch)
            delay = BACKOFF_INITIAL * self.scale
            for attempt in range(self.steps):
                status, retry_after = "error", None
                t0 = time.monotonic()
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.request("POST", self.path, body=body,
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    resp.read()
                    status = str(resp.status)
                    retry_after = resp.getheader("Retry-After")
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                with self.lock:
                    self.stats.attempts += 1
                    self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
                if status.isdigit() and 200 <= int(status) <= 206:
                    with self.lock:
                        self.stats.acked.append(batch)
                        self.stats.latencies.append(time.monotonic() - t0)
                    break
                if attempt == self.steps - 1:
                    with self.lock:
                        self.stats.dropped.append(batch)
                    break
                wait = delay * (1 + random.uniform(0, BACKOFF_JITTER))
                if retry_after and retry_after.isdigit():
                    wait = max(wait, int(retry_after) * self.scale)
                time.sleep(wait)
                delay *= BACKOFF_FACTOR


def _json_values(path: Path) -> list[object]:
    data = path.read_bytes()
    try:
        return [orjson.loads(data)]
    except orjson.JSONDecodeError:
        pass
    out = []
    for line in data.splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return out


def _audit_events(value: object) -> list[dict]:
    if isinstance(value, list):
        return [e for v in value for e in _audit_events(v)]
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("items"), list):
        return _audit_events(value["items"])
    if all(isinstance(value.get(k), str) for k in ("auditID", "stage", "stageTimestamp", "verb")):
        return [value]
    return []


def corpus_events(k8s_corpus: Path) -> list[dict]:
    """Every audit Event (plain, in EventLists, or flattened as in ViaQ) of the k8s corpus."""
    found = []
    for path in sorted(k8s_corpus.rglob("*")):
        if path.is_file() and path.name != "MANIFEST.tsv":
            for value in _json_values(path):
                found.extend(_audit_events(value))
    return found


def replayed(templates: list[dict], n: int, tag: str) -> list[dict]:
    """``n`` events shaped like the real ``templates``, each with its own auditID (what a busy
    apiserver's stream looks like: the same kinds of requests, different requests)."""
    out = []
    for i in range(n):
        event = dict(templates[i % len(templates)])
        event.pop("kind", None)
        event.pop("apiVersion", None)
        event["auditID"] = f"{tag}-{i:08d}-{event['auditID'][:8]}"
        out.append(event)
    return out


def identity(event: dict) -> tuple[str, str, str]:
    return event["auditID"], event["stage"], event["stageTimestamp"]
