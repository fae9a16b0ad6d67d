"""GUI fixtures: a qasync loop per test on pytest-qt's QApplication."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.conftest import LoopRunner


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[LoopRunner]:
    """A qasync loop over the test QApplication; fails the test on errors from stray tasks."""
    loop = qasync.QEventLoop(qapp)
    runner = LoopRunner(loop)
    yield runner
    runner.close()
