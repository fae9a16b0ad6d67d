"""Segmented downloads: ranges into one preallocated file, resumed one by one, restarted if the file changes."""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.downloads.attempt import Run
from core.downloads.model import State
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import download, finished
from tests.helpers import wait_until

MIB = 1024 * 1024


def segmented(make_engine: Any) -> Any:
    def make(**kw: Any) -> Any:
        return make_engine(concurrency=4, per_host=4, segment_threshold=4 * MIB, max_segments=4, **kw)

    return make


def test_a_large_file_is_fetched_in_ranges_into_one_file(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("big.bin", 16 * MIB + 5)
    snapshot = aloop.run(download(segmented(make_engine), recorder, server.url("/f/big.bin")))
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert snapshot.sha256_actual == hashlib.sha256(data).hexdigest()
    assert Path(snapshot.path).read_bytes() == data
    ranges = sorted(r or "" for _, r, _ in server.state.requests)
    size = -(-(16 * MIB + 5) // 4)
    assert ranges == sorted(
        ["bytes=0-"] + [f"bytes={i * size}-{min(16 * MIB + 5, (i + 1) * size) - 1}" for i in (1, 2, 3)]
    )
    assert all(if_range == server.state.etag("big.bin") for _, r, if_range in server.state.requests if r != "bytes=0-")
    assert len(snapshot.segments) == 4
    assert all(s.received == s.end - s.start for s in snapshot.segments)


def test_a_large_file_is_cut_into_more_pieces_than_connections_and_filled_front_to_back(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More pieces than connections, so the hasher (which can only follow the contiguous prefix) keeps up.
    fetching = [0, 0]  # ranged requests in flight now, most at once
    real_fetch = Run._fetch_segment

    async def counted_fetch(run: Run, segment: Any) -> None:
        fetching[0] += 1
        fetching[1] = max(fetching)
        try:
            await real_fetch(run, segment)
        finally:
            fetching[0] -= 1

    monkeypatch.setattr(Run, "_fetch_segment", counted_fetch)
    data = server.add("pieces.bin", 32 * MIB)
    engine = functools.partial(make_engine, concurrency=8, per_host=8, segment_threshold=4 * MIB, max_segments=3)
    snapshot = aloop.run(download(engine, recorder, server.url("/throttle/pieces.bin?bps=40000000")))
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert Path(snapshot.path).read_bytes() == data
    assert [(s.start, s.end) for s in snapshot.segments] == [(i * 4 * MIB, (i + 1) * 4 * MIB) for i in range(8)]
    starts = [int(r.removeprefix("bytes=").split("-")[0]) for _, r, _ in server.state.requests if r != "bytes=0-"]
    assert starts == [i * 4 * MIB for i in range(1, 8)], "each piece asked for once, in file order"
    assert 2 <= fetching[1] <= 3, "pieces in parallel, max_segments connections at most"


def test_segments_resume_independently_after_a_restart(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, conn: sqlite3.Connection
) -> None:
    data = server.add("seg.bin", 16 * MIB)  # four segments of 4 MiB (the smallest segment)
    url = server.url("/throttle/seg.bin?bps=2000000")

    async def scenario() -> int:
        first = segmented(make_engine)()
        await first.start()
        download_id = first.add(url)
        try:
            await wait_until(
                lambda: (
                    conn.execute(
                        "SELECT count(*) FROM download_segments WHERE download_id = ? AND received > 0", (download_id,)
                    ).fetchone()[0]
                    == 4
                ),
                timeout=8,
                what="every segment to checkpoint",
            )
        finally:
            await first.stop(2)
        before = len(server.state.requests)
        second = segmented(make_engine)()
        await second.start()
        try:
            await wait_until(lambda: finished(recorder, download_id), timeout=15, what="the resumed download")
        finally:
            await second.stop(2)
        resumed = server.state.requests[before:]
        segment_size = 4 * MIB
        starts = sorted(int(r.removeprefix("bytes=").split("-")[0]) for _, r, _ in resumed if r)
        assert len(starts) == 4
        assert all(start % segment_size > 0 for start in starts), f"each range continues mid-segment: {starts}"
        return download_id

    download_id = aloop.run(scenario(), timeout=30)
    snapshot = recorder.latest[download_id]
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert Path(snapshot.path).read_bytes() == data


def test_a_file_that_changes_during_a_segmented_download_is_fetched_again_whole(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    server.add("co.bin", 8 * MIB)
    snapshot = aloop.run(download(segmented(make_engine), recorder, server.url("/changeonce/co.bin")))
    newest = server.state.files["co.bin"]
    assert server.state.versions["co.bin"] == 1
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert snapshot.sha256_actual == hashlib.sha256(newest).hexdigest()
    assert Path(snapshot.path).read_bytes() == newest
