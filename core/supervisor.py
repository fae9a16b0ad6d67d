"""Task ownership: a Supervisor is the only thing in Squall that creates asyncio tasks.

Each component owns one Supervisor. It names every task it starts (`download:42`, `chat:peer:bob`), records
what the task serves in the process-wide TaskRegistry (the Tasks tab reads it), logs whatever a task raises,
and on shutdown cancels and awaits every task it still owns. Nothing here may be fire-and-forget.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
FinishListener = Callable[[asyncio.Task[Any], "TaskInfo"], None]


@dataclass(frozen=True)
class TaskInfo:
    """What a supervised task is for.

    Attributes:
        owner: the supervisor's name, e.g. "downloads".
        name: the task's name, e.g. "download:42"; also set as the asyncio task name.
        what: a human description of what the task serves, e.g. "download 42 from example.org".
        critical: the app relies on this task; a user cancelling it is asked first.
        started: time.time() when the task was started.
    """

    owner: str
    name: str
    what: str
    critical: bool
    started: float


class TaskRegistry:
    """Maps each live supervised task to its TaskInfo; weak, so it never keeps a task alive.

    Listeners registered with add_finish_listener hear about every supervised task that ends. Whoever cancels
    a task on purpose notes why with note_cancel (asyncio keeps the message only inside the task, and reading
    it back from a finished task would take it away from the task's awaiters); the monitor shows it.
    """

    def __init__(self) -> None:
        self._infos: weakref.WeakKeyDictionary[asyncio.Task[Any], TaskInfo] = weakref.WeakKeyDictionary()
        self._cancel_reasons: weakref.WeakKeyDictionary[asyncio.Task[Any], str] = weakref.WeakKeyDictionary()
        self._listeners: list[FinishListener] = []

    def register(self, task: asyncio.Task[Any], info: TaskInfo) -> None:
        self._infos[task] = info

    def info(self, task: asyncio.Task[Any]) -> TaskInfo | None:
        return self._infos.get(task)

    def note_cancel(self, task: asyncio.Task[Any], reason: str) -> None:
        """Record why task is being cancelled (any task, supervised or not); the first reason wins."""
        self._cancel_reasons.setdefault(task, reason)

    def cancel_reason(self, task: asyncio.Task[Any]) -> str | None:
        return self._cancel_reasons.get(task)

    def add_finish_listener(self, listener: FinishListener) -> None:
        self._listeners.append(listener)

    def remove_finish_listener(self, listener: FinishListener) -> None:
        self._listeners.remove(listener)

    def notify_finished(self, task: asyncio.Task[Any], info: TaskInfo) -> None:
        for listener in list(self._listeners):
            try:
                listener(task, info)
            except Exception:  # a broken observer must not break task bookkeeping
                logging.getLogger("squall.supervisor").exception("finish listener %r failed", listener)


REGISTRY = TaskRegistry()


class Supervisor:
    """Starts, names, owns, cancels and awaits the tasks of one component.

    Attributes:
        owner: the component's name; prefixes log lines and appears in the Tasks tab.
    """

    def __init__(self, owner: str, *, logger: logging.Logger | None = None, registry: TaskRegistry = REGISTRY) -> None:
        self.owner = owner
        self._log = logger or logging.getLogger(f"squall.{owner}")
        self._registry = registry
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        return frozenset(self._tasks)

    def start(
        self, coro: Coroutine[Any, Any, T], *, name: str, what: str = "", critical: bool = False
    ) -> asyncio.Task[T]:
        """Start coro as a task owned by this supervisor. Must be called on the running loop."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"supervisor {self.owner!r} is stopped; cannot start {name!r}")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        info = TaskInfo(self.owner, name, what or name, critical, time.time())
        self._registry.register(task, info)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._on_done(t, info))
        return task

    def _on_done(self, task: asyncio.Task[Any], info: TaskInfo) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()  # retrieving it also silences "exception was never retrieved"
            if exc is not None:
                self._log.error("task %s failed: %r", info.name, exc, exc_info=exc)
        self._registry.notify_finished(task, info)

    async def stop(self, timeout: float = 2.0) -> None:
        """Cancel every owned task and wait up to timeout seconds for all of them to finish.

        After stop() the supervisor refuses new tasks. Tasks still running at the deadline are logged.
        """
        self._closed = True
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        reason = f"{self.owner} is shutting down"
        for task in tasks:
            self._registry.note_cancel(task, reason)
            task.cancel(reason)
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            self._log.warning("task %s did not stop within %.1f s", task.get_name(), timeout)
