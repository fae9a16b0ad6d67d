"""HubConfig: every knob of a hub, with the defaults protocol v1 promises. Values only; nothing is opened here.

Timeouts are named by the phase they bound (headers, body, login, ping); none limits a healthy connection's life.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.chat.errors import HubConfigError, PassphraseRequiredError
from core.chat.protocol import DEFAULT_HOST, DEFAULT_PORT

MIB = 1024 * 1024


def is_loopback(host: str) -> bool:
    """True when host can only be reached from this machine ("localhost", 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything: treat it as reachable


@dataclass(frozen=True)
class HubConfig:
    """How one hub listens, authenticates and limits its clients.

    Attributes:
        data_dir: the hub folder (history, secret, generated passphrase, hosting lock); None: profile.hub_dir().
        host: address to listen on; loopback unless a passphrase was given.
        port: WebSocket/HTTP port; 0 picks a free one (read it back from Hub.port).
        tcp_port: port of the nc line gateway; None: no gateway; 0: a free one.
        passphrase: the passphrase users must give; None: generate one and keep it 0600 in the hub folder.
        max_conns_per_ip: open chat connections (WebSocket and nc together) allowed from one address.
        max_http_per_ip: HTTP connections not (yet) upgraded allowed from one address (slowloris).
        rate: frames per second one connection may send, sustained.
        burst: frames one connection may send at once above the sustained rate.
        rate_close_after: frames refused in a row for rate before the hub closes the connection (1008).
        max_buffer: bytes the hub holds for one connection's unsent frames; past it the reader is closed (1008).
        ping_interval: seconds between WebSocket pings.
        ping_timeout: seconds to wait for the pong before closing (a dead peer is gone in interval + timeout + 5).
        header_timeout: seconds an HTTP client has to send its request headers (also the keep-alive idle limit).
        body_timeout: seconds an HTTP client has to send a request body.
        login_timeout: seconds an nc user has to answer the passphrase and nick prompts.
        token_ttl: seconds a token or login cookie stays valid.
        presence_interval: at most one presence frame per room per this many seconds (joins are coalesced).
        max_rooms_per_conn: rooms one connection may have joined at once.
        failed_logins_per_minute: wrong passphrases one address may try per minute before it gets 429.
        clock: wall clock for token ages (tests move it).
    """

    data_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tcp_port: int | None = None
    passphrase: str | None = field(default=None, repr=False)
    max_conns_per_ip: int = 16
    max_http_per_ip: int = 32
    rate: float = 20.0
    burst: int = 20  # one second's worth: a backlog at the hub must not make a steady sender look bursty
    rate_close_after: int = 20
    max_buffer: int = 1 * MIB
    ping_interval: float = 10.0
    ping_timeout: float = 10.0
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    login_timeout: float = 60.0
    token_ttl: float = 7 * 24 * 3600.0
    presence_interval: float = 0.5
    max_rooms_per_conn: int = 50
    failed_logins_per_minute: int = 10
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def check(self) -> None:
        """Raise HubConfigError (or PassphraseRequiredError) naming the first value the hub cannot use."""
        for name in ("port", "tcp_port"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 65535:
                raise HubConfigError(f"{name} must be 0-65535 (0 picks a free port), not {value}")
        positive = (
            "max_conns_per_ip",
            "max_http_per_ip",
            "rate",
            "burst",
            "rate_close_after",
            "max_buffer",
            "max_rooms_per_conn",
        )
        for name in (*positive, "header_timeout", "body_timeout", "login_timeout", "token_ttl"):
            if getattr(self, name) <= 0:
                raise HubConfigError(f"{name} must be positive, not {getattr(self, name)}")
        if self.ping_interval < 0 or self.ping_timeout < 0 or self.ping_timeout > self.ping_interval:
            raise HubConfigError("ping_timeout must be between 0 and ping_interval (tornado refuses a longer one)")
        if self.passphrase is not None and not self.passphrase.strip():
            raise HubConfigError("the passphrase is empty: put at least one non-space character in it")
        if self.passphrase is None and not is_loopback(self.host):
            raise PassphraseRequiredError(
                f"refusing to listen on {self.host} without a passphrase: anyone who can reach it could chat "
                "as anyone; pass --passphrase-file FILE, or listen on 127.0.0.1"
            )
