"""Builds QApplication and the window's loop (gui/loop.py), runs Squall's window on it, and shuts it down in order.

Order of a run:
QApplication -> qasync loop -> AppCore and its components -> window -> wait for quit (menu, close button,
SIGINT, SIGTERM) -> hide -> stop components (bounded) -> close window -> the loop ends with main().
Qt never quits under a pending coroutine: setQuitOnLastWindowClosed(False) and main() decides when to end;
only a lost display ends Qt's loop by itself, and then the process exits at once (display_lost()).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import types
from pathlib import Path
from typing import NoReturn

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from core.app import AppCore, LaunchOptions
from core.profile import Profile
from core.version import __version__
from gui import qt_logging
from gui.features import build_features, components_in_start_order
from gui.loop import new_loop
from gui.main_window import MainWindow

log = logging.getLogger("squall.app")
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
EXIT_DISPLAY_LOST = 1  # Qt ended the event loop by itself (the X server or Wayland compositor went away)
SHUTDOWN_BUDGET = 1.5  # seconds for components to stop; the whole exit stays under 2 s


def _excepthook(kind: type[BaseException], exc: BaseException, tb: types.TracebackType | None) -> None:
    # An exception escaping a Qt slot would otherwise print and be forgotten; log it with its traceback.
    log.critical("unhandled exception in a Qt callback", exc_info=(kind, exc, tb))


def make_application(argv0: str = "squall") -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([argv0])
    app.setApplicationName("Squall")
    app.setApplicationVersion(__version__)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(QIcon(str(RESOURCES / "squall.svg")))
    return app


async def run_window(app: QApplication, core: AppCore) -> int:
    """Show the window and run until the user quits; then stop everything in order. Returns the exit code."""
    loop = asyncio.get_running_loop()
    quit_requested = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, quit_requested.set)

    features = build_features(core)
    await core.start(components_in_start_order(features))
    window = MainWindow(core.settings, core.profile.name, core.profile.auto, features)
    window.quit_requested.connect(quit_requested.set)
    window.show()
    # Everything built so far lives until quit: move it out of the collector's sight, so a full collection does
    # not walk it (one took 26 ms on the loop in the Chat tab's benchmark).
    gc.freeze()
    # Announce readiness once Qt has processed the show and first paint events.
    QTimer.singleShot(0, lambda: log.info("window ready: %s", window.windowTitle()))

    await quit_requested.wait()
    log.info("quitting")
    window.save_geometry()
    window.hide()
    await core.stop(SHUTDOWN_BUDGET)
    window.allow_close()
    window.close()
    window.deleteLater()
    gc.unfreeze()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
    return 0


def run(profile: Profile, options: LaunchOptions | None = None) -> int:
    """Run the GUI for an open profile; returns the process exit code."""
    qt_logging.install()
    sys.excepthook = _excepthook
    app = make_application(sys.argv[0] if sys.argv else "squall")
    core = AppCore(profile, options)
    with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
        try:
            return runner.run(run_window(app, core))
        except RuntimeError as exc:
            if "Event loop stopped before Future completed" not in str(exc):
                raise
            display_lost()


def display_lost() -> NoReturn:
    """Qt ended its event loop by itself: the display connection was lost (Qt logged why, as squall.qt).

    Nothing can run on this loop any more, not even the cancellation of its tasks (they would fail, loudly, for
    want of a running loop). So the process ends at once, as after kill -9, which Squall is built to survive:
    downloads resume from their last checkpoint, unsent chat messages wait in the outbox, locks go with the
    process.
    """
    log.error(
        "the window's event loop ended under Squall (display connection lost?); exiting without the usual shutdown"
    )
    logging.shutdown()
    os._exit(EXIT_DISPLAY_LOST)
