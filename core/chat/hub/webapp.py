"""make_app: the hub's Tornado application (routes and settings). Building only; the hub binds and serves it."""

from __future__ import annotations

from tornado.web import Application

from core.chat.hub.context import HubContext
from core.chat.hub.endpoints import HealthHandler, LoginHandler, NotFoundHandler, TokenHandler, log_request
from core.chat.hub.ws import ChatSocket
from core.chat.protocol import MAX_FRAME_BYTES


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
