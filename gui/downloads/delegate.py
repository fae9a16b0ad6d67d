"""The list's painters: ProgressDelegate draws the Progress column as a bar (one per segment for a segmented
download) with its percent; TextDelegate draws every other cell as plain, elided text.

Both paint by hand: the list repaints its changed rows at every engine tick, and QStyledItemDelegate asks the
model for about ten roles per cell and runs a full style pass (through the style sheet, when the application
has one) for each. Nothing here computes beyond where to draw.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from core.downloads import DownloadProgress, State
from gui.downloads.table_model import SNAPSHOT_ROLE, Index

_TRACK = QColor("#e6e6e6")
_BORDER = QColor("#bdbdbd")
_TEXT = QColor("#202020")
_FILL = {
    State.COMPLETED: QColor("#66bb6a"),
    State.FAILED: QColor("#e57373"),
    State.CANCELLED: QColor("#bdbdbd"),
    State.PAUSED: QColor("#ffd54f"),
    State.QUEUED: QColor("#90caf9"),
}
_RUNNING_FILL = QColor("#42a5f5")
_UNKNOWN = QColor(66, 165, 245, 90)
# Qt flags combined once: flag arithmetic on Python enums costs more than the rest of a cell's paint
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_SELECTED = QStyle.StateFlag.State_Selected.value  # size unknown: a pale full bar, not a made-up fraction


class ProgressDelegate(QStyledItemDelegate):
    """Draws a download's progress bar inside its cell."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        p = index.data(SNAPSHOT_ROLE)
        if not isinstance(p, DownloadProgress):
            super().paint(painter, option, index)
            return
        painter.save()
        try:
            if option.state & QStyle.StateFlag.State_Selected:  # type: ignore[operator]
                painter.fillRect(option.rect, option.palette.highlight())
            self._paint_bar(painter, QRectF(option.rect).adjusted(3, 4, -3, -4), p, str(index.data() or ""))
        finally:
            painter.restore()

    @staticmethod
    def _paint_bar(painter: QPainter, bar: QRectF, p: DownloadProgress, text: str) -> None:
        if bar.width() < 4 or bar.height() < 4:
            return
        painter.fillRect(bar, _TRACK)
        fill = _FILL.get(p.state, _RUNNING_FILL)
        if p.segments and p.total:
            scale = bar.width() / p.total
            for segment in p.segments:
                width = min(segment.received, segment.end - segment.start) * scale
                painter.fillRect(QRectF(bar.left() + segment.start * scale, bar.top(), width, bar.height()), fill)
        else:
            fraction = p.fraction
            if fraction is None:
                if p.received:
                    painter.fillRect(bar, _UNKNOWN)
            else:
                painter.fillRect(QRectF(bar.left(), bar.top(), bar.width() * fraction, bar.height()), fill)
        painter.setPen(QPen(_BORDER, 1))
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        if text:
            painter.setPen(_TEXT)
            painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, text)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 120), hint.height())


class TextDelegate(QStyledItemDelegate):
    """Draws a text cell: the selection, then the words in the column's alignment (and the state's colour),
    elided to fit.

    One or two model calls per cell instead of about ten; the row's background (alternating colours) is still
    drawn by the view's style before this runs.

    Attributes:
        right_aligned: columns whose numbers line up on the right.
        coloured: the column whose words take the model's ForegroundRole colour.
    """

    PADDING = 4

    def __init__(self, right_aligned: frozenset[int], coloured: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.right_aligned = right_aligned
        self.coloured = coloured

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        selected = option.state.value & _SELECTED
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not text:
            return
        column = index.column()
        if selected:
            colour = option.palette.highlightedText().color()
        else:
            brush = index.data(Qt.ItemDataRole.ForegroundRole) if column == self.coloured else None
            colour = brush.color() if isinstance(brush, QBrush) else option.palette.text().color()
        flags = _RIGHT if column in self.right_aligned else _LEFT
        rect = option.rect.adjusted(self.PADDING, 0, -self.PADDING, 0)
        painter.setPen(colour)
        painter.drawText(
            rect, flags, option.fontMetrics.elidedText(str(text), Qt.TextElideMode.ElideRight, rect.width())
        )
