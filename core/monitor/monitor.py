"""The Monitor component: samples every task twice a second, measures loop lag, catches and names loop blocks.

It composes the sampler, the finished history, the heartbeat, the watchdog and the block log, and sends one
MonitorUpdate per sample to its listeners. Commands (cancel, stack, export_trace, set_block_threshold) are plain
methods that return at once. It must not import Qt, and it must stay cheap: it watches the loop it runs on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.monitor import trace
from core.monitor.blocks import BlockLog
from core.monitor.errors import CriticalTaskError, MonitorError, MonitorSettingError, TaskGoneError
from core.monitor.history import DEFAULT_LIMIT, FinishedHistory
from core.monitor.introspect import task_frames
from core.monitor.pulse import DEFAULT_INTERVAL, Heartbeat
from core.monitor.sampler import TaskSampler
from core.monitor.snapshots import BlockRecord, FinishedTask, LagSecond, MonitorUpdate, TaskStack
from core.monitor.watchdog import Capture, Watchdog, check_threshold
from core.settings import Settings
from core.supervisor import REGISTRY, Supervisor, TaskRegistry

log = logging.getLogger("squall.monitor")

THRESHOLD_SETTING = "monitor.block_threshold_ms"
DEFAULT_THRESHOLD_MS = 100
CANCEL_REASON = "cancelled from the Tasks tab"
SAMPLE_BUDGET = 0.05  # the largest share of the loop's time sampling may take

Listener = Callable[[MonitorUpdate], None]


class Monitor:
    """Watches the running loop: its tasks, its lag, and what blocks it.

    Attributes:
        name: "monitor" (the component's name and its supervisor's owner).
        supervisor: owns `monitor:heartbeat`, `monitor:sampler` and export tasks.
        heartbeat: the lag measurement; the loop lab reads it too.
        sample_interval: seconds between samples (0.5: twice a second; stretched when sampling gets costly).
        latest: the last update sent, None before the first sample.
    """

    name = "monitor"

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        registry: TaskRegistry = REGISTRY,
        sample_interval: float = 0.5,
        beat_interval: float = DEFAULT_INTERVAL,
        block_threshold_ms: float | None = None,
        finished_limit: int = DEFAULT_LIMIT,
    ) -> None:
        if not 0.01 <= sample_interval <= 60:
            raise MonitorSettingError(
                f"sample interval {sample_interval!r} s is out of range; use 0.01 to 60 s (0.5 is the default)"
            )
        self.sample_interval = sample_interval
        self.supervisor = Supervisor(self.name, logger=log, registry=registry)
        self.heartbeat = Heartbeat(beat_interval)
        self.history = FinishedHistory(registry, finished_limit)
        self.sampler = TaskSampler(registry, self.history)
        self.latest: MonitorUpdate | None = None
        self._registry = registry
        self._settings = settings
        threshold = block_threshold_ms if block_threshold_ms is not None else self._threshold_from_settings()
        self.watchdog = Watchdog(self.heartbeat, self._on_capture, threshold_ms=threshold)
        self.blocks = BlockLog(self.watchdog.threshold_ms)
        self._listeners: list[Listener] = []
        self._notices: deque[str] = deque(maxlen=50)
        self._exports = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- life cycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._registry.add_finish_listener(self.sampler.supervised_done)
        self.heartbeat.add_listener(self.blocks.on_beat)
        if self._settings is not None:
            self._settings.add_listener(self._on_setting)
        self.supervisor.start(
            self.heartbeat.run(),
            name="monitor:heartbeat",
            what=f"measures loop lag {1 / self.heartbeat.interval:.0f} times a second",
            critical=True,
        )
        self.supervisor.start(
            self._sample_forever(), name="monitor:sampler", what="samples every task twice a second", critical=True
        )
        self.watchdog.start()
        log.info(
            "monitor started on %s (loop thread %s), block threshold %.0f ms",
            type(self._loop).__name__,
            threading.current_thread().name,
            self.watchdog.threshold_ms,
        )

    async def stop(self, timeout: float) -> None:
        await self.watchdog.stop(timeout=min(timeout, 1.0))
        await self.supervisor.stop(timeout)
        if self._settings is not None:
            self._settings.remove_listener(self._on_setting)
        self.heartbeat.remove_listener(self.blocks.on_beat)
        self._registry.remove_finish_listener(self.sampler.supervised_done)

    # -- listeners and updates ----------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """listener(update) is called on the loop about twice a second."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    async def _sample_forever(self) -> None:
        while True:
            update = self.publish()
            await asyncio.sleep(self.next_interval(update.sample_ms))

    def next_interval(self, sample_ms: float) -> float:
        """Seconds until the next sample: sample_interval, stretched so sampling never takes more than
        SAMPLE_BUDGET of the loop's time (10,000 busy tasks cost ~55 ms a sample here: one a second, not two)."""
        return max(self.sample_interval, sample_ms / 1000.0 / SAMPLE_BUDGET)

    def publish(self) -> MonitorUpdate:
        """Take a sample now and send it (with everything new since the last one) to the listeners."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        tasks = self.sampler.sample(loop)
        cost_ms = (time.perf_counter() - started) * 1000.0
        self.blocks.flush()
        update = MonitorUpdate(
            taken_at=time.time(),
            tasks=tasks,
            finished=self.history.drain(),
            lag=self.heartbeat.drain(),
            blocks=self.blocks.drain(),
            notices=tuple(self._notices),
            sample_ms=cost_ms,
        )
        self._notices.clear()
        self.latest = update
        for listener in list(self._listeners):
            try:
                listener(update)
            except Exception:  # one broken view must not stop the monitor
                log.exception("monitor listener %r failed", listener)
        return update

    def notice(self, text: str) -> None:
        """Queue a one-line message for the user; it goes out with the next update."""
        self._notices.append(text)

    # -- what has been seen ---------------------------------------------------------------------------------

    def finished(self) -> tuple[FinishedTask, ...]:
        return self.history.all()

    def lag_history(self) -> tuple[LagSecond, ...]:
        return self.heartbeat.history()

    def block_history(self) -> tuple[BlockRecord, ...]:
        return self.blocks.all()

    # -- commands -------------------------------------------------------------------------------------------

    def _live(self, task_id: int) -> asyncio.Task[Any]:
        task = self.sampler.task(task_id)
        if task is None:
            raise TaskGoneError(task_id)
        return task

    def stack(self, task_id: int) -> TaskStack:
        """The task's full stack now, with source lines (reads source files once; meant for a click)."""
        task = self._live(task_id)
        frames, awaiting = task_frames(task.get_coro())
        waiter = getattr(task, "_fut_waiter", None)
        if waiter is not None:
            awaiting = repr(waiter)
        return TaskStack(task_id, task.get_name(), frames, awaiting)

    def is_critical(self, task_id: int) -> bool:
        info = self._registry.info(self._live(task_id))
        return info is not None and info.critical

    def cancel(self, task_id: int, *, confirmed: bool = False, reason: str = CANCEL_REASON) -> None:
        """Request cancellation of a live task; returns at once (the end shows up in the finished history).

        A task marked critical is refused with CriticalTaskError unless confirmed is True.
        """
        task = self._live(task_id)
        info = self._registry.info(task)
        if info is not None and info.critical and not confirmed:
            raise CriticalTaskError(task_id, info.name)
        log.info("cancelling task %s (#%d): %s", task.get_name(), task_id, reason)
        self._registry.note_cancel(task, reason)
        task.cancel(reason)

    @property
    def block_threshold_ms(self) -> float:
        return self.watchdog.threshold_ms

    def set_block_threshold(self, ms: float) -> None:
        """Change the block threshold now (10 to 60,000 ms); does not persist it (the setting does)."""
        self.watchdog.threshold_ms = self.blocks.threshold_ms = check_threshold(ms)  # wakes the watchdog

    def _threshold_from_settings(self) -> float:
        if self._settings is None:
            return DEFAULT_THRESHOLD_MS
        value = self._settings.get(THRESHOLD_SETTING)
        try:
            return check_threshold(value)
        except MonitorSettingError as exc:
            log.warning("ignoring the saved setting %s: %s; using %d ms", THRESHOLD_SETTING, exc, DEFAULT_THRESHOLD_MS)
            return DEFAULT_THRESHOLD_MS

    def _on_setting(self, key: str, value: Any) -> None:
        if key == THRESHOLD_SETTING:
            self.set_block_threshold(value)

    def _on_capture(self, capture: Capture) -> None:
        log.info("loop blocked > %.0f ms at %s", capture.threshold_ms, capture.where)
        self.blocks.on_capture(capture)

    # -- export -----------------------------------------------------------------------------------------------

    async def write_trace(self, path: Path) -> int:
        """Write the task and lag history as Chrome trace JSON to path; returns the number of events."""
        live = self.sampler.sample(asyncio.get_running_loop())
        return await trace.export(
            path,
            live=live,
            finished=self.history.all(),
            lag=self.heartbeat.history(),
            blocks=self.blocks.all(),
            now=time.time(),
        )

    def export_trace(self, path: Path | str) -> None:
        """Start writing the trace to path; the outcome arrives as a notice in a later update."""
        target = Path(path)
        self.supervisor.start(
            self._export(target), name=f"monitor:export:{next(self._exports)}", what=f"writes a trace to {target}"
        )

    async def _export(self, path: Path) -> None:
        try:
            count = await self.write_trace(path)
        except MonitorError as exc:
            log.warning("%s", exc)
            self.notice(str(exc))
            return
        log.info("trace with %d events written to %s", count, path)
        self.notice(f"trace with {count} events written to {path}; open it in ui.perfetto.dev or chrome://tracing")
