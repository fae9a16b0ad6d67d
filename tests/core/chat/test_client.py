"""ChatClient against a real hub on loopback: sign-in, acknowledgements, presence, typing, history pages, input
errors, refusals. Reconnects and the outbox across hub restarts are in test_client_reconnect.py."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace

import pytest

from core.chat.errors import ChatInputError, NickError
from core.chat.outbox import Outbox
from core.chat.updates import Delivery, LinkState
from tests.core.chat.conftest import FAST, ChatRig, hub_rows, until


def test_a_message_is_pending_then_acknowledged_and_kept(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub()
        client, seen = await rig.client("ada")
        await until(lambda: seen.state is LinkState.CONNECTED, "connected")
        assert seen.status is not None
        assert seen.status.address == f"127.0.0.1:{rig.port}"
        assert seen.status.local
        entry = client.say("lobby", "hello, room")
        assert entry.state is Delivery.SENDING
        assert Outbox(rig.conns[0]).count() == 1, "committed before it is sent"
        await until(lambda: seen.texts() == ["hello, room"], "the acknowledgement")
        message = seen.messages["lobby"][1]
        assert message.own
        assert message.cid == entry.cid
        assert entry.cid in seen.gone
        assert entry.cid not in seen.pending
        await until(lambda: Outbox(rig.conns[0]).count() == 0, "the outbox to empty")
        assert hub_rows(rig.folder) == [(1, "ada", "hello, room", entry.cid)]
        kept = rig.conns[0].execute("SELECT id, text, own FROM chat_messages").fetchall()
        assert [tuple(r) for r in kept] == [(1, "hello, room", 1)]

    rig.run(scenario)


def test_two_clients_see_each_other_with_presence_and_typing(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub()
        _ada, ada_seen = await rig.client("ada")
        bob, bob_seen = await rig.client("bob")
        await until(lambda: ada_seen.presence.get("lobby") == ("ada", "bob"), "both in the user list")
        bob.typing("lobby")
        await until(lambda: ada_seen.typing.get("lobby") == ("bob",), "bob typing at ada's")
        assert bob_seen.typing.get("lobby", ()) == (), "nobody is told about their own typing"
        bob.say("lobby", "hi ada")
        await until(lambda: ada_seen.texts() == ["hi ada"], "bob's message at ada's")
        assert not ada_seen.messages["lobby"][1].own
        assert ada_seen.messages["lobby"][1].nick == "bob"
        await until(lambda: ada_seen.typing.get("lobby") == (), "bob's message ends his typing")
        await rig.stop_client(bob)
        await until(lambda: ada_seen.presence.get("lobby") == ("ada",), "bob gone from the user list")

    rig.run(scenario)


def test_typing_runs_out_and_is_sent_at_most_every_few_seconds(rig: ChatRig) -> None:
    async def scenario() -> None:
        hub = await rig.start_hub()
        _ada, ada_seen = await rig.client("ada")
        bob, _ = await rig.client("bob")
        await until(lambda: ada_seen.presence.get("lobby") == ("ada", "bob"), "both in")
        for _ in range(20):
            bob.typing("lobby")
        await until(lambda: ada_seen.typing.get("lobby") == ("bob",), "bob typing")
        frames = [u for u in ada_seen.updates for t in u.typing if t.nicks == ("bob",)]
        assert len(frames) == 1
        # the window runs out by itself (5 s by default, 1 s here)
        await until(lambda: ada_seen.typing.get("lobby") == (), "the typing line to clear", timeout=8)
        assert hub.health()["connections"] == 2

    rig.run(scenario, timeout=30)


def test_a_fresh_profile_gets_the_newest_page_then_pages_older_history(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub(rate=10_000.0, burst=1_000)
        writer, writer_seen = await rig.client("writer", timing=replace(FAST, rate=10_000.0, burst=1_000))
        await until(lambda: writer_seen.state is LinkState.CONNECTED, "writer connected")
        for i in range(1, 121):
            writer.say("lobby", f"message {i}")
        await until(lambda: len(hub_rows(rig.folder)) == 120, "120 stored", timeout=15)

        reader, seen = await rig.client("reader")
        await until(lambda: seen.ids() == list(range(71, 121)), "the newest 50")
        first = [p for p in seen.pages if p.messages]
        assert first[-1].more
        reader.load_older("lobby", 71)
        await until(lambda: seen.ids() == list(range(21, 121)), "50 older from the hub")
        reader.load_older("lobby", 21)
        await until(lambda: seen.ids()[0] == 1, "the first 20")
        assert seen.pages[-1].more is False
        assert seen.ids() == list(range(1, 121))
        await rig.stop_client(reader)

        # the same profile again: everything comes from its cache, even without a hub
        await rig.stop_client(writer)
        await rig.stop_hub(rig.hubs[0])
        again, again_seen = await rig.client("reader", conn=rig.conns[1])
        assert again_seen.ids() == list(range(71, 121)), "the cache's newest page at once"
        again.load_older("lobby", 71)
        await until(lambda: again_seen.ids()[0] == 21, "an older page from the cache, offline")
        assert again_seen.state is not LinkState.CONNECTED

    rig.run(scenario, timeout=40)


def test_rooms_can_be_joined_and_left(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub()
        ada, _ada_seen = await rig.client("ada")
        _bob, bob_seen = await rig.client("bob", rooms=("lobby", "dev"))
        await until(lambda: bob_seen.presence.get("dev") == ("bob",), "bob in dev")
        ada.join_room("dev")
        assert ada.rooms == ("lobby", "dev")
        await until(lambda: bob_seen.presence.get("dev") == ("ada", "bob"), "ada in dev")
        ada.say("dev", "in dev")
        await until(lambda: bob_seen.texts("dev") == ["in dev"], "the dev message")
        assert bob_seen.texts("lobby") == []
        ada.leave_room("dev")
        await until(lambda: bob_seen.presence.get("dev") == ("bob",), "ada left dev")
        with pytest.raises(ChatInputError, match="not in 'dev'"):
            ada.say("dev", "gone")
        with pytest.raises(ChatInputError, match="only room"):
            ada.leave_room("lobby")
        with pytest.raises(ChatInputError, match="room must be 1 to 32 characters"):
            ada.join_room("no spaces please")

    rig.run(scenario)


def test_bad_input_is_refused_with_a_reason(rig: ChatRig) -> None:
    async def scenario() -> None:
        client, _ = await rig.client("ada")  # no hub: refusals need none
        with pytest.raises(ChatInputError, match="empty"):
            client.say("lobby", "  \n ")
        with pytest.raises(ChatInputError, match="4,001 characters long; the limit is 4,000: split it"):
            client.say("lobby", "x" * 4001)
        with pytest.raises(ChatInputError, match="lone surrogate"):
            client.say("lobby", "bad \ud800 text")
        with pytest.raises(NickError, match="must not start or end with a space"):
            client.set_nick(" ada")
        assert client.pending() == []

    rig.run(scenario)


def test_a_refused_passphrase_stops_retrying_until_a_new_one_is_given(rig: ChatRig) -> None:
    async def scenario() -> None:
        hub = await rig.start_hub()
        target = rig.target(passphrase="wrong", local=False)
        client, seen = await rig.client("ada", target=target)
        await until(lambda: seen.state is LinkState.REFUSED, "refused")
        assert seen.status is not None
        assert "refused the passphrase" in seen.status.problem
        assert "Join a hub" in seen.status.problem
        attempts = len(seen.statuses)
        await asyncio.sleep(0.5)  # long enough for several retries at the fast backoff: there must be none
        assert len(seen.statuses) == attempts
        assert seen.state is LinkState.REFUSED
        client.set_target(rig.target(passphrase=hub.passphrase, local=False))
        await until(lambda: seen.state is LinkState.CONNECTED, "connected with the right passphrase")

    rig.run(scenario)


@pytest.mark.allow_logs(r"cannot store a message in lobby: database or disk is full")
def test_a_failed_message_stays_failed_until_retried(
    rig: ChatRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        hub = await rig.start_hub()
        client, seen = await rig.client("ada")
        await until(lambda: seen.state is LinkState.CONNECTED, "connected")
        history = hub.context.service.history

        def broken_append(*_args: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(history, "append", broken_append)
        entry = client.say("lobby", "will fail")
        await until(lambda: seen.pending.get(entry.cid, entry).state is Delivery.FAILED, "the failure")
        assert "could not store your message" in seen.pending[entry.cid].error
        assert Outbox(rig.conns[0]).get(entry.cid) is not None, "a failed message is kept"
        monkeypatch.undo()
        client.retry(entry.cid)
        await until(lambda: seen.texts() == ["will fail"], "the retried message")
        assert entry.cid not in seen.pending

    rig.run(scenario)
    assert "cannot store a message in lobby" in caplog.text


def test_messages_left_behind_in_a_room_go_out_when_it_is_joined_again(rig: ChatRig) -> None:
    async def scenario() -> None:
        client, seen = await rig.client("ada", rooms=("lobby", "dev"))
        await until(lambda: seen.state is LinkState.OFFLINE, "offline")
        entry = client.say("dev", "typed in dev")
        client.leave_room("dev")
        await rig.start_hub()
        await until(lambda: seen.state is LinkState.CONNECTED, "connected")
        assert hub_rows(rig.folder, "dev") == [], "not sent to a room we left"
        client.join_room("dev")
        await until(lambda: seen.texts("dev") == ["typed in dev"], "sent after joining again")
        assert entry.cid in seen.gone

    rig.run(scenario)
