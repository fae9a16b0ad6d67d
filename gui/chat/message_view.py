"""MessageView: the conversation list. Stays at the newest message while the user is there, asks for older
history when scrolled to the top (keeping what was on screen in place), and opens a link only on a click.

Links open through an Opener (QDesktopServices in the window; a fake in tests), and only http(s) ones reach it
(core.chat.display.link_url). Right-click offers copying, and retrying or discarding a message that was not sent.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QContextMenuEvent, QCursor, QDesktopServices, QGuiApplication, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from core.chat.display import Link
from core.chat.transcript import Row
from gui.chat.message_delegate import MessageDelegate
from gui.chat.message_model import ROW_ROLE, MessageListModel

NEAR_EDGE = 4  # pixels from the bottom that still count as "at the bottom"
LAYOUT_BATCH = 100  # rows laid out per step of a relayout (~1 ms)


class Opener(Protocol):
    def open_url(self, url: QUrl) -> bool: ...


class DesktopOpener:
    """Opens links with the desktop's browser."""

    def open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)


class MessageView(QListView):
    """The list of messages of the shown room.

    Signals:
        older_wanted(): the user reached the top and older messages exist (the panel asks the client).
        retry_wanted(cid), discard_wanted(cid): from the context menu of an unsent message.
        link_opened(url): a link was clicked and handed to the opener.
    """

    older_wanted = Signal()
    retry_wanted = Signal(str)
    discard_wanted = Signal(str)
    link_opened = Signal(str)

    def __init__(self, model: MessageListModel, opener: Opener | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat_messages")
        self.messages = model
        self.opener = opener or DesktopOpener()
        self.delegate = MessageDelegate(lambda: self.viewport().width(), model.row, self)
        self.setModel(model)
        self.setItemDelegate(self.delegate)
        self.setUniformItemSizes(False)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        # Qt lays the whole list out again after every insert; in batches it yields to the loop between them.
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.verticalScrollBar().setSingleStep(20)
        self._stick = True
        self._anchor: tuple[QPersistentModelIndex, int] | None = None
        self._press: QPoint | None = None
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._scrolled)
        model.rowsAboutToBeInserted.connect(self._before_insert)
        model.rowsInserted.connect(self._after_insert)
        model.dataChanged.connect(lambda *_: self.scheduleDelayedItemsLayout())  # a day separator changes a height
        model.modelReset.connect(self._after_reset)

    # --- staying at the bottom, keeping the place when older rows come in --------------------------------------

    @property
    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - NEAR_EDGE

    @property
    def sticking(self) -> bool:
        """The view follows new messages (the user is at the bottom)."""
        return self._stick

    def scroll_to_newest(self) -> None:
        self._stick = True
        self.scrollToBottom()

    def _before_insert(self, _parent: QModelIndex, first: int, _last: int) -> None:
        if first == 0 and self.model().rowCount() > 0 and not self._stick:
            top = self.indexAt(QPoint(0, 0))
            if top.isValid():
                self._anchor = (QPersistentModelIndex(top), self.visualRect(top).top())

    def _after_insert(self, _parent: QModelIndex, first: int, _last: int) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None or first != 0:
            return
        self.executeDelayedItemsLayout()
        index, old_top = anchor
        if index.isValid():
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() + self.visualRect(QModelIndex(index)).top() - old_top)

    def _after_reset(self) -> None:
        self._stick = True
        self._anchor = None

    def _range_changed(self, _low: int, high: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(high)
        elif high == 0:
            self._wants_older()

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - NEAR_EDGE
        if value <= bar.minimum():
            self._wants_older()

    def _wants_older(self) -> None:
        transcript = self.messages.transcript
        if transcript is not None and transcript.more_before:
            self.older_wanted.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        stick = self._stick
        super().resizeEvent(event)
        if stick:
            self.scrollToBottom()

    # --- links and menus ----------------------------------------------------------------------------------------------

    def link_at(self, pos: QPoint) -> Link | None:
        index = self.indexAt(pos)
        row = index.data(ROW_ROLE) if index.isValid() else None
        if not isinstance(row, Row):
            return None
        return self.delegate.link_at(self.visualRect(index), row, pos)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._press = event.position().toPoint() if event.button() == Qt.MouseButton.LeftButton else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        press, self._press = self._press, None
        if event.button() != Qt.MouseButton.LeftButton or press is None or (press - pos).manhattanLength() > 4:
            return  # a drag selects; only a click opens
        link = self.link_at(pos)
        if link is not None:
            self.open_link(link.url)

    def open_link(self, url: str) -> None:
        self.opener.open_url(QUrl(url))
        self.link_opened.emit(url)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        over_link = self.link_at(event.position().toPoint()) is not None
        shape = Qt.CursorShape.PointingHandCursor if over_link else Qt.CursorShape.ArrowCursor
        if self.viewport().cursor().shape() != shape:
            self.viewport().setCursor(QCursor(shape))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(event.pos())
        if menu is not None:
            menu.popup(event.globalPos())

    def context_menu(self, pos: QPoint) -> QMenu | None:
        """The menu for the row at pos (viewport coordinates): copy, open link, retry, discard."""
        index = self.indexAt(pos)
        row = index.data(ROW_ROLE) if index.isValid() else None
        if not isinstance(row, Row):
            return None
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("Copy text", lambda: QGuiApplication.clipboard().setText(row.raw))
        link = self.link_at(pos)
        if link is not None:
            url = link.url
            menu.addAction("Open link", lambda: self.open_link(url))
            menu.addAction("Copy link", lambda: QGuiApplication.clipboard().setText(url))
        if row.state != "sent":
            cid = row.cid
            if row.state == "failed":
                menu.addAction("Retry sending", lambda: self.retry_wanted.emit(cid))
            menu.addAction("Discard", lambda: self.discard_wanted.emit(cid))
        return menu

    def selected_text(self) -> str:
        rows = sorted(self.selectionModel().selectedRows(), key=lambda i: i.row())
        lines = []
        for index in rows:
            row = index.data(ROW_ROLE)
            if isinstance(row, Row):
                lines.append(f"{row.nick}: {row.raw}")
        return "\n".join(lines)
