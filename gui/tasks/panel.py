"""TasksPanel: the Tasks tab. Composes the task views, the detail pane, the lag plot, the finished and blocked
lists and the loop lab; forwards clicks to the Monitor. Holds no logic beyond presentation.

Updates arrive from the monitor about twice a second and are applied by a timer (never per event); every
signal is wired in _connect_signals. Dialogs open with open(), never exec(): a nested loop would stall the
event loop this tab is watching.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from core.monitor import (
    BlockRecord,
    FinishedTask,
    LagSecond,
    LoopLab,
    Monitor,
    MonitorError,
    MonitorUpdate,
    TaskSnapshot,
)
from core.monitor.monitor import THRESHOLD_SETTING
from core.monitor.watchdog import MAX_THRESHOLD_MS, MIN_THRESHOLD_MS
from core.settings import Settings
from gui.status_label import StatusLabel
from gui.tasks.lab_panel import LabPanel
from gui.tasks.lag_plot import LagPlot
from gui.tasks.record_models import RECORD_ROLE, BlockTableModel, FinishedTableModel
from gui.tasks.task_models import (
    AGE,
    NAME,
    OWNER,
    STATE,
    TASK_ID_ROLE,
    UNOWNED,
    WHAT,
    WHERE,
    GroupedTaskModel,
    TaskFilterProxy,
    TaskTableModel,
)

REFRESH_MS = 250  # how often pending updates are applied to the views
FINISHED_LIMIT = 1000
BLOCK_LIMIT = 200


class TasksPanel(QWidget):
    """Every task in the app, the loop's pulse, who blocked it, and the loop lab.

    Attributes:
        monitor: the core Monitor this tab shows and commands.
        task_model, grouped_model: the same live tasks, flat and grouped by owner.
        proxy: filters (text, owner) and sorts whichever of the two is shown.
        view: the task view.
        detail: the selected task's (or record's) full text.
        finished_model, block_model: finished tasks and loop blocks, newest first.
        lag_plot: the last 60 s of loop lag.
        lab_panel: the loop lab.
        status_label: a short summary for the window's status bar.
        message: the last notice or error for the user.
    """

    def __init__(
        self,
        monitor: Monitor,
        lab: LoopLab,
        *,
        settings: Settings | None = None,
        export_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self._settings = settings
        self._export_dir = export_dir or Path.home()
        self._pending: MonitorUpdate | None = None
        self._pending_finished: deque[FinishedTask] = deque(maxlen=FINISHED_LIMIT)
        self._pending_lag: list[LagSecond] = []
        self._pending_blocks: deque[BlockRecord] = deque(maxlen=BLOCK_LIMIT)
        self._selected: int | None = None  # the selected task's id
        self._shown: TaskSnapshot | None = None  # the snapshot whose stack the detail pane shows
        self._task_count = 0

        self._build(lab)
        self._connect_signals()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.apply_pending)
        self.timer.start()
        monitor.add_listener(self.receive)

    # -- construction ------------------------------------------------------------------------------------------

    def _build(self, lab: LoopLab) -> None:
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter tasks by name, owner, what, where…")
        self.filter_edit.setClearButtonEnabled(True)
        self.owner_combo = QComboBox()
        self.owner_combo.addItem("All owners", None)
        self.owner_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.group_box = QCheckBox("Group by owner")
        self.cancel_button = QPushButton("Cancel task")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export trace…")
        self.export_button.setToolTip("Write tasks and lag as Chrome trace JSON (ui.perfetto.dev, chrome://tracing)")

        self.task_model = TaskTableModel(self)
        self.grouped_model = GroupedTaskModel(self)
        self.proxy = TaskFilterProxy(self)
        self.proxy.setSourceModel(self.task_model)
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)  # thousands of rows stay cheap to lay out
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(AGE, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        for column, width in ((NAME, 170), (OWNER, 80), (WHAT, 200), (STATE, 75), (AGE, 60), (WHERE, 260)):
            self.view.setColumnWidth(column, width)

        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.detail.setPlaceholderText("Select a task to see its full stack, or a finished task or a block.")
        self.lag_plot = LagPlot()
        self.lag_plot.set_threshold(self.monitor.block_threshold_ms)

        self.finished_model = FinishedTableModel(FINISHED_LIMIT, self)
        self.finished_view = self._table(self.finished_model)
        self.block_model = BlockTableModel(BLOCK_LIMIT, self)
        self.block_view = self._table(self.block_model)
        self.threshold_spin = QSpinBox()
        self.threshold_spin.setRange(MIN_THRESHOLD_MS, MAX_THRESHOLD_MS)
        self.threshold_spin.setValue(round(self.monitor.block_threshold_ms))
        self.threshold_spin.setPrefix("a block is a beat late by more than ")
        self.threshold_spin.setSuffix(" ms")
        self.threshold_spin.setKeyboardTracking(False)  # typed values apply on Enter, not per keystroke
        self.lab_panel = LabPanel(lab)

        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.status_label = StatusLabel("tasks: –")

        toolbar = QHBoxLayout()
        toolbar.addWidget(self.filter_edit, 2)
        toolbar.addWidget(self.owner_combo)
        toolbar.addWidget(self.group_box)
        toolbar.addWidget(self.cancel_button)
        toolbar.addWidget(self.export_button)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.lag_plot)
        right.addWidget(self.detail)
        right.setStretchFactor(1, 1)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.view)
        top.addWidget(right)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([720, 480])
        blocked = QWidget()
        blocked_layout = QVBoxLayout(blocked)
        blocked_layout.setContentsMargins(0, 0, 0, 0)
        blocked_layout.addWidget(self.threshold_spin)
        blocked_layout.addWidget(self.block_view)
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.finished_view, "Finished")
        self.lower_tabs.addTab(blocked, "Loop blocked")
        self.lower_tabs.addTab(self.lab_panel, "Loop lab")
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(toolbar)
        upper_layout.addWidget(top, 1)
        upper_layout.addWidget(self.message)
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(upper)
        outer.addWidget(self.lower_tabs)
        outer.setStretchFactor(0, 3)
        outer.setStretchFactor(1, 2)
        outer.setSizes([430, 300])
        layout = QVBoxLayout(self)
        layout.addWidget(outer)

    @staticmethod
    def _table(model: FinishedTableModel | BlockTableModel) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.verticalHeader().hide()
        view.horizontalHeader().setStretchLastSection(True)
        view.setWordWrap(False)
        return view

    def _connect_signals(self) -> None:
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.owner_combo.currentIndexChanged.connect(self._apply_filter)
        self.group_box.toggled.connect(self.set_grouped)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.export_button.clicked.connect(self.ask_export)
        self.view.selectionModel().currentChanged.connect(self._task_selected)
        self.finished_view.selectionModel().currentChanged.connect(self._record_selected)
        self.block_view.selectionModel().currentChanged.connect(self._record_selected)
        self.threshold_spin.valueChanged.connect(self._threshold_changed)
        self.proxy.rowsInserted.connect(self._expand_new_groups)

    # -- updates from the monitor ------------------------------------------------------------------------------

    def receive(self, update: MonitorUpdate) -> None:
        """Monitor listener: keep the update for the next refresh (the timer applies it)."""
        self._pending = update
        self._pending_finished.extend(update.finished)
        self._pending_lag.extend(update.lag)
        self._pending_blocks.extend(update.blocks)
        for notice in update.notices:
            self.show_message(notice)

    def apply_pending(self) -> None:
        update, self._pending = self._pending, None
        if update is not None:
            self._task_count = len(update.tasks)
            self.task_model.update(update.tasks, update.taken_at)
            self.grouped_model.update(update.tasks, update.taken_at)
            self.view.viewport().update()  # ages moved on (see task_models: no dataChanged for them)
            self._update_owners(update.tasks)
            self._refresh_detail()
        if self._pending_finished:
            self.finished_model.add(list(self._pending_finished))
            self._pending_finished.clear()
        if self._pending_blocks:
            self.block_model.add(list(self._pending_blocks))
            self._pending_blocks.clear()
        if self._pending_lag:
            self.lag_plot.add(self._pending_lag)
            self._pending_lag = []
        if update is not None or self.lag_plot.seconds:
            latest = self.lag_plot.seconds[-1] if self.lag_plot.seconds else None
            lag = f" · loop lag p99 {latest.p99_ms:.0f} ms" if latest else ""
            self.status_label.setText(f"tasks: {self._task_count}{lag}")

    def _update_owners(self, tasks: tuple[TaskSnapshot, ...]) -> None:
        present = {self.owner_combo.itemData(i) for i in range(1, self.owner_combo.count())}
        for owner in sorted({t.owner for t in tasks} - present):
            self.owner_combo.addItem(owner or UNOWNED, owner)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    # -- filtering and grouping --------------------------------------------------------------------------------

    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.filter_edit.text(), self.owner_combo.currentData())

    def set_grouped(self, grouped: bool) -> None:
        """Show the tasks grouped by owner (a tree) or flat; the selected task stays selected."""
        selected = self._selected
        self.proxy.setSourceModel(self.grouped_model if grouped else self.task_model)
        self.view.setRootIsDecorated(grouped)
        if grouped:
            self.view.expandAll()
        if self.group_box.isChecked() != grouped:
            self.group_box.setChecked(grouped)
        if selected is not None:
            self.select_task(selected)

    def _expand_new_groups(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        if self.group_box.isChecked() and not parent.isValid():
            for row in range(first, last + 1):
                self.view.expand(self.proxy.index(row, 0))

    def select_task(self, task_id: int) -> bool:
        """Select the task with this id in the view; False when it is not shown."""
        matches = self.proxy.match(
            self.proxy.index(0, 0),
            TASK_ID_ROLE,
            task_id,
            1,
            Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive,
        )
        if not matches:
            return False
        self.view.setCurrentIndex(matches[0])
        return True

    # -- selection and detail ---------------------------------------------------------------------------------

    def selected_task(self) -> TaskSnapshot | None:
        index = self.proxy.mapToSource(self.view.currentIndex())
        if not index.isValid():
            return None
        source = self.proxy.sourceModel()
        if isinstance(source, GroupedTaskModel):
            return source.snapshot(index)
        return self.task_model.snapshot(index.row())

    def _task_selected(self, current: QModelIndex | QPersistentModelIndex, _previous: object = None) -> None:
        snap = self.selected_task()
        self._selected = snap.id if snap is not None else None
        self.cancel_button.setEnabled(snap is not None)
        self._shown = None
        self._refresh_detail()

    def _refresh_detail(self) -> None:
        if self._selected is None:
            return
        snap = self.selected_task()
        if snap is None or snap.id != self._selected:
            return
        if snap is self._shown:
            return  # the task has not moved since its stack was shown
        self._shown = snap
        try:
            stack = self.monitor.stack(snap.id)
        except MonitorError as exc:
            self.detail.setPlainText(str(exc))
            return
        head = f"{snap.name} — {snap.what}\nowner: {snap.owner or UNOWNED} · state: {snap.state}"
        if snap.critical:
            head += " · Squall relies on it"
        self.detail.setPlainText(f"{head}\n\n{stack.format()}")

    def _record_selected(self, current: QModelIndex | QPersistentModelIndex, _previous: object = None) -> None:
        record = current.data(RECORD_ROLE) if current.isValid() else None
        if isinstance(record, FinishedTask):
            self._selected = None
            lived = record.ended - record.started
            text = (
                f"{record.name} — {record.what}\nowner: {record.owner or UNOWNED} · ended after {lived:.3f} s\n"
                f"outcome: {record.outcome}: {record.detail}"
            )
            self.detail.setPlainText(text + (f"\n\n{record.traceback}" if record.traceback else ""))
        elif isinstance(record, BlockRecord):
            self._selected = None
            self.detail.setPlainText(record.format())

    # -- commands ---------------------------------------------------------------------------------------------

    def cancel_selected(self) -> QMessageBox | None:
        """Cancel the selected task; for one Squall relies on, ask first (returns the open question)."""
        snap = self.selected_task()
        if snap is None:
            return None
        if not snap.critical:
            self._cancel(snap.id, confirmed=False)
            return None
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Cancel a task Squall relies on?")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"“{snap.name}” ({snap.what}) is a task Squall relies on.")
        box.setInformativeText("Cancelling it may stop part of Squall until you restart it. Cancel it anyway?")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        task_id = snap.id

        def answered(button: QAbstractButton) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self._cancel(task_id, confirmed=True)

        box.buttonClicked.connect(answered)
        box.open()
        return box

    def _cancel(self, task_id: int, *, confirmed: bool) -> None:
        try:
            self.monitor.cancel(task_id, confirmed=confirmed)
        except MonitorError as exc:
            self.show_message(str(exc))
            return
        self.show_message(f"cancel requested for task #{task_id}; its outcome appears under Finished")

    def ask_export(self) -> QFileDialog:
        """Ask where to write the trace (non-blocking); the monitor writes it and reports back."""
        dialog = QFileDialog(
            self, "Export tasks and loop lag as a trace", str(self._export_dir / "squall-trace.json"), "JSON (*.json)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # same dialog everywhere; never a nested loop
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_to)
        dialog.open()
        return dialog

    def export_to(self, path: str) -> None:
        self.monitor.export_trace(path)
        self.show_message(f"writing the trace to {path}…")

    def _threshold_changed(self, ms: int) -> None:
        try:
            if self._settings is not None:
                self._settings.set(THRESHOLD_SETTING, ms)  # the monitor follows the setting
            else:
                self.monitor.set_block_threshold(ms)
        except MonitorError as exc:
            self.show_message(str(exc))
        self.lag_plot.set_threshold(self.monitor.block_threshold_ms)
