"""The Chat tab's side lists: rooms with their unread counts, and the people in the shown room.

Both are small list models fed by the panel; names are shown as plain text (a view never renders markup from
DisplayRole) after core's safe_line.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from core.chat.display import safe_line

Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()
ROOM_ROLE = Qt.ItemDataRole.UserRole + 1
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 2
_BOLD = QFont()
_BOLD.setBold(True)


class RoomListModel(QAbstractListModel):
    """Joined rooms in join order, with unread counts ("#dev (3)")."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rooms: list[str] = []
        self._unread: dict[str, int] = {}

    @property
    def rooms(self) -> list[str]:
        return list(self._rooms)

    def set_rooms(self, rooms: list[str]) -> None:
        if rooms == self._rooms:
            return
        self.beginResetModel()
        self._rooms = list(rooms)
        self._unread = {r: n for r, n in self._unread.items() if r in rooms}
        self.endResetModel()

    def unread(self, room: str) -> int:
        return self._unread.get(room, 0)

    @property
    def total_unread(self) -> int:
        return sum(self._unread.values())

    def add_unread(self, room: str, count: int) -> None:
        self._set_unread(room, self._unread.get(room, 0) + count)

    def mark_read(self, room: str) -> None:
        self._set_unread(room, 0)

    def _set_unread(self, room: str, count: int) -> None:
        if room not in self._rooms or self._unread.get(room, 0) == count:
            return
        self._unread[room] = count
        index = self.index(self._rooms.index(room), 0)
        self.dataChanged.emit(index, index)

    def row_of(self, room: str) -> int | None:
        return self._rooms.index(room) if room in self._rooms else None

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rooms)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rooms):
            return None
        room = self._rooms[index.row()]
        unread = self._unread.get(room, 0)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"#{room} ({unread})" if unread else f"#{room}"
        if role == Qt.ItemDataRole.FontRole:
            return _BOLD if unread else None
        if role == ROOM_ROLE:
            return room
        if role == UNREAD_ROLE:
            return unread
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{unread} unread" if unread else None
        return None


class UserListModel(QAbstractListModel):
    """Who is in the shown room, as the hub last said (empty while offline); our own nick is marked."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._users: list[str] = []
        self._me = ""

    @property
    def users(self) -> list[str]:
        return list(self._users)

    def set_users(self, users: tuple[str, ...] | list[str], me: str) -> None:
        if list(users) == self._users and me == self._me:
            return
        self.beginResetModel()
        self._users = list(users)
        self._me = me
        self.endResetModel()

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._users)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._users):
            return None
        nick = self._users[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            shown = safe_line(nick)
            return f"{shown} (you)" if nick == self._me else shown
        if role == Qt.ItemDataRole.FontRole:
            return _BOLD if nick == self._me else None
        return None
