"""MessageListModel: the room on screen, as a list model over its core Transcript.

The transcript keeps the rows and says what changed while it changes (TranscriptObserver); this model turns that
into beginInsertRows/endInsertRows, beginRemoveRows/endRemoveRows and dataChanged. Showing another room is a model
reset. Roles give the delegate the Row itself; DisplayRole is "nick: text" for copying and accessibility.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from core.chat.transcript import Row, Transcript

Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the transcript Row (the delegate paints from it)
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # "sent", "sending" or "failed"
CID_ROLE = Qt.ItemDataRole.UserRole + 3
HANDLED_ROLES = frozenset(
    int(r) for r in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, ROW_ROLE, STATE_ROLE, CID_ROLE)
)


def tooltip(row: Row) -> str:
    when = time.strftime("%A %d %B %Y, %H:%M:%S", time.localtime(row.ts))
    if row.state == "failed":
        return f"Not sent: {row.error}\nRight-click to retry or discard."
    if row.state == "sending":
        return f"Typed {when}; waiting for the hub to confirm it."
    return f"{when} (message {row.id})"


class MessageListModel(QAbstractListModel):
    """The shown room's rows.

    Attributes:
        transcript: the room on screen, or None.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.transcript: Transcript | None = None

    def show(self, transcript: Transcript | None) -> None:
        """Show another room (a reset); the previous one stops reporting here."""
        self.beginResetModel()
        if self.transcript is not None:
            self.transcript.observer = None
        self.transcript = transcript
        if transcript is not None:
            transcript.observer = self
        self.endResetModel()

    def row(self, i: int) -> Row | None:
        t = self.transcript
        return t.rows[i] if t is not None and 0 <= i < len(t.rows) else None

    # --- TranscriptObserver ---------------------------------------------------------------------------------------

    def begin_insert(self, first: int, last: int) -> None:
        self.beginInsertRows(ROOT, first, last)

    def end_insert(self) -> None:
        self.endInsertRows()

    def begin_remove(self, first: int, last: int) -> None:
        self.beginRemoveRows(ROOT, first, last)

    def end_remove(self) -> None:
        self.endRemoveRows()

    def changed(self, first: int, last: int) -> None:
        self.dataChanged.emit(self.index(first, 0), self.index(last, 0))

    # --- QAbstractListModel ---------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() or self.transcript is None else len(self.transcript.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED_ROLES or not index.isValid():
            return None
        row = self.row(index.row())
        if row is None:
            return None
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.nick}: {row.text}"
        if role == STATE_ROLE:
            return row.state
        if role == CID_ROLE:
            return row.cid
        return tooltip(row)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
