"""AppCore: one running profile's components, started and stopped in order. No Qt: the window wraps it.

Components (the download engine, the chat client and hub, the monitor) join as their issues land; each owns a
Supervisor and offers `async start()` and `async stop(timeout)`. AppCore stops them in reverse start order.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Protocol

from core import db
from core.profile import Profile
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings

log = logging.getLogger("squall.app")


class Component(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self, timeout: float) -> None: ...


@dataclass(frozen=True)
class LaunchOptions:
    """What the command line asked of this run, beyond the profile.

    Attributes:
        hub: "HOST:PORT" of the chat hub to join (or host), overriding the `chat.hub` setting; None: the setting.
    """

    hub: str | None = None


class AppCore:
    """Everything one window runs, minus the window.

    Attributes:
        profile: the open, locked profile.
        conn: the profile database.
        settings: persisted settings.
        options: what the command line asked of this run.
        components: started components, in start order.
    """

    def __init__(self, profile: Profile, options: LaunchOptions | None = None) -> None:
        self.profile = profile
        self.options = options or LaunchOptions()
        self.conn: sqlite3.Connection = db.connect(profile.path / "squall.db")
        db.migrate(self.conn, PROFILE_MIGRATIONS, what="profile")
        self.settings = Settings(self.conn)
        self.components: list[Component] = []

    async def start(self, components: list[Component]) -> None:
        for component in components:
            await component.start()
            self.components.append(component)

    async def stop(self, timeout: float = 1.5) -> None:
        """Stop components newest first, sharing one deadline; then close the database."""
        deadline = time.monotonic() + timeout
        while self.components:
            component = self.components.pop()
            remaining = max(0.1, deadline - time.monotonic())
            try:
                await component.stop(remaining)
            except Exception:
                log.exception("stopping %s failed", component.name)
        self.conn.close()
