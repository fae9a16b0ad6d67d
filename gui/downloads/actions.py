"""DownloadActions: what the user can do to the selected downloads, as QActions with shortcuts and a context menu.

Each action calls a plain engine method per selected download and returns; the outcome comes back as
snapshots. Questions (delete files? which speed limit?) are asked with open(), never exec(): a nested loop would
stall every download. Files and folders open through an injectable Opener, so tests never launch programs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QInputDialog, QMenu, QMessageBox, QWidget

from core.downloads import DownloadEngine, DownloadError, DownloadProgress, State
from core.downloads.display import display_name
from core.downloads.model import FINISHED, RUNNING

KIB = 1024
MAX_ITEM_LIMIT_KIB = 10 * 1024 * 1024


class Opener(Protocol):
    """Opens a file or folder with the desktop's default program."""

    def open_url(self, url: QUrl) -> bool: ...


class DesktopOpener:
    """The real opener: QDesktopServices."""

    def open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)


def _waiting_to_retry(p: DownloadProgress) -> bool:
    return p.state is State.QUEUED and p.next_try_at is not None


# name -> (label, shortcut, applies to this download?)
ACTIONS: dict[str, tuple[str, str, Callable[[DownloadProgress], bool]]] = {
    "pause": ("&Pause", "Ctrl+P", lambda p: p.state in RUNNING or p.state is State.QUEUED),
    "resume": ("&Resume", "Ctrl+R", lambda p: p.state is State.PAUSED or _waiting_to_retry(p)),
    "retry": ("Re&try", "Ctrl+Shift+R", lambda p: p.state in (State.FAILED, State.CANCELLED)),
    "cancel": ("&Cancel", "Ctrl+.", lambda p: p.state not in FINISHED),
    "open_file": ("&Open file", "Ctrl+O", lambda p: p.state is State.COMPLETED),
    "open_folder": ("Open &folder", "Ctrl+Shift+O", lambda p: True),
    "copy_url": ("Copy &URL", "Ctrl+C", lambda p: True),
    "speed_limit": ("Speed &limit…", "Ctrl+L", lambda p: p.state not in (State.COMPLETED, State.CANCELLED)),
    "remove": ("Re&move from list", "Delete", lambda p: True),
    "remove_delete": ("Remove and &delete file…", "Shift+Delete", lambda p: True),
}


class DownloadActions(QObject):
    """The actions on a view's selected downloads.

    Attributes:
        actions: name -> QAction (see ACTIONS), added to the view with shortcuts that work while it has focus.
        menu: the last context menu shown (tests drive it), or None.
        dialog: the last question asked (remove-and-delete or speed limit), or None.
    """

    def __init__(
        self,
        engine: DownloadEngine,
        view: QWidget,
        selected: Callable[[], list[DownloadProgress]],
        report: Callable[[str], None],
        opener: Opener,
    ) -> None:
        super().__init__(view)
        self.engine = engine
        self._view = view
        self._selected = selected
        self._report = report
        self.opener = opener
        self.menu: QMenu | None = None
        self.dialog: QWidget | None = None
        self.actions: dict[str, QAction] = {}
        for name, (label, keys, _applies) in ACTIONS.items():
            action = QAction(label, view)
            action.setShortcut(QKeySequence(keys))
            # only while the list has focus: Delete in the URL field must edit text, not remove downloads
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(getattr(self, name))
            view.addAction(action)
            self.actions[name] = action
        self.update_enabled()

    # -- state ----------------------------------------------------------------------------------------------

    def update_enabled(self) -> None:
        chosen = self._selected()
        for name, (_label, _keys, applies) in ACTIONS.items():
            self.actions[name].setEnabled(any(applies(p) for p in chosen))

    def show_menu(self, global_pos: QPoint) -> QMenu:
        """The context menu for the selection, shown with popup() (exec() would block the loop)."""
        self.update_enabled()
        menu = QMenu(self._view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        groups = (
            ("pause", "resume", "retry", "cancel"),
            ("open_file", "open_folder", "copy_url"),
            ("speed_limit",),
            ("remove", "remove_delete"),
        )
        for i, group in enumerate(groups):
            if i:
                menu.addSeparator()
            for name in group:
                menu.addAction(self.actions[name])
        menu.popup(global_pos)
        self.menu = menu
        return menu

    def _each(self, name: str, command: Callable[[int], None]) -> int:
        """Run command for each selected download the action applies to; report the first refusal."""
        applies = ACTIONS[name][2]
        done = 0
        for p in self._selected():
            if not applies(p):
                continue
            try:
                command(p.id)
            except DownloadError as exc:
                self._report(str(exc))
                continue
            done += 1
        return done

    # -- the commands ---------------------------------------------------------------------------------------

    def pause(self) -> None:
        self._each("pause", self.engine.pause)

    def resume(self) -> None:
        self._each("resume", self.engine.resume)

    def retry(self) -> None:
        self._each("retry", self.engine.retry)

    def cancel(self) -> None:
        self._each("cancel", self.engine.cancel)

    def remove(self) -> None:
        """Forget the selected downloads; their files stay (an unfinished .part cannot be resumed and goes)."""
        count = self._each("remove", lambda i: self.engine.remove(i, delete_file=False))
        if count:
            self._report(f"removed {count} download{'s' if count != 1 else ''} from the list; files kept")

    def remove_delete(self) -> QMessageBox | None:
        """Ask first, then forget the selected downloads and delete their files."""
        chosen = self._selected()
        if not chosen:
            return None
        ids = [p.id for p in chosen]
        what = f"“{display_name(chosen[0])}”" if len(chosen) == 1 else f"these {len(chosen)} downloads"
        box = QMessageBox(self._view)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Delete downloaded files?")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Remove {what} from the list and delete the file{'s' if len(chosen) != 1 else ''} from disk?")
        box.setInformativeText("Deleted files cannot be brought back.")
        delete = box.addButton("Delete files", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: QAbstractButton) -> None:
            if button is delete:
                for download_id in ids:
                    try:
                        self.engine.remove(download_id, delete_file=True)
                    except DownloadError as exc:
                        self._report(str(exc))

        box.buttonClicked.connect(answered)
        box.open()
        self.dialog = box
        return box

    def open_file(self) -> None:
        done = [p for p in self._selected() if p.state is State.COMPLETED]
        if not done:
            return
        path = Path(done[0].path)
        if not path.is_file():
            self._report(f"{path} is no longer there; it was moved or deleted")
            return
        if not self.opener.open_url(QUrl.fromLocalFile(str(path))):
            self._report(f"no program to open {path} was found")

    def open_folder(self) -> None:
        chosen = self._selected()
        if not chosen:
            return
        folder = Path(chosen[0].folder)
        if not folder.is_dir():
            self._report(f"the folder {folder} does not exist (yet); it is made on the first download into it")
            return
        if not self.opener.open_url(QUrl.fromLocalFile(str(folder))):
            self._report(f"no program to open the folder {folder} was found")

    def copy_url(self) -> None:
        urls = [p.url for p in self._selected()]
        if urls:
            QGuiApplication.clipboard().setText("\n".join(urls))
            self._report(f"copied {len(urls)} URL{'s' if len(urls) != 1 else ''}")

    def speed_limit(self) -> QInputDialog | None:
        """Ask for a speed limit for the selected downloads (KiB/s, 0: none) without blocking."""
        chosen = [p for p in self._selected() if ACTIONS["speed_limit"][2](p)]
        if not chosen:
            return None
        ids = [p.id for p in chosen]
        dialog = QInputDialog(self._view)
        dialog.setWindowTitle("Speed limit")
        dialog.setInputMode(QInputDialog.InputMode.IntInput)
        dialog.setIntRange(0, MAX_ITEM_LIMIT_KIB)
        dialog.setIntStep(64)
        dialog.setIntValue(chosen[0].rate_limit // KIB)
        who = f"“{display_name(chosen[0])}”" if len(chosen) == 1 else f"each of {len(chosen)} downloads"
        dialog.setLabelText(f"Speed limit for {who} in KiB/s (0: no limit of its own):")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen_limit(kib: int) -> None:
            for download_id in ids:
                try:
                    self.engine.set_item_rate_limit(download_id, kib * KIB)
                except DownloadError as exc:
                    self._report(str(exc))

        dialog.intValueSelected.connect(chosen_limit)
        dialog.open()
        self.dialog = dialog
        return dialog
