"""make_app: the hub's Tornado application (routes and settings), and the HTTP server that serves it with a cap on
connections per client address. Building only; the hub binds and starts them.
"""

from __future__ import annotations

import logging
from typing import Any

from tornado.http1connection import HTTP1ServerConnection
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.web import Application

from core.chat.hub.context import HubContext
from core.chat.hub.endpoints import HealthHandler, LoginHandler, NotFoundHandler, TokenHandler, log_request
from core.chat.hub.ws import ChatSocket
from core.chat.protocol import MAX_FRAME_BYTES

log = logging.getLogger("squall.chat.hub")


def make_app(ctx: HubContext) -> Application:
    cfg = ctx.config
    args = {"ctx": ctx}
    return Application(
        [
            (r"/ws", ChatSocket, args),
            (r"/api/token", TokenHandler, args),
            (r"/login", LoginHandler, args),
            (r"/health", HealthHandler, args),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=args,
        # The login form is the only cookie-authenticated POST; /api/token opts out on purpose (endpoints.py).
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": True, "samesite": "Strict"},
        websocket_ping_interval=cfg.ping_interval,
        websocket_ping_timeout=cfg.ping_timeout,
        websocket_max_message_size=MAX_FRAME_BYTES,
        log_function=log_request,
        compress_response=False,
    )


class GuardedHTTPServer(HTTPServer):
    """An HTTPServer that refuses a client address more than `max_per_ip` HTTP connections at once.

    Counts connections until they are upgraded to WebSocket (those count against HubConfig.max_conns_per_ip
    instead) or closed, so one address cannot hold thousands of half-sent requests (slowloris) while each waits
    for its header timeout.
    """

    def initialize(self, *args: Any, max_per_ip: int = 32, **kwargs: Any) -> None:  # Configurable's constructor
        super().initialize(*args, **kwargs)
        self.max_per_ip = max_per_ip
        self._per_ip: dict[str, int] = {}
        self._ip_of: dict[IOStream, str] = {}

    def open_from(self, ip: str) -> int:
        """HTTP connections from ip that are open and not upgraded."""
        return self._per_ip.get(ip, 0)

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        ip = str(address[0]) if address else "?"
        count = self._per_ip.get(ip, 0)
        if count >= self.max_per_ip:
            log.info("refusing an HTTP connection from %s: %d already open", ip, count)
            stream.close()
            return
        self._per_ip[ip] = count + 1
        self._ip_of[stream] = ip
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        assert isinstance(server_conn, HTTP1ServerConnection)
        ip = self._ip_of.pop(server_conn.stream, None)
        if ip is not None:
            left = self._per_ip[ip] - 1
            if left:
                self._per_ip[ip] = left
            else:
                del self._per_ip[ip]
