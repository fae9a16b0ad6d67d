"""A Chat tab wired to a real client, real hosting (a real hub on a free port) and a real profile database, on the
test's qasync loop; other people are real core clients on the same loop."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QLabel, QSystemTrayIcon, QTabWidget
from pytestqt.qtbot import QtBot

from core import db
from core.chat.client import ChatClient
from core.chat.hosting import Hosting
from core.chat.preferences import ChatPreferences
from core.chat.transcript import Row
from core.chat.updates import Target
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings
from gui.chat.feed import ChatFeed
from gui.chat.notifier import ChatNotifier
from gui.chat.panel import ChatPanel
from tests.conftest import LoopRunner
from tests.core.chat.conftest import FAST, Seen
from tests.helpers import free_port, wait_until

T = TypeVar("T")


class FakeOpener:
    """Records the links the tab asked the desktop to open; opens nothing.

    Attributes:
        opened: URLs, in order.
    """

    def __init__(self) -> None:
        self.opened: list[str] = []

    def open_url(self, url: QUrl) -> bool:
        self.opened.append(url.toString())
        return True


class FakeTray:
    """Records tray messages instead of showing them.

    Attributes:
        messages: (title, body) of each.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None:
        self.messages.append((title, body))


class PanelRig:
    """One Chat tab under test (nick "ada"), in a tab widget beside another tab.

    Attributes:
        folder, port: this machine's hub folder and port.
        prefs, feed, hosting, client, panel: the parts under test.
        tabs: the QTabWidget holding an "Other" tab and the panel.
        opener, tray, statuses: where links, tray messages and status-bar messages went.
        active: what the panel and notifier believe about the window being in front.
        has_tray: whether the notifier believes there is a system tray.
        others: other people's clients started with person().
    """

    def __init__(self, tmp_path: Path, qloop: LoopRunner, conn: sqlite3.Connection) -> None:
        self.tmp = tmp_path
        self.qloop = qloop
        self.conn = conn
        self.folder = tmp_path / "hub"
        self.port = free_port()
        self.prefs = ChatPreferences(Settings(conn))
        self.prefs.set_nick("ada")
        self.feed = ChatFeed()
        self.hosting = self.make_hosting()
        self.client = ChatClient(
            conn,
            Target(self.address),
            "ada",
            on_update=self.feed.receive,
            rooms=self.prefs.rooms,
            hub_folder=self.folder,
            timing=FAST,
        )
        self.opener = FakeOpener()
        self.tray = FakeTray()
        self.statuses: list[str] = []
        self.active = True
        self.has_tray = False
        notifier = ChatNotifier(
            lambda: self.active, self.statuses.append, has_tray=lambda: self.has_tray, make_tray=lambda: self.tray
        )
        self.panel = ChatPanel(
            self.client,
            self.prefs,
            self.feed,
            local_address=self.address,
            hosting=self.hosting,
            notifier=notifier,
            opener=self.opener,
            window_active=lambda: self.active,
        )
        notifier.setParent(self.panel)
        self.tabs = QTabWidget()
        self.tabs.addTab(QLabel("another tab"), "Other")
        self.tabs.addTab(self.panel, "Chat")
        self.tabs.setCurrentWidget(self.panel)
        self.others: list[ChatClient] = []
        self._others_conns: list[sqlite3.Connection] = []
        self._running: list[Any] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def make_hosting(self, *, mine: bool = True) -> Hosting:
        """This tab's hosting (mine), or another instance's on the same hub folder and port."""
        on_state = self.feed.receive_hosting if mine else None
        return Hosting(self.folder, self.port, on_state=on_state, hub_options={"presence_interval": 0.01})

    async def host(self) -> None:
        if self.hosting not in self._running:
            await self.hosting.start()
            self._running.append(self.hosting)

    async def person(self, nick: str, rooms: tuple[str, ...] = ("lobby",), **timing: Any) -> tuple[ChatClient, Seen]:
        """Someone else on the hub: a real client with its own profile database."""
        conn = db.connect(self.tmp / f"{nick}.db")
        db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
        self._others_conns.append(conn)
        seen = Seen()
        client = ChatClient(conn, Target(self.address), nick, on_update=seen, rooms=rooms, hub_folder=self.folder,
                            timing=replace(FAST, **timing))  # fmt: skip
        await client.start()
        self.others.append(client)
        return client, seen

    def run(self, scenario: Callable[[], Coroutine[Any, Any, T]], *, host: bool = True, timeout: float = 20) -> T:
        """Run scenario with hosting (unless host=False) and the panel's client up; everything is stopped before
        it returns (pytest-qt processes events outside the loop later, and nothing may run then)."""

        async def whole() -> T:
            try:
                if host:
                    await self.host()
                await self.client.start()
                self._running.append(self.client)
                return await scenario()
            finally:
                await self.stop()

        return self.qloop.run(whole(), timeout)

    async def stop(self) -> None:
        for other in reversed(self.others):
            await other.stop(1.0)
        self.others.clear()
        for component in reversed(self._running):
            await component.stop(1.0)
        self._running.clear()

    def close(self) -> None:
        for conn in self._others_conns:
            conn.close()

    # --- reading the tab ----------------------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        t = self.panel.model.transcript
        return list(t.rows) if t is not None else []

    def texts(self) -> list[str]:
        return [r.raw for r in self.rows()]

    async def until(self, predicate: Callable[[], object], what: str, timeout: float = 5.0) -> None:
        await wait_until(predicate, timeout=timeout, what=what)


@pytest.fixture
def rig(qtbot: QtBot, qloop: LoopRunner, conn: sqlite3.Connection, tmp_path: Path) -> Iterator[PanelRig]:
    tab = PanelRig(tmp_path, qloop, conn)
    qtbot.addWidget(tab.tabs, before_close_func=lambda _w: qloop.run(tab.stop()))
    tab.tabs.resize(1000, 650)
    tab.tabs.show()
    yield tab
    tab.close()
