"""The nc gateway: a plain TCP line protocol, so `nc HOST PORT` can chat in the lobby.

    hub: Squall hub. Passphrase:        user: the passphrase
    hub: Nick:                          user: a nick (same rules as everywhere)
    then every line the user sends is a message to the current room (lobby first), and every message there
    arrives as `[HH:MM] <nick> text`. Commands: /who, /join ROOM, /quit, /help; `//text` sends "/text".
    Hub notices start with "* ", refusals with "! "; blank lines are ignored.

Lines over 4,000 bytes are refused and discarded as they arrive, never buffered whole. The passphrase and nick
must come within login_timeout (slowloris); after that TCP keepalive and TCP_USER_TIMEOUT find dead peers.
Each connection is one task owned by the hub's Supervisor (`hub:nc:IP:PORT`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpserver import TCPServer

from core.chat.errors import FrameError
from core.chat.hub.context import HubContext
from core.chat.hub.frames import Outgoing, printable
from core.chat.hub.limits import TokenBucket
from core.chat.hub.peer import Peer
from core.chat.hub.service import message_out
from core.chat.hub.writer import BoundedWriter
from core.chat.protocol import CLOSE_GOING_AWAY, LOBBY, MAX_TEXT_CHARS, SHUTTING_DOWN, nick_problem, room_problem
from core.supervisor import Supervisor

log = logging.getLogger("squall.chat.hub")

MAX_LINE = MAX_TEXT_CHARS  # bytes; a longer line is refused
NICK_TRIES = 3
RECENT_LINES = 10  # messages shown on entering a room
HELP = "* commands: /who (who is here), /join ROOM (change room), /quit (leave); //text sends a line starting with /"


class LineTooLong:
    """Marker returned by LineReader.readline() for a refused line."""


TOO_LONG = LineTooLong()


class LineReader:
    """Reads lines from an IOStream holding at most max_line bytes of one line; a longer line is discarded as it
    arrives and reported once as TOO_LONG."""

    def __init__(self, stream: IOStream, max_line: int) -> None:
        self._stream = stream
        self._max = max_line
        self._buf = bytearray()
        self._discarding = False

    async def readline(self) -> bytes | LineTooLong | None:
        """The next line without its line break; TOO_LONG for a refused line; None at end of input."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                if self._discarding:
                    self._discarding = False
                    return TOO_LONG
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > self._max:
                    return TOO_LONG
                return line
            if len(self._buf) > self._max + 1:  # +1: a final "\r" before the "\n" is not part of the line
                self._buf.clear()
                self._discarding = True
            try:
                chunk = await self._stream.read_bytes(16 * 1024, partial=True)
            except StreamClosedError:
                return None
            self._buf += chunk


def _keepalive(sock: socket.socket | None) -> None:
    """Find dead peers of idle sessions: keepalive probes after 10 s idle, and give up on unacknowledged data
    after 30 s (TCP_USER_TIMEOUT). Linux option names; other systems keep their defaults."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        options = (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 30000))
        for name, value in options:
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError:
        pass  # the peer is already gone; the read loop notices


class NcPeer(Peer):
    """A chat connection over the nc gateway; it is in one room at a time.

    Attributes:
        room: the room its lines go to.
    """

    __slots__ = ("_ctx", "_stream", "room")

    kind = "nc"

    def __init__(self, stream: IOStream, nick: str, ip: str, port: int, ctx: HubContext) -> None:
        cfg = ctx.config
        writer = BoundedWriter(stream, ctx.scheduler, cfg.max_buffer, self._too_slow)
        super().__init__(nick, ip, port, writer, TokenBucket(cfg.rate, cfg.burst))
        self._stream = stream
        self._ctx = ctx
        self.room = LOBBY

    def send(self, out: Outgoing) -> None:
        if out.line is not None:
            self.writer.push(out.line)

    def notice(self, text: str) -> None:
        self.writer.push((printable(text) + "\n").encode())

    def send_error(self, code: str, message: str, *, room: str | None = None, cid: str | None = None) -> None:
        self.notice(f"! {message}")

    def _too_slow(self) -> None:
        log.info("closing %s (%s): it reads too slowly", self.label, self.nick)
        self._ctx.service.detach(self)
        self._stream.close()

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.notice(f"* {reason}")
        self.writer.flush()
        self._ctx.service.detach(self)
        self._stream.close()


class Gateway(TCPServer):
    """The nc line gateway of one hub."""

    def __init__(self, ctx: HubContext, supervisor: Supervisor) -> None:
        super().__init__(max_buffer_size=256 * 1024, read_chunk_size=16 * 1024)
        self._ctx = ctx
        self._supervisor = supervisor

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        ip, port = str(address[0]), int(address[1])
        if self._ctx.stopping:
            stream.close()
            return
        self._supervisor.start(self._serve(stream, ip, port), name=f"hub:nc:{ip}:{port}", what=f"nc user at {ip}")

    async def _serve(self, stream: IOStream, ip: str, port: int) -> None:
        ctx = self._ctx
        _keepalive(stream.socket)
        stream.set_nodelay(True)
        if not ctx.slots.acquire(ip):
            log.info("refusing an nc connection from %s: %d already open", ip, ctx.slots.count(ip))
            try:
                await _write(stream, f"! too many connections from your address (the limit is {ctx.slots.limit})\n")
            except StreamClosedError:
                pass
            finally:
                stream.close()
            return
        peer: NcPeer | None = None
        try:
            reader = LineReader(stream, MAX_LINE)
            try:
                async with asyncio.timeout(ctx.config.login_timeout):
                    nick = await self._login(stream, reader, ip)
            except TimeoutError:
                limit = ctx.config.login_timeout
                await _write(stream, f"\n! the passphrase and nick must come within {limit:g} s; bye\n")
                return
            if nick is None:
                return
            peer = NcPeer(stream, nick, ip, port, ctx)
            ctx.service.attach(peer)
            log.debug("%s signed in as %r", peer.label, nick)
            self._enter(peer, LOBBY, welcome=True)
            await self._chat(peer, reader)
        except StreamClosedError:
            pass
        except asyncio.CancelledError:
            # Hub.stop told the users signed in when it began; this tells those still at the prompts (or signed
            # in since) before the end of the connection, not as a bare EOF.
            if ctx.stopping:
                if peer is not None:
                    peer.close(CLOSE_GOING_AWAY, SHUTTING_DOWN)
                elif not stream.closed():
                    stream.write(f"\n* {SHUTTING_DOWN}\n".encode())  # not awaited: this task is cancelled
            raise
        finally:
            if peer is not None:
                ctx.service.detach(peer)
            ctx.slots.release(ip)
            stream.close()

    async def _login(self, stream: IOStream, reader: LineReader, ip: str) -> str | None:
        ctx = self._ctx
        if ctx.throttle.blocked(ip):
            await _write(stream, "! too many wrong passphrases from your address: wait a minute\n")
            return None
        await _write(stream, "Squall hub. Passphrase: ")
        line = await reader.readline()
        if line is None:
            return None
        # An over-long line counts as a wrong passphrase, so it is no way around the limit on tries.
        if isinstance(line, LineTooLong) or not ctx.authority.passphrase_ok(line.decode("utf-8", "replace")):
            ctx.throttle.failed(ip)
            log.info("wrong passphrase from %s (nc)", ip)
            why = "wrong passphrase"
            if isinstance(line, LineTooLong):
                why = f"line refused: over {MAX_LINE} bytes (counted as a {why})"
            await _write(stream, f"! {why}; bye\n")
            return None
        prompt = "Nick: "
        for _ in range(NICK_TRIES):
            await _write(stream, prompt)
            line = await reader.readline()
            if line is None:
                return None
            try:
                nick = line.decode("utf-8") if isinstance(line, bytes) else ""
                problem = nick_problem(nick) if nick else "nick must be 1 to 32 characters long"
            except UnicodeDecodeError:
                problem = "nick must be UTF-8 text (set your terminal to UTF-8)"  # not two U+FFFD for a nick
            if problem is None:
                return nick
            prompt = f"! {problem}. Nick: "
        await _write(stream, "! no valid nick; bye\n")
        return None

    def _enter(self, peer: NcPeer, room: str, *, welcome: bool = False) -> None:
        service = self._ctx.service
        if peer.room in peer.rooms:
            service.leave(peer, peer.room)
        peer.room = room
        service.join(peer, room, None)
        here = service.rooms.get(room)
        others = [n for n in (here.nicks() if here else []) if n != peer.nick]
        greeting = f"welcome, {peer.nick}. " if welcome else ""
        peer.notice(f"* {greeting}You are in #{room} with {', '.join(others) if others else 'nobody else yet'}. /help")
        for msg in reversed(service.history.before(room, None, RECENT_LINES)):
            peer.send(message_out(msg))

    async def _chat(self, peer: NcPeer, reader: LineReader) -> None:
        service = self._ctx.service
        while not peer.closed:
            line = await reader.readline()
            if line is None:
                return
            # Paced, not dropped: a pasted block waits in TCP's buffers (the kernel's, not ours) and arrives
            # whole at the rate limit, where a WebSocket client that floods gets rate_limited and then 1008.
            wait = peer.bucket.delay()
            if wait:
                await asyncio.sleep(wait + 0.001)  # a hair more, so the token is surely there
            peer.bucket.take()
            if isinstance(line, LineTooLong):
                peer.notice(f"! line refused: over {MAX_LINE} bytes (nothing was sent)")
                continue
            text = line.decode("utf-8", "replace")
            if not text.strip():
                continue
            if text.startswith("/") and not text.startswith("//"):
                if not self._command(peer, text):
                    return
            else:
                try:
                    service.say(peer, peer.room, text[1:] if text.startswith("//") else text, None)
                except FrameError as exc:
                    peer.send_error(exc.code, str(exc))
            await asyncio.sleep(0)  # one line per turn: a pasting user cannot starve everyone else

    def _command(self, peer: NcPeer, text: str) -> bool:
        """Run a /command; False when the user quits."""
        word, _, arg = text.partition(" ")
        arg = arg.strip()
        if word == "/quit":
            peer.notice("* bye")
            peer.writer.flush()
            return False
        if word == "/who":
            here = self._ctx.service.rooms.get(peer.room)
            nicks = here.nicks() if here else []
            peer.notice(f"* in #{peer.room} ({len(nicks)}): {', '.join(nicks)}")
        elif word == "/join":
            problem = room_problem(arg)
            if problem:
                peer.notice(f"! /join ROOM: {problem}")
            elif arg == peer.room:
                peer.notice(f"* you are already in #{arg}")
            else:
                self._enter(peer, arg)
        elif word == "/help":
            peer.notice(HELP)
        else:
            peer.notice(f"! unknown command {word[:40]}; try /help")
        return True


async def _write(stream: IOStream, text: str) -> None:
    await stream.write(text.encode("utf-8"))
