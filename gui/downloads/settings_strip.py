"""SettingsStrip: the download folder, connections, connections per server, the global speed limit and the clipboard
offer, inline under the list and applied while downloads run.

Every change goes through core's DownloadPreferences (checked, stored, then applied to the engine by its settings
listener); a refused value is shown in words next to the fields and the field goes back to the stored value.
The folder chooser opens with open(), never exec(): a nested loop would stall every download.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from core.downloads.limits import MAX_CONCURRENCY
from core.downloads.preferences import (
    CLIPBOARD_OFFER,
    CONCURRENCY,
    FOLDER,
    PER_HOST,
    RATE_LIMIT,
    DownloadPreferences,
)
from core.errors import SquallError

KIB = 1024
MAX_LIMIT_KIB = 10 * 1024 * 1024  # 10 GiB/s: anything above is "no limit" in practice


class SettingsStrip(QWidget):
    """Inline settings for the downloads.

    Attributes:
        prefs: the download settings it edits.
        folder_edit, folder_button, concurrency_spin, per_host_spin, limit_spin, offer_box: the fields.
        error: where a refused value is explained.
    """

    def __init__(self, prefs: DownloadPreferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.folder_edit = QLineEdit()
        self.folder_edit.setToolTip("New downloads go into this folder (it is created on the first download)")
        self.folder_button = QPushButton("Change…")
        self.concurrency_spin = self._spin(1, MAX_CONCURRENCY, " connections")
        self.concurrency_spin.setToolTip("Connections at once, segments of large files included")
        self.per_host_spin = self._spin(1, MAX_CONCURRENCY, " per server")
        self.limit_spin = self._spin(0, MAX_LIMIT_KIB, " KiB/s")
        self.limit_spin.setSpecialValueText("no speed limit")
        self.limit_spin.setToolTip("Total speed limit for all downloads together")
        self.limit_spin.setSingleStep(256)
        self.offer_box = QCheckBox("Offer to add copied links")
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c;")
        self.error.hide()
        self._dialog: QFileDialog | None = None

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.folder_button)
        grid.addWidget(QLabel("Save to"), 0, 0)
        grid.addLayout(folder_row, 0, 1, 1, 3)
        grid.addWidget(QLabel("Limits"), 1, 0)
        grid.addWidget(self.concurrency_spin, 1, 1)
        grid.addWidget(self.per_host_spin, 1, 2)
        grid.addWidget(self.limit_spin, 1, 3)
        grid.addWidget(self.offer_box, 2, 1, 1, 3)
        grid.addWidget(self.error, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        grid.setColumnStretch(3, 1)

        self.show_stored()
        self.folder_edit.editingFinished.connect(self._folder_edited)
        self.folder_button.clicked.connect(self.choose_folder)
        self.concurrency_spin.valueChanged.connect(lambda n: self._apply(prefs.set_concurrency, n))
        self.per_host_spin.valueChanged.connect(lambda n: self._apply(prefs.set_per_host, n))
        self.limit_spin.valueChanged.connect(lambda kib: self._apply(prefs.set_rate_limit, kib * KIB))
        self.offer_box.toggled.connect(lambda on: self._apply(prefs.set_clipboard_offer, on))
        listener = self._setting_changed
        prefs.settings.add_listener(listener)
        # the settings outlive this widget: stop listening before a change could reach a deleted widget
        self.destroyed.connect(lambda _obj=None: prefs.settings.remove_listener(listener))

    @staticmethod
    def _spin(low: int, high: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        spin.setKeyboardTracking(False)  # typed numbers apply on Enter or when leaving the field
        spin.setAccelerated(True)
        return spin

    def show_stored(self) -> None:
        """Show the stored values (without applying them again)."""
        prefs = self.prefs
        widgets: list[Any] = [self.folder_edit, self.concurrency_spin, self.per_host_spin, self.limit_spin]
        for widget in [*widgets, self.offer_box]:
            widget.blockSignals(True)
        try:
            self.folder_edit.setText(str(prefs.folder))
            options = prefs.engine_options()
            self.concurrency_spin.setValue(options["concurrency"])
            self.per_host_spin.setValue(options["per_host"])
            self.limit_spin.setValue(min(MAX_LIMIT_KIB, -(-options["rate_limit"] // KIB)))
            self.offer_box.setChecked(prefs.clipboard_offer)
        finally:
            for widget in [*widgets, self.offer_box]:
                widget.blockSignals(False)

    def _apply(self, setter: Any, value: Any) -> None:
        try:
            setter(value)
        except SquallError as exc:
            self.show_error(str(exc))
            self.show_stored()
            return
        self.show_error("")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def _folder_edited(self) -> None:
        text = self.folder_edit.text()
        if text.strip() == str(self.prefs.folder):
            return
        self.set_folder(text)

    def set_folder(self, folder: str) -> None:
        self._apply(self.prefs.set_folder, folder)

    def choose_folder(self) -> QFileDialog:
        """Ask for a folder without blocking; the choice applies when the dialog reports it."""
        dialog = QFileDialog(self, "Save downloads to", str(self.prefs.folder))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # the same dialog everywhere; never a nested loop
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.set_folder)
        dialog.open()
        self._dialog = dialog
        return dialog

    def _setting_changed(self, key: str, _value: Any) -> None:
        if key in (FOLDER, CONCURRENCY, PER_HOST, RATE_LIMIT, CLIPBOARD_OFFER):
            self.show_stored()
