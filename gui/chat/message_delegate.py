"""MessageDelegate: paints one message as plain text: a day separator when it opens a day, then nick, time and
(for our own) its state, then the text wrapped to the view's width with its links underlined.

Text goes through QTextLayout, never a rich-text document: nothing is parsed as markup, so `<img src=file://...>`
is shown as those characters and loads nothing; links are only coloured here and opened by MessageView on a click.
The text is already safe to draw (core.chat.display.safe_text removed controls and bidi overrides). Heights and
layouts are cached per (row, width): a relayout of the list asks every row for its size.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from core.chat.display import Link, clock_words, day_words, link_at
from core.chat.transcript import Row

Index = QModelIndex | QPersistentModelIndex
PAD_X = 10
PAD_Y = 3
ACCENT = 3  # the bar that marks our own messages
DAY_GAP = 8
LAYOUTS_KEPT = 600
_NICK_COLOURS = [QColor(c) for c in ("#1565c0", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#ef6c00", "#4e342e",
                                      "#ad1457")]  # fmt: skip
_OWN_TINT = QColor(25, 118, 210, 22)
_OWN_ACCENT = QColor("#1976d2")
_GREY = QColor("#757575")
_FAILED = QColor("#c62828")
_LINK = QColor("#1565c0")
_SELECTED = QStyle.StateFlag.State_Selected.value


def nick_colour(nick: str) -> QColor:
    return _NICK_COLOURS[zlib.crc32(nick.encode("utf-8")) % len(_NICK_COLOURS)]


def state_words(row: Row) -> str:
    if row.state == "failed":
        return f"failed: {row.error} — right-click to retry or discard"
    if row.state == "sending":
        return "sending…"
    return "sent" if row.own else ""


class MessageDelegate(QStyledItemDelegate):
    """Paints messages; answers their height at the view's width; finds the link under a point.

    Attributes:
        width: returns the width rows are laid out for (the view's viewport).
        row_at: returns the Row shown at a row number (straight from the model: a relayout asks every row's
            size, and a data() round trip through Qt costs as much as the rest of sizeHint).
    """

    def __init__(
        self, width: Callable[[], int], row_at: Callable[[int], Row | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.width = width
        self.row_at = row_at
        self._layouts: OrderedDict[tuple[str, int], tuple[QTextLayout, int]] = OrderedDict()
        self._heights: dict[tuple[str, bool, int], int] = {}
        self._font = QFont()
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._small = QFont(self._font)
        self._small.setPointSizeF(max(6.0, self._font.pointSizeF() * 0.85))
        self._fm = QFontMetrics(self._font)
        self._bold_fm = QFontMetrics(self._bold)
        self._small_fm = QFontMetrics(self._small)
        self._link_format = QTextCharFormat()
        self._link_format.setForeground(_LINK)
        self._link_format.setFontUnderline(True)

    # --- geometry -------------------------------------------------------------------------------------------------

    def _text_width(self, width: int) -> int:
        return max(60, width - 2 * PAD_X - ACCENT)

    def _day_height(self) -> int:
        return self._small_fm.height() + DAY_GAP

    def _header_height(self) -> int:
        return max(self._bold_fm.height(), self._small_fm.height())

    def text_layout(self, row: Row, width: int) -> tuple[QTextLayout, int]:
        """The row's text laid out for width (cached), and its height."""
        key = (row.key, self._text_width(width))
        cached = self._layouts.get(key)
        if cached is not None:
            self._layouts.move_to_end(key)
            return cached
        # QTextLayout breaks lines at U+2028 only; "\n" would be drawn as a box. One character for one keeps
        # the link offsets valid.
        layout = QTextLayout(row.text.replace("\n", "\u2028"), self._font)
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        if row.links:
            ranges = []
            for link in row.links:
                fr = QTextLayout.FormatRange()
                fr.start, fr.length, fr.format = link.start, link.end - link.start, self._link_format
                ranges.append(fr)
            layout.setFormats(ranges)
        layout.beginLayout()
        y = 0.0
        line_width = key[1]
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(line_width)
            line.setPosition(QPointF(0, y))
            y += line.height()
        layout.endLayout()
        result = (layout, max(int(y + 0.999), self._fm.height()))
        self._layouts[key] = result
        if len(self._layouts) > LAYOUTS_KEPT:
            self._layouts.popitem(last=False)
        return result

    def row_height(self, row: Row, width: int) -> int:
        key = (row.key, row.day is not None, width)
        height = self._heights.get(key)
        if height is None:
            _layout, text_height = self.text_layout(row, width)
            height = 2 * PAD_Y + self._header_height() + text_height + (self._day_height() if row.day else 0)
            if len(self._heights) > 20_000:
                self._heights.clear()
            self._heights[key] = height
        return height

    def _text_origin(self, rect: QRect, row: Row) -> QPoint:
        top = rect.top() + PAD_Y + (self._day_height() if row.day else 0) + self._header_height()
        return QPoint(rect.left() + PAD_X + ACCENT, top)

    def link_at(self, rect: QRect, row: Row, pos: QPoint) -> Link | None:
        """The link drawn under pos (view coordinates) in the row drawn at rect, if any."""
        if not row.links:
            return None
        layout, _height = self.text_layout(row, rect.width())
        origin = self._text_origin(rect, row)
        x, y = pos.x() - origin.x(), pos.y() - origin.y()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            if line.y() <= y < line.y() + line.height() and 0 <= x <= line.naturalTextWidth():
                index = line.xToCursor(x, QTextLine.CursorPosition.CursorOnCharacter)
                return link_at(row.links, index)
        return None

    # --- QStyledItemDelegate ------------------------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        row = self.row_at(index.row())
        width = self.width()
        if row is None:
            return QSize(width, self._fm.height())
        return QSize(width, self.row_height(row, width))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row = self.row_at(index.row())
        if row is None:
            return
        rect: QRect = option.rect
        palette: QPalette = option.palette
        painter.save()
        try:
            painter.setClipRect(rect)  # a pile of marks above or below a line stays inside its row
            top = rect.top()
            if row.day:
                self._paint_day(painter, QRect(rect.left(), top, rect.width(), self._day_height()), row)
                top += self._day_height()
            body = QRect(rect.left(), top, rect.width(), rect.bottom() - top + 1)
            if option.state.value & _SELECTED:
                painter.fillRect(body, palette.highlight().color().lighter(170))
            elif row.own:
                painter.fillRect(body, _OWN_TINT)
            if row.own:
                painter.fillRect(
                    QRect(body.left() + PAD_X // 2, body.top() + 2, ACCENT, body.height() - 4), _OWN_ACCENT
                )
            self._paint_header(painter, body, row, palette)
            layout, _height = self.text_layout(row, rect.width())
            painter.setPen(palette.text().color())
            layout.draw(painter, QPointF(self._text_origin(rect, row)))
        finally:
            painter.restore()

    def _paint_day(self, painter: QPainter, band: QRect, row: Row) -> None:
        assert row.day is not None
        words = day_words(row.day)
        painter.setFont(self._small)
        painter.setPen(_GREY)
        text_width = self._small_fm.horizontalAdvance(words) + 16
        middle = band.center().y() + 1
        left = band.left() + PAD_X
        right = band.right() - PAD_X
        gap_left = band.center().x() - text_width // 2
        painter.drawLine(left, middle, gap_left, middle)
        painter.drawLine(gap_left + text_width, middle, right, middle)
        painter.drawText(band, Qt.AlignmentFlag.AlignCenter, words)

    def _paint_header(self, painter: QPainter, body: QRect, row: Row, palette: QPalette) -> None:
        x = body.left() + PAD_X + ACCENT
        baseline = body.top() + PAD_Y + self._bold_fm.ascent()
        limit = body.right() - PAD_X
        painter.setFont(self._bold)
        painter.setPen(nick_colour(row.nick))
        nick = self._bold_fm.elidedText(row.nick, Qt.TextElideMode.ElideRight, max(40, (limit - x) // 2))
        painter.drawText(QPoint(x, baseline), nick)
        x += self._bold_fm.horizontalAdvance(nick) + 8
        painter.setFont(self._small)
        painter.setPen(_GREY)
        stamp = clock_words(row.ts)
        painter.drawText(QPoint(x, baseline), stamp)
        x += self._small_fm.horizontalAdvance(stamp) + 8
        state = state_words(row)
        if state and x < limit:
            painter.setPen(_FAILED if row.state == "failed" else _GREY)
            painter.drawText(
                QPoint(x, baseline), self._small_fm.elidedText(state, Qt.TextElideMode.ElideRight, limit - x)
            )
        painter.setFont(self._font)
