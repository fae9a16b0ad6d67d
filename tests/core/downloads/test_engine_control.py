"""Commands while downloads run: pause, resume, cancel, remove, limits; snapshots; restore after a restart."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core.downloads.errors import BadUrlError, DownloadError, DuplicateDownloadError, UnknownDownloadError
from core.downloads.model import RUNNING, State
from core.downloads.partfile import PartFile
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import finished
from tests.helpers import wait_until


def test_pause_resume_and_cancel_take_effect_within_a_second(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tmp_path: Path
) -> None:
    server.add("p.bin", 4_000_000)
    url = server.url("/throttle/p.bin?bps=400000")
    timings: dict[str, float] = {}

    async def scenario() -> None:
        engine = make_engine()
        await engine.start()
        try:
            download_id = engine.add(url)
            await wait_until(lambda: engine.get(download_id).received > 100_000, what="some bytes")
            asked = time.monotonic()
            engine.pause(download_id)
            await wait_until(
                lambda: recorder.state(download_id) == "paused" and download_id not in engine.active_ids(),
                timeout=1.0,
                what="the pause",
            )
            timings["pause"] = time.monotonic() - asked
            held = engine.get(download_id).received
            await wait_until(lambda: server.state.active == 0, timeout=1.0, what="the server to see the close")
            assert engine.get(download_id).received == held

            asked = time.monotonic()
            engine.resume(download_id)
            await wait_until(lambda: engine.get(download_id).received > held, timeout=1.0, what="bytes after resume")
            timings["resume"] = time.monotonic() - asked
            assert server.state.requests[-1][1] is not None
            assert int(server.state.requests[-1][1].removeprefix("bytes=").rstrip("-")) > 0, "resumed with Range"

            asked = time.monotonic()
            engine.cancel(download_id)
            await wait_until(
                lambda: (
                    recorder.state(download_id) == "cancelled"
                    and download_id not in engine.active_ids()
                    and not (tmp_path / "downloads" / "p.bin.part").exists()
                ),
                timeout=1.0,
                what="the cancel",
            )
            timings["cancel"] = time.monotonic() - asked
        finally:
            await engine.stop(2)

    aloop.run(scenario(), timeout=20)
    assert max(timings.values()) < 1.0, timings
    assert list((tmp_path / "downloads").iterdir()) == []


def test_snapshots_are_batched_and_at_most_ten_per_second_per_download(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    for n in range(3):
        server.add(f"{n}.bin", 600_000)

    async def scenario() -> list[int]:
        engine = make_engine(tick=0.1)
        await engine.start()
        try:
            ids = [engine.add(server.url(f"/throttle/{n}.bin?bps=400000")) for n in range(3)]
            await wait_until(lambda: all(finished(recorder, i) for i in ids), timeout=10, what="downloads")
        finally:
            await engine.stop(2)
        return ids

    started = time.monotonic()
    ids = aloop.run(scenario(), timeout=20)
    elapsed = time.monotonic() - started
    for download_id in ids:
        count = sum(1 for batch in recorder.batches for s in batch if s.id == download_id)
        assert count <= 10 * elapsed + 2, (count, elapsed)
        assert count >= 5, "progress is reported while it runs"
    assert all(len({s.id for s in batch}) == len(batch) for batch in recorder.batches), "one snapshot per item"
    assert max(len(batch) for batch in recorder.batches) == 3, "changes of several downloads share one batch"
    assert all(recorder.latest[i].state is State.COMPLETED for i in ids)


def test_restart_restores_the_queue_and_resumes_from_the_checkpoint(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, conn: sqlite3.Connection
) -> None:
    data = server.add("r.bin", 1_000_000)
    url = server.url("/throttle/r.bin?bps=500000")

    async def scenario() -> tuple[int, int]:
        first = make_engine()
        await first.start()
        download_id = first.add(url)
        queued = first.add(server.url("/f/never.bin"), folder=Path("/nonexistent/never"))
        first.pause(queued)
        try:
            await wait_until(
                lambda: (
                    conn.execute("SELECT received FROM downloads WHERE id = ?", (download_id,)).fetchone()[0] > 200_000
                ),
                what="a checkpoint",
            )
        finally:
            await first.stop(2)
        saved = conn.execute("SELECT state, received FROM downloads WHERE id = ?", (download_id,)).fetchone()
        assert saved["state"] == "queued"
        second = make_engine()
        await second.start()
        try:
            assert second.get(queued).state is State.PAUSED, "paused stays paused"
            await wait_until(lambda: finished(recorder, download_id), timeout=10, what="the resumed download")
        finally:
            await second.stop(2)
        return download_id, saved["received"]

    download_id, saved = aloop.run(scenario(), timeout=20)
    snapshot = recorder.latest[download_id]
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert snapshot.sha256_actual == hashlib.sha256(data).hexdigest()
    assert Path(snapshot.path).read_bytes() == data
    assert server.state.requests[-1][1:] == (f"bytes={saved}-", server.state.etag("r.bin"))


def test_commands_reject_bad_input_clearly(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tmp_path: Path
) -> None:
    server.add("d.bin", 1000)

    async def scenario() -> tuple[int, int]:
        engine = make_engine()
        await engine.start()
        try:
            with pytest.raises(BadUrlError, match="only http:// and https://"):
                engine.add("gopher://x/y")
            first = engine.add(server.url("/f/d.bin"))
            with pytest.raises(DuplicateDownloadError, match=f"already being downloaded .*download {first}"):
                engine.add(server.url("/f/d.bin"))
            with pytest.raises(UnknownDownloadError, match="no download with id 999"):
                engine.pause(999)
            with pytest.raises(DownloadError, match="concurrency must be a whole number from 1 to 64, not 0"):
                engine.set_concurrency(0)
            with pytest.raises(DownloadError, match="speed limit must be a whole number of bytes per second"):
                engine.set_rate_limit(-5)
            await wait_until(lambda: finished(recorder, first), what="the first copy")
            second = engine.add(server.url("/f/d.bin"))  # finished: a new download, a new name
            await wait_until(lambda: finished(recorder, second), what="the second copy")
        finally:
            await engine.stop(2)
        return first, second

    first, second = aloop.run(scenario())
    assert recorder.latest[first].name == "d.bin"
    assert recorder.latest[second].name == "d (1).bin"
    assert (tmp_path / "downloads" / "d.bin").read_bytes() == (tmp_path / "downloads" / "d (1).bin").read_bytes()


def test_concurrency_and_per_host_limits_hold_and_change_while_running(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    for n in range(6):
        server.add(f"{n}.bin", 150_000)
    peaks: list[int] = []

    def running() -> int:
        return sum(1 for s in recorder.latest.values() if s.state in RUNNING)

    async def scenario() -> None:
        engine = make_engine(concurrency=4, per_host=1)
        await engine.start()
        try:
            ids = [engine.add(server.url(f"/throttle/{n}.bin?bps=300000")) for n in range(6)]
            first_peak = 0
            while not finished(recorder, ids[1]):  # two files, one after the other
                first_peak = max(first_peak, running(), len(engine.active_ids()))
                await asyncio.sleep(0.01)
            peaks.append(first_peak)
            engine.set_per_host(3)
            await wait_until(lambda: len(engine.active_ids()) == 3, timeout=1, what="three at once")
            peaks.append(len(engine.active_ids()))
            engine.set_concurrency(2)
            await wait_until(lambda: all(finished(recorder, i) for i in ids), timeout=10, what="all files")
        finally:
            await engine.stop(2)

    aloop.run(scenario(), timeout=20)
    assert peaks == [1, 3]
    assert all(s.state is State.COMPLETED for s in recorder.latest.values())


def test_remove_forgets_the_download_and_can_delete_its_file(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, conn: sqlite3.Connection,
    tmp_path: Path,
) -> None:  # fmt: skip
    server.add("keep.bin", 1000)
    server.add("gone.bin", 1000)
    server.add("slow.bin", 2_000_000)
    removed: list[int] = []

    async def scenario() -> None:
        engine = make_engine(on_removed=removed.append)
        await engine.start()
        try:
            keep, gone = engine.add(server.url("/f/keep.bin")), engine.add(server.url("/f/gone.bin"))
            slow = engine.add(server.url("/throttle/slow.bin?bps=200000"))
            await wait_until(lambda: finished(recorder, keep) and finished(recorder, gone), what="two files")
            await wait_until(lambda: engine.get(slow).received > 0, what="the slow one to start")
            engine.remove(keep)
            engine.remove(gone, delete_file=True)
            engine.remove(slow)
            await wait_until(lambda: not engine.active_ids(), timeout=1, what="the slow one to stop")
            assert engine.items() == []
        finally:
            await engine.stop(2)
        assert removed == [keep, gone, slow]

    aloop.run(scenario())
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == ["keep.bin"]
    assert conn.execute("SELECT count(*) FROM downloads").fetchone()[0] == 0


def test_resume_right_after_pause_is_not_lost(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("q.bin", 400_000)

    async def scenario() -> int:
        engine = make_engine()
        await engine.start()
        try:
            download_id = engine.add(server.url("/throttle/q.bin?bps=800000"))
            await wait_until(lambda: engine.get(download_id).received > 0, what="some bytes")
            engine.pause(download_id)
            engine.resume(download_id)  # before the paused run has wound down
            await wait_until(lambda: finished(recorder, download_id), timeout=5, what="the download to finish")
        finally:
            await engine.stop(2)
        return download_id

    snapshot = recorder.latest[aloop.run(scenario())]
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert Path(snapshot.path).read_bytes() == data


def test_add_many_is_all_or_nothing(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, conn: sqlite3.Connection
) -> None:
    for n in range(3):
        server.add(f"m{n}.bin", 2000)

    async def scenario() -> list[int]:
        engine = make_engine()
        await engine.start()
        try:
            with pytest.raises(BadUrlError, match="only http:// and https://"):
                engine.add_many([(server.url("/f/m0.bin"), None), ("mailto:x@y", None)])
            assert engine.items() == []
            ids = engine.add_many([(server.url(f"/f/m{n}.bin"), None) for n in range(3)])
            await wait_until(lambda: all(finished(recorder, i) for i in ids), what="three files")
        finally:
            await engine.stop(2)
        return ids

    ids = aloop.run(scenario())
    assert ids == sorted(ids)
    assert conn.execute("SELECT count(*) FROM downloads").fetchone()[0] == 3
    assert all(recorder.latest[i].state is State.COMPLETED for i in ids)


def test_a_crash_between_naming_and_removing_the_part_completes_without_downloading_again(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, conn: sqlite3.Connection,
    tmp_path: Path,
) -> None:  # fmt: skip
    data = server.add("x.bin", 50_000)
    final = tmp_path / "downloads" / "x.bin"

    async def first_run() -> int:
        engine = make_engine()
        await engine.start()
        try:
            download_id = engine.add(server.url("/f/x.bin"))
            await wait_until(lambda: finished(recorder, download_id), what="the download")
        finally:
            await engine.stop(2)
        return download_id

    download_id = aloop.run(first_run())
    # What a crash right after link() and before unlink() leaves: both names, and a row still in progress.
    (tmp_path / "downloads" / "x.bin.part").hardlink_to(final)
    conn.execute("UPDATE downloads SET state = 'downloading', finished_at = NULL WHERE id = ?", (download_id,))
    hits = len(server.state.requests)

    async def second_run() -> None:
        engine = make_engine()
        await engine.start()
        try:
            await wait_until(lambda: recorder.state(download_id) == "completed", what="the recovery")
        finally:
            await engine.stop(2)

    recorder.latest.clear()
    aloop.run(second_run())
    assert len(server.state.requests) == hits, "nothing was downloaded again"
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == ["x.bin"]
    assert final.read_bytes() == data
    assert recorder.latest[download_id].sha256_actual == hashlib.sha256(data).hexdigest()


def test_a_short_stop_budget_skips_the_big_final_sync_and_claims_nothing_unsynced(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import core.downloads.engine as engine_module

    monkeypatch.setattr(engine_module, "FAST_SYNC_BYTES", 0)  # any unsynced data counts as "much"
    data = server.add("z.bin", 2_000_000)
    url = server.url("/throttle/z.bin?bps=1000000")

    async def scenario() -> int:
        first = make_engine(checkpoint_interval=3600)  # no checkpoint before the stop
        await first.start()
        download_id = first.add(url)
        try:
            await wait_until(lambda: first.get(download_id).received > 200_000, what="some bytes")
        finally:
            await first.stop(1.0)
        assert conn.execute("SELECT received FROM downloads WHERE id = ?", (download_id,)).fetchone()[0] == 0
        second = make_engine()
        await second.start()
        try:
            await wait_until(lambda: finished(recorder, download_id), timeout=10, what="the second run")
        finally:
            await second.stop(2)
        return download_id

    snapshot = recorder.latest[aloop.run(scenario(), timeout=20)]
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert Path(snapshot.path).read_bytes() == data


@pytest.mark.parametrize("command", ["pause", "cancel"])
def test_pause_or_cancel_while_the_part_is_being_reserved_sticks(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tmp_path: Path,
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, command: str,
) -> None:  # fmt: skip
    data = server.add("r.bin", 300_000)
    entered, release = threading.Event(), threading.Event()
    reserve = PartFile.reserve.__func__  # type: ignore[attr-defined]

    def slow_reserve(cls: type[PartFile], *args: Any) -> PartFile:
        entered.set()  # the first chunk is here and its .part is being reserved (in an executor thread)
        release.wait(10)
        return reserve(cls, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(PartFile, "reserve", classmethod(slow_reserve))
    folder = tmp_path / "downloads"

    async def scenario() -> None:
        engine = make_engine()
        await engine.start()
        try:
            download_id = engine.add(server.url("/throttle/r.bin?bps=400000"))
            await wait_until(entered.is_set, what="the .part to be reserved")
            getattr(engine, command)(download_id)
            release.set()
            await wait_until(lambda: download_id not in engine.active_ids(), what="the run to end")
            start = time.monotonic()  # whatever the first chunk still does must not undo the command
            await wait_until(lambda: time.monotonic() - start > 0.3, what="a moment")
            wanted = State.PAUSED if command == "pause" else State.CANCELLED
            assert engine.get(download_id).state is wanted
            assert recorder.latest[download_id].state is wanted
            row = conn.execute("SELECT state FROM downloads WHERE id = ?", (download_id,)).fetchone()
            assert row["state"] == wanted.value
            if command == "cancel":
                assert sorted(p.name for p in folder.iterdir()) == [], "a cancelled download leaves no .part"
                return
            engine.resume(download_id)
            await wait_until(lambda: finished(recorder, download_id), what="the resumed download")
            assert recorder.latest[download_id].state is State.COMPLETED
        finally:
            release.set()
            await engine.stop(2)

    aloop.run(scenario())
    if command == "pause":
        assert (folder / "r.bin").read_bytes() == data
