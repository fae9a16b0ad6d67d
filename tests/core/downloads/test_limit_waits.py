"""Waiting on our own speed limit: never counted as the server being idle or slow, and over when its run is."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from core.downloads.errors import TransferError
from core.downloads.model import State
from core.downloads.retry import Timeouts
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.helpers import wait_until

# The server sends 20 KB every 50 ms. Under an 8 KiB/s limit every chunk (16 KiB at least) is held back about 2 s,
# several times the idle timeout and the low-speed window below: either rule, counting our own waits, fails the
# download at once.
SERVER_BPS = 400_000
LIMIT = 8 * 1024
IDLE_ONLY = Timeouts(connect=2, first_byte=2, idle=0.4, low_speed_time=0)
LOW_SPEED_ONLY = Timeouts(connect=2, first_byte=2, idle=30, low_speed_bytes=1024, low_speed_time=0.5)
BOTH = Timeouts(connect=2, first_byte=2, idle=0.4, low_speed_bytes=1024, low_speed_time=0.5)


async def _window(seconds: float) -> None:
    """Let downloads run for a while (an observation window, not synchronisation)."""
    start = time.monotonic()
    await wait_until(lambda: time.monotonic() - start >= seconds, timeout=seconds + 1, what="the window")


@pytest.mark.parametrize(
    ("how", "timeouts", "downloads"),
    [
        ("global limit set mid-download", IDLE_ONLY, 1),
        ("per-download limit set mid-download", LOW_SPEED_ONLY, 1),
        # Every download gets its turn: one starved by the others would make no progress in the window.
        ("global limit shared from the start", BOTH, 3),
    ],
)
def test_time_held_back_by_our_own_limit_is_never_a_timeout(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder,
    how: str, timeouts: Timeouts, downloads: int,
) -> None:  # fmt: skip
    names = [f"held{i}.bin" for i in range(downloads)]
    data = {name: server.add(name, 1_000_000) for name in names}
    shared = how == "global limit shared from the start"
    seen: dict[str, Any] = {}

    async def scenario() -> list[int]:
        engine = make_engine(timeouts=timeouts, rate_limit=LIMIT * downloads if shared else 0)
        await engine.start()
        try:
            ids = [engine.add(server.url(f"/throttle/{name}?bps={SERVER_BPS}")) for name in names]
            await wait_until(lambda: all(engine.get(i).received > 0 for i in ids), what="the first bytes")
            if how == "global limit set mid-download":
                engine.set_rate_limit(LIMIT)
            elif how == "per-download limit set mid-download":
                engine.set_item_rate_limit(ids[0], LIMIT)
            before = {i: engine.get(i).received for i in ids}
            await _window(2.5)  # holds of ~2 s: each longer than the idle timeout or the low-speed window
            seen["during"] = {i: (engine.get(i).state, engine.get(i).received - before[i]) for i in ids}
            engine.set_rate_limit(0)
            if not shared:
                engine.set_item_rate_limit(ids[0], 0)
            await wait_until(
                lambda: all(engine.get(i).state in (State.COMPLETED, State.FAILED) for i in ids),
                timeout=15, what="the downloads to end",
            )  # fmt: skip
            return ids
        finally:
            await engine.stop(2)

    ids = aloop.run(scenario(), timeout=30)
    errors = sorted({s.error for batch in recorder.batches for s in batch if s.error})
    assert errors == [], f"{how}: our own speed limit was blamed on the server"
    for download_id, name in zip(ids, names, strict=True):
        state, progressed = seen["during"][download_id]
        assert state is State.DOWNLOADING
        assert progressed > 0, "each download moved on while limited (none starved by the others)"
        assert progressed < 100_000, "the limit held while it was set (unlimited: ~1 MB in that window)"
        final = recorder.latest[download_id]
        assert final.state is State.COMPLETED
        assert final.attempts == 1
        assert Path(final.path).read_bytes() == data[name]


def _connections(engine: Any) -> list[Any]:
    """The engine's open connections, in use or idle (white box: its ConnectionPool)."""
    pool = engine._services.client
    return [s for s in [*pool.live, *(s for idle in pool._idle.values() for s in idle)] if not s.closed()]


@pytest.mark.parametrize("how", ["aborted by its transfer's watchdog", "its task cancelled from the Tasks tab"])
def test_an_aborted_run_ends_its_wait_on_the_speed_limit_at_once(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, how: str
) -> None:
    server.add("slow.bin", 1_000_000)

    async def scenario() -> None:
        engine = make_engine(rate_limit=1024, timeouts=Timeouts(connect=2, first_byte=2, idle=30, low_speed_time=0))
        await engine.start()
        try:
            download_id = engine.add(server.url(f"/throttle/slow.bin?bps={SERVER_BPS}"))
            # The first read takes 4 KiB (50 ms worth, but at least 4 KiB) at 1 KiB/s: the transfer now waits ~4 s.
            await wait_until(lambda: engine.get(download_id).received >= 4 * 1024, what="the limit to hold")
            assert len(_connections(engine)) == 1
            if how == "aborted by its transfer's watchdog":
                # The watchdog no longer fires during such a wait; abort the transfer the way it did, which leaves
                # the run's own error and intent unset (white box: the transfer is not public).
                (transfer,) = engine._runs[download_id].transfers
                transfer.abort(TransferError("no data for 30 s (idle timeout)", retryable=False))
                await wait_until(lambda: engine.get(download_id).state is State.FAILED, what="the run to fail")
            else:
                (task,) = [t for t in asyncio.all_tasks() if t.get_name() == f"download:{download_id}"]
                task.cancel()
                await wait_until(task.done, what="the download's task to end")
            await wait_until(lambda: not _connections(engine), timeout=1, what="the connection to close")
        finally:
            await engine.stop(2)

    aloop.run(scenario(), timeout=20)


@pytest.mark.parametrize("when", ["set before the download starts", "set mid-download"])
def test_under_a_low_limit_every_read_is_small_so_progress_shows_every_second(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, when: str
) -> None:
    # At 4 KiB/s a 256 KiB read (the unlimited size) would be paid for over a minute with nothing to show; even a
    # 16 KiB one would take 4 s. Reads are 50 ms worth (at least 4 KiB) from the first read a limit applies to. The
    # server sends 2,000 bytes every 50 ms, so the read already in flight when the limit is set is small too (that
    # one read cannot be shrunk; its bytes are paid for at the new rate).
    low = 4096
    server.add("crawl.bin", 1_000_000)
    before = when == "set before the download starts"
    steps: list[int] = []

    async def scenario() -> None:
        engine = make_engine(
            rate_limit=low if before else 0, timeouts=Timeouts(connect=2, first_byte=2, idle=30, low_speed_time=0)
        )
        await engine.start()
        try:
            download_id = engine.add(server.url("/throttle/crawl.bin?bps=40000"))
            await wait_until(lambda: engine.get(download_id).received > 0, what="the first bytes")
            if not before:
                engine.set_rate_limit(low)
                seen = engine.get(download_id).received
                # The read in flight when the limit came may be bigger; wait until it is counted.
                await wait_until(lambda: engine.get(download_id).received > seen, what="the read in flight")
            last = engine.get(download_id).received
            if before:
                steps.append(last)
            start = time.monotonic()

            def sample() -> bool:
                nonlocal last
                now = engine.get(download_id).received
                if now != last:
                    steps.append(now - last)
                    last = now
                return time.monotonic() - start >= 3.2  # an observation window, not synchronisation

            await wait_until(sample, timeout=5, what="the observation window")
            assert engine.get(download_id).state is State.DOWNLOADING
        finally:
            await engine.stop(2)

    aloop.run(scenario(), timeout=20)
    assert len(steps) >= 3, f"progress at least about once a second at 4 KiB/s, saw steps {steps}"
    assert max(steps) <= 4096, f"each read is 50 ms worth (at least 4 KiB), saw steps {steps}"
