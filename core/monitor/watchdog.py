"""The watchdog: a thread that notices a blocked loop and captures the loop thread's stack while it is blocked.

It watches the heartbeat's `due` timestamp. When the beat is late by more than the threshold, the loop thread
is still stuck in whatever blocks it, so sys._current_frames() shows exactly that code. The capture goes back
to the loop with call_soon_threadsafe (it runs once the loop is free again). The thread never touches Qt, the
loop's data or any task: it only reads two floats and a frame chain, and reads source lines for its copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.monitor.errors import MonitorSettingError
from core.monitor.introspect import capture_thread, label, with_source
from core.monitor.pulse import Heartbeat
from core.monitor.snapshots import FrameLine

log = logging.getLogger("squall.monitor")

MIN_THRESHOLD_MS = 10
MAX_THRESHOLD_MS = 60_000


def check_threshold(ms: float) -> float:
    if isinstance(ms, bool) or not isinstance(ms, int | float) or not MIN_THRESHOLD_MS <= ms <= MAX_THRESHOLD_MS:
        raise MonitorSettingError(
            f"block threshold {ms!r} ms is out of range; use {MIN_THRESHOLD_MS} to {MAX_THRESHOLD_MS} ms "
            "(100 is the default)"
        )
    return float(ms)


@dataclass(frozen=True, slots=True)
class Capture:
    """What the watchdog saw while the loop was blocked.

    Attributes:
        due: time.monotonic() when the late beat was due (identifies the beat).
        due_wall: the same moment as time.time().
        late_ms: how late the beat was at capture time.
        threshold_ms: the threshold in force.
        where: the loop thread's innermost frame.
        stack: the loop thread's stack, outermost first.
    """

    due: float
    due_wall: float
    late_ms: float
    threshold_ms: float
    where: str
    stack: tuple[FrameLine, ...]


class Watchdog:
    """Watches a Heartbeat from its own thread.

    Attributes:
        threshold_ms: a beat later than this is a block worth capturing (may be changed while running).
    """

    def __init__(
        self,
        heartbeat: Heartbeat,
        on_capture: Callable[[Capture], None],
        *,
        threshold_ms: float = 100,
    ) -> None:
        self._threshold_ms = check_threshold(threshold_ms)
        self._heartbeat = heartbeat
        self._on_capture = on_capture
        self._stop = threading.Event()
        self._wake = threading.Event()  # set to make the thread look again now (stop, new threshold)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    @property
    def threshold_ms(self) -> float:
        return self._threshold_ms

    @threshold_ms.setter
    def threshold_ms(self, ms: float) -> None:
        self._threshold_ms = check_threshold(ms)
        self._wake.set()  # it may be sleeping until the old threshold

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start watching the running loop's thread (call from the loop)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._watch, name="squall-watchdog", daemon=True)
        self._thread.start()

    async def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread and wait for it without blocking the loop."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        deadline = time.monotonic() + timeout
        while thread is not None and thread.is_alive():
            if time.monotonic() > deadline:
                log.warning("the watchdog thread did not stop within %.1f s", timeout)
                return
            await asyncio.sleep(0.005)

    def _watch(self) -> None:
        # No fixed polling: sleep until the beat now due would become late by the threshold, then look. While
        # the loop is healthy that beat has happened by then, so the next look is a threshold away again:
        # about 1,000 / threshold_ms wake-ups a second (10 at 100 ms), and a block is caught within ~1 ms of
        # crossing the threshold.
        captured_due: float | None = None
        wait = 0.05
        while True:
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            due = self._heartbeat.due
            threshold_s = self.threshold_ms / 1000.0
            if due is None:  # the heartbeat is not beating (yet, or any more)
                wait = 0.05
                continue
            late_s = time.monotonic() - due
            if late_s <= threshold_s:
                wait = threshold_s - late_s + 0.001
                continue
            if due == captured_due:  # still the same block: look again for the loop to come back
                wait = max(0.005, threshold_s / 2)
                continue
            frame = sys._current_frames().get(self._loop_thread)
            raw = capture_thread(frame)
            del frame  # a frame reference from another thread must not outlive the capture
            captured_due = due
            late_ms = late_s * 1000.0
            capture = Capture(due, time.time() - late_s, late_ms, self.threshold_ms, label(raw), with_source(raw))
            self._deliver(capture)
            wait = max(0.005, threshold_s / 2)

    def _deliver(self, capture: Capture) -> None:
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop closed under us during shutdown; nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._on_capture, capture)
