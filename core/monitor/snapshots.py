"""The monitor's immutable snapshots: what leaves core/monitor for the Tasks tab, the trace file and tests.

Plain frozen dataclasses with no behaviour beyond formatting; they hold strings and numbers only, never a task,
frame or exception object (a snapshot must not keep a finished coroutine's frames alive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from core.monitor.paths import short_path


@dataclass(frozen=True, slots=True)
class FrameLine:
    """One frame of a stack.

    Attributes:
        file: the source file's full path.
        line: the line number being executed (or suspended at).
        function: the function's name.
        source: the stripped source line, "" when unavailable.
    """

    file: str
    line: int
    function: str
    source: str = ""

    @property
    def label(self) -> str:
        return f"{short_path(self.file)}:{self.line} in {self.function}"


class TaskSnapshot(NamedTuple):
    """One live task as the sampler saw it.

    A NamedTuple rather than a frozen dataclass like the others: the sampler makes one per new or moved task,
    twice a second, and a frozen dataclass takes twice as long to build (2.1 against 0.9 us).

    Attributes:
        id: the monitor's id for the task (never reused within a process; asyncio's id() can be).
        name: the task's name (`download:42`; asyncio's `Task-7` for unnamed ones).
        owner: the owning supervisor's name, "" for a task no supervisor started.
        what: what it serves (TaskInfo.what), or its coroutine's qualified name when unowned.
        coro: the coroutine's qualified name.
        state: "created" (not started yet), "running" (it is the task doing the sampling),
            "suspended", or "cancelling" (a cancel was requested and has not finished it yet).
        started: time.time() when its supervisor started it, or when the monitor first saw it.
        where: the innermost frame outside asyncio's own code, as `file:line in function`.
        awaiting: what it waits on: e.g. `sleep() → Future`, `task download:42`.
        critical: the app relies on it (TaskInfo.critical): cancelling asks first.
    """

    id: int
    name: str
    owner: str
    what: str
    coro: str
    state: str
    started: float
    where: str
    awaiting: str
    critical: bool


@dataclass(frozen=True, slots=True)
class TaskStack:
    """A live task's full stack, taken on demand.

    Attributes:
        id: the monitor's id for the task.
        name: the task's name.
        frames: outermost first, like a traceback.
        awaiting: the full repr of the object the innermost frame waits on ("" when none).
    """

    id: int
    name: str
    frames: tuple[FrameLine, ...]
    awaiting: str

    def format(self) -> str:
        lines = [f"Task {self.name} (#{self.id}), outermost call first:"]
        for frame in self.frames:
            lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
            if frame.source:
                lines.append(f"    {frame.source}")
        if self.awaiting:
            lines.append(f"  awaiting {self.awaiting}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class FinishedTask:
    """A task that ended, with its outcome.

    Attributes:
        id: the monitor's id for the task (0 if the monitor never sampled it while it ran).
        name: the task's name.
        owner: its supervisor's name, "" for unowned tasks.
        what: what it served.
        started: time.time() at start (or first seen).
        ended: time.time() when the monitor heard it end.
        outcome: "result", "exception" or "cancelled".
        detail: the result's short repr, the exception's one-line summary, or the cancel reason.
        traceback: the exception's formatted traceback ("" for results and cancellations).
    """

    id: int
    name: str
    owner: str
    what: str
    started: float
    ended: float
    outcome: str
    detail: str
    traceback: str = ""


@dataclass(frozen=True, slots=True)
class LagSecond:
    """Loop lag over one wall-clock second.

    Attributes:
        at: time.time() at the start of the second.
        beats: heartbeats that landed in it (0: the loop was blocked for the whole second).
        p50_ms, p99_ms, max_ms: lag percentiles and maximum, milliseconds. For a second without beats they are
            how late the loop was at the end of that second.
    """

    at: float
    beats: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """The loop was blocked longer than the threshold; the watchdog caught where.

    Attributes:
        id: sequence number, from 1.
        at: time.time() when the late heartbeat was due (about when the loop stopped answering).
        duration_ms: how long the loop stayed blocked (the late beat's lag).
        threshold_ms: the threshold in force when it was caught.
        where: the innermost frame of the loop thread at capture time.
        stack: the loop thread's stack at capture time, outermost first.
    """

    id: int
    at: float
    duration_ms: float
    threshold_ms: float
    where: str
    stack: tuple[FrameLine, ...]

    def format(self) -> str:
        lines = [f"Loop blocked for {self.duration_ms:.0f} ms (threshold {self.threshold_ms:.0f} ms) at {self.where}"]
        for frame in self.stack:
            lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
            if frame.source:
                lines.append(f"    {frame.source}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class MonitorUpdate:
    """One batch from the monitor, sent about twice a second.

    Attributes:
        taken_at: time.time() of the sample.
        tasks: every live task of the loop (a full picture; the view diffs it).
        finished: tasks that ended since the previous update.
        lag: seconds of lag statistics completed since the previous update.
        blocks: loop blocks recorded since the previous update.
        notices: one-line messages for the user (trace written, export failed, ...).
        sample_ms: what taking this sample cost the loop, milliseconds.
    """

    taken_at: float
    tasks: tuple[TaskSnapshot, ...]
    finished: tuple[FinishedTask, ...] = ()
    lag: tuple[LagSecond, ...] = ()
    blocks: tuple[BlockRecord, ...] = ()
    notices: tuple[str, ...] = ()
    sample_ms: float = 0.0
