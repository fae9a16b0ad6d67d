"""Who may chat: the passphrase check and the signed, expiring tokens and cookies that carry a nick.

Tokens and login cookies are Tornado signed values, version 2, signed with a versioned key: rotating adds a new
key that signs from then on while older keys keep verifying what they signed until it expires. Keys live 0600 in
the hub folder (files.SECRET_NAME) and are generated per hub, never in code. Never log a token, cookie or key.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from tornado.web import create_signed_value, decode_signed_value

from core.chat.errors import HubError, NickError
from core.chat.hub.files import read_private, write_private
from core.chat.protocol import nick_problem

TOKEN_NAME = "squall_token"  # the signed value's name: a cookie cannot pass for a token, nor the reverse
COOKIE_NAME = "squall_user"
KEYS_KEPT = 2  # the signing key and the one before it (so tokens signed just before a rotation still work)


class Keyring:
    """The hub's signing keys, by version; the newest signs, every kept one verifies.

    Attributes:
        keys: key version -> secret (hex).
        current: the version that signs.
        ttl: seconds a signed value stays valid.
    """

    def __init__(self, keys: dict[int, str], current: int, ttl: float, clock: Callable[[], float] = time.time) -> None:
        if current not in keys:
            raise ValueError(f"key version {current} is not in the keyring")
        self.keys = keys
        self.current = current
        self.ttl = ttl
        self._clock = clock

    @classmethod
    def generate(cls, ttl: float, clock: Callable[[], float] = time.time) -> Keyring:
        return cls({1: secrets.token_hex(32)}, 1, ttl, clock)

    def sign(self, name: str, value: str) -> str:
        signed = create_signed_value(self.keys, name, value, version=2, clock=self._clock, key_version=self.current)
        return signed.decode("ascii")

    def verify(self, name: str, signed: str | None) -> str | None:
        """The value signed under name, or None if it is forged, expired, from a dropped key, or not version 2."""
        if not signed or len(signed) > 4096:
            return None
        try:
            raw = decode_signed_value(
                self.keys, name, signed, max_age_days=self.ttl / 86400, clock=self._clock, min_version=2
            )
        except (ValueError, UnicodeError):  # garbage that is not even a signed value's shape
            return None
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def rotate(self) -> int:
        """Start signing with a new key; drop keys older than the previous one. Returns the new version."""
        version = max(self.keys) + 1
        self.keys[version] = secrets.token_hex(32)
        self.current = version
        for old in sorted(self.keys)[:-KEYS_KEPT]:
            del self.keys[old]
        return version

    def to_json(self) -> bytes:
        return json.dumps({"current": self.current, "keys": {str(k): v for k, v in self.keys.items()}}).encode()

    @classmethod
    def from_json(cls, data: bytes, ttl: float, clock: Callable[[], float] = time.time) -> Keyring:
        obj = json.loads(data)
        return cls({int(k): str(v) for k, v in obj["keys"].items()}, int(obj["current"]), ttl, clock)


def load_keyring(path: Path, ttl: float, clock: Callable[[], float] = time.time) -> Keyring:
    """Read the hub's keyring, creating (0600) a fresh one on first use. Blocking: call from an executor."""
    data = read_private(path)
    if data is None:
        ring = Keyring.generate(ttl, clock)
        write_private(path, ring.to_json())
        return ring
    try:
        return Keyring.from_json(data, ttl, clock)
    except (ValueError, KeyError, TypeError) as exc:
        raise HubError(
            f"the hub's key file {path} is damaged; delete it to make new keys (every user then signs in again)"
        ) from exc


def save_keyring(path: Path, ring: Keyring) -> None:
    write_private(path, ring.to_json())


class Authority:
    """Checks passphrases and turns nicks into tokens and back.

    Attributes:
        keyring: the signing keys.
    """

    def __init__(self, passphrase: str, keyring: Keyring) -> None:
        self._passphrase = passphrase.encode("utf-8")
        self.keyring = keyring

    def passphrase_ok(self, given: object) -> bool:
        if not isinstance(given, str):
            return False
        try:
            encoded = given.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(encoded, self._passphrase)  # constant time: no timing oracle

    def token_for(self, nick: str) -> str:
        problem = nick_problem(nick)
        if problem:
            raise NickError(f"cannot sign in as {nick!r}: {problem}")
        return self.keyring.sign(TOKEN_NAME, nick)

    def cookie_for(self, nick: str) -> str:
        return self.keyring.sign(COOKIE_NAME, nick)

    def nick_from_token(self, token: str | None) -> str | None:
        return self._nick(self.keyring.verify(TOKEN_NAME, token))

    def nick_from_cookie(self, cookie: str | None) -> str | None:
        return self._nick(self.keyring.verify(COOKIE_NAME, cookie))

    @staticmethod
    def _nick(value: str | None) -> str | None:
        # A valid signature over an invalid nick can only come from an older hub's rules: refuse it all the same.
        return value if value is not None and nick_problem(value) is None else None
