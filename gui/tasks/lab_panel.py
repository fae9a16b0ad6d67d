"""LabPanel: the loop lab's controls (N, delay, run) and its four results side by side, each style explained.

It forwards the click to LoopLab.run and shows the LabProgress snapshots that come back; it measures nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.monitor import STYLES, LabError, LabProgress, LoopLab
from core.monitor.lab import MAX_FETCHES
from gui.tasks.record_models import LabResultModel


class LabPanel(QWidget):
    """Run the same fetches four ways and compare.

    Attributes:
        fetches: N, the number of fetches per style.
        delay: the local server's delay per request, ms.
        run_button: starts a run of the four styles.
        status: the lab's one-line status.
        model: the four results.
        table: the results view.
    """

    def __init__(self, lab: LoopLab, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lab = lab
        self.fetches = QSpinBox()
        self.fetches.setRange(1, MAX_FETCHES)
        self.fetches.setValue(20)
        self.fetches.setPrefix("N = ")
        self.delay = QSpinBox()
        self.delay.setRange(0, 5000)
        self.delay.setValue(50)
        self.delay.setPrefix("server delay ")
        self.delay.setSuffix(" ms")
        self.run_button = QPushButton("Run the four styles")
        self.status = QLabel(lab.progress.message)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.model = LabResultModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 4 * 26 + 4)
        explanations = QLabel("\n\n".join(f"{s.title}: {s.explanation}" for s in STYLES))
        explanations.setTextFormat(Qt.TextFormat.PlainText)
        explanations.setWordWrap(True)
        explanations.setAlignment(Qt.AlignmentFlag.AlignTop)
        small = explanations.font()
        small.setPointSizeF(small.pointSizeF() * 0.9)
        explanations.setFont(small)

        controls = QHBoxLayout()
        controls.addWidget(self.fetches)
        controls.addWidget(self.delay)
        controls.addWidget(self.run_button)
        controls.addWidget(self.status, 1)
        results = QHBoxLayout()
        results.addWidget(self.table, 3)
        results.addWidget(explanations, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(results, 1)

        self.run_button.clicked.connect(self.run)
        lab.add_listener(self.show_progress)
        self.show_progress(lab.progress)

    def run(self) -> None:
        try:
            self._lab.run(self.fetches.value(), self.delay.value())
        except LabError as exc:
            self.status.setText(str(exc))
            return
        self.run_button.setEnabled(False)  # at once: the run's first progress comes a loop turn later

    def show_progress(self, progress: LabProgress) -> None:
        self.model.set_progress(progress)
        self.run_button.setEnabled(not progress.running)
        self.status.setText(progress.message)
