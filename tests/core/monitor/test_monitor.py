"""The Monitor component: updates to listeners, commands (cancel, stack), settings, clean start and stop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import db
from core.monitor import CriticalTaskError, Monitor, MonitorSettingError, TaskGoneError
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings
from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner
from tests.core.monitor.helpers import Updates
from tests.helpers import wait_until


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    conn: sqlite3.Connection = db.connect(tmp_path / "squall.db")
    db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
    yield Settings(conn)
    conn.close()


def test_listeners_get_every_task_and_what_finished(aloop: LoopRunner) -> None:
    registry = TaskRegistry()
    monitor = Monitor(registry=registry, sample_interval=0.02)
    updates = Updates()
    monitor.add_listener(updates)
    downloads = Supervisor("downloads", registry=registry)

    async def job() -> str:
        await asyncio.sleep(0.05)
        return "ok"

    async def scenario() -> None:
        await monitor.start()
        downloads.start(job(), name="download:7", what="download 7 from example.org")
        await wait_until(lambda: "download:7:result:'ok'" in updates.finished(), what="the finished download")
        await monitor.stop(1)

    aloop.run(scenario())
    seen = {t.name: t for u in updates.all for t in u.tasks}
    assert seen["download:7"].what == "download 7 from example.org"
    assert {"monitor:heartbeat", "monitor:sampler"} <= set(seen)
    assert seen["monitor:sampler"].state == "running"
    assert all(u.sample_ms >= 0 for u in updates.all)
    assert updates.all == sorted(updates.all, key=lambda u: u.taken_at)
    assert monitor.latest is updates.all[-1]


def test_cancel_asks_for_confirmation_before_cancelling_a_critical_task(aloop: LoopRunner) -> None:
    registry = TaskRegistry()
    monitor = Monitor(registry=registry, sample_interval=0.02)
    updates = Updates()
    monitor.add_listener(updates)
    hub = Supervisor("hub", registry=registry)

    async def scenario() -> None:
        await monitor.start()
        task = hub.start(asyncio.Event().wait(), name="hub:accept", what="accepts connections", critical=True)
        task_id = next(t.id for t in monitor.publish().tasks if t.name == "hub:accept")
        assert monitor.is_critical(task_id)
        with pytest.raises(CriticalTaskError, match=r"'hub:accept' .* is one Squall relies on.*Confirm"):
            monitor.cancel(task_id)
        assert not task.cancelling()
        monitor.cancel(task_id, confirmed=True)
        await asyncio.wait([task])
        assert task.cancelled()
        await wait_until(lambda: updates.finished(), what="the cancelled task in an update")
        with pytest.raises(TaskGoneError, match=rf"task #{task_id} is not running any more"):
            monitor.cancel(task_id, confirmed=True)
        await monitor.stop(1)

    aloop.run(scenario())
    assert "hub:accept:cancelled:cancelled from the Tasks tab" in updates.finished()


def test_an_ordinary_task_is_cancelled_at_once_and_unknown_ids_are_refused(aloop: LoopRunner) -> None:
    registry = TaskRegistry()
    monitor = Monitor(registry=registry)

    async def scenario() -> None:
        task = asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="stray")
        await asyncio.sleep(0)
        snap = next(s for s in monitor.sampler.sample(asyncio.get_running_loop()) if s.name == "stray")
        assert not monitor.is_critical(snap.id)
        monitor.cancel(snap.id, reason="testing")
        await asyncio.wait([task])
        assert task.cancelled()
        with pytest.raises(TaskGoneError):
            monitor.stack(snap.id)
        with pytest.raises(TaskGoneError, match=r"#99999"):
            monitor.cancel(99999)

    aloop.run(scenario())
    (entry,) = [t for t in monitor.finished() if t.name == "stray"]
    assert (entry.outcome, entry.detail) == ("cancelled", "testing")


def test_the_full_stack_on_demand(aloop: LoopRunner) -> None:
    monitor = Monitor(registry=TaskRegistry())

    async def inner(gate: asyncio.Event) -> None:
        await gate.wait()

    async def outer(gate: asyncio.Event) -> None:
        await inner(gate)

    async def scenario() -> None:
        gate = asyncio.Event()
        task = asyncio.get_running_loop().create_task(outer(gate), name="nested")
        await asyncio.sleep(0)
        snap = next(s for s in monitor.sampler.sample(asyncio.get_running_loop()) if s.name == "nested")
        stack = monitor.stack(snap.id)
        assert [f.function.rpartition(".")[2] for f in stack.frames] == ["outer", "inner", "wait"]
        assert stack.awaiting.startswith("<Future pending")
        text = stack.format()
        assert text.splitlines()[0] == f"Task nested (#{snap.id}), outermost call first:"
        assert "    await inner(gate)" in text
        gate.set()
        await task

    aloop.run(scenario())


def test_the_threshold_comes_from_the_settings_and_follows_them(aloop: LoopRunner, settings: Settings) -> None:
    settings.set("monitor.block_threshold_ms", 250)
    monitor = Monitor(settings=settings, registry=TaskRegistry())
    assert monitor.block_threshold_ms == 250

    async def scenario() -> None:
        await monitor.start()
        settings.set("monitor.block_threshold_ms", 40)
        assert monitor.block_threshold_ms == 40
        assert monitor.blocks.threshold_ms == 40
        with pytest.raises(MonitorSettingError, match="use 10 to 60000 ms"):
            settings.set("monitor.block_threshold_ms", 5)
        assert monitor.block_threshold_ms == 40
        await monitor.stop(1)
        settings.set("monitor.block_threshold_ms", 300)  # no longer listening
        assert monitor.block_threshold_ms == 40

    aloop.run(scenario())


@pytest.mark.allow_logs(r"ignoring the saved setting monitor.block_threshold_ms")
def test_a_bad_saved_threshold_falls_back_to_the_default_and_says_so(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.set("monitor.block_threshold_ms", 1)
    monitor = Monitor(settings=settings, registry=TaskRegistry())
    assert monitor.block_threshold_ms == 100
    assert "block threshold 1 ms is out of range" in caplog.text


def test_sampling_slows_down_rather_than_take_more_than_5_percent_of_the_loop() -> None:
    monitor = Monitor(registry=TaskRegistry(), sample_interval=0.5)
    assert monitor.next_interval(1.0) == 0.5  # 1,000 parked tasks: twice a second
    assert monitor.next_interval(25.0) == 0.5
    assert monitor.next_interval(55.0) == pytest.approx(1.1)  # 10,000 busy tasks: about once a second
    assert monitor.next_interval(500.0) == pytest.approx(10.0)


def test_bad_sample_interval_is_refused() -> None:
    with pytest.raises(MonitorSettingError, match=r"sample interval 0 s is out of range; use 0.01 to 60 s"):
        Monitor(registry=TaskRegistry(), sample_interval=0)


def test_stop_ends_everything_it_started(aloop: LoopRunner) -> None:
    registry = TaskRegistry()
    monitor = Monitor(registry=registry, sample_interval=0.02)
    other = Supervisor("other", registry=registry)

    async def quick() -> None:
        await asyncio.sleep(0)

    async def scenario() -> None:
        await monitor.start()
        assert monitor.watchdog.running
        assert len(monitor.supervisor) == 2
        await monitor.stop(1)
        assert len(monitor.supervisor) == 0
        assert not monitor.watchdog.running
        await asyncio.wait([other.start(quick(), name="after-stop")])

    aloop.run(scenario())  # the loop fixture fails on any task left running
    assert all(t.name != "after-stop" for t in monitor.finished()), "the registry listener was removed"


@pytest.mark.allow_logs(r"monitor listener .* failed")
def test_a_broken_listener_does_not_stop_the_others(aloop: LoopRunner, caplog: pytest.LogCaptureFixture) -> None:
    monitor = Monitor(registry=TaskRegistry())
    updates = Updates()

    def broken(_update: object) -> None:
        raise RuntimeError("view exploded")

    monitor.add_listener(broken)
    monitor.add_listener(updates)

    async def scenario() -> None:
        monitor.publish()

    aloop.run(scenario())
    assert len(updates.all) == 1
    assert "view exploded" in caplog.text
