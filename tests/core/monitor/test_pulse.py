from __future__ import annotations

import asyncio
import time

import pytest

from core.monitor.errors import MonitorSettingError
from core.monitor.pulse import Heartbeat, percentile
from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner


class FakeWallClock:
    """A settable time.time() for the per-second statistics.

    Attributes:
        now: the time it reports.
    """

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_beats_are_summarised_per_second_with_p50_p99_max() -> None:
    wall = FakeWallClock(1000.1)
    beat = Heartbeat(0.025, wall_clock=wall)
    for i in range(40):  # second 1000: lags 0..39 ms
        beat.record_beat(due=10.0 + i, now=10.0 + i + i / 1000)
    wall.now = 1001.2
    beat.record_beat(due=60.0, now=60.0)
    (second,) = beat.drain()
    assert (second.at, second.beats) == (1000.0, 40)
    assert second.p50_ms == pytest.approx(19.0)
    assert second.p99_ms == pytest.approx(39.0)
    assert second.max_ms == pytest.approx(39.0)
    assert beat.drain() == ()
    assert beat.history() == (second,)
    assert beat.current_lags() == [0.0]


def test_seconds_without_a_beat_show_the_freeze_as_a_ramp() -> None:
    wall = FakeWallClock(500.5)
    beat = Heartbeat(0.025, wall_clock=wall)
    beat.record_beat(due=1.0, now=1.0)
    # the loop froze from 500.5 until 503.5: the next beat is 3 s late and lands in second 503
    wall.now = 503.5
    beat.record_beat(due=1.025, now=4.0)
    seconds = beat.drain()
    assert [(s.at, s.beats) for s in seconds] == [(500.0, 1), (501.0, 0), (502.0, 0)]
    # at the end of second 501 the beat due at ~500.5 was ~1.5 s late; at the end of 502, ~2.5 s
    assert seconds[1].max_ms == pytest.approx(1475, abs=5)
    assert seconds[2].max_ms == pytest.approx(2475, abs=5)
    assert beat.current_lags() == [pytest.approx(2975, abs=1)]


def test_ten_minutes_are_kept() -> None:
    wall = FakeWallClock(0.0)
    beat = Heartbeat(0.025, wall_clock=wall)
    for second in range(1, 700):
        wall.now = float(second)
        beat.record_beat(due=float(second), now=float(second))
    history = beat.history()
    assert len(history) == 600
    assert history[-1].at == 698.0


def test_out_of_range_interval_is_refused_with_the_range() -> None:
    with pytest.raises(MonitorSettingError, match=r"use 0.001 to 1 s"):
        Heartbeat(0)
    with pytest.raises(MonitorSettingError, match=r"out of range"):
        Heartbeat(5)


def test_a_real_block_shows_up_as_lag(aloop: LoopRunner) -> None:
    beat = Heartbeat(0.01)
    sup = Supervisor("pulse", registry=TaskRegistry())

    async def scenario() -> None:
        sup.start(beat.run(), name="monitor:heartbeat")
        await beat.next_beat()
        start = time.monotonic()
        time.sleep(0.25)  # noqa: ASYNC251 - the loop is blocked on purpose: no beat can run
        end = time.monotonic()
        await beat.next_beat()
        lags = beat.lags_between(start, end)
        assert max(lags) >= 200
        calm_start = time.monotonic()
        for _ in range(5):
            await beat.next_beat()
        assert max(beat.lags_between(calm_start, time.monotonic())) < 200
        await sup.stop(1)
        assert beat.due is None

    aloop.run(scenario())


def test_waiting_for_a_beat_ends_when_the_heartbeat_stops(aloop: LoopRunner) -> None:
    beat = Heartbeat(0.5)
    sup = Supervisor("pulse", registry=TaskRegistry())

    async def scenario() -> None:
        sup.start(beat.run(), name="monitor:heartbeat")
        await asyncio.sleep(0)
        waiter = beat.next_beat()
        await sup.stop(1)
        assert waiter.cancelled()

    aloop.run(scenario())
