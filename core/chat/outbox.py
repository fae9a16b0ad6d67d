"""The outbox: every message typed in this profile stays in SQLite (`chat_outbox`, core/schema.py step 3) until
its hub acknowledges it, so nothing typed is lost to a dropped connection, a crash or a kill -9.

A message is committed here before the first attempt to send it; it leaves only when the hub's acknowledgement
(the message frame carrying its cid) has been seen, or when the user discards it. Entries belong to one hub
(its HOST:PORT) and are resent only there, in the order they were typed. Short statements on the loop thread
(WAL, synchronous=NORMAL: no fsync per commit), like every profile table.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable

from core import db
from core.chat.updates import Delivery, PendingMessage

_COLUMNS = "cid, room, text, created, state, error"


def new_cid() -> str:
    """A fresh client id for a message (what the hub deduplicates resends by)."""
    return uuid.uuid4().hex


def _entry(row: sqlite3.Row) -> PendingMessage:
    return PendingMessage(row["cid"], row["room"], row["text"], row["created"], Delivery(row["state"]), row["error"])


class Outbox:
    """Unacknowledged messages of one profile, per hub.

    Attributes:
        conn: the profile database.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(
        self, hub: str, room: str, text: str, *, cid: str | None = None, now: float | None = None
    ) -> PendingMessage:
        """Store a message to send (committed before this returns)."""
        entry = PendingMessage(cid or new_cid(), room, text, time.time() if now is None else now)
        self.conn.execute(
            "INSERT INTO chat_outbox (cid, hub, room, text, created, state, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (entry.cid, hub, entry.room, entry.text, entry.created, entry.state.value, entry.error),
        )
        return entry

    def pending(self, hub: str) -> list[PendingMessage]:
        """Everything not yet acknowledged by hub, oldest first (failed ones included)."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM chat_outbox WHERE hub = ? ORDER BY seq", (hub,)).fetchall()
        return [_entry(r) for r in rows]

    def get(self, cid: str) -> PendingMessage | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM chat_outbox WHERE cid = ?", (cid,)).fetchone()
        return None if row is None else _entry(row)

    def mark(self, cid: str, state: Delivery, error: str = "") -> PendingMessage | None:
        """Set an entry's state (failed with the hub's reason, or back to sending for a retry)."""
        self.conn.execute("UPDATE chat_outbox SET state = ?, error = ? WHERE cid = ?", (state.value, error, cid))
        return self.get(cid)

    def remove(self, cids: Iterable[str]) -> None:
        """Drop acknowledged (or discarded) entries, in one transaction."""
        keys = [(c,) for c in cids]
        if keys:
            with db.transaction(self.conn):
                self.conn.executemany("DELETE FROM chat_outbox WHERE cid = ?", keys)

    def count(self, hub: str | None = None) -> int:
        if hub is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM chat_outbox").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM chat_outbox WHERE hub = ?", (hub,)).fetchone()[0])
