"""The service's one clock: every time-dependent decision reads it here.

Scheduling, leases, backoff, retention cut-offs, feed dates and Last-Modified all ask
this module instead of `time` or `datetime`, so a test can swap in a `ManualClock` and
move time forward by hand: no sleeping, no waiting for a wall clock, no flaky bounds.
The default is the system clock; `use()` swaps it for the length of a `with` block.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time (for dates and schedules) and monotonic time (for durations)."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (a blocking wait, for threads)."""


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to: `advance()` moves both readings alike, and
    `sleep()` advances instead of waiting, so a retry loop runs its course at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._monotonic = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            self._monotonic += seconds


_clock: Clock = SystemClock()


def current() -> Clock:
    return _clock


def now() -> float:
    """Wall time in seconds since the epoch, from the current clock."""
    return _clock.now()


def monotonic() -> float:
    return _clock.monotonic()


def sleep(seconds: float) -> None:
    _clock.sleep(seconds)


def utcnow() -> datetime:
    """The current clock's wall time as an aware UTC datetime."""
    return datetime.fromtimestamp(_clock.now(), UTC)


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Make `clock` the service's clock inside the block (tests), then restore the old one."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous
