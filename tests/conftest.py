"""Shared fixtures: a strict asyncio loop runner, a fail-on-WARNING-logs guard, free ports, isolated data roots.

Every test runs with XDG_DATA_HOME pointing into its tmp dir, so nothing touches the real user's data.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import sqlite3
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core import db
from core.schema import PROFILE_MIGRATIONS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
T = TypeVar("T")


class LoopRunner:
    """Runs coroutines on one test's loop and collects whatever stray tasks raise.

    Attributes:
        loop: the event loop (plain asyncio for core tests, qasync for gui tests).
        errors: contexts the loop's exception handler received (unretrieved task exceptions and the like).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: self.errors.append(context))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def close(self) -> None:
        """Fail on tasks a test left running or errors a stray task raised; then close the loop."""
        leftovers = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            self.loop.run_until_complete(asyncio.wait(leftovers, timeout=5))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        gc.collect()  # surface "Task was destroyed but it is pending" now, while we can still fail
        asyncio.set_event_loop(None)
        self.loop.close()
        problems = [f"task left running at teardown: {t!r}" for t in leftovers]
        problems += [f"{c.get('message')}: {c.get('exception')!r}" for c in self.errors]
        if problems:
            pytest.fail("event loop problems:\n" + "\n".join(problems), pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_logs(*patterns): WARNING+ log records matching one of these regexes are expected"
    )


@pytest.fixture
def aloop() -> Iterator[LoopRunner]:
    """A fresh asyncio loop for core tests: `aloop.run(coro, timeout)`."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runner = LoopRunner(loop)
    yield runner
    runner.close()


@pytest.fixture(autouse=True)
def _isolated_data_root(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture(autouse=True)
def _fail_on_warning_logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Any WARNING or worse log record fails the test unless an allow_logs marker names it."""
    caplog.set_level(logging.DEBUG, logger="squall")
    yield
    allowed = [re.compile(p) for m in request.node.iter_markers("allow_logs") for p in m.args]
    records = caplog.get_records("setup") + caplog.get_records("call") + caplog.get_records("teardown")
    bad = [r for r in records if r.levelno >= logging.WARNING and not any(p.search(r.getMessage()) for p in allowed)]
    if bad:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in bad)
        pytest.fail(f"unexpected log records:\n{lines}", pytrace=False)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh profile database (every migration applied) in the test's folder."""
    connection = db.connect(tmp_path / "squall.db")
    db.migrate(connection, PROFILE_MIGRATIONS, what="profile")
    yield connection
    connection.close()
