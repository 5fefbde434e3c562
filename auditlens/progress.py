"""Bytes-read progress for long jobs: the CLI shows it as a bar on a terminal, nothing otherwise.

A reader does not know about bars. While a :func:`tracking` block is active, every file that
:mod:`auditlens.sources` opens is wrapped so that its reads count (compressed files count their
bytes on disk, so the total is the sum of file sizes), and parallel reads add each finished
piece. Outside such a block files are opened as they are, at no cost.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

__all__ = ["advance", "bar", "counted", "tracking"]

_ACTIVE: ContextVar[Callable[[int], None] | None] = ContextVar("auditlens_progress", default=None)


@contextmanager
def tracking(callback: Callable[[int], None]) -> Iterator[None]:
    """Call ``callback(n)`` with the bytes read by each read of an input inside this block."""
    token = _ACTIVE.set(callback)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


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

    def __init__(self, bar: Any, total: int, step: int) -> None:
        self.bar, self.total, self.step, self.pending, self.done = bar, total, step, 0, 0

    def info(self, _: object) -> str:
        return f"{self.done / 2**20:,.1f}/{self.total / 2**20:,.1f} MiB"

    def __call__(self, n: int) -> None:
        self.pending += n
        if self.pending >= self.step:
            self.flush()

    def flush(self) -> None:
        n = min(self.pending, self.total - self.done)
        self.pending = 0
        if n > 0:
            self.done += n
            self.bar.update(n)


@contextmanager
def bar(total: int, stream: IO[str], *, label: str = "parsing",
        step: int = 1 << 20) -> Iterator[Callable[[int], None]]:
    """A progress bar of ``total`` bytes on ``stream`` (a terminal), active as the tracking
    callback inside the block."""
    import click

    feed = _Bar(None, total, step)
    shown_bar: Any = click.progressbar(length=max(total, 1), label=label,  # type: ignore[call-overload]
                                       file=stream, item_show_func=feed.info)
    with shown_bar as shown, tracking(feed):
        feed.bar = shown
        yield feed
        feed.flush()
