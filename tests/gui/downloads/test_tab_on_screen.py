"""The Downloads tab in a real X server, in the real window, mid-download: a screenshot is taken and kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.e2e.xvfb import screenshot, xvfb
from tests.helpers import wait_until_sync

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.e2e


def test_the_downloads_tab_on_screen_mid_download(tmp_path: Path) -> None:
    with xvfb("1280x800x24") as display:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_DATA_HOME=str(tmp_path / "xdg"))
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.gui.downloads.tab_demo", str(tmp_path / "profile")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        errors: list[str] = []
        readers = [
            threading.Thread(target=lambda: lines.extend(line.strip() for line in child.stdout or ())),
            threading.Thread(target=lambda: errors.extend(line.rstrip() for line in child.stderr or ())),
        ]
        for reader in readers:
            reader.start()
        try:
            wait_until_sync(lambda: "ready" in lines or child.poll() is not None, timeout=90, what="the demo")
            assert "ready" in lines, "\n".join(errors)
            shot = screenshot(display, tmp_path / "downloads-tab.png")
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=20) == 0, "\n".join(errors)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            for reader in readers:
                reader.join(timeout=10)
            for stream in (child.stdout, child.stderr):
                if stream is not None:
                    stream.close()
    print(f"screenshot: {shot}")
    keep = os.environ.get("SQUALL_KEEP_SCREENSHOT")
    if keep:  # for a human to look at: SQUALL_KEEP_SCREENSHOT=/tmp/downloads.png pytest ...
        Path(keep).write_bytes(shot.read_bytes())
    assert shot.stat().st_size > 30_000, "a window with a list, bars and a graph is far from blank"
    output = "\n".join(errors)
    for sign in ("Traceback", "Task was destroyed", "Event loop stopped before Future completed", "CRITICAL"):
        assert sign not in output, output
    assert (tmp_path / "profile" / "Downloads" / "release-notes.pdf").stat().st_size == 180_000
