"""Row diffing for snapshot-fed Qt models: remove, change, append; one signal per contiguous range.

A model keeps its rows in a Python list; sync_rows() brings that list to a new picture and emits the matching
begin/end and dataChanged signals, so views keep their selection and scroll position and repaint changed rows
only. It knows nothing about tasks: rows are matched by a key function.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex

T = TypeVar("T")
Parent = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()  # the invalid index: the default parent in the models' signatures


def ranges(rows: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Contiguous (first, last) runs of sorted row numbers."""
    start = prev = -2
    for row in rows:
        if row != prev + 1:
            if start >= 0:
                yield start, prev
            start = row
        prev = row
    if start >= 0:
        yield start, prev


def sync_rows(
    model: QAbstractItemModel,
    parent: Parent,
    rows: list[T],
    new: Sequence[T],
    key: Callable[[T], Hashable],
) -> bool:
    """Make rows equal to new (existing rows keep their order, new ones are appended); returns True if the row
    set changed."""
    last_column = model.columnCount(parent) - 1
    wanted: dict[Hashable, T] = {key(item): item for item in new}
    structure = False

    gone = [row for row, item in enumerate(rows) if key(item) not in wanted]
    for first, last in reversed(list(ranges(gone))):
        model.beginRemoveRows(parent, first, last)
        del rows[first : last + 1]
        model.endRemoveRows()
        structure = True

    changed = []
    for row, item in enumerate(rows):
        fresh = wanted[key(item)]
        if fresh is not item and fresh != item:
            rows[row] = fresh
            changed.append(row)
    for first, last in ranges(changed):
        model.dataChanged.emit(model.index(first, 0, parent), model.index(last, last_column, parent), [])

    known = {key(item) for item in rows}
    fresh_items = [item for item in new if key(item) not in known]
    if fresh_items:
        model.beginInsertRows(parent, len(rows), len(rows) + len(fresh_items) - 1)
        rows.extend(fresh_items)
        model.endInsertRows()
        structure = True
    return structure


def prepend_bounded(model: QAbstractItemModel, rows: list[Any], new: Sequence[Any], limit: int) -> None:
    """Insert new items (oldest first) at the top, newest first; drop the oldest rows beyond limit."""
    if not new:
        return
    fresh = list(reversed(new))[:limit]
    model.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
    rows[0:0] = fresh
    model.endInsertRows()
    if len(rows) > limit:
        model.beginRemoveRows(QModelIndex(), limit, len(rows) - 1)
        del rows[limit:]
        model.endRemoveRows()
