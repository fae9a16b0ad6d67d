"""What the chat client tells its viewer: immutable snapshots, gathered into one ChatUpdate per flush.

The client collects what happened (messages, acknowledgements, presence, typing, connection state) in an
UpdateBuilder and hands one ChatUpdate to its callback at most every flush interval (10 a second), however many
frames arrived. Values only: no I/O, no tasks, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class Target:
    """The hub a client talks to.

    Attributes:
        address: "HOST:PORT".
        passphrase: the passphrase to sign in with; None: read the local hub folder's generated one.
        local: True for this machine's hub (the one Squall hosts when nobody does).
    """

    address: str
    passphrase: str | None = field(default=None, repr=False)
    local: bool = True


class LinkState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    OFFLINE = "offline"  # waiting to retry (retry_at says when)
    REFUSED = "refused"  # the hub refused the passphrase or the nick: no retries until the user acts
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ClientStatus:
    """The client's connection, as the status bar shows it.

    Attributes:
        state: where the connection is.
        address: the hub's HOST:PORT.
        nick: the nick the client signs in with.
        local: the hub is this machine's.
        retry_at: time.monotonic() of the next attempt while OFFLINE, else None.
        problem: why it is offline or refused (a sentence for the user), else "".
    """

    state: LinkState
    address: str
    nick: str
    local: bool
    retry_at: float | None = None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message stored by the hub.

    Attributes:
        room: its room.
        id: its id within the room (1, 2, 3... in the order the hub stored them).
        nick: who sent it.
        text: exactly as sent (make it safe before drawing it: display.safe_text).
        ts: when the hub stored it, seconds since the epoch.
        cid: the sender's id for it.
        own: sent by this client (its cid came from this profile's outbox).
    """

    room: str
    id: int
    nick: str
    text: str
    ts: float
    cid: str
    own: bool = False


class Delivery(Enum):
    SENDING = "sending"  # in the outbox: not yet acknowledged by the hub (offline, or on its way)
    FAILED = "failed"  # the hub refused it; stays in the outbox until retried or discarded


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A message typed here that the hub has not acknowledged yet.

    Attributes:
        cid: the client id it is sent (and resent) with.
        room: where it goes.
        text: what was typed.
        created: when it was typed, seconds since the epoch.
        state: sending or failed.
        error: why it failed (the hub's words), else "".
    """

    cid: str
    room: str
    text: str
    created: float
    state: Delivery = Delivery.SENDING
    error: str = ""


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Older messages of a room, oldest first (from this profile's cache or from the hub).

    Attributes:
        room: the room.
        messages: the page, oldest first; may overlap what the viewer has (ids are the identity).
        more: older messages exist before the first one.
    """

    room: str
    messages: tuple[ChatMessage, ...]
    more: bool


@dataclass(frozen=True, slots=True)
class Presence:
    """Who is in a room (empty while the client is offline)."""

    room: str
    users: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class TypingNow:
    """Who is typing in a room right now (entries expire a few seconds after their last typing frame)."""

    room: str
    nicks: tuple[str, ...]


@dataclass(frozen=True)
class ChatUpdate:
    """Everything that changed since the previous update.

    Attributes:
        resets: rooms whose shown history must be dropped first (another hub, or the hub's history changed).
        rooms: the joined rooms, when they changed.
        pages: older history (asked for, or loaded at start); not new to the user.
        messages: messages that arrived (live, replayed after a reconnect, or the acknowledgement of ours).
        pending: outbox entries that appeared or changed state.
        gone: cids that left the outbox (acknowledged: their message is in `messages`; or discarded).
        presence: rooms whose user list changed.
        typing: rooms whose typing line changed.
        status: the connection, when it changed.
        notices: things the user should read (a refused frame without a message to attach it to...).
    """

    resets: tuple[str, ...] = ()
    rooms: tuple[str, ...] | None = None
    pages: tuple[HistoryPage, ...] = ()
    messages: tuple[ChatMessage, ...] = ()
    pending: tuple[PendingMessage, ...] = ()
    gone: tuple[str, ...] = ()
    presence: tuple[Presence, ...] = ()
    typing: tuple[TypingNow, ...] = ()
    status: ClientStatus | None = None
    notices: tuple[str, ...] = ()


class UpdateBuilder:
    """Collects changes between flushes; build() returns the ChatUpdate and starts afresh."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self.resets: list[str] = []
        self.rooms: tuple[str, ...] | None = None
        self.pages: list[HistoryPage] = []
        self.messages: list[ChatMessage] = []
        self.pending: dict[str, PendingMessage] = {}
        self.gone: dict[str, None] = {}  # an ordered set
        self.presence: dict[str, Presence] = {}
        self.typing: dict[str, TypingNow] = {}
        self.status: ClientStatus | None = None
        self.notices: list[str] = []

    def reset(self, room: str) -> None:
        """Forget everything collected for room so far: the viewer drops it anyway."""
        self.resets.append(room)
        self.pages = [p for p in self.pages if p.room != room]
        self.messages = [m for m in self.messages if m.room != room]

    def add_pending(self, entry: PendingMessage) -> None:
        self.pending[entry.cid] = entry

    def drop_pending(self, cid: str) -> None:
        """cid left the outbox (the viewer ignores cids it never showed)."""
        self.pending.pop(cid, None)
        self.gone[cid] = None

    def __bool__(self) -> bool:
        return bool(
            self.resets
            or self.rooms is not None
            or self.pages
            or self.messages
            or self.pending
            or self.gone
            or self.presence
            or self.typing
            or self.status is not None
            or self.notices
        )

    def build(self) -> ChatUpdate:
        update = ChatUpdate(
            resets=tuple(dict.fromkeys(self.resets)),
            rooms=self.rooms,
            pages=tuple(self.pages),
            messages=tuple(self.messages),
            pending=tuple(self.pending.values()),
            gone=tuple(self.gone),
            presence=tuple(self.presence.values()),
            typing=tuple(self.typing.values()),
            status=self.status,
            notices=tuple(self.notices),
        )
        self._clear()
        return update
