"""At --log-level debug, a value returned from an executor job (a passphrase read from the hub folder) must
not reach stderr or the log file: qasync's own debug lines print every job's result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import asyncio, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from core.logs import setup_logging
from gui.loop import new_loop

log_file = setup_logging(Path(sys.argv[1]), "debug", file_level="debug")
app = QApplication([])

async def main() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, lambda: "s3cret-pass" + "phrase")

with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
    print(runner.run(main()))
print(log_file)
"""


def test_debug_logging_does_not_print_what_executor_jobs_return(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "logs")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    returned, log_file = result.stdout.split()
    assert returned == "s3cret-passphrase"
    assert "DEBUG" in result.stderr, "debug logging was on"
    assert "s3cret-passphrase" not in result.stderr
    assert "s3cret-passphrase" not in Path(log_file).read_text(encoding="utf-8")
