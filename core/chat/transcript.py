"""Transcript: one room's conversation as rows for a list view, kept in order, with the changes spelled out.

Rows are the hub's messages by id, then this profile's unacknowledged messages in the order they were typed.
A row knows whether it opens a new day (the viewer draws the separator above it), carries the text already made
safe to draw (display.safe_text) and its links. Every method returns the list of changes it made, in order
(("insert" | "remove" | "update", first, last) with row numbers valid at that step), and tells its observer
(a Qt list model) before and after each row insert or removal, so the model can keep Qt's begin/end contract.
Messages usually arrive after the newest, or as an older page before the oldest: both are one block change.
No Qt, no I/O.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal, Protocol

from core.chat.display import Link, links, local_day, safe_line, safe_text
from core.chat.updates import ChatMessage, Delivery, PendingMessage

RowState = Literal["sent", "sending", "failed"]
Change = tuple[Literal["insert", "remove", "update"], int, int]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the conversation as a viewer draws it.

    Attributes:
        key: "m:ID" for a stored message, "p:CID" for one still in the outbox.
        id: the hub's id, or None while unacknowledged.
        cid: the client id.
        nick: who wrote it (safe to draw).
        text: what was written, safe to draw; "\\n" separates lines.
        raw: exactly what was written (for copying).
        ts: the hub's time (or, while pending, when it was typed).
        own: written here.
        state: sent, sending or failed.
        error: why it failed.
        day: set on the first row of each local day: draw a separator for it above the row.
        links: the http(s) URLs in text.
    """

    key: str
    id: int | None
    cid: str
    nick: str
    text: str
    raw: str
    ts: float
    own: bool
    state: RowState
    error: str
    day: date | None
    links: tuple[Link, ...]


class TranscriptObserver(Protocol):
    """Hears about every change while it happens (a Qt model: beginInsertRows ... endInsertRows, dataChanged)."""

    def begin_insert(self, first: int, last: int) -> None: ...

    def end_insert(self) -> None: ...

    def begin_remove(self, first: int, last: int) -> None: ...

    def end_remove(self) -> None: ...

    def changed(self, first: int, last: int) -> None: ...


def message_row(m: ChatMessage) -> Row:
    text = safe_text(m.text)
    return Row(f"m:{m.id}", m.id, m.cid, safe_line(m.nick), text, m.text, m.ts, m.own, "sent", "", None, links(text))


def pending_row(p: PendingMessage, nick: str) -> Row:
    text = safe_text(p.text)
    state: RowState = "failed" if p.state is Delivery.FAILED else "sending"
    return Row(f"p:{p.cid}", None, p.cid, safe_line(nick), text, p.text, p.created, True, state, p.error, None,
               links(text))  # fmt: skip


class Transcript:
    """The rows of one room.

    Attributes:
        room: the room.
        rows: the rows, in display order (read-only for callers).
        more_before: older messages exist before the first row (ask for a page).
        observer: told about each change as it happens (the model of the view showing this room), or None.
    """

    def __init__(self, room: str, *, day_of: Callable[[float], date] = local_day) -> None:
        self.room = room
        self.rows: list[Row] = []
        self._ids: list[int] = []  # ids of the sent rows, which are rows[: len(_ids)]
        self.more_before = True
        self.observer: TranscriptObserver | None = None
        self._day_of = day_of

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def oldest_id(self) -> int | None:
        return self._ids[0] if self._ids else None

    @property
    def newest_id(self) -> int | None:
        return self._ids[-1] if self._ids else None

    def has(self, msg_id: int) -> bool:
        i = bisect_left(self._ids, msg_id)
        return i < len(self._ids) and self._ids[i] == msg_id

    def row_of_cid(self, cid: str) -> int | None:
        for i in range(len(self._ids), len(self.rows)):
            if self.rows[i].cid == cid:
                return i
        return None

    # --- changes --------------------------------------------------------------------------------------------------

    def add(self, messages: Iterable[ChatMessage], *, older: bool = False, more: bool | None = None) -> list[Change]:
        """Put stored messages in their place (ids already shown are skipped); a pending row with the same cid
        is replaced by its message. older/more: this is a history page; more says whether older ones exist."""
        changes: list[Change] = []
        fresh = sorted({m.id: m for m in messages if not self.has(m.id)}.values(), key=lambda m: m.id)
        if len(self.rows) > len(self._ids):  # pending rows: an arriving message may be the acknowledgement of one
            for m in fresh:
                changes += self.remove_pending(m.cid)
        if fresh and self._ids and fresh[-1].id < self._ids[0]:
            changes += self._insert_block(0, [message_row(m) for m in fresh])  # an older page
        elif fresh and (not self._ids or fresh[0].id > self._ids[-1]):
            changes += self._insert_block(len(self._ids), [message_row(m) for m in fresh])  # the usual case
        else:
            for m in fresh:
                changes += self._insert_block(bisect_left(self._ids, m.id), [message_row(m)])
        if older and more is not None and (not self._ids or (fresh and fresh[0].id <= self._ids[0])):
            self.more_before = more
        if self._ids and self._ids[0] <= 1:
            self.more_before = False
        return changes

    def add_pending(self, entry: PendingMessage, nick: str) -> list[Change]:
        """Show an outbox entry (new, or with a new state)."""
        row = pending_row(entry, nick)
        at = self.row_of_cid(entry.cid)
        if at is not None:
            old = self.rows[at]
            self.rows[at] = replace(row, day=old.day, nick=old.nick)
            return self._changed(at)
        return self._insert_block(len(self.rows), [row], pending=True)

    def remove_pending(self, cid: str) -> list[Change]:
        at = self.row_of_cid(cid)
        if at is None:
            return []
        self._remove(at, at)
        return [("remove", at, at), *self._fix_day(at)]

    def drop_oldest(self, count: int) -> list[Change]:
        """Forget the oldest count stored messages (a long-running view keeps its size; they can be paged in)."""
        count = min(count, len(self._ids))
        if count <= 0:
            return []
        self._remove(0, count - 1)
        self.more_before = True
        return [("remove", 0, count - 1), *self._fix_day(0)]

    def clear(self) -> list[Change]:
        if not self.rows:
            return []
        last = len(self.rows) - 1
        self._remove(0, last)
        self.more_before = True
        return [("remove", 0, last)]

    # --- internals ----------------------------------------------------------------------------------------------

    def _insert_block(self, at: int, block: list[Row], *, pending: bool = False) -> list[Change]:
        previous = self.rows[at - 1] if at > 0 else None
        marked = []
        for row in block:
            day = self._day_of(row.ts)
            opens = previous is None or self._day_of(previous.ts) != day
            marked.append(replace(row, day=day if opens else None))
            previous = row
        last = at + len(marked) - 1
        if self.observer is not None:
            self.observer.begin_insert(at, last)
        self.rows[at:at] = marked
        if not pending:
            self._ids[at:at] = [r.id for r in marked if r.id is not None]
        if self.observer is not None:
            self.observer.end_insert()
        return [("insert", at, last), *self._fix_day(at + len(marked))]

    def _remove(self, first: int, last: int) -> None:
        if self.observer is not None:
            self.observer.begin_remove(first, last)
        del self.rows[first : last + 1]
        sent = len(self._ids)
        if first < sent:
            del self._ids[first : min(last + 1, sent)]
        if self.observer is not None:
            self.observer.end_remove()

    def _changed(self, i: int) -> list[Change]:
        if self.observer is not None:
            self.observer.changed(i, i)
        return [("update", i, i)]

    def _fix_day(self, i: int) -> list[Change]:
        """Row i opens a day exactly when the row before it is from another day (or there is none)."""
        if i >= len(self.rows):
            return []
        row = self.rows[i]
        day = self._day_of(row.ts)
        opens = i == 0 or self._day_of(self.rows[i - 1].ts) != day
        wanted = day if opens else None
        if row.day == wanted:
            return []
        self.rows[i] = replace(row, day=wanted)
        return self._changed(i)
