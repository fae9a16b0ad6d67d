"""What a tick may repaint: a renamed tab repaints the tab strip, not the pages (gui/own_tab.Tabs); a status
total that changes width by a digit does not move its neighbours (gui/status_label.StatusLabel)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from gui.own_tab import Tabs, set_own_tab_title
from gui.status_label import StatusLabel
from tests.gui.paints import PaintCounter


def _window_with_tabs(qtbot: QtBot) -> tuple[Tabs, QWidget, QLabel]:
    tabs = Tabs()
    qtbot.addWidget(tabs)
    panel = QWidget()
    layout = QVBoxLayout(panel)
    content = QLabel("the page")
    layout.addWidget(content)
    tabs.addTab(panel, "Downloads")
    tabs.addTab(QWidget(), "Chat")
    tabs.resize(640, 400)
    tabs.show()
    qtbot.waitExposed(tabs)
    QApplication.processEvents()
    tabs.repaint()  # paint everything pending now, so the counters below see only what follows
    return tabs, panel, content


def test_renaming_a_tab_repaints_the_tab_bar_and_not_the_page(qtbot: QtBot) -> None:
    tabs, panel, content = _window_with_tabs(qtbot)
    page_paints, bar_paints = PaintCounter(), PaintCounter()
    content.installEventFilter(page_paints)
    tabs.tabBar().installEventFilter(bar_paints)
    width_before = tabs.tabBar().tabRect(0).width()

    set_own_tab_title(panel, "Downloads (16)")
    qtbot.waitUntil(lambda: bar_paints.paints > 0, timeout=2000)
    qtbot.waitUntil(lambda: tabs.tabBar().tabRect(0).width() > width_before, timeout=2000)
    QWidget.repaint(tabs.tabBar())  # everything pending has been painted by now

    assert tabs.tabText(0) == "Downloads (16)"
    assert page_paints.paints == 0, "a rename must not repaint the page under the tabs"
    assert tabs.tabBar().geometry().right() >= tabs.tabBar().tabRect(1).right()  # the longer tab fits


def test_pages_still_follow_the_tab_widget_and_their_own_layouts(qtbot: QtBot) -> None:
    tabs, panel, content = _window_with_tabs(qtbot)
    tabs.resize(800, 500)
    qtbot.waitUntil(lambda: panel.width() >= 790 and panel.height() > 400, timeout=2000)
    button = QPushButton("late")
    panel.layout().addWidget(button)
    qtbot.waitUntil(lambda: button.isVisible() and button.geometry().top() > content.geometry().top(), timeout=2000)


def test_status_label_grows_but_ignores_small_shrinks(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    label = StatusLabel("↓ 0 B/s")
    neighbour = QLabel("profile: default")
    window.statusBar().addPermanentWidget(label)
    window.statusBar().addPermanentWidget(neighbour)
    window.resize(900, 300)
    window.show()
    qtbot.waitExposed(window)

    label.setText("↓ 431.2 MiB/s · 16 active · 984 queued")
    qtbot.waitUntil(lambda: label.width() >= label.sizeHint().width(), timeout=2000)
    wide, neighbour_at = label.minimumWidth(), neighbour.x()
    label.setText("↓ 31.2 MiB/s · 16 active · 984 queued")  # one digit less: nothing moves
    QWidget.repaint(window)
    assert label.minimumWidth() == wide
    assert neighbour.x() == neighbour_at
    label.setText("idle")  # much shorter: the room goes back
    assert label.minimumWidth() < wide / 2
