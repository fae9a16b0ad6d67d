"""Load generator worker: many lean WebSocket clients in one process, driven by a coordinator over a Pipe.

Each client is a raw non-blocking socket on the worker's asyncio loop (add_reader + recvmsg, no transport or
protocol objects) speaking just enough RFC 6455 (handshake, masked text frames, pong, close) to stay far cheaper
than the servers under test. Messages carry `~SS~QQQQQQQQ~TTTTTTTTTTTTTTTTTTT~` (sender, sequence, send time
from CLOCK_MONOTONIC, which all processes share) padded to 100 bytes, so receivers can count losses and latency
whatever JSON the server wraps around them. The mask key is zero (masking is then a no-op): servers must
unmask, clients need not pay for it.

Latency is taken three times. "In socket": when the kernel queued the frame's last segment on the client's
socket (SO_TIMESTAMPNS, converted to CLOCK_MONOTONIC): the server's delivery latency alone, as a client with a
CPU of its own would see it. "Arrived": when the poll that reported the socket readable returned, for the
first frame of that read (it was in the socket before the poll returned); any later frame of the same read is
stamped when parsed. It adds the time for this worker to be scheduled and to get through what it was doing.
"Handled": when this worker parses the frame, after the frames it parsed first in the same loop turn (one
worker serves hundreds of clients, so this includes the worker's own queue).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import selectors
import socket
import struct
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

TEXT_BYTES = 100
ZERO_MASK = b"\x00\x00\x00\x00"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: stamp each received segment (CLOCK_REALTIME)
TIMESPEC = struct.Struct("@qq")
TIMESTAMP_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
RECV_BYTES = 256 * 1024


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n <= 0xFFFF:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + ZERO_MASK + payload


def message_text(sender: int, seq: int) -> str:
    head = f"~{sender:02d}~{seq:08d}~{time.monotonic_ns():019d}~"
    return head + "x" * (TEXT_BYTES - len(head))


@dataclass
class Tally:
    """What one worker's clients received during a phase.

    Attributes:
        per_sender: sender -> messages received from it (all clients of this worker together).
        in_window: deliveries received inside the measuring window.
        latencies_us: latency samples inside the window, at arrival (microseconds; see the module's docstring).
        handled_us: the same deliveries' latency when this worker parsed them.
        landed_us: the same deliveries' latency when the kernel put them in the client's socket.
        rate_limited: rate_limited errors received (the hub's, one per run of dropped frames).
        spans: per message (sender~sequence) in the window, its first and last in-socket latency here.
        recording: the window is open.
    """

    per_sender: dict[int, int] = field(default_factory=dict)
    total: int = 0
    rate_limited: int = 0
    spans: dict[bytes, list[float]] = field(default_factory=dict)
    in_window: int = 0
    latencies_us: array[float] = field(default_factory=lambda: array("d"))
    handled_us: array[float] = field(default_factory=lambda: array("d"))
    landed_us: array[float] = field(default_factory=lambda: array("d"))
    recording: bool = False


def realtime_offset_ns() -> int:
    """CLOCK_REALTIME minus CLOCK_MONOTONIC now (the best of a few reads), to put kernel stamps on our clock."""
    best = None
    for _ in range(5):
        before = time.monotonic_ns()
        real = time.time_ns()
        after = time.monotonic_ns()
        if best is None or after - before < best[0]:
            best = (after - before, real - (before + after) // 2)
    assert best is not None
    return best[1]


class StampingSelector(selectors.EpollSelector):
    """An epoll selector that notes when each poll returned: the arrival time of what that poll reported."""

    polled_ns = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(timeout)
        self.polled_ns = time.monotonic_ns()
        return ready


class Client:
    """One lean WebSocket client on a raw non-blocking socket, read with recvmsg (for the kernel's timestamp)."""

    __slots__ = (
        "buf",
        "closed",
        "counts",
        "loop",
        "number",
        "out",
        "own_received",
        "request",
        "sender_id",
        "sock",
        "upgraded",
        "wake",
        "worker",
    )

    def __init__(self, worker: Worker, number: int, request: bytes) -> None:
        self.worker = worker
        self.number = number
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.upgraded: asyncio.Future[None] = self.loop.create_future()
        self.buf = bytearray()
        self.out = bytearray()  # what the socket did not take yet
        self.closed = False
        self.own_received = 0  # messages of this client's own (when it is a sender)
        self.counts: dict[int, int] = {}  # sender -> messages received from it this phase (to find who missed one)
        self.sender_id = -1
        self.wake: asyncio.Event | None = None

    async def open(self, port: int) -> None:
        await self.loop.sock_connect(self.sock, ("127.0.0.1", port))
        self.loop.add_reader(self.sock.fileno(), self._readable)
        self._write(self.request)
        await self.upgraded

    def _lost(self, why: str) -> None:
        if self.closed:
            return
        self.close()
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError(f"closed before the upgrade: {why}"))
        self.worker.lost_connections += 1

    def _readable(self) -> None:
        try:
            data, ancillary, _flags, _addr = self.sock.recvmsg(RECV_BYTES, TIMESTAMP_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(str(exc))
            return
        if not data:
            self._lost("end of stream")
            return
        landed = 0
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = TIMESPEC.unpack(value)
                landed = seconds * 1_000_000_000 + nanos - self.worker.realtime_offset_ns
        pending = bool(self.buf)  # a partial frame was waiting: no stamps for the frame it completes
        arrived = 0 if pending else self.worker.clock.polled_ns
        self.buf += data
        if not self.upgraded.done():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[:end]).split(b"\r\n", 1)[0]
            del self.buf[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.upgraded.set_result(None)
        self._frames(arrived, 0 if pending else landed)

    def _frames(self, arrived: int, landed: int) -> None:
        buf = self.buf
        pos = 0
        size = len(buf)
        tally = self.worker.tally
        while size - pos >= 2:
            opcode = buf[pos] & 0x0F
            n = buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos - head < n:
                break
            start = pos + head
            pos = start + n
            if opcode == 0x1:
                mark = buf.find(b"~", start, pos)
                if mark < 0:
                    if buf.find(b'"rate_limited"', start, pos) >= 0:
                        tally.rate_limited += 1  # the hub dropped frames of ours (one error per run of them)
                    continue  # presence, other errors...
                sender = int(buf[mark + 1 : mark + 3])
                tally.per_sender[sender] = tally.per_sender.get(sender, 0) + 1
                tally.total += 1
                self.counts[sender] = self.counts.get(sender, 0) + 1
                if sender == self.sender_id:
                    self.own_received += 1
                    if self.wake is not None:
                        self.wake.set()
                if tally.recording:
                    tally.in_window += 1
                    sent = int(buf[mark + 13 : mark + 32])
                    handled = time.monotonic_ns()
                    tally.handled_us.append((handled - sent) / 1000)
                    tally.latencies_us.append(((arrived or handled) - sent) / 1000)
                    # the stamp is the last segment's of this read: an upper bound for the frames before it
                    in_socket = ((landed or handled) - sent) / 1000
                    tally.landed_us.append(in_socket)
                    span = tally.spans.setdefault(bytes(buf[mark + 1 : mark + 12]), [in_socket, in_socket])
                    span[0] = min(span[0], in_socket)
                    span[1] = max(span[1], in_socket)
                    arrived = 0
            elif opcode == 0x9:
                self._write(client_frame(bytes(buf[start:pos]), 0xA))  # pong
            elif opcode == 0x8:
                self.worker.close_codes.append(int.from_bytes(buf[start : start + 2], "big") if n >= 2 else None)
                self.close()
                return
        del buf[:pos]

    def _write(self, data: bytes) -> None:
        if self.closed:
            return
        if self.out:
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._lost(str(exc))
            return
        if sent < len(data):
            self.out += data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(str(exc))
            return
        del self.out[:sent]
        if not self.out:
            self.loop.remove_writer(self.sock.fileno())

    def send_text(self, text: str) -> None:
        self._write(client_frame(text.encode()))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        fd = self.sock.fileno()
        if fd >= 0:
            self.loop.remove_reader(fd)
            self.loop.remove_writer(fd)
        self.sock.close()


class Worker:
    """The clients of one process and the phases the coordinator asks it to run.

    Attributes:
        clients: connected clients.
        senders: clients that send (sender id -> client).
        tally: what was received in the current phase.
        lost_connections: connections that closed.
        close_codes: close codes the server sent.
    """

    def __init__(self, conn: Connection, clock: StampingSelector) -> None:
        self.conn = conn
        self.clock = clock
        self.clients: list[Client] = []
        self.senders: dict[int, Client] = {}
        self.tally = Tally()
        self.lost_connections = 0
        self.close_codes: list[int | None] = []
        self.sent: dict[int, int] = {}
        self.realtime_offset_ns = realtime_offset_ns()

    async def connect(
        self,
        port: int,
        count: int,
        first: int,
        kind: str,
        token: str | None,
        room: str,
        senders: list[int],
        batch: int = 200,
    ) -> dict[str, Any]:
        started = time.monotonic()
        for start in range(0, count, batch):
            made = []
            for number in range(first + start, first + min(count, start + batch)):
                key = base64.b64encode(os.urandom(16)).decode()
                lines = [
                    "GET /ws HTTP/1.1",
                    f"Host: 127.0.0.1:{port}",
                    "Upgrade: websocket",
                    "Connection: Upgrade",
                    f"Sec-WebSocket-Key: {key}",
                    "Sec-WebSocket-Version: 13",
                ]
                if token:
                    lines.append(f"Authorization: Bearer {token}")
                request = ("\r\n".join(lines) + "\r\n\r\n").encode()
                made.append(Client(self, number, request))
            await asyncio.gather(*(c.open(port) for c in made))
            self.clients += made
        if kind == "hub":
            join = json.dumps({"type": "join", "room": room})
            for client in self.clients:
                client.send_text(join)
        for sender_id, client in zip(senders, self.clients, strict=False):
            client.sender_id = sender_id
            client.wake = asyncio.Event()
            self.senders[sender_id] = client
        return {"connected": len(self.clients), "seconds": time.monotonic() - started}

    async def _send_loop(
        self, client: Client, kind: str, room: str, rate: float, window: int, start: float, until: float
    ) -> None:
        seq = 0
        interval = 1.0 / rate
        next_at = start + interval * (client.sender_id % 10) / 10  # stagger the senders
        assert client.wake is not None
        while True:
            now = time.monotonic()
            if now >= until:
                break
            if next_at > now:
                await asyncio.sleep(next_at - now)
                continue
            if seq - client.own_received >= window:  # too many of ours still in flight: wait for an echo
                client.wake.clear()
                try:
                    await asyncio.wait_for(client.wake.wait(), max(0.001, until - now))
                except TimeoutError:
                    break
                continue
            text = message_text(client.sender_id, seq)
            if kind == "hub":
                client.send_text('{"type":"say","room":"' + room + '","text":"' + text + '"}')
            else:
                client.send_text('{"type":"say","text":"' + text + '"}')
            seq += 1
            next_at = max(next_at + interval, now - interval)  # no catch-up bursts after a stall
        self.sent[client.sender_id] = seq

    async def phase(
        self, kind: str, room: str, rate: float, window: int, warmup: float, duration: float, drain: float
    ) -> dict[str, Any]:
        """Send for warmup + duration seconds, measuring only the last `duration`; then wait until nothing has
        arrived for `drain` seconds (at most a minute), so what is still queued somewhere is not counted lost."""
        self.tally = Tally()
        self.sent = {}
        self.realtime_offset_ns = realtime_offset_ns()
        for client in self.clients:
            client.own_received = 0
            client.counts = {}
        start = time.monotonic()
        until = start + warmup + duration
        # Senders start a moment late: every worker must have reset its tally before the first message lands.
        first = start + 0.3
        tasks = [
            asyncio.ensure_future(self._send_loop(c, kind, room, rate, window, first, until))
            for c in self.senders.values()
        ]
        await asyncio.sleep(warmup)
        self.tally.recording = True
        await asyncio.sleep(duration)
        self.tally.recording = False
        await asyncio.gather(*tasks)
        give_up = time.monotonic() + 60
        seen = -1
        while self.tally.total != seen and time.monotonic() < give_up:
            seen = self.tally.total
            await asyncio.sleep(drain)
        most = {s: max(c.counts.get(s, 0) for c in self.clients) for s in self.tally.per_sender}
        short = [
            (c.number, s, c.counts.get(s, 0), n)
            for c in self.clients
            for s, n in most.items()
            if c.counts.get(s, 0) < n
        ]
        lat = self.tally.latencies_us
        step = max(1, len(lat) // 20000)  # a bounded, evenly spread sample for the coordinator
        handled = self.tally.handled_us
        return {
            "sent": self.sent,
            "per_sender": self.tally.per_sender,
            "in_window": self.tally.in_window,
            "rate_limited": self.tally.rate_limited,
            "spans": {key.decode(): span for key, span in self.tally.spans.items()},
            "latencies_us": list(lat[::step]),
            "handled_us": list(handled[::step]),
            "landed_us": list(self.tally.landed_us[::step]),
            "clients": len(self.clients),
            "lost_connections": self.lost_connections,
            "close_codes": self.close_codes,
            "short": short[:20],  # (client, sender, got, most any client here got): who missed something
        }

    def close(self) -> None:
        for client in self.clients:
            client.close()


def worker_main(conn: Connection, nice: int = 0) -> None:
    """Entry point of a worker process: obey commands until told to quit.

    nice > 0 lowers the worker's CPU priority, so on a small machine the server under test is not preempted by
    the clients it wakes (on separate machines that interference would not exist).
    """
    raise_fd_limit()
    if nice:
        os.nice(nice)

    clock = StampingSelector()

    async def serve() -> None:
        worker = Worker(conn, clock)
        loop = asyncio.get_running_loop()
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            if command == "connect":
                conn.send(await worker.connect(**args))
            elif command == "phase":
                conn.send(await worker.phase(**args))
            elif command == "quit":
                worker.close()
                await asyncio.sleep(0.1)
                conn.send("bye")
                return

    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(clock)) as runner:
        runner.run(serve())
