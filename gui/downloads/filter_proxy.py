"""DownloadFilterProxy: sorts the download rows by raw values and filters them by state and by text.

Filtering and sorting stay live while downloads run (dynamicSortFilter): a row whose state changes enters or
leaves the filter at the next tick. Presentation only: which states make up "active" comes from core.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSortFilterProxyModel

from core.downloads import DownloadProgress, State
from core.downloads.model import RUNNING
from gui.downloads.table_model import SNAPSHOT_ROLE, SORT_ROLE, Index

# (label, states shown); None shows every state
STATE_FILTERS: tuple[tuple[str, frozenset[State] | None], ...] = (
    ("All", None),
    ("Active", RUNNING),
    ("Queued", frozenset({State.QUEUED})),
    ("Paused", frozenset({State.PAUSED})),
    ("Unfinished", frozenset(set(State) - {State.COMPLETED, State.CANCELLED})),
    ("Completed", frozenset({State.COMPLETED})),
    ("Failed", frozenset({State.FAILED})),
    ("Cancelled", frozenset({State.CANCELLED})),
)


class DownloadFilterProxy(QSortFilterProxyModel):
    """The rows the user asked to see, in the order asked.

    Attributes:
        text: case-insensitive words that must each appear in the name, URL, host or folder ("" shows all).
        states: the states shown, or None for all.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.states: frozenset[State] | None = None
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter(self, text: str, states: frozenset[State] | None) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.states = states
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self.states is None and not self.text:
            return True
        model = self.sourceModel()
        p = model.data(model.index(source_row, 0, source_parent), SNAPSHOT_ROLE)
        if not isinstance(p, DownloadProgress):
            return False
        if self.states is not None and p.state not in self.states:
            return False
        if self.text:
            haystack = f"{p.name}\n{p.url}\n{p.host}\n{p.folder}".lower()
            return all(word in haystack for word in self.text.split())
        return True
