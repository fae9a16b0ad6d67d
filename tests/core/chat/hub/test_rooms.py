"""Rooms with FakePeers (the test is about membership, not sockets): broadcast, replaying members, presence
coalescing, empty rooms."""

from __future__ import annotations

import asyncio
from typing import Any

from core.chat.hub.frames import Outgoing
from core.chat.hub.limits import TokenBucket
from core.chat.hub.peer import Peer
from core.chat.hub.rooms import PRESENCE_USERS_MAX, Rooms
from tests.conftest import LoopRunner
from tests.helpers import wait_until


class FakePeer(Peer):
    """Records what it is sent."""

    __slots__ = ("got",)

    kind = "fake"

    def __init__(self, nick: str, port: int = 1) -> None:
        super().__init__(nick, "127.0.0.1", port, None, TokenBucket(1, 1))  # type: ignore[arg-type]
        self.got: list[dict[str, Any]] = []

    def send(self, out: Outgoing) -> None:
        self.got.append(out.payload)

    def presences(self) -> list[dict[str, Any]]:
        return [p for p in self.got if p["type"] == "presence"]


def test_broadcast_reaches_live_members_only(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        rooms = Rooms(presence_interval=0.01)
        a, b, c = FakePeer("a"), FakePeer("b"), FakePeer("c")
        rooms.join(a, "r", live=True)
        rooms.join(b, "r", live=True)
        rooms.join(c, "r", live=False)  # replaying: its replay delivers, not the broadcast
        assert rooms.broadcast("r", Outgoing({"type": "message", "n": 1}), exclude=b) == 1
        rooms.go_live(c, "r")
        assert rooms.broadcast("r", Outgoing({"type": "message", "n": 2})) == 3
        assert [m["n"] for m in a.got if m["type"] == "message"] == [1, 2]
        assert [m["n"] for m in b.got if m["type"] == "message"] == [2]
        assert [m["n"] for m in c.got if m["type"] == "message"] == [2]
        assert rooms.broadcast("nowhere", Outgoing({"type": "message"})) == 0
        rooms.close()

    aloop.run(scenario())


def test_presence_is_coalesced_per_room(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        rooms = Rooms(presence_interval=0.2)
        first = FakePeer("first")
        rooms.join(first, "r", live=True)
        await asyncio.sleep(0)
        assert [p["users"] for p in first.presences()] == [["first"]]  # a quiet room answers at once
        crowd = [FakePeer(f"u{i:03d}", port=i) for i in range(300)]
        for peer in crowd:  # 300 joins: 300 x 300 frames if each sent its own presence
            rooms.join(peer, "r", live=True)
        await asyncio.sleep(0.3)
        assert len(first.presences()) == 2
        latest = first.presences()[-1]
        assert latest["count"] == 301
        assert len(latest["users"]) == PRESENCE_USERS_MAX
        assert latest["users"] == sorted(latest["users"])
        assert all(len(p.presences()) == 1 for p in crowd)
        rooms.close()

    aloop.run(scenario())


def test_presence_goes_to_everyone_only_when_the_nicks_change(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        rooms = Rooms(presence_interval=0.01)
        obs, twin = FakePeer("obs"), FakePeer("twin", port=2)
        rooms.join(obs, "r", live=True)
        rooms.join(twin, "r", live=True)
        await wait_until(lambda: [p["users"] for p in obs.presences()][-1:] == [["obs", "twin"]], what="both")
        seen = len(obs.presences())
        second = FakePeer("twin", port=3)  # the same nick from a second connection: the list is unchanged
        rooms.join(second, "r", live=True)
        await wait_until(lambda: second.presences(), what="the newcomer's presence")
        assert second.presences()[0]["users"] == ["obs", "twin"]
        assert len(obs.presences()) == seen, "nothing changed for the others"
        rooms.leave(twin, "r")  # twin is still there through its second connection: no frame for anyone
        rooms.join(FakePeer("zed", port=4), "r", live=True)
        await wait_until(lambda: len(obs.presences()) > seen, what="the next change")
        assert [p["users"] for p in obs.presences()[seen:]] == [["obs", "twin", "zed"]]
        assert len(second.presences()) == 2
        rooms.close()

    aloop.run(scenario())


def test_a_room_disappears_when_its_last_member_leaves(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        rooms = Rooms(presence_interval=0.01)
        a, b = FakePeer("a"), FakePeer("a", port=2)  # the same nick twice is listed once
        rooms.join(a, "r", live=True)
        rooms.join(b, "r", live=True)
        await asyncio.sleep(0.02)
        assert a.presences()[-1]["users"] == ["a"]
        rooms.leave(a, "r")
        rooms.leave(b, "r")
        assert "r" not in a.rooms
        await asyncio.sleep(0.03)
        assert rooms.get("r") is None
        rooms.close()

    aloop.run(scenario())
