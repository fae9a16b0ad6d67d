"""The nc gateway with raw sockets: login, lobby lines both ways, commands, refused long lines, limits."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.chat.hub import Hub
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub
from tests.core.chat.hub.wsclient import WsClient
from tests.helpers import wait_until


class NcUser:
    """What `nc HOST PORT` does: a TCP connection, lines in and out.

    Attributes:
        reader: the incoming side.
        writer: the outgoing side.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, line: str | bytes) -> None:
        self.writer.write(line if isinstance(line, bytes) else line.encode() + b"\n")
        await self.writer.drain()

    async def read_until(self, text: str, timeout: float = 5.0) -> str:
        """Everything up to and including the first occurrence of text."""
        async with asyncio.timeout(timeout):
            data = await self.reader.readuntil(text.encode())
        return data.decode()

    async def next_line(self, timeout: float = 5.0) -> str:
        """The next whole line, whatever it is."""
        async with asyncio.timeout(timeout):
            return (await self.reader.readline()).decode()

    async def line_with(self, text: str, timeout: float = 5.0) -> str:
        """The first whole line containing text (earlier lines are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                line = (await self.reader.readline()).decode()
                if not line:
                    raise AssertionError(f"closed while waiting for a line with {text!r}")
                if text in line:
                    return line

    async def rest(self, timeout: float = 5.0) -> str:
        """Everything until the hub closes the connection."""
        async with asyncio.timeout(timeout):
            return (await self.reader.read()).decode()

    async def sign_in_to_nick(self, passphrase: str) -> None:
        """Answer the passphrase prompt and wait for the nick prompt."""
        await self.read_until("Passphrase: ")
        await self.send(passphrase)
        await self.read_until("Nick: ")

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@asynccontextmanager
async def nc(hub: Hub, nick: str | None = "carol") -> AsyncIterator[NcUser]:
    """A connected nc user, logged in as nick (None: left at the passphrase prompt)."""
    assert hub.tcp_port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.tcp_port)
    user = NcUser(reader, writer)
    try:
        if nick is not None:
            await user.sign_in_to_nick(hub.passphrase)
            await user.send(nick)
            await user.line_with("You are in #lobby")
        yield user
    finally:
        await user.close()


def test_nc_user_chats_with_websocket_users_in_the_lobby(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        await ws.join()
        early = await ws.say("before carol came")
        async with nc(hub) as carol:
            shown = await carol.line_with("before carol came")  # recent lobby messages on arrival
            stamp = time.strftime("%H:%M", time.localtime(early["ts"]))
            assert shown == f"[{stamp}] <alice> before carol came\n"
            await ws.expect("presence", users=["alice", "carol"])
            await carol.send("hello from nc")
            got = await ws.expect("message", nick="carol")
            assert got["text"] == "hello from nc"
            assert (await carol.line_with("hello from nc")).endswith("<carol> hello from nc\n")  # own echo
            await ws.say("hi carol\nsecond line \x1b[31mred\x1b[0m")
            line = await carol.line_with("hi carol")
            assert line.endswith("<alice> hi carol second line \ufffd[31mred\ufffd[0m\n")  # one line, no escapes
            await ws.send(type="typing", room="lobby")  # nc users do not see typing frames
            await ws.say("next message")
            assert (await carol.reader.readline()).decode().endswith("<alice> next message\n")
        await ws.close()

    aloop.run(scenario())


def test_commands(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        await ws.join("den")
        async with nc(hub) as carol:
            await carol.send("/who")
            assert await carol.line_with("* in #lobby") == "* in #lobby (1): carol\n"
            await carol.send("/join bad room!")
            assert "! /join ROOM: room must be" in await carol.line_with("! /join")
            await carol.send("/join den")
            assert "You are in #den with alice" in await carol.line_with("You are in #den")
            await carol.send("//slash at the start")
            assert (await ws.expect("message", nick="carol"))["text"] == "/slash at the start"
            await carol.send("/dance")
            assert "unknown command /dance" in await carol.line_with("unknown command")
            await carol.send("/help")
            assert "/join ROOM" in await carol.line_with("commands:")
            await carol.send("/quit")
            assert "* bye" in await carol.rest()
        await wait_until(lambda: len(hub.context.service.peers) == 1, what="carol to leave")
        await ws.close()

    aloop.run(scenario())


def test_wrong_passphrase_is_refused(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0, failed_logins_per_minute=2)

    async def scenario() -> None:
        for _ in range(2):
            async with nc(hub, None) as eve:
                await eve.read_until("Passphrase: ")
                await eve.send("guess")
                assert "! wrong passphrase; bye" in await eve.rest()
        async with nc(hub, None) as eve:  # two wrong ones this minute: no more tries from this address
            assert "too many wrong passphrases" in await eve.rest()

    aloop.run(scenario())


def test_bad_nicks_are_asked_again(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        async with nc(hub, None) as user:
            await user.sign_in_to_nick(hub.passphrase)
            await user.send("x" * 40)
            assert "1 to 32 characters" in await user.read_until("Nick: ")
            await user.send(b"\xe9t\xe9\n")  # Latin-1 from a terminal that is not UTF-8
            assert "nick must be UTF-8 text" in await user.read_until("Nick: ")
            await user.send("dave")
            assert "welcome, dave" in await user.line_with("You are in #lobby")

    aloop.run(scenario())


def test_lines_over_4000_bytes_are_refused_not_buffered(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        await ws.join()
        async with nc(hub) as carol:
            await carol.send("y" * 4000)  # exactly the limit: sent
            assert len((await ws.expect("message", nick="carol"))["text"]) == 4000
            for _ in range(64):  # 4 MiB without a line break, in pieces
                await carol.send(b"z" * 65536)
            await carol.send(b"\nafter the long one\n")
            assert "over 4000 bytes" in await carol.line_with("line refused")
            assert (await ws.expect("message", nick="carol"))["text"] == "after the long one"
            await carol.send("w" * 4001)
            assert "over 4000 bytes" in await carol.line_with("line refused")
        await ws.close()

    aloop.run(scenario(), timeout=20)


def test_login_must_come_in_time(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0, login_timeout=0.3)

    async def scenario() -> None:
        async with nc(hub, None) as slow:
            await slow.read_until("Passphrase: ")
            assert "must come within 0.3 s" in await slow.rest(timeout=3)

    aloop.run(scenario())


def test_nc_connections_count_toward_the_address_limit(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0, max_conns_per_ip=2)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        async with nc(hub) as carol:
            async with nc(hub, None) as third:
                assert "too many connections from your address" in await third.rest()
            assert hub.context.slots.count("127.0.0.1") == 2
            await carol.send("/who")
            await carol.line_with("* in #lobby")
        await ws.close()

    aloop.run(scenario())


def test_idle_sessions_use_tcp_keepalive(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        async with nc(hub):
            await wait_until(lambda: hub.context.service.peers, what="carol to be a peer")
            peer = next(iter(hub.context.service.peers))
            sock = peer.writer._stream.socket  # type: ignore[attr-defined]
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 10
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 30000

    aloop.run(scenario())


def test_stop_tells_nc_users(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        async with nc(hub) as carol:
            stopping = asyncio.ensure_future(hub.stop(1.0))
            assert "* hub shutting down" in await carol.rest()
            await stopping

    aloop.run(scenario())


def test_every_line_after_login_is_a_notice_a_refusal_or_a_message(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        await ws.join("den")
        await ws.say("in the den", room="den")
        async with nc(hub) as carol:
            for line in ("/join ok.room-1_x", "/join ok.room-1_x", "/join bad room!", "/join den", "/who"):
                await carol.send(line)
            for line in ("/help", "/dance", "/join lobby", "/quit"):
                await carol.send(line)
            lines = (await carol.rest()).splitlines()
        await ws.close()
        assert "* You are in #ok.room-1_x with nobody else yet. /help" in lines
        assert "* you are already in #ok.room-1_x" in lines
        assert "* You are in #den with alice. /help" in lines
        assert "* You are in #lobby with nobody else yet. /help" in lines
        assert any(line.endswith("<alice> in the den") for line in lines)  # the den's recent messages
        assert [line for line in lines if not line.startswith(("* ", "! ", "["))] == []

    aloop.run(scenario())


def test_join_the_room_you_are_in_says_so(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        async with nc(hub) as carol:
            await carol.send("/join lobby")
            assert await carol.next_line() == "* you are already in #lobby\n"
            await carol.send("/who")  # still in the lobby, once
            assert await carol.next_line() == "* in #lobby (1): carol\n"

    aloop.run(scenario())


def test_blank_lines_are_ignored(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        await ws.join()
        async with nc(hub) as carol:
            await carol.send(b"\n   \n\t \r\n")
            await carol.send("after the blank lines")
            assert (await ws.expect("message"))["text"] == "after the blank lines"  # the first message is this one
            assert (await carol.next_line()).endswith("<carol> after the blank lines\n")  # no refusal before it
        await ws.close()

    aloop.run(scenario())


def test_a_pasted_block_is_paced_not_dropped(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0, rate=20.0, burst=20)  # the defaults (tests are lenient otherwise)

    async def scenario() -> None:
        ws = await WsClient.connect(hub, "alice")
        await ws.join()
        async with nc(hub) as carol:
            await carol.send(b"".join(f"line {i}\n".encode() for i in range(40)))  # one paste, twice the burst
            texts = [(await ws.expect("message", timeout=10))["text"] for _ in range(40)]
            assert texts == [f"line {i}" for i in range(40)]
            echoes = [await carol.next_line() for _ in range(40)]
            assert all(line.endswith(f"<carol> line {i}\n") for i, line in enumerate(echoes)), echoes  # no "!"
            await carol.send("/who")
            assert (await carol.next_line()).startswith("* in #lobby")  # still connected
        await ws.close()

    aloop.run(scenario())


def test_stop_tells_users_still_at_the_prompts(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        async with nc(hub) as carol, nc(hub, None) as eve, nc(hub, None) as dave:
            await eve.read_until("Passphrase: ")
            await dave.sign_in_to_nick(hub.passphrase)
            stopping = asyncio.ensure_future(hub.stop(1.0))
            assert (await eve.rest()).endswith("* hub shutting down: reconnect in a moment\n")
            assert (await dave.rest()).endswith("* hub shutting down: reconnect in a moment\n")
            assert (await carol.rest()).count("* hub shutting down") == 1  # signed in: told once, by Hub.stop
            await stopping

    aloop.run(scenario())


def test_an_over_long_passphrase_line_is_refused_and_counts_as_wrong(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0, failed_logins_per_minute=1)

    async def scenario() -> None:
        async with nc(hub, None) as eve:
            await eve.read_until("Passphrase: ")
            await eve.send("p" * 4001)
            assert "! line refused: over 4000 bytes (counted as a wrong passphrase); bye" in await eve.rest()
        async with nc(hub, None) as eve:  # it was one wrong passphrase: no way around the limit
            assert "too many wrong passphrases" in await eve.rest()

    aloop.run(scenario())


def test_an_over_long_nick_line_is_a_bad_nick(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(tcp_port=0)

    async def scenario() -> None:
        async with nc(hub, None) as user:
            await user.sign_in_to_nick(hub.passphrase)
            await user.send("n" * 4001)
            assert await user.read_until("Nick: ") == "! nick must be 1 to 32 characters long. Nick: "
            await user.send("dave")
            assert "welcome, dave" in await user.line_with("You are in #lobby")

    aloop.run(scenario())
