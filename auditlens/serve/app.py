"""The HTTP side of ``auditlens serve``: aiohttp handlers over the durable :class:`.Store`.

A ``POST /audit[/{source}]`` is answered only after its batch is committed (200), found
already stored (200, a duplicate absorbed), or refused:

====  ====================================================  =================================
code  when                                                  what the apiserver does
====  ====================================================  =================================
200   committed and fsynced, or a duplicate of a stored one  forgets the batch
400   not an EventList / Event (kept in quarantine)          retries, then drops it
401   bearer token missing or wrong                          retries, then drops it
403   client certificate subject not allowed                 retries, then drops it
413   body over ``--max-body`` (stopped while reading)       retries, then drops it
415   a Content-Encoding other than gzip or deflate         retries, then drops it
503   bytes in flight over the cap, disk under the floor,    retries (after ``Retry-After``)
      shutting down, or the commit failed (I/O error)
====  ====================================================  =================================

Commits are grouped: handlers put their batch on a queue and wait; one committer task takes
everything queued, commits it in one :meth:`.Store.commit` on the store's own thread, and
answers them all. While a group is being fsynced the next one gathers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import signal
import ssl
import sys
import time
import zlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from .batch import Batch, MalformedBatch, decode_batch
from .config import (
    ServeConfig,
    ServeError,
    plain_http_warning,
    subject_allowed,
    subject_of,
    tls_context,
)
from .metrics import Metrics
from .store import Outcome, Store, valid_source

__all__ = ["Receiver", "run"]

DEFAULT_SOURCE = "default"
_CHUNK = 64 * 1024
_MAINTAIN_EVERY = 1.0


class Receiver:
    """The application state: the store, the commit queue, the counters, the readiness."""

    def __init__(self, config: ServeConfig, store: Store, metrics: Metrics | None = None) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics or Metrics()
        self.in_flight = 0
        self.stopping = False
        self.disk_low = False
        self.queue: list[tuple[Batch, asyncio.Future[Outcome]]] = []
        self.wake = asyncio.Event()
        self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store")
        self.committer: asyncio.Task[None] | None = None
        self.maintainer: asyncio.Task[None] | None = None
        self.metrics.gauge_fns["bytes_in_flight"] = lambda: {(): float(self.in_flight)}
        self.metrics.gauge_fns["ready"] = lambda: {(): float(self.ready())}
        self.metrics.gauge_fns["source_last_batch_timestamp_seconds"] = lambda: {
            (("source", s),): t for s, t in self.store.last_batch.items()}
        self.metrics.gauge_fns["source_silent"] = self._silent_gauge

    def _silent_gauge(self) -> dict[tuple[tuple[str, str], ...], float]:
        silent = self.store.silent()
        return {(("source", s),): float(s in silent) for s in self.store.last_batch}

    def ready(self) -> bool:
        """Whether a batch of the largest size would be taken now: not shutting down, disk
        above the floor, room for ``max_body`` more bytes in flight."""
        return not self.stopping and not self.disk_low and \
            self.in_flight + self.config.max_body <= self.config.max_in_flight

    # -- the web application ---------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body,
                              middlewares=[self._count_statuses])
        app.router.add_post("/audit", self.post)
        app.router.add_post("/audit/{source}", self.post)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics_page)
        return app

    @web.middleware
    async def _count_statuses(self, request: web.Request,
                              handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                              ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.metrics.inc("requests_total", code=str(exc.status))
            raise
        self.metrics.inc("requests_total", code=str(response.status))
        return response

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        if self.ready():
            return web.Response(text="ready\n")
        why = "shutting down" if self.stopping else "disk under the free-space floor" \
            if self.disk_low else "too many bytes in flight"
        return web.Response(status=503, text=f"not ready: {why}\n")

    async def metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render().encode(),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    def _busy(self, why: str) -> web.Response:
        return web.Response(status=503, text=f"{why}; retry later\n",
                            headers={"Retry-After": str(self.config.retry_after)})

    def _refuse_auth(self, request: web.Request) -> web.Response | None:
        if self.config.token is not None:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {self.config.token}".encode()):
                self.metrics.inc("auth_refused_total", reason="token")
                return web.Response(status=401, text="bearer token missing or wrong\n",
                                    headers={"WWW-Authenticate": "Bearer"})
        if self.config.allowed_subjects:
            subject = subject_of(request.transport.get_extra_info("peercert")
                                 if request.transport else None)
            if not subject_allowed(subject, self.config.allowed_subjects):
                self.metrics.inc("auth_refused_total", reason="subject")
                return web.Response(status=403, text=f"client certificate subject {subject} "
                                    "is not allowed\n")
        return None

    async def post(self, request: web.Request) -> web.StreamResponse:
        refused = self._refuse_auth(request)
        if refused is not None:
            return refused
        source = request.match_info.get("source", DEFAULT_SOURCE)
        if not valid_source(source):
            return web.Response(status=404, text="a source name is letters, digits, '.', '_' "
                                "and '-', not starting with a dot\n")
        if self.stopping:
            return self._busy("shutting down")
        if self.disk_low:
            return self._busy("the disk is under the free-space floor")
        declared = request.content_length or 0
        if declared > self.config.max_body:
            return web.Response(status=413, text=f"body over {self.config.max_body} bytes\n")
        if self.in_flight + max(declared, 1) > self.config.max_in_flight:
            return self._busy("too many bytes in flight")
        held = [declared]  # the bytes this request counts in flight, grown as it is read
        self.in_flight += declared
        try:
            body = await self._read(request, held)
            if isinstance(body, web.Response):
                return body
            return await self._store(request, source, body)
        finally:
            self.in_flight -= held[0]

    async def _read(self, request: web.Request, held: list[int]) -> bytes | web.Response:
        """The body, read in chunks and decompressed here (gzip, deflate), so that the
        ``--max-body`` limit — on the decompressed size: a small gzip bomb is refused too — and
        the in-flight cap hold while it is read, not after, and so that a body that does not
        decompress is kept as sent (in quarantine). ``held[0]``: the bytes counted in flight."""
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            return web.Response(status=415, text=f"Content-Encoding {encoding} is not gzip or deflate\n")
        inflate = None if encoding == "identity" else zlib.decompressobj(47)  # gzip or zlib header
        raw: list[bytes] = []  # as sent (kept for the quarantine when compressed)
        parts: list[bytes] = []  # decompressed
        size = raw_size = 0
        try:
            async for chunk in request.content.iter_chunked(_CHUNK):
                if inflate is not None:
                    raw.append(chunk)
                    raw_size += len(chunk)
                    chunk = inflate.decompress(chunk, self.config.max_body + 1 - size)
                    if inflate.unconsumed_tail:  # more output than the limit allows
                        size = self.config.max_body + 1
                size += len(chunk)
                if size > self.config.max_body:
                    return web.Response(status=413, text=f"body over {self.config.max_body} bytes\n")
                grown = size + raw_size - held[0]  # what this request holds in memory now
                if grown > 0:
                    if self.in_flight + grown > self.config.max_in_flight:
                        return self._busy("too many bytes in flight")
                    self.in_flight += grown
                    held[0] += grown
                parts.append(chunk)
            if inflate is not None and not inflate.eof:
                raise zlib.error("the compressed body ends early")
        except zlib.error as exc:
            return await self._refuse(request, b"".join(raw), f"not {encoding}: {exc}")
        return b"".join(parts)

    async def _refuse(self, request: web.Request, body: bytes, why: str) -> web.Response:
        """400 for a malformed body, kept in quarantine first (the apiserver would resend
        it until it gives up; what it was stays here)."""
        source = request.match_info.get("source", DEFAULT_SOURCE)
        peer = subject_of(request.transport.get_extra_info("peercert")) \
            if request.transport else None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.thread, self.store.quarantine, body, why, source,
                                   peer or request.remote)
        self.metrics.inc("quarantined_total", source=source)
        return web.Response(status=400, text=f"malformed batch (kept in quarantine): {why}\n")

    async def _store(self, request: web.Request, source: str, body: bytes) -> web.Response:
        loop = asyncio.get_running_loop()
        try:
            batch = await loop.run_in_executor(None, decode_batch, body, source)
        except MalformedBatch as exc:
            return await self._refuse(request, body, str(exc))
        future: asyncio.Future[Outcome] = loop.create_future()
        self.queue.append((batch, future))
        self.wake.set()
        try:
            outcome = await asyncio.shield(future)
        except OSError as exc:
            return self._busy(f"could not store the batch ({exc.strerror or exc})")
        if outcome is Outcome.DUPLICATE:
            self.metrics.inc("duplicates_absorbed_total", source=source)
            return web.Response(text="duplicate of a stored batch\n")
        return web.Response(text="stored\n")

    # -- the committer and the maintenance -------------------------------------------------

    async def commit_loop(self) -> None:
        """Take everything queued, commit it as one group, answer every batch; repeat.
        Runs until cancelled with nothing queued (shutdown drains the queue first)."""
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            self.wake.clear()
            group, self.queue = self.queue, []
            if not group:
                continue
            batches = [b for b, _ in group]
            started = time.perf_counter()
            try:
                outcomes = await loop.run_in_executor(self.thread, self.store.commit, batches)
            except Exception as exc:  # noqa: BLE001 - answered to every batch of the group
                for _, f in group:
                    if not f.done():
                        f.set_exception(exc)
                continue
            self.metrics.observe_fsync(time.perf_counter() - started)
            self.metrics.inc("group_commits_total")
            for (b, f), outcome in zip(group, outcomes):
                if outcome is Outcome.STORED:
                    self.metrics.inc("events_committed_total", b.events, source=b.source)
                    self.metrics.inc("bytes_committed_total", b.nbytes, source=b.source)
                    self.metrics.inc("batches_committed_total", source=b.source)
                if not f.done():
                    f.set_result(outcome)

    async def maintain_loop(self) -> None:
        """Every second: the disk floor, the store's rotation and compaction (on the store's
        thread, between commits), then — off that thread, so commits go on — the Parquet
        copies of newly closed files and the retention."""
        loop = asyncio.get_running_loop()
        copier = None
        if self.config.parquet_dir:
            from .parquet import ParquetCopier

            copier = ParquetCopier(self.config.out, self.config.parquet_dir)
        while True:
            await asyncio.sleep(_MAINTAIN_EVERY)
            try:
                self.disk_low = self.store.disk_free() < self.config.min_free_disk
                await loop.run_in_executor(self.thread, self.store.maintain)
                if copier is not None:
                    for path in copier.pending(self.store.closed_files()):
                        await loop.run_in_executor(None, copier.convert, path)
                if self.config.retention_seconds is not None or self.config.retention_bytes is not None:
                    await loop.run_in_executor(None, lambda: self.store.apply_retention(
                        max_age_seconds=self.config.retention_seconds,
                        max_bytes=self.config.retention_bytes))
            except (OSError, ValueError) as exc:  # a full disk, an unreadable file: go on
                print(f"auditlens serve: maintenance failed: {exc}", file=sys.stderr)

    def start(self) -> None:
        self.disk_low = self.store.disk_free() < self.config.min_free_disk
        self.committer = asyncio.ensure_future(self.commit_loop())
        self.maintainer = asyncio.ensure_future(self.maintain_loop())

    async def drain(self) -> None:
        """Shutdown: commit what is queued, stop the tasks, close the store's files."""
        while self.queue:
            self.wake.set()
            await asyncio.sleep(0.01)
        for task in (self.maintainer, self.committer):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.thread, self.store.close)
        self.thread.shutdown()


def _count_tls_failures(ctx: ssl.SSLContext, metrics: Metrics) -> None:
    """Count failed handshakes (no or an untrusted client certificate, an old protocol) in
    ``tls_failures_total``: the context's SSL objects are of a class that counts the errors
    of ``do_handshake`` (not the "want more data" ones, which are the normal non-blocking
    handshake)."""

    class CountingSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            try:
                super().do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise
            except ssl.SSLError:
                metrics.inc("tls_failures_total")
                raise

    ctx.sslobject_class = CountingSSLObject


async def _serve(config: ServeConfig, stop: asyncio.Event,
                 started: Callable[[str], None] | None) -> None:
    ssl_ctx = tls_context(config)
    store = Store(config.out, rotate_bytes=config.rotate_bytes,
                  rotate_seconds=config.rotate_seconds, dedup_seconds=config.dedup_seconds,
                  silence_seconds=config.silence_seconds, fsync=config.fsync)
    recovery = store.open()
    metrics = Metrics()
    metrics.set("recovery_rolled_back_bytes", recovery.rolled_back_bytes)
    metrics.set("recovery_lost_bytes", recovery.lost_bytes)
    if recovery.rolled_back_bytes or recovery.closed:
        print(f"auditlens serve: recovered {config.out}: {len(recovery.closed)} file(s) closed, "
              f"{recovery.rolled_back_bytes} unacknowledged bytes rolled back, "
              f"{recovery.digests} batch digests remembered", file=sys.stderr)
    receiver = Receiver(config, store, metrics)
    receiver.start()
    runner = web.AppRunner(receiver.app(), handle_signals=False, access_log=None,
                           shutdown_timeout=35.0, auto_decompress=False)
    await runner.setup()
    if ssl_ctx is not None:
        _count_tls_failures(ssl_ctx, metrics)
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_ctx, backlog=256,
                       reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await receiver.drain()
        raise ServeError(f"cannot listen on {config.host}:{config.port}: "
                         f"{exc.strerror or exc}") from None
    if ssl_ctx is None:
        print(plain_http_warning(config.host, config.port), file=sys.stderr)
    port = site.port
    scheme = "https" if ssl_ctx is not None else "http"
    where = f"{scheme}://{config.host}:{port}"
    print(f"auditlens serve: listening on {where}, writing to {config.out}", file=sys.stderr,
          flush=True)
    if started is not None:
        started(where)
    await stop.wait()
    receiver.stopping = True  # readyz false, new batches 503 while the accepted ones finish
    await runner.cleanup()  # stops accepting, waits for the handlers in progress
    await receiver.drain()
    print("auditlens serve: stopped; every accepted batch is committed", file=sys.stderr)


def run(config: ServeConfig, started: Callable[[str], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully: stop accepting, finish and fsync
    what was accepted, close the files (readable from then on)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await _serve(config, stop, started)

    asyncio.run(main())
