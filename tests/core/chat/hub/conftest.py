"""Fixtures for hub tests: a real Hub on a free loopback port, in a fresh folder, stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.chat.hub import Hub, HubConfig
from tests.conftest import LoopRunner

StartHub = Callable[..., Hub]


@pytest.fixture
def start_hub(aloop: LoopRunner, tmp_path: Path) -> Iterator[StartHub]:
    """start_hub(**HubConfig fields) -> a started Hub (port 0, its own folder under tmp_path, lenient rate)."""
    hubs: list[Hub] = []

    def start(**overrides: Any) -> Hub:
        overrides.setdefault("data_dir", tmp_path / f"hub{len(hubs)}")
        overrides.setdefault("port", 0)
        # Tests send frames back to back; the rate limit has its own tests that set it explicitly.
        overrides.setdefault("rate", 10_000.0)
        overrides.setdefault("burst", 1_000)
        overrides.setdefault("presence_interval", 0.01)  # joins are acknowledged by presence: keep tests quick
        hub = Hub(HubConfig(**overrides))
        aloop.run(hub.start())
        hubs.append(hub)
        return hub

    yield start
    for hub in reversed(hubs):
        aloop.run(hub.stop(2.0))
