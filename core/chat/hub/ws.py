"""GET /ws: the WebSocket endpoint. Authenticates before the upgrade, then feeds frames to the ChatService.

Order of checks, all before any 101: the hub is running (503), a valid token or login cookie (401), a free slot
for the client's address (429), then a real upgrade (400) from our Origin (403) in version 13 (426), all with JSON
bodies. After the upgrade, outgoing frames go through the peer's BoundedWriter (never write_message), and
on_message returns a future for the next loop turn so one chatty connection cannot starve the rest. Frames over
64 KiB are closed with 1009 by Tornado (websocket_max_message_size); text that is not UTF-8 with 1007.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any
from urllib.parse import urlsplit

from tornado.httputil import HTTPHeaders
from tornado.iostream import IOStream
from tornado.websocket import WebSocketHandler, WebSocketProtocol, WebSocketProtocol13

from core.chat.hub.auth import COOKIE_NAME
from core.chat.hub.context import HubContext, yield_point
from core.chat.hub.endpoints import ApiError, HubHandlerMixin
from core.chat.hub.frames import Outgoing, ws_text_frame
from core.chat.hub.limits import TokenBucket
from core.chat.hub.peer import Peer
from core.chat.hub.writer import BoundedWriter
from core.chat.protocol import CLOSE_POLICY, encode, error_frame

log = logging.getLogger("squall.chat.hub")
CLOSE_PROTOCOL = 1002  # RFC 6455: a protocol error (an unmasked client frame)
CLOSE_NOT_UTF8 = 1007  # RFC 6455: data inconsistent with the message type


def _valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key.strip(), validate=True)) == 16
    except ValueError:  # binascii.Error
        return False


def _same_origin(headers: HTTPHeaders) -> bool:
    """Tornado's rule for WebSocket upgrades: a browser's Sec-Fetch-Site says same-origin (or none), or, from
    older browsers, the Origin names the Host; clients that send neither are not browsers."""
    site = headers.get("Sec-Fetch-Site")
    if site in ("same-origin", "none"):
        return True
    origin = headers.get("Origin")
    if site is None:
        return origin is None or urlsplit(origin).netloc.lower() == headers.get("Host", "").lower()
    return False  # cross-site or same-site: another origin


class _Rfc6455Protocol(WebSocketProtocol13):
    """Tornado's protocol, with two rules of RFC 6455 it does not keep (WORKAROUND, tornado 6.6.1; hooks its
    private _handle_message and _frame_mask):
    - a text frame that is not UTF-8 closes with 1007 (8.1) so the client learns why; Tornado drops the TCP
      connection without a word. The check decodes the frame once more: client frames are few and small;
    - a client frame without a mask closes with 1002 (5.1); Tornado takes it as it is. Tornado keeps the last
      frame's mask in _frame_mask and sets it only for masked frames, so it is cleared after every message and
      found empty when the (last) frame of the next one had none. Nothing wraps Tornado's frame coroutines: one
      more coroutine per connection, always waiting, cost ~1.7 KiB per idle connection (bench/chat/run.py).
    """

    def _handle_message(self, opcode: int, data: bytes) -> asyncio.Future[None] | None:
        if self.client_terminated:
            return super()._handle_message(opcode, data)
        masked, self._frame_mask = self._frame_mask is not None, None
        problem = None
        if not masked:
            problem = (CLOSE_PROTOCOL, "client frames must be masked (RFC 6455, 5.1)")
        elif opcode == 0x1:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                problem = (CLOSE_NOT_UTF8, "a text frame was not valid UTF-8")
        if problem is not None:
            handler = self.handler
            assert isinstance(handler, ChatSocket)
            handler.refuse_connection(*problem)
            return None
        return super()._handle_message(opcode, data)


class WsPeer(Peer):
    """A chat connection over WebSocket."""

    __slots__ = ("_handler", "_stream")

    kind = "ws"

    def __init__(self, handler: ChatSocket, stream: IOStream, nick: str, ip: str, port: int, ctx: HubContext) -> None:
        cfg = ctx.config
        writer = BoundedWriter(stream, ctx.scheduler, cfg.max_buffer, self._too_slow)
        super().__init__(nick, ip, port, writer, TokenBucket(cfg.rate, cfg.burst))
        self._handler = handler
        self._stream = stream

    def send(self, out: Outgoing) -> None:
        self.writer.push(out.ws_frame())

    def send_error(self, code: str, message: str, *, room: str | None = None, cid: str | None = None) -> None:
        self.writer.push(ws_text_frame(encode(error_frame(code, message, room=room, cid=cid))))

    def _too_slow(self) -> None:
        log.info(
            "closing %s (%s): it reads too slowly (over %d bytes behind)", self.label, self.nick, self.writer.limit
        )
        self.close(CLOSE_POLICY, "too far behind: reconnect and join with since")

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.writer.flush()  # what is queued goes out before the close frame
        self._handler.ctx.service.detach(self)
        self._handler.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection now (a peer that did not finish the close handshake in time)."""
        self._stream.close()


class ChatSocket(HubHandlerMixin, WebSocketHandler):
    """One WebSocket client of the hub."""

    SUPPORTED_METHODS = ("GET",)  # a POST is 405, checked before XSRF (whose 403 would speak of a form)

    def initialize(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.peer: WsPeer | None = None
        self._nick = ""
        self._slot: str | None = None  # the address whose slot this handler holds

    def prepare(self) -> None:
        ctx = self.ctx
        if ctx.stopping:
            raise ApiError(503, "the hub is shutting down: reconnect in a moment")
        nick = self._authenticate()
        ip = self.request.remote_ip or "?"
        if not ctx.slots.acquire(ip):
            log.info("refusing a connection from %s: %d already open", ip, ctx.slots.count(ip))
            raise ApiError(429, f"too many connections from your address (the limit is {ctx.slots.limit})")
        self._slot = ip
        self._nick = nick

    def _authenticate(self) -> str:
        authority = self.ctx.authority
        header = self.request.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            nick = authority.nick_from_token(token.strip()) if scheme.lower() == "bearer" else None
        else:
            nick = authority.nick_from_cookie(self.get_cookie(COOKIE_NAME))
        if nick is None:
            raise ApiError(
                401,
                "a valid token is required: POST /api/token, then send it as 'Authorization: Bearer TOKEN' "
                "(browsers: sign in at /login)",
                headers={"WWW-Authenticate": 'Bearer realm="squall"'},
            )
        return nick

    async def get(self, *args: str, **kwargs: str) -> None:
        self._check_handshake()
        await super().get(*args, **kwargs)

    def _check_handshake(self) -> None:
        """Tornado's own checks, made first so that their refusals are JSON and say what to do, like every hub
        error (Tornado answers them in plain text). Tornado still makes its checks after these."""
        headers = self.request.headers
        connection = {part.strip().lower() for part in headers.get("Connection", "").split(",")}
        if headers.get("Upgrade", "").lower() != "websocket" or "upgrade" not in connection:
            raise ApiError(400, "/ws is a WebSocket: open it with 'Upgrade: websocket' and 'Connection: Upgrade'")
        if not _same_origin(headers):
            raise ApiError(403, "pages from another site may not open this hub's WebSocket; only its own pages may")
        if not _valid_key(headers.get("Sec-WebSocket-Key", "")):
            raise ApiError(400, "Sec-WebSocket-Key must be 16 random bytes in base64 (RFC 6455, 4.1)")
        if headers.get("Sec-WebSocket-Version") != "13":
            raise ApiError(
                426, "this hub speaks WebSocket version 13 (RFC 6455) only", headers={"Sec-WebSocket-Version": "13"}
            )

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        protocol = super().get_websocket_protocol()
        if not isinstance(protocol, WebSocketProtocol13):
            return protocol  # None: not version 13 (refused above already)
        return _Rfc6455Protocol(self, False, protocol.params)

    def refuse_connection(self, code: int, reason: str) -> None:
        """Close for a protocol error found below on_message (see _Rfc6455Protocol)."""
        log.info("closing %s: %s", self.peer.label if self.peer else "a connection", reason)
        if self.peer is not None:
            self.peer.close(code, reason)
        else:
            self.close(code, reason)

    def open(self, *args: str, **kwargs: str) -> None:
        connection = self.ws_connection
        if connection is None or connection.stream is None:  # closed between the 101 and here
            return
        stream = connection.stream
        self.set_nodelay(True)  # frames are batched by the writer already; Nagle would only add delay
        try:
            port = int(stream.socket.getpeername()[1])
        except OSError:  # the client is already gone; on_close follows
            port = 0
        self.peer = WsPeer(self, stream, self._nick, self._slot or "?", port, self.ctx)
        self.ctx.socket_opened(self)
        self.ctx.service.attach(self.peer)
        log.debug("%s connected as %r", self.peer.label, self._nick)

    def on_message(self, message: str | bytes) -> asyncio.Future[None] | None:
        peer = self.peer
        if peer is None or peer.closed:
            return None
        self.ctx.service.handle_text(peer, message)
        return yield_point()

    def on_close(self) -> None:
        if self.peer is not None:
            self.ctx.service.detach(self.peer)
            log.debug("%s closed (%s)", self.peer.label, self.close_code)
        self.ctx.socket_closed(self)
        self._release_slot()

    def on_finish(self) -> None:
        if self.get_status() != 101:  # refused or failed before the upgrade: on_close will never come
            self._release_slot()

    def _release_slot(self) -> None:
        if self._slot is not None:
            self.ctx.slots.release(self._slot)
            self._slot = None

    def get_compression_options(self) -> dict[str, Any] | None:
        # Never compress: frames are encoded once and the same bytes go to every client (frames.py).
        return None
