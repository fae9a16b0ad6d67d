"""Regression: PySide6 6.12.0 on CPython 3.11 leaks a reference to None per void call and aborts near 5,000 calls.

The lock pins 6.11.3 on 3.11; this test makes 10,000 void calls in a child process and wants a clean exit.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
from PySide6.QtWidgets import QApplication, QProgressBar
app = QApplication([])
bar = QProgressBar()
bar.setRange(0, 100)
for i in range(10_000):
    bar.setValue(i % 100)
print("done", bar.value())
"""


def test_ten_thousand_void_qt_calls_exit_cleanly() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "done 99"
    assert "none_dealloc" not in result.stderr
