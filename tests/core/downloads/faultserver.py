"""A fault-injecting HTTP server for the download tests: real Tornado on 127.0.0.1, one route per misbehaviour.

Every response is written by hand on the detached stream, so a test controls each byte (a short body, a stall
after the headers, a reset, a wrong Content-Range) and Tornado's own server never logs a complaint about it.

Routes (NAME is a file added with `add`):
    /f/NAME               a well-behaved server: ETag, Last-Modified, Range and If-Range
    /short/NAME           first request: Content-Length says all, half is sent, then close; later requests normal
    /stall/NAME           first request: headers and 1000 bytes, then silence; later requests normal
    /trickle/NAME         100 bytes every 0.1 s, always
    /reset/NAME           first request: half, then a TCP reset; later requests normal
    /throttle/NAME?bps=N  normal, but sends N bytes per second (long-running downloads for pause/cancel)
    /norange/NAME         ignores Range (always 200 with the whole file, same ETag); the first body is cut short
    /changing/NAME        the file changes before every request (new content, new ETag); first body is short
    /changeonce/NAME      the file changes once, just before the second request
    /badrange/NAME        a 206 whose Content-Range starts one byte later than asked
    /unsatisfiable/NAME   any Range gets 416 with `Content-Range: bytes */0`; without Range the file
    /status/CODE?after=K&retry_after=S   CODE (with Retry-After S) for the first K requests, then the file "status"
    /cd?value=V           200 with `Content-Disposition: V` and a small body
    /gzipbomb             Content-Encoding: gzip, 64 KiB that inflate to 64 MiB
    /chunked/NAME         chunked encoding, no Content-Length
    /loop                 302 to itself
    /to-ftp               302 to ftp://127.0.0.1/file
    /redirect/NAME        302 to /f/NAME
    /to?location=V        302 with `Location: V` (V exactly as given, however malformed)
    /ka/NAME              tornado's own keep-alive answer (HTTP/1.1, Content-Length); notes each connection
    /kaclose/NAME         a keep-alive answer (no `Connection: close`); the next request on that connection is
                          read and dropped: the server closes without answering (as after its idle timeout)
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import hashlib
import random
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field

from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from tests.helpers import wait_until

LAST_MODIFIED = email.utils.formatdate(1_700_000_000, usegmt=True)


def content(name: str, size: int, version: int = 0) -> bytes:
    return random.Random(f"{name}:{version}").randbytes(size)


@dataclass
class ServerState:
    """What the routes serve and what they saw.

    Attributes:
        files: NAME -> current content.
        versions: NAME -> version number (part of the ETag).
        hits: route path -> requests seen.
        requests: (path, Range, If-Range) of every request, in order.
        streams: open detached streams (closed by stop()).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    versions: Counter[str] = field(default_factory=Counter)
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    streams: set[IOStream] = field(default_factory=set)
    active: int = 0
    gzip_body: bytes = b""
    connections: list[object] = field(default_factory=list)  # distinct connections /ka/ requests came on
    dropped: int = 0  # requests /kaclose/ read and left unanswered

    def etag(self, name: str) -> str:
        digest = hashlib.sha256(self.files[name]).hexdigest()[:16]
        return f'"{name}-{self.versions[name]}-{digest}"'


class RawHandler(RequestHandler):
    """Detaches the stream and lets `respond` write the exact bytes."""

    def initialize(self, state: ServerState) -> None:
        self.state = state

    async def get(self, *args: str) -> None:
        request = self.request
        state = self.state
        state.hits[request.path] += 1
        state.requests.append((request.path, request.headers.get("Range"), request.headers.get("If-Range")))
        stream = self.detach()
        state.streams.add(stream)
        state.active += 1
        try:
            await self.respond(stream, *args)
        except StreamClosedError:
            pass
        finally:
            state.active -= 1
            state.streams.discard(stream)
            stream.close()

    async def respond(self, stream: IOStream, *args: str) -> None:
        raise NotImplementedError

    keep_alive_header = False  # say nothing about closing (the client may think it can reuse the connection)

    async def send_head(self, stream: IOStream, code: int, reason: str, headers: dict[str, str]) -> None:
        close = [] if self.keep_alive_header else ["Connection: close"]
        lines = [f"HTTP/1.1 {code} {reason}", *close, *(f"{k}: {v}" for k, v in headers.items())]
        await stream.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))  # raw UTF-8, as some servers send

    async def serve_file(
        self, stream: IOStream, name: str, *, honour_range: bool = True, bps: int = 0, send: int | None = None
    ) -> None:
        """A correct answer for NAME (200 or 206), optionally cut after `send` body bytes or paced at bps."""
        data = self.state.files[name]
        etag = self.state.etag(name)
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Accept-Ranges": "bytes", "Content-Type": "x/y"}
        wanted = self.request.headers.get("Range")
        if_range = self.request.headers.get("If-Range")
        start, end = 0, len(data)
        code, reason = 200, "OK"
        if honour_range and wanted and (if_range is None or if_range in (etag, LAST_MODIFIED)):
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            start = int(first)
            end = int(last) + 1 if last else len(data)
            if start >= len(data):
                await self.send_head(stream, 416, "Range Not Satisfiable", {"Content-Range": f"bytes */{len(data)}"})
                return
            end = min(end, len(data))
            code, reason = 206, "Partial Content"
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        headers["Content-Length"] = str(end - start)
        await self.send_head(stream, code, reason, headers)
        body = data[start:end] if send is None else data[start : start + send]
        await self.send_body(stream, body, bps)

    async def send_body(self, stream: IOStream, body: bytes, bps: int = 0) -> None:
        if not bps:
            await stream.write(body)
            return
        step = max(1, bps // 20)
        for i in range(0, len(body), step):
            await stream.write(body[i : i + step])
            await asyncio.sleep(0.05)


class FileRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        await self.serve_file(stream, name)


class ShortRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        first = self.state.hits[self.request.path] == 1
        await self.serve_file(stream, name, send=len(self.state.files[name]) // 2 if first else None)


class StallRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        if self.state.hits[self.request.path] == 1:
            await self.serve_file(stream, name, send=1000)
            await stream.read_until_close()  # silence until the client gives up
            return
        await self.serve_file(stream, name)


class TrickleRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        data = self.state.files[name]
        await self.send_head(stream, 200, "OK", {"Content-Length": str(len(data))})
        for i in range(0, len(data), 100):
            await stream.write(data[i : i + 100])
            await asyncio.sleep(0.1)


class ResetRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        if self.state.hits[self.request.path] == 1:
            await self.serve_file(stream, name, send=len(self.state.files[name]) // 2)
            assert stream.socket is not None
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return  # closing with linger 0 sends RST
        await self.serve_file(stream, name)


class ThrottleRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        await self.serve_file(stream, name, bps=int(self.get_query_argument("bps", "100000")))


class ChangeOnceRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        if self.state.hits[self.request.path] == 2:
            state = self.state
            state.versions[name] += 1
            state.files[name] = content(name, len(state.files[name]), state.versions[name])
        await self.serve_file(stream, name)


class NoRangeRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        first = self.state.hits[self.request.path] == 1
        size = len(self.state.files[name])
        await self.serve_file(stream, name, honour_range=False, send=size // 2 if first else None)


class ChangingRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        state = self.state
        state.versions[name] += 1
        state.files[name] = content(name, len(state.files[name]), state.versions[name])
        first = state.hits[self.request.path] == 1
        await self.serve_file(stream, name, send=len(state.files[name]) // 2 if first else None)


class BadRangeRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        data = self.state.files[name]
        wanted = self.request.headers.get("Range")
        if not wanted:
            await self.serve_file(stream, name)
            return
        start = int(wanted.removeprefix("bytes=").partition("-")[0]) + 1
        body = data[start:]
        headers = {
            "ETag": self.state.etag(name),
            "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}",
            "Content-Length": str(len(body)),
        }
        await self.send_head(stream, 206, "Partial Content", headers)
        await stream.write(body)


class UnsatisfiableRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        if self.request.headers.get("Range"):
            await self.send_head(stream, 416, "Range Not Satisfiable", {"Content-Range": "bytes */0"})
            return
        await self.serve_file(stream, name, honour_range=False)


class StatusRoute(RawHandler):
    async def respond(self, stream: IOStream, code: str) -> None:
        after = int(self.get_query_argument("after", "1000000"))
        if self.state.hits[self.request.path] <= after:
            headers = {"Content-Length": "5"}
            retry_after = self.get_query_argument("retry_after", None)
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            await self.send_head(stream, int(code), "Nope", headers)
            await stream.write(b"nope\n")
            return
        await self.serve_file(stream, "status")


class DispositionRoute(RawHandler):
    async def respond(self, stream: IOStream) -> None:
        value = self.get_query_argument("value")
        await self.send_head(stream, 200, "OK", {"Content-Disposition": value, "Content-Length": "5"})
        await stream.write(b"hello")


class GzipBombRoute(RawHandler):
    async def respond(self, stream: IOStream) -> None:
        body = self.state.gzip_body
        headers = {"Content-Encoding": "gzip", "Content-Length": str(len(body)), "Content-Type": "text/plain"}
        await self.send_head(stream, 200, "OK", headers)
        await stream.write(body)


class ChunkedRoute(RawHandler):
    async def respond(self, stream: IOStream, name: str) -> None:
        data = self.state.files[name]
        await self.send_head(stream, 200, "OK", {"Transfer-Encoding": "chunked"})
        for i in range(0, len(data), 7000):
            piece = data[i : i + 7000]
            await stream.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await stream.write(b"0\r\n\r\n")


class RedirectRoute(RawHandler):
    async def respond(self, stream: IOStream, *args: str) -> None:
        path = self.request.path
        if path == "/loop":
            target = "/loop"
        elif path == "/to-ftp":
            target = "ftp://127.0.0.1/file"
        elif path == "/to":
            target = self.get_query_argument("location", strip=False)
        else:
            target = "/f/" + args[0]
        await self.send_head(stream, 302, "Found", {"Location": target, "Content-Length": "0"})


class KeepAliveRoute(RequestHandler):
    """Not detached: tornado's HTTP/1.1 server keeps the connection open for the next request."""

    def initialize(self, state: ServerState) -> None:
        self.state = state

    def get(self, name: str) -> None:
        state = self.state
        state.hits[self.request.path] += 1
        connection = self.request.connection
        stream = getattr(connection, "stream", connection)
        if not any(stream is seen for seen in state.connections):
            state.connections.append(stream)
        self.set_header("ETag", state.etag(name))
        self.write(state.files[name])


class ClosingKeepAliveRoute(RawHandler):
    keep_alive_header = True

    async def respond(self, stream: IOStream, name: str) -> None:
        await self.serve_file(stream, name)
        await stream.read_until(b"\r\n\r\n")  # the client reused the connection: close it unanswered
        self.state.dropped += 1


def make_app(state: ServerState) -> Application:
    routes = [
        (r"/f/([^/]+)", FileRoute),
        (r"/short/([^/]+)", ShortRoute),
        (r"/stall/([^/]+)", StallRoute),
        (r"/trickle/([^/]+)", TrickleRoute),
        (r"/reset/([^/]+)", ResetRoute),
        (r"/throttle/([^/]+)", ThrottleRoute),
        (r"/norange/([^/]+)", NoRangeRoute),
        (r"/changeonce/([^/]+)", ChangeOnceRoute),
        (r"/changing/([^/]+)", ChangingRoute),
        (r"/badrange/([^/]+)", BadRangeRoute),
        (r"/unsatisfiable/([^/]+)", UnsatisfiableRoute),
        (r"/status/(\d+)", StatusRoute),
        (r"/cd", DispositionRoute),
        (r"/gzipbomb", GzipBombRoute),
        (r"/chunked/([^/]+)", ChunkedRoute),
        (r"/loop", RedirectRoute),
        (r"/to-ftp", RedirectRoute),
        (r"/to", RedirectRoute),
        (r"/redirect/([^/]+)", RedirectRoute),
        (r"/ka/([^/]+)", KeepAliveRoute),
        (r"/kaclose/([^/]+)", ClosingKeepAliveRoute),
    ]
    return Application([(pattern, handler, {"state": state}) for pattern, handler in routes])


class FaultServer:
    """The app on a free port of 127.0.0.1 (optionally TLS); start() and stop() on the running loop.

    Attributes:
        state: files and request log.
        port: the listening port once started.
    """

    def __init__(self, ssl_options: object | None = None) -> None:
        self.state = ServerState()
        self.state.gzip_body = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
        self._ssl_options = ssl_options
        self._server: HTTPServer | None = None
        self.port = 0

    def add(self, name: str, size: int) -> bytes:
        data = content(name, size)
        self.state.files[name] = data
        return data

    def url(self, path: str) -> str:
        scheme = "https" if self._ssl_options is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(make_app(self.state), ssl_options=self._ssl_options)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            for stream in list(self.state.streams):
                stream.close()
            await self._server.close_all_connections()
            # Handlers pacing their output notice the closed stream at their next write.
            await wait_until(lambda: self.state.active == 0, timeout=5, what="the test server's handlers to end")


class ServerThread:
    """A FaultServer on its own loop in a thread, for tests that run `main.py get` as a subprocess."""

    def __init__(self, ssl_options: object | None = None) -> None:
        import threading

        self.server = FaultServer(ssl_options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-server", daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
