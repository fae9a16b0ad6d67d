"""Hosting: this machine's hub, run by whichever Squall gets there first, and taken over when its host goes.

At start, Hosting tries the hub folder's hosting lock. Got it: it runs the hub (core.chat.hub.Hub, in this loop)
on the configured port, and the client joins it like any other. Another process holds it (another Squall, or
`main.py serve` on the same folder): it stands by, waiting for the lock on a thread. When the host quits or dies
(the kernel drops the flock even on kill -9) one standing-by instance gets the lock, binds the same port and opens
the same history, so ids continue and every client's replay with `since` and outbox resend finish the job.
If the port is taken by something else (the lock was free), Hosting steps back and tries again later.

Share on LAN rebinds the running hub to all interfaces; the address to hand out and the passphrase are in the
HostingState. The host records its sharing in the hub folder (lan-shared), and a take-over keeps it, so people
on the LAN keep their hub when its host goes; a fresh start follows the user's own setting. Never logs the
passphrase. No Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.chat.errors import HubBindError, HubError, HubInUseError
from core.chat.hub import Hub, HubConfig
from core.chat.hub.files import HostingLock, load_or_create_passphrase
from core.chat.pacing import Backoff
from core.chat.preferences import format_address
from core.supervisor import Supervisor

log = logging.getLogger("squall.chat")

LAN_HOST = "0.0.0.0"
RETRY_FIRST = 2.0  # seconds before trying to host again after the port was taken by something else
RETRY_CEILING = 60.0
LAN_RECORD = "lan-shared"  # in the hub folder: "1" while the hub is shared on the LAN, "0" when not


def read_lan_record(folder: Path) -> bool | None:
    """Whether the hub in folder was last shared on the LAN; None when no host ever recorded it."""
    try:
        return (folder / LAN_RECORD).read_text(encoding="ascii").strip() == "1"
    except (OSError, UnicodeDecodeError):
        return None


def write_lan_record(folder: Path, shared: bool) -> None:
    """Record the hub's LAN sharing in its folder, so whoever takes the hub over keeps it as it was."""
    tmp = folder / f"{LAN_RECORD}.tmp"
    tmp.write_text("1\n" if shared else "0\n", encoding="ascii")
    tmp.replace(folder / LAN_RECORD)


@dataclass(frozen=True)
class HostingState:
    """Whether this instance hosts the machine's hub, and how others reach it.

    Attributes:
        hosting: this instance runs the hub.
        address: the HOST:PORT the hub listens on (or would).
        lan: it listens on every interface.
        lan_address: HOST:PORT for others on the network (while lan), else None.
        passphrase: what others on the network must give (while lan), else None. Never log it.
        problem: why hosting or sharing did not work, else "".
    """

    hosting: bool
    address: str
    lan: bool = False
    lan_address: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    problem: str = ""


def lan_address() -> str:
    """This machine's address on its network (the one its default route leaves from), or 127.0.0.1 without one.

    A UDP socket "connected" to a documentation address sends nothing; it only asks the kernel for a route.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


class LockWaiter:
    """Waits for a hub folder's hosting lock on a thread and hands it to the loop.

    WORKAROUND: a blocking flock() cannot be interrupted from another thread, and a thread pool's workers are
    joined at interpreter exit (and by asyncio's shutdown_default_executor), so a waiter there would keep Squall
    from ever exiting. The wait runs on a daemon thread instead; cancelling wait() marks the wait abandoned, and a
    lock that arrives after that is released at once.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._mutex = threading.Lock()

    async def wait(self) -> HostingLock:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[HostingLock] = loop.create_future()
        abandoned = threading.Event()

        def hand_over(lock: HostingLock) -> None:  # on the loop
            with self._mutex:
                if delivered.done():
                    lock.release()
                else:
                    delivered.set_result(lock)

        def fail(exc: BaseException) -> None:  # on the loop
            if not delivered.done():
                delivered.set_exception(exc)

        def run() -> None:  # on the thread
            lock = HostingLock(self.folder)
            try:
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                lock.acquire(blocking=True)
            except OSError as exc:
                error = HubError(f"cannot wait for the hub folder {self.folder}: {exc.strerror}")
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                    loop.call_soon_threadsafe(fail, error)
                return
            with self._mutex:
                if abandoned.is_set():
                    lock.release()
                    return
            try:
                loop.call_soon_threadsafe(hand_over, lock)
            except RuntimeError:
                lock.release()

        threading.Thread(target=run, name=f"hub-lock-wait:{self.folder.name}", daemon=True).start()
        try:
            return await delivered
        except asyncio.CancelledError:
            with self._mutex:
                abandoned.set()
                if delivered.done() and not delivered.cancelled() and delivered.exception() is None:
                    delivered.result().release()  # it arrived just as we gave up
            raise


class Hosting:
    """Hosts this machine's hub when nobody does; takes over when the host goes away.

    Attributes:
        name: "chat-hosting" (the Component name).
        folder: the machine-wide hub folder.
        port: the hub's port.
        host: the loopback address it listens on when not shared.
    """

    name = "chat-hosting"

    def __init__(
        self,
        folder: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        share_on_lan: bool = False,
        on_state: Callable[[HostingState], None] | None = None,
        hub_options: dict[str, object] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """hub_options: more HubConfig fields (tests shorten timeouts); backoff: waits between tries to host
        after the port turned out to be taken."""
        self.folder = folder.expanduser().resolve()
        self.port = port
        self.host = host
        self._share = share_on_lan
        self._on_state = on_state
        self._hub_options = dict(hub_options or {})
        self._hub: Hub | None = None
        self._supervisor: Supervisor | None = None
        self._backoff = backoff or Backoff(RETRY_FIRST, RETRY_CEILING)
        self._state = HostingState(False, format_address(host, port))

    @property
    def state(self) -> HostingState:
        return self._state

    @property
    def hub(self) -> Hub | None:
        """The running hub while this instance hosts it."""
        return self._hub

    # --- Component ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._supervisor is not None:
            raise RuntimeError("Hosting starts once")
        self._supervisor = Supervisor("chat-hosting", logger=log)
        lock = HostingLock(self.folder)
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._try_lock, lock)
        except OSError as exc:
            self._emit(HostingState(False, self._state.address, problem=f"cannot use the hub folder: {exc.strerror}"))
            return
        if lock.held and await self._host(lock, self._share):
            return
        self._supervisor.start(
            self._stand_by(), name="chat:standby", what=f"take over the chat hub on port {self.port}"
        )

    async def stop(self, timeout: float = 1.5) -> None:
        deadline = time.monotonic() + timeout
        if self._supervisor is not None:
            await self._supervisor.stop(min(0.2, timeout / 4))
        hub, self._hub = self._hub, None
        if hub is not None:
            await hub.stop(max(0.1, deadline - time.monotonic()))
            log.info("stopped hosting the chat hub")

    # --- commands -------------------------------------------------------------------------------------------------

    def share_on_lan(self, on: bool) -> None:
        """Listen on every interface (on) or on loopback only; the outcome arrives as a HostingState."""
        self._share = on
        if self._hub is not None and self._supervisor is not None:
            self._supervisor.start(self._rebind(on), name="chat:share", what="rebind the chat hub for the LAN")

    # --- internals ------------------------------------------------------------------------------------------------

    def _try_lock(self, lock: HostingLock) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return lock.acquire()

    async def _host(self, lock: HostingLock, share: bool) -> bool:
        """Run the hub with the lock already held; False (lock released) when the port is taken."""
        host = LAN_HOST if share else self.host
        options: dict[str, object] = {"data_dir": self.folder, "host": host, "port": self.port, **self._hub_options}
        if share:
            # Listening beyond loopback needs a passphrase on record: the folder's own, which local instances
            # read and LAN users are handed.
            options["passphrase"] = await asyncio.get_running_loop().run_in_executor(
                None, load_or_create_passphrase, self.folder
            )
        try:
            hub = Hub(HubConfig(**options), hosting_lock=lock)  # type: ignore[arg-type]
            await hub.start()
        except (HubBindError, HubInUseError) as exc:
            lock.release()
            log.info("not hosting the chat hub: %s", exc)
            self._emit(HostingState(False, self._state.address, problem=str(exc)))
            return False
        except (HubError, ValueError) as exc:
            lock.release()
            log.error("cannot host the chat hub: %s", exc)
            self._emit(HostingState(False, self._state.address, problem=str(exc)))
            return False
        self._hub = hub
        self._backoff.reset()
        log.info("hosting the chat hub on %s (folder %s)", hub.ws_url, self.folder)
        await self._record_lan(share)
        self._emit(self._hosting_state(hub))
        return True

    async def _record_lan(self, shared: bool) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, write_lan_record, self.folder, shared)
        except OSError as exc:  # the hub runs either way; only a later take-over would not know
            log.error("cannot record the chat hub's LAN sharing in %s: %s", self.folder, exc.strerror)

    async def _stand_by(self) -> None:
        waiter = LockWaiter(self.folder)
        while True:
            lock = await waiter.wait()
            log.info("the chat hub's host went away; taking over on port %d", self.port)
            # People on the LAN were handed this hub: keep it shared (or not) as its last host left it.
            recorded = await asyncio.get_running_loop().run_in_executor(None, read_lan_record, self.folder)
            if await self._host(lock, self._share if recorded is None else recorded):
                return
            await asyncio.sleep(self._backoff.next())

    async def _rebind(self, on: bool) -> None:
        hub = self._hub
        if hub is None:
            return
        try:
            await hub.rebind(LAN_HOST if on else self.host)
        except HubError as exc:
            log.info("cannot %s the chat hub: %s", "share" if on else "unshare", exc)
            self._emit(HostingState(True, self._state.address, hub.state().lan, problem=str(exc)))
            return
        await self._record_lan(on)
        self._emit(self._hosting_state(hub))

    def _hosting_state(self, hub: Hub) -> HostingState:
        lan = hub.host == LAN_HOST
        return HostingState(
            True,
            format_address(hub.host, hub.port),
            lan,
            format_address(lan_address(), hub.port) if lan else None,
            hub.passphrase if lan else None,
        )

    def _emit(self, state: HostingState) -> None:
        self._state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("the hosting state listener failed")
