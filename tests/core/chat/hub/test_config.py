"""HubConfig.check(): every value the hub cannot use is refused with a sentence naming it."""

from __future__ import annotations

from typing import Any

import pytest

from core.chat.errors import HubConfigError, PassphraseRequiredError
from core.chat.hub import HubConfig
from core.chat.hub.config import is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_needs_no_passphrase(host: str) -> None:
    assert is_loopback(host)
    HubConfig(host=host).check()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org"])
def test_anything_else_needs_a_passphrase(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(PassphraseRequiredError, match="--passphrase-file"):
        HubConfig(host=host).check()
    HubConfig(host=host, passphrase="correct horse").check()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"port": 70000}, "port must be 0-65535"),
        ({"tcp_port": -1}, "tcp_port must be 0-65535"),
        ({"max_conns_per_ip": 0}, "max_conns_per_ip must be positive"),
        ({"rate": 0}, "rate must be positive"),
        ({"max_buffer": -5}, "max_buffer must be positive"),
        ({"header_timeout": 0}, "header_timeout must be positive"),
        ({"ping_interval": 1, "ping_timeout": 2}, "ping_timeout must be between"),
        ({"passphrase": "   "}, "passphrase is empty"),
    ],
)
def test_bad_values_are_named(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(HubConfigError, match=words):
        HubConfig(**fields).check()


def test_the_passphrase_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(HubConfig(passphrase="s3cret"))
