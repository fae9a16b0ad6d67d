"""Sampling the running loop's tasks into TaskSnapshots, and noticing when they finish.

The sampler gives every task it meets a stable id (asyncio's id() is reused after garbage collection) and,
for tasks no supervisor owns, a done-callback so their end reaches the finished history too; supervised tasks
reach it through the TaskRegistry's finish listeners. It holds tasks only weakly.

Cost: a sample of 1,000 tasks must take the loop well under 5 ms. Walking a coroutine chain costs about 2 us,
so it is done only when the task has moved: a task suspended on the same pending Future (`_fut_waiter`, held
here by a weak reference) as at the last sample cannot have run since (a Future is pending once), so its
location and snapshot are reused as they are.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
import weakref
from typing import Any

from core.monitor.history import FinishedHistory
from core.monitor.introspect import coro_name, coro_state, describe
from core.monitor.snapshots import TaskSnapshot
from core.supervisor import TaskInfo, TaskRegistry


class _Tracked:
    """What the sampler remembers about one task between samples (mutable, never leaves this module)."""

    __slots__ = ("awaiting", "first_seen", "id", "info", "snap", "task_ref", "waiter_ref", "where")

    def __init__(self, task_ref: weakref.ref[asyncio.Task[Any]], task_id: int, first_seen: float) -> None:
        self.task_ref = task_ref
        self.id = task_id
        self.first_seen = first_seen
        self.info: TaskInfo | None = None
        self.waiter_ref: weakref.ref[Any] | None = None
        self.where = ""
        self.awaiting = ""
        self.snap: TaskSnapshot | None = None


class TaskSampler:
    """Turns `asyncio.all_tasks(loop)` into snapshots; feeds the finished history.

    Attributes:
        registry: where supervised tasks' TaskInfo comes from.
        history: where finished tasks are recorded.
    """

    def __init__(self, registry: TaskRegistry, history: FinishedHistory) -> None:
        self.registry = registry
        self.history = history
        self._ids = itertools.count(1)
        # id(task) -> _Tracked; an entry leaves when its task is garbage collected (weakref callback), and the
        # entry's own weak reference is checked on every lookup so a reused id() never matches a new task.
        self._tracked: dict[int, _Tracked] = {}
        self._by_id: dict[int, _Tracked] = {}  # monitor id -> entry, for commands
        self._on_unowned_done = self._unowned_done  # bound once: a new task costs one bound method less

    def __len__(self) -> int:
        return len(self._tracked)

    def id_of(self, task: asyncio.Task[Any]) -> int:
        """The task's monitor id, assigning one if the sampler has not met it yet."""
        return self._get(task, time.time()).id

    def task(self, task_id: int) -> asyncio.Task[Any] | None:
        """The live task with this id, or None when it is gone or unknown."""
        tracked = self._by_id.get(task_id)
        task = None if tracked is None else tracked.task_ref()
        return None if task is None or task.done() else task

    def _get(self, task: asyncio.Task[Any], now: float) -> _Tracked:
        tracked = self._tracked.get(id(task))
        if tracked is not None and tracked.task_ref() is task:
            return tracked
        return self._track(task, now)

    def _track(self, task: asyncio.Task[Any], now: float) -> _Tracked:
        """Start remembering a task the sampler has not met: an id, its owner, and for an unowned task a
        done-callback that records its end."""
        key = id(task)
        tracked = _Tracked(weakref.ref(task, lambda ref: self._forget(key, ref)), next(self._ids), now)
        tracked.info = self.registry.info(task)  # set by Supervisor.start before the task can be seen
        self._tracked[key] = tracked
        self._by_id[tracked.id] = tracked
        if tracked.info is None and not task.done():
            task.add_done_callback(self._on_unowned_done)
        return tracked

    def _forget(self, key: int, ref: weakref.ref[asyncio.Task[Any]]) -> None:
        tracked = self._tracked.get(key)
        if tracked is not None and tracked.task_ref is ref:
            del self._tracked[key]
            self._by_id.pop(tracked.id, None)

    def _unowned_done(self, task: asyncio.Task[Any]) -> None:
        tracked = self._get(task, time.time())
        self.history.record(
            task, task_id=tracked.id, owner="", what=coro_name(task.get_coro()), started=tracked.first_seen
        )

    def supervised_done(self, task: asyncio.Task[Any], info: TaskInfo) -> None:
        """TaskRegistry finish listener: record a supervised task's end."""
        self.history.record(task, task_id=self.id_of(task), owner=info.owner, what=info.what, started=info.started)

    def sample(self, loop: asyncio.AbstractEventLoop) -> tuple[TaskSnapshot, ...]:
        """Every live task of loop, ordered by id. Unchanged tasks give the very same snapshot object.

        The collector is paused while it runs: a burst of new tasks allocates a few objects each, which would
        otherwise set off several collections inside this one call (~0.5 ms of a 5 ms budget for 1,000 tasks);
        they are collected at the next collection after it instead.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._sample(loop)
        finally:
            if collecting:
                gc.enable()

    def _sample(self, loop: asyncio.AbstractEventLoop) -> tuple[TaskSnapshot, ...]:
        now = time.time()
        current = asyncio.current_task(loop)
        tracked_get = self._tracked.get
        out = []
        first_look = self._first_look
        for task in asyncio.all_tasks(loop):
            tracked = tracked_get(id(task))
            if tracked is None or tracked.task_ref() is not task:
                out.append(first_look(task, now, current))
                continue
            coro = task.get_coro()
            waiter = getattr(task, "_fut_waiter", None)
            if waiter is None or tracked.waiter_ref is None or tracked.waiter_ref() is not waiter:
                tracked.where, tracked.awaiting = describe(task, coro)
                tracked.waiter_ref = None if waiter is None else weakref.ref(waiter)
            state = coro_state(task, coro, current)
            name = task.get_name()
            snap = tracked.snap
            if (
                snap is None
                or snap.state != state
                or snap.name != name
                or snap.where != tracked.where
                or snap.awaiting != tracked.awaiting
            ):
                snap = tracked.snap = self._snapshot(tracked, coro, name, state)
            out.append(snap)
        out.sort(key=_by_id)
        return tuple(out)

    def _first_look(self, task: asyncio.Task[Any], now: float, current: asyncio.Task[Any] | None) -> TaskSnapshot:
        """A task new to the sampler, tracked and snapshot in one go: a burst of new tasks makes the costliest
        sample (bench/monitor/sampling.py, "first"), so this path skips the comparisons a known task needs."""
        tracked = self._track(task, now)
        coro = task.get_coro()
        tracked.where, tracked.awaiting = describe(task, coro)
        waiter = getattr(task, "_fut_waiter", None)
        if waiter is not None:
            tracked.waiter_ref = weakref.ref(waiter)
        snap = tracked.snap = self._snapshot(tracked, coro, task.get_name(), coro_state(task, coro, current))
        return snap

    @staticmethod
    def _snapshot(tracked: _Tracked, coro: Any, name: str, state: str) -> TaskSnapshot:
        qualname = coro_name(coro)
        info = tracked.info
        owner, what, started, critical = (
            ("", qualname, tracked.first_seen, False)
            if info is None
            else (info.owner, info.what, info.started, info.critical)
        )
        fields = (tracked.id, name, owner, what, qualname, state, started, tracked.where, tracked.awaiting, critical)
        return _new_snapshot(TaskSnapshot, fields)


_new_snapshot = tuple.__new__  # TaskSnapshot(...) without NamedTuple's keyword handling: half the cost


def _by_id(snap: TaskSnapshot) -> int:
    return snap.id
