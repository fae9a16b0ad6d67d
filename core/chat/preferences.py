"""The chat settings of a profile: nick, the hub to join, the rooms, hubs joined before (with their
passphrases), and whether the hosted hub is shared on the LAN. Read with defaults, checked before being stored.

The keys live in core/settings.py DEFAULTS. Hub addresses are "HOST:PORT" ("[::1]:8765" for IPv6); a bare host
means port 8765. Passphrases of joined hubs are kept in the profile database, which only its owner can read
(the profile folder is 0700). Nothing here starts a task or touches the network.
"""

from __future__ import annotations

import getpass
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from core.chat.errors import ChatInputError, NickError
from core.chat.hub.config import is_loopback
from core.chat.protocol import DEFAULT_PORT, LOBBY, nick_problem, room_problem
from core.chat.updates import Target
from core.settings import Settings

NICK = "chat.nick"
HUB = "chat.hub"
SHARE_ON_LAN = "chat.share_on_lan"
JOINED_HUBS = "chat.joined_hubs"
ROOMS = "chat.rooms"
MAX_JOINED = 20

log = logging.getLogger("squall.chat")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def parse_address(text: str) -> tuple[str, int]:
    """(host, port) from "HOST:PORT", "HOST" (port 8765) or "[IPv6]:PORT"; ChatInputError saying what is wrong."""
    value = text.strip()
    if not value:
        raise ChatInputError("the hub address is empty: type HOST:PORT, for example 192.168.1.20:8765")
    host, sep, port_text = value.rpartition(":")
    if not sep or (host.count(":") and not host.startswith("[")):  # "host", or a bare IPv6 address
        host, port_text = value, str(DEFAULT_PORT)
    if not _HOST.fullmatch(host):
        raise ChatInputError(
            f"{host!r} is not a host name or IP address; type HOST:PORT, for example 192.168.1.20:8765"
        )
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ChatInputError(f"{port_text!r} is not a port: use a number from 1 to 65535 (Squall's is {DEFAULT_PORT})")
    return host.strip("[]"), int(port_text)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_address(text: str) -> str:
    host, port = parse_address(text)
    return format_address(host.lower(), port)


def is_local_address(address: str) -> bool:
    return is_loopback(parse_address(address)[0])


def default_nick() -> str:
    """The login name when it is a valid nick, else "squall"."""
    try:
        name = getpass.getuser()[:32]
    except (KeyError, OSError):  # no user database entry (containers)
        name = ""
    return name if name and nick_problem(name) is None else "squall"


@dataclass(frozen=True)
class JoinedHub:
    """A hub joined with "Join a hub...".

    Attributes:
        address: normalized HOST:PORT.
        passphrase: what it was joined with.
    """

    address: str
    passphrase: str = field(repr=False)


class ChatPreferences:
    """Typed, checked access to the chat settings.

    Attributes:
        settings: the profile's settings.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- nick ------------------------------------------------------------------------------------------------------

    @property
    def nick(self) -> str:
        stored = self.settings.get(NICK)
        return stored if isinstance(stored, str) and nick_problem(stored) is None else default_nick()

    def set_nick(self, nick: str) -> str:
        """Store a nick after checking it against protocol v1's rules (NickError says which rule it breaks)."""
        problem = nick_problem(nick)
        if problem:
            raise NickError(f"{problem}; choose another nick")
        self.settings.set(NICK, nick)
        return nick

    # --- hubs ------------------------------------------------------------------------------------------------------

    def start_target(self, override: str | None = None) -> Target:
        """The hub to join at start: the command line's --hub, else the chat.hub setting."""
        stored = self.settings.get(HUB)
        text = override or (stored if isinstance(stored, str) else "") or f"127.0.0.1:{DEFAULT_PORT}"
        try:
            address = normalize_address(text)
        except ChatInputError as exc:
            log.info("the chat.hub setting is unusable (%s); using this machine's hub", exc)
            address = f"127.0.0.1:{DEFAULT_PORT}"
        return self.target_for(address)

    def target_for(self, address: str, passphrase: str | None = None) -> Target:
        address = normalize_address(address)
        if passphrase is None:
            known = self.joined(address)
            passphrase = known.passphrase if known is not None else None
        return Target(address, passphrase, is_local_address(address))

    def joined_hubs(self) -> list[JoinedHub]:
        """Hubs joined before, most recent first (malformed entries are skipped)."""
        hubs = []
        for entry in self.settings.get(JOINED_HUBS):
            if isinstance(entry, dict) and isinstance(entry.get("address"), str):
                passphrase = entry.get("passphrase")
                hubs.append(JoinedHub(entry["address"], passphrase if isinstance(passphrase, str) else ""))
        return hubs

    def joined(self, address: str) -> JoinedHub | None:
        return next((h for h in self.joined_hubs() if h.address == address), None)

    def remember_hub(self, address: str, passphrase: str) -> JoinedHub:
        """Remember a joined hub (first in the list) and make it the one joined at start."""
        address = normalize_address(address)
        if not passphrase.strip():
            raise ChatInputError("the passphrase is empty: ask the hub's owner for it")
        hub = JoinedHub(address, passphrase.strip())
        others = [h for h in self.joined_hubs() if h.address != address]
        entries: list[Any] = [{"address": h.address, "passphrase": h.passphrase} for h in [hub, *others][:MAX_JOINED]]
        self.settings.set(JOINED_HUBS, entries)
        self.settings.set(HUB, address)
        return hub

    def use_hub(self, address: str) -> None:
        """Join this hub at start from now on (a remembered one, or this machine's)."""
        self.settings.set(HUB, normalize_address(address))

    def forget_hub(self, address: str) -> None:
        entries: list[Any] = [
            {"address": h.address, "passphrase": h.passphrase} for h in self.joined_hubs() if h.address != address
        ]
        self.settings.set(JOINED_HUBS, entries)

    # --- rooms and sharing ---------------------------------------------------------------------------------------

    @property
    def rooms(self) -> list[str]:
        stored = self.settings.get(ROOMS)
        if not isinstance(stored, list):
            return [LOBBY]
        rooms = [r for r in stored if isinstance(r, str) and room_problem(r) is None]
        return list(dict.fromkeys(rooms)) or [LOBBY]

    def set_rooms(self, rooms: list[str]) -> None:
        for room in rooms:
            problem = room_problem(room)
            if problem:
                raise ChatInputError(f"{problem} (not {room!r})")
        self.settings.set(ROOMS, list(dict.fromkeys(rooms)))

    @property
    def share_on_lan(self) -> bool:
        return bool(self.settings.get(SHARE_ON_LAN))

    def set_share_on_lan(self, on: bool) -> None:
        self.settings.set(SHARE_ON_LAN, bool(on))
