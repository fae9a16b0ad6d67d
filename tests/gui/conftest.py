"""GUI fixtures: a qasync loop per test on pytest-qt's QApplication."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from gui.loop import new_loop
from tests.conftest import LoopRunner


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[LoopRunner]:
    """A qasync loop over the test QApplication; fails the test on errors from stray tasks."""
    loop = new_loop(qapp)
    runner = LoopRunner(loop)
    yield runner
    runner.close()
