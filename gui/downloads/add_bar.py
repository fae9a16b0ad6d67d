"""The widgets that take URLs in: the URL field with its SHA-256 box and inline message, and the clipboard offer.

They only collect text and show what the panel tells them; reading the text into URLs is core's job
(core/downloads/intake.py) and adding is the engine's.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def mime_text(source: QMimeData) -> str:
    """The links (one per line) or the text a drop or a paste carries."""
    if source.hasUrls():
        links = [url.toString() for url in source.urls() if not url.isEmpty()]
        if links:
            return "\n".join(links)
    return source.text() if source.hasText() else ""


class UrlField(QPlainTextEdit):
    """A few lines for one URL or a pasted list. Enter adds; Shift+Enter starts a new line.

    Signals:
        submitted: the user pressed Enter.
    """

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(
            "Type or paste URLs, one per line (or drop links here). "
            "A checksum may follow: URL#sha256=HEX or URL HEX. Enter adds."
        )
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lines = QFontMetrics(self.font()).lineSpacing()
        self.setFixedHeight(int(lines * 2.6) + 10)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            event.accept()
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        text = mime_text(source)
        if text:
            if self.toPlainText() and not self.toPlainText().endswith("\n"):
                text = "\n" + text
            self.insertPlainText(text)


class AddBar(QWidget):
    """The URL field, the optional SHA-256, the Add button and a line that says what went wrong.

    Signals:
        add_requested: Add was clicked or Enter pressed.
        again_requested: the user wants the flagged downloads-seen-before added anyway.
    """

    add_requested = Signal()
    again_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = UrlField()
        self.sha_edit = QLineEdit()
        self.sha_edit.setPlaceholderText("SHA-256 (optional, one URL)")
        self.sha_edit.setClearButtonEnabled(True)
        self.sha_edit.setMinimumWidth(QFontMetrics(self.sha_edit.font()).horizontalAdvance("0" * 24))
        self.add_button = QPushButton("Add")
        self.add_button.setDefault(False)
        self.message = QLabel()
        self.message.setObjectName("downloads_add_message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # URLs are user text: never rich text
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.hide()
        self.again_button = QPushButton()
        self.again_button.hide()

        side = QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.sha_edit)
        side.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignRight)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.field, 1)
        row.addLayout(side)
        notes = QHBoxLayout()
        notes.setContentsMargins(0, 0, 0, 0)
        notes.addWidget(self.message, 1)
        notes.addWidget(self.again_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(notes)

        self.add_button.clicked.connect(self.add_requested)
        self.field.submitted.connect(self.add_requested)
        self.sha_edit.returnPressed.connect(self.add_requested)
        self.again_button.clicked.connect(self.again_requested)

    def show_message(self, lines: list[str], again: int = 0) -> None:
        """Show what went wrong (one line each); with again > 0 offer to add that many seen-before URLs anyway."""
        self.message.setText("\n".join(lines))
        self.message.setVisible(bool(lines))
        self.again_button.setText(f"Add {'it' if again == 1 else f'these {again}'} again")
        self.again_button.setVisible(again > 0)

    def clear_message(self) -> None:
        self.show_message([])


class ClipboardOffer(QFrame):
    """ "3 links copied: add them?" with Add, Not now and Don't ask again.

    Signals:
        accepted: add the offered links.
        declined: not now (the offer goes away until the clipboard changes).
        never: stop offering (the panel turns the setting off).
    """

    accepted = Signal()
    declined = Signal()
    never = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloads_clipboard_offer")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.add_button = QPushButton("Add them")
        self.dismiss_button = QPushButton("Not now")
        self.never_button = QPushButton("Don't offer again")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.label, 1)
        for button in (self.add_button, self.dismiss_button, self.never_button):
            layout.addWidget(button)
        self.add_button.clicked.connect(self.accepted)
        self.dismiss_button.clicked.connect(self.declined)
        self.never_button.clicked.connect(self.never)
        self.hide()

    def offer(self, count: int, first: str) -> None:
        what = f"1 link copied ({first})" if count == 1 else f"{count} links copied"
        self.label.setText(f"{what}: add {'it' if count == 1 else 'them'}?")
        self.add_button.setText("Add it" if count == 1 else "Add them")
        self.show()
