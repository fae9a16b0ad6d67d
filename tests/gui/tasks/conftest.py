"""A Tasks tab wired to a real Monitor and LoopLab on the test's qasync loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core import db
from core.monitor import LoopLab, Monitor
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings
from core.supervisor import Supervisor, TaskRegistry
from gui.tasks.panel import TasksPanel
from tests.conftest import LoopRunner


class TabRig:
    """A monitor, a lab and the panel showing them, on one registry of its own.

    Attributes:
        registry: the TaskRegistry the monitor reads (so other tests' tasks never show up).
        settings: real settings in a real SQLite file.
        monitor, lab, panel: the parts under test.
        jobs: a supervisor for the tasks a test wants to see in the tab.
    """

    def __init__(self, settings: Settings, export_dir: Path) -> None:
        self.registry = TaskRegistry()
        self.settings = settings
        self.monitor = Monitor(settings=settings, registry=self.registry, sample_interval=0.05, beat_interval=0.01)
        self.lab = LoopLab(self.monitor.heartbeat, registry=self.registry)
        self.panel = TasksPanel(self.monitor, self.lab, settings=settings, export_dir=export_dir)
        self.jobs = Supervisor("downloads", registry=self.registry)
        self.started = False

    async def start(self) -> None:
        await self.monitor.start()
        await self.lab.start()
        self.started = True

    async def stop(self) -> None:
        if self.started:
            self.started = False
            await self.jobs.stop(1)
            await self.lab.stop(2)
            await self.monitor.stop(1)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    conn: sqlite3.Connection = db.connect(tmp_path / "squall.db")
    db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
    yield Settings(conn)
    conn.close()


@pytest.fixture
def rig(qtbot: QtBot, qloop: LoopRunner, settings: Settings, tmp_path: Path) -> Iterator[TabRig]:
    tab = TabRig(settings, tmp_path)
    qtbot.addWidget(tab.panel)
    tab.panel.resize(1100, 700)
    tab.panel.show()
    yield tab
    if tab.started:  # the test failed half-way: still stop everything, so the loop checks stay meaningful
        qloop.run(tab.stop())
    asyncio.set_event_loop(qloop.loop)
