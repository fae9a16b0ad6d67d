"""Tokens and cookies: signed (version 2), expiring, bound to their name, surviving one key rotation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tornado.web import create_signed_value

from core.chat.errors import HubError, NickError
from core.chat.hub.auth import COOKIE_NAME, TOKEN_NAME, Authority, Keyring, load_keyring, save_keyring


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_token_carries_the_nick_until_it_expires() -> None:
    clock = FakeClock()
    auth = Authority("pass", Keyring.generate(ttl=3600, clock=clock))
    token = auth.token_for("Zoë 🙂")
    assert token.startswith("2|")
    assert auth.nick_from_token(token) == "Zoë 🙂"
    clock.now += 3599
    assert auth.nick_from_token(token) == "Zoë 🙂"
    clock.now += 2
    assert auth.nick_from_token(token) is None


def test_forged_and_misused_values_are_refused() -> None:
    auth = Authority("pass", Keyring.generate(ttl=3600))
    token = auth.token_for("alice")
    assert auth.nick_from_cookie(token) is None  # a token is not a cookie
    assert auth.nick_from_token(auth.cookie_for("alice")) is None  # nor the reverse
    assert auth.nick_from_token(token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    assert auth.nick_from_token(token.replace("YWxpY2U=", "bWFsbG9yeQ==")) is None  # nick swapped, signature kept
    assert auth.nick_from_token(Authority("pass", Keyring.generate(ttl=3600)).token_for("alice")) is None
    for junk in ("", "2|", "2|x:y|", "not|a|token", "9" * 5000, None):
        assert auth.nick_from_token(junk) is None
    v1 = create_signed_value("secret", TOKEN_NAME, "alice", version=1).decode()
    assert auth.nick_from_token(v1) is None  # version 1 is never accepted (min_version=2)


def test_bad_nicks_get_no_token() -> None:
    auth = Authority("pass", Keyring.generate(ttl=3600))
    with pytest.raises(NickError, match="1 to 32 characters"):
        auth.token_for("x" * 33)
    signed_bad = auth.keyring.sign(TOKEN_NAME, " padded")
    assert auth.nick_from_token(signed_bad) is None


def test_passphrase_check() -> None:
    auth = Authority("correct horse", Keyring.generate(ttl=1))
    assert auth.passphrase_ok("correct horse")
    for wrong in ("correct hors", "correct horse ", "", None, 5, "\ud800"):
        assert not auth.passphrase_ok(wrong)


def test_rotation_keeps_the_previous_key_for_verifying() -> None:
    ring = Keyring.generate(ttl=3600)
    auth = Authority("p", ring)
    old = auth.token_for("alice")
    assert ring.rotate() == 2
    new = auth.token_for("alice")
    assert new != old
    assert "|1:2|" in new  # signed with key version 2
    assert auth.nick_from_token(old) == "alice"  # issued before the rotation: still good
    ring.rotate()
    assert sorted(ring.keys) == [2, 3]
    assert auth.nick_from_token(old) is None  # its key is gone
    assert auth.nick_from_token(new) == "alice"


def test_keyring_is_stored_privately_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    ring = load_keyring(path, ttl=3600)
    assert path.stat().st_mode & 0o777 == 0o600
    token = Authority("p", ring).token_for("alice")
    ring.rotate()
    save_keyring(path, ring)
    again = load_keyring(path, ttl=3600)
    assert again.current == 2
    assert Authority("p", again).nick_from_token(token) == "alice"
    assert Authority("p", again).nick_from_cookie(again.sign(COOKIE_NAME, "bob")) == "bob"
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(HubError, match="delete it to make new keys"):
        load_keyring(path, ttl=3600)
