"""ChatNotifier: tells the user about messages that arrived while the window was not in front.

Through gui/tray.py: a message from the app's one tray icon, or a passing status-bar line where there is no tray.
Text is shown as plain text, one line, cut short.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QSystemTrayIcon

from core.chat.display import safe_line
from core.chat.updates import ChatMessage
from gui.tray import TrayNotifier

MESSAGE_MS = 6000
BODY_CHARS = 160


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


class ChatNotifier(TrayNotifier):
    """Announces messages when the window is inactive (TrayNotifier: tray, clicked, construction)."""

    def announce(self, messages: Sequence[ChatMessage]) -> bool:
        """Tell the user about others' messages unless the window is in front; True when something was said."""
        if not messages or self._is_active():
            return False
        title, body = words(messages)
        self.say(title, body, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS)
        return True
