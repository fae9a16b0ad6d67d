"""ThroughputGraph: the total download speed of the last 60 seconds, painted by hand (QtCharts is not installed).

One bar per second from core.downloads.totals.ThroughputHistory, a 1-2-5 scaled axis in bytes per second, and
the current speed in the caption. It only paints what it is given and repaints once per new second.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.downloads.display import format_speed
from core.downloads.totals import ThroughputHistory

_BG = QColor("#fbfbfb")
_GRID = QColor("#e2e2e2")
_BAR = QColor(66, 165, 245, 110)
_LINE = QColor("#1565c0")
_TEXT = QColor("#333333")


def nice_top(value: float) -> float:
    """The smallest 1-2-5 step at or above value (at least 1 KiB/s), for the y axis."""
    value = max(1024.0, value)
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


class ThroughputGraph(QWidget):
    """Total speed over the last history.window seconds.

    Attributes:
        history: the per-second speeds shown (fed by the panel).
        paints: paint events handled so far (the benchmark checks repaints follow the tick, not the bytes).
    """

    def __init__(self, history: ThroughputHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.paints = 0
        self._clock = time.monotonic
        self.setMinimumSize(220, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip(f"Total download speed, one bar per second, last {history.window} s")

    def sizeHint(self) -> QSize:
        return QSize(420, 130)

    def sample(self, now: float, bytes_per_s: float) -> None:
        """Add a sample; repaint when it starts a new second."""
        if self.history.add(now, bytes_per_s):
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        painter = QPainter(self)
        try:
            self._paint(painter, self._clock())
        finally:
            painter.end()

    def _paint(self, painter: QPainter, now: float) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), _BG)
        metrics = painter.fontMetrics()
        left = metrics.horizontalAdvance("1000.0 MiB/s") + 6
        top, right, bottom = metrics.height() + 6, 8, metrics.height() + 4
        plot = QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))
        # the current second is still filling: show the complete ones, so the last bar never dips
        series = self.history.series(now - 1)
        window = len(series)
        y_top = nice_top(max(series))

        def y_of(value: float) -> float:
            return plot.bottom() - min(value, y_top) / y_top * plot.height()

        for i in range(3):
            value = y_top * i / 2
            y = y_of(value)
            painter.setPen(QPen(_GRID, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(_TEXT)
            painter.drawText(QRectF(0, y - 8, left - 4, 16), Qt.AlignmentFlag.AlignRight, format_speed(value))
        for seconds_ago in (60, 30):
            if seconds_ago <= window:
                x = plot.left() + (window - seconds_ago) / window * plot.width()
                painter.drawText(
                    QRectF(x, plot.bottom() + 2, 60, bottom), Qt.AlignmentFlag.AlignLeft, f"-{seconds_ago} s"
                )
        painter.drawText(QRectF(plot.right() - 60, plot.bottom() + 2, 60, bottom), Qt.AlignmentFlag.AlignRight, "now")

        width = plot.width() / window
        path = QPainterPath()
        for i, value in enumerate(series):
            x = plot.left() + i * width
            if value > 0:
                painter.fillRect(QRectF(x, y_of(value), max(1.0, width - 1), plot.bottom() - y_of(value)), _BAR)
            point = QPointF(x + width / 2, y_of(value))
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(_LINE, 1.6))
        painter.drawPath(path)

        painter.setPen(_TEXT)
        caption = f"total speed, last {window} s — now {format_speed(series[-1])}, peak {format_speed(max(series))}"
        painter.drawText(QRectF(left, 2, plot.width(), metrics.height() + 2), Qt.AlignmentFlag.AlignLeft, caption)
