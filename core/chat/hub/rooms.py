"""Rooms: who is in which room, broadcast to a room, and presence coalesced per room.

A member is either live (gets every broadcast) or replaying (its history replay has not caught up yet, so the
replay, not the broadcast, delivers what is new; see service.ChatService.replay). Presence frames are built at most
once per `presence_interval` per room, however many joins and leaves happen: a thousand clients joining must not
cost a million frames. A frame goes to everyone only when the list of nicks changed, otherwise only to
newcomers. Rooms exist while someone is in them; their history stays in the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from core.chat.hub.frames import Outgoing
from core.chat.hub.peer import Peer
from core.chat.protocol import presence_frame

PRESENCE_USERS_MAX = 200  # nicks listed in one presence frame; `count` always has the full number


class Room:
    """One room's members.

    Attributes:
        name: the room's name.
        live: members that receive broadcasts, in join order (a dict used as an ordered set).
        replaying: members whose history replay is still running.
        shown: the nicks the last presence frame listed (None before the first).
        fresh: members that joined since the last presence frame (they get the next one even if nothing changed).
    """

    __slots__ = ("fresh", "last_presence", "live", "name", "presence_handle", "replaying", "shown")

    def __init__(self, name: str) -> None:
        self.name = name
        self.live: dict[Peer, None] = {}
        self.replaying: set[Peer] = set()
        self.presence_handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self.last_presence = float("-inf")
        self.shown: list[str] | None = None
        self.fresh: list[Peer] = []

    def __len__(self) -> int:
        return len(self.live) + len(self.replaying)

    def everyone(self) -> Iterator[Peer]:
        yield from self.live
        yield from self.replaying

    def nicks(self) -> list[str]:
        return sorted({p.nick for p in self.everyone()})


class Rooms:
    """Every room with someone in it.

    Attributes:
        rooms: name -> Room.
        presence_interval: minimum seconds between two presence frames of one room.
    """

    def __init__(self, presence_interval: float) -> None:
        self.rooms: dict[str, Room] = {}
        self.presence_interval = presence_interval

    def get(self, name: str) -> Room | None:
        return self.rooms.get(name)

    def join(self, peer: Peer, name: str, *, live: bool) -> Room:
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = Room(name)
        if live:
            room.live[peer] = None
        else:
            room.replaying.add(peer)
        peer.rooms.add(name)
        room.fresh.append(peer)
        self._presence_changed(room)
        return room

    def go_live(self, peer: Peer, name: str) -> None:
        """Move a replaying member to live; call only with no await since its last history read."""
        room = self.rooms.get(name)
        if room is not None and peer in room.replaying:
            room.replaying.discard(peer)
            room.live[peer] = None

    def leave(self, peer: Peer, name: str) -> None:
        peer.rooms.discard(name)
        room = self.rooms.get(name)
        if room is None:
            return
        room.live.pop(peer, None)
        room.replaying.discard(peer)
        self._presence_changed(room)

    def broadcast(self, name: str, out: Outgoing, exclude: Peer | None = None) -> int:
        """Queue out for every live member (except exclude); returns how many got it."""
        room = self.rooms.get(name)
        if room is None:
            return 0
        count = 0
        # A copy: a recipient that overflows its writer is closed, and leaves the room, during this loop.
        for peer in list(room.live):
            if peer is not exclude:
                peer.send(out)
                count += 1
        return count

    def _presence_changed(self, room: Room) -> None:
        if room.presence_handle is not None:
            return  # one is already on its way and will list the current members
        loop = asyncio.get_running_loop()
        delay = room.last_presence + self.presence_interval - time.monotonic()
        if delay <= 0:
            room.presence_handle = loop.call_soon(self._send_presence, room)
        else:
            room.presence_handle = loop.call_later(delay, self._send_presence, room)

    def _send_presence(self, room: Room) -> None:
        room.presence_handle = None
        if not len(room):
            if self.rooms.get(room.name) is room:
                del self.rooms[room.name]
            return
        nicks = room.nicks()
        fresh, room.fresh = room.fresh, []
        if nicks == room.shown:  # a second connection of a nick already there, or it left: only newcomers need it
            recipients = [p for p in dict.fromkeys(fresh) if p in room.live or p in room.replaying]
        else:
            recipients = list(room.everyone())
        room.shown = nicks
        room.last_presence = time.monotonic()
        out = Outgoing(presence_frame(room.name, nicks[:PRESENCE_USERS_MAX], len(nicks)))
        for peer in recipients:
            peer.send(out)

    def close(self) -> None:
        for room in self.rooms.values():
            if room.presence_handle is not None:
                room.presence_handle.cancel()
                room.presence_handle = None
        self.rooms.clear()
