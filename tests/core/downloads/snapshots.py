"""Hand-made DownloadProgress snapshots for tests of what shows them (formatting, totals, Qt models)."""

from __future__ import annotations

import time
from typing import Any

from core.downloads.model import DownloadProgress, State


def progress(download_id: int = 1, **changes: Any) -> DownloadProgress:
    """A snapshot with plausible defaults: a queued 1000-byte file from example.org, nothing received yet."""
    url = changes.pop("url", f"http://example.org/file{download_id}.bin")
    values: dict[str, Any] = {
        "id": download_id,
        "url": url,
        "host": "example.org",
        "folder": "/tmp/downloads",
        "name": "",
        "path": "",
        "received": 0,
        "total": None,
        "state": State.QUEUED,
        "speed": 0.0,
        "eta": None,
        "error": "",
        "next_try_at": None,
        "attempts": 0,
        "sha256_expected": None,
        "sha256_actual": None,
        "rate_limit": 0,
        "segments": (),
        "added_at": time.time(),
        "finished_at": None,
    }
    values.update(changes)
    if values["name"] and not values["path"]:
        values["path"] = f"{values['folder']}/{values['name']}"
    return DownloadProgress(**values)
