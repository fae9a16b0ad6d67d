from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core import db
from core.errors import SchemaError, SettingsError
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings


def test_migrate_applies_each_step_once_and_records_the_version(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "a.db")
    steps = [("CREATE TABLE t (x INTEGER)",), ("ALTER TABLE t ADD COLUMN y TEXT",)]
    assert db.migrate(conn, steps, what="test") == 2
    assert db.migrate(conn, steps, what="test") == 2
    assert db.schema_version(conn) == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_failed_migration_rolls_back_whole(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "a.db")
    steps = [("CREATE TABLE t (x INTEGER)", "CREATE TABLE t (x INTEGER)")]
    with pytest.raises(SchemaError, match="upgrading the test database to schema 1 failed"):
        db.migrate(conn, steps, what="test")
    assert db.schema_version(conn) == 0
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='t'").fetchone() is None
    conn.close()


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "a.db")
    conn.execute("PRAGMA user_version=99")
    with pytest.raises(SchemaError, match="newer Squall"):
        db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
    conn.close()


def _settings(tmp_path: Path) -> tuple[sqlite3.Connection, Settings]:
    conn = db.connect(tmp_path / "s.db")
    db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
    return conn, Settings(conn)


def test_settings_persist_across_connections(tmp_path: Path) -> None:
    conn, settings = _settings(tmp_path)
    assert settings.get("downloads.concurrency") == 4
    settings.set("downloads.concurrency", 8)
    settings.set("chat.joined_hubs", ["10.0.0.2:8765"])
    conn.close()
    conn, settings = _settings(tmp_path)
    assert settings.get("downloads.concurrency") == 8
    assert settings.get("chat.joined_hubs") == ["10.0.0.2:8765"]
    conn.close()


def test_settings_refuse_unknown_keys_and_wrong_types(tmp_path: Path) -> None:
    conn, settings = _settings(tmp_path)
    with pytest.raises(SettingsError, match="unknown setting 'nope'"):
        settings.get("nope")
    with pytest.raises(SettingsError, match="takes a int, not str"):
        settings.set("downloads.concurrency", "8")
    with pytest.raises(SettingsError, match="takes a int, not bool"):
        settings.set("downloads.concurrency", True)
    assert settings.get("downloads.concurrency") == 4
    conn.close()


def test_settings_listeners_hear_changes(tmp_path: Path) -> None:
    conn, settings = _settings(tmp_path)
    heard: list[tuple[str, object]] = []
    settings.add_listener(lambda key, value: heard.append((key, value)))
    settings.set("downloads.rate_limit", 1_000_000)
    assert heard == [("downloads.rate_limit", 1_000_000)]
    conn.close()
