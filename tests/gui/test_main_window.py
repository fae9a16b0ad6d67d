from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from core.app import AppCore
from core.profile import open_profile
from gui.features import build_features
from gui.main_window import MainWindow, window_title
from gui.runtime import run_window
from tests.conftest import LoopRunner
from tests.helpers import wait_until


@pytest.fixture
def core(tmp_path: Path) -> AppCore:
    app_core = AppCore(open_profile(data_dir=tmp_path / "profile"))
    yield app_core
    app_core.profile.release()


def test_three_tabs_each_show_a_panel_or_say_what_they_will_show(qtbot: QtBot, core: AppCore) -> None:
    window = MainWindow(core.settings, "default", False, build_features(core))
    qtbot.addWidget(window)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Downloads", "Chat", "Tasks"]
    for i in range(window.tabs.count()):
        panel = window.tabs.widget(i)
        if isinstance(panel, QLabel):  # a feature that has not landed yet says what it will show
            assert "will appear here" in panel.text()
        else:
            assert panel.layout() is not None, f"tab {i} should be a real panel"
    assert window.windowTitle() == "Squall"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


def test_title_names_a_non_default_profile() -> None:
    assert window_title("default-2", auto=True) == "Squall — profile default-2 (default profile was in use)"
    assert window_title("work", auto=False) == "Squall — profile work"


def test_close_button_asks_to_quit_instead_of_closing(qtbot: QtBot, core: AppCore) -> None:
    window = MainWindow(core.settings, "default", False, build_features(core))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.quit_requested, timeout=1000):
        window.close()
    assert window.isVisible(), "the window must stay until the runtime has stopped everything"
    window.allow_close()
    window.close()
    assert not window.isVisible()


def test_about_opens_without_blocking(qtbot: QtBot, core: AppCore) -> None:
    window = MainWindow(core.settings, "default", False, build_features(core))
    qtbot.addWidget(window)
    window.show()
    box = window.show_about()  # returns at once: open(), not exec()
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert "Squall 0.1.0" in box.text()
    box.close()


def _main_window() -> MainWindow | None:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    return found[0] if found else None


def test_closing_the_window_stops_in_order(qapp: QApplication, qloop: LoopRunner, core: AppCore) -> None:
    async def scenario() -> int:
        running = asyncio.ensure_future(run_window(qapp, core))
        await wait_until(_main_window, what="the main window")
        window = _main_window()
        assert window is not None
        window.resize(800, 500)
        window.close()
        return await running

    assert qloop.run(scenario()) == 0
    assert _main_window() is None
    # geometry was saved on the way out (database closed by AppCore.stop; reopen to check)
    reopened = AppCore(core.profile)
    assert reopened.settings.get("window.geometry")
    reopened.conn.close()


def test_sigterm_stops_in_order(qapp: QApplication, qloop: LoopRunner, core: AppCore) -> None:
    async def scenario() -> int:
        running = asyncio.ensure_future(run_window(qapp, core))
        await wait_until(_main_window, what="the main window")
        os.kill(os.getpid(), signal.SIGTERM)
        return await running

    assert qloop.run(scenario()) == 0
    assert _main_window() is None
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
