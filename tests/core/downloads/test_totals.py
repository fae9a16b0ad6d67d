"""Totals, just-finished downloads and the last minute's throughput (core/downloads/totals.py)."""

from __future__ import annotations

import pytest

from core.downloads.model import State
from core.downloads.totals import Tally, ThroughputHistory, Totals
from tests.core.downloads.snapshots import progress


def test_counts_and_speed_follow_the_batches() -> None:
    tally = Tally(since=100.0)
    assert tally.totals() == Totals()
    tally.update([
        progress(1, state=State.DOWNLOADING, speed=1000.0, received=100, total=1100),
        progress(2, state=State.QUEUED, total=500),
        progress(3, state=State.CONNECTING),
        progress(4, state=State.PAUSED, received=10, total=20),
    ])  # fmt: skip
    totals = tally.totals()
    assert (totals.count, totals.active, totals.queued, totals.paused) == (4, 2, 1, 1)
    assert (totals.speed, totals.remaining, totals.eta) == (1000.0, 1000 + 500 + 10, pytest.approx(1.51))
    tally.update([progress(1, state=State.COMPLETED, received=1100, total=1100, finished_at=200.0)])
    totals = tally.totals()
    assert (totals.active, totals.completed, totals.speed, totals.eta) == (1, 1, 0.0, None)
    tally.forget(2)
    tally.forget(99)  # unknown: nothing to do
    assert tally.totals().count == 3
    assert tally.get(2) is None
    assert len(tally) == 3


def test_only_fresh_completions_and_failures_are_announced() -> None:
    tally = Tally(since=100.0)
    restored = [
        progress(1, state=State.COMPLETED, finished_at=50.0),
        progress(2, state=State.FAILED, finished_at=60.0),
        progress(3, state=State.DOWNLOADING),
        progress(4, state=State.QUEUED),
    ]
    assert tally.update(restored) == [], "history restored at start-up is not news"
    done = progress(3, state=State.COMPLETED, finished_at=150.0)
    failed = progress(4, state=State.FAILED, finished_at=151.0)
    assert tally.update([done, failed]) == [done, failed]
    assert tally.update([done]) == [], "announced once"
    quick = progress(5, state=State.COMPLETED, finished_at=152.0)
    assert tally.update([quick]) == [quick], "a small file may complete inside one tick"
    cancelled = progress(6, state=State.CANCELLED, finished_at=153.0)
    assert tally.update([progress(6, state=State.DOWNLOADING), cancelled]) == []
    retried = progress(2, state=State.QUEUED)
    assert tally.update([retried, progress(2, state=State.COMPLETED, finished_at=160.0)])[0].id == 2


def test_throughput_history_keeps_the_last_window_per_second() -> None:
    history = ThroughputHistory(window=5)
    assert history.series(10.0) == [0.0] * 5
    assert history.add(10.1, 100.0)
    assert not history.add(10.6, 300.0)
    assert history.add(12.0, 50.0)
    assert history.series(12.5) == [0.0, 0.0, 200.0, 0.0, 50.0]
    assert history.peak(12.5) == 200.0
    assert not history.add(11.0, 1e9), "a clock going backwards is ignored"
    history.add(16.2, 10.0)
    assert history.series(16.2) == [50.0, 0.0, 0.0, 0.0, 10.0]
    assert history.series(30.0) == [0.0] * 5
    with pytest.raises(ValueError, match="at least 1 second"):
        ThroughputHistory(window=0)
