"""The window's loop (gui/loop.py): call_soon batches keep asyncio's order and never starve Qt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from gui.loop import SquallEventLoop
from tests.conftest import LoopRunner


def test_the_app_and_the_tests_run_on_the_batching_loop(qloop: LoopRunner) -> None:
    assert isinstance(qloop.loop, SquallEventLoop)


def run_scheduled(qloop: LoopRunner, schedule: Callable[[asyncio.AbstractEventLoop], None]) -> None:
    """Run the loop until everything schedule(loop) queued with call_soon has run."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        schedule(loop)
        loop.call_soon(done.set_result, None)
        await done

    qloop.run(scenario())


def test_callbacks_run_in_the_order_they_were_scheduled(qloop: LoopRunner) -> None:
    seen: list[int] = []
    run_scheduled(qloop, lambda loop: [loop.call_soon(seen.append, i) for i in range(500)])
    assert seen == list(range(500))


def test_callbacks_from_other_threads_keep_their_order(qloop: LoopRunner) -> None:
    seen: list[int] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def worker() -> None:
            for i in range(200):
                loop.call_soon_threadsafe(seen.append, i)
            loop.call_soon_threadsafe(done.set_result, None)

        thread = threading.Thread(target=worker)
        thread.start()
        await done
        thread.join()

    qloop.run(scenario())
    assert seen == list(range(200))


def test_a_cancelled_callback_never_runs(qloop: LoopRunner) -> None:
    seen: list[str] = []

    def schedule(loop: asyncio.AbstractEventLoop) -> None:
        loop.call_soon(seen.append, "first")
        loop.call_soon(seen.append, "cancelled").cancel()

    run_scheduled(qloop, schedule)
    assert seen == ["first"]


def test_a_failing_callback_is_reported_and_the_batch_goes_on(qloop: LoopRunner) -> None:
    seen: list[str] = []
    reported: list[dict[str, Any]] = []

    def boom() -> None:
        raise RuntimeError("boom")

    def schedule(loop: asyncio.AbstractEventLoop) -> None:
        loop.set_exception_handler(lambda _loop, context: reported.append(context))
        loop.call_soon(boom)
        loop.call_soon(seen.append, "after")

    run_scheduled(qloop, schedule)
    assert seen == ["after"]
    assert [str(c["exception"]) for c in reported] == ["boom"]


def test_a_chain_of_callbacks_lets_qt_events_through(qloop: LoopRunner) -> None:
    """A callback that schedules the next one forever must not keep Qt's own timers waiting."""
    steps = 0

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        qt_fired = loop.create_future()

        def step() -> None:
            nonlocal steps
            steps += 1
            if not qt_fired.done():
                loop.call_soon(step)

        loop.call_soon(step)
        QTimer.singleShot(0, lambda: qt_fired.set_result(steps))
        return await qt_fired

    at = qloop.run(scenario())
    assert at <= 3  # the chain ran a step or two before Qt's zero timer, not thousands
    assert steps <= at + 1


def test_the_loop_can_be_run_again_and_closes_cleanly(qloop: LoopRunner) -> None:
    async def hop(n: int) -> int:
        for _ in range(n):
            await asyncio.sleep(0)
        return n

    assert qloop.run(hop(10)) == 10
    assert qloop.run(hop(20)) == 20
    qloop.loop.call_soon(lambda: None)  # left queued: close() drops it


def test_callbacks_queued_behind_an_escaping_exception_still_run(qloop: LoopRunner) -> None:
    """A callback may raise what asyncio does not catch (KeyboardInterrupt): the ones behind it must not stall."""
    seen: list[str] = []
    loop = qloop.loop
    assert isinstance(loop, SquallEventLoop)

    def interrupt() -> None:
        raise KeyboardInterrupt

    loop.call_soon(interrupt)
    loop.call_soon(seen.append, "after")
    loop._pump.stop()  # as if its single shot had just fired...
    with pytest.raises(KeyboardInterrupt):
        loop._run_soon()  # ...into this, minus PySide printing the escaped exception
    assert seen == []
    assert loop._pump.isActive(), "the callback queued behind it must not wait for someone else's call_soon"
    assert qloop.run(asyncio.sleep(0, "done")) == "done"
    assert seen == ["after"]
