"""A real X server for end-to-end tests: Xvfb on a free display, and a screenshot taken by a separate client."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import wait_until_sync

GRAB = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
shot = app.primaryScreen().grabWindow(0)
sys.exit(0 if shot.save(sys.argv[1]) else 1)
"""


SERVERS: dict[str, subprocess.Popen[bytes]] = {}  # display -> its Xvfb, while xvfb() runs it


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """Start Xvfb on a free display number; yields the DISPLAY value."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: run ./dev.sh test (it installs xvfb) or apt-get install xvfb xauth")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    number = ""
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            pytest.fail("Xvfb did not start")
        SERVERS[f":{number}"] = server
        yield f":{number}"
    finally:
        SERVERS.pop(f":{number}", None)
        server.terminate()
        server.wait(timeout=10)


def kill_server(display: str) -> None:
    """kill -9 the Xvfb behind display (what a client sees when an X session ends under it)."""
    server = SERVERS[display]
    server.kill()
    server.wait(timeout=10)
    for leftover in (Path(f"/tmp/.X11-unix/X{display[1:]}"), Path(f"/tmp/.X{display[1:]}-lock")):
        leftover.unlink(missing_ok=True)  # a killed server leaves its socket (and lock) behind


def screenshot(display: str, path: Path) -> Path:
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    subprocess.run([sys.executable, "-c", GRAB, str(path)], env=env, check=True, timeout=60)
    return path


class Instance:
    """A running `python main.py` whose stderr is collected line by line.

    Attributes:
        process: the child process.
        lines: stderr lines read so far.
    """

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(cwd / "main.py"), "--log-level", "info", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def line_with(self, text: str) -> str | None:
        return next((line for line in self.lines if text in line), None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def finish(self, timeout: float = 10) -> int:
        code = self.process.wait(timeout=timeout)
        self._close()
        return code

    def _close(self) -> None:
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def kill(self) -> None:
        """Make sure the child is gone (test clean-up); a no-op after finish()."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()


def demo_on_screen(module: str, profile: Path, shot_path: Path, cwd: Path) -> tuple[Path, str]:
    """Run a tab demo (`python -m module PROFILE`) in its own Xvfb until it prints "ready", take a screenshot,
    stop it with SIGTERM and expect exit 0. Returns (the screenshot, the demo's stderr). With
    SQUALL_KEEP_SCREENSHOT=FILE the screenshot is also copied there, for a human to look at."""
    with xvfb("1280x800x24") as display:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_DATA_HOME=str(profile.parent / "xdg"))
        child = subprocess.Popen(
            [sys.executable, "-m", module, str(profile)],
            cwd=cwd,
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
            shot = screenshot(display, shot_path)
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
    keep = os.environ.get("SQUALL_KEEP_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(shot.read_bytes())
    return shot, "\n".join(errors)
