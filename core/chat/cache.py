"""This profile's copy of each hub room's history (`chat_messages`, core/schema.py step 3).

It lets the Chat tab show the last conversation before the hub answers, tells the client where to resume
(`join` with `since` = the newest id kept), and serves "scroll up for older" without asking the hub while it can.
Per room the kept ids form one unbroken run (a replay with `since` never leaves a gap, older pages extend it
downwards), so "is there anything older" is simply "is the oldest kept id above 1". Keyed by the hub's
HOST:PORT: a take-over keeps the address, the history and the ids, so the cache stays valid across it.
Writes come in batches, one transaction per client flush; all on the loop thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from core import db
from core.chat.updates import ChatMessage

_COLUMNS = "room, id, nick, text, ts, cid, own"
KEEP_PER_ROOM = 5000  # older messages stay on the hub; the cache is for quick starts and short scrolls


def _message(row: sqlite3.Row) -> ChatMessage:
    return ChatMessage(row["room"], row["id"], row["nick"], row["text"], row["ts"], row["cid"], bool(row["own"]))


class HistoryCache:
    """Messages seen per (hub, room).

    Attributes:
        conn: the profile database.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def store(self, hub: str, messages: Iterable[ChatMessage]) -> None:
        """Keep messages (one transaction); a known id keeps its row, except that `own` is never lost."""
        rows = [(hub, m.room, m.id, m.nick, m.text, m.ts, m.cid, int(m.own)) for m in messages]
        if not rows:
            return
        with db.transaction(self.conn):
            self.conn.executemany(
                f"INSERT INTO chat_messages (hub, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (hub, room, id) DO UPDATE SET own = MAX(own, excluded.own)",
                rows,
            )

    def newest_id(self, hub: str, room: str) -> int:
        row = self.conn.execute("SELECT MAX(id) FROM chat_messages WHERE hub = ? AND room = ?", (hub, room)).fetchone()
        return int(row[0] or 0)

    def cid_of(self, hub: str, room: str, msg_id: int) -> str | None:
        row = self.conn.execute(
            "SELECT cid FROM chat_messages WHERE hub = ? AND room = ? AND id = ?", (hub, room, msg_id)
        ).fetchone()
        return None if row is None else str(row[0])

    def before(self, hub: str, room: str, before: int | None, limit: int) -> list[ChatMessage]:
        """Up to limit kept messages with id < before (None: the newest), oldest first."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM chat_messages WHERE hub = ? AND room = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (hub, room, before if before is not None else 2**63 - 1, limit),
        ).fetchall()
        return [_message(r) for r in reversed(rows)]

    def forget_room(self, hub: str, room: str) -> None:
        """Drop a room's copy (the hub's history is not what we kept: it was replaced or reset)."""
        self.conn.execute("DELETE FROM chat_messages WHERE hub = ? AND room = ?", (hub, room))

    def prune(self, hub: str, room: str, keep: int = KEEP_PER_ROOM) -> int:
        """Drop all but the newest `keep` messages of a room (the run stays unbroken); returns how many went."""
        newest = self.newest_id(hub, room)
        cursor = self.conn.execute(
            "DELETE FROM chat_messages WHERE hub = ? AND room = ? AND id <= ?", (hub, room, newest - keep)
        )
        return int(cursor.rowcount)
