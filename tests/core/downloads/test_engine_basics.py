"""The engine against a well-behaved server: completes, names, checksums, history in SQLite."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from core.downloads.model import State
from core.downloads.partfile import PartFile
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import finished
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


def test_checkpoints_due_while_files_are_finished_touch_no_closed_file(
    aloop: LoopRunner,
    server: FaultServer,
    make_engine: Any,
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A checkpoint falls due on nearly every tick, and a slow disk (each file's final sync and rename takes 300 ms
    # more) keeps the 4 file threads busy, so a checkpoint's sync waits in their queue behind the end of its own
    # file (sync, rename, close). It must not run on the closed file: that shows as a checkpoint task failing
    # on a closed fd, an ERROR log, which fails the test.
    real_finish = PartFile.finish

    def slow_finish(part: PartFile, *args: Any) -> str:
        time.sleep(0.3)  # the slow disk, not a synchronisation
        return real_finish(part, *args)

    monkeypatch.setattr(PartFile, "finish", slow_finish)
    files = {f"c{i}.bin": server.add(f"c{i}.bin", 3_000_000 + i) for i in range(16)}

    async def run() -> None:
        engine = make_engine(checkpoint_interval=0.1, tick=0.005, concurrency=16, per_host=16)
        await engine.start()
        try:
            ids = [engine.add(server.url(f"/f/{name}")) for name in files]
            await wait_until(lambda: all(finished(recorder, i) for i in ids), timeout=30, what="16 downloads")
        finally:
            await engine.stop(2)

    aloop.run(run())
    for name, data in files.items():
        assert (tmp_path / "downloads" / name).read_bytes() == data
