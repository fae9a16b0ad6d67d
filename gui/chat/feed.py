"""ChatFeed: the callbacks core/chat's components are given, as Qt signals the Chat tab connects to.

The client and hosting call these on the loop's thread (Qt's), at most ten times a second, so the signals are
delivered directly. Nothing is stored here.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.chat.hosting import HostingState
from core.chat.updates import ChatUpdate


class ChatFeed(QObject):
    """Where the chat's snapshots enter Qt.

    Signals:
        updated(ChatUpdate): the client's batch of changes.
        hosting_changed(HostingState): this instance started or stopped hosting, or shared it on the LAN.
    """

    updated = Signal(object)
    hosting_changed = Signal(object)

    def receive(self, update: ChatUpdate) -> None:
        self.updated.emit(update)

    def receive_hosting(self, state: HostingState) -> None:
        self.hosting_changed.emit(state)
