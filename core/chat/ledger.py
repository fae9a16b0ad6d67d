"""Ledger: this profile's side of the conversation with one hub: what waits in the outbox for an acknowledgement,
what was sent when, the newest id seen per room, and what goes into the history cache at the next flush.

The client feeds it what it types and what the hub sends; the ledger decides what a message frame means (an
acknowledgement of ours, something new, a repeat to ignore, or proof that the hub's history is not the one we
kept) and keeps the outbox (outbox.py) and the cache (cache.py) in step. No network, no tasks: SQLite statements
on the loop thread, the batched ones in persist().
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, replace
from typing import Any

from core.chat.cache import HistoryCache
from core.chat.outbox import Outbox
from core.chat.updates import ChatMessage, Delivery, HistoryPage, PendingMessage

log = logging.getLogger("squall.chat")


def parse_message(frame: dict[str, Any], room: str | None = None) -> ChatMessage | None:
    """A message frame (or a history record, with its room given) from the hub; None when a field is missing or
    of the wrong kind."""
    room = room if room is not None else frame.get("room")
    msg_id, nick, text, ts, cid = (frame.get(k) for k in ("id", "nick", "text", "ts", "cid"))
    if not (
        isinstance(room, str)
        and isinstance(msg_id, int)
        and not isinstance(msg_id, bool)
        and msg_id > 0
        and isinstance(nick, str)
        and isinstance(text, str)
        and isinstance(ts, int | float)
        and isinstance(cid, str)
    ):
        return None
    return ChatMessage(room, msg_id, nick, text, float(ts), cid)


@dataclass(frozen=True, slots=True)
class Arrival:
    """What a message frame turned out to be.

    Attributes:
        message: what to show (own=True for an acknowledgement of ours), or None for a repeat.
        acknowledged: it acknowledged an outbox entry (the viewer drops the pending row).
        reset: the hub's history of the room is not the one this profile kept: it was forgotten first.
    """

    message: ChatMessage | None
    acknowledged: bool = False
    reset: bool = False


class Ledger:
    """One profile's bookkeeping for the hub it talks to.

    Attributes:
        hub: the hub's HOST:PORT (entries and cached messages are kept per hub).
        pending: the hub's outbox entries by cid, oldest first.
        last_id: room -> newest id seen (where a `join` with `since` resumes).
    """

    def __init__(self, conn: sqlite3.Connection, hub: str) -> None:
        self._outbox = Outbox(conn)
        self._cache = HistoryCache(conn)
        self.hub = hub
        self.pending: dict[str, PendingMessage] = {}
        self.last_id: dict[str, int] = {}
        self._sent_at: dict[str, float] = {}  # cid -> when it last went out on the current connection
        self._to_cache: list[ChatMessage] = []
        self._acked: list[str] = []

    # --- loading -----------------------------------------------------------------------------------------------------

    def switch(self, hub: str) -> list[PendingMessage]:
        """Talk to hub from now on; returns its outbox (what was typed for it and not acknowledged)."""
        self.persist()
        self.hub = hub
        self.pending = {e.cid: e for e in self._outbox.pending(hub)}
        self.last_id.clear()
        self._sent_at.clear()
        return list(self.pending.values())

    def load_room(self, room: str, page: int) -> HistoryPage:
        """The newest kept page of room (the conversation shows before the hub answers); notes where to resume."""
        self._cache.prune(self.hub, room)
        found = self._cache.before(self.hub, room, None, page)
        self.last_id[room] = found[-1].id if found else 0
        return HistoryPage(room, tuple(found), not found or found[0].id > 1)

    def older(self, room: str, before: int | None, limit: int) -> list[ChatMessage]:
        """Kept messages of room older than id before (None: the newest), oldest first."""
        return self._cache.before(self.hub, room, before, limit)

    def forget_room(self, room: str) -> None:
        self.last_id.pop(room, None)

    # --- the outbox ----------------------------------------------------------------------------------------------

    def add(self, room: str, text: str) -> PendingMessage:
        """Commit a typed message to the outbox (before any attempt to send it)."""
        entry = self._outbox.add(self.hub, room, text)
        self.pending[entry.cid] = entry
        return entry

    def mark(self, cid: str, state: Delivery, error: str = "") -> PendingMessage | None:
        entry = self.pending.get(cid)
        if entry is None:
            return None
        self._sent_at.pop(cid, None)
        updated = self._outbox.mark(cid, state, error) or replace(entry, state=state, error=error)
        self.pending[cid] = updated
        return updated

    def discard(self, cid: str) -> bool:
        if self.pending.pop(cid, None) is None:
            return False
        self._sent_at.pop(cid, None)
        self._outbox.remove([cid])
        return True

    def sent(self, cid: str) -> None:
        """The say frame went out (again): an acknowledgement is due within the ack timeout."""
        self._sent_at[cid] = time.monotonic()

    def unacknowledged(self) -> list[PendingMessage]:
        """What went out on this connection and has no acknowledgement yet."""
        return [self.pending[c] for c in self._sent_at if c in self.pending]

    def overdue(self, timeout: float) -> list[PendingMessage]:
        """Entries sent more than timeout seconds ago and still not acknowledged (resend them)."""
        now = time.monotonic()
        late = [c for c, at in self._sent_at.items() if now - at > timeout]
        return [e for c in late if (e := self.pending.get(c)) is not None and e.state is Delivery.SENDING]

    def connection_lost(self) -> None:
        self._sent_at.clear()

    @property
    def awaiting(self) -> bool:
        """Something went out and waits for its acknowledgement."""
        return bool(self._sent_at)

    # --- what arrives -------------------------------------------------------------------------------------------

    def arrived(self, msg: ChatMessage) -> Arrival:
        """A message frame from the hub: an acknowledgement, something new, or a repeat."""
        room = msg.room
        entry = self.pending.pop(msg.cid, None)
        if entry is not None:
            self._sent_at.pop(msg.cid, None)
            self._acked.append(msg.cid)
            msg = replace(msg, own=True)
        reset = False
        if msg.id <= self.last_id.get(room, 0):
            kept = self._cache.cid_of(self.hub, room, msg.id)
            if kept is None or kept == msg.cid:  # a replay overlap, or the hub answering a resend with the original
                return Arrival(msg if entry is not None else None, acknowledged=entry is not None)
            log.info("the history of %s at %s is not what this profile kept; reloading it", room, self.hub)
            self._cache.forget_room(self.hub, room)
            self._to_cache = [m for m in self._to_cache if m.room != room]
            reset = True
        self.last_id[room] = msg.id
        self._to_cache.append(msg)
        return Arrival(msg, acknowledged=entry is not None, reset=reset)

    def page_arrived(self, room: str, messages: tuple[ChatMessage, ...]) -> None:
        """A history page from the hub (kept, and it may move where to resume)."""
        if messages:
            self.last_id[room] = max(self.last_id.get(room, 0), messages[-1].id)
            self._to_cache.extend(messages)

    def persist(self) -> None:
        """Keep what arrived since the last call, then drop acknowledged entries from the outbox (in that order:
        a crash between the two resends a message the hub stores once)."""
        try:
            if self._to_cache:
                self._cache.store(self.hub, self._to_cache)
            if self._acked:
                self._outbox.remove(self._acked)
        except sqlite3.Error as exc:  # the conversation goes on; the hub still has it all
            log.error("cannot save chat messages in the profile database: %s", exc)
        self._to_cache = []
        self._acked = []
