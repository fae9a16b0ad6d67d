"""The main window: three tabs, a menu and a status bar. It composes panels and forwards; it decides nothing."""

from __future__ import annotations

import base64
import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from core.settings import Settings
from core.version import __version__
from gui.features import Feature
from gui.own_tab import Tabs

log = logging.getLogger("squall.app")


def window_title(profile_name: str, auto: bool) -> str:
    if profile_name == "default":
        return "Squall"
    suffix = " (default profile was in use)" if auto else ""
    return f"Squall — profile {profile_name}{suffix}"


class MainWindow(QMainWindow):
    """The one window.

    Attributes:
        tabs: the tab widget holding the Downloads, Chat and Tasks panels.

    Signals:
        quit_requested: the user asked to quit (menu, shortcut or the close button). The runtime stops the
            app in order and then calls allow_close() and close(); the window never closes itself under
            running work.
    """

    quit_requested = Signal()

    def __init__(self, settings: Settings, profile_name: str, auto_profile: bool, features: list[Feature]) -> None:
        super().__init__()
        self._settings = settings
        self._may_close = False
        self.setWindowTitle(window_title(profile_name, auto_profile))
        self.setObjectName("main_window")
        self.tabs = Tabs(self)
        self.setCentralWidget(self.tabs)
        for feature in features:
            self._add_feature(feature)
        self._profile_label = QLabel(f"profile: {profile_name}")
        self.statusBar().addPermanentWidget(self._profile_label)
        self.statusBar().showMessage("Ready")
        self._build_menu()
        self._restore_geometry()

    def _add_feature(self, feature: Feature) -> None:
        self.tabs.addTab(feature.panel, feature.title)
        for widget in feature.status_widgets:
            self.statusBar().addPermanentWidget(widget)

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # StandardKey.Quit is empty on some platforms
        self.quit_action.triggered.connect(self.quit_requested)
        file_menu.addAction(self.quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About Squall", self)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def show_about(self) -> QMessageBox:
        # open(), not exec(): a nested modal loop would stall every asyncio task on the shared loop.
        box = QMessageBox(self)
        box.setWindowTitle("About Squall")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(
            f"Squall {__version__}\n\nDownloads, chat and an asyncio monitor in one window, "
            "on one event loop (Qt + asyncio via qasync, Tornado for HTTP and WebSocket)."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _restore_geometry(self) -> None:
        saved = self._settings.get("window.geometry")
        if isinstance(saved, str) and self.restoreGeometry(base64.b64decode(saved)):
            return
        self.resize(1000, 650)

    def save_geometry(self) -> None:
        data = bytes(self.saveGeometry().data())
        self._settings.set("window.geometry", base64.b64encode(data).decode("ascii"))

    def allow_close(self) -> None:
        self._may_close = True

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ActivationChange:
            # Keys reach the window only once it is active; end-to-end tests wait for this line before typing.
            log.debug("window %s", "active" if self.isActiveWindow() else "inactive")
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
            return
        event.ignore()
        self.quit_requested.emit()
