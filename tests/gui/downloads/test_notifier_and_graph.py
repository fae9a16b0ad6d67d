"""Notifications for finished downloads (tray or status bar), the throughput graph and the progress bar's paint."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QLabel, QMainWindow, QStyleOptionViewItem, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from core.downloads import State
from core.downloads.model import SegmentProgress
from core.downloads.totals import ThroughputHistory
from gui.downloads.delegate import ProgressDelegate
from gui.downloads.notifier import Notifier, words
from gui.downloads.table_model import PROGRESS, DownloadTableModel
from gui.downloads.throughput_graph import ThroughputGraph, nice_top
from gui.tray import tray_available
from tests.core.downloads.snapshots import progress
from tests.gui.downloads.conftest import FakeTray, TabRig
from tests.helpers import wait_until

MIB = 1024 * 1024


def test_words_for_one_or_many() -> None:
    done = progress(1, name="a.iso", state=State.COMPLETED, received=3 * MIB)
    failed = progress(2, name="b.iso", state=State.FAILED, error="server said 404 Not Found")
    assert words([done]) == ("Download completed", "a.iso (3.0 MiB)")
    assert words([failed]) == ("Download failed", "b.iso: server said 404 Not Found")
    more = [progress(i, name=f"f{i}", state=State.COMPLETED) for i in range(3, 7)]
    assert words([done, failed, *more]) == ("5 downloads completed, 1 failed", "a.iso, b.iso, f3 and 3 more")


def test_tray_when_there_is_one_status_bar_otherwise_nothing_when_in_front(qtbot: QtBot) -> None:
    tray, statuses, state = FakeTray(), [], {"active": False, "tray": True}
    notifier = Notifier(
        lambda: state["active"], statuses.append, has_tray=lambda: state["tray"], make_tray=lambda: tray
    )
    done = progress(1, name="a.iso", state=State.COMPLETED)
    failed = progress(2, name="b.iso", state=State.FAILED, error="disk full")
    assert notifier.announce([]) is False
    assert notifier.announce([done]) is True
    assert notifier.announce([failed]) is True
    assert tray.messages == [
        ("Download completed", "a.iso (0 B)", QSystemTrayIcon.MessageIcon.Information),
        ("Download failed", "b.iso: disk full", QSystemTrayIcon.MessageIcon.Warning),
    ]
    state["active"] = True
    assert notifier.announce([done]) is False, "the user is looking at the window already"
    state.update(active=False, tray=False)
    assert notifier.announce([done]) is True
    assert statuses == ["Download completed: a.iso (0 B)"]
    assert len(tray.messages) == 2


def test_without_a_tray_no_tray_icon_is_ever_made(qtbot: QtBot) -> None:
    assert tray_available() is False, "offscreen has no system tray"
    statuses: list[str] = []
    notifier = Notifier(lambda: False, statuses.append)
    notifier.announce([progress(1, name="a", state=State.COMPLETED)])
    assert notifier.tray is None  # a QSystemTrayIcon here would make Qt warn (and fail this test)
    assert statuses == ["Download completed: a (0 B)"]


def test_a_download_finishing_while_the_window_is_inactive_is_announced(qtbot: QtBot, rig: TabRig) -> None:
    rig.server.add("note.bin", 2048)
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("elsewhere"))

    async def scenario() -> None:
        (first,) = rig.panel.add_text(rig.server.url("/f/note.bin"))
        await rig.until_state(first, "completed")
        await wait_until(lambda: rig.statuses, what="the status message")
        rig.has_tray = True
        (second,) = rig.panel.add_text(rig.server.url("/status/404"))
        await rig.until_state(second, "failed")
        await wait_until(lambda: rig.tray.messages, what="the tray message")

    rig.run(scenario())
    assert rig.statuses == ["Download completed: note.bin (2.0 KiB)"]
    assert rig.tray.messages == [("Download failed", "404: server said 404 Nope", QSystemTrayIcon.MessageIcon.Warning)]
    # the real fallback writes to the window's status bar (or the tab's notice line outside a main window)
    rig.panel.show_status("Download completed: x")
    assert rig.panel.notice.text() == "Download completed: x"
    window.setCentralWidget(rig.panel)
    rig.panel.show_status("Download completed: y")
    assert window.statusBar().currentMessage() == "Download completed: y"
    rig.panel.setParent(None)


def test_the_graph_scales_and_repaints_once_per_second(qtbot: QtBot) -> None:
    assert [nice_top(v) for v in (0, 1500, 2001, 7 * MIB)] == [2000.0, 2000.0, 5000.0, 10_000_000.0]
    history = ThroughputHistory(60)
    graph = ThroughputGraph(history)
    qtbot.addWidget(graph)
    graph.resize(480, 140)
    now = [1000.0]
    graph._clock = lambda: now[0]  # a fixed clock: the picture depends on nothing else
    graph.show()
    qtbot.waitExposed(graph)
    painted = graph.paints
    for tick in range(30):  # three seconds of samples at the panel's 10 per second
        graph.sample(now[0] + tick / 10, 5 * MIB)
    qtbot.wait(50)
    assert graph.paints - painted <= 3, "a repaint per new second, not per sample"
    now[0] = 1003.0
    image = graph.grab().toImage()
    assert image.size() == QSize(480, 140)
    bar_blue = sum(
        1
        for x in range(image.width() - 40, image.width() - 8)
        for y in range(40, image.height() - 30)
        if image.pixelColor(x, y).blue() > image.pixelColor(x, y).red() + 40
    )
    assert bar_blue > 100, "the last seconds show bars"


def test_the_progress_bar_paints_its_fraction_and_its_segments(qtbot: QtBot) -> None:
    model = DownloadTableModel()
    half = progress(1, total=1000, received=500, state=State.DOWNLOADING)
    parts = progress(
        2, total=1000, received=300, state=State.DOWNLOADING,
        segments=(SegmentProgress(0, 500, 300), SegmentProgress(500, 1000, 0)),
    )  # fmt: skip
    model.receive([half, parts])
    model.apply_pending()
    delegate = ProgressDelegate()

    def paint(row: int) -> QImage:
        image = QImage(200, 24, QImage.Format.Format_RGB32)
        image.fill(0xFFFFFF)
        option = QStyleOptionViewItem()
        option.rect = image.rect()
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(row, PROGRESS))
        painter.end()
        return image

    def filled(image: QImage, x: int) -> bool:
        colour = image.pixelColor(x, 6)
        return colour.blue() > 200 and colour.red() < 120

    first, second = paint(0), paint(1)
    assert filled(first, 20)
    assert filled(first, 90)
    assert not filled(first, 150)
    assert filled(second, 20), "segment 1 is 60% done"
    assert not filled(second, 80)
    assert not filled(second, 150), "segment 2 has nothing yet"
