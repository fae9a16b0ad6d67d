"""The loop lab's local HTTP server: a tiny Tornado app that answers after a delay, on its own loop and thread.

Why its own thread: the lab's first style blocks the app's loop on purpose; a server on that same loop could
not answer, and the blocking fetch would wait forever. A separate loop also keeps the server's own work out of
the lag being measured. The lab's supervisor owns the server through one task (`lab:server`) that starts the
thread and, when cancelled, stops it and waits for it. The server counts requests in flight, so the lab can
report the concurrency each style really reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import Resolver, bind_sockets
from tornado.web import Application, HTTPError, RequestHandler

from core.monitor.errors import LabError

MAX_DELAY_MS = 5000
CONNECT_TIMEOUT = 5.0  # seconds: bounds the server's start and its graceful stop
BODY = b"squall loop lab\n" * 64  # 1 KiB


class ServerStats:
    """Request counters shared by the server thread (writer) and the lab (reader, resetter).

    Attributes:
        requests: requests answered since the last reset.
        in_flight: requests being answered now.
        max_in_flight: the most requests answered at once since the last reset.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        with self._lock:
            self.requests = self.max_in_flight = 0

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.requests += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class SlowHandler(RequestHandler):
    """GET /slow?delay_ms=N: waits N ms, then answers 1 KiB; gives up quietly if the client goes away."""

    def initialize(self, stats: ServerStats) -> None:
        self.stats = stats
        self._gone: asyncio.Future[None] | None = None

    def on_connection_close(self) -> None:
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)

    async def get(self) -> None:
        raw = self.get_query_argument("delay_ms", "0")
        try:
            delay_ms = int(raw)
        except ValueError:
            raise HTTPError(400, reason=f"delay_ms must be a whole number of milliseconds, not {raw!r}") from None
        if not 0 <= delay_ms <= MAX_DELAY_MS:
            raise HTTPError(400, reason=f"delay_ms must be between 0 and {MAX_DELAY_MS}, not {delay_ms}")
        gone = self._gone = asyncio.get_running_loop().create_future()
        self.stats.enter()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone, delay_ms / 1000)  # the delay, cut short if the connection closes
        finally:
            self.stats.leave()
        if gone.done() and not gone.cancelled():
            return  # the client left (or the lab dropped it): nobody to answer
        self.set_header("Content-Type", "text/plain")
        self.write(BODY)


def make_app(stats: ServerStats) -> Application:
    return Application([(r"/slow", SlowHandler, {"stats": stats})])


class NumericResolver(Resolver):
    """Resolves IP literals without a thread pool (tornado's default resolver starts one even for 127.0.0.1)."""

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[Any]:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise LabError(f"the lab only fetches from IP addresses, not {host!r}") from None
        found = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return [(found, (host, port))]


class LabServer:
    """The server thread and its loop.

    Attributes:
        stats: the request counters.
        port: the bound port on 127.0.0.1 (0 until started).
    """

    def __init__(self) -> None:
        self.stats = ServerStats()
        self.port = 0
        self._thread: threading.Thread | None = None
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._stop_server: asyncio.Event | None = None
        self._http_server: HTTPServer | None = None
        self._stopping = threading.Event()

    def url(self, delay_ms: int) -> str:
        return f"http://127.0.0.1:{self.port}/slow?delay_ms={delay_ms}"

    async def serve(self, ready: asyncio.Future[int]) -> None:
        """Run the server until cancelled (run it as the lab's supervised `lab:server` task).

        ready gets the port once the server listens, or the error that stopped it.
        """
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def tell(future: asyncio.Future[Any], value: Any) -> None:
            def settle() -> None:
                if future.done():
                    return
                if isinstance(value, BaseException):
                    future.set_exception(value)
                else:
                    future.set_result(value)

            with contextlib.suppress(RuntimeError):  # the app's loop is already closed: nobody waits
                loop.call_soon_threadsafe(settle)

        def thread_main() -> None:
            try:
                asyncio.run(self._run_server(lambda port: tell(ready, port)))
            except Exception as exc:
                tell(ready, LabError(f"the lab's HTTP server failed: {exc!r}"))
            finally:
                tell(ended, None)

        self._stopping.clear()
        self._thread = threading.Thread(target=thread_main, name="squall-lab-server", daemon=True)
        self._thread.start()
        try:
            # shielded: a cancel must not cancel these futures, the clean-up below still needs them
            self.port = await asyncio.shield(ready)
            await asyncio.shield(ended)  # until cancelled, or the server dies
        finally:
            self._request_stop()
            await asyncio.shield(ended)
            if self._thread is not None:
                # It has told us it ended and only has to return: this join takes microseconds, not a loop stall.
                self._thread.join(timeout=0.5)
            self.port = 0
            if not ready.done():
                ready.set_exception(LabError("the lab's HTTP server stopped before it was ready; run the lab again"))

    def drop_connections(self) -> None:
        """Close every open connection now (a cancelled run's fetches end at once instead of at the delay)."""
        server_loop, server = self._server_loop, self._http_server
        if server_loop is None or server is None:
            return
        # The task this creates lives on the server's private loop, which this module owns and stops.
        with contextlib.suppress(RuntimeError):  # that loop has finished already
            asyncio.run_coroutine_threadsafe(server.close_all_connections(), server_loop)

    def _request_stop(self) -> None:
        # Flag first, then look for the loop; the thread publishes its loop first, then checks the flag. Either
        # way one side sees the other, even when the stop comes before the server has started.
        self._stopping.set()
        server_loop, stop = self._server_loop, self._stop_server
        if server_loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # it has finished already
                server_loop.call_soon_threadsafe(stop.set)

    async def _run_server(self, on_ready: Any) -> None:
        self._server_loop = asyncio.get_running_loop()
        self._stop_server = asyncio.Event()
        if self._stopping.is_set():
            return
        sockets = bind_sockets(0, "127.0.0.1")
        server = self._http_server = HTTPServer(make_app(self.stats))
        server.add_sockets(sockets)
        try:
            on_ready(sockets[0].getsockname()[1])
            await self._stop_server.wait()
        finally:
            server.stop()
            await server.close_all_connections()
            # Handlers run in tasks of their own; with their connections closed they end at once. Let them, or
            # asyncio.run would cancel them mid-way and tornado would log a 500 for each.
            handlers = asyncio.all_tasks() - {asyncio.current_task()}
            if handlers:
                await asyncio.wait(handlers, timeout=CONNECT_TIMEOUT)
