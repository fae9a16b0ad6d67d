"""Hosting: the first instance hosts, the others stand by and one takes over (same port, same history, same ids)
when the host stops or is killed; a port taken by something else; sharing on the LAN; the lock waiter."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.chat.hosting import Hosting, HostingState, LockWaiter, read_lan_record
from core.chat.hub.files import HostingLock, local_passphrase
from core.chat.pacing import Backoff
from core.chat.updates import LinkState
from tests.conftest import LoopRunner
from tests.core.chat.conftest import ChatRig, hub_rows, until
from tests.helpers import wait_until_sync

ROOT = Path(__file__).resolve().parents[3]
QUICK = {"presence_interval": 0.01}


class States(list[HostingState]):
    @property
    def last(self) -> HostingState | None:
        return self[-1] if self else None

    def hosting(self) -> bool:
        return self.last is not None and self.last.hosting


def hosting(rig: ChatRig, states: States, **options: object) -> Hosting:
    return Hosting(rig.folder, rig.port, on_state=states.append, hub_options=QUICK, **options)  # type: ignore[arg-type]


def test_the_first_hosts_the_second_takes_over_with_the_same_history(rig: ChatRig) -> None:
    async def scenario() -> None:
        first_states, second_states = States(), States()
        first = hosting(rig, first_states)
        second = hosting(rig, second_states)
        await first.start()
        await second.start()
        try:
            assert first_states.hosting()
            assert first.hub is not None
            assert first.hub.port == rig.port
            assert not second_states.hosting()
            assert second.hub is None
            client, seen = await rig.client("ada")
            client.say("lobby", "before the take-over")
            await until(lambda: seen.ids() == [1], "stored by the first host")
            await first.stop(1.0)
            await until(second_states.hosting, "the take-over")
            assert second.hub is not None
            assert second.hub.port == rig.port
            client.say("lobby", "after the take-over")
            await until(lambda: seen.ids() == [1, 2], "stored by the second host, next id")
            assert [r[2] for r in hub_rows(rig.folder)] == ["before the take-over", "after the take-over"]
            await rig.stop_client(client)
        finally:
            await first.stop(1.0)
            await second.stop(1.0)

    rig.run(scenario)


@pytest.fixture
def serve(rig: ChatRig) -> Iterator[subprocess.Popen[str]]:
    """`main.py serve` hosting the rig's hub folder on the rig's port."""
    env = dict(os.environ)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--data-dir", str(rig.folder), "serve", "--port", str(rig.port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("squall hub: ws://127.0.0.1:"), line
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_a_killed_host_is_taken_over(rig: ChatRig, serve: subprocess.Popen[str]) -> None:
    async def scenario() -> None:
        states = States()
        standby = hosting(rig, states)
        await standby.start()
        try:
            client, seen = await rig.client("ada")
            await until(lambda: seen.state is LinkState.CONNECTED, "connected to the serve process")
            client.say("lobby", "to the first host")
            await until(lambda: seen.ids() == [1], "stored")
            assert not states.hosting()
            os.kill(serve.pid, signal.SIGKILL)
            await until(states.hosting, "the take-over after kill -9", timeout=10)
            client.say("lobby", "to the new host")
            await until(lambda: seen.ids() == [1, 2], "the next id from the same history", timeout=10)
            await rig.stop_client(client)
        finally:
            await standby.stop(1.0)

    rig.run(scenario, timeout=30)
    assert serve.wait(timeout=5) == -signal.SIGKILL


def test_a_port_taken_by_something_else_is_retried_later(rig: ChatRig) -> None:
    async def scenario() -> None:
        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", rig.port))
        squatter.listen()
        states = States()
        host = hosting(rig, states, backoff=Backoff(0.05, 0.2))
        try:
            await host.start()
            assert states.last is not None
            assert not states.last.hosting
            assert f"port {rig.port}" in states.last.problem
            squatter.close()
            await until(states.hosting, "hosting once the port is free")
        finally:
            squatter.close()
            await host.stop(1.0)

    rig.run(scenario)


def test_sharing_on_the_lan_rebinds_and_hands_out_the_folder_passphrase(rig: ChatRig) -> None:
    async def scenario() -> None:
        states = States()
        host = hosting(rig, states)
        await host.start()
        try:
            client, seen = await rig.client("ada")
            await until(lambda: seen.state is LinkState.CONNECTED, "connected")
            host.share_on_lan(True)
            await until(lambda: states.last is not None and states.last.lan, "shared")
            shared = states.last
            assert shared is not None
            assert host.hub is not None
            assert host.hub.host == "0.0.0.0"
            assert shared.lan_address is not None
            assert shared.lan_address.endswith(f":{rig.port}")
            assert shared.passphrase == local_passphrase(rig.folder)
            assert shared.passphrase not in repr(shared), "never in a log line by accident"
            client.say("lobby", "still here")
            await until(lambda: seen.texts() == ["still here"], "the open connection survives the rebind")
            host.share_on_lan(False)
            await until(lambda: states.last is not None and not states.last.lan, "unshared")
            assert host.hub.host == "127.0.0.1"
            assert states.last.passphrase is None
            await rig.stop_client(client)
        finally:
            await host.stop(1.0)

    rig.run(scenario)


def test_hosting_shared_from_the_start_uses_the_folder_passphrase(rig: ChatRig) -> None:
    async def scenario() -> None:
        states = States()
        host = hosting(rig, states, share_on_lan=True)
        await host.start()
        try:
            assert states.last is not None
            assert states.last.lan
            assert host.hub is not None
            assert host.hub.host == "0.0.0.0"
            client, seen = await rig.client("ada")  # a local instance signs in with the folder's passphrase
            await until(lambda: seen.state is LinkState.CONNECTED, "connected")
            await rig.stop_client(client)
        finally:
            await host.stop(1.0)

    rig.run(scenario)


def test_a_take_over_keeps_the_hub_shared_as_its_last_host_left_it(rig: ChatRig) -> None:
    async def scenario() -> None:
        first_states, second_states, third_states = States(), States(), States()
        first = hosting(rig, first_states, share_on_lan=True)
        second = hosting(rig, second_states, share_on_lan=False)  # this profile never shared
        await first.start()
        await second.start()
        try:
            assert read_lan_record(rig.folder) is True
            await first.stop(1.0)
            await until(second_states.hosting, "the take-over")
            assert second.hub is not None
            assert second.hub.host == "0.0.0.0", "people on the LAN keep their hub"
            assert second_states.last is not None
            assert second_states.last.lan
            await second.stop(1.0)
            # A fresh start (nobody to take over from) follows the user's own setting instead.
            third = hosting(rig, third_states, share_on_lan=False)
            await third.start()
            assert third.hub is not None
            assert third.hub.host == "127.0.0.1"
            assert read_lan_record(rig.folder) is False
            await third.stop(1.0)
        finally:
            await first.stop(1.0)
            await second.stop(1.0)

    rig.run(scenario)


def test_stopping_while_standing_by_is_quick_and_leaves_the_lock_alone(rig: ChatRig, aloop: LoopRunner) -> None:
    async def scenario() -> None:
        holder = hosting(rig, States())
        standby = hosting(rig, States())
        await holder.start()
        await standby.start()
        started = time.monotonic()
        await standby.stop(1.0)
        assert time.monotonic() - started < 0.3
        await holder.stop(1.0)
        # the abandoned waiter gets the lock once the holder is gone, and lets go of it at once
        probe = HostingLock(rig.folder)
        await until(probe.acquire, "the lock to be free")
        probe.release()

    rig.run(scenario)


def test_a_cancelled_lock_wait_releases_a_lock_that_arrives_later(tmp_path: Path, aloop: LoopRunner) -> None:
    folder = tmp_path / "hub"
    folder.mkdir()
    held = HostingLock(folder)
    assert held.acquire()

    async def scenario() -> None:
        waiting = asyncio.ensure_future(LockWaiter(folder).wait())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    aloop.run(scenario())
    held.release()
    probe = HostingLock(folder)
    wait_until_sync(probe.acquire, what="the abandoned waiter to let go")
    probe.release()


def test_a_lock_wait_hands_over_the_lock(tmp_path: Path, aloop: LoopRunner) -> None:
    folder = tmp_path / "hub"
    folder.mkdir()
    held = HostingLock(folder)
    assert held.acquire()

    async def scenario() -> HostingLock:
        waiting = asyncio.ensure_future(LockWaiter(folder).wait())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        held.release()
        return await waiting

    lock = aloop.run(scenario())
    assert lock.held
    assert lock.holder_pid() == os.getpid()
    assert not HostingLock(folder).acquire()
    lock.release()
