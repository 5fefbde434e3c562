"""Bytes-read progress for long jobs: the CLI shows it as a bar on a terminal, nothing otherwise.

A reader does not know about bars. While a :func:`tracking` block is active, every file that
:mod:`auditlens.sources` opens is wrapped so that its reads count (compressed files count their
bytes on disk, so the total is the sum of file sizes), and parallel reads add each finished
piece. Outside such a block files are opened as they are, at no cost.

A read that knows its size before it starts (a report's sources, routed) announces it with
:func:`reading` and names each part as it gets to it with :func:`step` (a node, the Kubernetes
logs); inside :func:`shown_on` that becomes a bar, elsewhere nothing. Bytes read outside the
announced part (sniffing the inputs, reading records again for a report) are not counted.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

__all__ = ["advance", "bar", "counted", "paused", "reading", "shown_on", "step", "tracking"]

_ACTIVE: ContextVar[Callable[[int], None] | None] = ContextVar("auditlens_progress", default=None)
_SHOWN: ContextVar[IO[str] | None] = ContextVar("auditlens_progress_stream", default=None)
_STEP: ContextVar[Callable[[str], None] | None] = ContextVar("auditlens_progress_step", default=None)


@contextmanager
def _set(var: ContextVar[Any], value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


@contextmanager
def tracking(callback: Callable[[int], None]) -> Iterator[None]:
    """Call ``callback(n)`` with the bytes read by each read of an input inside this block."""
    with _set(_ACTIVE, callback):
        yield


@contextmanager
def paused() -> Iterator[None]:
    """Count nothing inside this block: a part whose bytes its caller counts as a whole (a node
    read here or in a worker alike, by its files' sizes)."""
    with _set(_ACTIVE, None):
        yield


@contextmanager
def shown_on(stream: IO[str]) -> Iterator[None]:
    """Draw every read announced with :func:`reading` inside this block as a bar on ``stream``
    (a terminal)."""
    with _set(_SHOWN, stream):
        yield


@contextmanager
def reading(total: int | None, steps: int = 1, *, label: str = "reading") -> Iterator[None]:
    """A read of ``total`` bytes (None: not known, e.g. standard input) in ``steps`` parts
    named by :func:`step`: a bar inside :func:`shown_on`, else nothing."""
    stream = _SHOWN.get()
    if stream is None or total is None:
        yield
        return
    with bar(total, stream, label=label, steps=steps) as feed, _set(_STEP, feed.step):
        yield


def step(name: str) -> None:
    """The announced read gets to its next part: the bar says ``name (k/steps)``."""
    callback = _STEP.get()
    if callback is not None:
        callback(name)


def advance(n: int) -> None:
    """Count ``n`` bytes read elsewhere (by a worker process)."""
    callback = _ACTIVE.get()
    if callback is not None and n:
        callback(n)


class _Counting(io.RawIOBase):
    """A raw file that reports the bytes it hands out."""

    def __init__(self, raw: IO[bytes], callback: Callable[[int], None]) -> None:
        self._raw, self._callback = raw, callback
        self.name = getattr(raw, "name", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._callback(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def counted(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` wrapped to count its reads while a :func:`tracking` block is active."""
    callback = _ACTIVE.get()
    if callback is None:
        return raw
    return _Counting(raw, callback)  # type: ignore[return-value]


class _Bar:
    """Feeds a click progress bar, redrawing at most every ``step`` bytes."""

    def __init__(self, bar: Any, total: int, step: int, steps: int = 1) -> None:
        self.bar, self.total, self.every, self.pending, self.done = bar, total, step, 0, 0
        self.steps, self.taken = steps, 0

    def info(self, _: object) -> str:
        return f"{self.done / 2**20:,.1f}/{self.total / 2**20:,.1f} MiB"

    def __call__(self, n: int) -> None:
        self.pending += n
        if self.pending >= self.every:
            self.flush()

    def flush(self) -> None:
        n = min(self.pending, self.total - self.done)
        self.pending = 0
        if n > 0:
            self.done += n
            self.bar.update(n)

    def step(self, name: str) -> None:
        self.flush()
        self.taken += 1
        self.bar.label = f"{name} ({self.taken}/{self.steps})"
        self.bar.render_progress()


@contextmanager
def bar(total: int, stream: IO[str], *, label: str = "parsing", step: int = 1 << 20,
        steps: int = 1) -> Iterator[_Bar]:
    """A progress bar of ``total`` bytes on ``stream`` (a terminal), active as the tracking
    callback inside the block; ``steps``: the parts :meth:`_Bar.step` names."""
    import click

    feed = _Bar(None, total, step, steps)
    shown_bar: Any = click.progressbar(length=max(total, 1), label=label,  # type: ignore[call-overload]
                                       file=stream, item_show_func=feed.info)
    with shown_bar as shown, tracking(feed):
        feed.bar = shown
        yield feed
        feed.flush()
