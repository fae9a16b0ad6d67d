"""DownloadTableModel: every download in the list, one row each, fed by the engine's snapshot batches.

The engine's callback only stores snapshots (receive); the panel's timer applies them (apply_pending), so rows
change at the coalescing tick, never per byte, and only changed rows get dataChanged (one signal per contiguous
run of rows). Words come from core/downloads/display.py; the Progress column is painted by ProgressDelegate.
Sorting and filtering are left to DownloadFilterProxy. No widget per row, no logic beyond presentation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from core.downloads import DownloadProgress, State
from core.downloads.display import (
    STATE_ORDER,
    display_name,
    eta_text,
    percent_text,
    size_text,
    speed_text,
    state_text,
    tooltip_text,
)
from gui.rows import ranges

COLUMNS = ("Name", "Size", "Progress", "Speed", "Time left", "State", "Host")
NAME, SIZE, PROGRESS, SPEED, ETA, STATE, HOST = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # raw values for sorting (numbers, never mixed with None)
ID_ROLE = Qt.ItemDataRole.UserRole + 2  # the download's id
SNAPSHOT_ROLE = Qt.ItemDataRole.UserRole + 3  # the DownloadProgress itself (the delegate paints from it)
# A view asks ~7 roles per cell per paint; every other role is refused before any work.
HANDLED_ROLES = frozenset(
    int(r)
    for r in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.TextAlignmentRole,
        SORT_ROLE,
        ID_ROLE,
        SNAPSHOT_ROLE,
    )
)
Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()  # the invalid index: the default parent in the model's signatures

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_COLOURS = {
    State.FAILED: QBrush(QColor("#c62828")),
    State.CANCELLED: QBrush(QColor("#777777")),
    State.PAUSED: QBrush(QColor("#8a6d00")),
    State.COMPLETED: QBrush(QColor("#2e7d32")),
}


def display(p: DownloadProgress, column: int, now: float) -> str:
    if column == NAME:
        return display_name(p)
    if column == SIZE:
        return size_text(p)
    if column == PROGRESS:
        return percent_text(p)
    if column == SPEED:
        return speed_text(p)
    if column == ETA:
        return eta_text(p)
    if column == STATE:
        return state_text(p, now)
    if column == HOST:
        return p.host
    return ""


def row_texts(p: DownloadProgress, now: float) -> tuple[str, ...]:
    """The words of every cell of a row."""
    return tuple(display(p, column, now) for column in range(len(COLUMNS)))


def sort_key(p: DownloadProgress, column: int) -> Any:
    if column == NAME:
        return display_name(p).lower()
    if column == SIZE:
        return float(p.total if p.total is not None else p.received)
    if column == PROGRESS:
        fraction = p.fraction
        return -1.0 if fraction is None else fraction
    if column == SPEED:
        return p.speed
    if column == ETA:
        return math.inf if p.eta is None else p.eta
    if column == STATE:
        return STATE_ORDER[p.state] * 1e12 + p.id  # by state, then in the order they were added
    if column == HOST:
        return p.host.lower()
    return None


class DownloadTableModel(QAbstractTableModel):
    """The downloads in the order they were added.

    Each row keeps its snapshot and the words its cells show, worked out once when the snapshot is applied:
    a repaint asks for every visible cell several times, a tick changes a few rows.

    Attributes:
        data_changed_signals: dataChanged signals sent so far (the benchmark reports them per second).

    Signals:
        removed(int): a download left the list (the engine forgot it).
    """

    removed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[DownloadProgress] = []
        self._texts: list[tuple[str, ...]] = []
        self._row_of: dict[int, int] = {}
        self._pending: dict[int, DownloadProgress] = {}
        self.data_changed_signals = 0

    # -- feeding ------------------------------------------------------------------------------------------

    def receive(self, batch: Iterable[DownloadProgress]) -> None:
        """The engine's on_snapshots callback: keep the newest snapshot per download until the next apply."""
        pending = self._pending
        for p in batch:
            pending[p.id] = p

    def forget(self, download_id: int) -> None:
        """The engine's on_removed callback: the row goes at once (its pending snapshot with it)."""
        self._pending.pop(download_id, None)
        row = self._row_of.get(download_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        del self._texts[row]
        del self._row_of[download_id]
        for later in range(row, len(self._rows)):
            self._row_of[self._rows[later].id] = later
        self.endRemoveRows()
        self.removed.emit(download_id)

    def apply_pending(self) -> list[DownloadProgress]:
        """Show the snapshots received since the last call; returns them (newest per download).

        Rows whose words and state did not change send nothing (the bar follows the percent shown, to a tenth
        of a percent, and the state); the others send one dataChanged per run of rows, over the columns that
        changed (a running download's name and host stay put: their cells are not repainted).
        """
        if not self._pending:
            return []
        batch = list(self._pending.values())
        self._pending = {}
        now = time.time()
        changed: dict[int, tuple[int, int]] = {}
        fresh: list[DownloadProgress] = []
        for p in batch:
            row = self._row_of.get(p.id)
            if row is None:
                fresh.append(p)
                continue
            before, self._rows[row] = self._rows[row], p
            texts = row_texts(p, now)
            old = self._texts[row]
            columns = [c for c in range(len(COLUMNS)) if texts[c] != old[c]]
            if before.state is not p.state and PROGRESS not in columns:
                columns = sorted([*columns, PROGRESS])  # the bar's colour follows the state, its words may not
            if columns:
                self._texts[row] = texts
                changed[row] = (columns[0], columns[-1])
        self._signal_changes(changed)
        if fresh:
            fresh.sort(key=lambda p: p.id)
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            for offset, p in enumerate(fresh):
                self._row_of[p.id] = start + offset
            self._rows.extend(fresh)
            self._texts.extend(row_texts(p, now) for p in fresh)
            self.endInsertRows()
        return batch

    def _signal_changes(self, changed: dict[int, tuple[int, int]]) -> None:
        for first, end in ranges(sorted(changed)):
            left = min(changed[r][0] for r in range(first, end + 1))
            right = max(changed[r][1] for r in range(first, end + 1))
            self.dataChanged.emit(self.index(first, left), self.index(end, right), [])
            self.data_changed_signals += 1

    def refresh_state_words(self, download_ids: Iterable[int]) -> None:
        """Words that change with the clock alone (the retry countdown): redo the State cell of these rows."""
        now = time.time()
        changed: dict[int, tuple[int, int]] = {}
        for download_id in download_ids:
            row = self._row_of.get(download_id)
            if row is None:
                continue
            words = state_text(self._rows[row], now)
            texts = self._texts[row]
            if words != texts[STATE]:
                self._texts[row] = (*texts[:STATE], words, *texts[STATE + 1 :])
                changed[row] = (STATE, STATE)
        self._signal_changes(changed)

    # -- reading ------------------------------------------------------------------------------------------

    def snapshot(self, row: int) -> DownloadProgress:
        return self._rows[row]

    def by_id(self, download_id: int) -> DownloadProgress | None:
        row = self._row_of.get(download_id)
        return None if row is None else self._rows[row]

    def row_of(self, download_id: int) -> int | None:
        return self._row_of.get(download_id)

    def snapshots(self) -> list[DownloadProgress]:
        return list(self._rows)

    # -- QAbstractTableModel ------------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = ROOT) -> QModelIndex:
        # The sorting proxy asks for an index per cell per repaint; Qt's own index() would call rowCount() and
        # columnCount() (two Python calls) to check the bounds.
        if parent.isValid() or not 0 <= row < len(self._rows) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED_ROLES or not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        p = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][column]
        if role == SORT_ROLE:
            return sort_key(p, column)
        if role == ID_ROLE:
            return p.id
        if role == SNAPSHOT_ROLE:
            return p
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_text(p)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _COLOURS.get(p.state) if column == STATE else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in (SIZE, SPEED, ETA) else None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None
