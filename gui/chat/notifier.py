"""ChatNotifier: tells the user about messages that arrived while the window was not in front.

A tray message (QSystemTrayIcon.showMessage) where the desktop has a system tray; otherwise, quietly, a passing
status-bar line (Xvfb and the offscreen platform have no tray, and making a tray icon there makes Qt warn).
Text is shown as plain text, one line, cut short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from core.chat.display import safe_line
from core.chat.updates import ChatMessage

MESSAGE_MS = 6000
BODY_CHARS = 160


class Tray(Protocol):
    """What the notifier needs of a tray icon (QSystemTrayIcon; a fake in tests)."""

    def showMessage(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None: ...


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


def words(messages: Sequence[ChatMessage]) -> tuple[str, str]:
    """(title, body) for messages that just arrived (oldest first)."""
    if len(messages) == 1:
        m = messages[0]
        text = safe_line(m.text)
        body = text if len(text) <= BODY_CHARS else text[: BODY_CHARS - 1] + "…"
        return f"{safe_line(m.nick)} in #{m.room}", body
    rooms = list(dict.fromkeys(m.room for m in messages))
    last = messages[-1]
    text = safe_line(last.text)
    tail = text if len(text) <= BODY_CHARS else text[: BODY_CHARS - 1] + "…"
    return f"{len(messages)} new messages in " + ", ".join(f"#{r}" for r in rooms), f"{safe_line(last.nick)}: {tail}"


class ChatNotifier(QObject):
    """Announces messages when the window is inactive.

    Attributes:
        tray: the tray icon once one was needed and the desktop has a tray, else None.

    Signals:
        clicked(): the user clicked a tray message (the panel brings the window forward).
    """

    clicked = Signal()

    def __init__(
        self,
        is_active: Callable[[], bool],
        status: Callable[[str], None],
        *,
        has_tray: Callable[[], bool] = tray_available,
        make_tray: Callable[[], Tray] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._is_active = is_active
        self._status = status
        self._has_tray = has_tray
        self._make_tray = make_tray or self._real_tray
        self.tray: Tray | None = None

    def _real_tray(self) -> Tray:
        icon = QSystemTrayIcon(QApplication.windowIcon(), self)
        icon.setToolTip("Squall chat")
        icon.messageClicked.connect(self.clicked)
        icon.show()
        return icon

    def announce(self, messages: Sequence[ChatMessage]) -> bool:
        """Tell the user about others' messages unless the window is in front; True when something was said."""
        if not messages or self._is_active():
            return False
        title, body = words(messages)
        if self._has_tray():
            if self.tray is None:
                self.tray = self._make_tray()
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS)
        else:
            self._status(f"{title}: {body}")
        return True
