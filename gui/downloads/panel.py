"""DownloadsPanel: the Downloads tab. Composes the URL field, the clipboard offer, the filterable list, the
throughput graph and the settings strip; forwards clicks, drops and pastes to the engine.

Snapshots from the engine are stored by the model and applied by one timer at the engine's tick (never per
byte); the same tick feeds the totals, the graph and the notifications. Reading text into URLs, duplicates,
totals and settings checks are core's (core/downloads/intake.py, totals.py, preferences.py); every signal is
wired in _connect_signals. Dialogs open with open(), never exec().
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QMimeData, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.downloads import DownloadEngine, DownloadError, DownloadProgress, State
from core.downloads.display import format_duration, format_speed
from core.downloads.intake import Entry, links_in, plan, read_links
from core.downloads.preferences import CLIPBOARD_OFFER, DownloadPreferences
from core.downloads.totals import Tally, ThroughputHistory, Totals
from gui.downloads.actions import DesktopOpener, DownloadActions, Opener
from gui.downloads.add_bar import AddBar, ClipboardOffer, mime_text
from gui.downloads.delegate import ProgressDelegate, TextDelegate
from gui.downloads.filter_proxy import STATE_FILTERS, DownloadFilterProxy
from gui.downloads.notifier import Notifier
from gui.downloads.settings_strip import SettingsStrip
from gui.downloads.table_model import ETA, HOST, ID_ROLE, NAME, PROGRESS, SIZE, SPEED, STATE, DownloadTableModel
from gui.downloads.throughput_graph import ThroughputGraph
from gui.own_tab import set_own_tab_title, show_own_tab
from gui.status_label import StatusLabel

REFRESH_MS = 100  # the engine's coalescing tick: rows, totals and graph move at this pace, whatever the bytes do
TITLE = "Downloads"
_DROP_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


def _droppable(mime: QMimeData) -> bool:
    return mime.hasUrls() or mime.hasText()


class DownloadsPanel(QWidget):
    """The Downloads tab.

    Attributes:
        engine: the download engine (started and stopped by AppCore, not by the panel).
        model, proxy, view: the list (one model, a sorting/filtering proxy, one table view).
        tally, history: totals and the last minute's throughput (core bookkeeping fed at each tick).
        add_bar, offer, settings_strip, graph: the parts of the tab.
        actions: the row actions (menu, shortcuts).
        notifier: tray messages or status-bar messages for finished downloads.
        status_label: the status-bar widget with the totals.
    """

    def __init__(
        self,
        engine: DownloadEngine,
        model: DownloadTableModel,
        prefs: DownloadPreferences,
        *,
        opener: Opener | None = None,
        notifier: Notifier | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("downloads_panel")
        self.engine = engine
        self.prefs = prefs
        self.model = model
        model.setParent(self)
        self.tally = Tally()
        self.history = ThroughputHistory(60)
        self._title = TITLE
        self._again: tuple[Entry, ...] = ()
        self._offered: list[Entry] = []
        self._reveal: set[int] = set()  # ids added from the field: selected once their rows show up
        self._retrying: set[int] = set()  # rows whose "retrying in N s" counts down between snapshots
        # what the actions' enabled states depend on, per download: (state, waiting to retry)
        self._action_keys: dict[int, tuple[State, bool]] = {}
        self._actions_stale = False
        self._last_second = 0
        # weak: the window owns this panel, so a strong reference back would keep the window alive for ever
        self._filtered_window: weakref.ref[QWidget] | None = None

        self._build()
        self.actions = DownloadActions(engine, self.view, self.selected, self.show_notice, opener or DesktopOpener())
        self.notifier = notifier or Notifier(self._window_active, self.show_status, parent=self)
        self._connect_signals()
        self.setAcceptDrops(True)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    # -- construction ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.add_bar = AddBar()
        self.offer = ClipboardOffer()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name, URL, host or folder…")
        self.filter_edit.setClearButtonEnabled(True)
        self.state_combo = QComboBox()
        for label, states in STATE_FILTERS:
            self.state_combo.addItem(label, states)
        self.shown_label = QLabel()

        self.proxy = DownloadFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setObjectName("downloads_view")
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(TextDelegate(frozenset({SIZE, SPEED, ETA}), STATE, self.view))
        self.view.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the order added
        self.proxy.sort(-1)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        rows = self.view.verticalHeader()
        rows.hide()
        # fixed row heights: thousands of rows never need measuring
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for column, width in ((SIZE, 150), (PROGRESS, 130), (SPEED, 110), (ETA, 85), (STATE, 260), (HOST, 130)):
            self.view.setColumnWidth(column, width)

        self.notice = QLabel()
        self.notice.setObjectName("downloads_notice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.status_label = StatusLabel("downloads: –")
        self.status_label.setObjectName("downloads_status")
        self.graph = ThroughputGraph(self.history)
        self.settings_strip = SettingsStrip(self.prefs)

        self.focus_add = QAction("Add URLs", self)
        self.focus_add.setShortcut(QKeySequence("Ctrl+N"))
        self.focus_filter = QAction("Filter", self)
        self.focus_filter.setShortcut(QKeySequence("Ctrl+F"))
        for action in (self.focus_add, self.focus_filter):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

        filters = QHBoxLayout()
        filters.addWidget(self.filter_edit, 2)
        filters.addWidget(self.state_combo)
        filters.addWidget(self.shown_label)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(filters)
        upper_layout.addWidget(self.view, 1)
        upper_layout.addWidget(self.notice)
        lower = QWidget()
        lower_layout = QHBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.graph, 3)
        lower_layout.addWidget(self.settings_strip, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.add_bar)
        layout.addWidget(self.offer)
        layout.addWidget(split, 1)

    def _connect_signals(self) -> None:
        self.add_bar.add_requested.connect(self.add_from_field)
        self.add_bar.again_requested.connect(self.add_again)
        self.offer.accepted.connect(self.accept_offer)
        self.offer.declined.connect(self.offer.hide)
        self.offer.never.connect(self.never_offer)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.state_combo.currentIndexChanged.connect(self._apply_filter)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(lambda _index: self.actions.open_file())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.actions.update_enabled())
        self.model.removed.connect(self._forget)
        self.notifier.clicked.connect(self._bring_forward)
        self.focus_add.triggered.connect(lambda: self.add_bar.field.setFocus())
        self.focus_filter.triggered.connect(lambda: self.filter_edit.setFocus())
        self.proxy.rowsInserted.connect(self._count_shown)
        self.proxy.rowsRemoved.connect(self._count_shown)
        self.proxy.modelReset.connect(self._count_shown)
        self.proxy.layoutChanged.connect(self._count_shown)
        QGuiApplication.clipboard().dataChanged.connect(self.clipboard_changed)

    @property
    def status_widgets(self) -> list[QWidget]:
        return [self.status_label]

    def _set_tab_title(self, title: str) -> None:
        set_own_tab_title(self, title)

    # -- the tick ----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Apply the snapshots received since the last tick; update totals, graph, title and notifications."""
        applied = self.model.apply_pending()
        now = time.monotonic()
        if applied:
            finished = self.tally.update(applied)
            for p in applied:
                if p.state is State.QUEUED and p.next_try_at is not None:
                    self._retrying.add(p.id)
                else:
                    self._retrying.discard(p.id)
            if finished:
                self.notifier.announce(finished)
            if self._reveal:
                self._reveal_added()
            if self._action_keys_changed(applied):
                self._actions_stale = True
        if self._actions_stale:
            self._actions_stale = False
            self.actions.update_enabled()  # reading the selection costs ~1 ms: only when it can matter
        totals = self.tally.totals()
        if applied:
            self._show_totals(totals)
        # the engine sends running downloads every tick, so the last speeds are current (0 once all stopped)
        self.graph.sample(now, totals.speed)
        second = int(now)
        if second != self._last_second:
            self._last_second = second
            if self._retrying:
                self.model.refresh_state_words(self._retrying)  # the countdown moves without a new snapshot

    def _show_totals(self, totals: Totals) -> None:
        parts = [f"↓ {format_speed(totals.speed)}", f"{totals.active} active", f"{totals.queued} queued"]
        if totals.paused:
            parts.append(f"{totals.paused} paused")
        if totals.failed:
            parts.append(f"{totals.failed} failed")
        if totals.eta is not None:
            parts.append(f"{format_duration(totals.eta)} left")
        self.status_label.setText(" · ".join(parts))
        title = f"{TITLE} ({totals.active})" if totals.active else TITLE
        if title != self._title:
            self._set_tab_title(title)
        self._title = title

    def _action_keys_changed(self, applied: list[DownloadProgress]) -> bool:
        """Remember each download's state for the actions; True if one changed (or is new) since the last tick."""
        keys = self._action_keys
        changed = False
        for p in applied:
            key = (p.state, p.next_try_at is not None)
            if keys.get(p.id) != key:
                keys[p.id] = key
                changed = True
        return changed

    def _forget(self, download_id: int) -> None:
        self.tally.forget(download_id)
        self._retrying.discard(download_id)
        self._action_keys.pop(download_id, None)
        self._show_totals(self.tally.totals())
        self._actions_stale = True  # the selection may have lost this row without a signal: next tick

    def _count_shown(self, *_args: object) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.shown_label.setText("" if shown == total else f"{shown} of {total} shown")

    # -- adding ------------------------------------------------------------------------------------------------

    def add_from_field(self) -> list[int]:
        """Add what the URL field (and the SHA-256 box) holds; what cannot be added stays in the field."""
        text = self.add_bar.field.toPlainText()
        sha = self.add_bar.sha_edit.text()
        reading = read_links(text, sha256=sha)
        if reading.empty:
            self.add_bar.show_message(["Type or paste an http:// or https:// URL first (or drop a link here)."])
            return []
        ids = self.add_text(text, sha)
        if any(r.text == sha.strip() for r in reading.rejected):
            return ids  # the checksum box was refused, so nothing was added: leave both for the user to fix
        self.add_bar.field.setPlainText("\n".join(r.text for r in reading.rejected))
        self.add_bar.sha_edit.clear()
        self._reveal.update(ids)
        return ids

    def add_text(self, text: str, sha256: str | None = None) -> list[int]:
        """Add the URLs in text; explain below the field what was refused or flagged. Returns the new ids."""
        reading = read_links(text, sha256=sha256)
        lines = [r.reason for r in reading.rejected]
        lines += [f"{url} was given more than once; it is added once" for url in reading.repeated]
        ids, more = self._add_entries(reading.entries)
        self.add_bar.show_message(lines + more, len(self._again))
        return ids

    def _add_entries(self, entries: Iterable[Entry]) -> tuple[list[int], list[str]]:
        """Add the entries that are new; flag duplicates (select the rows they duplicate). (ids, messages)."""
        folder = self.prefs.folder
        planned = plan(entries, self.engine.items(), str(folder))
        lines = [d.reason for d in planned.duplicates]
        self._again = planned.again
        ids: list[int] = []
        if planned.new:
            try:
                ids = self.engine.add_many([(e.url, e.sha256) for e in planned.new], folder=folder)
            except DownloadError as exc:
                lines.insert(0, str(exc))
        if planned.duplicates:
            self.select_ids([d.existing.id for d in planned.duplicates])
        if self._offered:  # links offered from the clipboard that are in the list now are not offered any more
            taken = {e.url for e in planned.new} | {d.entry.url for d in planned.duplicates}
            self._offered = [e for e in self._offered if e.url not in taken]
            if self._offered:
                self.offer.offer(len(self._offered), self._offered[0].url)
            else:
                self.offer.hide()
        return ids, lines

    def add_again(self) -> list[int]:
        """Add the flagged downloads-seen-before anyway (they get a new name, never overwrite the old file)."""
        again, self._again = self._again, ()
        folder = self.prefs.folder
        try:
            ids = self.engine.add_many([(e.url, e.sha256) for e in again], folder=folder)
        except DownloadError as exc:
            self.add_bar.show_message([str(exc)])
            return []
        self.add_bar.clear_message()
        self._reveal.update(ids)
        return ids

    def add_dropped(self, mime: QMimeData) -> list[int]:
        ids = self.add_text(mime_text(mime))
        self._reveal.update(ids)
        return ids

    def _reveal_added(self) -> None:
        shown = [i for i in self._reveal if self.model.row_of(i) is not None]
        if shown:
            self._reveal.difference_update(shown)
            self.select_ids(shown)

    # -- drag and drop (onto the tab, and onto the whole window once it is shown) ----------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _droppable(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _droppable(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if _droppable(event.mimeData()):
            event.acceptProposedAction()
            self.add_dropped(event.mimeData())

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        window = self.window()
        if window is not self and window is not self._drop_window():
            # Links dropped anywhere on the window (another tab, the status bar) land here; widgets that take
            # drops themselves (text fields) still get theirs first.
            window.setAcceptDrops(True)
            window.installEventFilter(self)
            self._filtered_window = weakref.ref(window)

    def _drop_window(self) -> QWidget | None:
        return None if self._filtered_window is None else self._filtered_window()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _DROP_EVENTS and watched is self._drop_window():
            mime = event.mimeData()  # type: ignore[attr-defined]
            if not _droppable(mime):
                return False
            event.acceptProposedAction()  # type: ignore[attr-defined]
            if event.type() == QEvent.Type.Drop:
                self.add_dropped(mime)
                self._show_tab()  # the window is where the drop happened: no need to raise it
            return True
        return super().eventFilter(watched, event)

    def _show_tab(self) -> None:
        show_own_tab(self)

    def _bring_forward(self) -> None:
        """A tray message was clicked: show this tab in a raised, active window."""
        self._show_tab()
        window = self.window()
        window.raise_()
        window.activateWindow()

    # -- the clipboard offer ------------------------------------------------------------------------------------

    def clipboard_changed(self) -> None:
        """Offer to add links that were just copied (unless switched off, or all are in the list already)."""
        if not self.prefs.clipboard_offer:
            self.offer.hide()
            return
        links = links_in(QGuiApplication.clipboard().text())
        fresh = list(plan(links, self.model.snapshots(), str(self.prefs.folder)).new) if links else []
        self._offered = fresh
        if fresh:
            self.offer.offer(len(fresh), fresh[0].url)
        else:
            self.offer.hide()

    def accept_offer(self) -> list[int]:
        offered, self._offered = self._offered, []
        self.offer.hide()
        ids, lines = self._add_entries(offered)
        self.add_bar.show_message(lines, len(self._again))
        self._reveal.update(ids)
        return ids

    def never_offer(self) -> None:
        self.offer.hide()
        self._offered = []
        self.prefs.set_clipboard_offer(False)
        self.show_notice(f"copied links are no longer offered; turn it back on below ({CLIPBOARD_OFFER})")

    # -- selection, filter, messages -----------------------------------------------------------------------------

    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.filter_edit.text(), self.state_combo.currentData())
        self._actions_stale = True  # rows the filter hid leave the selection
        self._count_shown()

    def selected(self) -> list[DownloadProgress]:
        """The selected downloads, top to bottom as shown."""
        rows = sorted(self.view.selectionModel().selectedRows(), key=lambda i: i.row())
        chosen = []
        for index in rows:
            p = self.model.by_id(index.data(ID_ROLE))
            if p is not None:
                chosen.append(p)
        return chosen

    def select_ids(self, ids: Iterable[int]) -> int:
        """Select the rows of these downloads (those the filter shows) and scroll to the last; returns how many."""
        selection = QItemSelection()
        last = None
        count = 0
        for download_id in ids:
            row = self.model.row_of(download_id)
            if row is None:
                continue
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if index.isValid():
                selection.select(index, index)
                last = index
                count += 1
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().select(selection, flags)
        if last is not None:
            self.view.selectionModel().setCurrentIndex(last, QItemSelectionModel.SelectionFlag.NoUpdate)
            self.view.scrollTo(last)
        return count

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid() and not self.view.selectionModel().isRowSelected(index.row(), index.parent()):
            self.view.selectRow(index.row())
        if self.selected():
            self.actions.show_menu(self.view.viewport().mapToGlobal(pos))

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)

    def show_status(self, text: str) -> None:
        """A passing message in the window's status bar (the notifier's fallback when there is no tray)."""
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 10_000)
        else:
            self.show_notice(text)

    def _window_active(self) -> bool:
        return self.window().isActiveWindow()
