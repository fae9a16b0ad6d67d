"""The download queue and history in SQLite (tables `downloads` and `download_segments`, core/schema.py step 2).

One row per download; segments rows only while a download is split into ranges. `received` is written only
after the .part was fdatasync'ed, so after any crash the row never claims more than the disk holds. Every
method is one short statement or transaction on the loop thread (WAL, synchronous=NORMAL: no fsync per
commit). Rows of items marked `foreign` (owned by another process) are never written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core import db
from core.downloads.model import RUNNING, Item, Segment, State
from core.downloads.urls import host_of

_UPDATE = (
    "UPDATE downloads SET name = ?, state = ?, received = ?, total = ?, etag = ?, last_modified = ?,"
    " no_ranges = ?, sha256_expected = ?, sha256_actual = ?, rate_limit = ?, error = ?, attempts = ?,"
    " finished_at = ? WHERE id = ?"
)


class Store:
    """Reads and writes download rows.

    Attributes:
        conn: the database (a profile's squall.db, or `get`'s own).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Group many inserts (and anything else) into one transaction."""
        with db.transaction(self.conn):
            yield

    def insert(self, item: Item) -> int:
        cursor = self.conn.execute(
            "INSERT INTO downloads (url, folder, requested_name, state, sha256_expected, rate_limit, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                item.url,
                item.folder,
                item.requested_name,
                item.state.value,
                item.sha256_expected,
                item.rate_limit,
                item.added_at,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def save(self, item: Item, *, segments: bool = False) -> None:
        """Write the row (state, name, validators, saved progress); with segments=True their rows too."""
        if item.foreign:
            return
        params = (
            item.name,
            item.state.value,
            item.saved,
            item.total,
            item.etag,
            item.last_modified,
            int(item.no_ranges),
            item.sha256_expected,
            item.sha256_actual,
            item.rate_limit,
            item.error,
            item.attempts,
            item.finished_at,
            item.id,
        )
        if not segments:
            self.conn.execute(_UPDATE, params)
            return
        in_transaction = self.conn.in_transaction
        if not in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(_UPDATE, params)
            self.conn.execute("DELETE FROM download_segments WHERE download_id = ?", (item.id,))
            if len(item.segments) > 1:
                self.conn.executemany(
                    "INSERT INTO download_segments (download_id, start, end, received) VALUES (?, ?, ?, ?)",
                    [(item.id, s.start, s.end, s.saved) for s in item.segments],
                )
        except BaseException:
            if not in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        if not in_transaction:
            self.conn.execute("COMMIT")

    def delete(self, download_id: int) -> None:
        self.conn.execute("DELETE FROM downloads WHERE id = ?", (download_id,))

    def find_unfinished(self, url: str, folder: str) -> Item | None:
        """The newest download of url into folder that has not completed (or been cancelled), if any."""
        row = self.conn.execute(
            "SELECT * FROM downloads WHERE url = ? AND folder = ? AND state NOT IN (?, ?) ORDER BY id DESC LIMIT 1",
            (url, folder, State.COMPLETED.value, State.CANCELLED.value),
        ).fetchone()
        return None if row is None else self._item(row)

    def find_completed(self, url: str, folder: str) -> Item | None:
        """The newest download of url into folder, if it completed."""
        row = self.conn.execute(
            "SELECT * FROM downloads WHERE url = ? AND folder = ? ORDER BY id DESC LIMIT 1", (url, folder)
        ).fetchone()
        return None if row is None or row["state"] != State.COMPLETED.value else self._item(row)

    def load_all(self) -> Iterator[Item]:
        for row in self.conn.execute("SELECT * FROM downloads ORDER BY id").fetchall():
            yield self._item(row)

    def _item(self, row: sqlite3.Row) -> Item:
        state = State(row["state"])
        if state in RUNNING:
            state = State.QUEUED  # interrupted by a crash or a quit: it comes back queued, with its progress
        item = Item(
            id=row["id"],
            url=row["url"],
            host=host_of(row["url"]),
            folder=row["folder"],
            state=state,
            requested_name=row["requested_name"],
            name=row["name"],
            total=row["total"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            sha256_expected=row["sha256_expected"],
            sha256_actual=row["sha256_actual"],
            error=row["error"],
            attempts=row["attempts"],
            rate_limit=row["rate_limit"],
            added_at=row["added_at"],
            finished_at=row["finished_at"],
            no_ranges=bool(row["no_ranges"]),
        )
        rows = self.conn.execute(
            "SELECT start, end, received FROM download_segments WHERE download_id = ? ORDER BY start", (item.id,)
        ).fetchall()
        if rows:
            item.segments = [Segment(r["start"], r["end"], r["received"], r["received"]) for r in rows]
        else:
            end = item.total if item.total is not None else None
            item.segments = [Segment(0, end, row["received"], row["received"])]
        return item


def folder_key(folder: Path | str) -> str:
    """The folder as stored: absolute, `..` and symlinks resolved (one folder, one key), no trailing slash."""
    return str(Path(folder).expanduser().resolve())
