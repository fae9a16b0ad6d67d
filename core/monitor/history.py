"""The finished-task history: the last 1,000 tasks that ended, each with its outcome.

An outcome is the result's short repr, the exception with its formatted traceback, or "cancelled" with the
reason whoever cancelled it noted in the TaskRegistry. Reading an outcome must not change the task: an unowned
task's exception is peeked at without marking it retrieved, so asyncio still reports it if nobody else does.
"""

from __future__ import annotations

import asyncio
import reprlib
import time
import traceback
from collections import deque
from typing import Any

from core.monitor.snapshots import FinishedTask
from core.supervisor import TaskRegistry

DEFAULT_LIMIT = 1000
_short = reprlib.Repr()
_short.maxstring = 120
_short.maxother = 120


def peek_exception(task: asyncio.Task[Any]) -> BaseException | None:
    """The exception a finished, not cancelled task raised, without marking it retrieved.

    Task.exception() would also switch off asyncio's "Task exception was never retrieved" report, hiding a
    real bug in an unowned task. Both the C and the pure-Python Future keep it in `_exception`.
    """
    if hasattr(task, "_exception"):
        exc = task._exception
        return exc if isinstance(exc, BaseException) else None
    return task.exception()  # an exotic Task implementation: retrieving is the only way to know


def outcome_of(task: asyncio.Task[Any], registry: TaskRegistry) -> tuple[str, str, str]:
    """(outcome, detail, traceback) of a finished task."""
    if task.cancelled():
        reason = registry.cancel_reason(task)
        return "cancelled", reason if reason else "no reason given", ""
    exc = peek_exception(task)
    if exc is not None:
        summary = "".join(traceback.format_exception_only(exc)).strip()
        return "exception", summary, "".join(traceback.format_exception(exc)).rstrip()
    return "result", _short.repr(task.result()), ""


class FinishedHistory:
    """A bounded record of finished tasks plus the ones not yet handed to listeners.

    Attributes:
        limit: how many finished tasks are kept (oldest dropped first).
    """

    def __init__(self, registry: TaskRegistry, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._registry = registry
        self._kept: deque[FinishedTask] = deque(maxlen=limit)
        self._new: deque[FinishedTask] = deque(maxlen=limit)

    def __len__(self) -> int:
        return len(self._kept)

    def record(self, task: asyncio.Task[Any], *, task_id: int, owner: str, what: str, started: float) -> FinishedTask:
        outcome, detail, tb = outcome_of(task, self._registry)
        entry = FinishedTask(task_id, task.get_name(), owner, what, started, time.time(), outcome, detail, tb)
        self._kept.append(entry)
        self._new.append(entry)
        return entry

    def all(self) -> tuple[FinishedTask, ...]:
        return tuple(self._kept)

    def drain(self) -> tuple[FinishedTask, ...]:
        """The tasks that finished since the last drain, oldest first."""
        new = tuple(self._new)
        self._new.clear()
        return new
