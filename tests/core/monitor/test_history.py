from __future__ import annotations

import asyncio

import pytest

from core.monitor.history import FinishedHistory
from core.monitor.sampler import TaskSampler
from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner


@pytest.fixture
def registry() -> TaskRegistry:
    return TaskRegistry()


def watch(registry: TaskRegistry, limit: int = 1000) -> TaskSampler:
    sampler = TaskSampler(registry, FinishedHistory(registry, limit))
    registry.add_finish_listener(sampler.supervised_done)
    return sampler


@pytest.mark.allow_logs(r"task fetch:1 failed")
def test_results_exceptions_and_cancel_reasons_are_kept(aloop: LoopRunner, registry: TaskRegistry) -> None:
    sampler = watch(registry)
    sup = Supervisor("downloads", registry=registry)

    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise ConnectionResetError("peer went away")  # raises-here

    async def wait_forever() -> None:
        await asyncio.Event().wait()

    async def scenario() -> None:
        done = [
            sup.start(answer(), name="answer:1", what="computes the answer"),
            sup.start(fail(), name="fetch:1"),
        ]
        await asyncio.wait(done)
        sup.start(wait_forever(), name="idle:1")
        await asyncio.sleep(0)
        await sup.stop(1)

    aloop.run(scenario())
    by_name = {t.name: t for t in sampler.history.all()}
    assert (by_name["answer:1"].outcome, by_name["answer:1"].detail, by_name["answer:1"].what) == (
        "result",
        "42",
        "computes the answer",
    )
    failed = by_name["fetch:1"]
    assert failed.outcome == "exception"
    assert failed.detail == "ConnectionResetError: peer went away"
    assert "Traceback (most recent call last)" in failed.traceback
    assert 'raise ConnectionResetError("peer went away")  # raises-here' in failed.traceback
    assert (by_name["idle:1"].outcome, by_name["idle:1"].detail) == ("cancelled", "downloads is shutting down")
    assert all(t.ended >= t.started for t in by_name.values())
    assert [t.name for t in sampler.history.drain()] == [t.name for t in sampler.history.all()]
    assert sampler.history.drain() == ()


def test_a_cancel_without_a_noted_reason_says_so(aloop: LoopRunner, registry: TaskRegistry) -> None:
    sampler = watch(registry)
    sup = Supervisor("chat", registry=registry)

    async def scenario() -> None:
        task = sup.start(asyncio.Event().wait(), name="chat:peer:bob")
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])

    aloop.run(scenario())
    (entry,) = sampler.history.all()
    assert (entry.outcome, entry.detail) == ("cancelled", "no reason given")


def test_unowned_tasks_seen_by_a_sample_are_recorded_without_hiding_their_exception(
    aloop: LoopRunner, registry: TaskRegistry
) -> None:
    sampler = watch(registry)

    async def stray() -> None:
        await asyncio.sleep(0)
        raise ValueError("nobody awaits me")

    async def scenario() -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(stray(), name="stray")
        sampler.sample(asyncio.get_running_loop())
        await asyncio.wait([task])
        await asyncio.sleep(0)  # done-callbacks run one loop turn after the task ends
        return task

    task = aloop.run(scenario())
    (entry,) = [t for t in sampler.history.all() if t.name == "stray"]  # the test's own tasks were seen too
    assert (entry.name, entry.owner, entry.outcome) == ("stray", "", "exception")
    assert entry.what.endswith("<locals>.stray")  # an unowned task is described by its coroutine's qualname
    assert entry.detail == "ValueError: nobody awaits me"
    # Peeking must leave asyncio's "exception was never retrieved" report armed for this unowned task.
    assert task._log_traceback is True
    assert isinstance(task.exception(), ValueError)  # retrieved here, so the loop fixture stays quiet


def test_the_history_keeps_the_last_1000(aloop: LoopRunner, registry: TaskRegistry) -> None:
    sampler = watch(registry)
    sup = Supervisor("many", registry=registry)

    async def quick(n: int) -> int:
        return n

    async def scenario() -> None:
        tasks = [sup.start(quick(n), name=f"quick:{n}") for n in range(1005)]
        await asyncio.wait(tasks)

    aloop.run(scenario())
    kept = sampler.history.all()
    assert len(kept) == 1000
    assert kept[0].name == "quick:5"
    assert kept[-1].name == "quick:1004"
    assert len(sampler.history.drain()) == 1000
