"""Fixtures for the chat client's tests: a real hub on a free loopback port in a tmp folder, real profile databases,
and clients whose updates are collected into the state a viewer would show. (Hub tests use hub/conftest.py.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core import db
from core.chat.client import ChatClient, ClientTiming
from core.chat.connection import LinkTimeouts
from core.chat.hub import Hub, HubConfig
from core.chat.updates import ChatMessage, ChatUpdate, ClientStatus, HistoryPage, LinkState, PendingMessage, Target
from core.schema import PROFILE_MIGRATIONS
from tests.conftest import LoopRunner
from tests.helpers import free_port, wait_until

FAST = ClientTiming(
    flush_every=0.02,
    ack_timeout=2.0,
    backoff_first=0.05,
    backoff_ceiling=0.3,
    healthy_after=0.2,
    typing_shown=1.0,
    link=LinkTimeouts(connect=2.0, response=3.0, goodbye=0.3),
)


class Seen:
    """What a client's updates add up to (what the Chat tab would show), plus every update received.

    Attributes:
        updates: every ChatUpdate, in order.
        messages: room -> id -> message.
        pages: every history page.
        pending: cid -> outbox entry as last shown.
        gone: cids that left the outbox.
        status: the last status.
        statuses: every status, in order.
        presence: room -> users.
        typing: room -> nicks typing.
        notices: every notice.
    """

    def __init__(self) -> None:
        self.updates: list[ChatUpdate] = []
        self.messages: dict[str, dict[int, ChatMessage]] = {}
        self.pages: list[HistoryPage] = []
        self.pending: dict[str, PendingMessage] = {}
        self.gone: list[str] = []
        self.status: ClientStatus | None = None
        self.statuses: list[ClientStatus] = []
        self.presence: dict[str, tuple[str, ...]] = {}
        self.typing: dict[str, tuple[str, ...]] = {}
        self.notices: list[str] = []

    def __call__(self, update: ChatUpdate) -> None:
        self.updates.append(update)
        for room in update.resets:
            self.messages.pop(room, None)
        for page in update.pages:
            self.pages.append(page)
            for m in page.messages:
                self.messages.setdefault(m.room, {})[m.id] = m
        for m in update.messages:
            self.messages.setdefault(m.room, {})[m.id] = m
        for p in update.pending:
            self.pending[p.cid] = p
        for cid in update.gone:
            self.pending.pop(cid, None)
            self.gone.append(cid)
        for pr in update.presence:
            self.presence[pr.room] = pr.users
        for t in update.typing:
            self.typing[t.room] = t.nicks
        if update.status is not None:
            self.status = update.status
            self.statuses.append(update.status)
        self.notices.extend(update.notices)

    def texts(self, room: str = "lobby") -> list[str]:
        return [m.text for _id, m in sorted(self.messages.get(room, {}).items())]

    def ids(self, room: str = "lobby") -> list[int]:
        return sorted(self.messages.get(room, {}))

    @property
    def state(self) -> LinkState | None:
        return None if self.status is None else self.status.state


class ChatRig:
    """Hubs and clients for one test; everything is stopped by stop_all() inside the test's loop.

    Attributes:
        tmp: the test's tmp folder.
        folder: the hub folder (shared by every hub this rig starts unless told otherwise).
        port: the hub port (free when the rig was made).
        hubs, clients: what was started.
    """

    def __init__(self, tmp: Path, aloop: LoopRunner) -> None:
        self.tmp = tmp
        self.aloop = aloop
        self.folder = tmp / "hub"
        self.port = free_port()
        self.hubs: list[Hub] = []
        self.clients: list[ChatClient] = []
        self.conns: list[sqlite3.Connection] = []

    async def start_hub(self, **overrides: Any) -> Hub:
        overrides.setdefault("data_dir", self.folder)
        overrides.setdefault("port", self.port)
        overrides.setdefault("presence_interval", 0.01)
        hub = Hub(HubConfig(**overrides))
        await hub.start()
        self.hubs.append(hub)
        return hub

    async def stop_hub(self, hub: Hub) -> None:
        await hub.stop(1.0)
        self.hubs.remove(hub)

    def profile(self, name: str) -> sqlite3.Connection:
        conn = db.connect(self.tmp / f"{name}.db")
        db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
        self.conns.append(conn)
        return conn

    def target(self, **changes: Any) -> Target:
        changes.setdefault("address", f"127.0.0.1:{self.port}")
        return Target(**changes)

    async def client(
        self,
        nick: str = "ada",
        *,
        conn: sqlite3.Connection | None = None,
        target: Target | None = None,
        rooms: tuple[str, ...] = ("lobby",),
        timing: ClientTiming = FAST,
        start: bool = True,
    ) -> tuple[ChatClient, Seen]:
        seen = Seen()
        client = ChatClient(
            conn if conn is not None else self.profile(nick),
            target or self.target(),
            nick,
            on_update=seen,
            rooms=rooms,
            hub_folder=self.folder,
            timing=timing,
        )
        if start:
            await client.start()
            self.clients.append(client)
        return client, seen

    async def stop_client(self, client: ChatClient) -> None:
        await client.stop(1.0)
        self.clients.remove(client)

    async def stop_all(self) -> None:
        for client in reversed(self.clients):
            await client.stop(1.0)
        self.clients.clear()
        for hub in reversed(self.hubs):
            await hub.stop(1.0)
        self.hubs.clear()

    def run(self, scenario: Callable[[], Any], timeout: float = 20) -> Any:
        """Run scenario() and then stop everything, inside the loop (nothing may outlive the scenario)."""

        async def whole() -> Any:
            try:
                return await scenario()
            finally:
                await self.stop_all()

        return self.aloop.run(whole(), timeout)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


@pytest.fixture
def rig(tmp_path: Path, aloop: LoopRunner) -> Iterator[ChatRig]:
    chat = ChatRig(tmp_path, aloop)
    yield chat
    chat.close()


async def until(predicate: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    await wait_until(predicate, timeout=timeout, what=what)


def hub_rows(folder: Path, room: str = "lobby") -> list[tuple[int, str, str, str]]:
    """(id, nick, text, cid) of every message the hub stored in room, read straight from its database."""
    conn = sqlite3.connect(folder / "hub.db")
    try:
        return conn.execute("SELECT id, nick, text, cid FROM messages WHERE room = ? ORDER BY id", (room,)).fetchall()
    finally:
        conn.close()
