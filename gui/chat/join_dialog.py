"""JoinHubDialog: "Join a hub..." asks for HOST:PORT and the passphrase the hub's owner handed out.

Opened with open(), never exec() (a nested event loop would stall every task on the shared loop). The address is
checked before the dialog closes (core.chat.preferences.parse_address says what is wrong); the passphrase is
typed hidden. Also opened by the panel when a hub refused the passphrase, with the hub's words.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from core.chat.errors import ChatInputError
from core.chat.preferences import normalize_address


class JoinHubDialog(QDialog):
    """Asks where to join.

    Signals:
        join_requested(address, passphrase): the user confirmed a well-formed address and a passphrase.
    """

    join_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Join a hub")
        self.setObjectName("chat_join_dialog")
        self.address = QLineEdit()
        self.address.setPlaceholderText("192.168.1.20:8765")
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("as the hub's owner gave it")
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setObjectName("chat_join_message")
        form = QFormLayout()
        form.addRow("Hub address:", self.address)
        form.addRow("Passphrase:", self.passphrase)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Join")
        self.buttons.accepted.connect(self.try_join)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Chat in a room hosted by another Squall (or `main.py serve`) on your network."))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def ask(self, address: str = "", message: str = "") -> None:
        """Show without blocking, prefilled (after a refusal: the hub's address and what it said)."""
        self.address.setText(address)
        self.passphrase.clear()
        self.message.setText(message)
        (self.passphrase if address else self.address).setFocus()
        self.open()

    def try_join(self) -> bool:
        try:
            address = normalize_address(self.address.text())
        except ChatInputError as exc:
            self.message.setText(str(exc))
            return False
        passphrase = self.passphrase.text().strip()
        if not passphrase:
            self.message.setText("type the passphrase the hub's owner gave you")
            return False
        self.join_requested.emit(address, passphrase)
        self.accept()
        return True
