"""History: ids per room that increase and survive reopening, cid deduplication, paging, private files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core import db
from core.chat.hub.store import HUB_MIGRATIONS, History
from core.errors import SchemaError


def test_ids_increase_per_room_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    history = History.open(path)
    a1, _ = history.append("a", "alice", "one", None)
    a2, _ = history.append("a", "alice", "two", None)
    b1, _ = history.append("b", "bob", "uno", None)
    assert (a1.id, a2.id, b1.id) == (1, 2, 1)
    assert len(a1.cid) == 32  # the hub makes one up when the sender gave none
    history.close()
    again = History.open(path)
    assert again.append("a", "alice", "three", None)[0].id == 3
    assert again.append("c", "carol", "new room", None)[0].id == 1
    assert [m.text for m in again.after("a", 0, 10)] == ["one", "two", "three"]
    again.close()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_known_cid_returns_the_original(tmp_path: Path) -> None:
    history = History.open(tmp_path / "hub.db")
    first, created = history.append("a", "alice", "hello", "cid-1")
    assert created
    again, created = history.append("a", "alice", "hello (resent)", "cid-1")
    assert not created
    assert again == first
    assert history.append("b", "alice", "same cid, other room", "cid-1")[1]  # cids are per room
    assert history.append("a", "alice", "next", None)[0].id == 2  # the refused resend used no id
    assert history.appended == 3
    history.close()


def test_the_same_cid_from_another_nick_is_another_message(tmp_path: Path) -> None:
    history = History.open(tmp_path / "hub.db")
    history.append("a", "alice", "from alice", "1")  # clients that number their cids
    bobs, created = history.append("a", "bob", "from bob", "1")
    assert created
    assert (bobs.id, bobs.text) == (2, "from bob")
    assert history.append("a", "bob", "from bob (resent)", "1") == (bobs, False)
    assert [m.text for m in history.after("a", 0, 10)] == ["from alice", "from bob"]
    history.close()


def test_a_version_1_history_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    conn = db.connect(path)
    db.migrate(conn, HUB_MIGRATIONS[:1], what="chat hub")
    conn.execute("INSERT INTO messages (room, id, nick, text, ts, cid) VALUES ('a', 1, 'alice', 'old', 1.0, '1')")
    conn.commit()
    conn.close()
    history = History.open(path)
    assert history.append("a", "alice", "old (resent)", "1")[1] is False  # still known after the upgrade
    assert history.append("a", "bob", "new", "1")[0].id == 2
    history.close()


def test_text_is_stored_exactly(tmp_path: Path) -> None:
    history = History.open(tmp_path / "hub.db")
    text = "nul\x00 <script>alert(1)</script> 🙂 \u202e"
    history.append("a", "alice", text, None)
    assert history.after("a", 0, 1)[0].text == text
    history.close()


def test_paging(tmp_path: Path) -> None:
    history = History.open(tmp_path / "hub.db")
    for i in range(1, 11):
        history.append("a", "alice", f"m{i}", None)
    assert [m.id for m in history.after("a", 7, 100)] == [8, 9, 10]
    assert [m.id for m in history.after("a", 2, 3)] == [3, 4, 5]
    assert [m.id for m in history.before("a", None, 3)] == [10, 9, 8]
    assert [m.id for m in history.before("a", 4, 10)] == [3, 2, 1]
    assert history.after("nowhere", 0, 10) == []
    assert history.last_id("a") == 10
    assert history.last_id("nowhere") == 0
    history.close()


def test_checkpoint_empties_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    history = History.open(path)
    for i in range(200):
        history.append("a", "alice", "x" * 1000, f"c{i}")
    assert path.stat().st_size < 100_000  # automatic checkpoints are off: everything is still in the WAL
    history.checkpoint()
    assert path.stat().st_size > 200_000  # copied into the database file
    history.close()


def test_a_database_from_a_newer_squall_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    conn = db.connect(path)
    conn.execute(f"PRAGMA user_version={len(HUB_MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer Squall"):
        History.open(path)


def test_a_full_disk_surfaces_as_sqlite_error(tmp_path: Path) -> None:
    history = History.open(tmp_path / "hub.db")
    history._conn.execute("PRAGMA max_page_count=1")  # the database cannot grow: like a full disk
    with pytest.raises(sqlite3.Error):
        history.append("a", "alice", "x" * 100_000, None)
    history.close()
