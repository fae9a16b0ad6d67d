"""Protocol v1 behaviour, whatever the transport: admit (rate), parse, and act on join/say/typing/history/leave.

ws.py hands every text frame to handle_text(); the nc gateway calls the same say/join/leave methods. Every rule a
client can break ends as an error frame on that connection (FrameError), never as an exception escaping into
Tornado. Replays of history are the only tasks started here (owned by the hub's Supervisor).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

from core.chat.errors import FrameError
from core.chat.hub.config import HubConfig
from core.chat.hub.frames import Outgoing, chat_line
from core.chat.hub.peer import Peer
from core.chat.hub.rooms import Rooms
from core.chat.hub.store import History, StoredMessage
from core.chat.protocol import (
    CLOSE_POLICY,
    Join,
    Leave,
    Say,
    Typing,
    history_frame,
    message_frame,
    message_record,
    parse_client_frame,
    say_ids,
    typing_frame,
)
from core.chat.protocol import History as HistoryRequest
from core.supervisor import Supervisor

log = logging.getLogger("squall.chat.hub")

REPLAY_PAGE = 200
HISTORY_FRAME_BUDGET = 256 * 1024  # bytes of message text per history frame; `more` says there is older


def message_out(msg: StoredMessage) -> Outgoing:
    return Outgoing(
        message_frame(msg.room, msg.id, msg.nick, msg.text, msg.ts, msg.cid), chat_line(msg.nick, msg.text, msg.ts)
    )


class ChatService:
    """The hub's protocol logic over its rooms and history.

    Attributes:
        peers: every attached connection.
        rooms: room membership and broadcast.
        history: the message store.
    """

    def __init__(self, config: HubConfig, history: History, rooms: Rooms, supervisor: Supervisor) -> None:
        self._config = config
        self.history = history
        self.rooms = rooms
        self._supervisor = supervisor
        self.peers: set[Peer] = set()

    # --- connections -------------------------------------------------------------------------------------------

    def attach(self, peer: Peer) -> None:
        self.peers.add(peer)

    def detach(self, peer: Peer) -> None:
        """The connection is gone: leave every room, stop its replays. Safe to call twice."""
        if peer not in self.peers:
            return
        self.peers.discard(peer)
        peer.closed = True
        peer.writer.close()
        for task in peer.replays.values():
            task.cancel("connection closed")
        peer.replays.clear()
        for room in list(peer.rooms):
            self.rooms.leave(peer, room)

    def admit(self, peer: Peer, raw: str | bytes = "") -> bool:
        """Spend one frame of peer's rate; False when refused (first refusal of a run gets an error frame, naming
        the say it dropped if raw is one; rate_close_after refusals in a row close the connection with 1008)."""
        if peer.bucket.take():
            peer.strikes = 0
            return True
        peer.strikes += 1
        if peer.strikes == 1:
            room, cid = say_ids(raw)
            peer.send_error(
                "rate_limited",
                f"more than {self._config.rate:g} frames per second: frames are dropped (not stored) until you slow "
                "down; resend every say not yet acknowledged, with its cid",
                room=room,
                cid=cid,
            )
        elif peer.strikes >= self._config.rate_close_after:
            log.info("closing %s (%s): rate limit kept being exceeded", peer.label, peer.nick)
            peer.close(CLOSE_POLICY, "rate limit exceeded")
        return False

    def handle_text(self, peer: Peer, raw: str | bytes) -> None:
        """One frame from a WebSocket client: rate, parse, act. Never raises for anything the client sent."""
        if peer.closed or not self.admit(peer, raw):
            return
        if isinstance(raw, bytes):
            peer.send_error("bad_frame", "binary frames are not part of protocol v1: send JSON text frames")
            return
        try:
            frame = parse_client_frame(raw)
            if isinstance(frame, Say):
                self.say(peer, frame.room, frame.text, frame.cid)
            elif isinstance(frame, Join):
                self.join(peer, frame.room, frame.since)
            elif isinstance(frame, Typing):
                self.typing(peer, frame.room)
            elif isinstance(frame, HistoryRequest):
                self.send_history(peer, frame.room, frame.before, frame.limit)
            else:
                assert isinstance(frame, Leave)
                self.leave(peer, frame.room)
        except FrameError as exc:
            peer.send_error(exc.code, str(exc), room=exc.room, cid=exc.cid)

    # --- the five client frames ---------------------------------------------------------------------------------

    def join(self, peer: Peer, room: str, since: int | None) -> None:
        if room in peer.rooms:
            raise FrameError("already_joined", f"this connection is already in {room!r}", room=room)
        if len(peer.rooms) >= self._config.max_rooms_per_conn:
            raise FrameError(
                "too_many_rooms",
                f"a connection may be in {self._config.max_rooms_per_conn} rooms at once: leave one first",
                room=room,
            )
        self.rooms.join(peer, room, live=since is None)
        if since is not None:
            peer.replays[room] = self._supervisor.start(
                self.replay(peer, room, since),
                name=f"hub:replay:{peer.label}:{room}",
                what=f"replay {room} after id {since} to {peer.nick}",
            )

    async def replay(self, peer: Peer, room: str, since: int) -> None:
        """Send every stored message of room with id > since, then make peer live in room.

        Paced by the writer (never more than a quarter of its limit queued). Messages broadcast meanwhile are
        already committed, so the next page picks them up; the last empty read and go_live() happen with no
        await between them, so nothing can slip past.
        """
        last = since
        low_water = self._config.max_buffer // 4
        try:
            while True:
                try:
                    page = self.history.after(room, last, REPLAY_PAGE)
                except sqlite3.Error as exc:
                    log.error("cannot read the history of %s for %s: %s", room, peer.label, exc)
                    peer.close(1011, "history unavailable: reconnect later")
                    return
                if not page:
                    self.rooms.go_live(peer, room)
                    return
                for msg in page:
                    if peer.writer.buffered > low_water:
                        await peer.writer.wait_below(low_water)
                    if peer.closed or room not in peer.rooms:
                        return
                    peer.send(message_out(msg))
                last = page[-1].id
        finally:
            if peer.replays.get(room) is asyncio.current_task():
                del peer.replays[room]

    def say(self, peer: Peer, room: str, text: str, cid: str | None) -> None:
        if room not in peer.rooms:
            raise FrameError("not_joined", f"join {room!r} before saying something there", room=room, cid=cid)
        try:
            msg, created = self.history.append(room, peer.nick, text, cid)
        except sqlite3.Error as exc:
            log.error("cannot store a message in %s: %s", room, exc)
            raise FrameError(
                "store_failed",
                "the hub could not store your message (it was not sent); try again later",
                room=room,
                cid=cid,
            ) from exc
        out = message_out(msg)
        if created:
            self.rooms.broadcast(room, out)
        else:
            peer.send(out)  # a resend: the original is the acknowledgement, and nobody else sees it twice

    def typing(self, peer: Peer, room: str) -> None:
        if room not in peer.rooms:
            raise FrameError("not_joined", f"join {room!r} before typing there", room=room)
        self.rooms.broadcast(room, Outgoing(typing_frame(room, peer.nick)), exclude=peer)

    def leave(self, peer: Peer, room: str) -> None:
        if room not in peer.rooms:
            raise FrameError("not_joined", f"this connection is not in {room!r}", room=room)
        task = peer.replays.pop(room, None)
        if task is not None:
            task.cancel("left the room")
        self.rooms.leave(peer, room)

    def send_history(self, peer: Peer, room: str, before: int | None, limit: int) -> None:
        try:
            rows = self.history.before(room, before, limit + 1)
        except sqlite3.Error as exc:
            log.error("cannot read the history of %s: %s", room, exc)
            raise FrameError("store_failed", "the hub could not read the history; try again later", room=room) from exc
        more = len(rows) > limit
        records: list[dict[str, Any]] = []
        budget = HISTORY_FRAME_BUDGET
        for msg in rows[:limit]:
            budget -= len(msg.text) * 4 + len(msg.nick) * 4 + 100  # UTF-8 is at most 4 bytes a character
            if budget < 0 and records:
                more = True
                break
            records.append(message_record(msg.id, msg.nick, msg.text, msg.ts, msg.cid))
        records.reverse()  # oldest first, like a replay
        peer.send(Outgoing(history_frame(room, records, more)))
