"""When to try again and how long to wait for each phase: exponential backoff with jitter, Retry-After, timeouts.

Both are plain frozen values handed to the engine, so tests inject tiny delays and timeouts instead of sleeping.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timeouts:
    """Limits by phase; a long healthy transfer is never cut by a total-time limit.

    Attributes:
        connect: seconds for DNS + TCP + TLS.
        first_byte: seconds from the request to the response headers.
        idle: seconds without a single body byte (not counting time our own speed limit holds us back).
        low_speed_bytes: the low-speed rule: slower than this many bytes/s ...
        low_speed_time: ... for this many seconds in a row fails the attempt (0 turns the rule off). Time our own
            speed limit holds us back is left out here too: the rule measures the server, not our limit.
    """

    connect: float = 15.0
    first_byte: float = 30.0
    idle: float = 30.0
    low_speed_bytes: int = 1024
    low_speed_time: float = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded tries.

    Attributes:
        max_attempts: tries in all (the first one included) before the download fails.
        base: the first wait in seconds; it doubles (factor) after each failure.
        factor: growth per failure.
        max_delay: the longest wait between tries, Retry-After included.
        jitter: +- this fraction of randomness, so many clients do not come back at the same instant.
        rng: a random() in [0, 1), injectable for tests.
    """

    max_attempts: int = 6
    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.2
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the attempts-th failed try (attempts >= 1)."""
        backoff = self.base * self.factor ** max(0, attempts - 1)
        backoff *= 1 + self.jitter * (2 * self.rng() - 1)
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return max(0.0, min(backoff, self.max_delay))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
