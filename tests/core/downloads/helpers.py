"""Run one engine scenario to its end and hand back the snapshots (file checks happen outside the loop)."""

from __future__ import annotations

from typing import Any

from core.downloads.model import FINISHED, DownloadProgress
from tests.core.downloads.conftest import Recorder
from tests.helpers import wait_until


def finished(recorder: Recorder, download_id: int) -> bool:
    snapshot = recorder.latest.get(download_id)
    return snapshot is not None and snapshot.state in FINISHED


async def download(make_engine: Any, recorder: Recorder, url: str, timeout: float = 10, **add: Any) -> DownloadProgress:
    """Start an engine, download url to its end (completed, failed or cancelled), stop it; the last snapshot."""
    engine = make_engine()
    await engine.start()
    try:
        download_id = engine.add(url, **add)
        await wait_until(lambda: finished(recorder, download_id), timeout=timeout, what=f"{url} to finish")
    finally:
        await engine.stop(2)
    return recorder.latest[download_id]
