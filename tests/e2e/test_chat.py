"""Two real Squall windows chat through the hub the first one hosts; the host is frozen and killed while the
other holds unsent messages; the survivor takes over and delivers them exactly once; a third joins later and
sees the whole history. Real processes (`python main.py`), a real X server, real keystrokes.

Each instance gets its profile from the same XDG_DATA_HOME (default, default-2, then --profile third), so all
share the machine-wide hub folder; the hub listens on a free port given with --hub. What arrived is read from
the hub's and the profiles' SQLite files (WAL lets a reader in while the app writes). Screenshots are kept under
the test's tmp folder (SQUALL_KEEP_SCREENSHOT=/tmp/chat.png also copies the first one there).
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import db
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings
from tests.e2e.xkeyboard import CONTROL, Keyboard
from tests.e2e.xvfb import Instance, screenshot, xvfb
from tests.helpers import free_port, wait_until_sync

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
BAD_SIGNS = ("Traceback", "Task was destroyed", "Event loop stopped before Future completed", "ERROR", "CRITICAL")
SCREEN = "2000x800x24"


def seed_profile(data: Path, profile: str, nick: str) -> Path:
    """Create a profile's database with its chat nick set (what the nick field would store)."""
    folder = data / "squall" / "profiles" / profile
    folder.mkdir(parents=True, mode=0o700)
    conn = db.connect(folder / "squall.db")
    try:
        db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
        Settings(conn).set("chat.nick", nick)
    finally:
        conn.close()
    return folder / "squall.db"


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    except sqlite3.OperationalError:  # the app has not created its tables yet
        return []
    finally:
        conn.close()


def kept(profile_db: Path) -> list[tuple[object, ...]]:
    """(id, nick, text, own) of the lobby as a profile keeps it."""
    return rows(profile_db, "SELECT id, nick, text, own FROM chat_messages WHERE room = 'lobby' ORDER BY id")


def unsent(profile_db: Path) -> list[tuple[object, ...]]:
    return rows(profile_db, "SELECT text, state FROM chat_outbox ORDER BY seq")


def assert_clean(instance: Instance) -> None:
    for sign in BAD_SIGNS:
        assert sign not in instance.output, instance.output


@pytest.fixture
def display() -> Iterator[str]:
    with xvfb(SCREEN) as value:
        yield value


def active(app: Instance) -> bool:
    """Whether the app's window is active, by the last "window active/inactive" line it logged."""
    said = next((line for line in reversed(app.lines) if "window active" in line or "window inactive" in line), "")
    return "window active" in said


def send(kb: Keyboard, window: int, app: Instance, text: str) -> None:
    """Bring the window forward, jump to the chat's message box (Ctrl+K), type, press Enter."""
    kb.focus(window)
    wait_until_sync(lambda: active(app), 10, "the window to become active (keys sent before it are lost)")
    kb.press(window, "k", CONTROL)
    kb.type(window, text)
    kb.press(window, "Return")


def test_two_windows_chat_and_a_killed_host_is_taken_over_without_losing_a_message(
    display: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ada_db = seed_profile(data, "default", "ada")
    bob_db = seed_profile(data, "default-2", "bob")
    carol_db = seed_profile(data, "third", "carol")
    hub_db = data / "squall" / "hub" / "hub.db"
    port = free_port()
    hub = ["--hub", f"127.0.0.1:{port}", "--log-level", "debug"]  # debug: "window active" lines
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env = dict(clean, DISPLAY=display, XDG_DATA_HOME=str(data), QT_QPA_PLATFORM="xcb")

    ada = Instance(hub, env, ROOT)
    bob = carol = None
    try:
        wait_until_sync(lambda: ada.line_with("chat status: hosting the room"), 60, "ada to host the room")
        wait_until_sync(lambda: ada.line_with("window ready"), 30, "ada's window")
        bob = Instance(hub, env, ROOT)
        wait_until_sync(lambda: bob.line_with(f"chat status: connected to 127.0.0.1:{port}"), 60, "bob to join")
        wait_until_sync(lambda: bob.line_with("window ready"), 30, "bob's window")
        assert bob.line_with("profile 'default-2'") is not None, bob.output

        with Keyboard(display) as kb:
            wait_until_sync(lambda: kb.window_of(ada.process.pid) and kb.window_of(bob.process.pid), 20, "windows")
            ada_window, bob_window = kb.window_of(ada.process.pid), kb.window_of(bob.process.pid)
            assert ada_window is not None
            assert bob_window is not None
            kb.place(ada_window, 0, 0, 990, 780)
            kb.place(bob_window, 1005, 0, 990, 780)

            # what one sends shows up at the other (read from the other's own database)
            hostile = "Hello from ada <b>not bold</b> <img src=file:///etc/passwd>"
            send(kb, ada_window, ada, hostile)
            wait_until_sync(lambda: kept(bob_db) == [(1, "ada", hostile, 0)], 20, "ada's message at bob's")
            reply = "hi ada\nsecond line https://example.org/x"
            send(kb, bob_window, bob, reply)
            wait_until_sync(lambda: len(kept(ada_db)) == 2, 20, "bob's reply at ada's")
            assert kept(ada_db) == [(1, "ada", hostile, 1), (2, "bob", reply, 0)]
            shot = screenshot(display, tmp_path / "chat-two-windows.png")
            keep = os.environ.get("SQUALL_KEEP_SCREENSHOT")
            if keep:  # for a human to look at
                Path(keep).write_bytes(shot.read_bytes())
            assert shot.stat().st_size > 30_000, "two windows with a conversation are far from blank"

            # freeze the host: bob's next messages go out but are never acknowledged, so they stay in his outbox
            os.kill(ada.process.pid, signal.SIGSTOP)
            frozen = [f"while the host is frozen {i}" for i in (1, 2, 3)]
            for text in frozen:
                send(kb, bob_window, bob, text)
            wait_until_sync(lambda: len(unsent(bob_db)) == 3, 20, "three unsent messages in bob's outbox")
            assert unsent(bob_db) == [(text, "sending") for text in frozen]
            os.kill(ada.process.pid, signal.SIGKILL)
            assert ada.finish(timeout=20) == -signal.SIGKILL

            wait_until_sync(lambda: bob.line_with("taking over on port"), 30, "bob to take the hub over")
            wait_until_sync(lambda: unsent(bob_db) == [], 30, "bob's outbox to drain")
            stored = rows(hub_db, "SELECT id, nick, text FROM messages WHERE room = 'lobby' ORDER BY id")
            assert stored == [
                (1, "ada", hostile),
                (2, "bob", reply),
                (3, "bob", frozen[0]),
                (4, "bob", frozen[1]),
                (5, "bob", frozen[2]),
            ], "each message exactly once, ids continuing in the same history"
            wait_until_sync(lambda: bob.line_with("chat status: hosting the room"), 20, "bob's status bar")

            # a third instance that joins later sees the whole history
            carol = Instance(["--profile", "third", *hub], env, ROOT)
            wait_until_sync(lambda: carol.line_with(f"chat status: connected to 127.0.0.1:{port}"), 60, "carol")
            wait_until_sync(lambda: len(kept(carol_db)) == 5, 20, "the whole history at carol's")
            assert [(r[0], r[2]) for r in kept(carol_db)] == [(r[0], r[2]) for r in stored]
            wait_until_sync(lambda: kb.window_of(carol.process.pid), 20, "carol's window")
            carol_window = kb.window_of(carol.process.pid)
            assert carol_window is not None
            kb.place(carol_window, 0, 0, 990, 780)
            send(kb, carol_window, carol, "hello everyone")
            wait_until_sync(lambda: len(kept(bob_db)) == 6, 20, "carol's message at bob's")
            screenshot(display, tmp_path / "chat-after-take-over.png")

        for app in (bob, carol):
            app.process.send_signal(signal.SIGTERM)
            assert app.finish(timeout=15) == 0, app.output
    finally:
        for app in (ada, bob, carol):
            if app is not None:
                if app.process.poll() is None and app is ada:
                    os.kill(app.process.pid, signal.SIGCONT)
                app.kill()
    print(f"screenshots: {tmp_path / 'chat-two-windows.png'}, {tmp_path / 'chat-after-take-over.png'}")
    assert_clean(bob)
    assert_clean(carol)
    assert "ERROR" not in "\n".join(ada.lines), ada.output
