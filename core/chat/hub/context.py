"""HubContext: what a running hub shares with its request handlers and its gateway (injected via initialize()).

One object per hub, never class attributes, so two hubs in one process (tests, a take-over) never share state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.chat.hub.auth import Authority
from core.chat.hub.config import HubConfig
from core.chat.hub.limits import FailureThrottle, IpSlots
from core.chat.hub.service import ChatService
from core.chat.hub.writer import FlushScheduler


@dataclass
class HubContext:
    """The running hub's parts, as handlers see them.

    Attributes:
        config: the hub's configuration.
        authority: passphrase check and tokens.
        slots: connections per client address (WebSocket and nc).
        throttle: wrong passphrases per address.
        service: protocol logic, rooms and history.
        scheduler: batches socket writes once per loop iteration.
        health: builds the /health document.
        sockets: open WebSocket handlers (upgraded, not yet closed); the hub closes them on stop.
        stopping: set once stop() begins; new connections are refused.
        sockets_closed: set whenever `sockets` becomes empty (stop() waits on it).
    """

    config: HubConfig
    authority: Authority
    slots: IpSlots
    throttle: FailureThrottle
    service: ChatService
    scheduler: FlushScheduler
    health: Callable[[], dict[str, Any]]
    sockets: set[Any] = field(default_factory=set)
    stopping: bool = False
    sockets_closed: asyncio.Event = field(default_factory=asyncio.Event)

    def socket_opened(self, handler: Any) -> None:
        self.sockets.add(handler)
        self.sockets_closed.clear()

    def socket_closed(self, handler: Any) -> None:
        self.sockets.discard(handler)
        if not self.sockets:
            self.sockets_closed.set()


def yield_point() -> asyncio.Future[None]:
    """A future that resolves on the next loop iteration: returned from on_message so each connection's frames
    are handled one per turn (Tornado alone handles ~230 buffered frames of one chatty client before anyone else)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    loop.call_soon(_resolve, future)
    return future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
