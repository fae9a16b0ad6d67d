from __future__ import annotations

import asyncio
import gc

from core.monitor.history import FinishedHistory
from core.monitor.sampler import TaskSampler
from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner
from tests.core.monitor.helpers import line_of


def make() -> tuple[TaskRegistry, TaskSampler]:
    registry = TaskRegistry()
    return registry, TaskSampler(registry, FinishedHistory(registry))


async def parked(gate: asyncio.Event) -> None:
    await gate.wait()  # parked-here


def test_supervised_tasks_carry_owner_what_and_critical(aloop: LoopRunner) -> None:
    registry, sampler = make()
    downloads = Supervisor("downloads", registry=registry)

    async def scenario() -> None:
        gate = asyncio.Event()
        downloads.start(parked(gate), name="download:42", what="download 42 from example.org", critical=True)
        await asyncio.sleep(0)
        snaps = {s.name: s for s in sampler.sample(asyncio.get_running_loop())}
        snap = snaps["download:42"]
        assert (snap.owner, snap.what, snap.coro, snap.state, snap.critical) == (
            "downloads",
            "download 42 from example.org",
            "parked",
            "suspended",
            True,
        )
        assert snap.where == f"tests/core/monitor/test_sampler.py:{line_of(__file__, 'parked-here')} in parked"
        assert snap.awaiting == "Event.wait() → Future"
        gate.set()
        await downloads.stop(1)

    aloop.run(scenario())


def test_unowned_tasks_show_their_coroutine_and_the_sampler_itself_is_running(aloop: LoopRunner) -> None:
    _registry, sampler = make()

    async def scenario() -> None:
        gate = asyncio.Event()
        stray = asyncio.get_running_loop().create_task(parked(gate))
        await asyncio.sleep(0)
        snaps = sampler.sample(asyncio.get_running_loop())
        by_name = {s.name: s for s in snaps}
        assert by_name[stray.get_name()].owner == ""
        assert by_name[stray.get_name()].what == "parked"
        me = asyncio.current_task()
        assert me is not None
        assert by_name[me.get_name()].state == "running"
        assert [s.id for s in snaps] == sorted(s.id for s in snaps)
        gate.set()
        await stray

    aloop.run(scenario())


def test_ids_are_stable_and_unchanged_tasks_reuse_their_snapshot(aloop: LoopRunner) -> None:
    _registry, sampler = make()

    async def stepper(step: asyncio.Event, gate: asyncio.Event) -> None:
        await step.wait()  # first-stop
        await gate.wait()  # second-stop

    async def scenario() -> None:
        step, gate = asyncio.Event(), asyncio.Event()
        task = asyncio.get_running_loop().create_task(stepper(step, gate), name="stepper")
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        first = {s.name: s for s in sampler.sample(loop)}["stepper"]
        again = {s.name: s for s in sampler.sample(loop)}["stepper"]
        assert again is first, "a task that has not moved must give the very same snapshot"
        step.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        moved = {s.name: s for s in sampler.sample(loop)}["stepper"]
        assert moved.id == first.id
        assert first.where.endswith(f":{line_of(__file__, 'first-stop')} in stepper")
        assert moved.where.endswith(f":{line_of(__file__, 'second-stop')} in stepper")
        assert sampler.task(first.id) is task
        gate.set()
        await task
        assert sampler.task(first.id) is None, "a finished task is no longer live"

    aloop.run(scenario())


def test_ids_are_never_reused_after_a_task_is_collected(aloop: LoopRunner) -> None:
    _registry, sampler = make()

    async def quick() -> None:
        await asyncio.sleep(0)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        seen: set[int] = set()
        for _ in range(20):
            task = loop.create_task(quick())
            seen.add(sampler.id_of(task))
            await task
            del task
            gc.collect()
        assert len(seen) == 20
        assert len(sampler) <= 2, "entries of collected tasks must be dropped"

    aloop.run(scenario())


def test_a_sample_does_not_keep_finished_tasks_alive(aloop: LoopRunner) -> None:
    import weakref

    _registry, sampler = make()

    async def scenario() -> weakref.ref[asyncio.Task[None]]:
        gate = asyncio.Event()
        task = asyncio.get_running_loop().create_task(parked(gate))
        await asyncio.sleep(0)
        sampler.sample(asyncio.get_running_loop())
        gate.set()
        await task
        return weakref.ref(task)

    ref = aloop.run(scenario())
    gc.collect()
    assert ref() is None
