"""Speed limits as token buckets: a global one and one per download, changeable while transfers run.

A transfer consumes tokens for every chunk it writes (the bucket may go into debt) and gets a ticket: the point
at which the bucket will have paid for those tokens. It waits until its tickets are paid, so over any long window
the rate never exceeds the limit by more than one burst, and transfers sharing a bucket are served in the order
they took tokens (none is starved by another that happens to wake first). Pure bookkeeping: waiting is the
caller's business (Limiter.wait below is the loop-side helper).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence


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
        self._paid = 0.0  # tokens credited since creation; tickets are marks on this scale
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
            gained = min(max(0.0, self.burst - self._tokens), (now - self._stamp) * self.rate)
            self._tokens += gained
            self._paid += gained
        self._stamp = now

    def consume(self, n: int) -> float:
        """Take n tokens (the bucket may go into debt); returns the ticket to pass to wait_for."""
        if self.rate <= 0:
            return self._paid
        self._refill()
        self._tokens -= n
        # Debt is paid off oldest first: these n tokens are paid once every token owed before them is.
        return self._paid + max(0.0, -self._tokens)

    def wait_for(self, ticket: float) -> float:
        """Seconds until the tokens behind ticket are paid for (0 when they are, or when unlimited)."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return max(0.0, (ticket - self._paid) / self.rate)

    def delay(self) -> float:
        """Seconds until the bucket is out of debt (0 when it is, or when unlimited)."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


Ticket = tuple[TokenBucket, float]  # a bucket and what its consume() returned


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

    async def wait(self, tickets: Sequence[Ticket], aborted: Callable[[], bool]) -> None:
        """Wait until every ticket is paid for; re-check when limits change or a transfer aborts."""
        loop = asyncio.get_running_loop()
        while not aborted():
            delay = max(bucket.wait_for(ticket) for bucket, ticket in tickets)
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
