"""The task monitor: every asyncio task of the loop, the loop's pulse, who blocked it; and the loop lab. No Qt.

Layout:
    monitor     Monitor, the component: samples tasks twice a second, sends MonitorUpdate batches, commands
    sampler     asyncio.all_tasks -> TaskSnapshot (ids, owners from the TaskRegistry, cheap re-sampling)
    introspect  walking a coroutine chain (where a task waits, on what) and a thread's stack
    history     the last 1,000 finished tasks with result, exception + traceback, or cancel reason
    pulse       Heartbeat: loop lag per beat, p50/p99/max per second for ten minutes
    watchdog    a thread that captures the loop thread's stack while the loop is blocked
    blocks      pairs a watchdog capture with the late beat that measured it
    trace       Chrome trace / Perfetto JSON export
    lab, lab_server   the loop lab: N fetches in four styles against a local Tornado server on its own thread
    snapshots   the frozen dataclasses that leave this package; errors: its exception subtree

Public API for the GUI and for headless users: Monitor, LoopLab, the snapshot classes and the errors below.
"""

from core.monitor.errors import (
    CriticalTaskError,
    LabError,
    MonitorError,
    MonitorSettingError,
    TaskGoneError,
    TraceExportError,
)
from core.monitor.lab import STYLES, LabProgress, LabResult, LoopLab, Style
from core.monitor.monitor import THRESHOLD_SETTING, Monitor
from core.monitor.snapshots import (
    BlockRecord,
    FinishedTask,
    FrameLine,
    LagSecond,
    MonitorUpdate,
    TaskSnapshot,
    TaskStack,
)

__all__ = [
    "STYLES",
    "THRESHOLD_SETTING",
    "BlockRecord",
    "CriticalTaskError",
    "FinishedTask",
    "FrameLine",
    "LabError",
    "LabProgress",
    "LabResult",
    "LagSecond",
    "LoopLab",
    "Monitor",
    "MonitorError",
    "MonitorSettingError",
    "MonitorUpdate",
    "Style",
    "TaskGoneError",
    "TaskSnapshot",
    "TaskStack",
    "TraceExportError",
]
