"""Notifier: tells the user a download completed or failed while the window was not in front.

Through gui/tray.py: a message from the app's one tray icon, or a status-bar line where there is no tray.
It only words what it is handed; which downloads just finished is core's Tally.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon

from core.downloads import DownloadProgress, State
from core.downloads.display import display_name, format_bytes
from gui.tray import TrayNotifier

MESSAGE_MS = 8000
MAX_NAMES = 3


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


class Notifier(TrayNotifier):
    """Announces finished downloads when the window is inactive (TrayNotifier: tray, clicked, construction)."""

    def announce(self, finished: list[DownloadProgress]) -> bool:
        """Tell the user about finished downloads unless the window is in front; True when something was said."""
        if not finished or self._is_active():
            return False
        title, body = words(finished)
        any_failed = any(p.state is State.FAILED for p in finished)
        icon = QSystemTrayIcon.MessageIcon.Warning if any_failed else QSystemTrayIcon.MessageIcon.Information
        self.say(title, body, icon, MESSAGE_MS)
        return True
