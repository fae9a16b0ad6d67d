"""/ws limits and defences, each crossed: 401 before any 101, foreign Origin, per-address slots, 64 KiB frames,
slow readers, dead peers (pings), slowloris headers."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest
from tornado.httpclient import HTTPClientError

from core.chat.hub import Hub
from core.chat.hub.auth import COOKIE_NAME
from core.chat.hub.frames import Outgoing
from core.chat.hub.peer import Peer
from core.chat.protocol import message_frame
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub
from tests.core.chat.hub.wsclient import (
    WsClient,
    masked_text_frame,
    parse_frames,
    raw_connect,
    raw_upgrade,
    read_head,
    read_until_close_frame,
    read_until_closed,
    upgrade_request,
)
from tests.helpers import wait_until


async def _head_for(port: int, headers: dict[str, str], path: str = "/ws") -> bytes:
    """The response head (and body, if any) to an upgrade request sent on a raw socket."""
    loop = asyncio.get_running_loop()
    sock = await raw_connect(port)
    try:
        await loop.sock_sendall(sock, upgrade_request(port, path, headers))
        head = await read_head(sock)
        length = next(
            (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0
        )
        body = b""
        while len(body) < length:
            body += await loop.sock_recv(sock, length - len(body))
        return head + body
    finally:
        sock.close()


def test_upgrades_without_valid_credentials_get_401_before_any_101(aloop: LoopRunner, start_hub: StartHub) -> None:
    now = [time.time()]
    hub = start_hub(token_ttl=3600, clock=lambda: now[0])
    other = start_hub()

    async def scenario() -> None:
        good = hub.issue_token("alice")
        foreign = other.issue_token("alice")  # signed by another hub's key
        cases = {
            "no credentials": {},
            "garbage token": {"Authorization": "Bearer not-a-token"},
            "token of another hub": {"Authorization": f"Bearer {foreign}"},
            "wrong scheme": {"Authorization": f"Basic {good}"},
            "token as a cookie": {"Cookie": f"{COOKIE_NAME}={good}"},  # a token is not a login cookie
        }
        for what, headers in cases.items():
            response = await _head_for(hub.port, headers)
            assert response.startswith(b"HTTP/1.1 401"), (what, response[:80])
            assert b" 101 " not in response, what
            assert b"Bearer" in response  # WWW-Authenticate tells a client what to send
        # A token in the URL is never looked at (tokens never travel in URLs).
        assert (await _head_for(hub.port, {}, path=f"/ws?token={good}")).startswith(b"HTTP/1.1 401")
        assert (await _head_for(hub.port, {"Authorization": f"Bearer {good}"})).startswith(b"HTTP/1.1 101")
        now[0] += 3601  # the token expires
        assert (await _head_for(hub.port, {"Authorization": f"Bearer {good}"})).startswith(b"HTTP/1.1 401")
        await wait_until(lambda: not hub.context.sockets, what="the accepted raw socket to be closed")

    aloop.run(scenario())


def test_browser_upgrade_from_a_foreign_origin_gets_403(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        cookie = {"Cookie": f"{COOKIE_NAME}={hub.context.authority.cookie_for('alice')}"}
        own = {"Origin": f"http://127.0.0.1:{hub.port}"}
        foreign = await _head_for(hub.port, {**cookie, "Origin": "http://evil.example"})
        assert foreign.startswith(b"HTTP/1.1 403"), foreign[:80]
        cross_site = await _head_for(hub.port, {**cookie, **own, "Sec-Fetch-Site": "cross-site"})
        assert cross_site.startswith(b"HTTP/1.1 403"), cross_site[:80]
        ok = await WsClient.connect(hub, None, headers={**cookie, **own})
        await ok.join(nick="alice")
        await ok.close()

    aloop.run(scenario())


def test_connections_per_address_are_limited_and_freed(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(max_conns_per_ip=3)

    async def scenario() -> None:
        clients = [await WsClient.connect(hub, f"u{i}") for i in range(3)]
        with pytest.raises(HTTPClientError) as refused:
            await WsClient.connect(hub, "u3")
        assert refused.value.code == 429
        assert refused.value.response is not None
        assert b"too many connections" in refused.value.response.body
        await clients.pop().close()
        await wait_until(lambda: hub.context.slots.count("127.0.0.1") == 2, what="the slot to be freed")
        clients.append(await WsClient.connect(hub, "u3"))
        for c in clients:
            await c.close()
        await wait_until(lambda: hub.context.slots.total() == 0, what="every slot to be freed")

    aloop.run(scenario())


def test_refused_upgrades_do_not_keep_a_slot(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(max_conns_per_ip=1)

    async def scenario() -> None:
        cookie = {"Cookie": f"{COOKIE_NAME}={hub.context.authority.cookie_for('alice')}"}
        for _ in range(3):  # authenticated, then refused for Origin: the slot taken in prepare() must come back
            assert (await _head_for(hub.port, {**cookie, "Origin": "http://evil.example"})).startswith(b"HTTP/1.1 403")
        assert hub.context.slots.total() == 0
        c = await WsClient.connect(hub, "alice")
        await c.close()

    aloop.run(scenario())


def test_frame_over_64_kib_is_closed_with_1009(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        await c.join()
        await c.send_raw('{"type":"say","room":"lobby","text":"' + "x" * (64 * 1024) + '"}')
        assert await c.wait_closed() == 1009
        fits = await WsClient.connect(hub, "bob")  # 64 KiB exactly is a frame, refused politely (text too long)
        await fits.join()
        padding = 64 * 1024 - len('{"type":"say","room":"lobby","text":""}')
        await fits.send_raw('{"type":"say","room":"lobby","text":"' + "y" * padding + '"}')
        assert (await fits.expect("error"))["code"] == "text_too_long"
        await fits.close()

    aloop.run(scenario())


def test_a_reader_that_falls_behind_is_closed_with_1008_and_never_over_buffered(
    aloop: LoopRunner, start_hub: StartHub
) -> None:
    limit = 64 * 1024
    hub = start_hub(max_buffer=limit)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        sock, head = await raw_upgrade(hub.port, hub.issue_token("sloth"), rcvbuf=4096)
        try:
            assert head.startswith(b"HTTP/1.1 101")
            await loop.sock_sendall(sock, masked_text_frame(b'{"type":"join","room":"lobby"}'))
            sloth = await _peer_named(hub, "sloth")
            await wait_until(lambda: "lobby" in sloth.rooms, what="the sloth to join")
            talker = await WsClient.connect(hub, "talker")  # in another room: it is not flooded
            await talker.join("elsewhere")
            service = hub.context.service
            # Broadcast straight into the room: more than the kernel's socket buffers (4 MiB here) can absorb.
            for i in range(3000):
                service.rooms.broadcast("lobby", Outgoing(message_frame("lobby", i, "bot", "z" * 4000, 0.0, str(i))))
                if i % 20 == 0:
                    await asyncio.sleep(0)  # let the writers flush
                if sloth.closed:
                    break
            assert sloth.closed
            assert sloth.writer.peak <= limit
            assert talker.conn.close_code is None
            await talker.say("others are still served", room="elsewhere")
            frames = await read_until_close_frame(sock, timeout=8)
            assert frames[-1][0] == 0x8
            assert struct.unpack("!H", frames[-1][1][:2])[0] == 1008
            assert b"too far behind" in frames[-1][1]
            await talker.close()
        finally:
            sock.close()

    aloop.run(scenario(), timeout=20)


async def _peer_named(hub: Hub, nick: str) -> Peer:
    await wait_until(lambda: any(p.nick == nick for p in hub.context.service.peers), what=f"{nick} to connect")
    return next(p for p in hub.context.service.peers if p.nick == nick)


def test_a_peer_that_never_answers_pings_is_dropped(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(ping_interval=0.2, ping_timeout=0.2)

    async def scenario() -> None:
        live = await WsClient.connect(hub, "live")  # Tornado's client answers pings by itself
        sock, head = await raw_upgrade(hub.port, hub.issue_token("ghost"))
        try:
            assert head.startswith(b"HTTP/1.1 101")
            started = time.monotonic()
            # Tornado sends ping, waits ping_timeout, sends close, then waits 5 s for the reply before cutting.
            frames = parse_frames(await read_until_closed(sock, timeout=10))
            assert time.monotonic() - started < 7
            opcodes = [op for op, _ in frames]
            assert 0x9 in opcodes  # it was pinged
            assert opcodes[-1] == 0x8  # and then closed
            await wait_until(lambda: len(hub.context.service.peers) == 1, what="the ghost to be dropped")
            await live.join(nick="live")  # the answering client outlived several ping rounds
            assert live.conn.close_code is None
        finally:
            sock.close()
        await live.close()

    aloop.run(scenario(), timeout=20)


def test_slowloris_headers_time_out(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(header_timeout=0.3)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        sock = await raw_connect(hub.port)
        try:
            await loop.sock_sendall(sock, b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ...and never the rest
            started = time.monotonic()
            assert await read_until_closed(sock, timeout=5) == b""
            assert time.monotonic() - started < 3
        finally:
            sock.close()

    aloop.run(scenario())


def test_a_slow_request_body_times_out(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(body_timeout=0.3)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        sock = await raw_connect(hub.port)
        try:
            request = b'POST /api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"ni'
            await loop.sock_sendall(sock, request)
            started = time.monotonic()
            await read_until_closed(sock, timeout=5)
            assert time.monotonic() - started < 3
        finally:
            sock.close()

    aloop.run(scenario())


def test_half_sent_requests_per_address_are_capped(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(max_http_per_ip=4, header_timeout=30)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        held = [await raw_connect(hub.port) for _ in range(4)]
        try:
            for sock in held:  # slowloris: a request line, then nothing
                await loop.sock_sendall(sock, b"GET /health HTTP/1.1\r\n")
            extra = await raw_connect(hub.port)
            try:
                assert await read_until_closed(extra, timeout=2) == b""  # refused at once, not after 30 s
            finally:
                extra.close()
        finally:
            for sock in held:
                sock.close()
        # Once they are gone the address is welcome again, and finished requests free their slot.
        await wait_until(lambda: hub.http_connections("127.0.0.1") == 0, what="the slots to be freed")
        for _ in range(6):
            c = await WsClient.connect(hub, "alice")  # upgraded connections leave the HTTP count
            await c.close()
        assert hub.http_connections("127.0.0.1") == 0

    aloop.run(scenario())
