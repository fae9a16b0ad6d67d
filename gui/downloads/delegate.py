"""ProgressDelegate: paints the Progress column as a bar (one per segment for a segmented download) with its percent.

Painted by hand from the row's snapshot: no widget per row, nothing computed beyond where to draw.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
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
_UNKNOWN = QColor(66, 165, 245, 90)  # size unknown: a pale full bar, not a made-up fraction


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
