"""Who is typing where: "typing" frames from the hub start (or extend) a short window per (room, nick); a message
from that nick in that room, or the window running out, ends it. Also decides when our own typing is worth
telling the hub about (at most one frame per room every few seconds). Plain bookkeeping on a replaceable clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SHOWN_FOR = 5.0  # seconds "bob is typing…" stays after bob's last typing frame
SEND_EVERY = 3.0  # seconds between our typing frames to one room, however fast we type


class Typists:
    """Typing windows per room.

    Attributes:
        shown_for: seconds a typing frame keeps its nick listed.
    """

    def __init__(self, shown_for: float = SHOWN_FOR, clock: Callable[[], float] = time.monotonic) -> None:
        self.shown_for = shown_for
        self._clock = clock
        self._until: dict[str, dict[str, float]] = {}  # room -> nick -> monotonic end of its window

    def typing(self, room: str, nick: str) -> bool:
        """nick typed in room; True when the room's list changed (nick was not listed)."""
        nicks = self._until.setdefault(room, {})
        new = nick not in nicks
        nicks[nick] = self._clock() + self.shown_for
        return new

    def spoke(self, room: str, nick: str) -> bool:
        """nick's message arrived: they stopped typing. True when the room's list changed."""
        nicks = self._until.get(room)
        return nicks is not None and nicks.pop(nick, None) is not None

    def expire(self) -> list[str]:
        """Drop windows that ran out; the rooms whose list changed."""
        now = self._clock()
        changed = []
        for room, nicks in self._until.items():
            gone = [n for n, until in nicks.items() if until <= now]
            for nick in gone:
                del nicks[nick]
            if gone:
                changed.append(room)
        return changed

    def clear(self) -> list[str]:
        """Forget everyone (the connection dropped); the rooms that had someone listed."""
        rooms = [room for room, nicks in self._until.items() if nicks]
        self._until.clear()
        return rooms

    def nicks(self, room: str) -> tuple[str, ...]:
        """Who is typing in room, in the order they started."""
        return tuple(self._until.get(room, {}))

    def __bool__(self) -> bool:
        return any(self._until.values())


class TypingSender:
    """Rate-limits our own typing notices: one per room per SEND_EVERY seconds."""

    def __init__(self, every: float = SEND_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last: dict[str, float] = {}

    def due(self, room: str) -> bool:
        """True (and noted) when a typing frame for room should go out now."""
        now = self._clock()
        last = self._last.get(room)
        if last is not None and now - last < self.every:
            return False
        self._last[room] = now
        return True

    def sent_message(self, room: str) -> None:
        """A message went out: the next keystroke starts a new typing notice at once."""
        self._last.pop(room, None)
