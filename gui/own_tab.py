"""Let a panel rename or raise its own tab (unread counts, a drop elsewhere) without holding the window.

The tab widget is found by walking up the parents at call time, so a panel keeps no reference to the window
(a stored setter closing over the window would keep it alive after close).
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget


def owning_tabs(panel: QWidget) -> QTabWidget | None:
    parent = panel.parentWidget()
    while parent is not None and not isinstance(parent, QTabWidget):
        parent = parent.parentWidget()
    return parent


def set_own_tab_title(panel: QWidget, title: str) -> None:
    """Set the title of the tab that holds panel; a no-op while panel is not in a QTabWidget."""
    tabs = owning_tabs(panel)
    if tabs is not None:
        tabs.setTabText(tabs.indexOf(panel), title)


def show_own_tab(panel: QWidget) -> None:
    """Bring the tab that holds panel to the front."""
    tabs = owning_tabs(panel)
    if tabs is not None:
        tabs.setCurrentWidget(panel)
