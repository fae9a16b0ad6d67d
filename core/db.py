"""SQLite connections and versioned migrations shared by every Squall database.

Each database (a profile's squall.db, the hub's hub.db) declares its migrations as an ordered list; the schema
version is `PRAGMA user_version` and each migration runs in one transaction. Connections are in autocommit mode
(isolation_level=None): callers group writes with `transaction(conn)`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.errors import SchemaError

Migration = Sequence[str]  # the SQL statements of one schema step


def connect(path: Path | str) -> sqlite3.Connection:
    """Open a database in WAL mode with the settings every Squall database uses."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if the block raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], *, what: str) -> int:
    """Bring the database up to len(migrations); returns the new version.

    Refuses (SchemaError) a database written by a newer Squall rather than guessing at its tables.
    """
    current = schema_version(conn)
    target = len(migrations)
    if current > target:
        raise SchemaError(
            f"the {what} database was written by a newer Squall (schema {current}, this one knows {target}); "
            "upgrade Squall or use another data folder"
        )
    for version in range(current + 1, target + 1):
        try:
            with transaction(conn):
                for statement in migrations[version - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={version:d}")
        except sqlite3.Error as exc:
            raise SchemaError(f"upgrading the {what} database to schema {version} failed: {exc}") from exc
    return target
