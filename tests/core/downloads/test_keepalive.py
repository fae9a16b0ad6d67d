"""Connection reuse (core/downloads/wire.py): keep-alive connections carry many downloads, a connection the server
closed while idle is replaced without a retry or an error, and a stopped engine leaves no connection open."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from core.downloads.model import State
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import finished
from tests.helpers import wait_until


def _run_all(
    aloop: LoopRunner, make_engine: Any, recorder: Recorder, urls: list[str], **options: Any
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        engine = make_engine(**options)
        await engine.start()
        try:
            ids = engine.add_many([(url, None) for url in urls])
            await wait_until(lambda: all(finished(recorder, i) for i in ids), timeout=20, what="every download")
            seen["ids"] = ids
            pool = engine._services.client  # white box: how many connections the engine opened
            seen["opened"], seen["reused"] = pool.opened, pool.reused
        finally:
            await engine.stop(2)
        seen["open_after_stop"] = [s for s in pool.live if not s.closed()] + [
            s for idle in pool._idle.values() for s in idle if not s.closed()
        ]

    aloop.run(scenario(), timeout=30)
    return seen


def test_many_small_files_share_a_few_keep_alive_connections(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = {f"small{i}.bin": server.add(f"small{i}.bin", 3000 + i) for i in range(40)}
    urls = [server.url(f"/ka/{name}") for name in data]
    seen = _run_all(aloop, make_engine, recorder, urls, concurrency=2, per_host=2)
    for download_id, name in zip(seen["ids"], data, strict=True):
        snapshot = recorder.latest[download_id]
        assert snapshot.state is State.COMPLETED, snapshot.error
        assert Path(snapshot.path).read_bytes() == data[name]
        assert snapshot.sha256_actual == hashlib.sha256(data[name]).hexdigest()
    assert seen["opened"] <= 2 * 2, "at most a couple of connections per slot, not one per file"
    assert seen["reused"] >= 40 - seen["opened"]
    assert len(server.state.connections) == seen["opened"]
    assert seen["open_after_stop"] == []


def test_a_connection_the_server_closed_while_idle_is_replaced_quietly(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    # /kaclose/ answers as if the connection stayed open, but closes it when the next request arrives: the next
    # download takes that connection from the pool, sees it closed before any answer, and must ask on a new one.
    data = {name: server.add(name, 5000) for name in ("one.bin", "two.bin", "three.bin")}
    urls = [server.url(f"/kaclose/{name}") for name in data]
    seen = _run_all(aloop, make_engine, recorder, urls, concurrency=1, per_host=1)
    for download_id, name in zip(seen["ids"], data, strict=True):
        snapshot = recorder.latest[download_id]
        assert snapshot.state is State.COMPLETED
        assert snapshot.attempts == 1, "a stale connection is not a failed attempt"
        assert Path(snapshot.path).read_bytes() == data[name]
    assert sorted({s.error for batch in recorder.batches for s in batch if s.error}) == []
    assert [server.state.hits[f"/kaclose/{name}"] for name in data] == [1, 1, 1]
    assert server.state.dropped == 2, "downloads two and three each tried the previous connection first"
    assert (seen["opened"], seen["reused"]) == (3, 2)
    assert seen["open_after_stop"] == []
