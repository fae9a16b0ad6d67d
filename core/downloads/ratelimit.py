"""Speed limits as token buckets: a global one and one per download, changeable while transfers run.

A transfer consumes tokens for every chunk it writes (the bucket may go into debt) and then waits until the
buckets it draws from are out of debt, so over any long window the rate never exceeds the limit by more than
one burst. Pure bookkeeping: waiting is the caller's business (Limiter.wait below is the loop-side helper).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """Bytes allowed per second, with a small burst (0.05 s worth, at least 16 KiB).

    Attributes:
        rate: bytes per second; 0 means unlimited.
    """

    BURST_SECONDS = 0.05
    MIN_BURST = 16 * 1024

    def __init__(self, rate: float = 0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.rate = 0.0
        self._tokens = 0.0
        self._stamp = clock()
        self.set_rate(rate)

    @property
    def burst(self) -> float:
        return max(self.rate * self.BURST_SECONDS, float(self.MIN_BURST))

    def set_rate(self, rate: float) -> None:
        if rate < 0:
            raise ValueError(f"a speed limit cannot be negative ({rate}); use 0 for no limit")
        self._refill()
        self.rate = float(rate)
        # Start from an empty bucket so a new limit holds from its first second.
        self._tokens = min(self._tokens, 0.0)

    def _refill(self) -> None:
        now = self._clock()
        if self.rate > 0:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def consume(self, n: int) -> None:
        if self.rate > 0:
            self._refill()
            self._tokens -= n

    def delay(self) -> float:
        """Seconds until the bucket is out of debt (0 when it is, or when unlimited)."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Limiter:
    """The global bucket, plus wake-ups for waiters when any limit changes (a raised limit acts at once)."""

    def __init__(self, rate: float = 0) -> None:
        self.bucket = TokenBucket(rate)
        self._waiters: set[asyncio.Future[None]] = set()

    def changed(self) -> None:
        """Wake every waiter so it re-reads the limits (also used when a transfer is aborted)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def set_rate(self, rate: float) -> None:
        self.bucket.set_rate(rate)
        self.changed()

    async def wait(self, buckets: tuple[TokenBucket, ...], aborted: Callable[[], bool]) -> None:
        """Wait until none of the buckets is in debt; re-check when limits change or a transfer aborts."""
        loop = asyncio.get_running_loop()
        while not aborted():
            delay = max(b.delay() for b in buckets)
            if delay <= 0:
                return
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            handle = loop.call_later(min(delay, 0.25), _wake, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self._waiters.discard(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
