"""One connection from the client to a hub, as protocol v1 describes it: a token from POST /api/token, then a
WebSocket to /ws with the token in the Authorization header.

sign_in() and open_socket() turn every way these can fail into one of three outcomes the client acts on:
HubAuthError (the passphrase or nick was refused: stop and ask the user), TokenRefusedError (the token is stale: get a
new one at once) and HubUnreachableError (anything else: retry later, perhaps after retry_after). Link wraps an open
socket: decoded frames in, JSON frames out. Timeouts are per phase (connect, response); a healthy connection is
never cut by a total-time limit, and a dead one is found by WebSocket pings.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from core.chat.errors import HubAuthError, NickRefusedError
from core.chat.hub.files import local_passphrase
from core.chat.preferences import parse_address
from core.chat.updates import Target

log = logging.getLogger("squall.chat")
T = TypeVar("T")

MAX_INCOMING = 4 * 1024 * 1024  # a history frame holds ~256 KiB of text; anything far beyond it is not a hub
THROTTLED_WAIT = 60.0  # the hub's wrong-passphrase throttle counts the last minute


@dataclass(frozen=True)
class LinkTimeouts:
    """How long each phase of a connection may take.

    Attributes:
        connect: to open the TCP connection.
        response: for the hub to answer a token request or the WebSocket upgrade.
        ping_interval: seconds between WebSocket pings (a hub that vanished is noticed).
        ping_timeout: how long a pong may take before the connection counts as dead.
        goodbye: how long to wait for the hub to answer our close frame when leaving.
    """

    connect: float = 5.0
    response: float = 10.0
    ping_interval: float = 15.0
    ping_timeout: float = 10.0
    goodbye: float = 0.5


class HubUnreachableError(Exception):
    """The hub cannot be used right now; try again later.

    Attributes:
        retry_after: the least wait that makes sense (seconds), or None for the usual backoff.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenRefusedError(Exception):
    """The hub refused our token at /ws (expired, or signed with a key it dropped): ask for a new one."""


class Inflight:
    """Tornado operations (a token request, a WebSocket upgrade) that are awaited but never cancelled.

    WORKAROUND (tornado#2336): cancelling fetch() or websocket_connect() while it connects makes tornado log
    "Exception after Future was cancelled" at ERROR when the connect fails afterwards. So the operation is
    shielded; whoever stops waiting leaves it to finish on its own (its outcome is read, a late WebSocket is
    closed), and the client's stop() waits for what is still running, within its budget.
    """

    def __init__(self) -> None:
        self._running: set[asyncio.Future[Any]] = set()

    async def run(self, operation: Awaitable[T], abandon: Callable[[T], None] | None = None) -> T:
        if not asyncio.isfuture(operation):  # a coroutine would need a task, and only a Supervisor starts those
            raise TypeError("Inflight.run takes the future tornado returns, not a coroutine")
        future = cast("asyncio.Future[T]", operation)
        self._running.add(future)
        future.add_done_callback(self._running.discard)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(lambda f: _settle(f, abandon))
            raise

    async def drain(self, timeout: float) -> None:
        """Wait up to timeout for abandoned operations to end (a local hub answers at once)."""
        if self._running:
            await asyncio.wait(list(self._running), timeout=max(0.01, timeout))


def _settle(future: asyncio.Future[T], abandon: Callable[[T], None] | None) -> None:
    if future.cancelled() or future.exception() is not None:
        return  # read: nobody is told "exception was never retrieved"
    if abandon is not None:
        abandon(future.result())


def _base(address: str) -> str:
    host, port = parse_address(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def passphrases_for(target: Target, hub_folder: Path | None) -> list[str]:
    """The passphrases to try, in order: the one given for the hub, then (for this machine's hub) the one its
    folder keeps for local instances of the same user (read off the loop)."""
    found = [target.passphrase] if target.passphrase else []
    if target.local and hub_folder is not None:
        try:
            generated = await asyncio.get_running_loop().run_in_executor(None, local_passphrase, hub_folder)
        except (OSError, UnicodeDecodeError) as exc:
            log.info("cannot read the local hub's passphrase: %s", exc)
            generated = None
        if generated and generated not in found:
            found.append(generated)
    return found


def _error_of(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, str) else ""


async def sign_in(
    http: AsyncHTTPClient,
    address: str,
    nick: str,
    passphrases: list[str],
    timeouts: LinkTimeouts,
    inflight: Inflight | None = None,
) -> str:
    """A token for nick, trying each passphrase in turn. Raises HubAuthError (NickRefusedError) or
    HubUnreachableError."""
    url = f"http://{_base(address)}/api/token"
    for passphrase in passphrases or [""]:
        request = HTTPRequest(
            url,
            method="POST",
            body=json.dumps({"nick": nick, "passphrase": passphrase}),
            headers={"Content-Type": "application/json"},
            connect_timeout=timeouts.connect,
            request_timeout=timeouts.connect + timeouts.response,  # a token answer is a few hundred bytes
            follow_redirects=False,
        )
        try:
            response = await (inflight or Inflight()).run(http.fetch(request, raise_error=False))
        except (OSError, HTTPClientError, StreamClosedError) as exc:
            raise HubUnreachableError(f"no hub answers at {address} ({_reason(exc)})") from None
        if response.code == 200:
            try:
                token = json.loads(response.body)["token"]
            except (ValueError, KeyError, TypeError):
                token = None
            if not isinstance(token, str) or not token:
                raise HubUnreachableError(f"{address} answered, but not like a Squall hub (no token in its answer)")
            return token
        if response.code == 401:
            continue
        if response.code == 400:
            raise NickRefusedError(
                address, f"the hub at {address} refused the nick {nick!r}: {_error_of(response.body)}; choose another"
            )
        if response.code == 429:
            raise HubUnreachableError(f"the hub at {address} is refusing sign-ins for a minute", THROTTLED_WAIT)
        if response.code == 599:
            raise HubUnreachableError(f"no hub answers at {address} ({_reason(response.error)})")
        raise HubUnreachableError(f"{address} answered HTTP {response.code}: is it a Squall hub?")
    raise HubAuthError(
        address,
        f"the hub at {address} refused the passphrase; ask its owner for the passphrase and enter it with Join a hub…",
    )


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "no answer"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, HTTPClientError) and exc.code == 599:
        return exc.message or "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def open_socket(
    address: str, token: str, timeouts: LinkTimeouts, inflight: Inflight | None = None
) -> WebSocketClientConnection:
    """The WebSocket to the hub's /ws. Raises TokenRefusedError or HubUnreachableError."""
    request = HTTPRequest(
        f"ws://{_base(address)}/ws",
        headers={"Authorization": f"Bearer {token}"},
        connect_timeout=timeouts.connect,
        request_timeout=timeouts.connect + timeouts.response,  # the upgrade only; the socket then lives on
    )
    try:
        connecting = websocket_connect(
            request,
            ping_interval=timeouts.ping_interval,
            ping_timeout=timeouts.ping_timeout,
            max_message_size=MAX_INCOMING,
        )
        return await (inflight or Inflight()).run(connecting, abandon=lambda conn: conn.close())
    except HTTPClientError as exc:
        if exc.code == 401:
            raise TokenRefusedError() from None
        if exc.code == 429:
            raise HubUnreachableError(f"the hub at {address} has too many connections from this address", 5.0) from None
        if exc.code == 503:
            raise HubUnreachableError(f"the hub at {address} is shutting down") from None
        raise HubUnreachableError(f"no chat at {address} ({_reason(exc)})") from None
    except (OSError, StreamClosedError) as exc:
        raise HubUnreachableError(f"no hub answers at {address} ({_reason(exc)})") from None


class Link:
    """An open WebSocket to a hub: send JSON frames, read decoded ones, say goodbye.

    Attributes:
        address: the hub's HOST:PORT.
    """

    def __init__(self, address: str, conn: WebSocketClientConnection) -> None:
        self.address = address
        self._conn = conn

    @property
    def close_code(self) -> int | None:
        return self._conn.close_code

    @property
    def close_reason(self) -> str | None:
        return self._conn.close_reason

    def send(self, frame: dict[str, Any]) -> bool:
        """Queue one frame on the socket; False when the connection is already closed."""
        try:
            self._conn.write_message(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
        except WebSocketClosedError:
            return False
        return True

    async def read(self) -> dict[str, Any] | None:
        """The next frame from the hub as a dict (frames that are not JSON objects are skipped); None once closed."""
        while True:
            raw = await self._conn.read_message()
            if raw is None:
                return None
            try:
                frame = json.loads(raw)
            except (ValueError, RecursionError):
                log.info("ignoring a frame from %s that is not JSON", self.address)
                continue
            if isinstance(frame, dict):
                return frame
            log.info("ignoring a frame from %s that is not a JSON object", self.address)

    def abort(self) -> None:
        """Drop the connection now without a close handshake (another hub was chosen, or the link is gone)."""
        protocol = self._conn.protocol
        if protocol is None:
            return
        if protocol.stream is not None and not protocol.stream.closed():
            protocol.stream.close()  # tornado then ends the protocol (pings included) and read() returns None
        self._conn.close()  # and forgets it (a connection never closed this way warns when collected)

    async def close(self, timeout: float, reason: str = "goodbye") -> None:
        """Close with 1000 and wait up to timeout for the hub's close frame; then drop the socket regardless."""
        protocol = self._conn.protocol
        stream = protocol.stream if protocol is not None else None
        self._conn.close(1000, reason)
        try:
            async with asyncio.timeout(timeout):
                while await self._conn.read_message() is not None:
                    pass  # frames still in flight after our close
        except TimeoutError:
            pass
        finally:
            if stream is not None and not stream.closed():
                stream.close()  # the hub did not answer in time: do not leave the socket behind
