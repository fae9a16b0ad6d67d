"""The real program in a real X server: launch, look, ask it to close; two instances; Ctrl+C."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.xvfb import Instance, kill_server, screenshot, xvfb
from tests.helpers import wait_until_sync

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
BAD_SIGNS = ("Traceback", "Task was destroyed", "Event loop stopped before Future completed", "ERROR", "CRITICAL")


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb() as value:
        yield value


@pytest.fixture
def env(display: str, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    return dict(clean, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "data"), QT_QPA_PLATFORM="xcb")


def assert_clean(instance: Instance) -> None:
    for sign in BAD_SIGNS:
        assert sign not in instance.output, instance.output


def test_window_comes_up_and_closes_cleanly(display: str, env: dict[str, str], tmp_path: Path) -> None:
    started = time.monotonic()
    app = Instance([], env, ROOT)
    try:
        wait_until_sync(lambda: app.line_with("window ready"), timeout=30, what="the window")
        launch_seconds = time.monotonic() - started
        shot = screenshot(display, tmp_path / "window.png")
        assert shot.stat().st_size > 10_000, "a blank screen compresses to almost nothing"
        print(f"launch to window: {launch_seconds:.2f} s; screenshot: {shot}")
        asked = time.monotonic()
        app.process.send_signal(signal.SIGTERM)
        assert app.finish(timeout=10) == 0
        print(f"SIGTERM to exit: {time.monotonic() - asked:.2f} s")
    finally:
        app.kill()
    assert app.line_with("window ready: Squall") is not None
    assert_clean(app)
    assert (tmp_path / "data" / "squall" / "profiles" / "default" / "logs" / "squall.log").exists()


def test_ctrl_c_quits_in_order(env: dict[str, str]) -> None:
    app = Instance([], env, ROOT)
    try:
        wait_until_sync(lambda: app.line_with("window ready"), timeout=30, what="the window")
        app.process.send_signal(signal.SIGINT)
        assert app.finish(timeout=10) == 0
    finally:
        app.kill()
    assert app.line_with("quitting") is not None
    assert_clean(app)


def test_second_instance_takes_the_next_profile(env: dict[str, str]) -> None:
    first = Instance([], env, ROOT)
    second = None
    try:
        wait_until_sync(lambda: first.line_with("window ready"), timeout=30, what="the first window")
        second = Instance([], env, ROOT)
        wait_until_sync(lambda: second.line_with("window ready"), timeout=30, what="the second window")
        assert first.line_with("window ready: Squall") == "INFO squall.app: window ready: Squall"
        assert second.line_with("profile default-2") is not None, second.output
        third = Instance(["--profile", "default"], env, ROOT)
        assert third.finish(timeout=30) == 3
        assert "profile 'default'" in third.output
        assert "in use by another Squall" in third.output
        for app in (first, second):
            app.process.send_signal(signal.SIGTERM)
            assert app.finish(timeout=10) == 0
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert_clean(first)
    assert second is not None
    assert_clean(second)


def test_a_lost_display_ends_the_app_with_one_clear_line(tmp_path: Path) -> None:
    # Its own X server (the module's is shared): killed under the running window, as when a session ends.
    with xvfb() as own_display:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
        env = dict(clean, DISPLAY=own_display, XDG_DATA_HOME=str(tmp_path / "data"), QT_QPA_PLATFORM="xcb")
        app = Instance([], env, ROOT)
        try:
            wait_until_sync(lambda: app.line_with("window ready"), timeout=30, what="the window")
            kill_server(own_display)
            assert app.finish(timeout=15) == 1
        finally:
            app.kill()
    # Whoever notices first ends the process at once with exit 1: Qt's xcb layer (then Squall's own line) or
    # Xlib's I/O error handler (its own "fatal IO error" line; it calls exit(1) itself).
    ours = app.line_with("the window's event loop ended under Squall (display connection lost?)")
    assert ours is not None or app.line_with("XIO:  fatal IO error") is not None, app.output
    assert "Traceback" not in app.output, app.output
    assert "CRITICAL" not in app.output, app.output
