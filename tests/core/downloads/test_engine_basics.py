"""The engine against a well-behaved server: completes, names, checksums, history in SQLite."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from core.downloads.model import State
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.helpers import wait_until


def done(recorder: Recorder, download_id: int) -> bool:
    return recorder.state(download_id) in ("completed", "failed", "cancelled")


def test_downloads_a_file_with_its_sha256(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tmp_path: Path
) -> None:
    data = server.add("a.bin", 300_000)

    async def scenario() -> int:
        engine = make_engine()
        await engine.start()
        try:
            download_id = engine.add(server.url("/f/a.bin"))
            await wait_until(lambda: done(recorder, download_id), what="the download")
        finally:
            await engine.stop(2)
        return download_id

    snapshot = recorder.latest[aloop.run(scenario())]
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert snapshot.sha256_actual == hashlib.sha256(data).hexdigest()
    assert snapshot.received == snapshot.total == len(data)
    assert Path(snapshot.path).read_bytes() == data
    assert snapshot.name == "a.bin"
    assert not list((tmp_path / "downloads").glob("*.part"))
