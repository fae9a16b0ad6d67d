"""/ws with the `websockets` library: an independent implementation of the protocol must get the same answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.chat.hub import Hub
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub


def _connect(hub: Hub, nick: str | None, **kwargs: Any) -> connect:
    headers = {"Authorization": f"Bearer {hub.issue_token(nick)}"} if nick else {}
    return connect(hub.ws_url, additional_headers=headers, ping_interval=None, open_timeout=5, **kwargs)


async def _next(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame["type"] == kind:
            return frame


def test_join_say_and_replay(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with _connect(hub, "wes") as ws:
            await ws.send(json.dumps({"type": "join", "room": "lobby"}))
            assert (await _next(ws, "presence"))["users"] == ["wes"]
            for i in range(3):
                await ws.send(json.dumps({"type": "say", "room": "lobby", "text": f"w{i}", "cid": f"c{i}"}))
                assert (await _next(ws, "message"))["id"] == i + 1
            await ws.send(json.dumps({"type": "say", "room": "lobby", "text": "dup", "cid": "c0"}))
            assert (await _next(ws, "message"))["text"] == "w0"  # the original, as acknowledgement
        async with _connect(hub, "wes") as again:  # a reconnect that saw id 1
            await again.send(json.dumps({"type": "join", "room": "lobby", "since": 1}))
            replayed = [(await _next(again, "message"))["text"] for _ in range(2)]
            assert replayed == ["w1", "w2"]
            await again.send(json.dumps({"type": "say", "room": "lobby", "text": "x" * 4001}))
            assert (await _next(again, "error"))["code"] == "text_too_long"

    aloop.run(scenario())


def test_no_credentials_is_401(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with _connect(hub, None):
                pass
        assert refused.value.response.status_code == 401

    aloop.run(scenario())


def test_foreign_origin_is_403(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with _connect(hub, "wes", origin="http://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403

    aloop.run(scenario())


def test_oversized_frame_is_closed_with_1009(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with _connect(hub, "wes") as ws:
            await ws.send("x" * (64 * 1024 + 1))
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009

    aloop.run(scenario())


def test_hub_stop_closes_with_1001(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with _connect(hub, "wes") as ws:
            await ws.send(json.dumps({"type": "join", "room": "lobby"}))
            await _next(ws, "presence")
            await hub.stop(1.5)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001

    aloop.run(scenario())
