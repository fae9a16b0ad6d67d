"""The "loop blocked" log: pairs each watchdog capture with the late heartbeat that measured the block.

The two arrive in either order once the loop is free again (the capture through call_soon_threadsafe, the
beat when its timer finally runs), so each waits for the other, keyed by the beat's due time. A late beat the
watchdog never caught (its thread did not get the GIL in time) is still recorded, without a stack, so the list
never hides a block. Runs on the loop thread only.
"""

from __future__ import annotations

import itertools
import time
from collections import deque

from core.monitor.snapshots import BlockRecord
from core.monitor.watchdog import Capture

DEFAULT_LIMIT = 200
UNCAUGHT_AFTER = 1.0  # seconds a late beat waits for its capture before it is recorded without a stack
NOT_CAUGHT = "(not captured: the watchdog thread did not run in time)"


class BlockLog:
    """Block records, oldest first, bounded.

    Attributes:
        threshold_ms: beats later than this are blocks (kept equal to the watchdog's threshold).
        uncaught_after: seconds a late beat waits for its capture before flush() records it without a stack.
    """

    def __init__(self, threshold_ms: float, limit: int = DEFAULT_LIMIT) -> None:
        self.threshold_ms = threshold_ms
        self.uncaught_after = UNCAUGHT_AFTER
        self._ids = itertools.count(1)
        self._captures: dict[float, Capture] = {}
        self._late: dict[float, tuple[float, float, float]] = {}  # due -> (lag ms, time.time() due, seen at)
        self._kept: deque[BlockRecord] = deque(maxlen=limit)
        self._new: deque[BlockRecord] = deque(maxlen=limit)

    def on_capture(self, capture: Capture) -> None:
        late = self._late.pop(capture.due, None)
        if late is None:
            self._captures[capture.due] = capture
        else:
            self._record(capture.due_wall, late[0], capture.threshold_ms, capture.where, capture)

    def on_beat(self, due: float, lag_ms: float) -> None:
        capture = self._captures.pop(due, None)
        if capture is not None:
            self._record(capture.due_wall, lag_ms, capture.threshold_ms, capture.where, capture)
        elif lag_ms > self.threshold_ms:
            now = time.time()
            self._late[due] = (lag_ms, now - lag_ms / 1000.0, time.monotonic())

    def flush(self) -> None:
        """Record late beats whose capture never came; drop captures whose beat never came (heartbeat stopped)."""
        now = time.monotonic()
        for due, (lag_ms, due_wall, seen) in list(self._late.items()):
            if now - seen >= self.uncaught_after:
                del self._late[due]
                self._record(due_wall, lag_ms, self.threshold_ms, NOT_CAUGHT, None)
        for due in [d for d in self._captures if now - d > 60]:
            del self._captures[due]

    def _record(self, at: float, lag_ms: float, threshold_ms: float, where: str, capture: Capture | None) -> None:
        stack = capture.stack if capture is not None else ()
        record = BlockRecord(next(self._ids), at, lag_ms, threshold_ms, where, stack)
        self._kept.append(record)
        self._new.append(record)

    def all(self) -> tuple[BlockRecord, ...]:
        return tuple(self._kept)

    def drain(self) -> tuple[BlockRecord, ...]:
        new = tuple(self._new)
        self._new.clear()
        return new
