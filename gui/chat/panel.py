"""ChatPanel: the Chat tab. Rooms (with unread counts) on the left, the conversation and the message box in the
middle, the people in the room on the right, the hub settings above; the connection in the status bar.

It applies the client's ChatUpdates to one core Transcript per room (the shown one through MessageListModel),
counts what arrived while the user was not looking (tab title "Chat (3)", tray message when the window is
inactive), and forwards what the user does to the client, the preferences and hosting. Every signal is wired in
_connect_signals; dialogs open with open(), never exec().
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import defaultdict
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.chat.client import ChatClient
from core.chat.display import status_words, tab_title, typing_words
from core.chat.errors import ChatInputError, NickError
from core.chat.hosting import Hosting, HostingState
from core.chat.preferences import ChatPreferences, parse_address
from core.chat.transcript import Transcript
from core.chat.updates import ChatMessage, ChatUpdate, ClientStatus, LinkState
from gui.chat.composer import Composer
from gui.chat.feed import ChatFeed
from gui.chat.hub_bar import HubBar
from gui.chat.join_dialog import JoinHubDialog
from gui.chat.message_model import MessageListModel
from gui.chat.message_view import MessageView, Opener
from gui.chat.notifier import ChatNotifier
from gui.chat.side_models import ROOM_ROLE, RoomListModel, UserListModel
from gui.own_tab import set_own_tab_title, show_own_tab

log = logging.getLogger("squall.chat")
TITLE = "Chat"
MAX_ROWS = 500  # rows kept for the shown room while it follows new messages (older ones page back in)
HIDDEN_ROWS = 200  # rows kept for rooms not on screen


class ChatPanel(QWidget):
    """The Chat tab.

    Attributes:
        client: the chat client (started and stopped by AppCore, not by the panel).
        prefs: the chat settings.
        hosting: this machine's hub hosting, or None.
        local_address: HOST:PORT of this machine's hub.
        transcripts: room -> its rows.
        model, view: the shown room's conversation.
        rooms, users: the side lists.
        hub_bar, composer, typing_label, notice, status_label: the rest of the tab.
        notifier: tray (or status bar) messages for messages that arrive while the window is inactive.
        join_dialog: "Join a hub..." (also shown when a hub refused the passphrase).
    """

    def __init__(
        self,
        client: ChatClient,
        prefs: ChatPreferences,
        feed: ChatFeed,
        *,
        local_address: str,
        hosting: Hosting | None = None,
        notifier: ChatNotifier | None = None,
        opener: Opener | None = None,
        window_active: Callable[[], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """window_active: whether the user has the window in front (tests decide; by default Qt says)."""
        super().__init__(parent)
        self.setObjectName("chat_panel")
        self.client = client
        self.prefs = prefs
        self.feed = feed
        self.hosting = hosting
        self.local_address = local_address
        self.transcripts: dict[str, Transcript] = {}
        self.typing_now: dict[str, tuple[str, ...]] = {}
        self.presence: dict[str, tuple[str, ...]] = {}
        self.current = ""
        self._hosting_state: HostingState | None = hosting.state if hosting is not None else None
        self._status: ClientStatus = client.status
        self._status_text = ""
        self._title = TITLE
        self._asked_older: set[str] = set()
        self._watched_window: weakref.ref[QWidget] | None = None
        self._window_active = window_active or (lambda: self.window().isActiveWindow())
        self._build(opener)
        self.notifier = notifier or ChatNotifier(self._window_active, self.show_status, parent=self)
        self.join_dialog = JoinHubDialog(self)
        self._connect_signals()
        self.hub_bar.set_nick(client.nick)
        self._fill_hubs()
        self.hub_bar.set_hosting(self._hosting_state)
        self._set_rooms(list(client.rooms))
        self.timer = QTimer(self)
        self.timer.setInterval(1000)  # the "retrying in 4 s" countdown
        self.timer.timeout.connect(self._refresh_status)
        self.timer.start()
        self._refresh_status()

    # -- construction ------------------------------------------------------------------------------------------------

    def _build(self, opener: Opener | None) -> None:
        self.hub_bar = HubBar()
        self.rooms = RoomListModel(self)
        self.room_view = QListView()
        self.room_view.setObjectName("chat_rooms")
        self.room_view.setModel(self.rooms)
        self.room_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.room_field = QLineEdit()
        self.room_field.setObjectName("chat_room_field")
        self.room_field.setPlaceholderText("Join a room…")
        self.users = UserListModel(self)
        self.user_view = QListView()
        self.user_view.setObjectName("chat_users")
        self.user_view.setModel(self.users)
        self.people_label = QLabel("People")
        self.model = MessageListModel(self)
        self.view = MessageView(self.model, opener)
        self.room_label = QLabel()
        self.room_label.setTextFormat(Qt.TextFormat.PlainText)
        self.room_label.setObjectName("chat_room_title")
        font = self.room_label.font()
        font.setBold(True)
        self.room_label.setFont(font)
        self.typing_label = QLabel()
        self.typing_label.setObjectName("chat_typing")
        self.typing_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notice = QLabel()
        self.notice.setObjectName("chat_notice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.composer = Composer()
        self.send_button = QPushButton("Send")
        self.status_label = QLabel()
        self.status_label.setObjectName("chat_status")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        # Ctrl+K from anywhere in the window: the Chat tab, in the message box. The action hangs on the status
        # bar label because Qt ignores shortcuts of hidden widgets, and this panel is hidden behind other tabs.
        self.focus_composer = QAction("Go to the chat's message box", self)
        self.focus_composer.setShortcut(QKeySequence("Ctrl+K"))
        self.focus_composer.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.status_label.addAction(self.focus_composer)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Rooms"))
        left_layout.addWidget(self.room_view, 1)
        left_layout.addWidget(self.room_field)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.room_label)
        middle_layout.addWidget(self.view, 1)
        middle_layout.addWidget(self.typing_label)
        middle_layout.addWidget(self.notice)
        entry = QHBoxLayout()
        entry.addWidget(self.composer, 1)
        entry.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        middle_layout.addLayout(entry)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.people_label)
        right_layout.addWidget(self.user_view, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        for part, stretch in ((left, 0), (middle, 1), (right, 0)):
            split.addWidget(part)
            split.setStretchFactor(split.count() - 1, stretch)
        split.setSizes([170, 700, 170])
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hub_bar)
        layout.addWidget(split, 1)

    def _connect_signals(self) -> None:
        self.feed.updated.connect(self.apply)
        self.feed.hosting_changed.connect(self.apply_hosting)
        self.composer.send_requested.connect(self.send)
        self.composer.typing.connect(lambda: self.client.typing(self.current))
        self.send_button.clicked.connect(self.send)
        self.room_view.clicked.connect(lambda index: self.show_room(index.data(ROOM_ROLE)))
        self.room_view.customContextMenuRequested.connect(self._room_menu)
        self.room_field.returnPressed.connect(self.join_room_from_field)
        self.view.older_wanted.connect(self.load_older)
        self.view.retry_wanted.connect(self.client.retry)
        self.view.discard_wanted.connect(self.client.discard)
        self.hub_bar.hub_chosen.connect(self.choose_hub)
        self.hub_bar.join_clicked.connect(lambda: self.join_dialog.ask())
        self.hub_bar.nick_entered.connect(self.change_nick)
        self.hub_bar.share_toggled.connect(self.share_on_lan)
        self.join_dialog.join_requested.connect(self.join_hub)
        self.notifier.clicked.connect(self._bring_forward)
        self.focus_composer.triggered.connect(self.go_to_composer)

    @property
    def status_widgets(self) -> list[QWidget]:
        return [self.status_label]

    # -- what the client says ------------------------------------------------------------------------------------------

    def apply(self, update: ChatUpdate) -> None:
        """Show one batch of changes from the client."""
        for room in update.resets:  # another hub (or its history changed): what was shown and counted is gone
            if room in self.transcripts:
                self.transcripts[room].clear()
                self._asked_older.discard(room)
                self.rooms.mark_read(room)
        if update.resets:
            self._show_title()
        if update.rooms is not None:
            self._set_rooms(list(update.rooms))
        for page in update.pages:
            t = self.transcripts.get(page.room)
            if t is not None:
                self._asked_older.discard(page.room)
                t.add(page.messages, older=True, more=page.more)
        if update.messages:
            self._add_messages(update.messages)
        nick = self.client.nick
        for entry in update.pending:
            t = self.transcripts.get(entry.room)
            if t is not None:
                t.add_pending(entry, nick)
        for cid in update.gone:
            for t in self.transcripts.values():
                t.remove_pending(cid)
        for presence in update.presence:
            self.presence[presence.room] = presence.users
        for typing in update.typing:
            self.typing_now[typing.room] = typing.nicks
        if update.presence or update.typing:
            self._show_people()
        if update.status is not None:
            self._set_status(update.status)
        if update.notices:
            self.show_notice(update.notices[-1])
        self._trim()

    def _add_messages(self, messages: tuple[ChatMessage, ...]) -> None:
        by_room: dict[str, list[ChatMessage]] = defaultdict(list)
        for m in messages:
            by_room[m.room].append(m)
        looking = self._looking()
        for room, found in by_room.items():
            t = self.transcripts.get(room)
            if t is None:
                continue
            t.add(found)
            if room != self.current or not looking:
                others = sum(1 for m in found if not m.own)
                if others:
                    self.rooms.add_unread(room, others)
        self._show_title()
        others_messages = [m for m in messages if not m.own]
        if others_messages:
            self.notifier.announce(others_messages)

    def apply_hosting(self, state: HostingState) -> None:
        self._hosting_state = state
        self.hub_bar.set_hosting(state)
        self._refresh_status()

    def _set_status(self, status: ClientStatus) -> None:
        previous = self._status
        self._status = status
        if status.state is LinkState.REFUSED and previous.state is not LinkState.REFUSED:
            self.join_dialog.ask(status.address, status.problem)
        if status.nick != self.hub_bar.nick_edit.text() and not self.hub_bar.nick_edit.hasFocus():
            self.hub_bar.set_nick(status.nick)
        self._refresh_status()

    def _refresh_status(self) -> None:
        status = self._status
        state = self._hosting_state
        hosting = bool(state and state.hosting and status.local and _port(state.address) == _port(status.address))
        text = status_words(status, hosting, time.monotonic())
        if state is not None and state.hosting and state.lan and hosting and status.state is LinkState.CONNECTED:
            text += " (shared on the LAN)"
        if text != self._status_text:
            if text.split(", retrying in")[0] != self._status_text.split(", retrying in")[0]:
                log.info("chat status: %s", text)
            self._status_text = text
            self.status_label.setText(text)
            self.status_label.setToolTip(status.problem)

    def _trim(self) -> None:
        for room, t in self.transcripts.items():
            if room == self.current:
                if self.view.sticking and len(t) > MAX_ROWS:
                    t.drop_oldest(len(t) - MAX_ROWS)
            elif len(t) > HIDDEN_ROWS:
                t.drop_oldest(len(t) - HIDDEN_ROWS)

    # -- rooms -------------------------------------------------------------------------------------------------------

    def _set_rooms(self, rooms: list[str]) -> None:
        for room in rooms:
            self.transcripts.setdefault(room, Transcript(room))
        for room in [r for r in self.transcripts if r not in rooms]:
            del self.transcripts[room]
        self.rooms.set_rooms(rooms)
        if self.current not in rooms and rooms:
            self.show_room(rooms[0])

    def show_room(self, room: object) -> None:
        if not isinstance(room, str) or room not in self.transcripts:
            return
        if room != self.current:
            self.current = room
            self.model.show(self.transcripts[room])
            self.room_label.setText(f"#{room}")
            self.composer.set_room(room)
            row = self.rooms.row_of(room)
            if row is not None:
                self.room_view.setCurrentIndex(self.rooms.index(row, 0))
            self._show_people()
            self.view.scroll_to_newest()
        self._mark_read()

    def join_room_from_field(self) -> None:
        room = self.room_field.text().strip().lstrip("#")
        try:
            self.client.join_room(room)
        except ChatInputError as exc:
            self.show_notice(str(exc))
            return
        self.room_field.clear()
        self.prefs.set_rooms(list(self.client.rooms))
        self._set_rooms(list(self.client.rooms))
        self.show_room(room)
        self.hide_notice()

    def leave_room(self, room: str) -> None:
        try:
            self.client.leave_room(room)
        except ChatInputError as exc:
            self.show_notice(str(exc))
            return
        self.prefs.set_rooms(list(self.client.rooms))
        self._set_rooms(list(self.client.rooms))

    def _room_menu(self, pos: QPoint) -> None:
        index = self.room_view.indexAt(pos)
        room = index.data(ROOM_ROLE) if index.isValid() else None
        if isinstance(room, str):
            menu = QMenu(self)
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.addAction(f"Leave #{room}", lambda: self.leave_room(room))
            menu.popup(self.room_view.viewport().mapToGlobal(pos))

    def load_older(self) -> None:
        t = self.transcripts.get(self.current)
        if t is None or not t.more_before or self.current in self._asked_older:
            return
        self._asked_older.add(self.current)
        self.client.load_older(self.current, t.oldest_id)

    def _show_people(self) -> None:
        users = self.presence.get(self.current, ())
        self.users.set_users(users, self.client.nick)
        self.people_label.setText(f"People ({len(users)})" if users else "People")
        self.typing_label.setText(typing_words(self.typing_now.get(self.current, ())))

    # -- what the user does ------------------------------------------------------------------------------------------

    def send(self) -> None:
        text = self.composer.take_text().strip("\n")
        if not text.strip():
            return
        try:
            self.client.say(self.current, text)
        except ChatInputError as exc:
            self.show_notice(str(exc))
            return
        self.composer.clear_text()
        self.hide_notice()
        self.view.scroll_to_newest()

    def change_nick(self, nick: str) -> None:
        if nick == self.client.nick:
            return
        try:
            self.prefs.set_nick(nick)
            self.client.set_nick(nick)
        except NickError as exc:
            self.show_notice(str(exc))
            self.hub_bar.set_nick(self.client.nick)
            return
        self.hide_notice()
        self._show_people()

    def join_hub(self, address: str, passphrase: str) -> None:
        try:
            self.prefs.remember_hub(address, passphrase)
        except ChatInputError as exc:
            self.show_notice(str(exc))
            return
        self.client.set_target(self.prefs.target_for(address, passphrase))
        self._fill_hubs()

    def choose_hub(self, address: str) -> None:
        if address == self.client.target.address:
            self.client.reconnect_now()
            return
        self.prefs.use_hub(address)
        self.client.set_target(self.prefs.target_for(address))
        self._fill_hubs()

    def share_on_lan(self, on: bool) -> None:
        self.prefs.set_share_on_lan(on)
        if self.hosting is not None:
            self.hosting.share_on_lan(on)

    def _fill_hubs(self) -> None:
        joined = [h.address for h in self.prefs.joined_hubs()]
        self.hub_bar.set_hubs(self.local_address, joined, self.client.target.address)

    # -- unread, title, notices ----------------------------------------------------------------------------------------

    def _looking(self) -> bool:
        """The user can see the shown room: the tab is in front in the active window."""
        return self.isVisible() and self._window_active()

    def _mark_read(self) -> None:
        if self.current and self._looking():
            self.rooms.mark_read(self.current)
            self._show_title()

    def _show_title(self) -> None:
        title = tab_title(TITLE, self.rooms.total_unread)
        if title != self._title:
            self._title = title
            set_own_tab_title(self, title)

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def hide_notice(self) -> None:
        self.notice.hide()

    def show_status(self, text: str) -> None:
        """A passing message in the window's status bar (the notifier's fallback without a tray)."""
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 8000)

    def go_to_composer(self) -> None:
        show_own_tab(self)
        self.composer.setFocus()

    def _bring_forward(self) -> None:
        show_own_tab(self)
        window = self.window()
        window.raise_()
        window.activateWindow()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        window = self.window()
        if window is not self and (self._watched_window is None or self._watched_window() is not window):
            window.installEventFilter(self)  # coming back to the window marks the shown room read
            self._watched_window = weakref.ref(window)
        if not self.composer.hasFocus():
            self.composer.setFocus()
        self._mark_read()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        watching = self._watched_window() if self._watched_window is not None else None
        if event.type() == QEvent.Type.WindowActivate and watched is watching:
            self._mark_read()
        return super().eventFilter(watched, event)


def _port(address: str) -> int:
    try:
        return parse_address(address)[1]
    except ChatInputError:
        return -1
