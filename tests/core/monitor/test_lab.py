"""The loop lab: four styles against a real local Tornado server; the blocking style really blocks."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request

import pytest

from core.monitor import LabError, LabProgress, LoopLab
from core.monitor.lab import STYLE_KEYS, STYLES, THREADS, check_run
from core.monitor.lab_server import BODY, LabServer, NumericResolver
from core.monitor.pulse import Heartbeat
from core.supervisor import Supervisor, TaskRegistry
from tests.conftest import LoopRunner
from tests.helpers import wait_until


class Rig:
    """A heartbeat and a lab on one registry.

    Attributes:
        heartbeat: the lag measurement the lab reads.
        lab: the lab under test.
        progress: every LabProgress the lab sent.
    """

    def __init__(self) -> None:
        registry = TaskRegistry()
        self.heartbeat = Heartbeat(0.01)
        self._beats = Supervisor("monitor", registry=registry)
        self.lab = LoopLab(self.heartbeat, registry=registry)
        self.progress: list[LabProgress] = []
        self.lab.add_listener(self.progress.append)

    async def start(self) -> None:
        self._beats.start(self.heartbeat.run(), name="monitor:heartbeat")
        await self.lab.start()
        await self.heartbeat.next_beat()

    async def stop(self) -> None:
        await self.lab.stop(2)
        await self._beats.stop(1)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_the_four_styles_side_by_side(aloop: LoopRunner, rig: Rig) -> None:
    async def scenario() -> list[object]:
        await rig.start()
        results = [await rig.lab.run_style(key, 20, 50) for key in STYLE_KEYS]
        await rig.stop()
        return list(results)

    results = {r.style.key: r for r in aloop.run(scenario(), timeout=60)}  # type: ignore[attr-defined]
    for result in results.values():
        assert result.error == ""
        assert (result.fetches, result.delay_ms) == (20, 50)
    blocking, threads, callbacks, gather = (results[k] for k in STYLE_KEYS)
    # concurrency as the server saw it
    assert blocking.concurrency == 1
    assert threads.concurrency == THREADS
    assert callbacks.concurrency == 20
    assert gather.concurrency == 20
    # one after another: at least N x delay
    assert blocking.wall_s >= 20 * 0.05
    assert gather.wall_s < blocking.wall_s
    # the lesson: blocking the loop freezes it for the whole run
    assert blocking.lag_max_ms >= 0.8 * blocking.wall_s * 1000
    assert blocking.lag_max_ms > 10 * gather.lag_max_ms, (blocking.lag_max_ms, gather.lag_max_ms)
    assert threads.lag_max_ms < blocking.lag_max_ms / 10


def test_run_reports_progress_and_refuses_a_second_run(aloop: LoopRunner, rig: Rig) -> None:
    async def scenario() -> None:
        await rig.start()
        rig.lab.run(fetches=3, delay_ms=0, styles=("gather", "callbacks"))
        assert rig.lab.running
        with pytest.raises(LabError, match="already running; wait for it to finish"):
            rig.lab.run(fetches=3, delay_ms=0)
        await wait_until(lambda: not rig.lab.running, timeout=10, what="the run to end")
        await rig.stop()

    aloop.run(scenario(), timeout=30)
    assert [p.current for p in rig.progress] == ["gather", "callbacks", ""]
    assert [p.running for p in rig.progress] == [True, True, False]
    last = rig.progress[-1]
    assert [r.style.key for r in last.results] == ["gather", "callbacks"]
    assert last.message.startswith("Done.")
    assert rig.lab.progress is last


def test_stopping_the_lab_mid_run_cancels_it_cleanly(aloop: LoopRunner, rig: Rig) -> None:
    async def scenario() -> None:
        await rig.start()
        rig.lab.run(fetches=40, delay_ms=200, styles=("gather",))
        await wait_until(lambda: rig.lab._server.stats.in_flight > 0, what="fetches in flight")
        await rig.stop()
        assert not rig.lab.running

    aloop.run(scenario(), timeout=30)
    assert rig.progress[-1].message == "Stopped."
    assert not any(t.name == "squall-lab-server" for t in threading.enumerate())


@pytest.mark.parametrize(
    ("fetches", "delay_ms", "styles", "message"),
    [
        (0, 50, STYLE_KEYS, r"number of fetches must be a whole number from 1 to 500, not 0"),
        (501, 50, STYLE_KEYS, r"from 1 to 500, not 501"),
        (2.5, 50, STYLE_KEYS, r"not 2.5"),
        (10, -1, STYLE_KEYS, r"server delay must be a whole number of milliseconds from 0 to 5000, not -1"),
        (10, 50, ("threads", "fibers"), r"unknown lab style \['fibers'\]; choose from blocking, threads"),
        (10, 50, (), r"unknown lab style \(\)"),
    ],
)
def test_bad_runs_are_refused_with_what_is_allowed(
    fetches: int, delay_ms: int, styles: tuple[str, ...], message: str
) -> None:
    with pytest.raises(LabError, match=message):
        check_run(fetches, delay_ms, styles)


def test_every_style_has_a_title_and_two_sentences() -> None:
    assert [s.key for s in STYLES] == ["blocking", "threads", "callbacks", "gather"]
    assert "don't" in STYLES[0].title
    for style in STYLES:
        assert style.explanation.count(". ") + 1 >= 2, style.key


@pytest.mark.allow_logs(r"400 GET /slow\?delay_ms=")
def test_the_server_refuses_a_bad_delay_clearly(aloop: LoopRunner) -> None:
    server = LabServer()
    owner = Supervisor("lab", registry=TaskRegistry())

    def get(url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, str(exc.reason)

    async def scenario() -> None:
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        owner.start(server.serve(ready), name="lab:server")
        port = await ready
        base = f"http://127.0.0.1:{port}/slow"
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, get, base + "?delay_ms=0") == (200, BODY.decode())
        status, reason = await loop.run_in_executor(None, get, base + "?delay_ms=soon")
        assert (status, reason) == (400, "delay_ms must be a whole number of milliseconds, not 'soon'")
        status, reason = await loop.run_in_executor(None, get, base + "?delay_ms=9000")
        assert (status, reason) == (400, "delay_ms must be between 0 and 5000, not 9000")
        assert server.stats.requests == 1
        await owner.stop(2)
        assert server.port == 0

    aloop.run(scenario(), timeout=20)


def test_without_a_heartbeat_the_lab_refuses_to_run(aloop: LoopRunner) -> None:
    lab = LoopLab(Heartbeat(0.01), registry=TaskRegistry())

    async def scenario() -> None:
        with pytest.raises(LabError, match="measures lag with the monitor's heartbeat, which is not running"):
            await lab.run_style("gather", 1, 0)
        await lab.stop(1)

    aloop.run(scenario())


def test_the_resolver_takes_ip_literals_only(aloop: LoopRunner) -> None:
    async def scenario() -> None:
        resolver = NumericResolver()
        assert await resolver.resolve("127.0.0.1", 80) == [(2, ("127.0.0.1", 80))]
        with pytest.raises(LabError, match=r"only fetches from IP addresses, not 'example\.org'"):
            await resolver.resolve("example.org", 80)

    aloop.run(scenario())
