"""gui/tray.py: the tabs' notices share one tray icon, and a click goes to the notifier that showed the message."""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from gui import tray


class FakeTray:
    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def showMessage(self, title: str, body: str, icon: QSystemTrayIcon.MessageIcon, msecs: int) -> None:
        self.shown.append((title, body))


def test_a_click_goes_to_the_notifier_that_showed_the_last_message(qtbot: QtBot) -> None:
    shared = FakeTray()
    said: list[str] = []
    downloads = tray.TrayNotifier(lambda: False, said.append, has_tray=lambda: True, make_tray=lambda: shared)
    chat = tray.TrayNotifier(lambda: False, said.append, has_tray=lambda: True, make_tray=lambda: shared)
    info = QSystemTrayIcon.MessageIcon.Information
    downloads.say("Download completed", "a.iso (1.0 GB)", info, 1000)
    with qtbot.waitSignal(downloads.clicked), qtbot.assertNotEmitted(chat.clicked):
        tray._Shared._clicked()
    chat.say("bob in #lobby", "hi", info, 1000)
    with qtbot.waitSignal(chat.clicked), qtbot.assertNotEmitted(downloads.clicked):
        tray._Shared._clicked()
    assert shared.shown == [("Download completed", "a.iso (1.0 GB)"), ("bob in #lobby", "hi")]
    assert said == []


def test_without_a_tray_a_notice_is_a_status_line_and_no_icon_is_made() -> None:
    said: list[str] = []
    made: list[FakeTray] = []
    notifier = tray.TrayNotifier(
        lambda: False, said.append, has_tray=lambda: False, make_tray=lambda: made.append(FakeTray()) or made[-1]
    )
    notifier.say("Download failed", "a.iso: server said 404 Not Found", QSystemTrayIcon.MessageIcon.Warning, 1000)
    assert said == ["Download failed: a.iso: server said 404 Not Found"]
    assert made == []
    assert notifier.tray is None
