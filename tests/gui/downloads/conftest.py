"""A Downloads tab wired to a real engine, real SQLite and a real Tornado test server on the test's qasync loop."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from core import db
from core.downloads import DownloadEngine, DownloadProgress
from core.downloads.preferences import DownloadPreferences
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings
from gui.downloads.notifier import Notifier
from gui.downloads.panel import DownloadsPanel
from gui.downloads.table_model import DownloadTableModel
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import FAST_RETRY, FAST_TIMEOUTS
from tests.core.downloads.faultserver import FaultServer
from tests.helpers import wait_until


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
        server: the fault-injecting test server (tests/core/downloads/faultserver.py).
        folder: where downloads go.
        settings, prefs: real settings in a real SQLite file.
        model, engine, panel: the parts under test.
        opener: the fake desktop opener.
        active: what the notifier believes about the window being in front.
        tray, statuses: where notifications went (a fake tray when has_tray, else status messages).
        has_tray: whether the notifier believes a system tray exists.
    """

    def __init__(self, conn: sqlite3.Connection, tmp_path: Path, server: FaultServer) -> None:
        self.server = server
        self.conn = conn
        self.folder = tmp_path / "downloads"
        self.settings = Settings(conn)
        self.prefs = DownloadPreferences(self.settings)
        self.prefs.set_folder(self.folder)
        self.model = DownloadTableModel()
        self.engine = self.make_engine()
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

    async def start(self) -> None:
        await self.engine.start()
        self.started = True

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

    async def until_state(self, download_id: int, state: str, timeout: float = 10) -> DownloadProgress:
        await wait_until(
            lambda: (p := self.shown(download_id)) is not None and p.state.value == state,
            timeout=timeout,
            what=f"download {download_id} to show {state} (now {self.shown(download_id)})",
        )
        return self.row(download_id)


@pytest.fixture
def server(qloop: LoopRunner) -> Iterator[FaultServer]:
    fault_server = FaultServer()
    qloop.run(fault_server.start())
    yield fault_server
    qloop.run(fault_server.stop())


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = db.connect(tmp_path / "squall.db")
    db.migrate(connection, PROFILE_MIGRATIONS, what="profile")
    yield connection
    connection.close()


@pytest.fixture
def rig(
    qtbot: QtBot, qloop: LoopRunner, conn: sqlite3.Connection, tmp_path: Path, server: FaultServer
) -> Iterator[TabRig]:
    tab = TabRig(conn, tmp_path, server)
    # pytest-qt closes registered widgets before fixtures are torn down: stop the engine first, while the
    # model it reports to is still alive.
    qtbot.addWidget(tab.panel, before_close_func=lambda _w: qloop.run(tab.stop()))
    tab.panel.resize(1100, 700)
    tab.panel.show()
    qloop.run(tab.start())
    yield tab
    qloop.run(tab.stop())
