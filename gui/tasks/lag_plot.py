"""LagPlot: the loop's lag over the last 60 seconds, painted by hand with QPainter (QtCharts is not installed).

One column per second: a bar to the second's max, lines through p99 and p50, seconds without a single beat
(the loop was frozen) in red, and the block threshold as a dashed line. It only paints what it is given.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.monitor import LagSecond

WINDOW = 60  # seconds shown
_BG = QColor("#fbfbfb")
_GRID = QColor("#e2e2e2")
_MAX = QColor("#9ecae1")
_P99 = QColor("#08519c")
_P50 = QColor("#41ab5d")
_FROZEN = QColor(220, 40, 40, 70)
_FROZEN_BAR = QColor("#d62728")
_THRESHOLD = QColor("#d62728")
_TEXT = QColor("#333333")


def nice_top(value: float) -> float:
    """The smallest 1-2-5 step at or above value (at least 10 ms), for the y axis."""
    value = max(10.0, value)
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


class LagPlot(QWidget):
    """The lag of the last WINDOW seconds.

    Attributes:
        threshold_ms: the block threshold drawn as a dashed line.
        seconds: the per-second statistics kept (newest last).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.threshold_ms = 100.0
        self.seconds: deque[LagSecond] = deque(maxlen=WINDOW * 2)
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("Loop lag per second: bar = max, dark line = p99, green line = p50. Red: the loop froze.")

    def sizeHint(self) -> QSize:
        return QSize(420, 170)

    def add(self, seconds: Sequence[LagSecond]) -> None:
        if seconds:
            self.seconds.extend(seconds)
            self.update()

    def set_threshold(self, ms: float) -> None:
        self.threshold_ms = ms
        self.update()

    def visible_seconds(self, now: float | None = None) -> list[LagSecond]:
        end = time.time() if now is None else now
        return [s for s in self.seconds if s.at > end - WINDOW - 1]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), _BG)
        metrics = painter.fontMetrics()
        left, top, right, bottom = metrics.horizontalAdvance("0000 ms") + 6, metrics.height() + 6, 8, 18
        plot = QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))
        now = time.time()
        shown = self.visible_seconds(now)
        peak = max([s.max_ms for s in shown] + [self.threshold_ms * 1.1])
        y_top = nice_top(peak)

        def x_of(t: float) -> float:
            return plot.left() + (t - (now - WINDOW)) / WINDOW * plot.width()

        def y_of(ms: float) -> float:
            return plot.bottom() - min(ms, y_top) / y_top * plot.height()

        painter.setPen(QPen(_GRID, 1))
        for i in range(5):
            value = y_top * i / 4
            y = y_of(value)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(_TEXT)
            painter.drawText(QRectF(0, y - 8, left - 4, 16), Qt.AlignmentFlag.AlignRight, f"{value:.0f} ms")
            painter.setPen(QPen(_GRID, 1))
        painter.setPen(_TEXT)
        for seconds_ago in (60, 45, 30, 15):
            x = x_of(now - seconds_ago)
            painter.drawText(
                QRectF(x - 30, plot.bottom() + 2, 60, 16), Qt.AlignmentFlag.AlignHCenter, f"-{seconds_ago} s"
            )
        painter.drawText(QRectF(plot.right() - 60, plot.bottom() + 2, 60, 16), Qt.AlignmentFlag.AlignRight, "now")

        width = max(1.0, plot.width() / WINDOW - 1)
        painter.setClipRect(plot)
        for second in shown:
            x = x_of(second.at)
            frozen = second.beats == 0
            if frozen:
                painter.fillRect(QRectF(x, plot.top(), width, plot.height()), _FROZEN)
            bar = QRectF(x, y_of(second.max_ms), width, plot.bottom() - y_of(second.max_ms))
            painter.fillRect(bar, _FROZEN_BAR if frozen else _MAX)
        for color, values in ((_P99, [s.p99_ms for s in shown]), (_P50, [s.p50_ms for s in shown])):
            path = QPainterPath()
            for i, (second, value) in enumerate(zip(shown, values, strict=True)):
                point = QPointF(x_of(second.at) + width / 2, y_of(value))
                if i == 0:
                    path.moveTo(point)
                else:
                    path.lineTo(point)
            painter.setPen(QPen(color, 1.6))
            painter.drawPath(path)
        pen = QPen(_THRESHOLD, 1, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawLine(QPointF(plot.left(), y_of(self.threshold_ms)), QPointF(plot.right(), y_of(self.threshold_ms)))
        painter.setClipping(False)

        painter.setPen(_TEXT)
        latest = shown[-1] if shown else None
        summary = (
            f"loop lag, last {WINDOW} s — now p50 {latest.p50_ms:.1f} · p99 {latest.p99_ms:.1f} · "
            f"max {latest.max_ms:.1f} ms"
            if latest
            else f"loop lag, last {WINDOW} s — waiting for the first second"
        )
        painter.drawText(QRectF(left, 2, plot.width(), metrics.height() + 2), Qt.AlignmentFlag.AlignLeft, summary)
