"""Timing for the chat client: reconnect backoff with jitter, and a pacer that keeps sends under the hub's rate.

Backoff: the first retry comes quickly (a hub that restarts or is taken over is back within a second), later
ones double up to a ceiling, and each is spread by random jitter so clients that lost the same hub at the same
moment do not all knock at once. Pacer: the hub drops frames beyond 20 a second (bursts of 20); the client stays
below that on its own, so resending a full outbox after a reconnect never trips the limit. Plain arithmetic on a
clock that tests can replace; no tasks, no I/O.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from core.chat.hub.limits import TokenBucket


class Backoff:
    """Exponential delays with jitter: first, first*2, first*4, ... up to ceiling, each times 1 +- jitter.

    Attributes:
        first: the first delay in seconds.
        ceiling: the longest delay before jitter.
        jitter: the spread, as a fraction of the delay (0.25: +-25 %).
        attempts: delays handed out since the last reset().
    """

    def __init__(
        self, first: float = 0.5, ceiling: float = 30.0, jitter: float = 0.25, rng: random.Random | None = None
    ) -> None:
        if first <= 0 or ceiling < first or not 0 <= jitter < 1:
            raise ValueError("backoff needs 0 < first <= ceiling and 0 <= jitter < 1")
        self.first = first
        self.ceiling = ceiling
        self.jitter = jitter
        self.attempts = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        base = min(self.ceiling, self.first * 2.0 ** min(self.attempts, 32))
        self.attempts += 1
        return base * (1 + self._rng.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        self.attempts = 0


class Pacer(TokenBucket):
    """The hub's token bucket (hub/limits.py), asked how long to wait before the next send (and books that send).

    Attributes:
        rate: sends per second, sustained.
        burst: sends allowed at once.
    """

    __slots__ = ()

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a pacer needs a positive rate and a burst of at least 1")
        super().__init__(rate, burst, clock)

    def delay(self) -> float:
        """Seconds to wait before sending; the send is booked, so call it once per frame and then wait."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= -1e-9 else -self._tokens / self.rate

    def available(self) -> bool:
        """A send right now would not wait (used to drop typing notices rather than queue them)."""
        self._refill()
        return self._tokens >= 1.0 - 1e-9
