"""Notifier: tells the user a download completed or failed while the window was not in front.

A tray message (QSystemTrayIcon.showMessage) where the desktop has a system tray; otherwise, quietly, a status
bar message (Xvfb and the offscreen platform have no tray, and creating a tray icon there makes Qt warn).
It only words what it is handed; which downloads just finished is core's Tally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from core.downloads import DownloadProgress, State
from core.downloads.display import display_name, format_bytes

MESSAGE_MS = 8000
MAX_NAMES = 3


class Tray(Protocol):
    """What the notifier needs of a tray icon (QSystemTrayIcon; a fake in tests)."""

    def showMessage(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None: ...


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


def words(finished: list[DownloadProgress]) -> tuple[str, str]:
    """(title, body) for a batch of downloads that just completed or failed."""
    done = [p for p in finished if p.state is State.COMPLETED]
    failed = [p for p in finished if p.state is State.FAILED]
    if len(finished) == 1:
        p = finished[0]
        name = display_name(p)
        if p.state is State.COMPLETED:
            return "Download completed", f"{name} ({format_bytes(p.received)})"
        return "Download failed", f"{name}: {p.error}"
    parts = []
    if done:
        parts.append(f"{len(done)} download{'s' if len(done) != 1 else ''} completed")
    if failed:
        parts.append(f"{len(failed)} failed")
    names = [display_name(p) for p in finished[:MAX_NAMES]]
    more = len(finished) - len(names)
    return ", ".join(parts), ", ".join(names) + (f" and {more} more" if more else "")


class Notifier(QObject):
    """Announces finished downloads when the window is inactive.

    Attributes:
        tray: the tray icon once one was needed and the desktop has a tray, else None.

    Signals:
        clicked: the user clicked a tray message (the panel brings the window forward).
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
        self._make_tray = make_tray or self._real_tray
        self.tray: Tray | None = None

    def _real_tray(self) -> Tray:
        icon = QSystemTrayIcon(QApplication.windowIcon(), self)
        icon.setToolTip("Squall downloads")
        icon.messageClicked.connect(self.clicked)
        icon.show()
        return icon

    def announce(self, finished: list[DownloadProgress]) -> bool:
        """Tell the user about finished downloads unless the window is in front; True when something was said."""
        if not finished or self._is_active():
            return False
        title, body = words(finished)
        if self._has_tray():
            if self.tray is None:
                self.tray = self._make_tray()
            any_failed = any(p.state is State.FAILED for p in finished)
            icon = QSystemTrayIcon.MessageIcon.Warning if any_failed else QSystemTrayIcon.MessageIcon.Information
            self.tray.showMessage(title, body, icon, MESSAGE_MS)
        else:
            self._status(f"{title}: {body}")
        return True
