"""The bounds of the connection counts and speed limits, checked the same way by the engine, the settings and
the command line."""

from __future__ import annotations

from core.downloads.errors import DownloadError

MAX_CONCURRENCY = 64


def check_count(what: str, n: object, error: type[Exception] = DownloadError) -> int:
    """n when it is a whole number from 1 to MAX_CONCURRENCY; `error` saying so otherwise."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CONCURRENCY:
        raise error(f"{what} must be a whole number from 1 to {MAX_CONCURRENCY}, not {n!r}")
    return n


def check_rate(n: object, error: type[Exception] = DownloadError) -> int:
    """n when it is a speed limit in bytes/s (0: none); `error` saying so otherwise."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise error(f"a speed limit must be a whole number of bytes per second, 0 for none, not {n!r}")
    return n
