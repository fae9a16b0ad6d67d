"""The loop's pulse: a heartbeat that measures loop lag all the time, cheaply.

Every `interval` seconds a timer callback runs and notes how late it ran (the loop's lag: how long a callback
that is due waits before it runs); the supervised task `monitor:heartbeat` owns that chain of callbacks. Lags
are summarised per wall-clock second (p50, p99, max; 10 minutes kept), and the last minute of raw beats is
kept for the loop lab. The watchdog thread reads `due` (a float written by the loop thread, read atomically)
to notice a late beat while the loop is still blocked.
It must not do more per beat than append to a list: it runs tens of times a second for the app's whole life.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable

from core.monitor.errors import MonitorSettingError
from core.monitor.snapshots import LagSecond

log = logging.getLogger("squall.monitor")

DEFAULT_INTERVAL = 0.05  # 20 beats a second: waking the loop costs ~0.17 % CPU per 10 Hz here (docs/benchmarks.md)
HISTORY_SECONDS = 600  # ten minutes of per-second statistics
RAW_SECONDS = 60  # raw beats kept for the lab's "lag caused by this run"

BeatListener = Callable[[float, float], None]  # (due as time.monotonic(), lag in ms)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    # the smallest value with at least `fraction` of the values at or below it (epsilon: 0.29 * 100 = 28.999...)
    index = max(0, min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values) - 1e-9) - 1))
    return sorted_values[index]


class Heartbeat:
    """Measures loop lag with one beat every `interval` seconds.

    Attributes:
        interval: seconds between beats.
        due: time.monotonic() at which the next beat is due (None before the first); read by the watchdog.
        beats: count of beats so far.
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        *,
        history_seconds: int = HISTORY_SECONDS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0.001 <= interval <= 1.0:
            raise MonitorSettingError(
                f"heartbeat interval {interval!r} s is out of range; use 0.001 to 1 s (0.025 is the default)"
            )
        self.interval = interval
        self.due: float | None = None
        self.beats = 0
        self._wall_clock = wall_clock
        self._second = 0  # the wall-clock second being collected
        self._lags: list[float] = []  # lags (ms) of the beats in that second
        self._seconds: deque[LagSecond] = deque(maxlen=history_seconds)
        self._new_seconds: deque[LagSecond] = deque(maxlen=history_seconds)
        self._raw: deque[tuple[float, float]] = deque(maxlen=max(10, round(RAW_SECONDS / interval)))
        self._listeners: list[BeatListener] = []
        self._next_beat: list[asyncio.Future[None]] = []
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = None

    def add_listener(self, listener: BeatListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: BeatListener) -> None:
        self._listeners.remove(listener)

    async def run(self) -> None:
        """Beat until cancelled (run it as a supervised task; the beats are timer callbacks it owns).

        Each beat is one timer callback that schedules the next, not a task waking from asyncio.sleep: that
        halves the cost per beat (no Future, no task step; on qasync one Qt timer instead of two).
        """
        loop = asyncio.get_running_loop()
        forever: asyncio.Future[None] = loop.create_future()
        self._schedule(loop)
        try:
            await forever
        finally:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            self.due = None
            for waiter in self._next_beat:
                waiter.cancel()
            self._next_beat.clear()

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self.due = time.monotonic() + self.interval
        self._handle = loop.call_later(self.interval, self._fire, loop, self.due)

    def _fire(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = time.monotonic()
        self._schedule(loop)  # first, so a failing listener can never stop the pulse
        try:
            self.record_beat(due, now)
        except Exception:
            log.exception("a heartbeat listener failed")

    def record_beat(self, due: float, now: float) -> None:
        """Account one beat that was due at `due` and ran at `now` (time.monotonic()); run() calls it."""
        lag_ms = max(0.0, (now - due) * 1000.0)
        self.beats += 1
        self._raw.append((due, lag_ms))
        wall = self._wall_clock()
        second = int(wall)
        if second != self._second:
            self._close_second(second, wall - lag_ms / 1000.0)
        self._lags.append(lag_ms)
        for listener in self._listeners:
            listener(due, lag_ms)
        if self._next_beat:
            waiters, self._next_beat = self._next_beat, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _close_second(self, second: int, due_wall: float) -> None:
        """Summarise the finished second; seconds with no beat at all were spent blocked."""
        if self._second and self._lags:
            values = sorted(self._lags)
            self._add(
                LagSecond(
                    float(self._second), len(values), percentile(values, 0.5), percentile(values, 0.99), values[-1]
                )
            )
        if self._second:
            for gap in range(self._second + 1, second):
                # How late the loop was at the end of this beat-less second: a ramp that shows the freeze.
                late_ms = max(0.0, (gap + 1 - due_wall) * 1000.0)
                self._add(LagSecond(float(gap), 0, late_ms, late_ms, late_ms))
        self._second = second
        self._lags = []

    def _add(self, entry: LagSecond) -> None:
        self._seconds.append(entry)
        self._new_seconds.append(entry)

    def history(self) -> tuple[LagSecond, ...]:
        """Per-second statistics, oldest first, up to ten minutes."""
        return tuple(self._seconds)

    def drain(self) -> tuple[LagSecond, ...]:
        """Seconds completed since the last drain."""
        new = tuple(self._new_seconds)
        self._new_seconds.clear()
        return new

    def lags_between(self, start: float, end: float) -> list[float]:
        """Lags (ms) of the beats that were due between start and end (time.monotonic())."""
        return [lag for due, lag in self._raw if start <= due <= end]

    def current_lags(self) -> list[float]:
        """Lags (ms) of the beats of the second being collected."""
        return list(self._lags)

    def next_beat(self) -> asyncio.Future[None]:
        """A future that completes at the next beat (cancelled if the heartbeat stops)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._next_beat.append(waiter)
        return waiter
