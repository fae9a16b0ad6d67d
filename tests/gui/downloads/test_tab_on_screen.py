"""The Downloads tab in a real X server, in the real window, mid-download: a screenshot is taken and kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.xvfb import demo_on_screen

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.e2e


def test_the_downloads_tab_on_screen_mid_download(tmp_path: Path) -> None:
    # SQUALL_KEEP_SCREENSHOT=/tmp/downloads.png pytest ... keeps the screenshot for a human to look at
    profile = tmp_path / "profile"
    shot, output = demo_on_screen("tests.gui.downloads.tab_demo", profile, tmp_path / "downloads-tab.png", ROOT)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 30_000, "a window with a list, bars and a graph is far from blank"
    for sign in ("Traceback", "Task was destroyed", "Event loop stopped before Future completed", "CRITICAL"):
        assert sign not in output, output
    assert (profile / "Downloads" / "release-notes.pdf").stat().st_size == 180_000
