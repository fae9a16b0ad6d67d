from __future__ import annotations

import asyncio
import logging

import pytest

from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner


def test_start_names_and_registers_tasks(aloop: LoopRunner) -> None:
    registry = TaskRegistry()
    sup = Supervisor("downloads", registry=registry)

    async def scenario() -> None:
        gate = asyncio.Event()
        task = sup.start(gate.wait(), name="download:42", what="download 42 from example.org")
        assert task.get_name() == "download:42"
        info = registry.info(task)
        assert info is not None
        assert (info.owner, info.name, info.what, info.critical) == (
            "downloads",
            "download:42",
            "download 42 from example.org",
            False,
        )
        assert len(sup) == 1
        gate.set()
        await task
        assert len(sup) == 0

    aloop.run(scenario())


def test_stop_cancels_and_awaits_every_task(aloop: LoopRunner) -> None:
    sup = Supervisor("chat", registry=TaskRegistry())
    cleaned: list[str] = []

    async def worker(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(name)

    async def scenario() -> None:
        tasks = [sup.start(worker(f"w{i}"), name=f"chat:w{i}") for i in range(5)]
        await asyncio.sleep(0)
        await sup.stop(timeout=1)
        assert all(t.cancelled() for t in tasks)
        assert sorted(cleaned) == [f"w{i}" for i in range(5)]
        with pytest.raises(RuntimeError, match="is stopped"):
            sup.start(worker("late"), name="chat:late")

    aloop.run(scenario())


def test_cancel_reason_reaches_the_task(aloop: LoopRunner) -> None:
    sup = Supervisor("hub", registry=TaskRegistry())
    reasons: list[str] = []

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError as exc:
            reasons.append(str(exc.args[0]) if exc.args else "")
            raise

    async def scenario() -> None:
        sup.start(worker(), name="hub:conn")
        await asyncio.sleep(0)
        await sup.stop()

    aloop.run(scenario())
    assert reasons == ["hub is shutting down"]


@pytest.mark.allow_logs(r"task boom failed")
def test_a_failing_task_is_logged_with_traceback_and_reported(
    aloop: LoopRunner, caplog: pytest.LogCaptureFixture
) -> None:
    registry = TaskRegistry()
    finished: list[tuple[str, bool]] = []
    registry.add_finish_listener(lambda task, info: finished.append((info.name, task.cancelled())))
    sup = Supervisor("downloads", registry=registry)

    async def boom() -> None:
        raise ValueError("disk on fire")

    async def scenario() -> None:
        task = sup.start(boom(), name="boom")
        await asyncio.wait([task])

    aloop.run(scenario())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "disk on fire" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert finished == [("boom", False)]
    # and the loop fixture saw no "Task exception was never retrieved" (it would fail the test)


@pytest.mark.allow_logs(r"did not stop within")
def test_stop_reports_a_task_that_ignores_cancellation(aloop: LoopRunner, caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor("stubborn", registry=TaskRegistry())
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # misbehaving on purpose

    async def scenario() -> None:
        task = sup.start(stubborn(), name="stubborn:1")
        await asyncio.sleep(0)
        await sup.stop(timeout=0.05)
        assert not task.done()
        release.set()
        await task

    aloop.run(scenario())
    assert any("stubborn:1 did not stop" in r.getMessage() for r in caplog.records)
