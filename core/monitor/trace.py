"""Export task and lag history as a Chrome trace / Perfetto JSON file (the trace event format).

Layout of the file (open it in ui.perfetto.dev or chrome://tracing):
    - one async slice ("b"/"e" pair, id = the monitor's task id) per task, from start to end (or to the export
      for live tasks), under category = its owner ("unowned" otherwise); args carry what it served and its outcome;
    - a "loop lag" counter ("C") per second with p50, p99 and max in milliseconds;
    - one complete slice ("X") per loop block on the "event loop" track, with the code that blocked it.
Timestamps are microseconds since the earliest event. Building and writing run off the loop (the inputs are
immutable snapshots): nothing here may touch a live task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.monitor.errors import TraceExportError
from core.monitor.snapshots import BlockRecord, FinishedTask, LagSecond, TaskSnapshot

LOOP_TID = 1
TASKS_TID = 2


def build_trace(
    *,
    live: Sequence[TaskSnapshot],
    finished: Sequence[FinishedTask],
    lag: Sequence[LagSecond],
    blocks: Sequence[BlockRecord],
    now: float,
    pid: int,
) -> dict[str, Any]:
    """The trace as a JSON-ready dict. All times in the inputs are time.time() seconds."""
    starts = [t.started for t in live] + [t.started for t in finished] + [s.at for s in lag] + [b.at for b in blocks]
    origin = min(starts, default=now)

    def us(t: float) -> int:
        return max(0, round((t - origin) * 1_000_000))

    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": f"Squall (pid {pid})"}},
        {"name": "thread_name", "ph": "M", "pid": pid, "tid": LOOP_TID, "args": {"name": "event loop"}},
        {"name": "thread_name", "ph": "M", "pid": pid, "tid": TASKS_TID, "args": {"name": "tasks"}},
    ]
    for task in finished:
        args = {"what": task.what, "outcome": task.outcome, "detail": task.detail}
        if task.traceback:
            args["traceback"] = task.traceback
        events += _task_slice(task.id, task.name, task.owner, us(task.started), us(task.ended), args, pid)
    for snap in live:
        args = {"what": snap.what, "outcome": "still running at export", "where": snap.where}
        events += _task_slice(snap.id, snap.name, snap.owner, us(snap.started), us(now), args, pid)
    for second in lag:
        values = {"p50": second.p50_ms, "p99": second.p99_ms, "max": second.max_ms}
        events.append({"name": "loop lag (ms)", "ph": "C", "ts": us(second.at), "pid": pid, "args": values})
    for block in blocks:
        events.append(
            {
                "name": "loop blocked",
                "cat": "loop",
                "ph": "X",
                "ts": us(block.at),
                "dur": max(1, round(block.duration_ms * 1000)),
                "pid": pid,
                "tid": LOOP_TID,
                "args": {"where": block.where, "stack": [f.label for f in block.stack]},
            }
        )
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"app": "Squall", "origin_unix_time": origin},
    }


def _task_slice(
    task_id: int, name: str, owner: str, start: int, end: int, args: dict[str, str], pid: int
) -> list[dict[str, Any]]:
    # Async events, not "X" slices: tasks overlap freely, and "X" slices on one track must nest.
    common = {"name": name, "cat": owner or "unowned", "id": task_id, "pid": pid, "tid": TASKS_TID}
    return [{**common, "ph": "b", "ts": start, "args": args}, {**common, "ph": "e", "ts": max(start, end)}]


def write_trace_file(path: Path, trace: dict[str, Any]) -> int:
    """Write trace to path atomically (a temporary file, then rename); returns the number of events."""
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(trace, out, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise TraceExportError(
            f"could not write the trace to {path}: {exc.strerror or exc}; choose a folder you can write to"
        ) from exc
    return len(trace["traceEvents"])


async def export(
    path: Path,
    *,
    live: Sequence[TaskSnapshot],
    finished: Sequence[FinishedTask],
    lag: Sequence[LagSecond],
    blocks: Sequence[BlockRecord],
    now: float,
) -> int:
    """Build and write the trace in the default executor (JSON encoding and file I/O stay off the loop)."""

    def work() -> int:
        if path.is_dir():
            raise TraceExportError(f"{path} is a folder; give a file name such as {path / 'squall-trace.json'}")
        trace = build_trace(live=live, finished=finished, lag=lag, blocks=blocks, now=now, pid=os.getpid())
        return write_trace_file(path, trace)

    return await asyncio.get_running_loop().run_in_executor(None, work)
