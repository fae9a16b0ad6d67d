"""Desktop notices for the tabs: a tray message where the desktop has a system tray, a status-bar line elsewhere.

The app has one tray icon, made on first use and shared by every notifier (two tabs must not put two Squall
icons in the tray); a click on a message goes to the notifier that showed it. Xvfb and the offscreen platform
have no tray, and making a tray icon there makes Qt warn, so there nothing touches QSystemTrayIcon.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon


class Tray(Protocol):
    """What a notifier needs of a tray icon (QSystemTrayIcon; a fake in tests)."""

    def showMessage(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None: ...


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class _Shared:
    """The app's one tray icon and the notifier whose message it shows last."""

    icon: QSystemTrayIcon | None = None
    speaker: TrayNotifier | None = None

    @classmethod
    def get(cls) -> QSystemTrayIcon:
        if cls.icon is None:
            icon = QSystemTrayIcon(QApplication.windowIcon(), QApplication.instance())
            icon.setToolTip("Squall")
            icon.messageClicked.connect(cls._clicked)
            icon.destroyed.connect(cls._gone)
            icon.show()
            cls.icon = icon
        return cls.icon

    @classmethod
    def _clicked(cls) -> None:
        if cls.speaker is not None:
            cls.speaker.clicked.emit()

    @classmethod
    def _gone(cls) -> None:
        cls.icon = cls.speaker = None


class TrayNotifier(QObject):
    """Says one notice at a time, through the tray or the status bar; subclasses decide what and when.

    Attributes:
        tray: the tray icon once one was needed and the desktop has a tray, else None.

    Signals:
        clicked(): the user clicked a message this notifier showed (the panel brings the window forward).
    """

    clicked = Signal()

    def __init__(
        self,
        is_active: Callable[[], bool],
        status: Callable[[str], None],
        *,
        has_tray: Callable[[], bool] = tray_available,
        make_tray: Callable[[], Tray] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._is_active = is_active
        self._status = status
        self._has_tray = has_tray
        self._make_tray = make_tray or _Shared.get
        self.tray: Tray | None = None

    def say(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None:
        """Show a notice: a tray message when the desktop has a tray, else a passing status-bar line."""
        if not self._has_tray():
            self._status(f"{title}: {body}")
            return
        if self.tray is None:
            self.tray = self._make_tray()
        _Shared.speaker = self
        self.tray.showMessage(title, body, icon, msecs)
