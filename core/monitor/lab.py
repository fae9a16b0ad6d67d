"""The loop lab: the same N fetches of a local URL in four styles, measured side by side.

Styles: a blocking call on the loop (what not to do), tornado's synchronous HTTPClient in worker threads,
AsyncHTTPClient futures with done-callbacks, and coroutines gathered with await. Each run reports its wall
time, the concurrency the server saw, and the loop lag it caused (from the monitor's heartbeat). The lab owns
its server (lab_server.py) and every task it starts; results go to listeners as LabProgress snapshots.
It must not import Qt; the blocking style is the only code in Squall allowed to block the loop, on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tornado.httpclient import AsyncHTTPClient, HTTPClient, HTTPResponse

from core.monitor.errors import LabError
from core.monitor.lab_server import BODY, LabServer, NumericResolver
from core.monitor.pulse import Heartbeat
from core.supervisor import REGISTRY, Supervisor, TaskRegistry

log = logging.getLogger("squall.monitor")

MAX_FETCHES = 500
CONNECT_TIMEOUT = 5.0  # seconds to open a connection to the local server
READ_TIMEOUT = 15.0  # seconds of silence on an open connection (the server's delay is at most 5 s)
CLEANUP_TIMEOUT = 2.0  # seconds a cancelled run waits for its dropped connections to end


@dataclass(frozen=True, slots=True)
class Style:
    """One way of doing the fetches.

    Attributes:
        key: "blocking", "threads", "callbacks" or "gather".
        title: a short label for the results table.
        explanation: two sentences on what the style does and what it costs.
    """

    key: str
    title: str
    explanation: str


THREADS = 4
STYLES = (
    Style(
        "blocking",
        "Blocking call on the loop (don't)",
        "urllib.request runs in the loop's own thread, so nothing else runs until each response arrives: the "
        "window freezes and every task waits. The fetches go one after another, so wall time is N times the delay.",
    ),
    Style(
        "threads",
        f"Sync HTTPClient in {THREADS} worker threads",
        f"Tornado's synchronous HTTPClient runs in {THREADS} worker threads, each with a private IOLoop, so the "
        "app's loop stays free. Concurrency is capped by the pool size, and each thread costs memory and switches.",
    ),
    Style(
        "callbacks",
        "AsyncHTTPClient futures + done-callbacks",
        "All N fetches start at once on the app's loop and each Future calls back when its response is in, so "
        "the loop stays responsive. It is fast, but the logic is scattered over callbacks and errors must be "
        "collected from each Future by hand.",
    ),
    Style(
        "gather",
        "Coroutines gathered with await",
        "Each fetch is a coroutine run as a supervised task, and one await gathers them all: as concurrent as "
        "callbacks, but it reads top to bottom. Errors arrive as exceptions, and cancelling the run cancels "
        "every fetch.",
    ),
)
STYLE_KEYS = tuple(s.key for s in STYLES)


@dataclass(frozen=True, slots=True)
class LabResult:
    """One style's run.

    Attributes:
        style: the Style run.
        fetches: N.
        delay_ms: the server's delay per request.
        wall_s: wall time of the whole run.
        concurrency: the most requests the server was answering at once.
        lag_max_ms: the worst loop lag measured while it ran.
        error: "" when every fetch succeeded, else what went wrong.
    """

    style: Style
    fetches: int
    delay_ms: int
    wall_s: float
    concurrency: int
    lag_max_ms: float
    error: str = ""


@dataclass(frozen=True, slots=True)
class LabProgress:
    """The lab's state, sent to listeners whenever it changes.

    Attributes:
        running: a run is in progress.
        current: the style running now ("" when idle).
        results: results of the current (or last) run, in run order.
        message: a one-line status for the user.
    """

    running: bool
    current: str
    results: tuple[LabResult, ...]
    message: str


Listener = Callable[[LabProgress], None]


def check_run(fetches: int, delay_ms: int, styles: tuple[str, ...]) -> None:
    if isinstance(fetches, bool) or not isinstance(fetches, int) or not 1 <= fetches <= MAX_FETCHES:
        raise LabError(f"the number of fetches must be a whole number from 1 to {MAX_FETCHES}, not {fetches!r}")
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int) or not 0 <= delay_ms <= 5000:
        raise LabError(f"the server delay must be a whole number of milliseconds from 0 to 5000, not {delay_ms!r}")
    unknown = [s for s in styles if s not in STYLE_KEYS]
    if unknown or not styles:
        raise LabError(f"unknown lab style {unknown or styles!r}; choose from {', '.join(STYLE_KEYS)}")


def _connection_tasks(client: AsyncHTTPClient) -> list[asyncio.Task[object]]:
    """The unfinished tasks tornado started for client's fetches.

    WORKAROUND: tornado runs each fetch in a task of its own (`_HTTPConnection.run`, which keeps the client in
    `self.client`) and goes on after the fetch's Future is cancelled; nothing public lists or stops them.
    """
    found = []
    for task in asyncio.all_tasks():
        frame = getattr(task.get_coro(), "cr_frame", None)
        if not task.done() and frame is not None and getattr(frame.f_locals.get("self"), "client", None) is client:
            found.append(task)
    return found


def _retrieve(future: asyncio.Future[HTTPResponse]) -> None:
    """Read a fetch's outcome so a failure nobody awaits any more is not reported as never retrieved."""
    if not future.cancelled():
        future.exception()


def _check_body(body: bytes | None) -> int:
    size = len(body or b"")
    if size != len(BODY):
        raise LabError(f"the lab server sent {size} bytes instead of {len(BODY)}; the run is not comparable")
    return size


class LoopLab:
    """Runs the four styles against a local server and measures them.

    Attributes:
        name: "lab".
        supervisor: owns `lab:server`, `lab:run` and the gathered `lab:fetch:N` tasks.
        progress: the last LabProgress sent.
    """

    name = "lab"

    def __init__(self, heartbeat: Heartbeat, *, registry: TaskRegistry = REGISTRY) -> None:
        self.supervisor = Supervisor(self.name, logger=log, registry=registry)
        self.progress = LabProgress(False, "", (), "Ready: choose N and run the four styles.")
        self._heartbeat = heartbeat
        self._server = LabServer()
        self._server_task: asyncio.Task[None] | None = None
        self._server_ready: asyncio.Future[int] | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []

    async def start(self) -> None:
        """Nothing to do yet: the server starts with the first run."""

    async def stop(self, timeout: float) -> None:
        await self.supervisor.stop(timeout)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    def _tell(self, progress: LabProgress) -> None:
        self.progress = progress
        for listener in list(self._listeners):
            try:
                listener(progress)
            except Exception:
                log.exception("lab listener %r failed", listener)

    # -- commands ---------------------------------------------------------------------------------------------

    def run(self, fetches: int = 20, delay_ms: int = 50, styles: tuple[str, ...] = STYLE_KEYS) -> None:
        """Start a run of the given styles in order; returns at once. Refused while a run is in progress."""
        check_run(fetches, delay_ms, styles)
        if self.running:
            raise LabError("the loop lab is already running; wait for it to finish")
        self._run_task = self.supervisor.start(
            self._run_all(fetches, delay_ms, styles),
            name="lab:run",
            what=f"loop lab: {fetches} fetches in {len(styles)} styles",
        )

    async def _run_all(self, fetches: int, delay_ms: int, styles: tuple[str, ...]) -> None:
        results: list[LabResult] = []
        try:
            for key in styles:
                self._tell(LabProgress(True, key, tuple(results), f"running {key} ({fetches} fetches)..."))
                results.append(await self.run_style(key, fetches, delay_ms))
            self._tell(LabProgress(False, "", tuple(results), "Done. The lag plot shows what each style did."))
        except LabError as exc:
            self._tell(LabProgress(False, "", tuple(results), str(exc)))
        except asyncio.CancelledError:
            self._tell(LabProgress(False, "", tuple(results), "Stopped."))
            raise

    async def run_style(self, key: str, fetches: int, delay_ms: int) -> LabResult:
        """Run one style now and measure it."""
        check_run(fetches, delay_ms, (key,))
        if self._heartbeat.due is None:
            raise LabError("the loop lab measures lag with the monitor's heartbeat, which is not running")
        style = next(s for s in STYLES if s.key == key)
        await self._ensure_server()
        urls = [self._server.url(delay_ms)] * fetches
        self._server.stats.reset()
        runner = getattr(self, f"_{key}")
        start = time.monotonic()
        error = ""
        try:
            await runner(urls)
        except Exception as exc:  # OSError, LabError, tornado's HTTPClientError...: a result to show, not a crash
            error = f"{type(exc).__name__}: {exc}"
        end = time.monotonic()
        # The beat that was due during the run lands now, late if the run blocked the loop. asyncio.wait, not
        # await: if the heartbeat stops meanwhile its future is cancelled, and that must not cancel this run.
        await asyncio.wait([self._heartbeat.next_beat()], timeout=max(1.0, 4 * self._heartbeat.interval))
        lags = self._heartbeat.lags_between(start, end)
        result = LabResult(
            style,
            fetches,
            delay_ms,
            end - start,
            self._server.stats.max_in_flight,
            max(lags, default=0.0),
            error,
        )
        log.info(
            "lab %s: %d fetches in %.3f s, concurrency %d, loop lag max %.1f ms%s",
            key,
            fetches,
            result.wall_s,
            result.concurrency,
            result.lag_max_ms,
            f", error {error}" if error else "",
        )
        return result

    async def _ensure_server(self) -> None:
        if self._server_task is None or self._server_task.done() or self._server_ready is None:
            ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            self._server_ready = ready
            self._server_task = self.supervisor.start(
                self._server.serve(ready),
                name="lab:server",
                what="the lab's local HTTP server (own thread and loop)",
            )
        try:
            await asyncio.wait_for(asyncio.shield(self._server_ready), CONNECT_TIMEOUT)
        except TimeoutError:
            raise LabError(f"the lab's HTTP server did not start within {CONNECT_TIMEOUT:.0f} s") from None

    # -- the four styles --------------------------------------------------------------------------------------

    async def _blocking(self, urls: list[str]) -> None:
        # On purpose: urllib in the loop thread. Nothing else on the loop runs until this returns.
        for url in urls:
            with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:  # noqa: ASYNC210
                _check_body(response.read())

    async def _threads(self, urls: list[str]) -> None:
        def worker(share: list[str]) -> None:
            client = HTTPClient(force_instance=True, resolver=NumericResolver())
            try:
                for url in share:
                    _check_body(client.fetch(url, connect_timeout=CONNECT_TIMEOUT, request_timeout=READ_TIMEOUT).body)
            finally:
                client.close()

        shares = [urls[i::THREADS] for i in range(THREADS) if urls[i::THREADS]]
        executor = ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="squall-lab")
        loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(loop.run_in_executor(executor, worker, share) for share in shares))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    @contextlib.asynccontextmanager
    async def _async_client(self, fetches: int) -> AsyncIterator[AsyncHTTPClient]:
        client = AsyncHTTPClient(force_instance=True, max_clients=fetches, resolver=NumericResolver())
        try:
            yield client
        finally:
            leftovers = _connection_tasks(client)
            if leftovers:  # cancelled mid-run: end the fetches now rather than leave tornado's tasks behind
                self._server.drop_connections()
                with contextlib.suppress(TimeoutError):
                    all_ended = asyncio.gather(*leftovers, return_exceptions=True)
                    await asyncio.wait_for(asyncio.shield(all_ended), CLEANUP_TIMEOUT)
            client.close()

    async def _callbacks(self, urls: list[str]) -> None:
        async with self._async_client(len(urls)) as client:
            await self._callbacks_with(client, urls)

    async def _callbacks_with(self, client: AsyncHTTPClient, urls: list[str]) -> None:
        all_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        errors: list[BaseException] = []
        remaining = len(urls)

        def on_done(future: asyncio.Future[HTTPResponse]) -> None:
            nonlocal remaining
            remaining -= 1
            if future.cancelled():
                errors.append(asyncio.CancelledError())
            elif future.exception() is not None:
                errors.append(future.exception())  # type: ignore[arg-type]
            else:
                _check_body(future.result().body)
            if remaining == 0 and not all_done.done():
                all_done.set_result(None)

        for url in urls:
            future = client.fetch(url, connect_timeout=CONNECT_TIMEOUT, request_timeout=READ_TIMEOUT)
            future.add_done_callback(on_done)
        await all_done
        if errors:
            raise errors[0]

    async def _gather(self, urls: list[str]) -> None:
        async with self._async_client(len(urls)) as client:
            await self._gather_with(client, urls)

    async def _gather_with(self, client: AsyncHTTPClient, urls: list[str]) -> None:
        async def fetch(url: str) -> int:
            future = client.fetch(url, connect_timeout=CONNECT_TIMEOUT, request_timeout=READ_TIMEOUT)
            # Shielded: tornado logs an ERROR when a fetch it finishes later was cancelled; on cancellation the
            # connection is dropped instead (see _async_client) and the outcome read here, so nothing is lost.
            future.add_done_callback(_retrieve)
            response = await asyncio.shield(future)
            return _check_body(response.body)

        tasks = [self.supervisor.start(fetch(url), name=f"lab:fetch:{i}") for i, url in enumerate(urls, 1)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
