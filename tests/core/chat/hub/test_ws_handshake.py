"""What a client hears when its WebSocket is refused or broken: JSON refusals before any 101 (with the headers
that say what to send), close 1007 for a text frame that is not UTF-8 and 1002 for an unmasked one."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct

from core.chat.hub import Hub
from core.chat.hub.auth import COOKIE_NAME
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub
from tests.core.chat.hub.wsclient import (
    WsClient,
    masked_text_frame,
    raw_connect,
    raw_upgrade,
    read_head,
    read_until_close_frame,
)


async def _answer(port: int, lines: list[str]) -> tuple[int, dict[str, str], dict[str, str]]:
    """(status, headers, JSON body) of the hub's answer to a hand-written request to /ws."""
    loop = asyncio.get_running_loop()
    sock = await raw_connect(port)
    try:
        request = ["GET /ws HTTP/1.1", f"Host: 127.0.0.1:{port}", *lines]
        await loop.sock_sendall(sock, ("\r\n".join(request) + "\r\n\r\n").encode())
        head = (await read_head(sock)).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        body = b""
        while len(body) < int(headers.get("content-length", "0")):
            body += await loop.sock_recv(sock, 65536)
        assert headers["content-type"].startswith("application/json"), head
        return int(head[0].split()[1]), headers, json.loads(body)
    finally:
        sock.close()


def _upgrade(version: str = "13") -> list[str]:
    key = base64.b64encode(os.urandom(16)).decode()
    return [
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        f"Sec-WebSocket-Version: {version}",
    ]


def test_refusals_before_the_upgrade_are_json_and_say_what_to_send(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        bearer = f"Authorization: Bearer {hub.issue_token('alice')}"
        status, headers, body = await _answer(hub.port, _upgrade())
        assert status == 401
        assert headers["www-authenticate"].startswith("Bearer")
        assert "POST /api/token" in body["error"]

        status, _, body = await _answer(hub.port, [bearer])  # a plain GET, no upgrade
        assert status == 400
        assert "Upgrade: websocket" in body["error"]

        for key in ([], ["Sec-WebSocket-Key: x"]):  # missing, or not 16 bytes in base64
            plain = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"]
            status, _, body = await _answer(hub.port, [bearer, *plain, *key])
            assert status == 400, key
            assert "Sec-WebSocket-Key" in body["error"]

        status, headers, body = await _answer(hub.port, [bearer, *_upgrade(version="8")])
        assert status == 426
        assert headers["sec-websocket-version"] == "13"
        assert "version 13" in body["error"]

        cookie = f"Cookie: {COOKIE_NAME}={hub.context.authority.cookie_for('alice')}"
        for origin in (
            ["Origin: http://evil.example"],
            [f"Origin: http://127.0.0.1:{hub.port}", "Sec-Fetch-Site: cross-site"],
        ):
            status, _, body = await _answer(hub.port, [cookie, *origin, *_upgrade()])
            assert status == 403, origin
            assert "another site" in body["error"]
        # The same checks let the hub's own pages and native clients in.
        for origin in ({"Origin": f"http://127.0.0.1:{hub.port}"}, {"Sec-Fetch-Site": "same-origin"}):
            ok = await WsClient.connect(hub, None, headers={"Cookie": cookie.split(": ", 1)[1], **origin})
            await ok.join(nick="alice")
            await ok.close()

    aloop.run(scenario())


async def _frames_until_closed(hub: Hub, *data: bytes) -> list[tuple[int, bytes]]:
    """Send data on a raw, authenticated WebSocket; the frames the hub sent back up to its close frame (last),
    after checking that the hub went on serving another client."""
    other = await WsClient.connect(hub, "bob")
    await other.join()
    sock, head = await raw_upgrade(hub.port, hub.issue_token("mallory"))
    try:
        assert head.startswith(b"HTTP/1.1 101")
        for chunk in data:
            await asyncio.get_running_loop().sock_sendall(sock, chunk)
        frames = await read_until_close_frame(sock)
    finally:
        sock.close()
    assert frames[-1][0] == 0x8
    assert (await other.say("still here"))["nick"] == "bob"  # the hub serves the others as before
    assert [f for f in other.seen if f.get("nick") == "mallory"] == []
    await other.close()
    return frames


def test_a_text_frame_that_is_not_utf8_closes_with_1007_and_others_go_on(
    aloop: LoopRunner, start_hub: StartHub
) -> None:
    hub = start_hub()
    bad = b'{"type":"say","room":"lobby","text":"\xff\xfe","cid":"x1"}'
    frames = aloop.run(_frames_until_closed(hub, masked_text_frame(bad)))
    assert struct.unpack("!H", frames[-1][1][:2])[0] == 1007
    assert b"UTF-8" in frames[-1][1]


def test_an_unmasked_client_frame_closes_with_1002(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()
    payload = b'{"type":"say","room":"lobby","text":"unmasked"}'
    frames = aloop.run(
        _frames_until_closed(
            hub,
            masked_text_frame(b'{"type":"history","room":"lobby"}'),
            bytes((0x81, len(payload))) + payload,  # mask bit clear (RFC 6455, 5.1)
        )
    )
    assert [json.loads(f[1])["type"] for f in frames[:-1]] == ["history"], "the masked one was served"
    assert struct.unpack("!H", frames[-1][1][:2])[0] == 1002
    assert b"masked" in frames[-1][1]
