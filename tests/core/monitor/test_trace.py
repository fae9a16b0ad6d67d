"""The Chrome trace / Perfetto export: valid JSON in the trace event format, with the expected events."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from core.monitor import Monitor, TraceExportError
from core.monitor.snapshots import BlockRecord, FinishedTask, FrameLine, LagSecond, TaskSnapshot
from core.monitor.trace import LOOP_TID, build_trace
from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner
from tests.core.monitor.helpers import Updates
from tests.helpers import wait_until

T0 = 1_800_000_000.0


def check_trace_format(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """What a trace viewer relies on: known phases, numeric timestamps, async b/e pairs that match."""
    events = trace["traceEvents"]
    assert isinstance(events, list)
    opened: dict[tuple[str, int], int] = {}
    for event in events:
        assert event["ph"] in {"M", "b", "e", "C", "X"}, event
        assert isinstance(event["pid"], int)
        if event["ph"] != "M":
            assert isinstance(event["ts"], int), event
            assert event["ts"] >= 0, event
        if event["ph"] == "b":
            opened[(event["cat"], event["id"])] = event["ts"]
        if event["ph"] == "e":
            start = opened.pop((event["cat"], event["id"]))
            assert event["ts"] >= start
        if event["ph"] == "X":
            assert event["dur"] > 0
    assert opened == {}, "every async slice that begins must end"
    return events


def test_tasks_lag_and_blocks_become_trace_events() -> None:
    live = [
        TaskSnapshot(3, "download:42", "downloads", "download 42", "run", "suspended", T0 + 1, "a.py:1 in f", "", False)
    ]
    finished = [
        FinishedTask(1, "hub:conn", "hub", "a connection", T0, T0 + 2, "exception", "OSError: x", "Traceback..."),
        FinishedTask(2, "Task-9", "", "helper", T0 + 0.5, T0 + 0.7, "cancelled", "testing"),
    ]
    lag = [LagSecond(T0, 40, 1.0, 5.0, 7.5), LagSecond(T0 + 1, 0, 900.0, 900.0, 900.0)]
    blocks = [BlockRecord(1, T0 + 1.2, 300.0, 100.0, "a.py:9 in g", (FrameLine("/x/a.py", 9, "g", "sleep()"),))]
    trace = build_trace(live=live, finished=finished, lag=lag, blocks=blocks, now=T0 + 3, pid=4242)
    events = check_trace_format(json.loads(json.dumps(trace)))

    names = {e["args"]["name"] for e in events if e["ph"] == "M"}
    assert names == {"Squall (pid 4242)", "event loop", "tasks"}
    begins = {e["name"]: e for e in events if e["ph"] == "b"}
    ends = {e["name"]: e for e in events if e["ph"] == "e"}
    assert begins["hub:conn"]["ts"] == 0
    assert ends["hub:conn"]["ts"] == 2_000_000
    assert begins["hub:conn"]["cat"] == "hub"
    assert begins["hub:conn"]["args"]["traceback"] == "Traceback..."
    assert begins["Task-9"]["cat"] == "unowned"
    assert begins["Task-9"]["args"]["detail"] == "testing"
    assert (begins["download:42"]["ts"], ends["download:42"]["ts"]) == (1_000_000, 3_000_000)
    assert begins["download:42"]["args"]["outcome"] == "still running at export"
    counters = [e for e in events if e["ph"] == "C"]
    assert [(c["ts"], c["args"]["max"]) for c in counters] == [(0, 7.5), (1_000_000, 900.0)]
    (block,) = [e for e in events if e["ph"] == "X"]
    assert (block["ts"], block["dur"], block["tid"]) == (1_200_000, 300_000, LOOP_TID)
    assert block["args"]["stack"] == ["/x/a.py:9 in g"]
    assert trace["displayTimeUnit"] == "ms"


def test_an_empty_history_is_still_a_valid_trace() -> None:
    trace = build_trace(live=[], finished=[], lag=[], blocks=[], now=T0, pid=1)
    assert len(check_trace_format(trace)) == 3  # only the metadata


def test_the_monitor_writes_its_real_history(aloop: LoopRunner, tmp_path: Path) -> None:
    registry = TaskRegistry()
    monitor = Monitor(registry=registry, sample_interval=0.02, beat_interval=0.01)
    jobs = Supervisor("downloads", registry=registry)
    target = tmp_path / "squall-trace.json"

    async def job() -> int:
        await asyncio.sleep(0.01)
        return 1

    async def scenario() -> int:
        await monitor.start()
        await asyncio.wait([jobs.start(job(), name=f"download:{n}") for n in range(3)])
        await wait_until(lambda: monitor.lag_history(), timeout=3, what="one second of lag statistics")
        count = await monitor.write_trace(target)
        await monitor.stop(1)
        return count

    count = aloop.run(scenario())
    events = check_trace_format(json.loads(target.read_text(encoding="utf-8")))
    assert count == len(events)
    finished = {e["name"] for e in events if e["ph"] == "b" and e["cat"] == "downloads"}
    assert finished == {"download:0", "download:1", "download:2"}
    live = {e["name"] for e in events if e["ph"] == "b" and e["args"]["outcome"] == "still running at export"}
    assert {"monitor:heartbeat", "monitor:sampler"} <= live
    assert any(e["ph"] == "C" and e["name"] == "loop lag (ms)" for e in events)
    assert not list(tmp_path.glob("*.part")), "the temporary file is renamed into place"


@pytest.mark.allow_logs(r"could not write the trace to .*choose a folder", r"is a folder; give a file name")
def test_export_failures_come_back_as_a_clear_notice(aloop: LoopRunner, tmp_path: Path) -> None:
    monitor = Monitor(registry=TaskRegistry(), sample_interval=0.02)
    updates = Updates()
    monitor.add_listener(updates)

    def notices() -> list[str]:
        return [n for u in updates.all for n in u.notices]

    async def scenario() -> None:
        await monitor.start()
        monitor.export_trace(tmp_path / "missing-folder" / "trace.json")
        await wait_until(lambda: len(notices()) == 1, what="the failure notice")
        monitor.export_trace(tmp_path)
        await wait_until(lambda: len(notices()) == 2, what="the folder notice")
        monitor.export_trace(str(tmp_path / "ok.json"))
        await wait_until(lambda: len(notices()) == 3, what="the success notice")
        await monitor.stop(1)

    aloop.run(scenario())
    failed, folder, written = notices()
    assert failed.startswith(f"could not write the trace to {tmp_path / 'missing-folder' / 'trace.json'}: ")
    assert failed.endswith("choose a folder you can write to")
    assert folder == f"{tmp_path} is a folder; give a file name such as {tmp_path / 'squall-trace.json'}"
    assert written.startswith("trace with ")
    assert "open it in ui.perfetto.dev" in written
    assert (tmp_path / "ok.json").exists()


def test_write_errors_are_trace_export_errors(aloop: LoopRunner, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/squall-trace.json")  # root may write anywhere but /proc
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "trace.json"
    monitor = Monitor(registry=TaskRegistry())

    async def scenario() -> None:
        with pytest.raises(TraceExportError, match=r"could not write the trace to .*: "):
            await monitor.write_trace(target)

    started = time.monotonic()
    aloop.run(scenario())
    assert time.monotonic() - started < 5
