"""A Downloads tab wired to a real engine, real SQLite and a real Tornado test server on the test's qasync loop."""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QModelIndex, QUrl
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from core.downloads import DownloadEngine, DownloadProgress
from core.downloads.preferences import DownloadPreferences
from core.settings import Settings
from gui.downloads.notifier import Notifier
from gui.downloads.panel import DownloadsPanel
from gui.downloads.table_model import DownloadTableModel
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import FAST_RETRY, FAST_TIMEOUTS
from tests.core.downloads.faultserver import FaultServer
from tests.helpers import wait_until

T = TypeVar("T")


class FakeOpener:
    """Records what the tab asked the desktop to open, and opens nothing.

    Attributes:
        opened: local paths asked for, in order.
        answer: what open_url returns (False: "no program for that").
    """

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.answer = True

    def open_url(self, url: QUrl) -> bool:
        self.opened.append(url.toLocalFile())
        return self.answer


class FakeTray:
    """Records tray messages instead of showing them.

    Attributes:
        messages: (title, body, icon) of each message.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, QSystemTrayIcon.MessageIcon]] = []

    def showMessage(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None:
        self.messages.append((title, body, icon))


class TabRig:
    """The parts of one Downloads tab under test.

    Attributes:
        qloop: the test's qasync loop.
        server: the fault-injecting test server (tests/core/downloads/faultserver.py), up during run().
        folder: where downloads go.
        settings, prefs: real settings in a real SQLite file.
        model, engine, panel: the parts under test.
        opener: the fake desktop opener.
        active: what the notifier believes about the window being in front.
        tray, statuses: where notifications went (a fake tray when has_tray, else status messages).
        has_tray: whether the notifier believes a system tray exists.
    """

    def __init__(
        self, conn: sqlite3.Connection, tmp_path: Path, qloop: LoopRunner, engine_options: dict[str, Any]
    ) -> None:
        self.qloop = qloop
        self.server = FaultServer()
        self.conn = conn
        self.folder = tmp_path / "downloads"
        self.settings = Settings(conn)
        self.prefs = DownloadPreferences(self.settings)
        self.prefs.set_folder(self.folder)
        self.model = DownloadTableModel()
        self.engine = self.make_engine(**engine_options)
        self.prefs.attach(self.engine)
        self.opener = FakeOpener()
        self.active = False
        self.has_tray = False
        self.tray = FakeTray()
        self.statuses: list[str] = []
        notifier = Notifier(
            lambda: self.active, self.statuses.append, has_tray=lambda: self.has_tray, make_tray=lambda: self.tray
        )
        self.panel = DownloadsPanel(self.engine, self.model, self.prefs, opener=self.opener, notifier=notifier)
        notifier.setParent(self.panel)
        self.started = False

    def make_engine(self, **changes: Any) -> DownloadEngine:
        options: dict[str, Any] = {
            "on_snapshots": self.model.receive,
            "on_removed": self.model.forget,
            "timeouts": FAST_TIMEOUTS,
            "retry": FAST_RETRY,
            "tick": 0.05,
            "checkpoint_interval": 0.2,
            **self.prefs.engine_options(),
        }
        options.update(changes)
        return DownloadEngine(self.conn, **options)

    def run(self, scenario: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        """Run scenario with the test server and the engine up, and both stopped before it returns.

        Nothing of theirs may run between scenarios: pytest-qt processes Qt events outside the loop (at
        teardown, for one), and qasync would then step their tasks with no running loop.
        """

        async def whole() -> T:
            await self.server.start()
            try:
                await self.engine.start()
                self.started = True
                try:
                    return await scenario
                finally:
                    await self.stop()
            finally:
                await self.server.stop()

        return self.qloop.run(whole(), timeout)

    async def stop(self) -> None:
        if self.started:
            self.started = False
            await self.engine.stop(2)

    def row(self, download_id: int) -> DownloadProgress:
        """The snapshot the tab shows for a download (what the user sees), or fail."""
        p = self.model.by_id(download_id)
        assert p is not None, f"download {download_id} is not in the list"
        return p

    def shown(self, download_id: int) -> DownloadProgress | None:
        return self.model.by_id(download_id)

    def tally_speed(self) -> float:
        """The total speed the tab shows in its status bar."""
        return self.panel.tally.totals().speed

    def proxy_index(self, download_id: int) -> QModelIndex:
        """The view's index of a download's first cell."""
        row = self.model.row_of(download_id)
        assert row is not None, f"download {download_id} is not in the list"
        return self.panel.proxy.mapFromSource(self.model.index(row, 0))

    async def until_state(self, download_id: int, state: str, timeout: float = 10) -> DownloadProgress:
        await wait_until(
            lambda: (p := self.shown(download_id)) is not None and p.state.value == state,
            timeout=timeout,
            what=f"download {download_id} to show {state} (now {self.shown(download_id)})",
        )
        return self.row(download_id)


@pytest.fixture
def engine_options() -> dict[str, Any]:
    """Engine arguments beyond the rig's fast defaults; a test overrides it with parametrize("engine_options")."""
    return {}


@pytest.fixture
def rig(
    qtbot: QtBot, qloop: LoopRunner, conn: sqlite3.Connection, tmp_path: Path, engine_options: dict[str, Any]
) -> Iterator[TabRig]:
    tab = TabRig(conn, tmp_path, qloop, engine_options)
    # pytest-qt closes registered widgets before fixtures are torn down; a scenario that failed half-way still
    # stopped the engine (TabRig.run), this is the last guard.
    qtbot.addWidget(tab.panel, before_close_func=lambda _w: qloop.run(tab.stop()))
    tab.panel.resize(1100, 700)
    tab.panel.show()
    return tab
