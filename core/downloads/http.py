"""One HTTP request of a download: phase timeouts, abort at any moment, body chunks to the engine.

- Requests go through wire.py (our own HTTP/1.1 on tornado's IOStream, with a keep-alive pool): no total request
  timeout (the watchdog here applies connect / first-byte / idle / low-speed limits by phase), no decompression
  (a gzip bomb stays its compressed size on disk), redirects followed by the engine (so every hop is checked),
  certificates always verified.
- Abort at any moment (pause, cancel, idle): every wait is on a Future of the stream (or of the resolver), so
  closing the stream, or the abort signal, ends it at once. A connection is given back to the pool only after its
  response was read to the end.
- The body is read into one buffer; each piece goes to `on_chunk` as a memoryview valid only during the call.
  When on_chunk returns an awaitable (a speed limit says wait, or the .part is being prepared), nothing more is
  read until it resolves, and the idle and low-speed clocks stop meanwhile.

Nothing here writes files or touches SQLite: bytes go to the `on_chunk` callback the engine provides.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from tornado.httputil import HTTPInputError
from tornado.iostream import IOStream, StreamClosedError, UnsatisfiableReadError

from core.downloads.errors import TransferError
from core.downloads.retry import Timeouts
from core.downloads.wire import (
    MAX_HEAD,
    ConnectionPool,
    Headers,
    Origin,
    body_length,
    keeps_alive,
    numeric_address,
    parse_head,
    parse_url,
    request_bytes,
)
from core.version import __version__

USER_AGENT = f"Squall/{__version__}"
# Most body bytes per socket read and per on_chunk call. Reads go straight into this buffer; bigger reads mean
# fewer trips through the loop per GiB, and one pwrite of this size still takes well under a millisecond.
READ_CHUNK = 256 * 1024


def make_client() -> ConnectionPool:
    return ConnectionPool()


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
    headers: Headers
    url: str
    complete: bool = False
    body_bytes: int = 0


class _StoppedError(Exception):
    """Internal: the transfer was aborted while waiting; run() reports what abort() recorded."""


def describe_error(exc: BaseException, timeouts: Timeouts) -> TransferError:
    """Plain words (and retryable or not) for what a failed exchange raised."""
    if isinstance(exc, StreamClosedError) and exc.real_error is not None:
        exc = exc.real_error
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
    if isinstance(exc, ConnectionRefusedError):
        return TransferError("the connection was refused (is the server up?)", retryable=True)
    if isinstance(exc, socket.gaierror):
        return TransferError(f"the host name could not be resolved ({exc.strerror})", retryable=True)
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return TransferError("the connection was reset by the server", retryable=True)
    if isinstance(exc, StreamClosedError):
        return TransferError("the server closed the connection before the end of the file", retryable=True)
    if isinstance(exc, UnsatisfiableReadError):
        return TransferError(f"the server sent a malformed response (headers over {MAX_HEAD} bytes)", retryable=True)
    if isinstance(exc, HTTPInputError):
        return TransferError(f"the server sent a malformed response ({exc})", retryable=True)
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
        pool: ConnectionPool,
        url: str,
        headers: dict[str, str],
        *,
        timeouts: Timeouts,
        on_headers: Callable[[Response], None],
        on_chunk: Callable[[memoryview], Awaitable[None] | None],
        on_abort: Callable[[], None] = lambda: None,
        ssl_context: ssl.SSLContext | None = None,
        read_size: Callable[[], int] | None = None,
    ) -> None:
        self.url = url
        self._pool = pool
        self._headers = headers
        self._timeouts = timeouts
        self._on_headers = on_headers
        self._on_chunk_cb = on_chunk
        self._on_abort = on_abort
        self._ssl_context = ssl_context
        self._read_size = read_size or (lambda: READ_CHUNK)
        self._loop = asyncio.get_running_loop()
        self._stream: IOStream | None = None
        self._buffer: memoryview | None = None
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
            self._pool.forget(self._stream)  # ends any read, write or connect waiting on it
        if not self._stopped.done():
            self._stopped.set_result(None)  # run() returns now, even while resolving or in a TLS handshake
        self._on_abort()

    # --- the request -------------------------------------------------------------------------------

    async def run(self) -> Response:
        """Send the request and stream the body; returns the Response or raises TransferError."""
        self._arm()
        failure: BaseException | None = None
        try:
            await self._exchange()
        except asyncio.CancelledError:
            self.abort()
            raise
        except _StoppedError:
            pass
        except Exception as exc:
            failure = exc
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
            if self._stream is not None and (self.aborted or failure is not None):
                self._pool.forget(self._stream)
        if self.aborted:
            if self._error is not None:
                raise self._error
            if self.response is None:
                raise TransferError("the download was stopped before the server answered", retryable=True)
            return self.response
        if failure is not None:
            if self.response is None and isinstance(failure, StreamClosedError) and failure.real_error is None:
                raise TransferError("the server closed the connection without answering", retryable=True)
            raise describe_error(failure, self._timeouts)
        assert self.response is not None
        self.response.complete = True
        return self.response

    async def _exchange(self) -> None:
        try:
            origin = parse_url(self.url)
        except ValueError as exc:
            raise TransferError(f"cannot download {self.url!r}: {exc}", retryable=False) from None
        request = request_bytes(origin, {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **self._headers})
        key = (*origin.key, id(self._ssl_context) if origin.scheme == "https" else 0)
        stream, reused = await self._connect(origin, key, reuse=True)
        try:
            await self._converse(stream, request, key)
            return
        except StreamClosedError:
            if not reused or self.response is not None or self.aborted:
                raise
        # The server closed this idle connection before we used it (its keep-alive timeout): ask on a new one.
        self._pool.forget(stream)
        self._stream = None
        stream, _ = await self._connect(origin, key, reuse=False)
        await self._converse(stream, request, key)

    async def _wait(self, future: asyncio.Future[Any], deadline: float) -> Any:
        """The future's result, unless the transfer is aborted first (_StoppedError) or the connect deadline passes."""
        await asyncio.wait([future, self._stopped], timeout=max(0.0, deadline - self._loop.time()),
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if future.done():
            return future.result()
        future.add_done_callback(_consume)
        future.cancel()
        if self.aborted:
            raise _StoppedError
        raise TransferError(f"no connection within {self._timeouts.connect:g} s (connect timeout)", retryable=True)

    async def _connect(self, origin: Origin, key: tuple[Any, ...], *, reuse: bool) -> tuple[IOStream, bool]:
        """An idle connection to origin from the pool (if reuse), else a new one (TCP, then TLS for https)."""
        stream = self._pool.take_idle(key) if reuse else None
        if stream is not None:
            self._stream = stream
            self.connected_at = self.last_activity = self._loop.time()
            return stream, True
        deadline = self._loop.time() + self._timeouts.connect
        numeric = numeric_address(origin.host, origin.port)
        if numeric is not None:
            addresses = [numeric]
        else:
            found = self._loop.run_in_executor(
                None, socket.getaddrinfo, origin.host, origin.port, 0, socket.SOCK_STREAM
            )
            addresses = [(info[0], info[4]) for info in await self._wait(found, deadline)]
        failure: BaseException | None = None
        for family, address in addresses:
            stream = self._stream = self._pool.new_stream(family)
            try:
                await self._wait(stream.connect(address), deadline)
            except StreamClosedError as exc:
                self._pool.forget(stream)
                if self.aborted:
                    raise _StoppedError from None
                failure = exc
                continue
            except BaseException:
                self._pool.forget(stream)
                raise
            if origin.scheme == "https":
                context = self._pool.tls_context(self._ssl_context)
                # start_tls takes the socket away from the plain stream, which must then never be closed (its
                # close would fail); a failed or cancelled handshake closes the TLS stream itself.
                self._stream = None
                self._pool.detach(stream)
                handshake = stream.start_tls(False, ssl_options=context, server_hostname=origin.host)
                stream = self._stream = self._pool.attach(await self._wait(handshake, deadline))
            self.connected_at = self.last_activity = self._loop.time()
            return stream, False
        assert failure is not None
        raise failure

    async def _converse(self, stream: IOStream, request: bytes, key: tuple[Any, ...]) -> None:
        stream.write(request)  # a failed write closes the stream: the read below reports it
        while True:
            head = await stream.read_until_regex(b"\r?\n\r?\n", max_bytes=MAX_HEAD)
            code, reason, version, headers = parse_head(head)
            if code == 101 or not 100 <= code < 200:
                break  # 1xx: an interim answer, the real one follows
        length, chunked = body_length(code, headers)
        self._headers_arrived(code, reason, headers)
        if self.aborted:
            return
        if chunked:
            await self._chunked(stream)
        elif length is not None:
            await self._fixed(stream, length)
        else:
            await self._until_close(stream)
        if self._gone():
            return
        self._stream = None
        if (chunked or length is not None) and keeps_alive(version, headers):
            self._pool.give_back(key, stream)
        else:
            self._pool.forget(stream)

    def _view(self, wanted: int) -> memoryview:
        if self._buffer is None or len(self._buffer) < min(wanted, READ_CHUNK):
            self._buffer = memoryview(bytearray(max(1, min(wanted, READ_CHUNK))))
        return self._buffer

    async def _read(self, stream: IOStream, view: memoryview) -> int:
        """Read what is there (at most len(view) bytes) into view, waiting for at least one byte."""
        read = cast("asyncio.Future[int]", stream.read_into(_writable(view), partial=True))
        if read.done():
            # The bytes were already there and awaiting a done future does not yield: on a fast link one download
            # would keep the loop for a whole file (hundreds of ms of loop lag). Let the loop go round once.
            await asyncio.sleep(0)
        return await read

    async def _fixed(self, stream: IOStream, remaining: int) -> None:
        view = self._view(remaining)
        while remaining > 0:
            n = await self._read(stream, view[: min(remaining, len(view), self._read_size())])
            remaining -= n
            pending = self._chunk(view[:n])
            if pending is not None:
                await pending
            if self.aborted:
                return

    async def _chunked(self, stream: IOStream) -> None:
        while True:
            line = await stream.read_until(b"\r\n", max_bytes=1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HTTPInputError(f"malformed chunk size line {bytes(line[:40])!r}") from None
            if size < 0:
                raise HTTPInputError(f"malformed chunk size line {bytes(line[:40])!r}")
            if size == 0:
                while await stream.read_until(b"\r\n", max_bytes=MAX_HEAD) != b"\r\n":
                    pass  # trailer fields: not used
                return
            await self._fixed(stream, size)
            if self.aborted:
                return
            if await stream.read_bytes(2) != b"\r\n":
                raise HTTPInputError("a chunk of the body did not end with CRLF")

    async def _until_close(self, stream: IOStream) -> None:
        """No length announced: the body ends when the server closes the connection cleanly."""
        view = self._view(READ_CHUNK)
        while True:
            try:
                n = await self._read(stream, view[: min(len(view), self._read_size())])
            except StreamClosedError as exc:
                if exc.real_error is not None or self.aborted:
                    raise
                return
            pending = self._chunk(view[:n])
            if pending is not None:
                await pending
            if self.aborted:
                return

    def _gone(self) -> bool:
        return self.aborted  # a call, so the type checker does not assume an earlier check still holds

    # --- callbacks to the engine -------------------------------------------------------------------

    def _headers_arrived(self, code: int, reason: str, headers: Headers) -> None:
        if self.aborted:
            return
        try:
            self.last_activity = self._window_start = self._loop.time()
            self.response = Response(code, reason, headers, self.url)
            self._on_headers(self.response)
        except TransferError as exc:
            self.abort(exc)
        except Exception as exc:  # a bug in a callback: this transfer's error, not a crash of the exchange
            self.abort(describe_error(exc, self._timeouts))

    def _chunk(self, chunk: memoryview) -> Awaitable[None] | None:
        self.last_activity = self._loop.time()
        self._window_bytes += len(chunk)
        if self.response is not None:
            self.response.body_bytes += len(chunk)
        try:
            pending = self._on_chunk_cb(chunk)
        except TransferError as exc:
            self.abort(exc)
            return None
        if pending is None:
            return None
        return self._guard(pending)

    async def _guard(self, pending: Awaitable[None]) -> None:
        # Until pending resolves nothing more is read: the stream is held by us (our own speed limit, or
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


def _writable(view: memoryview) -> bytearray:
    # IOStream.read_into documents "a writable buffer" but annotates bytearray; a memoryview slice works and
    # spares a copy.
    return cast(bytearray, view)


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
