"""ChatClient: the reconnecting chat client, a core Component (no Qt). The Chat tab drives it; a headless front end
could too.

What it promises:
- It stays connected to its hub: on any drop it retries with exponential backoff and jitter (backoff.py), and on
  each new connection it joins every room with `since` = the newest id it has seen, so nothing is missed.
- Nothing typed is lost: say() commits the message to the SQLite outbox before trying to send it; it is sent
  (and after every reconnect resent) with its cid until the hub's acknowledgement arrives; the hub stores a cid
  once, so each message is delivered exactly once. Each message's state is shown: sending, sent, failed.
- A refused passphrase or nick stops the retries (status REFUSED) until the user gives another (set_target,
  set_nick) or asks again (reconnect_now).
- State leaves as one ChatUpdate per flush (at most 10 a second), whatever the traffic; commands return at once.
Frames are paced below the hub's rate limit (pacing.py). The profile's side of things (outbox, what was seen, the
history cache that lets the tab show the conversation at once and page up before asking the hub) is ledger.py;
the HTTP and WebSocket plumbing is connection.py.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient

from core.chat.connection import (
    HubUnreachableError,
    Inflight,
    Link,
    LinkTimeouts,
    TokenRefusedError,
    open_socket,
    passphrases_for,
    sign_in,
)
from core.chat.errors import ChatInputError, HubAuthError, NickError
from core.chat.ledger import Ledger, parse_message
from core.chat.pacing import Backoff, Pacer
from core.chat.protocol import CLOSE_GOING_AWAY, HISTORY_MAX, LOBBY, MAX_TEXT_CHARS, nick_problem, room_problem
from core.chat.typists import TypingSender, Typists
from core.chat.updates import (
    ChatMessage,
    ChatUpdate,
    ClientStatus,
    Delivery,
    HistoryPage,
    LinkState,
    PendingMessage,
    Presence,
    Target,
    TypingNow,
    UpdateBuilder,
)
from core.supervisor import Supervisor

log = logging.getLogger("squall.chat")
MAX_ROOMS = 50  # protocol v1's limit per connection


@dataclass(frozen=True)
class ClientTiming:
    """The client's pace.

    Attributes:
        flush_every: seconds between updates to the viewer (at most).
        ack_timeout: seconds to wait for a message's acknowledgement before resending it on the same connection.
        backoff_first, backoff_ceiling, jitter: reconnect delays (see pacing.Backoff).
        healthy_after: a connection that lasted this long starts the next backoff from the beginning.
        rate, burst: frames per second (and at once) sent to the hub, under its limit of 20 (20).
        page: messages per history page.
        typing_shown: seconds someone stays "typing" after their last typing frame.
        typing_every: seconds between our typing frames to one room.
        link: timeouts per phase of a connection.
    """

    flush_every: float = 0.1
    ack_timeout: float = 10.0
    backoff_first: float = 0.5
    backoff_ceiling: float = 30.0
    jitter: float = 0.25
    healthy_after: float = 5.0
    rate: float = 15.0
    burst: int = 8
    page: int = 50
    typing_shown: float = 5.0
    typing_every: float = 3.0
    link: LinkTimeouts = field(default_factory=LinkTimeouts)


class ChatClient:
    """One profile's chat connection to one hub at a time.

    Attributes:
        name: "chat" (the Component name).
        hub_folder: this machine's hub folder (its generated passphrase signs local instances in).
    """

    name = "chat"

    def __init__(
        self,
        conn: sqlite3.Connection,
        target: Target,
        nick: str,
        *,
        on_update: Callable[[ChatUpdate], None],
        rooms: Sequence[str] = (LOBBY,),
        hub_folder: Path | None = None,
        timing: ClientTiming | None = None,
    ) -> None:
        problem = nick_problem(nick)
        if problem:
            raise NickError(f"{problem}; choose another nick")
        self.hub_folder = hub_folder
        self._timing = timing or ClientTiming()
        t = self._timing
        self._ledger = Ledger(conn, target.address)
        self._target = target
        self._nick = nick
        self._rooms: list[str] = list(dict.fromkeys(rooms)) or [LOBBY]
        self._on_update = on_update
        self._backoff = Backoff(t.backoff_first, t.backoff_ceiling, t.jitter)
        self._pacer = Pacer(t.rate, t.burst)
        self._typists = Typists(t.typing_shown)
        self._typing_sender = TypingSender(t.typing_every)
        self._builder = UpdateBuilder()
        self._dirty = asyncio.Event()
        self._wake = asyncio.Event()
        self._send_ready = asyncio.Event()
        self._send_queue: deque[dict[str, Any]] = deque()
        self._asked_history: set[str] = set()  # rooms with a history request on its way
        self._link: Link | None = None
        self._joined: set[str] = set()  # rooms joined on the current link
        self._token: str | None = None
        self._status = ClientStatus(LinkState.CONNECTING, target.address, nick, target.local)
        self._http: AsyncHTTPClient | None = None
        self._operations = Inflight()  # token requests and upgrades, never cancelled mid-connect
        self._supervisor: Supervisor | None = None
        self._stopping = False

    # --- what the viewer reads ---------------------------------------------------------------------------------

    @property
    def status(self) -> ClientStatus:
        return self._status

    @property
    def target(self) -> Target:
        return self._target

    @property
    def nick(self) -> str:
        return self._nick

    @property
    def rooms(self) -> tuple[str, ...]:
        return tuple(self._rooms)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def pending(self) -> list[PendingMessage]:
        """The outbox for the current hub, oldest first."""
        return list(self._ledger.pending.values())

    # --- Component ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._supervisor is not None:
            raise RuntimeError("a ChatClient starts once")
        self._supervisor = Supervisor("chat", logger=log)
        self._http = AsyncHTTPClient(force_instance=True)
        self._load_target()
        self._flush()  # the cached conversation shows before the hub answers
        sup = self._supervisor
        sup.start(self._run_link(), name="chat:link", what=f"connection to the chat hub {self._target.address}")
        sup.start(self._run_updates(), name="chat:updates", what="chat updates for the window (10 a second at most)")
        sup.start(self._run_sender(), name="chat:send", what="frames to the chat hub, paced under its rate limit")

    async def stop(self, timeout: float = 1.5) -> None:
        """Say goodbye (close frame 1000), keep what arrived, stop every task."""
        if self._supervisor is None or self._stopping:
            return
        deadline = time.monotonic() + timeout
        self._stopping = True
        link = self._link
        if link is not None:
            await link.close(min(self._timing.link.goodbye, timeout / 3))
        self._flush()
        await self._supervisor.stop(max(0.05, deadline - time.monotonic()))
        await self._operations.drain(deadline - time.monotonic())
        if self._http is not None:
            self._http.close()
        self._status = replace(self._status, state=LinkState.STOPPED, retry_at=None)
        log.info("chat client stopped")

    # --- commands (plain methods; they return at once) -----------------------------------------------------------

    def say(self, room: str, text: str) -> PendingMessage:
        """Queue text for room: committed to the outbox now, sent when connected. Raises ChatInputError."""
        if room not in self._rooms:
            raise ChatInputError(f"you are not in {room!r}: join it first")
        if not text.strip():
            raise ChatInputError("the message is empty: type something first")
        if len(text) > MAX_TEXT_CHARS:
            raise ChatInputError(
                f"the message is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}: "
                "split it into several messages"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ChatInputError("the message holds a broken character (a lone surrogate); retype it") from None
        entry = self._ledger.add(room, text)
        self._builder.add_pending(entry)
        self._typing_sender.sent_message(room)
        if room in self._joined:
            self._queue_say(entry)
        self._dirty.set()
        return entry

    def retry(self, cid: str) -> None:
        """Send a failed message again (same cid)."""
        updated = self._ledger.mark(cid, Delivery.SENDING)
        if updated is None:
            return
        self._builder.add_pending(updated)
        if updated.room in self._joined:
            self._queue_say(updated)
        self._dirty.set()

    def discard(self, cid: str) -> None:
        """Drop a message from the outbox without sending it."""
        if not self._ledger.discard(cid):
            return
        self._builder.drop_pending(cid)
        self._dirty.set()

    def typing(self, room: str) -> None:
        """The user is typing in room: tell the others (at most every few seconds; never queued behind messages)."""
        link = self._link
        if link is None or room not in self._joined or self._send_queue:
            return
        if self._pacer.available() and self._typing_sender.due(room):
            self._send({"type": "typing", "room": room})

    def join_room(self, room: str) -> None:
        problem = room_problem(room)
        if problem:
            raise ChatInputError(f"{problem} (not {room!r})")
        if room in self._rooms:
            return
        if len(self._rooms) >= MAX_ROOMS:
            raise ChatInputError(f"you are in {MAX_ROOMS} rooms, the most a hub allows: leave one first")
        self._rooms.append(room)
        self._builder.rooms = tuple(self._rooms)
        self._load_room(room)
        waiting = [e for e in self._ledger.pending.values() if e.room == room]  # typed before leaving it: still ours
        for entry in waiting:
            self._builder.add_pending(entry)
        if self._link is not None:
            self._join(room)
            for entry in waiting:
                if entry.state is Delivery.SENDING:
                    self._queue_say(entry)
        self._dirty.set()

    def leave_room(self, room: str) -> None:
        if room not in self._rooms:
            raise ChatInputError(f"you are not in {room!r}")
        if len(self._rooms) == 1:
            raise ChatInputError("this is your only room: join another one before leaving it")
        self._rooms.remove(room)
        self._ledger.forget_room(room)
        self._asked_history.discard(room)
        if room in self._joined:
            self._joined.discard(room)
            self._send({"type": "leave", "room": room})
        self._builder.rooms = tuple(self._rooms)
        self._dirty.set()

    def load_older(self, room: str, before: int | None) -> None:
        """Page in messages of room older than id `before` (None: the newest): from the cache, then the hub."""
        if room not in self._rooms or room in self._asked_history:
            return
        page_size = self._timing.page
        page = self._ledger.older(room, before, page_size)
        bottom = page[0].id if page else before
        more = bottom is None or bottom > 1
        if len(page) < page_size and more and room in self._joined:
            frame: dict[str, Any] = {"type": "history", "room": room, "limit": min(HISTORY_MAX, page_size - len(page))}
            if bottom is not None:
                frame["before"] = bottom
            self._asked_history.add(room)
            self._send(frame)
        if page or not (more and room in self._asked_history):
            self._builder.pages.append(HistoryPage(room, tuple(page), more))
            self._dirty.set()

    def set_nick(self, nick: str) -> None:
        """Sign in under another nick (reconnects). Raises NickError."""
        problem = nick_problem(nick)
        if problem:
            raise NickError(f"{problem}; choose another nick")
        if nick == self._nick:
            return
        self._nick = nick
        self._token = None
        self._status = replace(self._status, nick=nick)
        self._drop_link()
        self._wake.set()

    def set_target(self, target: Target) -> None:
        """Talk to another hub (or the same one with another passphrase) from now on."""
        same_hub = target.address == self._target.address
        self._target = target
        self._token = None
        self._drop_link()
        if not same_hub:
            self._builder = UpdateBuilder()
            for room in self._rooms:
                self._builder.reset(room)
            self._load_target()
        self._set_status(LinkState.CONNECTING)
        self._backoff.reset()
        self._wake.set()

    def reconnect_now(self) -> None:
        """Skip the wait before the next attempt (and try again after a refusal)."""
        self._backoff.reset()
        self._wake.set()

    # --- loading from this profile ---------------------------------------------------------------------------------

    def _load_target(self) -> None:
        for entry in self._ledger.switch(self._target.address):
            self._builder.add_pending(entry)
        for room in self._rooms:
            self._load_room(room)
        self._builder.rooms = tuple(self._rooms)
        self._builder.status = self._status

    def _load_room(self, room: str) -> None:
        self._builder.pages.append(self._ledger.load_room(room, self._timing.page))

    # --- the connection ---------------------------------------------------------------------------------------------

    async def _run_link(self) -> None:
        while not self._stopping:
            target = self._target
            retry_after: float | None = None
            try:
                problem = await self._connect_and_serve(target)
            except HubAuthError as exc:
                if self._target is target:
                    log.info("%s", exc)
                    self._set_status(LinkState.REFUSED, problem=str(exc))
                    await self._sleep_until_woken(None)
                continue
            except HubUnreachableError as exc:
                problem, retry_after = str(exc), exc.retry_after
            if self.stopping:
                return
            if self._target is not target or self._wake.is_set():
                self._wake.clear()
                continue  # another hub, nick or passphrase: go at once
            delay = max(self._backoff.next(), retry_after or 0.0)
            log.info("chat offline (%s); retrying in %.1f s", problem, delay)
            self._set_status(LinkState.OFFLINE, retry_at=time.monotonic() + delay, problem=problem)
            await self._sleep_until_woken(delay)

    async def _connect_and_serve(self, target: Target) -> str:
        """Connect and serve the link until it drops; returns why it dropped. Raises HubAuthError or
        HubUnreachableError."""
        self._set_status(LinkState.CONNECTING)
        token = self._token
        if token is None:
            token = await self._sign_in(target)
        try:
            conn = await open_socket(target.address, token, self._timing.link, self._operations)
        except TokenRefusedError:  # expired, or signed with a key the hub dropped: one fresh try
            token = await self._sign_in(target)
            try:
                conn = await open_socket(target.address, token, self._timing.link, self._operations)
            except TokenRefusedError:
                raise HubUnreachableError(f"the hub at {target.address} refused a token it had just issued") from None
        self._token = token
        link = Link(target.address, conn)
        if self._target is not target or self._stopping:
            link.abort()
            return "the hub changed"
        self._link = link
        connected_at = time.monotonic()
        log.info("chat connected to %s as %s", target.address, self._nick)
        self._set_status(LinkState.CONNECTED)
        try:
            self._on_connected()
            while (frame := await link.read()) is not None:
                self._handle(frame)
        finally:
            self._on_dropped(link)
        if time.monotonic() - connected_at >= self._timing.healthy_after:
            self._backoff.reset()
        if link.close_code == CLOSE_GOING_AWAY:
            return f"the hub at {target.address} is shutting down or changing hands"
        if link.close_code is not None and link.close_code != 1000:
            return f"the hub closed the connection ({link.close_code} {link.close_reason or ''})".strip()
        return f"the connection to {target.address} was lost"

    async def _sign_in(self, target: Target) -> str:
        assert self._http is not None
        passphrases = await passphrases_for(target, self.hub_folder)
        return await sign_in(self._http, target.address, self._nick, passphrases, self._timing.link, self._operations)

    def _on_connected(self) -> None:
        for room in self._rooms:
            self._join(room)
        for entry in self._ledger.pending.values():
            if entry.state is Delivery.SENDING and entry.room in self._joined:
                self._queue_say(entry)

    def _join(self, room: str) -> None:
        since = self._ledger.last_id.get(room, 0)
        if since > 0:
            self._send({"type": "join", "room": room, "since": since})
        else:  # nothing kept: only new messages, and the newest page of what came before
            self._send({"type": "join", "room": room})
            self._asked_history.add(room)
            self._send({"type": "history", "room": room, "limit": self._timing.page})
        self._joined.add(room)

    def _on_dropped(self, link: Link) -> None:
        link.abort()
        if self._link is link:
            self._link = None
        self._joined.clear()
        self._ledger.connection_lost()
        self._asked_history.clear()
        self._send_queue.clear()
        for room in self._rooms:  # nobody is known to be there while we are away
            self._builder.presence[room] = Presence(room, (), 0)
        for room in self._typists.clear():
            self._builder.typing[room] = TypingNow(room, ())
        self._dirty.set()

    def _drop_link(self) -> None:
        """Close the current link now (its task sees it end and goes on as asked)."""
        if self._link is not None:
            self._link.abort()

    async def _sleep_until_woken(self, delay: float | None) -> None:
        try:
            async with asyncio.timeout(delay):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    # --- sending ---------------------------------------------------------------------------------------------------

    def _send(self, frame: dict[str, Any]) -> None:
        if self._link is None:
            return
        self._send_queue.append(frame)
        self._send_ready.set()

    def _queue_say(self, entry: PendingMessage) -> None:
        self._ledger.sent(entry.cid)  # from now: a frame lost on the way is resent after ack_timeout
        self._send({"type": "say", "room": entry.room, "text": entry.text, "cid": entry.cid})

    async def _run_sender(self) -> None:
        while True:
            await self._send_ready.wait()
            self._send_ready.clear()
            while self._send_queue:
                link = self._link
                if link is None:
                    self._send_queue.clear()
                    break
                delay = self._pacer.delay()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._link is not link or not self._send_queue:
                    break
                frame = self._send_queue.popleft()
                if frame["type"] == "say":
                    if frame["cid"] not in self._ledger.pending:
                        continue  # acknowledged (or discarded) while it waited
                    self._ledger.sent(frame["cid"])
                link.send(frame)

    # --- receiving ---------------------------------------------------------------------------------------------------

    def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        room = frame.get("room")
        if kind == "message":
            msg = parse_message(frame)
            if msg is None:
                log.info("ignoring a malformed message frame from the hub")
            elif msg.room in self._rooms:
                self._on_message(msg)
        elif kind == "presence" and isinstance(room, str) and room in self._rooms:
            users = frame.get("users")
            count = frame.get("count")
            names = tuple(u for u in users if isinstance(u, str)) if isinstance(users, list) else ()
            self._builder.presence[room] = Presence(room, names, count if isinstance(count, int) else len(names))
        elif kind == "typing" and isinstance(room, str) and room in self._rooms:
            nick = frame.get("nick")
            if isinstance(nick, str) and self._typists.typing(room, nick):
                self._builder.typing[room] = TypingNow(room, self._typists.nicks(room))
        elif kind == "history" and isinstance(room, str) and room in self._rooms:
            self._on_history(room, frame)
        elif kind == "error":
            self._on_error(frame)
        else:
            log.info("ignoring a %r frame from the hub", kind)
            return
        self._dirty.set()

    def _on_message(self, msg: ChatMessage) -> None:
        arrival = self._ledger.arrived(msg)
        if arrival.acknowledged:
            self._builder.drop_pending(msg.cid)
        if arrival.reset:
            self._builder.reset(msg.room)
            if msg.room in self._joined and msg.room not in self._asked_history:  # the hub's history, afresh
                self._asked_history.add(msg.room)
                self._send({"type": "history", "room": msg.room, "limit": self._timing.page})
        shown = arrival.message
        if shown is None:
            return
        if self._typists.spoke(msg.room, msg.nick):
            self._builder.typing[msg.room] = TypingNow(msg.room, self._typists.nicks(msg.room))
        self._builder.messages.append(shown)

    def _on_history(self, room: str, frame: dict[str, Any]) -> None:
        self._asked_history.discard(room)
        records = frame.get("messages")
        found = [parse_message(r, room) for r in records if isinstance(r, dict)] if isinstance(records, list) else []
        messages = tuple(m for m in found if m is not None)
        self._ledger.page_arrived(room, messages)
        more = frame.get("more") is True or (bool(messages) and messages[0].id > 1)
        self._builder.pages.append(HistoryPage(room, messages, more))

    def _on_error(self, frame: dict[str, Any]) -> None:
        code = str(frame.get("code"))
        message = frame.get("message") if isinstance(frame.get("message"), str) else code
        cid = frame.get("cid")
        if code == "rate_limited":  # dropped, not refused (even the say it names): resend whatever is unacknowledged
            for unacked in self._ledger.unacknowledged():
                self._queue_say(unacked)
            return
        failed = self._ledger.mark(cid, Delivery.FAILED, str(message)) if isinstance(cid, str) else None
        if failed is not None:
            self._builder.add_pending(failed)
            log.info("the hub refused a message (%s): %s", code, message)
        else:
            log.info("the hub refused a frame (%s): %s", code, message)
            self._builder.notices.append(f"the hub refused a request: {message}")

    # --- updates ----------------------------------------------------------------------------------------------------

    def _set_status(self, state: LinkState, *, retry_at: float | None = None, problem: str = "") -> None:
        t = self._target
        self._status = ClientStatus(state, t.address, self._nick, t.local, retry_at, problem)
        self._builder.status = self._status
        self._dirty.set()

    async def _run_updates(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._timing.flush_every)
            self._dirty.clear()
            self._flush()
            if self._typists or self._ledger.awaiting:
                self._dirty.set()  # keep ticking: typing windows run out, acknowledgements may be overdue

    def _flush(self) -> None:
        if self._link is not None:
            for entry in self._ledger.overdue(self._timing.ack_timeout):
                log.info("no acknowledgement for message %s yet; sending it again", entry.cid)
                self._queue_say(entry)
        for room in self._typists.expire():
            self._builder.typing[room] = TypingNow(room, self._typists.nicks(room))
        self._ledger.persist()
        if not self._builder:
            return
        update = self._builder.build()
        try:
            self._on_update(update)
        except Exception:
            log.exception("the chat update listener failed")
