"""Qt's own messages reach Python logging under squall.qt (checked in a child: pytest-qt owns the handler here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import logging, sys
from PySide6.QtCore import qWarning, qCritical
from gui import qt_logging
logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
qt_logging.install()
qWarning("a warning from Qt")
qCritical("a critical from Qt")
"""


def test_qt_messages_are_logged_under_squall_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "WARNING squall.qt: a warning from Qt",
        "ERROR squall.qt: a critical from Qt",
    ]
