"""Item models of live tasks, fed by the monitor's snapshots: a flat table and a tree grouped by owner.

Both take the full task list of each MonitorUpdate and diff it (gui/rows.py): removed rows go, changed
rows get dataChanged, new rows are appended. The age column is the one exception: it is computed from the
update's time, so it changes for every row on every update without ever changing their order (it sorts by
start time). A dataChanged for it would make the sorting proxy re-sort every row twice a second (36 ms per
1,000 tasks measured here), so the view is asked to repaint instead (TasksPanel.apply_pending).
Sorting and filtering are left to a proxy (TaskFilterProxy). No widget per row, no logic beyond presentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from core.monitor import TaskSnapshot
from gui.rows import ROOT, sync_rows

COLUMNS = ("Name", "Owner", "What", "State", "Age", "Where", "Awaiting")
NAME, OWNER, WHAT, STATE, AGE, WHERE, AWAITING = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # raw values for sorting (age: minus the start time)
TASK_ID_ROLE = Qt.ItemDataRole.UserRole + 2  # the monitor's task id; None on group rows
OWNER_ROLE = Qt.ItemDataRole.UserRole + 3  # the owner ("" for unowned), on task and group rows
UNOWNED = "(unowned)"
# Roles the models answer; a view asks ~7 roles per cell per paint, so every other role is refused before any
# work (measured: a repaint of 35 rows went from ~46 ms to ~15 ms on the CI machine).
HANDLED_ROLES = frozenset(
    int(r)
    for r in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.ForegroundRole,
        SORT_ROLE,
        TASK_ID_ROLE,
        OWNER_ROLE,
    )
)
Index = QModelIndex | QPersistentModelIndex

_CANCELLING = QBrush(QColor("#b35c00"))
_BOLD = QFont()
_BOLD.setBold(True)


def format_age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def _task_id(snap: TaskSnapshot) -> int:
    return snap.id


def task_data(snap: TaskSnapshot, column: int, role: int, now: float) -> Any:
    """What a task row shows, for any of the models."""
    if role == Qt.ItemDataRole.DisplayRole:
        if column == NAME:
            return snap.name
        if column == OWNER:
            return snap.owner or UNOWNED
        if column == WHAT:
            return snap.what
        if column == STATE:
            return snap.state
        if column == AGE:
            return format_age(now - snap.started)
        if column == WHERE:
            return snap.where
        if column == AWAITING:
            return snap.awaiting
    elif role == SORT_ROLE:
        # age sorts by start time: the same order at every update, so the proxy never has to re-sort for it
        return -snap.started if column == AGE else task_data(snap, column, Qt.ItemDataRole.DisplayRole, now)
    elif role == TASK_ID_ROLE:
        return snap.id
    elif role == OWNER_ROLE:
        return snap.owner
    elif role == Qt.ItemDataRole.ToolTipRole:
        if column == NAME:
            extra = "\nSquall relies on it: cancelling asks first." if snap.critical else ""
            return f"{snap.name} (#{snap.id}), coroutine {snap.coro}{extra}"
        if column in (WHAT, WHERE, AWAITING):
            return task_data(snap, column, Qt.ItemDataRole.DisplayRole, now)
    elif role == Qt.ItemDataRole.ForegroundRole and snap.state == "cancelling":
        return _CANCELLING
    elif role == Qt.ItemDataRole.FontRole and column == NAME and snap.critical:
        return _BOLD
    return None


def _header(section: int, orientation: Qt.Orientation, role: int) -> Any:
    if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
        return COLUMNS[section]
    return None


class TaskTableModel(QAbstractTableModel):
    """Every live task, one row each, in the order the monitor first saw them.

    Attributes:
        taken_at: time.time() of the snapshot shown (ages are relative to it).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[TaskSnapshot] = []
        self.taken_at = 0.0

    def update(self, tasks: Sequence[TaskSnapshot], taken_at: float) -> None:
        self.taken_at = taken_at
        sync_rows(self, QModelIndex(), self._rows, tasks, _task_id)

    def snapshot(self, row: int) -> TaskSnapshot:
        return self._rows[row]

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED_ROLES or not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return task_data(self._rows[index.row()], index.column(), role, self.taken_at)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return _header(section, orientation, role)


class _Group:
    """One owner's tasks (mutable, private to GroupedTaskModel)."""

    __slots__ = ("key", "owner", "rows")

    def __init__(self, owner: str, key: int) -> None:
        self.owner = owner
        self.key = key
        self.rows: list[TaskSnapshot] = []


class GroupedTaskModel(QAbstractItemModel):
    """The same tasks as a tree: one row per owner, its tasks below it.

    Indexes carry internalId 0 for owner rows and the owner's key (>= 1, never reused) for task rows, so a
    task row finds its parent even after other owners came or went.

    Attributes:
        taken_at: time.time() of the snapshot shown.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._groups: list[_Group] = []
        self._by_key: dict[int, _Group] = {}
        self._keys: dict[str, int] = {}
        self.taken_at = 0.0

    def update(self, tasks: Sequence[TaskSnapshot], taken_at: float) -> None:
        self.taken_at = taken_at
        by_owner: dict[str, list[TaskSnapshot]] = {}
        for snap in tasks:
            by_owner.setdefault(snap.owner, []).append(snap)
        for row in reversed(range(len(self._groups))):
            group = self._groups[row]
            if group.owner not in by_owner:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._groups[row]
                del self._by_key[group.key]
                self.endRemoveRows()
        last = len(COLUMNS) - 1
        for row, group in enumerate(self._groups):
            parent = self.createIndex(row, 0, 0)
            before = len(group.rows)
            sync_rows(self, parent, group.rows, by_owner[group.owner], _task_id)
            if len(group.rows) != before:
                self.dataChanged.emit(parent, self.createIndex(row, last, 0), [])
        known = {g.owner for g in self._groups}
        fresh = [owner for owner in by_owner if owner not in known]
        if fresh:
            self.beginInsertRows(QModelIndex(), len(self._groups), len(self._groups) + len(fresh) - 1)
            for owner in fresh:
                key = self._keys.setdefault(owner, len(self._keys) + 1)
                group = _Group(owner, key)
                group.rows = by_owner[owner]
                self._groups.append(group)
                self._by_key[key] = group
            self.endInsertRows()

    def snapshot(self, index: Index) -> TaskSnapshot | None:
        """The task at index, or None for an owner row."""
        if not index.isValid() or index.internalId() == 0:
            return None
        group = self._by_key.get(index.internalId())
        if group is None or not 0 <= index.row() < len(group.rows):
            return None
        return group.rows[index.row()]

    def index(self, row: int, column: int, parent: Index = ROOT) -> QModelIndex:
        if not 0 <= column < len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._groups) else QModelIndex()
        if parent.internalId() != 0 or parent.column() != 0 or not 0 <= parent.row() < len(self._groups):
            return QModelIndex()
        group = self._groups[parent.row()]
        return self.createIndex(row, column, group.key) if row < len(group.rows) else QModelIndex()

    def parent(self, index: Index = ROOT) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        group = self._by_key.get(index.internalId())
        if group is None:
            return QModelIndex()
        return self.createIndex(self._groups.index(group), 0, 0)

    def rowCount(self, parent: Index = ROOT) -> int:
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() == 0 and parent.column() == 0 and 0 <= parent.row() < len(self._groups):
            return len(self._groups[parent.row()].rows)
        return 0

    def columnCount(self, parent: Index = ROOT) -> int:
        return len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED_ROLES or not index.isValid():
            return None
        if index.internalId() != 0:
            snap = self.snapshot(index)
            return None if snap is None else task_data(snap, index.column(), role, self.taken_at)
        if not 0 <= index.row() < len(self._groups):
            return None
        group = self._groups[index.row()]
        count = len(group.rows)
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == NAME:
                return group.owner or UNOWNED
            if index.column() == WHAT:
                return f"{count} task{'s' if count != 1 else ''}"
        elif role == SORT_ROLE:
            return group.owner if index.column() == NAME else count if index.column() == WHAT else None
        elif role == OWNER_ROLE:
            return group.owner
        elif role == Qt.ItemDataRole.FontRole and index.column() == NAME:
            return _BOLD
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return _header(section, orientation, role)


class TaskFilterProxy(QSortFilterProxyModel):
    """Sorts by raw values and filters tasks by text (name, owner, what, where, awaiting) and by owner.

    Attributes:
        text: the case-insensitive text a task must contain ("" shows all).
        owner: the owner a task must have (None shows all; "" means unowned).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.owner: str | None = None
        self.setSortRole(SORT_ROLE)
        self.setRecursiveFilteringEnabled(True)  # in the tree, an owner row stays while one of its tasks matches

    def set_filter(self, text: str, owner: str | None) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.owner = owner
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        first = model.index(source_row, 0, source_parent)
        if model.data(first, TASK_ID_ROLE) is None:  # an owner row: shown for its matching tasks only
            return not self.text and (self.owner is None or model.data(first, OWNER_ROLE) == self.owner)
        if self.owner is not None and model.data(first, OWNER_ROLE) != self.owner:
            return False
        if not self.text:
            return True
        for column in (NAME, OWNER, WHAT, WHERE, AWAITING):
            value = model.data(model.index(source_row, column, source_parent), Qt.ItemDataRole.DisplayRole)
            if isinstance(value, str) and self.text in value.lower():
                return True
        return False
