"""BoundedWriter over a real Tornado IOStream and socket pair: batching, order, the byte limit, draining."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from tornado.iostream import IOStream

from core.chat.hub.writer import BoundedWriter, FlushScheduler
from tests.conftest import LoopRunner
from tests.helpers import wait_until


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    hub_side, client_side = socket.socketpair()
    hub_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # small kernel buffers: backpressure is quick
    client_side.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client_side.setblocking(False)
    yield hub_side, client_side
    hub_side.close()
    client_side.close()


async def drain(sock: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while len(data) < n:
        data += await loop.sock_recv(sock, n - len(data))
    return data


def test_frames_queued_in_one_turn_go_out_together_in_order(
    aloop: LoopRunner, pair: tuple[socket.socket, socket.socket]
) -> None:
    async def scenario() -> None:
        stream = IOStream(pair[0])
        sends: list[int] = []
        real_send = stream.socket.send

        class CountingSocket:
            """Counts sends; forwards everything else to the real socket."""

            def __getattr__(self, name: str) -> object:
                return getattr(pair[0], name)

            def send(self, data: memoryview) -> int:
                sends.append(len(data))
                return real_send(data)

        stream.socket = CountingSocket()  # type: ignore[assignment]
        writer = BoundedWriter(stream, FlushScheduler(), 1 << 20, lambda: None)
        for i in range(50):
            assert writer.push(b"%02d;" % i)
        assert sends == []  # nothing written while the turn is still queuing
        received = await drain(pair[1], 150)
        assert received == b"".join(b"%02d;" % i for i in range(50))
        assert sends == [150]  # one send for the whole batch
        stream.socket = pair[0]
        stream.close()

    aloop.run(scenario())


def test_a_reader_that_stops_reading_is_cut_at_the_limit(
    aloop: LoopRunner, pair: tuple[socket.socket, socket.socket]
) -> None:
    async def scenario() -> None:
        stream = IOStream(pair[0])
        overflows: list[int] = []
        writer = BoundedWriter(stream, FlushScheduler(), 64 * 1024, lambda: overflows.append(writer.buffered))
        chunk = b"x" * 1000
        pushed = 0
        while writer.push(chunk):
            pushed += 1
            if pushed % 10 == 0:
                await asyncio.sleep(0)  # let flushes run, as broadcasts spread over turns would
            assert pushed < 10_000, "the writer never pushed back"
        assert len(overflows) == 1
        assert writer.closed
        assert writer.peak <= 64 * 1024
        assert not writer.push(chunk)  # closed: refused without calling back again
        assert len(overflows) == 1
        stream.close()

    aloop.run(scenario())


def test_wait_below_returns_once_the_reader_catches_up(
    aloop: LoopRunner, pair: tuple[socket.socket, socket.socket]
) -> None:
    async def scenario() -> None:
        stream = IOStream(pair[0])
        writer = BoundedWriter(stream, FlushScheduler(), 1 << 20, lambda: None)
        total = 0
        while writer.buffered <= 32 * 1024:  # fill past the level while the reader sleeps
            writer.push(b"y" * 4096)
            total += 4096
            await asyncio.sleep(0)
        waiting = asyncio.ensure_future(writer.wait_below(8 * 1024))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await drain(pair[1], total)  # the reader reads everything
        await asyncio.wait_for(waiting, 5)
        assert writer.buffered <= 8 * 1024
        stream.close()

    aloop.run(scenario())


def test_close_drops_what_is_queued_and_wakes_waiters(
    aloop: LoopRunner, pair: tuple[socket.socket, socket.socket]
) -> None:
    async def scenario() -> None:
        stream = IOStream(pair[0])
        writer = BoundedWriter(stream, FlushScheduler(), 1 << 20, lambda: None)
        while writer.buffered <= 16 * 1024:
            writer.push(b"z" * 4096)
            await asyncio.sleep(0)
        waiting = asyncio.ensure_future(writer.wait_below(0))
        await asyncio.sleep(0)
        writer.close()
        await asyncio.wait_for(waiting, 1)
        assert writer.buffered <= 16 * 1024 + 4096
        assert not writer.push(b"late")
        stream.close()
        await wait_until(lambda: stream.closed(), what="the stream to close")

    aloop.run(scenario())
