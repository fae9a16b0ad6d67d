"""The window's tab widget, and how a panel renames or raises its own tab (unread counts, a drop elsewhere)
without holding the window.

The tab widget is found by walking up the parents at call time, so a panel keeps no reference to the window
(a stored setter closing over the window would keep it alive after close).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionTabWidgetFrame, QTabWidget, QWidget


class Tabs(QTabWidget):
    """A QTabWidget (document mode) whose tab renames and layout requests repaint only what moved.

    QTabWidget answers every layout request (a tab renamed, a label in a panel growing) by placing its tab bar and
    pages again and then repainting itself whole, with every page under it: ~20 ms with the Downloads list on
    screen, at every change of the "Downloads (N)" count. In document mode the widget paints nothing of its own,
    so placing the children is enough; a child whose geometry changes repaints itself.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and self._place_children():
            return True
        return super().event(event)

    def _place_children(self) -> bool:
        """What QTabWidget does on a layout request, without its repaint; False where that repaint is needed."""
        if not self.isVisible() or not self.documentMode() or self.cornerWidget() is not None:
            return False
        option = QStyleOptionTabWidgetFrame()
        self.initStyleOption(option)
        style = self.style()
        self.tabBar().setGeometry(style.subElementRect(QStyle.SubElement.SE_TabWidgetTabBar, option, self))
        pages = self.findChild(QWidget, "qt_tabwidget_stackedwidget", Qt.FindChildOption.FindDirectChildrenOnly)
        if pages is None:
            return False
        pages.setGeometry(style.subElementRect(QStyle.SubElement.SE_TabWidgetTabContents, option, self))
        self.updateGeometry()
        return True


def owning_tabs(panel: QWidget) -> QTabWidget | None:
    parent = panel.parentWidget()
    while parent is not None and not isinstance(parent, QTabWidget):
        parent = parent.parentWidget()
    return parent


def set_own_tab_title(panel: QWidget, title: str) -> None:
    """Set the title of the tab that holds panel; a no-op while panel is not in a QTabWidget.

    Through the tab bar: QTabWidget.setTabText would repaint the whole window (see Tabs).
    """
    tabs = owning_tabs(panel)
    if tabs is not None:
        tabs.tabBar().setTabText(tabs.indexOf(panel), title)


def show_own_tab(panel: QWidget) -> None:
    """Bring the tab that holds panel to the front."""
    tabs = owning_tabs(panel)
    if tabs is not None:
        tabs.setCurrentWidget(panel)
