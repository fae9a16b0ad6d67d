"""Table models of records: finished tasks and loop blocks (newest first, bounded), and the lab's four results.

Fed by snapshots (FinishedTask, BlockRecord, LabProgress); presentation only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from core.monitor import STYLES, BlockRecord, FinishedTask, LabProgress, LabResult
from gui.rows import ROOT, prepend_bounded
from gui.tasks.task_models import SORT_ROLE, UNOWNED, format_age

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex
Column = tuple[str, Callable[[Any], Any], Callable[[Any], Any]]  # title, display, sort value
RECORD_ROLE = Qt.ItemDataRole.UserRole + 10  # the record itself (FinishedTask, BlockRecord, LabResult)
HANDLED_ROLES = frozenset(
    int(r)
    for r in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
        SORT_ROLE,
        RECORD_ROLE,
    )
)  # every other role is refused before any work: views ask ~7 roles per cell per paint

_RED = QBrush(QColor("#b00020"))
_GREY = QBrush(QColor("#777777"))


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


class RecordTableModel(QAbstractTableModel, Generic[T]):
    """A newest-first, bounded table of immutable records.

    Attributes:
        limit: how many records are kept.
    """

    columns: Sequence[Column] = ()

    def __init__(self, limit: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.limit = limit
        self._rows: list[T] = []

    def add(self, records: Sequence[T]) -> None:
        """Add records (oldest first, as the monitor sends them)."""
        prepend_bounded(self, self._rows, records, self.limit)

    def record(self, row: int) -> T:
        return self._rows[row]

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(self.columns):
            return self.columns[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED_ROLES or not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        _title, display, sort = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display(record)
        if role == SORT_ROLE:
            return sort(record)
        if role == RECORD_ROLE:
            return record
        return self.extra_data(record, index.column(), role)

    def extra_data(self, record: T, column: int, role: int) -> Any:
        return None


class FinishedTableModel(RecordTableModel[FinishedTask]):
    """The last finished tasks with their outcome."""

    columns = (
        ("Ended", lambda t: clock(t.ended), lambda t: t.ended),
        ("Name", lambda t: t.name, lambda t: t.name),
        ("Owner", lambda t: t.owner or UNOWNED, lambda t: t.owner),
        ("Outcome", lambda t: t.outcome, lambda t: t.outcome),
        ("Detail", lambda t: t.detail, lambda t: t.detail),
        ("Lived", lambda t: format_age(t.ended - t.started), lambda t: t.ended - t.started),
    )

    def extra_data(self, record: FinishedTask, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and record.outcome == "exception":
            return _RED
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.traceback or f"{record.what}: {record.detail}"
        return None


class BlockTableModel(RecordTableModel[BlockRecord]):
    """Loop blocks the watchdog caught, with where the loop thread was."""

    columns = (
        ("When", lambda b: clock(b.at), lambda b: b.at),
        ("Blocked for", lambda b: f"{b.duration_ms:.0f} ms", lambda b: b.duration_ms),
        ("Where", lambda b: b.where, lambda b: b.where),
    )

    def extra_data(self, record: BlockRecord, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.format()
        return None


LAB_COLUMNS = ("Style", "Wall time", "Concurrency", "Loop lag (max)", "Note")


class LabResultModel(QAbstractTableModel):
    """The four lab styles, one row each, with the last run's numbers ("—" until run)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._results: dict[str, LabResult] = {}
        self._current = ""

    def set_progress(self, progress: LabProgress) -> None:
        results = {r.style.key: r for r in progress.results}
        if progress.running and not progress.results:
            results = {}  # a new run starts from a clean table
        changed = [
            row
            for row, style in enumerate(STYLES)
            if results.get(style.key) != self._results.get(style.key) or style.key in (self._current, progress.current)
        ]
        self._results, self._current = results, progress.current
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(LAB_COLUMNS) - 1), [])

    def result(self, row: int) -> LabResult | None:
        return self._results.get(STYLES[row].key)

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(STYLES)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(LAB_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(LAB_COLUMNS):
            return LAB_COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED_ROLES or not index.isValid() or not 0 <= index.row() < len(STYLES):
            return None
        style = STYLES[index.row()]
        result = self._results.get(style.key)
        column = index.column()
        if role == Qt.ItemDataRole.ToolTipRole:
            return style.explanation
        if role == RECORD_ROLE:
            return result
        if role == Qt.ItemDataRole.ForegroundRole and style.key == "blocking":
            return _RED
        if role == Qt.ItemDataRole.ForegroundRole and result is None and column:
            return _GREY
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return style.title
        if result is None:
            return "running…" if style.key == self._current and column == 1 else "—"
        if column == 1:
            return f"{result.wall_s:.2f} s"
        if column == 2:
            return f"{result.concurrency} at once"
        if column == 3:
            return f"{result.lag_max_ms:.0f} ms"
        return result.error or f"{result.fetches} fetches, {result.delay_ms} ms each"
