"""Per-connection and per-address limits: a token bucket for frame rate, connection slots per address, and a
throttle on wrong passphrases. Plain counters driven by a monotonic clock; no I/O and no tasks.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class TokenBucket:
    """Allows `rate` events per second on average and `burst` at once.

    Attributes:
        rate: tokens added per second.
        burst: the bucket's size.
    """

    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate")  # one per connection: keep it small

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now

    def delay(self) -> float:
        """Seconds until take() would succeed (0.0: now). Spends nothing."""
        self._refill()
        return max(0.0, (1.0 - 1e-9 - self._tokens) / self.rate)

    def take(self) -> bool:
        """Spend one token; False (and nothing spent) when the bucket is empty."""
        self._refill()
        if self._tokens >= 1.0 - 1e-9:  # float sums of rate * dt land just under a whole token
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False


class IpSlots:
    """Counts open connections per client address and refuses past a limit.

    Attributes:
        limit: connections allowed per address.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, ip: str) -> bool:
        count = self._open.get(ip, 0)
        if count >= self.limit:
            return False
        self._open[ip] = count + 1
        return True

    def release(self, ip: str) -> None:
        count = self._open.get(ip, 0) - 1
        if count > 0:
            self._open[ip] = count
        else:
            self._open.pop(ip, None)

    def count(self, ip: str) -> int:
        return self._open.get(ip, 0)

    def total(self) -> int:
        return sum(self._open.values())


class FailureThrottle:
    """Remembers wrong passphrases per address for a minute; past `per_minute` the address must wait.

    Memory stays bounded: addresses whose failures are all older than the window are forgotten as we go.

    Attributes:
        per_minute: failures allowed per address per minute.
    """

    WINDOW = 60.0

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, ip: str) -> deque[float] | None:
        stamps = self._failures.get(ip)
        if stamps is None:
            return None
        horizon = self._clock() - self.WINDOW
        while stamps and stamps[0] < horizon:
            stamps.popleft()
        if not stamps:
            del self._failures[ip]
            return None
        return stamps

    def blocked(self, ip: str) -> bool:
        stamps = self._recent(ip)
        return stamps is not None and len(stamps) >= self.per_minute

    def failed(self, ip: str) -> None:
        if len(self._failures) > 10_000:  # many addresses: sweep the stale ones before adding
            for old in list(self._failures):
                self._recent(old)
        stamps = self._recent(ip)
        if stamps is None:
            stamps = self._failures[ip] = deque(maxlen=self.per_minute)
        stamps.append(self._clock())
