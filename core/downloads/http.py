"""One HTTP request of a download, on Tornado's simple_httpclient, with the traps of that client handled.

- Our own client instance (force_instance), no max_clients queue (the engine limits concurrency), no total
  request timeout (the watchdog here applies connect / first-byte / idle / low-speed limits by phase), an
  unlimited max_body_size, no decompression (a gzip bomb stays its compressed size on disk), redirects
  followed by the engine (so every hop is checked), certificates always verified.
- A resolver that answers numeric addresses itself instead of going through a thread pool.
- Abort at any moment (pause, cancel, idle): simple_httpclient has no cancel, so our connection class hands
  each new stream to the Transfer that asked for it; aborting closes that stream. The same class passes the
  parsed response headers straight to the Transfer (header_callback would make us parse every line again).
  Errors raised inside Tornado's delegate callbacks would be logged by Tornado as uncaught, so callbacks here
  turn every failure into an abort instead.

Nothing here writes files or touches SQLite: bytes go to the `on_chunk` callback the engine provides.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tornado.http1connection import HTTP1Connection
from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders, HTTPInputError, RequestStartLine, ResponseStartLine
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.simple_httpclient import (
    HTTPStreamClosedError,
    HTTPTimeoutError,
    SimpleAsyncHTTPClient,
    _HTTPConnection,  # WORKAROUND below needs the private class
)

from core.downloads.errors import TransferError
from core.downloads.retry import Timeouts
from core.version import __version__

USER_AGENT = f"Squall/{__version__}"
# Body bytes per socket read and per on_chunk call. tornado's 64 KiB default costs ~30% more loop CPU per GiB;
# 256 KiB keeps each pwrite well under a millisecond (loop lag) while cutting per-chunk overhead.
READ_CHUNK = 256 * 1024


class NumericResolver(Resolver):
    """Answers IP literals directly (no executor round trip); asks the loop's getaddrinfo for names."""

    def initialize(self) -> None:
        self._fallback = DefaultLoopResolver()

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            addresses: list[tuple[int, Any]] = await self._fallback.resolve(host, port, family)
            return addresses
        if ip.version == 6:
            return [(socket.AF_INET6, (host, port, 0, 0))]
        return [(socket.AF_INET, (host, port))]


class _Connection(_HTTPConnection):
    """simple_httpclient's connection, tied to the Transfer that made the request (see the module docstring)."""

    def _transfer(self) -> Transfer | None:
        transfer = getattr(getattr(self.request, "request", self.request), "squall_transfer", None)
        return transfer if isinstance(transfer, Transfer) else None

    def _create_connection(self, stream: IOStream) -> HTTP1Connection:
        connection = super()._create_connection(stream)
        connection.params.chunk_size = READ_CHUNK
        stream.read_chunk_size = READ_CHUNK
        transfer = self._transfer()
        if transfer is not None:
            transfer._attach(stream, connection)
        return connection

    async def headers_received(self, first_line: ResponseStartLine | RequestStartLine, headers: HTTPHeaders) -> None:
        await super().headers_received(first_line, headers)
        transfer = self._transfer()
        if transfer is not None and isinstance(first_line, ResponseStartLine) and not 100 <= first_line.code < 200:
            transfer._headers_arrived(first_line.code, first_line.reason, headers)

    def on_connection_close(self) -> None:
        # WORKAROUND: tornado 6.6.1 `_HTTPConnection.on_connection_close` does `raise self.stream.error` when the
        # peer resets the connection mid-body. It runs inside http1connection's delegate error-logging context,
        # so the reset is logged as "Uncaught exception" and final_callback is never called: the fetch hangs.
        # Hand the error to _handle_exception instead, which resolves the fetch with it.
        if self.final_callback is not None:
            error = self.stream.error or HTTPStreamClosedError("Connection closed")
            self._handle_exception(type(error), error, error.__traceback__)


class DownloadClient(SimpleAsyncHTTPClient):
    """simple_httpclient whose connections can be found (and closed) by the Transfer that opened them."""

    def _connection_class(self) -> type:
        return _Connection


def make_client() -> DownloadClient:
    # max_clients: the engine already limits concurrency, and tornado's own queue would count queue time
    # against timeouts. max_body_size: tornado caps even streamed bodies (100 MiB by default).
    return DownloadClient(force_instance=True, max_clients=1_000_000, resolver=NumericResolver(), max_body_size=1 << 62)


@dataclass
class Response:
    """The status line and headers of a response, and how its body ended.

    Attributes:
        code: HTTP status.
        reason: the status text.
        headers: response headers.
        url: the URL that answered.
        complete: the whole body arrived (False when we stopped reading early or it never came).
        body_bytes: body bytes handed to on_chunk.
    """

    code: int
    reason: str
    headers: HTTPHeaders
    url: str
    complete: bool = False
    body_bytes: int = 0


def describe_error(exc: BaseException, timeouts: Timeouts) -> TransferError:
    """Plain words (and retryable or not) for what a failed fetch raised."""
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransferError(
            f"the server's TLS certificate was refused ({exc.verify_message or exc.reason}); "
            "Squall always checks certificates: fix the server's certificate or use another source",
            retryable=False,
        )
    if isinstance(exc, ssl.SSLError):
        return TransferError(f"the TLS handshake failed ({exc.reason or exc})", retryable=True)
    if isinstance(exc, HTTPTimeoutError):
        return TransferError(f"no connection within {timeouts.connect:g} s (connect timeout)", retryable=True)
    if isinstance(exc, ConnectionRefusedError):
        return TransferError("the connection was refused (is the server up?)", retryable=True)
    if isinstance(exc, socket.gaierror):
        return TransferError(f"the host name could not be resolved ({exc.strerror})", retryable=True)
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return TransferError("the connection was reset by the server", retryable=True)
    if isinstance(exc, HTTPStreamClosedError | StreamClosedError):
        return TransferError("the server closed the connection before the end of the file", retryable=True)
    if isinstance(exc, HTTPInputError):
        return TransferError(f"the server sent a malformed response ({exc})", retryable=True)
    if isinstance(exc, HTTPClientError):
        return TransferError(f"the request failed ({exc})", retryable=True)
    if isinstance(exc, OSError):
        return TransferError(f"network error: {exc.strerror or exc}", retryable=True)
    return TransferError(f"unexpected error: {exc!r}", retryable=True)


class Transfer:
    """One request in flight: headers to `on_headers`, body chunks to `on_chunk`, abortable at any time.

    Attributes:
        url: the requested URL.
        last_activity: loop time of the last body byte, moved on by any time we held the stream ourselves.
        response: the response once its headers arrived, else None.
        aborted: abort() was called.
    """

    def __init__(
        self,
        client: DownloadClient,
        url: str,
        headers: dict[str, str],
        *,
        timeouts: Timeouts,
        on_headers: Callable[[Response], None],
        on_chunk: Callable[[bytes], Awaitable[None] | None],
        on_abort: Callable[[], None] = lambda: None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self._client = client
        self._headers = headers
        self._timeouts = timeouts
        self._on_headers = on_headers
        self._on_chunk_cb = on_chunk
        self._on_abort = on_abort
        self._ssl_context = ssl_context
        self._loop = asyncio.get_running_loop()
        self._stream: IOStream | None = None
        self._connection: HTTP1Connection | None = None
        self._error: TransferError | None = None
        self.aborted = False
        self.response: Response | None = None
        self.started = self._loop.time()
        self.connected_at: float | None = None
        self.last_activity = self.started
        self._window_start = self.started
        self._window_bytes = 0
        self._held_since: float | None = None  # loop time our on_chunk began holding the stream (see _guard)
        self._watchdog: asyncio.TimerHandle | None = None
        self._stopped: asyncio.Future[None] = self._loop.create_future()  # resolved by abort()

    # --- control -----------------------------------------------------------------------------------

    def abort(self, error: TransferError | None = None) -> None:
        """Stop now. With an error, run() raises it; without, run() returns what arrived (stopped early)."""
        if self.aborted:
            return
        self.aborted = True
        self._error = error
        if self._stream is not None:
            self._stream.close()
        if not self._stopped.done():
            self._stopped.set_result(None)  # run() returns now, even while still connecting
        self._on_abort()

    # --- tornado callbacks -------------------------------------------------------------------------

    def set_chunk_size(self, size: int) -> None:
        """Deliver the body in pieces of at most size bytes (small under a speed limit, so it holds smoothly)."""
        if self._connection is not None:
            self._connection.params.chunk_size = size

    def _attach(self, stream: IOStream, connection: HTTP1Connection) -> None:
        self._stream = stream
        self._connection = connection
        self.connected_at = self.last_activity = self._loop.time()
        if self.aborted:
            stream.close()

    def _headers_arrived(self, code: int, reason: str, headers: HTTPHeaders) -> None:
        if self.aborted:
            return
        try:
            self.last_activity = self._window_start = self._loop.time()
            self.response = Response(code, reason, headers, self.url)
            self._on_headers(self.response)
        except TransferError as exc:
            self.abort(exc)
        except Exception as exc:  # never let tornado log it as uncaught: it becomes this transfer's error
            self.abort(describe_error(exc, self._timeouts))

    def _chunk(self, chunk: bytes) -> Awaitable[None] | None:
        if self.aborted:
            raise HTTPInputError("download stopped")  # tornado closes the connection quietly (INFO log)
        self.last_activity = self._loop.time()
        self._window_bytes += len(chunk)
        if self.response is not None:
            self.response.body_bytes += len(chunk)
        try:
            pending = self._on_chunk_cb(chunk)
        except TransferError as exc:
            self.abort(exc)
            raise HTTPInputError("download stopped") from None
        if pending is None:
            return None
        return self._guard(pending)

    async def _guard(self, pending: Awaitable[None]) -> None:
        # Until pending resolves tornado reads nothing more: the stream is held by us (our own speed limit, or
        # preparing the .part), not by the server, so the idle and low-speed clocks stop meanwhile.
        self._held_since = self._loop.time()
        try:
            await pending
        except TransferError as exc:
            self.abort(exc)
        except Exception as exc:
            self.abort(describe_error(exc, self._timeouts))
        finally:
            self._release()
        if self.aborted:
            raise HTTPInputError("download stopped")

    def _release(self) -> None:
        """The hold is over: move the idle and low-speed clocks on by its length, as if it never happened."""
        if self._held_since is None:
            return
        held = self._loop.time() - self._held_since
        self._held_since = None
        self.last_activity += held
        self._window_start += held

    # --- watchdog ----------------------------------------------------------------------------------

    def _check(self) -> None:
        self._watchdog = None
        if self.aborted:
            return
        now = self._loop.time()
        t = self._timeouts
        if self.response is None:
            if self.connected_at is not None and now - self.connected_at > t.first_byte:
                self.abort(TransferError(f"no answer within {t.first_byte:g} s (first-byte timeout)", retryable=True))
                return
        elif self._held_since is not None:
            pass  # we are holding the stream: the server can be neither idle nor slow meanwhile
        elif now - self.last_activity > t.idle:
            self.abort(TransferError(f"no data for {t.idle:g} s (idle timeout)", retryable=True))
            return
        elif t.low_speed_time > 0 and now - self._window_start >= t.low_speed_time:
            rate = self._window_bytes / (now - self._window_start)
            if rate < t.low_speed_bytes:
                self.abort(
                    TransferError(
                        f"slower than {t.low_speed_bytes} bytes/s for {t.low_speed_time:g} s (low-speed limit)",
                        retryable=True,
                    )
                )
                return
            self._window_start, self._window_bytes = now, 0
        self._arm()

    def _arm(self) -> None:
        t = self._timeouts
        step = max(0.02, min(0.25, t.idle / 4, t.first_byte / 4))
        self._watchdog = self._loop.call_later(step, self._check)

    # --- the request -------------------------------------------------------------------------------

    async def run(self) -> Response:
        """Send the request and stream the body; returns the Response or raises TransferError."""
        request = HTTPRequest(
            self.url,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **self._headers},
            follow_redirects=False,
            decompress_response=False,
            connect_timeout=self._timeouts.connect,
            request_timeout=0,  # no total limit: the watchdog handles each phase
            streaming_callback=self._chunk,  # tornado awaits what this returns (flow control)
            validate_cert=True,
            ssl_options=self._ssl_context,
        )
        request.squall_transfer = self  # type: ignore[attr-defined]  # read back by _Connection
        future = self._client.fetch(request, raise_error=False)
        # The fetch's own future is resolved by tornado, possibly after we stopped waiting; retrieve its outcome
        # so nothing is logged as never retrieved, and never cancel it: tornado logs an ERROR ("Exception after
        # Future was cancelled") when it then tries to set the error of a cancelled future.
        future.add_done_callback(_consume)
        self._arm()
        failure: BaseException | None = None
        result: HTTPResponse | None = None
        try:
            waiters: list[asyncio.Future[Any]] = [future, self._stopped]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if future.done():
                result = future.result()
        except asyncio.CancelledError:
            self.abort()
            raise
        except Exception as exc:
            failure = exc
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
        if self.aborted:
            if self._error is not None:
                raise self._error
            if self.response is None:
                raise TransferError("the download was stopped before the server answered", retryable=True)
            return self.response
        if failure is None and result is not None and result.code == 599:
            failure = result.error
        if failure is not None:
            if self.response is None and isinstance(failure, HTTPStreamClosedError | StreamClosedError):
                raise TransferError("the server closed the connection without answering", retryable=True)
            raise describe_error(failure, self._timeouts)
        if self.response is None:
            raise TransferError("the server's answer had no status line", retryable=True)
        self.response.complete = True
        return self.response


def _consume(future: asyncio.Future[HTTPResponse]) -> None:
    if not future.cancelled():
        future.exception()
