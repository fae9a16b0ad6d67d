from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator

from core.monitor.introspect import (
    capture_thread,
    chain,
    coro_state,
    describe,
    label,
    task_frames,
    with_source,
)
from tests.conftest import LoopRunner
from tests.core.monitor.helpers import line_of
from tests.helpers import wait_until_sync


async def leaf(gate: asyncio.Event) -> None:
    await gate.wait()  # leaf-waits


async def middle(gate: asyncio.Event) -> None:
    await leaf(gate)  # middle-awaits-leaf


async def numbers(gate: asyncio.Event) -> AsyncIterator[int]:
    yield 1
    await gate.wait()  # agen-waits
    yield 2


async def consume(gate: asyncio.Event) -> int:
    total = 0
    async for n in numbers(gate):
        total += n
    return total


def test_where_is_the_innermost_app_frame_and_awaiting_names_the_asyncio_helper(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        task = asyncio.get_running_loop().create_task(middle(gate))
        await asyncio.sleep(0)
        where, awaiting = describe(task, task.get_coro())
        assert where == f"tests/core/monitor/test_introspect.py:{line_of(__file__, 'leaf-waits')} in leaf"
        assert awaiting == "Event.wait() → Future"
        frames, _leaf = chain(task.get_coro())
        assert [f.f_code.co_name for f in frames] == ["middle", "leaf", "wait"]
        gate.set()
        await task

    aloop.run(scenario())


def test_awaiting_another_task_names_it(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()
        inner = loop.create_task(gate.wait(), name="download:42")

        async def outer() -> None:
            await inner

        task = loop.create_task(outer())
        await asyncio.sleep(0)
        assert describe(task, task.get_coro())[1] == "task download:42"
        gate.set()
        await task

    aloop.run(scenario())


def test_async_generators_are_followed_into_their_frame(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        task = asyncio.get_running_loop().create_task(consume(gate))
        await asyncio.sleep(0)
        where, awaiting = describe(task, task.get_coro())
        assert where.endswith(f"test_introspect.py:{line_of(__file__, 'agen-waits')} in numbers")
        assert awaiting == "Event.wait() → Future"
        gate.set()
        assert await task == 3

    aloop.run(scenario())


def test_states_created_suspended_cancelling_running(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = loop.create_task(middle(gate))
        assert coro_state(task, task.get_coro(), None) == "created"
        await asyncio.sleep(0)
        assert coro_state(task, task.get_coro(), None) == "suspended"
        me = asyncio.current_task()
        assert me is not None
        assert coro_state(me, me.get_coro(), me) == "running"
        task.cancel("test")
        assert coro_state(task, task.get_coro(), None) == "cancelling"
        await asyncio.wait([task])

    aloop.run(scenario())


def test_full_stack_has_source_lines_outermost_first(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        task = asyncio.get_running_loop().create_task(middle(gate))
        await asyncio.sleep(0)
        frames, awaiting = task_frames(task.get_coro())
        assert [f.function for f in frames] == ["middle", "leaf", "Event.wait"]
        assert frames[0].source == "await leaf(gate)  # middle-awaits-leaf"
        assert frames[1].line == line_of(__file__, "leaf-waits")
        assert frames[1].label.startswith("tests/core/monitor/test_introspect.py:")
        assert "FutureIter" in awaiting  # the raw object the frame awaits; Monitor.stack shows the Future itself
        gate.set()
        await task

    aloop.run(scenario())


def test_a_thread_stack_is_captured_from_outside_with_the_blocking_line() -> None:
    entered = threading.Event()
    release = threading.Event()

    def blocked() -> None:
        entered.set()
        release.wait(10)  # thread-blocks-here

    def capture() -> list[tuple[str, int, str]]:
        return capture_thread(sys._current_frames()[worker.ident or 0])

    worker = threading.Thread(target=blocked)
    worker.start()
    try:
        assert entered.wait(10)
        wait_until_sync(lambda: capture()[-1][2] == "Condition.wait", what="the thread to block in release.wait")
        raw = capture()
    finally:
        release.set()
        worker.join()
    frames = with_source(raw)
    assert frames[-1].function == "Condition.wait"  # threading's own code is the innermost frame...
    ours = [f for f in frames if f.function.endswith("blocked")]
    assert ours[0].line == line_of(__file__, "thread-blocks-here")
    assert ours[0].source.startswith("release.wait(10)")
    # ...so the label also names the innermost frame of Squall's own code (tests are part of the project)
    assert f"called from tests/core/monitor/test_introspect.py:{ours[0].line} in " in label(raw)


def test_label_of_an_empty_stack_says_so() -> None:
    assert label([]) == "(no Python frame)"
