"""The window's event loop: qasync's asyncio-over-Qt loop with asyncio's own ready queue for call_soon.

qasync turns every call_soon into a Qt timer of its own (startTimer(0), a timer event dispatched to Python,
killTimer). Tornado and asyncio call it for every finished future, every task step and every readable socket, so
16 downloads at full speed or a hub broadcast to 100 clients start and kill thousands of Qt timers a second.
Here call_soon appends to a deque and one zero-interval timer runs, when it fires, the callbacks queued before
that moment (as asyncio runs one iteration's ready handles), for at most SLICE seconds; callbacks they schedule,
and what did not fit in the slice, wait for the next pass of Qt's event loop, so timers, paints, window events
and socket notifiers are never kept waiting behind a long batch (16 downloads at full speed make ~5 ms ones).
Delayed callbacks (call_later, call_at) stay qasync's Qt timers.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import qasync  # type: ignore[import-untyped]
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication


class SquallEventLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync is untyped
    """qasync.QEventLoop whose call_soon callbacks run in FIFO batches from one Qt timer.

    Attributes:
        SLICE: seconds a batch may run before the rest waits for the next pass (timers and paints go first).
    """

    SLICE = 0.003

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._soon: collections.deque[asyncio.Handle] = collections.deque()
        self._pump = QTimer()
        self._pump.setSingleShot(True)
        self._pump.setInterval(0)
        self._pump.setTimerType(Qt.TimerType.PreciseTimer)
        self._pump.timeout.connect(self._run_soon)

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
        self._check_closed()
        if self.get_debug():
            self._check_callback(callback, "call_soon")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._soon.append(handle)
        if not self._pump.isActive():
            self._pump.start()
        return handle

    def _run_soon(self) -> None:
        soon = self._soon
        deadline = time.monotonic() + self.SLICE
        try:
            for _ in range(len(soon)):  # only what was queued before this batch began
                handle = soon.popleft()
                if not handle._cancelled:
                    handle._run()  # reports an Exception to the loop's handler; KeyboardInterrupt and the like escape
                if time.monotonic() > deadline:
                    break  # the rest keep their place at the front; Qt's due timers and events go first
        finally:
            if soon and not self.is_closed():
                self._pump.start()  # even after an escaping exception, what is queued still runs

    def close(self) -> None:
        super().close()
        self._pump.stop()
        self._soon.clear()


def new_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """The window's kind of loop (the app, the GUI tests and the benchmarks all run on it)."""
    return SquallEventLoop(app)
