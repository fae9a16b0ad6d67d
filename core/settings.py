"""Persisted settings: typed defaults declared in one table, values stored as JSON in the profile database.

Each set() is one SQLite transaction, so a crash leaves either the old or the new value, never half of one.
Observers hear about every change (the GUI applies download folder, limits and the like while running).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from core.errors import SettingsError

# key -> default; the default's type is the setting's type (None: any JSON value).
DEFAULTS: dict[str, Any] = {
    "window.geometry": None,
    "downloads.folder": "",
    "downloads.concurrency": 4,
    "downloads.per_host": 4,
    "downloads.rate_limit": 0,
    "downloads.clipboard_offer": True,
    "chat.nick": "",
    "chat.hub": "127.0.0.1:8765",
    "chat.share_on_lan": False,
    "chat.joined_hubs": [],
    "chat.rooms": ["lobby"],
    "monitor.block_threshold_ms": 100,
}

Listener = Callable[[str, Any], None]


class Settings:
    """Reads and writes settings in the `settings` table of a profile database.

    Attributes:
        defaults: the known keys and their default values.
    """

    def __init__(self, conn: sqlite3.Connection, defaults: dict[str, Any] | None = None) -> None:
        self._conn = conn
        self.defaults = dict(DEFAULTS if defaults is None else defaults)
        self._listeners: list[Listener] = []

    def _check(self, key: str, value: Any = None, *, check_value: bool = False) -> None:
        if key not in self.defaults:
            raise SettingsError(f"unknown setting {key!r}")
        default = self.defaults[key]
        if check_value and default is not None:
            # bool is an int subclass: keep the two apart so True never lands in a number setting.
            ok = isinstance(value, type(default)) and isinstance(value, bool) == isinstance(default, bool)
            if not ok:
                raise SettingsError(
                    f"setting {key!r} takes a {type(default).__name__}, not {type(value).__name__} {value!r}"
                )

    def get(self, key: str) -> Any:
        self._check(key)
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            return self.defaults[key]
        return json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        self._check(key, value, check_value=True)
        encoded = json.dumps(value)
        self._conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, encoded),
        )
        for listener in list(self._listeners):
            listener(key, value)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)
