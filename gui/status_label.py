"""StatusLabel: a status-bar label that makes room for longer text but does not give it back at every tick.

The Downloads and Tasks totals change several times a second ("↓ 431.2 MiB/s", a lag in ms). A plain QLabel
resizes with each new width, the status bar lays out again and every label beside it moves and repaints: the
whole bar, ten times a second, and numbers that jitter sideways. This one keeps its widest recent width and
shrinks only when the text has become much shorter (a run of downloads ended).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

SHRINK_BELOW = 0.6  # give the room back once the text needs less than this share of it


class StatusLabel(QLabel):
    def setText(self, text: str) -> None:
        super().setText(text)
        margins = self.contentsMargins()
        needed = self.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right() + 2 * self.margin()
        held = self.minimumWidth()
        if needed > held or needed < held * SHRINK_BELOW:
            self.setMinimumWidth(needed)
