"""HTTP/1.1 framing in core/downloads/wire.py: response heads, body lengths, keep-alive, URLs (pure functions)."""

from __future__ import annotations

import pytest
from tornado.httputil import HTTPInputError

from core.downloads.wire import Headers, body_length, keeps_alive, parse_head, parse_url, request_bytes


def test_a_response_head_is_read_like_tornado_reads_it() -> None:
    code, reason, version, headers = parse_head(
        b'\r\nHTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nETag: "x"\r\n'
        b"X-Folded: one\r\n  two\r\nSet-Thing: a\r\nset-thing: b\n"
        b"Content-Disposition: attachment; filename=\xe9.bin\r\n\r\n"
    )
    assert (code, reason, version) == (206, "Partial Content", "HTTP/1.1")
    assert headers.get("content-range") == headers["CONTENT-RANGE"] == "bytes 0-9/100"
    assert headers.get("ETag") == '"x"'
    assert headers.get("X-Folded") == "one two", "obsolete line folding joins the value"
    assert headers.get("Set-Thing") == "a,b", "repeated fields are joined with a comma"
    assert headers.get("Content-Disposition") == "attachment; filename=\u00e9.bin", "bytes are read as latin-1"
    assert headers.get("Missing") is None
    assert "etag" in headers
    assert "Missing" not in headers


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n continued before any field\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nName : space before the colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
    ],
)
def test_a_malformed_head_is_refused(head: bytes) -> None:
    with pytest.raises(HTTPInputError):
        parse_head(head)


def test_body_length_follows_the_framing_headers() -> None:
    assert body_length(200, Headers({"Content-Length": "42"})) == (42, False)
    assert body_length(200, Headers({"Content-Length": "42, 42"})) == (42, False)
    assert body_length(200, Headers({"Transfer-Encoding": "chunked"})) == (None, True)
    assert body_length(200, Headers()) == (None, False), "no length: the body ends when the server closes"
    assert body_length(204, Headers({"Content-Length": "42"})) == (0, False)
    assert body_length(304, Headers()) == (0, False)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Content-Length": "4, 2"}, "malformed Content-Length"),
        ({"Content-Length": "-1"}, "malformed Content-Length"),
        ({"Content-Length": "lots"}, "malformed Content-Length"),
        ({"Transfer-Encoding": "gzip"}, "unsupported Transfer-Encoding"),
        ({"Transfer-Encoding": "chunked", "Content-Length": "3"}, "both Transfer-Encoding and Content-Length"),
    ],
)
def test_broken_framing_is_refused_with_a_reason(fields: dict[str, str], message: str) -> None:
    with pytest.raises(HTTPInputError, match=message):
        body_length(200, Headers(fields))


def test_only_http_1_1_without_close_keeps_the_connection() -> None:
    assert keeps_alive("HTTP/1.1", Headers())
    assert keeps_alive("HTTP/1.1", Headers({"Connection": "keep-alive"}))
    assert not keeps_alive("HTTP/1.1", Headers({"Connection": "Keep-Alive, Close"}))
    assert not keeps_alive("HTTP/1.0", Headers({"Connection": "keep-alive"}))


def test_urls_give_origin_target_and_host_header() -> None:
    origin = parse_url("http://Example.org/a/b?c=d#frag")
    assert (origin.scheme, origin.host, origin.port) == ("http", "example.org", 80)
    assert (origin.target, origin.host_header) == ("/a/b?c=d", "example.org")
    origin = parse_url("https://[::1]:8443")
    assert (origin.host, origin.port, origin.target, origin.host_header) == ("::1", 8443, "/", "[::1]:8443")
    assert parse_url("HTTPS://h/").key == ("https", "h", 443)
    with pytest.raises(ValueError, match="not an http"):
        parse_url("ftp://h/file")
    request = request_bytes(parse_url("http://127.0.0.1:81/x"), {"Range": "bytes=0-"})
    assert request == b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:81\r\nRange: bytes=0-\r\n\r\n"
