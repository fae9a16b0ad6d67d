"""PaintCounter: counts the paint events a widget receives (what a tick repaints). Used by the GUI tests and by the
tab benchmarks in bench/."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject


class PaintCounter(QObject):
    """Install with widget.installEventFilter(counter); `paints` counts the paint events since."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False
