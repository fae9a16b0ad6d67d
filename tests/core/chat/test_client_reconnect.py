"""ChatClient across drops: the outbox while offline, hub restarts, replay with since, resends that the hub had
already stored, stale tokens, a hub whose history was replaced, pacing under the hub's rate limit, goodbye."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from core.chat.client import ClientTiming
from core.chat.hub import HubConfig
from core.chat.outbox import Outbox
from core.chat.updates import LinkState
from tests.core.chat.conftest import FAST, ChatRig, hub_rows, until
from tests.core.chat.hub.wsclient import WsClient


def test_messages_typed_offline_wait_in_the_outbox_and_arrive_once(rig: ChatRig) -> None:
    async def scenario() -> None:
        client, seen = await rig.client("ada")
        await until(lambda: seen.state is LinkState.OFFLINE, "offline (no hub yet)")
        assert seen.status is not None
        assert seen.status.retry_at is not None
        assert seen.status.retry_at > time.monotonic() - 1
        assert "no hub answers" in seen.status.problem
        cids = [client.say("lobby", f"offline {i}").cid for i in range(3)]
        assert Outbox(rig.conns[0]).count() == 3
        assert [p.text for p in client.pending()] == ["offline 0", "offline 1", "offline 2"]
        await rig.start_hub()
        await until(lambda: len(seen.texts()) == 3, "the three messages", timeout=10)
        assert seen.texts() == ["offline 0", "offline 1", "offline 2"]
        assert [row[3] for row in hub_rows(rig.folder)] == cids
        assert all(m.own for m in seen.messages["lobby"].values())
        await until(lambda: Outbox(rig.conns[0]).count() == 0, "an empty outbox")

    rig.run(scenario)


def test_a_hub_restart_loses_nothing_and_repeats_nothing(rig: ChatRig) -> None:
    async def scenario() -> None:
        hub = await rig.start_hub()
        ada, ada_seen = await rig.client("ada")
        bob, bob_seen = await rig.client("bob")
        await until(lambda: bob_seen.presence.get("lobby") == ("ada", "bob"), "both in")
        ada.say("lobby", "before")
        await until(lambda: bob_seen.texts() == ["before"], "the first message")
        await rig.stop_hub(hub)
        await until(lambda: ada_seen.state is LinkState.OFFLINE, "ada offline")
        assert ada_seen.status is not None
        assert "shutting down or changing hands" in ada_seen.status.problem
        assert ada_seen.presence["lobby"] == (), "nobody is known to be there while offline"
        ada.say("lobby", "while down")
        await rig.start_hub()
        bob.say("lobby", "after")
        await until(lambda: len(bob_seen.texts()) == 3 and len(ada_seen.texts()) == 3, "all three at both")
        assert set(bob_seen.texts()) == {"before", "while down", "after"}
        assert ada_seen.ids() == bob_seen.ids() == [1, 2, 3]
        assert [r[2] for r in hub_rows(rig.folder)] == bob_seen.texts()

    rig.run(scenario, timeout=30)


def test_a_returning_profile_replays_only_what_it_missed(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub()
        ada, ada_seen = await rig.client("ada")
        bob, _ = await rig.client("bob")
        for i in range(1, 4):
            bob.say("lobby", f"seen {i}")
        await until(lambda: ada_seen.ids() == [1, 2, 3], "three messages")
        await rig.stop_client(ada)
        for i in range(4, 7):
            bob.say("lobby", f"missed {i}")
        await until(lambda: len(hub_rows(rig.folder)) == 6, "six stored")
        _again, again_seen = await rig.client("ada", conn=rig.conns[0])
        assert again_seen.ids() == [1, 2, 3], "the cache first"
        await until(lambda: again_seen.ids() == [1, 2, 3, 4, 5, 6], "the three missed")
        live = [m.id for u in again_seen.updates for m in u.messages]
        assert live == [4, 5, 6], "only what was missed comes from the hub, as new messages"

    rig.run(scenario)


def test_a_resend_of_a_message_the_hub_already_stored_is_acknowledged_not_repeated(rig: ChatRig) -> None:
    async def scenario() -> None:
        hub = await rig.start_hub()
        # ada typed it and the hub stored it, but the acknowledgement never reached her (connection cut)
        ws = await WsClient.connect(hub, "ada")
        await ws.join()
        await ws.say("sent once", cid="cid-1")
        await ws.close()
        conn = rig.profile("ada")
        Outbox(conn).add(f"127.0.0.1:{rig.port}", "lobby", "sent once", cid="cid-1")

        _client, seen = await rig.client("ada", conn=conn)
        await until(lambda: "cid-1" in seen.gone, "the acknowledgement")
        assert seen.texts() == ["sent once"]
        assert seen.messages["lobby"][1].own
        assert hub_rows(rig.folder) == [(1, "ada", "sent once", "cid-1")]
        await until(lambda: Outbox(conn).count() == 0, "the outbox to empty")

    rig.run(scenario)


def test_a_stale_token_is_replaced_without_bothering_the_user(rig: ChatRig) -> None:
    async def scenario() -> None:
        hub = await rig.start_hub()
        _client, seen = await rig.client("ada")
        await until(lambda: seen.state is LinkState.CONNECTED, "connected")
        await hub.rotate_key()
        await hub.rotate_key()  # the key that signed ada's token is gone
        await rig.stop_hub(hub)
        await rig.start_hub()
        connected = len([s for s in seen.statuses if s.state is LinkState.CONNECTED])
        await until(
            lambda: len([s for s in seen.statuses if s.state is LinkState.CONNECTED]) > connected, "reconnected"
        )
        assert all(s.state is not LinkState.REFUSED for s in seen.statuses)

    rig.run(scenario)


def test_a_hub_with_another_history_at_the_same_address_replaces_the_kept_one(rig: ChatRig) -> None:
    async def scenario() -> None:
        first = await rig.start_hub(passphrase="same for both")
        ada, ada_seen = await rig.client("ada", target=rig.target(passphrase="same for both", local=False))
        for i in range(3):
            ada.say("lobby", f"old {i}")
        await until(lambda: ada_seen.ids() == [1, 2, 3], "three kept")
        await rig.stop_hub(first)
        await rig.start_hub(data_dir=rig.tmp / "other-hub", passphrase="same for both")
        await until(lambda: ada_seen.state is LinkState.CONNECTED and rig.hubs[0].health()["connections"] == 1,
                    "ada on the new hub")  # fmt: skip
        ws = await WsClient.connect(rig.hubs[0], "zed")
        await ws.join()
        await ws.say("new 1", cid="z1")
        await ws.close()
        await until(lambda: "new 1" in ada_seen.texts(), "the new hub's message")
        assert any("lobby" in u.resets for u in ada_seen.updates)
        assert ada_seen.texts() == ["new 1"], "the old hub's messages are not mixed in"

    rig.run(scenario)


def test_a_full_outbox_is_resent_under_the_hubs_rate_limit(rig: ChatRig) -> None:
    async def scenario() -> None:
        client, seen = await rig.client("ada")
        for i in range(40):
            client.say("lobby", f"queued {i}")
        await rig.start_hub(rate=20.0, burst=20)  # protocol v1's defaults
        await until(lambda: len(seen.texts()) == 40, "all forty", timeout=15)
        assert seen.texts() == [f"queued {i}" for i in range(40)]
        assert len(hub_rows(rig.folder)) == 40
        assert not seen.notices

    rig.run(scenario, timeout=30)


def test_messages_a_stricter_hub_drops_for_rate_are_resent_not_failed(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub(rate=4.0, burst=2)  # stricter than the client's pace: it will be rate_limited
        client, seen = await rig.client("ada")
        await until(lambda: seen.state is LinkState.CONNECTED, "connected")
        for i in range(12):
            client.say("lobby", f"fast {i}")
        await until(lambda: len(seen.texts()) == 12, "all twelve", timeout=15)
        assert sorted(seen.texts()) == sorted(f"fast {i}" for i in range(12))
        assert len(hub_rows(rig.folder)) == 12, "each stored once"
        assert not [p for p in seen.pending.values() if p.error], "none marked as refused"
        assert not seen.notices

    rig.run(scenario, timeout=30)


def test_stop_says_goodbye_quickly(rig: ChatRig, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> float:
        hub = await rig.start_hub()
        client, _seen = await rig.client("ada")
        await until(lambda: hub.health()["connections"] == 1, "connected")
        started = time.monotonic()
        await rig.stop_client(client)
        took = time.monotonic() - started
        await until(lambda: hub.health()["connections"] == 0, "the hub to see the goodbye")
        assert client.status.state is LinkState.STOPPED
        return took

    took = rig.run(scenario)
    assert took < 0.5
    assert "closed (1000)" in caplog.text


def test_switching_hubs_starts_over_with_the_other_hubs_history(rig: ChatRig) -> None:
    async def scenario() -> None:
        await rig.start_hub()
        other = await rig.start_hub(data_dir=rig.tmp / "lan-hub", port=0, host="127.0.0.1", passphrase="open sesame")
        client, seen = await rig.client("ada")
        client.say("lobby", "on the first hub")
        await until(lambda: seen.texts() == ["on the first hub"], "first hub")
        client.set_target(rig.target(address=f"127.0.0.1:{other.port}", passphrase="open sesame", local=False))
        await until(lambda: seen.status is not None and seen.status.address.endswith(str(other.port))
                    and seen.state is LinkState.CONNECTED, "the other hub")  # fmt: skip
        assert seen.texts() == []
        client.say("lobby", "on the other hub")
        await until(lambda: seen.texts() == ["on the other hub"], "other hub's message")
        assert [r[2] for r in hub_rows(rig.tmp / "lan-hub")] == ["on the other hub"]
        assert [r[2] for r in hub_rows(rig.folder)] == ["on the first hub"]

    rig.run(scenario)


def test_backoff_grows_while_the_hub_stays_away(rig: ChatRig) -> None:
    async def scenario() -> None:
        client, seen = await rig.client("ada", timing=replace(FAST, backoff_first=0.05, backoff_ceiling=0.4))
        await until(lambda: len([s for s in seen.statuses if s.state is LinkState.OFFLINE]) >= 5, "five tries")
        waits = [s.retry_at for s in seen.statuses if s.state is LinkState.OFFLINE]
        assert all(w is not None for w in waits)
        client.reconnect_now()
        await asyncio.sleep(0)

    rig.run(scenario)


def test_the_clients_default_pace_stays_under_the_hubs_default_limit() -> None:
    client, hub = ClientTiming(), HubConfig()
    assert client.rate < hub.rate, "sends per second"
    assert client.burst < hub.burst, "sends at once"
