"""A download's task cancelled from outside the engine (the Tasks tab), not through engine.cancel().

The run ends as a pause would: the .part and its progress are kept, the connection slot goes to the next
download, and the download shows as paused with the reason, so the user sees it and can resume it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.downloads.model import State
from core.supervisor import REGISTRY
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import finished
from tests.helpers import wait_until

TASKS_TAB = "cancelled from the Tasks tab"  # what the Tasks tab (core/monitor) notes as the reason


def _cancel_task_like_the_tasks_tab(download_id: int) -> asyncio.Task[Any]:
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == f"download:{download_id}"]
    REGISTRY.note_cancel(task, TASKS_TAB)
    task.cancel(TASKS_TAB)
    return task


@pytest.mark.parametrize("when", ["mid-download", "before its task first ran"])
def test_a_download_task_cancelled_from_outside_is_paused_with_the_reason_and_resumes(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, when: str
) -> None:
    first = server.add("first.bin", 600_000)
    second = server.add("second.bin", 20_000)
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        engine = make_engine(concurrency=1)
        await engine.start()
        try:
            download_id = engine.add(server.url("/throttle/first.bin?bps=200000"))
            if when == "mid-download":
                await wait_until(lambda: engine.get(download_id).received > 50_000, what="some bytes")
            task = _cancel_task_like_the_tasks_tab(download_id)
            waiting = engine.add(server.url("/f/second.bin"))  # queued behind it: one connection at most
            await wait_until(task.done, what="the task to end")
            assert task.cancelled()
            await wait_until(lambda: recorder.state(download_id) == "paused", timeout=2, what="the download paused")
            seen["paused"] = recorder.latest[download_id]
            assert download_id not in engine.active_ids()
            await wait_until(lambda: finished(recorder, waiting), what="the queued download to get the slot")
            await wait_until(lambda: server.state.active == 0, timeout=2, what="the connection to close")
            assert engine.get(download_id).state is State.PAUSED, "nothing restarts it behind the user's back"

            engine.resume(download_id)
            await wait_until(lambda: finished(recorder, download_id), timeout=10, what="the resumed download")
        finally:
            await engine.stop(2)

    aloop.run(scenario(), timeout=30)
    paused = seen["paused"]
    assert paused.state is State.PAUSED
    assert paused.error == f"paused: {TASKS_TAB}; resume it to continue"
    final = recorder.latest[paused.id]
    assert final.state is State.COMPLETED
    assert Path(final.path).read_bytes() == first
    assert final.error == ""
    if when == "mid-download":
        ranges = [r for path, r, _ in server.state.requests if path == "/throttle/first.bin"]
        assert len(ranges) == 2
        assert ranges[1] not in (None, "bytes=0-"), "resumed from the kept .part"
    second_snapshot = next(s for s in recorder.latest.values() if s.id != paused.id)
    assert Path(second_snapshot.path).read_bytes() == second
