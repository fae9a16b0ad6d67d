"""HTTP/1.1 for downloads, on tornado's IOStream: connections, a keep-alive pool, request and response framing.

Why not tornado's simple_httpclient: it opens one TCP connection per request (2,000 small files cost 2,000
connects and closes), runs each fetch in a task of its own (outside any Supervisor), and copies every body chunk
twice after the socket read. Here a download's request runs in its own task, reuses idle connections to the same
origin, and reads the body straight into one buffer (IOStream.read_into). Only what downloads need: GET with our
headers, Content-Length, chunked or read-until-close bodies, 1xx skipped, no decompression, no redirects (the
engine follows them hop by hop), certificates always verified.

Every wait here is on a plain Future (never a new task), so closing the stream ends any of them at once. Nothing
here writes files or touches SQLite; http.Transfer drives one exchange and applies the phase timeouts.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tornado.httputil import HTTPInputError, parse_response_start_line
from tornado.iostream import IOStream

MAX_HEAD = 64 * 1024  # status line + headers, as tornado's own client allows
MAX_IDLE_PER_ORIGIN = 16
# IOStream's cap on buffered bytes, counted over our own read_into buffer too: far above any read we make.
STREAM_BUFFER_CAP = 64 * 1024 * 1024
_HEAD_END = b"\r?\n\r?\n"


@dataclass(frozen=True)
class Origin:
    """Where a request goes; idle connections are shared per origin (and per TLS context).

    Attributes:
        scheme: "http" or "https".
        host: the host name or IP literal (without brackets).
        port: the TCP port.
        target: the request target (path and query).
        host_header: the Host header value.
    """

    scheme: str
    host: str
    port: int
    target: str
    host_header: str

    @property
    def key(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def parse_url(url: str) -> Origin:
    """The origin and request target of an http(s) URL; ValueError for anything else."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(scheme, host, port, target, shown if port == default else f"{shown}:{port}")


def request_bytes(origin: Origin, headers: dict[str, str]) -> bytes:
    lines = [f"GET {origin.target} HTTP/1.1", f"Host: {origin.host_header}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin1")


class Headers:
    """A response's header fields, looked up without regard to case; a repeated field's values joined by ",".

    (tornado's HTTPHeaders does the same, but building one costs ~10x more: it showed in the small-file profile.)
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, str] | None = None) -> None:
        self._fields = {k.lower(): v for k, v in (fields or {}).items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._fields.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


def parse_head(data: bytes) -> tuple[int, str, str, Headers]:
    """(code, reason, version, headers) of a response head; HTTPInputError for a malformed one.

    Read as tornado's HTTP1Connection reads it: latin-1, CRLF or bare LF line ends, obsolete line folding joined.
    """
    lines = data.decode("latin1").lstrip("\r\n").split("\n")
    start = parse_response_start_line(lines[0].rstrip("\r"))
    fields: dict[str, str] = {}
    last: str | None = None
    for raw in lines[1:]:
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line:
            continue
        if "\r" in line or "\0" in line:
            raise HTTPInputError(f"malformed header line {line[:80]!r}")
        if line[0] in " \t":  # obsolete line folding: more of the previous field's value
            if last is None:
                raise HTTPInputError(f"malformed header line {line[:80]!r}")
            fields[last] = (fields[last] + " " + line.strip(" \t")).strip(" ")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip(" \t"):
            raise HTTPInputError(f"malformed header line {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        fields[key] = f"{fields[key]},{value}" if key in fields else value
        last = key
    headers = Headers()
    headers._fields = fields
    return start.code, start.reason, start.version, headers


def body_length(code: int, headers: Headers) -> tuple[int | None, bool]:
    """(Content-Length or None, chunked) for a response to GET; HTTPInputError when the framing is broken."""
    if code in (204, 304):
        return 0, False
    encoding = headers.get("Transfer-Encoding")
    if encoding is not None:
        if "Content-Length" in headers:
            raise HTTPInputError("response with both Transfer-Encoding and Content-Length")
        if encoding.strip().lower() != "chunked":
            raise HTTPInputError(f"unsupported Transfer-Encoding {encoding!r}")
        return None, True
    value = headers.get("Content-Length")
    if value is None:
        return None, False
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise HTTPInputError(f"malformed Content-Length {value!r}")
    return int(values.pop()), False


def keeps_alive(version: str, headers: Headers) -> bool:
    tokens = {t.strip().lower() for t in (headers.get("Connection") or "").split(",")}
    if version == "HTTP/1.1":
        return "close" not in tokens
    return False


def numeric_address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]] | None:
    """The socket address of an IP literal (no resolver round trip), or None for a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 6:
        return socket.AF_INET6, (host, port, 0, 0)
    return socket.AF_INET, (host, port)


class ConnectionPool:
    """Open connections for downloads, and the idle keep-alive ones per origin.

    Attributes:
        opened: connections opened so far (tests and the benchmark read it).
        reused: requests sent on a connection taken from the pool.
        live: streams handed out and not yet given back or closed.
    """

    def __init__(self, *, max_idle_per_origin: int = MAX_IDLE_PER_ORIGIN) -> None:
        self._idle: dict[tuple[Any, ...], list[IOStream]] = {}
        self._max_idle = max_idle_per_origin
        self._default_tls: ssl.SSLContext | None = None
        self.opened = 0
        self.reused = 0
        self.live: set[IOStream] = set()
        self._closed = False

    def tls_context(self, context: ssl.SSLContext | None) -> ssl.SSLContext:
        if context is not None:
            return context
        if self._default_tls is None:  # loading the system's CA store takes ~10 ms: once per engine
            self._default_tls = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            self._default_tls.options |= ssl.OP_NO_COMPRESSION
        return self._default_tls

    def take_idle(self, key: tuple[Any, ...]) -> IOStream | None:
        idle = self._idle.get(key)
        while idle:
            stream = idle.pop()
            stream.set_close_callback(None)
            if not stream.closed():
                self.reused += 1
                self.live.add(stream)
                return stream
        return None

    def new_stream(self, family: socket.AddressFamily) -> IOStream:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = IOStream(sock, max_buffer_size=STREAM_BUFFER_CAP)
        self.opened += 1
        self.live.add(stream)
        return stream

    def detach(self, stream: IOStream) -> None:
        """A stream about to hand its socket to start_tls."""
        self.live.discard(stream)

    def attach(self, stream: IOStream) -> IOStream:
        """The TLS stream start_tls made."""
        self.live.add(stream)
        return stream

    def give_back(self, key: tuple[Any, ...], stream: IOStream) -> None:
        """A connection whose last response was read to its end and may carry another request."""
        self.live.discard(stream)
        idle = self._idle.setdefault(key, [])
        if self._closed or stream.closed() or len(idle) >= self._max_idle:
            stream.close()
            return
        idle.append(stream)
        stream.set_close_callback(_dropper(idle, stream))  # the server closed it while idle

    def forget(self, stream: IOStream) -> None:
        self.live.discard(stream)
        stream.close()

    def close(self) -> None:
        """Close every idle connection (the engine is stopping); later give_back() calls close theirs."""
        self._closed = True
        for idle in self._idle.values():
            for stream in idle:
                stream.set_close_callback(None)
                stream.close()
        self._idle.clear()


def _dropper(idle: list[IOStream], stream: IOStream) -> Callable[[], None]:
    def drop() -> None:
        if stream in idle:
            idle.remove(stream)

    return drop
