"""Fixtures for the download engine tests: a fault server on the test's loop and engines with fast timings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.downloads.engine import DownloadEngine
from core.downloads.model import DownloadProgress
from core.downloads.retry import RetryPolicy, Timeouts
from tests.conftest import LoopRunner
from tests.core.downloads.faultserver import FaultServer

FAST_RETRY = RetryPolicy(max_attempts=4, base=0.05, factor=2.0, max_delay=1.0, jitter=0.0)
FAST_TIMEOUTS = Timeouts(connect=2.0, first_byte=2.0, idle=0.5, low_speed_bytes=1024, low_speed_time=1.0)


class Recorder:
    """Collects snapshot batches as the engine sends them.

    Attributes:
        batches: every batch, in order.
        latest: the newest snapshot per download id.
    """

    def __init__(self) -> None:
        self.batches: list[list[DownloadProgress]] = []
        self.latest: dict[int, DownloadProgress] = {}

    def __call__(self, batch: list[DownloadProgress]) -> None:
        self.batches.append(batch)
        for snapshot in batch:
            self.latest[snapshot.id] = snapshot

    def state(self, download_id: int) -> str | None:
        snapshot = self.latest.get(download_id)
        return None if snapshot is None else snapshot.state.value


@pytest.fixture
def server(aloop: LoopRunner) -> Iterator[FaultServer]:
    fault_server = FaultServer()
    aloop.run(fault_server.start())
    yield fault_server
    aloop.run(fault_server.stop())


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_engine(conn: sqlite3.Connection, tmp_path: Path, recorder: Recorder) -> Any:
    def make(**kwargs: Any) -> DownloadEngine:
        options: dict[str, Any] = {
            "on_snapshots": recorder,
            "folder": tmp_path / "downloads",
            "timeouts": FAST_TIMEOUTS,
            "retry": FAST_RETRY,
            "tick": 0.05,
            "checkpoint_interval": 0.2,
        }
        options.update(kwargs)
        return DownloadEngine(options.pop("conn", conn), **options)

    return make
