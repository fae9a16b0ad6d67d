"""/ws with Tornado's client against a real hub: the five client frames, acknowledgements, replay, errors."""

from __future__ import annotations

import asyncio
import uuid

from core.chat.hub import Hub
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub
from tests.core.chat.hub.wsclient import WsClient


def test_say_is_stored_numbered_and_broadcast_to_the_room(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        alice = await WsClient.connect(hub, "alice")
        bob = await WsClient.connect(hub, "bob")
        await alice.join("lobby")
        await bob.join("lobby", nick="bob")
        first = await alice.say("hello <b>world</b> & all", cid="c-1")
        assert first["id"] == 1
        assert first["nick"] == "alice"
        assert first["text"] == "hello <b>world</b> & all"  # stored and relayed as sent: escaping is the viewer's job
        assert first["cid"] == "c-1"
        assert isinstance(first["ts"], float)
        assert await bob.expect("message", cid="c-1") == first
        second = await bob.say("hi alice")
        assert second["id"] == 2
        assert (await alice.expect("message", id=2))["nick"] == "bob"
        await alice.close()
        await bob.close()

    aloop.run(scenario())


def test_presence_lists_everyone_in_the_room(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(presence_interval=0.05)

    async def scenario() -> None:
        alice = await WsClient.connect(hub, "alice")
        bob = await WsClient.connect(hub, "bob")
        assert (await alice.join("lobby"))["users"] == ["alice"]
        await bob.join("lobby", nick="bob")
        both = await alice.expect("presence", users=["alice", "bob"])
        assert both["count"] == 2
        await bob.send(type="leave", room="lobby")
        await alice.expect("presence", users=["alice"])
        await bob.close()
        await alice.close()

    aloop.run(scenario())


def test_typing_reaches_the_others_only(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        alice = await WsClient.connect(hub, "alice")
        bob = await WsClient.connect(hub, "bob")
        await alice.join()
        await bob.join(nick="bob")
        await alice.send(type="typing", room="lobby")
        assert await bob.expect("typing") == {"type": "typing", "room": "lobby", "nick": "alice"}
        await alice.say("done typing")  # had alice got her own typing frame, it would precede this
        assert not [f for f in alice.seen if f["type"] == "typing"]
        await alice.close()
        await bob.close()

    aloop.run(scenario())


def test_resent_cid_is_stored_once_and_acknowledged_with_the_original(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        alice = await WsClient.connect(hub, "alice")
        bob = await WsClient.connect(hub, "bob")
        await alice.join()
        await bob.join(nick="bob")
        cid = str(uuid.uuid4())
        original = await alice.say("only once", cid=cid)
        again = await alice.say("only once (resent)", cid=cid)
        assert again == original  # the acknowledgement is the stored message, not the resend
        marker = await alice.say("after")
        await bob.expect("message", id=marker["id"])
        assert [f["id"] for f in bob.seen if f["type"] == "message"] == [original["id"], marker["id"]]
        assert hub.context.service.history.last_id("lobby") == 2
        await alice.close()
        await bob.close()

    aloop.run(scenario())


def test_history_pages_backwards_oldest_first(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        alice = await WsClient.connect(hub, "alice")
        await alice.join()
        for i in range(1, 8):
            await alice.say(f"m{i}")
        await alice.send(type="history", room="lobby", limit=3)
        newest = await alice.expect("history")
        assert [m["id"] for m in newest["messages"]] == [5, 6, 7]
        assert newest["more"] is True
        assert set(newest["messages"][0]) == {"id", "nick", "text", "ts", "cid"}
        await alice.send(type="history", room="lobby", before=5, limit=10)
        older = await alice.expect("history")
        assert [m["text"] for m in older["messages"]] == ["m1", "m2", "m3", "m4"]
        assert older["more"] is False
        await alice.send(type="history", room="empty-room")  # no join needed to read; nothing there
        assert (await alice.expect("history", room="empty-room"))["messages"] == []
        await alice.close()

    aloop.run(scenario())


def test_join_since_replays_every_later_message_then_goes_live(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(max_buffer=64 * 1024)  # small: the replay must pace itself rather than overflow it

    async def scenario() -> None:
        alice = await WsClient.connect(hub, "alice")
        await alice.join()
        text = "x" * 2000
        for _ in range(120):
            await alice.send(type="say", room="lobby", text=text)
            await alice.expect("message")
        # Bob reconnects having seen up to id 20, while alice keeps talking during his replay.
        bob = await WsClient.connect(hub, "bob")
        await bob.send(type="join", room="lobby", since=20)
        for i in range(30):
            await alice.say(f"live {i}")
        ids: list[int] = []
        while len(ids) < 130:
            frame = await bob.expect("message")
            ids.append(frame["id"])
        assert ids == list(range(21, 151))  # everything after 20, each once, in order
        assert hub.context.service.rooms.get("lobby") is not None
        assert not bob.conn.close_code
        await alice.close()
        await bob.close()

    aloop.run(scenario(), timeout=30)


async def _error_after(client: WsClient, frame: str | bytes) -> dict[str, object]:
    await client.send_raw(frame)
    return await client.expect("error")


def test_bad_frames_get_an_error_and_the_connection_stays_open(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        await c.join()
        cases = [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_json"),
            ('{"type": "shout", "room": "lobby"}', "unknown_type"),
            ('{"room": "lobby"}', "unknown_type"),
            ('{"type": "say", "room": "no spaces", "text": "x"}', "bad_field"),
            ('{"type": "say", "room": "lobby", "text": ""}', "bad_field"),
            ('{"type": "say", "room": "lobby", "text": 5}', "bad_field"),
            ('{"type": "say", "room": "lobby", "text": "\\ud800"}', "bad_field"),
            ('{"type": "join", "room": "other", "since": true}', "bad_field"),
            ('{"type": "history", "room": "lobby", "limit": 201}', "bad_field"),
            ('{"type": "say", "room": "elsewhere", "text": "hi"}', "not_joined"),
            ('{"type": "typing", "room": "elsewhere"}', "not_joined"),
            ('{"type": "leave", "room": "elsewhere"}', "not_joined"),
            ('{"type": "join", "room": "lobby"}', "already_joined"),
            (b"\x00binary", "bad_frame"),
            ("[" * 20000 + "]" * 20000, "bad_json"),  # deep nesting: RecursionError in the parser
        ]
        for frame, code in cases:
            error = await _error_after(c, frame)
            assert error["code"] == code, (frame[:60], error)
            assert error["message"]
        still = await c.say("still here")
        assert still["text"] == "still here"
        await c.close()

    aloop.run(scenario())


def test_text_limit_is_4000_characters(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        await c.join()
        longest = "🙂" * 4000  # characters, not bytes: 16,000 bytes of UTF-8
        assert (await c.say(longest, cid="ok"))["text"] == longest
        await c.send(type="say", room="lobby", text=longest + "x", cid="too-long")
        error = await c.expect("error")
        assert error["code"] == "text_too_long"
        assert error["cid"] == "too-long"  # so a client can drop it from its outbox
        assert "4001" in error["message"]
        await c.close()

    aloop.run(scenario())


def test_rooms_per_connection_are_limited(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(max_rooms_per_conn=3)

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        for room in ("a", "b", "c"):
            await c.join(room)
        await c.send(type="join", room="d")
        assert (await c.expect("error"))["code"] == "too_many_rooms"
        await c.send(type="leave", room="a")
        await c.join("d")
        await c.close()

    aloop.run(scenario())


def test_rate_limit_refuses_then_closes_with_1008(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(rate=20, burst=5, rate_close_after=10)

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        await c.join()  # the join spends one frame of the burst
        for i in range(40):
            await c.send(type="typing", room="lobby")
            del i
        error = await c.expect("error")
        assert error["code"] == "rate_limited"
        assert await c.wait_closed() == 1008
        assert [f["code"] for f in c.seen if f["type"] == "error"] == ["rate_limited"]  # said once, not 30 times

    aloop.run(scenario())


def test_the_rate_limited_error_names_the_say_it_dropped(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(rate=20, burst=5, rate_close_after=50)

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        await c.join()  # one frame of the burst
        for i in range(8):
            await c.send(type="say", room="lobby", text=f"m{i}", cid=f"c{i}")
        error = await c.expect("error")
        acked = [f["cid"] for f in c.seen if f["type"] == "message"]
        assert error["code"] == "rate_limited"
        assert (error.get("room"), error.get("cid")) == ("lobby", f"c{len(acked)}"), "the first say it dropped"
        assert "resend" in error["message"]
        await c.close()

    aloop.run(scenario())


def test_a_burst_within_the_limit_is_served(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(rate=20, burst=10)

    async def scenario() -> None:
        c = await WsClient.connect(hub, "alice")
        await c.join()
        for i in range(9):
            await c.send(type="say", room="lobby", text=f"b{i}", cid=f"b{i}")
        for i in range(9):
            await c.expect("message", cid=f"b{i}")
        assert not [f for f in c.seen if f["type"] == "error"]
        await c.close()

    aloop.run(scenario())


def test_stop_closes_clients_with_1001(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario(hub: Hub) -> None:
        clients = [await WsClient.connect(hub, f"u{i}") for i in range(5)]
        for c in clients:
            await c.join()
        stopping = asyncio.ensure_future(hub.stop(1.5))
        codes = [await c.wait_closed() for c in clients]
        await stopping
        assert codes == [1001] * 5

    aloop.run(scenario(hub))
