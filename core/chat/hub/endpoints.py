"""The hub's HTTP endpoints: POST /api/token (native clients), GET/POST /login (browsers, XSRF-protected),
GET /health. Plus the behaviour every hub handler shares: JSON errors, quiet logging, no secrets in logs.

Handlers get the hub's parts through initialize(ctx=...). Bodies over MAX_BODY are refused with a JSON 413; the
HTTP server reads at most MAX_BODY_READ (beyond that Tornado answers a bare 400 before any handler runs). Nothing
here blocks the loop.
"""

from __future__ import annotations

import html
import json
import logging
from typing import Any

from tornado.web import HTTPError, RequestHandler

from core.chat.hub.auth import COOKIE_NAME
from core.chat.hub.context import HubContext
from core.chat.protocol import nick_problem

MAX_BODY = 16 * 1024  # token and login requests are tiny
MAX_BODY_READ = 1024 * 1024  # what the HTTP server reads, so that a body over MAX_BODY gets an answer that says so

log = logging.getLogger("squall.chat.hub")
access_log = logging.getLogger("squall.chat.hub.access")


class ApiError(HTTPError):
    """An HTTP error whose message is meant for the client (sent as {"error": message}); logged at info.

    headers go with the answer (Tornado clears those set before an error, so they must travel with it).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.message = message
        self.headers = headers or {}


def log_request(handler: RequestHandler) -> None:
    """Access log: the path only (never the query string or headers, so no token can land in a log).

    Client mistakes (4xx) are routine for a public hub and go to info, as does the 503 a stopping hub answers on
    purpose; server faults (other 5xx) to error.
    """
    status = handler.get_status()
    level = logging.ERROR if status >= 500 and status != 503 else logging.INFO if status >= 400 else logging.DEBUG
    request = handler.request
    access_log.log(
        level,
        "%d %s %s (%s) %.1f ms",
        status,
        request.method,
        request.path,
        request.remote_ip,
        1000.0 * request.request_time(),
    )


class HubHandlerMixin(RequestHandler):
    """JSON errors and quiet logs for every hub handler (the WebSocket one included)."""

    ctx: HubContext

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            message = exc.message
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, HTTPError) and status_code == 403 and "xsrf" in (exc.log_message or "").lower():
            message = (
                "the form's _xsrf field is missing or does not match the _xsrf cookie: "
                "load /login again (with cookies on) and send the form from that page"
            )
        elif status_code == 405:
            message = f"{self.request.method} is not allowed on {self.request.path}: see docs/protocol.md"
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": message}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ApiError):
            return  # an answer we chose to give: the access log has the line
        if isinstance(value, HTTPError):
            # Tornado logs HTTPErrors with a log_message (XSRF failures) as warnings with the request line;
            # they are client mistakes: info, and only the path.
            log.info("%d %s %s: %s", value.status_code, self.request.method, self.request.path, value.log_message)
        else:
            super().log_exception(typ, value, tb)


class HubHandler(HubHandlerMixin):
    def initialize(self, ctx: HubContext) -> None:
        self.ctx = ctx

    def prepare(self) -> None:
        if len(self.request.body) > MAX_BODY:
            raise ApiError(413, f"the request body is over {MAX_BODY // 1024} KiB; a login needs a few hundred bytes")

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")


def check_login(ctx: HubContext, ip: str, nick: object, passphrase: object) -> str:
    """The nick, if the passphrase is right and the nick valid; else an ApiError (400, 401 or 429)."""
    if ctx.throttle.blocked(ip):
        raise ApiError(429, "too many wrong passphrases from your address: wait a minute and try again")
    problem = nick_problem(nick)
    if problem:
        raise ApiError(400, problem)
    if not ctx.authority.passphrase_ok(passphrase):
        ctx.throttle.failed(ip)
        log.info("wrong passphrase from %s", ip)
        raise ApiError(401, "wrong passphrase: ask the hub's owner for it")
    assert isinstance(nick, str)
    return nick


class TokenHandler(HubHandler):
    """POST /api/token {"nick", "passphrase"} -> {"token", "nick", "expires_in"}."""

    SUPPORTED_METHODS = ("POST",)

    def check_xsrf_cookie(self) -> None:
        # Deliberately exempt from XSRF: the credential is the passphrase in the body, not an ambient cookie, so
        # a forged cross-site request gains nothing it did not already know.
        return

    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"null")
        except (ValueError, RecursionError):
            raise ApiError(400, 'the body must be JSON: {"nick": "...", "passphrase": "..."}') from None
        if not isinstance(body, dict):
            raise ApiError(400, 'the body must be a JSON object: {"nick": "...", "passphrase": "..."}')
        nick = check_login(self.ctx, self.request.remote_ip or "?", body.get("nick"), body.get("passphrase"))
        token = self.ctx.authority.token_for(nick)
        self.write({"token": token, "nick": nick, "expires_in": int(self.ctx.config.token_ttl)})


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Squall hub</title></head>
<body>{body}</body></html>
"""


class LoginHandler(HubHandler):
    """GET /login shows a form; POST /login (XSRF-checked by Tornado) sets the signed login cookie."""

    SUPPORTED_METHODS = ("GET", "POST")  # others get 405, checked before XSRF (whose 403 would speak of a form)

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
        self.set_header("X-Frame-Options", "DENY")

    def get(self) -> None:
        form = (
            '<form method="post" action="/login">'
            f"{self.xsrf_form_html()}"
            '<label>Nick <input name="nick" maxlength="32" required></label> '
            '<label>Passphrase <input name="passphrase" type="password" required></label> '
            '<button type="submit">Sign in</button></form>'
        )
        self.write(_PAGE.format(body=form))

    def post(self) -> None:
        nick = check_login(self.ctx, self.request.remote_ip or "?", self._field("nick"), self._field("passphrase"))
        self.set_cookie(
            COOKIE_NAME,
            self.ctx.authority.cookie_for(nick),
            expires_days=self.ctx.config.token_ttl / 86400,
            httponly=True,
            samesite="Strict",
            path="/",
        )
        self.write(_PAGE.format(body=f"<p>Signed in as {html.escape(nick)}. Chat at /ws from this origin.</p>"))

    def _field(self, name: str) -> str | None:
        """A form field exactly as sent. get_body_argument would strip it and turn control characters into
        spaces, so a nick /api/token refuses (" ada", "a\x01b") would pass here as another one."""
        values = self.request.body_arguments.get(name)
        if not values:
            return None  # absent, as a JSON body without it: the same answer as /api/token
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, f"the form field {name!r} is not UTF-8") from None


class HealthHandler(HubHandler):
    """GET /health -> {"version", "protocol", "uptime", "connections", "rooms", ...}."""

    SUPPORTED_METHODS = ("GET",)  # others get 405 (checked before XSRF, which would say 403 to a POST)

    def get(self) -> None:
        self.write(self.ctx.health())


class NotFoundHandler(HubHandler):
    def check_xsrf_cookie(self) -> None:
        return  # nothing here acts on a cookie: a POST to a wrong path is a 404, not an XSRF 403

    def prepare(self) -> None:
        raise ApiError(404, "no such endpoint: see docs/protocol.md (/ws, /api/token, /login, /health)")
