"""The Hub as a Component: start/stop, its folder, restarts with the same ids, rebinding, snapshots, keys."""

from __future__ import annotations

import asyncio
import itertools
import socket
import stat
import time
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from core.chat.errors import HubBindError, HubInUseError, PassphraseRequiredError
from core.chat.hub import Hub, HubConfig, HubState
from core.chat.hub.files import HostingLock, load_or_create_passphrase, local_passphrase, open_folder
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub
from tests.core.chat.hub.wsclient import WsClient, raw_upgrade
from tests.helpers import free_port, wait_until


def test_start_exposes_what_the_window_needs_and_stop_releases_it(aloop: LoopRunner, tmp_path: Path) -> None:
    folder = tmp_path / "hub"
    hub = Hub(HubConfig(data_dir=folder, port=0))
    assert hub.name == "hub"
    with pytest.raises(RuntimeError, match="not running"):
        hub.health()
    aloop.run(hub.start())
    try:
        assert hub.port > 0
        assert hub.url == f"http://127.0.0.1:{hub.port}"
        assert hub.ws_url == f"ws://127.0.0.1:{hub.port}/ws"
        assert hub.passphrase_file == folder / "passphrase"
        assert hub.passphrase_file.read_text().strip() == hub.passphrase
        assert hub.state() == HubState("127.0.0.1", hub.port, None, False, 0, 0)
        with pytest.raises(HubInUseError):  # one process hosts a folder at a time
            aloop.run(Hub(HubConfig(data_dir=folder, port=0)).start())
    finally:
        aloop.run(hub.stop(1.0))
    open_folder(folder).release()  # the hosting lock is free again
    with pytest.raises(RuntimeError, match="starts once"):
        aloop.run(hub.start())


def test_a_given_passphrase_replaces_the_one_local_instances_read(
    aloop: LoopRunner, start_hub: StartHub, tmp_path: Path
) -> None:
    folder = tmp_path / "given"
    folder.mkdir(mode=0o700)
    generated = load_or_create_passphrase(folder)  # left by an earlier run without a passphrase
    hub = start_hub(data_dir=folder, passphrase="correct horse")
    assert hub.passphrase == "correct horse"
    assert hub.passphrase_file is None  # the ready line says it came from the user's file
    assert local_passphrase(folder) == "correct horse" != generated
    assert stat.S_IMODE((folder / "passphrase").stat().st_mode) == 0o600
    with pytest.raises(PassphraseRequiredError):
        Hub(HubConfig(host="0.0.0.0"))


def test_a_busy_port_is_a_clear_error_and_leaves_nothing_held(aloop: LoopRunner, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        hub = Hub(HubConfig(data_dir=tmp_path / "hub", port=port))
        with pytest.raises(HubBindError, match=f"port {port}.*choose another --port"):
            aloop.run(hub.start())
    open_folder(tmp_path / "hub").release()


def test_ids_survive_a_restart(aloop: LoopRunner, tmp_path: Path) -> None:
    folder = tmp_path / "hub"

    async def first_life() -> str:
        hub = Hub(HubConfig(data_dir=folder, port=0))
        await hub.start()
        c = await WsClient.connect(hub, "alice")
        await c.join()
        for i in range(3):
            await c.say(f"before {i}")
        await c.close()
        await hub.stop(1.0)
        return hub.passphrase

    async def second_life(passphrase: str) -> None:
        hub = Hub(HubConfig(data_dir=folder, port=0))
        await hub.start()
        assert hub.passphrase == passphrase  # the same generated passphrase
        c = await WsClient.connect(hub, "alice")
        await c.send(type="join", room="lobby", since=0)
        assert [(await c.expect("message"))["text"] for _ in range(3)] == ["before 0", "before 1", "before 2"]
        assert (await c.say("after"))["id"] == 4
        await c.close()
        await hub.stop(1.0)

    aloop.run(second_life(aloop.run(first_life())))


def test_rebind_moves_the_listener_and_keeps_connections(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        port = hub.port
        old_url = hub.ws_url
        kept = await WsClient.connect(hub, "kept")
        await kept.join()
        await hub.rebind("127.0.0.2")
        assert (hub.host, hub.port) == ("127.0.0.2", port)
        with pytest.raises((ConnectionRefusedError, HTTPClientError, OSError)):
            await WsClient.connect(hub, "late", url=old_url)
        moved = await WsClient.connect(hub, "moved")
        await moved.join(nick="moved")
        assert (await kept.say("still connected"))["id"] == 1
        await moved.close()
        await kept.close()

    aloop.run(scenario())


def test_a_failed_rebind_restores_the_old_address(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            with pytest.raises(HubBindError):
                await hub.rebind("127.0.0.1", busy.getsockname()[1])
        c = await WsClient.connect(hub, "alice")  # the old address still answers
        await c.close()

    aloop.run(scenario())


def test_snapshots_follow_connections_at_most_ten_a_second(aloop: LoopRunner, tmp_path: Path) -> None:
    states: list[HubState] = []

    async def scenario() -> None:
        hub = Hub(HubConfig(data_dir=tmp_path / "hub", port=0, presence_interval=0.01), on_state=states.append)
        await hub.start()
        started = time.monotonic()
        clients = [await WsClient.connect(hub, f"u{i}") for i in range(3)]
        await clients[0].join()
        await wait_until(lambda: states and states[-1].connections == 3 and states[-1].rooms == 1, what="3 / 1")
        for c in clients:
            await c.close()
        await wait_until(lambda: states[-1].connections == 0, what="0 connections")
        elapsed = time.monotonic() - started
        await hub.stop(1.0)
        assert states[0].port == hub.port
        assert len(states) <= 10 * elapsed + 2
        assert all(a != b for a, b in itertools.pairwise(states))  # only changes are sent

    aloop.run(scenario())


def test_key_rotation_keeps_issued_tokens_working(aloop: LoopRunner, tmp_path: Path) -> None:
    folder = tmp_path / "hub"

    async def scenario() -> None:
        hub = Hub(HubConfig(data_dir=folder, port=0))
        await hub.start()
        old = hub.issue_token("alice")
        assert await hub.rotate_key() == 2
        new = hub.issue_token("alice")
        for token in (old, new):
            c = await WsClient.connect(hub, None, token=token)
            await c.close()
        await hub.stop(1.0)
        again = Hub(HubConfig(data_dir=folder, port=0))  # the rotation was saved
        await again.start()
        assert again.context.authority.keyring.current == 2
        c = await WsClient.connect(again, None, token=new)
        await c.close()
        await again.stop(1.0)

    aloop.run(scenario())


def test_stop_cuts_clients_that_ignore_the_close_within_the_budget(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        sock, _ = await raw_upgrade(hub.port, hub.issue_token("deaf"))  # will never answer the close frame
        try:
            await wait_until(lambda: hub.context.sockets, what="the upgrade")
            started = time.monotonic()
            await hub.stop(1.0)
            assert time.monotonic() - started < 1.3
            assert not hub.context.sockets
            loop = asyncio.get_running_loop()
            data = b""
            while chunk := await asyncio.wait_for(loop.sock_recv(sock, 4096), 2):
                data += chunk
            assert data[:1] == b"\x88"  # it got the close frame, then the connection was cut
        finally:
            sock.close()

    aloop.run(scenario())


def test_a_free_port_can_be_given(aloop: LoopRunner, start_hub: StartHub) -> None:
    port = free_port()
    hub = start_hub(port=port)
    assert hub.port == port


def test_a_take_over_can_start_with_the_lock_it_waited_for(aloop: LoopRunner, tmp_path: Path) -> None:
    folder = tmp_path / "hub"
    first = Hub(HubConfig(data_dir=folder, port=0))
    aloop.run(first.start())
    port = first.port
    waiting = HostingLock(folder)
    assert not waiting.acquire()  # hosted: a take-over would wait here (blocking=True, off the loop)
    aloop.run(first.stop(1.0))
    assert waiting.acquire()
    second = Hub(HubConfig(data_dir=folder, port=port), hosting_lock=waiting)  # same port, same history
    aloop.run(second.start())
    assert second.port == port
    aloop.run(second.stop(1.0))
    assert not waiting.held  # the hub released it
    with pytest.raises(ValueError, match="must be held"):
        Hub(HubConfig(data_dir=folder), hosting_lock=HostingLock(folder))
