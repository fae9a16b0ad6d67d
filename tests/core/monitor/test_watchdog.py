"""The watchdog names the code that blocked the loop; the block log pairs captures with late beats."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from core.monitor import Monitor, MonitorSettingError
from core.monitor.blocks import NOT_CAUGHT, BlockLog
from core.monitor.snapshots import FrameLine
from core.monitor.watchdog import Capture, Watchdog
from core.supervisor import TaskRegistry
from tests.conftest import LoopRunner
from tests.core.monitor.helpers import line_of
from tests.helpers import wait_until


def blocking_handler() -> None:
    time.sleep(0.3)  # blocks-the-loop


def test_a_300_ms_sleep_on_the_loop_is_caught_and_named(aloop: LoopRunner, caplog: pytest.LogCaptureFixture) -> None:
    monitor = Monitor(registry=TaskRegistry(), sample_interval=0.05, beat_interval=0.01)

    async def scenario() -> None:
        await monitor.start()
        await monitor.heartbeat.next_beat()
        blocking_handler()
        await wait_until(monitor.block_history, timeout=5, what="the block record")
        await monitor.stop(1)

    aloop.run(scenario())
    (block,) = monitor.block_history()
    line = line_of(__file__, "blocks-the-loop")
    assert block.where == f"tests/core/monitor/test_watchdog.py:{line} in blocking_handler"
    assert block.stack[-1] == FrameLine(__file__, line, "blocking_handler", "time.sleep(0.3)  # blocks-the-loop")
    assert any(f.function.endswith("scenario") for f in block.stack), "the stack goes up to the caller"
    assert 250 <= block.duration_ms < 2000
    assert block.threshold_ms == 100
    assert abs(block.at - (time.time() - 0.3)) < 10
    assert any("loop blocked > 100 ms at tests/core/monitor/test_watchdog.py" in r.getMessage() for r in caplog.records)
    assert not monitor.watchdog.running


def test_a_block_shorter_than_the_threshold_is_not_recorded(aloop: LoopRunner) -> None:
    monitor = Monitor(registry=TaskRegistry(), sample_interval=0.05, beat_interval=0.01, block_threshold_ms=400)

    async def scenario() -> None:
        await monitor.start()
        await monitor.heartbeat.next_beat()
        time.sleep(0.15)  # noqa: ASYNC251 - blocking the loop is the point
        for _ in range(3):
            await monitor.heartbeat.next_beat()
        assert max(monitor.heartbeat.lags_between(0, time.monotonic())) >= 100, "the block was measured..."
        monitor.publish()
        await monitor.stop(1)

    aloop.run(scenario())
    assert monitor.block_history() == (), "...but it was under the threshold"


def test_the_threshold_can_change_while_running(aloop: LoopRunner) -> None:
    monitor = Monitor(registry=TaskRegistry(), sample_interval=0.05, beat_interval=0.01, block_threshold_ms=1000)

    async def scenario() -> None:
        await monitor.start()
        for _ in range(10):  # long enough for the watchdog to settle into sleeping ~1 s at a time
            await monitor.heartbeat.next_beat()
        monitor.set_block_threshold(50)
        await monitor.heartbeat.next_beat()
        time.sleep(0.2)  # noqa: ASYNC251 - blocking the loop is the point
        await wait_until(monitor.block_history, timeout=5, what="the block record")
        await monitor.stop(1)

    aloop.run(scenario())
    (block,) = monitor.block_history()
    assert block.threshold_ms == 50
    assert block.where != NOT_CAUGHT, "the watchdog was sleeping until the old 1 s threshold; it must wake"
    assert block.stack


@pytest.mark.parametrize("bad", [0, 9, 60_001, -5, True, "100", None])
def test_out_of_range_thresholds_are_refused_with_the_range(bad: object) -> None:
    monitor = Monitor(registry=TaskRegistry())
    with pytest.raises(MonitorSettingError, match=r"use 10 to 60000 ms"):
        monitor.set_block_threshold(bad)  # type: ignore[arg-type]
    if bad is not None:  # None means "take it from the settings"
        with pytest.raises(MonitorSettingError, match=r"block threshold"):
            Monitor(registry=TaskRegistry(), block_threshold_ms=bad)  # type: ignore[arg-type]


def test_the_watchdog_never_captures_a_healthy_loop(aloop: LoopRunner) -> None:
    monitor = Monitor(registry=TaskRegistry(), beat_interval=0.01, block_threshold_ms=100)

    async def scenario() -> None:
        await monitor.start()
        for _ in range(20):
            await monitor.heartbeat.next_beat()
        monitor.publish()
        await monitor.stop(1)

    aloop.run(scenario())
    assert monitor.block_history() == ()


def test_stopping_ends_the_thread_promptly(aloop: LoopRunner) -> None:
    from core.monitor.pulse import Heartbeat

    watchdog = Watchdog(Heartbeat(0.01), lambda capture: None, threshold_ms=60_000)

    async def scenario() -> None:
        watchdog.start()
        assert watchdog.running
        assert any(t.name == "squall-watchdog" for t in threading.enumerate())
        started = time.monotonic()
        await watchdog.stop(1)
        assert time.monotonic() - started < 0.5

    aloop.run(scenario())
    assert not watchdog.running


def capture(due: float) -> Capture:
    return Capture(due, 1000.0, 150.0, 100.0, "app.py:1 in f", (FrameLine("app.py", 1, "f", "x()"),))


@pytest.mark.parametrize("capture_first", [True, False])
def test_a_capture_and_its_late_beat_pair_up_in_either_order(capture_first: bool) -> None:
    log = BlockLog(threshold_ms=100)
    if capture_first:
        log.on_capture(capture(5.0))
        log.on_beat(5.0, 320.0)
    else:
        log.on_beat(5.0, 320.0)
        log.on_capture(capture(5.0))
    log.on_beat(5.5, 3.0)  # a healthy beat is no block
    (block,) = log.drain()
    assert (block.id, block.at, block.duration_ms, block.where) == (1, 1000.0, 320.0, "app.py:1 in f")
    assert block.stack == (FrameLine("app.py", 1, "f", "x()"),)
    log.flush()
    assert log.drain() == ()


def test_a_late_beat_never_captured_is_still_recorded_without_a_stack() -> None:
    log = BlockLog(threshold_ms=100)
    log.uncaught_after = 0.0
    log.on_beat(7.0, 250.0)
    log.flush()
    (block,) = log.all()
    assert (block.where, block.stack, block.duration_ms) == (NOT_CAUGHT, (), 250.0)


def test_captures_whose_beat_never_comes_are_dropped_after_a_minute() -> None:
    log = BlockLog(threshold_ms=100)
    log.on_capture(capture(time.monotonic() - 120))
    log.flush()
    log.on_beat(time.monotonic() - 120, 999.0)  # arrives too late to pair: recorded as uncaught later
    assert log.all() == ()


class RecordingWatchdog(Watchdog):
    """A Watchdog that also signals each capture at once, from its own thread.

    Attributes:
        captured: set (in the watchdog thread) as soon as a capture is made.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.captured = threading.Event()

    def _deliver(self, capture: Capture) -> None:
        self.captured.set()
        super()._deliver(capture)


def test_the_stack_is_captured_while_the_loop_is_still_blocked(aloop: LoopRunner) -> None:
    from core.monitor.pulse import Heartbeat
    from core.supervisor import Supervisor

    captures: list[Capture] = []
    beat = Heartbeat(0.01)
    sup = Supervisor("t", registry=TaskRegistry())
    watchdog = RecordingWatchdog(beat, captures.append, threshold_ms=50)

    async def scenario() -> None:
        sup.start(beat.run(), name="beat")
        watchdog.start()
        await beat.next_beat()
        # The loop stays blocked until the watchdog has captured it: proof it does not wait for the loop.
        assert watchdog.captured.wait(5)  # blocked-until-captured
        await wait_until(lambda: captures, what="the capture to reach the loop")
        await watchdog.stop()
        await sup.stop(1)

    aloop.run(scenario())
    (cap,) = captures
    assert cap.stack[-1].function == "Condition.wait"
    assert cap.where.endswith(
        f"called from tests/core/monitor/test_watchdog.py:{line_of(__file__, 'blocked-until-captured')} in scenario"
    )
    assert 50 < cap.late_ms < 5000
