"""The Tasks tab in a real X server, in the real window: it comes up with work to show and a screenshot is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.xvfb import demo_on_screen

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.e2e


def test_the_tasks_tab_on_screen(tmp_path: Path) -> None:
    # SQUALL_KEEP_SCREENSHOT=/tmp/tasks.png pytest ... keeps the screenshot for a human to look at
    shot, output = demo_on_screen("tests.gui.tasks.tab_demo", tmp_path / "profile", tmp_path / "tasks-tab.png", ROOT)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 30_000, "a window full of tables and a plot is far from blank"
    # download:6 fails on purpose (the finished list shows its traceback); nothing else may fail
    assert output.count("Traceback") == output.count("ConnectionResetError: the peer went away") == 1, output
    for sign in ("Task was destroyed", "Event loop stopped before Future completed", "CRITICAL"):
        assert sign not in output, output
