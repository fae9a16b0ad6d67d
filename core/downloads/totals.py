"""Totals over a list of downloads (active, queued, total speed), the downloads that just finished, and the total
throughput of the last minute, from the engine's snapshot batches.

Bookkeeping only: fed with snapshots and the time, it never calls the engine and starts no task. The Downloads
tab shows it in its status bar and graph; any other front end can do the same.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from core.downloads.model import FINISHED, RUNNING, DownloadProgress, State

ANNOUNCED = frozenset({State.COMPLETED, State.FAILED})


@dataclass(frozen=True)
class Totals:
    """The list at a glance.

    Attributes:
        count: downloads in the list.
        active: downloads connecting, downloading or verifying.
        queued: downloads waiting for a connection (or for their next try).
        paused, completed, failed, cancelled: downloads in those states.
        speed: bytes per second of all running downloads together.
        remaining: bytes still to fetch for the unfinished downloads whose size is known.
        eta: seconds until those bytes are in at the current speed, or None.
    """

    count: int = 0
    active: int = 0
    queued: int = 0
    paused: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    speed: float = 0.0
    remaining: int = 0
    eta: float | None = None


class Tally:
    """The newest snapshot per download and running counts by state, updated batch by batch.

    Attributes:
        since: time.time() when the tally began; a download first seen already finished counts as "just
            finished" only if it finished after this (a small file can complete inside one engine tick), so
            the history restored at start-up announces nothing.
    """

    def __init__(self, since: float | None = None) -> None:
        self.since = time.time() if since is None else since
        self._latest: dict[int, DownloadProgress] = {}
        self._states: Counter[State] = Counter()
        self._running: dict[int, DownloadProgress] = {}
        self._unfinished: dict[int, DownloadProgress] = {}

    def __len__(self) -> int:
        return len(self._latest)

    def get(self, download_id: int) -> DownloadProgress | None:
        return self._latest.get(download_id)

    def update(self, batch: Iterable[DownloadProgress]) -> list[DownloadProgress]:
        """Take in a batch; returns the downloads in it that have just completed or failed."""
        finished: list[DownloadProgress] = []
        for p in batch:
            before = self._latest.get(p.id)
            if before is not None:
                self._states[before.state] -= 1
            self._latest[p.id] = p
            self._states[p.state] += 1
            self._track(p)
            if p.state in ANNOUNCED and (
                (before is not None and before.state not in FINISHED)
                or (before is None and (p.finished_at or 0) >= self.since)
            ):
                finished.append(p)
        return finished

    def forget(self, download_id: int) -> None:
        before = self._latest.pop(download_id, None)
        if before is not None:
            self._states[before.state] -= 1
        self._running.pop(download_id, None)
        self._unfinished.pop(download_id, None)

    def _track(self, p: DownloadProgress) -> None:
        if p.state in RUNNING:
            self._running[p.id] = p
        else:
            self._running.pop(p.id, None)
        if p.state in FINISHED:
            self._unfinished.pop(p.id, None)
        else:
            self._unfinished[p.id] = p

    def totals(self) -> Totals:
        speed = sum(p.speed for p in self._running.values())
        remaining = sum(max(0, p.total - p.received) for p in self._unfinished.values() if p.total is not None)
        states = self._states
        return Totals(
            count=len(self._latest),
            active=sum(states[s] for s in RUNNING),
            queued=states[State.QUEUED],
            paused=states[State.PAUSED],
            completed=states[State.COMPLETED],
            failed=states[State.FAILED],
            cancelled=states[State.CANCELLED],
            speed=speed,
            remaining=remaining,
            eta=remaining / speed if speed > 0 and remaining else None,
        )


class ThroughputHistory:
    """Total speed per second for the last `window` seconds: the mean of the samples taken within each second.

    Attributes:
        window: seconds kept.
    """

    def __init__(self, window: int = 60) -> None:
        if window < 1:
            raise ValueError(f"a throughput window must be at least 1 second, not {window}")
        self.window = window
        self._seconds: deque[tuple[int, float, int]] = deque()  # (second, sum of samples, count)

    def add(self, now: float, bytes_per_s: float) -> bool:
        """Record a sample taken at `now` (seconds, any monotonic clock); True when it began a new second."""
        second = math.floor(now)
        seconds = self._seconds
        if seconds and seconds[-1][0] == second:
            _, total, count = seconds[-1]
            seconds[-1] = (second, total + bytes_per_s, count + 1)
            return False
        if seconds and second < seconds[-1][0]:
            return False  # a clock going backwards must not scramble the history
        seconds.append((second, bytes_per_s, 1))
        while seconds and seconds[0][0] <= second - self.window:
            seconds.popleft()
        return True

    def series(self, now: float) -> list[float]:
        """Mean speed of each of the `window` seconds up to and including now's, oldest first; 0 for gaps."""
        last = math.floor(now)
        values = [0.0] * self.window
        for second, total, count in self._seconds:
            slot = second - (last - self.window + 1)
            if 0 <= slot < self.window:
                values[slot] = total / count
        return values

    def peak(self, now: float) -> float:
        return max(self.series(now))
