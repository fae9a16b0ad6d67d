"""HubBar: the strip above the conversation: which hub (this computer's or one joined before), "Join a hub...",
the nick, and "Share on LAN" with the address and passphrase to hand out while sharing.

Widgets only: it says what the user chose through signals; the panel checks and applies it through core.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from core.chat.hosting import HostingState
from core.chat.protocol import MAX_NICK_CHARS


class HubBar(QWidget):
    """Hub, nick and LAN settings.

    Signals:
        hub_chosen(address): another hub was picked in the list.
        join_clicked(): "Join a hub..." was clicked.
        nick_entered(nick): the nick field was edited and left (or Enter pressed).
        share_toggled(on): "Share on LAN" was switched.
    """

    hub_chosen = Signal(str)
    join_clicked = Signal()
    nick_entered = Signal(str)
    share_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub_combo = QComboBox()
        self.hub_combo.setObjectName("chat_hub_combo")
        self.hub_combo.setMinimumContentsLength(22)
        self.join_button = QPushButton("Join a hub…")
        self.nick_edit = QLineEdit()
        self.nick_edit.setObjectName("chat_nick")
        self.nick_edit.setMaxLength(MAX_NICK_CHARS)
        self.nick_edit.setMaximumWidth(180)
        self.share_box = QCheckBox("Share on LAN")
        self.share_box.setObjectName("chat_share")
        self.share_box.setToolTip("Let others on your network join this computer's room (only while it hosts it)")
        self.lan_label = QLabel()
        self.lan_label.setObjectName("chat_lan")
        self.lan_label.setTextFormat(Qt.TextFormat.PlainText)
        self.lan_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lan_label.hide()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Hub:"))
        top.addWidget(self.hub_combo, 1)
        top.addWidget(self.join_button)
        top.addSpacing(12)
        top.addWidget(QLabel("Nick:"))
        top.addWidget(self.nick_edit)
        top.addSpacing(12)
        top.addWidget(self.share_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.lan_label)
        self._filling = False
        self.hub_combo.activated.connect(self._hub_activated)
        self.join_button.clicked.connect(self.join_clicked)
        self.nick_edit.editingFinished.connect(lambda: self.nick_entered.emit(self.nick_edit.text()))
        self.share_box.toggled.connect(self._share_toggled)

    def set_hubs(self, local: str, joined: list[str], current: str) -> None:
        """This computer's hub first, then the ones joined before; select current."""
        self._filling = True
        try:
            self.hub_combo.clear()
            self.hub_combo.addItem(f"This computer ({local})", local)
            for address in joined:
                if address != local:
                    self.hub_combo.addItem(address, address)
            at = self.hub_combo.findData(current)
            if at < 0:
                self.hub_combo.addItem(current, current)
                at = self.hub_combo.count() - 1
            self.hub_combo.setCurrentIndex(at)
        finally:
            self._filling = False

    def set_nick(self, nick: str) -> None:
        self.nick_edit.setText(nick)

    def set_hosting(self, state: HostingState | None) -> None:
        hosting = state is not None and state.hosting
        self.share_box.setEnabled(hosting)
        self._filling = True
        try:
            self.share_box.setChecked(bool(state and state.lan))
        finally:
            self._filling = False
        if state is not None and state.lan and state.lan_address:
            self.lan_label.setText(
                f"Shared on your network: others join {state.lan_address} with the passphrase {state.passphrase}"
            )
            self.lan_label.show()
        elif state is not None and state.problem and hosting:
            self.lan_label.setText(state.problem)
            self.lan_label.show()
        else:
            self.lan_label.hide()

    def _hub_activated(self, index: int) -> None:
        address = self.hub_combo.itemData(index)
        if isinstance(address, str) and not self._filling:
            self.hub_chosen.emit(address)

    def _share_toggled(self, on: bool) -> None:
        if not self._filling:
            self.share_toggled.emit(on)
