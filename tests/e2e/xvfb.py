"""A real X server for end-to-end tests: Xvfb on a free display, and a screenshot taken by a separate client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

GRAB = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
shot = app.primaryScreen().grabWindow(0)
sys.exit(0 if shot.save(sys.argv[1]) else 1)
"""


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
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            pytest.fail("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


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
