"""The Chat tab with a real client and hub: hostile text shown literally, typing, unread counts and the tab title,
message states, Enter and Shift+Enter, links that open only on a click, older history on scrolling up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from core.chat.outbox import Outbox
from core.chat.transcript import Row
from core.chat.updates import LinkState
from gui.chat.message_delegate import state_words
from gui.chat.message_model import ROW_ROLE, STATE_ROLE
from tests.core.chat.conftest import hub_rows
from tests.gui.chat.conftest import PanelRig

MAGENTA = QColor(255, 0, 255)


def has_colour(image: QImage, colour: QColor) -> bool:
    wanted = colour.rgb()
    return any(image.pixel(x, y) == wanted for y in range(0, image.height(), 2) for x in range(0, image.width(), 2))


def test_hostile_text_is_shown_literally_and_loads_nothing(rig: PanelRig, qtbot: QtBot, tmp_path: Path) -> None:
    probe = tmp_path / "probe.png"
    picture = QImage(60, 60, QImage.Format.Format_RGB32)
    picture.fill(MAGENTA)
    assert picture.save(str(probe))
    hostile = f'<b>bold?</b> <img src="file://{probe}"> <script>alert(1)</script> e\u202evil\x1b[2J'
    # the probe is visible whenever markup is rendered: a rich-text label shows it
    rich = QLabel(hostile)
    rich.setTextFormat(Qt.TextFormat.RichText)
    qtbot.addWidget(rich)
    assert has_colour(rich.grab().toImage(), MAGENTA), "the probe would show if the markup were rendered"

    async def scenario() -> None:
        bob, _ = await rig.person("bob")
        bob.say("lobby", hostile)
        await rig.until(lambda: rig.texts() == [hostile], "bob's message in the tab")

    rig.run(scenario)
    row = rig.rows()[0]
    shown = f'<b>bold?</b> <img src="file://{probe}"> <script>alert(1)</script> e\ufffdvil\ufffd[2J'
    assert row.text == shown
    index = rig.panel.model.index(0, 0)
    assert index.data() == f"bob: {shown}"
    layout, _height = rig.panel.view.delegate.text_layout(row, rig.panel.view.viewport().width())
    assert layout.text() == shown, "drawn as these very characters"
    image = rig.panel.view.viewport().grab().toImage()
    assert not has_colour(image, MAGENTA), "the image was never loaded"
    for label in (rig.panel.typing_label, rig.panel.status_label, rig.panel.notice, rig.panel.room_label):
        assert label.textFormat() == Qt.TextFormat.PlainText


def test_the_typing_line_comes_and_goes(rig: PanelRig) -> None:
    async def scenario() -> None:
        bob, _ = await rig.person("bob")
        await rig.until(lambda: rig.panel.users.users == ["ada", "bob"], "both in the people list")
        assert rig.panel.people_label.text() == "People (2)"
        assert rig.panel.users.index(0, 0).data() == "ada (you)"
        bob.typing("lobby")
        await rig.until(lambda: rig.panel.typing_label.text() == "bob is typing…", "the typing line")
        bob.say("lobby", "done typing")
        await rig.until(lambda: rig.panel.typing_label.text() == "", "the line gone with bob's message")

    rig.run(scenario)


def test_unread_counts_in_the_rooms_and_the_tab_title(rig: PanelRig) -> None:
    panel = rig.panel

    async def scenario() -> None:
        bob, _ = await rig.person("bob", rooms=("lobby", "dev"))
        panel.room_field.setText("#dev")
        panel.join_room_from_field()
        assert panel.current == "dev"
        assert rig.prefs.rooms == ["lobby", "dev"], "joined rooms are remembered"
        await rig.until(lambda: rig.panel.users.users == ["ada", "bob"], "bob in dev")
        bob.say("lobby", "one")
        bob.say("lobby", "two")
        await rig.until(lambda: panel.rooms.unread("lobby") == 2, "two unread in lobby")
        assert rig.tabs.tabText(1) == "Chat (2)"
        assert panel.rooms.index(0, 0).data() == "#lobby (2)"
        # the tab behind another one: what arrives in the shown room counts too
        rig.tabs.setCurrentIndex(0)
        bob.say("dev", "three")
        await rig.until(lambda: panel.rooms.unread("dev") == 1, "unread in dev while the tab is hidden")
        assert rig.tabs.tabText(1) == "Chat (3)"
        rig.tabs.setCurrentIndex(1)
        assert panel.rooms.unread("dev") == 0, "coming back to the tab reads the shown room"
        assert rig.tabs.tabText(1) == "Chat (2)"
        panel.show_room("lobby")
        assert rig.tabs.tabText(1) == "Chat"
        ada_says = panel.client.say("lobby", "mine")
        await rig.until(lambda: "mine" in rig.texts(), "ada's own message")
        assert ada_says.cid
        assert rig.tabs.tabText(1) == "Chat", "our own messages are never unread"

    rig.run(scenario)


def test_messages_arriving_while_the_window_is_inactive_are_announced(rig: PanelRig) -> None:
    async def scenario() -> None:
        bob, _ = await rig.person("bob")
        await rig.until(lambda: rig.panel.users.users == ["ada", "bob"], "both in (so bob's messages are news)")
        rig.active = False
        bob.say("lobby", "ping")
        await rig.until(lambda: rig.statuses, "a status-bar message (no tray here)")
        assert rig.statuses == ["bob in #lobby: ping"]
        rig.has_tray = True
        bob.say("lobby", "pong")
        await rig.until(lambda: rig.tray.messages, "a tray message")
        assert rig.tray.messages == [("bob in #lobby", "pong")]
        rig.active = True
        bob.say("lobby", "seen")
        await rig.until(lambda: "seen" in rig.texts(), "the third message")
        assert len(rig.tray.messages) == 1, "nothing is announced while the window is in front"

    rig.run(scenario)


@pytest.mark.allow_logs(r"cannot store a message in lobby: disk I/O error")
def test_a_message_shows_sending_then_sent_and_failed_until_retried(
    rig: PanelRig, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    panel = rig.panel

    async def scenario() -> None:
        await rig.until(lambda: "offline, retrying in" in panel.status_label.text(), "offline (nobody hosts)")
        qtbot.keyClicks(panel.composer, "typed offline")
        qtbot.keyClick(panel.composer, Qt.Key.Key_Return)
        await rig.until(lambda: rig.rows() and rig.rows()[-1].state == "sending", "the pending row")
        assert panel.composer.toPlainText() == ""
        assert panel.model.index(0, 0).data(STATE_ROLE) == "sending"
        assert state_words(rig.rows()[0]) == "sending…"
        assert Outbox(rig.conn).count() == 1
        await rig.host()
        await rig.until(lambda: rig.rows()[-1].state == "sent", "sent once the hub is up", timeout=10)
        assert rig.rows()[-1].id == 1
        assert state_words(rig.rows()[-1]) == "sent"
        await rig.until(lambda: panel.status_label.text() == "hosting the room", "the status bar")

        hub = rig.hosting.hub
        assert hub is not None

        def broken(*_args: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(hub.context.service.history, "append", broken)
        panel.composer.setPlainText("will fail")
        panel.send()
        await rig.until(lambda: rig.rows()[-1].state == "failed", "the failed row")
        failed = rig.rows()[-1]
        assert "could not store your message" in failed.error
        assert state_words(failed).startswith("failed: the hub could not store your message")
        monkeypatch.undo()
        menu = panel.view.context_menu(panel.view.visualRect(panel.model.index(len(rig.rows()) - 1, 0)).center())
        assert menu is not None
        actions = {a.text(): a for a in menu.actions()}
        assert set(actions) == {"Copy text", "Retry sending", "Discard"}
        actions["Retry sending"].trigger()
        menu.close()
        await rig.until(lambda: rig.rows()[-1].state == "sent", "sent after the retry")
        assert [r[2] for r in hub_rows(rig.folder)] == ["typed offline", "will fail"]

    rig.run(scenario, host=False)
    assert "cannot store a message in lobby: disk I/O error" in caplog.text


def test_enter_sends_and_shift_enter_adds_a_line(rig: PanelRig, qtbot: QtBot) -> None:
    composer = rig.panel.composer

    async def scenario() -> None:
        await rig.until(lambda: rig.panel.client.status.state is LinkState.CONNECTED, "connected")
        qtbot.keyClicks(composer, "line one")
        qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        qtbot.keyClicks(composer, "line two")
        assert composer.toPlainText() == "line one\nline two"
        qtbot.keyClick(composer, Qt.Key.Key_Enter)  # the keypad's Enter sends too
        await rig.until(lambda: [r.state for r in rig.rows()] == ["sent"], "sent")
        assert rig.texts() == ["line one\nline two"]
        qtbot.keyClick(composer, Qt.Key.Key_Return)
        assert len(rig.rows()) == 1, "an empty box sends nothing"

    rig.run(scenario)


def test_links_open_only_when_clicked(rig: PanelRig, qtbot: QtBot) -> None:
    view = rig.panel.view
    text = "see https://example.org/page or file:///etc/passwd"

    async def scenario() -> None:
        bob, _ = await rig.person("bob")
        bob.say("lobby", text)
        await rig.until(lambda: rig.texts() == [text], "the message")

    rig.run(scenario)
    row = rig.rows()[0]
    assert [link.url for link in row.links] == ["https://example.org/page"]
    qtbot.waitExposed(view)
    view.viewport().grab()  # painted (and hovered below): nothing opens by itself
    rect = view.visualRect(rig.panel.model.index(0, 0))
    layout, _h = view.delegate.text_layout(row, rect.width())
    line = layout.lineAt(0)
    origin = view.delegate._text_origin(rect, row)

    def at_char(i: int) -> QPoint:
        return QPoint(origin.x() + int(line.cursorToX(i)[0]) + 2, origin.y() + int(line.height() / 2))

    qtbot.mouseMove(view.viewport(), at_char(text.index("https") + 3))
    assert rig.opener.opened == []
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at_char(text.index("file") + 3))
    assert rig.opener.opened == [], "file: is never a link"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at_char(text.index("https") + 3))
    assert rig.opener.opened == ["https://example.org/page"]


def test_scrolling_to_the_top_pages_in_older_history(rig: PanelRig) -> None:
    panel = rig.panel

    async def scenario() -> None:
        bob, bob_seen = await rig.person("bob", rate=10_000.0, burst=1_000)
        await rig.until(lambda: panel.client.status.state is LinkState.CONNECTED, "connected")
        await rig.until(lambda: "bob" in panel.users.users, "bob in")
        for i in range(1, 131):
            bob.say("lobby", f"message {i}")
        await rig.until(lambda: len(hub_rows(rig.folder)) == 130, "130 stored", timeout=10)
        await rig.until(lambda: len(rig.rows()) == 130, "all live at ada's")
        # a second tab that starts from scratch gets the newest page, then pages back as it scrolls up
        panel.transcripts["lobby"].drop_oldest(100)
        assert [r.id for r in rig.rows()][:1] == [101]
        bar = panel.view.verticalScrollBar()
        for expected_first in (51, 1):
            bar.setValue(bar.minimum())
            await rig.until(lambda e=expected_first: rig.rows()[0].id == e, f"paged back to {expected_first}")
        assert [r.id for r in rig.rows()] == list(range(1, 131))
        assert not panel.transcripts["lobby"].more_before
        assert bob_seen.state is LinkState.CONNECTED

    rig.run(scenario, timeout=30)


def test_row_role_carries_the_row(rig: PanelRig) -> None:
    async def scenario() -> None:
        rig.panel.client.say("lobby", "hello")
        await rig.until(lambda: rig.rows() and rig.rows()[0].state == "sent", "sent", timeout=10)

    rig.run(scenario)
    assert isinstance(rig.panel.model.index(0, 0).data(ROW_ROLE), Row)
    assert "message 1" in rig.panel.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
