"""The layering rule, proved: importing every module under core/ loads no Qt, no qasync and nothing from gui/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, pkgutil, sys
import core
names = ['core'] + [m.name for m in pkgutil.walk_packages(core.__path__, 'core.')]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'shiboken6', 'qasync', 'gui'})
print(len(names), 'modules')
if bad:
    print('core pulled in:', ', '.join(bad))
    sys.exit(1)
"""


def test_core_never_imports_qt_qasync_or_gui() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    count = int(result.stdout.split()[0])
    assert count >= 8, "the probe should have imported every core module"


def test_only_the_window_loop_imports_qasync() -> None:
    users = sorted(
        str(p.relative_to(ROOT))
        for p in ROOT.glob("*/**/*.py")
        if not p.is_relative_to(ROOT / "tests")
        and not p.is_relative_to(ROOT / ".venv")
        and ("import qasync" in (t := p.read_text(encoding="utf-8")) or "from qasync" in t)
    )
    assert users == ["gui/loop.py"]
