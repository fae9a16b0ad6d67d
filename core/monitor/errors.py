"""Errors of the task monitor and the loop lab, one class per meaning.

    SquallError (core.errors)
    └── MonitorError              base of everything the monitor reports
        ├── TaskGoneError         the task id is unknown or the task has already finished
        ├── CriticalTaskError     cancelling a task the app relies on needs an explicit confirmation
        ├── MonitorSettingError   a monitor setting (block threshold, sampling interval, ...) is out of range
        ├── TraceExportError      the trace file could not be written
        └── LabError              the loop lab cannot run as asked (bad N, already running, server failed)

This module must not import anything from Squall but core.errors.
"""

from __future__ import annotations

from core.errors import SquallError


class MonitorError(SquallError):
    """Base of the monitor's errors; the message says what happened and what to do next."""


class TaskGoneError(MonitorError):
    """A command named a task the monitor does not know, or one that has already finished.

    Attributes:
        task_id: the id the command was given.
    """

    def __init__(self, task_id: int) -> None:
        super().__init__(
            f"task #{task_id} is not running any more (it finished, or the id is unknown); "
            "refresh the task list and pick a running task"
        )
        self.task_id = task_id


class CriticalTaskError(MonitorError):
    """Refused to cancel a task marked critical without confirmation.

    Attributes:
        task_id: the monitor's id of the task.
        name: the task's name.
    """

    def __init__(self, task_id: int, name: str) -> None:
        super().__init__(
            f"task {name!r} (#{task_id}) is one Squall relies on; cancelling it may stop a feature until restart. "
            "Confirm to cancel it anyway"
        )
        self.task_id = task_id
        self.name = name


class MonitorSettingError(MonitorError):
    """A monitor setting was given a value outside the range it accepts."""


class TraceExportError(MonitorError):
    """Writing the Chrome trace / Perfetto JSON file failed."""


class LabError(MonitorError):
    """The loop lab cannot run as asked."""
