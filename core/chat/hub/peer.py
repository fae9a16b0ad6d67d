"""A Peer is one chat connection as the hub sees it, whatever carries it (WebSocket or the nc gateway).

The hub's rooms and protocol logic talk only to this interface; ws.py and gateway.py subclass it with the way
their transport shows a frame, an error and a close. Must not know about rooms' internals or the store.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.chat.hub.frames import Outgoing
from core.chat.hub.limits import TokenBucket
from core.chat.hub.writer import BoundedWriter


class Peer:
    """One authenticated chat connection.

    Attributes:
        kind: "ws" or "nc".
        nick: who is connected (from the token, cookie or nc prompt).
        ip: the client's address.
        label: `kind:ip:port`, names this connection's tasks and log lines.
        writer: the bounded output queue.
        bucket: the frame-rate limiter.
        strikes: frames refused for rate in a row; reset by an accepted frame.
        rooms: rooms this connection has joined (live or still replaying).
        replays: room -> the task replaying that room's history to this connection.
        closed: the hub has let go of this connection (it may still be finishing its close handshake).
    """

    __slots__ = ("bucket", "closed", "ip", "label", "nick", "replays", "rooms", "strikes", "writer")

    kind = "peer"

    def __init__(self, nick: str, ip: str, port: int, writer: BoundedWriter, bucket: TokenBucket) -> None:
        self.nick = nick
        self.ip = ip
        self.label = f"{self.kind}:{ip}:{port}"
        self.writer = writer
        self.bucket = bucket
        self.strikes = 0
        self.rooms: set[str] = set()
        self.replays: dict[str, asyncio.Task[Any]] = {}
        self.closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label} {self.nick!r}>"

    def send(self, out: Outgoing) -> None:
        """Queue a frame for this connection (dropped silently once closed)."""
        raise NotImplementedError

    def send_error(self, code: str, message: str, *, room: str | None = None, cid: str | None = None) -> None:
        """Tell this connection a frame of its was refused; the connection stays open."""
        raise NotImplementedError

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code (nc peers get the reason as a last line)."""
        raise NotImplementedError
