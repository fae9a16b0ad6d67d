"""Composer: where a message is typed. Enter sends, Shift+Enter starts a new line; typing is reported (the client
decides how often the hub hears of it). Grows with its text up to a few lines, then scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 6


class Composer(QPlainTextEdit):
    """The message box.

    Signals:
        send_requested(): Enter was pressed (the panel reads and clears the text if it was sent).
        typing(): the user changed the text.
    """

    send_requested = Signal()
    typing = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat_composer")
        self.setTabChangesFocus(True)
        self.setPlaceholderText("Message — Enter sends, Shift+Enter adds a line")
        self.textChanged.connect(self._changed)
        self._quiet = False

    def set_room(self, room: str) -> None:
        self.setPlaceholderText(f"Message #{room} — Enter sends, Shift+Enter adds a line")

    def take_text(self) -> str:
        return self.toPlainText()

    def clear_text(self) -> None:
        self._quiet = True  # clearing is not typing
        try:
            self.clear()
        finally:
            self._quiet = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")  # a plain newline (Qt's own Shift+Enter inserts U+2028)
            else:
                self.send_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def _changed(self) -> None:
        self._fit()
        if not self._quiet and self.toPlainText():
            self.typing.emit()

    def _fit(self) -> None:
        lines = max(1, min(MAX_LINES, self.document().blockCount()))
        height = int(self.fontMetrics().lineSpacing() * lines + 2 * self.document().documentMargin() + 6)
        if self.maximumHeight() != height:
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width(), self.maximumHeight())
