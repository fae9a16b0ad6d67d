"""Test clients for a running hub: Tornado's WebSocket client with frame helpers, and a raw-socket WebSocket
handshake for tests that must misbehave below the WebSocket layer (never read, never answer pings)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from core.chat.hub import Hub


class WsClient:
    """A Tornado WebSocket client that decodes the hub's JSON frames.

    Attributes:
        conn: the Tornado connection.
        seen: every frame received so far, in order.
    """

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls,
        hub: Hub,
        nick: str | None = "alice",
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        url: str | None = None,
    ) -> WsClient:
        all_headers = dict(headers or {})
        if token is None and nick is not None:
            token = hub.issue_token(nick)
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        request = HTTPRequest(url or hub.ws_url, headers=all_headers, connect_timeout=5, request_timeout=5)
        return cls(await websocket_connect(request))

    async def send(self, **frame: Any) -> None:
        await self.conn.write_message(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self.conn.write_message(data, binary=isinstance(data, bytes))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The next frame, or None once the hub closed the connection."""
        async with asyncio.timeout(timeout):
            raw = await self.conn.read_message()
        if raw is None:
            return None
        frame: dict[str, Any] = json.loads(raw)
        self.seen.append(frame)
        return frame

    async def expect(self, kind: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        """Read until a frame of this type whose fields match arrives (others are kept in seen)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame is None:
                    raise AssertionError(f"closed ({self.conn.close_code}) while waiting for {kind} {fields}")
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                    return frame

    async def join(self, room: str = "lobby", since: int | None = None, nick: str | None = None) -> dict[str, Any]:
        """Join and wait for the presence frame that lists this client (its acknowledgement)."""
        frame: dict[str, Any] = {"type": "join", "room": room}
        if since is not None:
            frame["since"] = since
        await self.send(**frame)
        while True:
            presence = await self.expect("presence", room=room)
            if nick is None or nick in presence["users"]:
                return presence

    async def say(self, text: str, room: str = "lobby", cid: str | None = None) -> dict[str, Any]:
        """Say and wait for the hub's acknowledgement (the message coming back)."""
        frame: dict[str, Any] = {"type": "say", "room": room, "text": text}
        if cid is not None:
            frame["cid"] = cid
        await self.send(**frame)
        if cid is not None:
            return await self.expect("message", room=room, cid=cid)
        return await self.expect("message", room=room, text=text)

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        """Read until the hub closes; returns the close code."""
        async with asyncio.timeout(timeout):
            while await self.conn.read_message() is not None:
                pass
        self.conn.close()  # releases the client's side (Tornado warns about unclosed connections otherwise)
        return self.conn.close_code

    async def close(self) -> None:
        self.conn.close()
        await self.wait_closed()


def upgrade_request(port: int, path: str = "/ws", headers: dict[str, str] | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def masked_text_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame (clients must mask), any length."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n <= 0xFFFF:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body


async def raw_connect(port: int, *, rcvbuf: int | None = None) -> socket.socket:
    """A non-blocking socket connected to the hub (use loop.sock_* on it; the hub shares this loop).

    rcvbuf shrinks the kernel's receive buffer (set before connecting) so a reader that never reads fills up fast.
    """
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


async def read_head(sock: socket.socket) -> bytes:
    """Read an HTTP response head (up to the blank line), a byte at a time so no frame bytes are consumed."""
    loop = asyncio.get_running_loop()
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await loop.sock_recv(sock, 1)
        if not chunk:
            break
        head += chunk
    return head


async def raw_upgrade(port: int, token: str, *, rcvbuf: int | None = None) -> tuple[socket.socket, bytes]:
    """A raw socket that completed the WebSocket handshake with a token; returns it and the response head."""
    sock = await raw_connect(port, rcvbuf=rcvbuf)
    await asyncio.get_running_loop().sock_sendall(
        sock, upgrade_request(port, headers={"Authorization": f"Bearer {token}"})
    )
    return sock, await read_head(sock)


async def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the hub sends until it closes the connection (EOF or reset)."""
    loop = asyncio.get_running_loop()
    data = b""
    async with asyncio.timeout(timeout):
        while True:
            try:
                chunk = await loop.sock_recv(sock, 65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk


async def read_until_close_frame(sock: socket.socket, timeout: float = 5.0) -> list[tuple[int, bytes]]:
    """Frames the hub sends up to and including its close frame (without waiting for the TCP close)."""
    loop = asyncio.get_running_loop()
    data = b""
    async with asyncio.timeout(timeout):
        while True:
            frames = parse_frames(data)
            if frames and frames[-1][0] == 0x8:
                return frames
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                return frames
            data += chunk


def parse_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split unmasked server frames into (opcode, payload); a trailing partial frame is ignored."""
    frames = []
    i = 0
    while i + 2 <= len(data):
        opcode, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif n == 127:
            n, i = int.from_bytes(data[i : i + 8], "big"), i + 8
        if i + n > len(data):
            break
        frames.append((opcode, data[i : i + n]))
        i += n
    return frames
