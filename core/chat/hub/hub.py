"""Hub: the chat hub as a core Component, embeddable in the GUI's loop or run alone by `main.py serve`.

It owns the hub folder (hosting lock, secrets, history), one Supervisor for its tasks, a Tornado HTTPServer for
/ws and the HTTP endpoints, and optionally the nc gateway. Create it and call start() inside the running loop;
stop(timeout) closes every connection with 1001 and releases everything within the timeout. Blocking file and
database work (open, checkpoint, close, key rotation) runs on the hub's own single executor thread.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.chat.errors import HubBindError, HubError
from core.chat.hub.auth import Authority, Keyring, load_keyring, save_keyring
from core.chat.hub.config import HubConfig, is_loopback
from core.chat.hub.context import HubContext
from core.chat.hub.endpoints import MAX_BODY_READ
from core.chat.hub.files import (
    DB_NAME,
    PASSPHRASE_NAME,
    SECRET_NAME,
    HostingLock,
    keep_passphrase,
    load_or_create_passphrase,
    open_folder,
)
from core.chat.hub.gateway import Gateway
from core.chat.hub.limits import FailureThrottle, IpSlots
from core.chat.hub.rooms import Rooms
from core.chat.hub.service import ChatService
from core.chat.hub.store import History
from core.chat.hub.webapp import GuardedHTTPServer, make_app
from core.chat.hub.writer import FlushScheduler
from core.chat.protocol import CLOSE_GOING_AWAY, PROTOCOL_VERSION, SHUTTING_DOWN
from core.profile import hub_dir
from core.supervisor import Supervisor
from core.version import __version__

log = logging.getLogger("squall.chat.hub")
T = TypeVar("T")

CHECKPOINT_EVERY = 5.0  # seconds between WAL checkpoints (only when something was stored)
STATE_EVERY = 0.1  # seconds between HubState snapshots at most (<= 10/s)


@dataclass(frozen=True)
class HubState:
    """What the GUI shows about its hub.

    Attributes:
        host: the address it listens on.
        port: the WebSocket/HTTP port.
        tcp_port: the nc gateway's port, or None.
        lan: True when it listens beyond this machine.
        connections: chat connections (WebSocket and nc).
        rooms: rooms with someone in them.
    """

    host: str
    port: int
    tcp_port: int | None
    lan: bool
    connections: int
    rooms: int


@dataclass
class _Files:
    lock: HostingLock
    passphrase: str
    generated: bool
    keyring: Keyring
    history: History


class Hub:
    """The chat hub.

    Attributes:
        name: "hub" (the Component name).
        config: how it was asked to run.
        folder: the hub folder.
    """

    name = "hub"

    def __init__(
        self,
        config: HubConfig | None = None,
        *,
        on_state: Callable[[HubState], None] | None = None,
        hosting_lock: HostingLock | None = None,
    ) -> None:
        """on_state gets a HubState when something changed (at most 10 a second). hosting_lock: the folder's lock,
        already held (a take-over that waited for it); the hub then owns it and releases it on stop."""
        self.config = config or HubConfig()
        self.config.check()
        self.folder = (self.config.data_dir or hub_dir()).expanduser().resolve()
        if hosting_lock is not None and (not hosting_lock.held or hosting_lock.path.parent.resolve() != self.folder):
            raise ValueError(f"hosting_lock must be held, and be the lock of {self.folder}")
        self._given_lock = hosting_lock
        self._on_state = on_state
        self._files: _Files | None = None
        self._ctx: HubContext | None = None
        self._supervisor: Supervisor | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._servers: list[GuardedHTTPServer] = []
        self._gateways: list[Gateway] = []
        self._host = self.config.host
        self._port = 0
        self._tcp_port: int | None = None
        self._started_at = 0.0
        self._stopped = False

    # --- what the GUI and serve read --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def tcp_port(self) -> int | None:
        return self._tcp_port

    @property
    def url(self) -> str:
        """http://HOST:PORT (the base of /api/token, /login, /health)."""
        return f"http://{_url_host(self._host)}:{self._port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{_url_host(self._host)}:{self._port}/ws"

    @property
    def passphrase(self) -> str:
        """The passphrase users must give (for "Share on LAN"). Never log it."""
        return self._need_files().passphrase

    @property
    def passphrase_file(self) -> Path | None:
        """Where the generated passphrase is kept (0600), or None when the user gave one."""
        return self.folder / PASSPHRASE_NAME if self._need_files().generated else None

    def health(self) -> dict[str, Any]:
        ctx = self._need_ctx()
        return {
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "uptime": round(time.monotonic() - self._started_at, 3),
            "connections": len(ctx.service.peers),
            "rooms": len(ctx.service.rooms.rooms),
            "gateway": self._tcp_port is not None,
        }

    def http_connections(self, ip: str) -> int:
        """Plain HTTP connections (not upgraded) open from ip, across this hub's listeners."""
        return sum(server.open_from(ip) for server in self._servers)

    def state(self) -> HubState:
        ctx = self._need_ctx()
        return HubState(
            self._host,
            self._port,
            self._tcp_port,
            not is_loopback(self._host),
            len(ctx.service.peers),
            len(ctx.service.rooms.rooms),
        )

    @property
    def context(self) -> HubContext:
        """The running hub's parts (tests and benchmarks inspect writers and counters through it)."""
        return self._need_ctx()

    # --- commands -----------------------------------------------------------------------------------------------

    def issue_token(self, nick: str) -> str:
        """A token for nick, as POST /api/token would give (for a client in this same process). Raises NickError."""
        return self._need_ctx().authority.token_for(nick)

    async def rotate_key(self) -> int:
        """Sign new tokens and cookies with a fresh key; the previous key still verifies until its values expire."""
        ring = self._need_files().keyring
        version = ring.rotate()
        await self._blocking(save_keyring, self.folder / SECRET_NAME, ring)
        log.info("signing key rotated to version %d", version)
        return version

    async def rebind(self, host: str, port: int | None = None) -> None:
        """Listen on another address (e.g. "0.0.0.0" to share on the LAN, "127.0.0.1" to stop); open connections
        stay. The old listeners close first (the same port cannot be bound twice), so there is a moment with none;
        if the new address fails, the old one is restored and HubBindError raised."""
        ctx = self._need_ctx()
        port = self._port if port is None else port
        old_host, old_port, old_tcp = self._host, self._port, self._tcp_port
        for server in self._servers:
            server.stop()
        for gateway in self._gateways:
            gateway.stop()
        try:
            self._listen(ctx, host, port, old_tcp)
        except HubBindError:
            self._listen(ctx, old_host, old_port, old_tcp)
            raise
        log.info("hub now listening on %s", self.ws_url)

    # --- Component ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._ctx is not None or self._stopped:
            raise RuntimeError("a Hub starts once; make a new one to start again")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-files")
        self._supervisor = Supervisor("hub", logger=log)
        try:
            files = await self._blocking(self._open_files)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        self._files = files
        cfg = self.config
        service = ChatService(cfg, files.history, Rooms(cfg.presence_interval), self._supervisor)
        self._ctx = ctx = HubContext(
            config=cfg,
            authority=Authority(files.passphrase, files.keyring),
            slots=IpSlots(cfg.max_conns_per_ip),
            throttle=FailureThrottle(cfg.failed_logins_per_minute),
            service=service,
            scheduler=FlushScheduler(),
            health=self.health,
        )
        try:
            self._listen(ctx, cfg.host, cfg.port, cfg.tcp_port)
        except BaseException:
            self._ctx = None
            await self._blocking(self._close_files, files)
            self._executor.shutdown(wait=False)
            raise
        self._started_at = time.monotonic()
        self._supervisor.start(self._checkpoints(files.history), name="hub:checkpoint", what="copy the WAL to hub.db")
        if self._on_state is not None:
            self._supervisor.start(self._emit_states(), name="hub:state", what="hub snapshots for the window")
        gateway = f", nc on port {self._tcp_port}" if self._tcp_port is not None else ""
        log.info("hub listening on %s%s (folder %s)", self.ws_url, gateway, self.folder)

    async def stop(self, timeout: float = 1.5) -> None:
        """Close every connection (1001 for WebSocket clients), stop listening, release the folder."""
        ctx, files, supervisor = self._ctx, self._files, self._supervisor
        if ctx is None or files is None or supervisor is None or self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + timeout
        ctx.stopping = True
        for server in self._servers:
            server.stop()
        for gateway in self._gateways:
            gateway.stop()
        for peer in list(ctx.service.peers):
            peer.close(CLOSE_GOING_AWAY, SHUTTING_DOWN)
        # Give clients half the time left to answer the close frame; then cut whoever has not.
        await self._wait_sockets(ctx, (deadline - time.monotonic()) / 2)
        for handler in list(ctx.sockets):
            if handler.peer is not None:
                handler.peer.abort()
        await self._wait_sockets(ctx, 0.1)
        for server in self._servers:  # idle keep-alive HTTP connections
            try:
                async with asyncio.timeout(max(0.05, (deadline - time.monotonic()) / 3)):
                    await server.close_all_connections()
            except TimeoutError:
                log.info("some HTTP connections were still busy at shutdown")
        await supervisor.stop(max(0.1, deadline - time.monotonic() - 0.1))
        ctx.service.rooms.close()
        ctx.scheduler.close()
        await self._blocking(self._close_files, files)
        assert self._executor is not None
        self._executor.shutdown(wait=False)
        log.info("hub stopped")

    # --- internals ----------------------------------------------------------------------------------------------

    def _need_ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("the hub is not running: await hub.start() first")
        return self._ctx

    def _need_files(self) -> _Files:
        if self._files is None:
            raise RuntimeError("the hub is not running: await hub.start() first")
        return self._files

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _open_files(self) -> _Files:
        # flock is per open file: a second lock on the folder from this very process would fail, so a lock the
        # caller already holds is used as it is.
        lock = self._given_lock or open_folder(self.folder)
        try:
            cfg = self.config
            generated = cfg.passphrase is None
            try:
                if cfg.passphrase is None:
                    phrase = load_or_create_passphrase(self.folder)
                else:
                    phrase = cfg.passphrase
                    keep_passphrase(self.folder, phrase)
                keyring = load_keyring(self.folder / SECRET_NAME, cfg.token_ttl, cfg.clock)
                history = History.open(self.folder / DB_NAME)
            except sqlite3.Error as exc:
                raise HubError(
                    f"cannot open the chat history {self.folder / DB_NAME}: {exc}; "
                    "move it aside to start with an empty history"
                ) from exc
            except (OSError, UnicodeDecodeError) as exc:
                name = getattr(exc, "filename", None)
                where = f"{name} in the hub folder" if name else f"the hub folder {self.folder}"
                why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise HubError(f"cannot use {where}: {why}; move it aside or choose --data-dir") from exc
        except BaseException:
            lock.release()
            raise
        return _Files(lock, phrase, generated, keyring, history)

    @staticmethod
    def _close_files(files: _Files) -> None:
        try:
            files.history.close()
        finally:
            files.lock.release()

    def _listen(self, ctx: HubContext, host: str, port: int, tcp_port: int | None) -> None:
        """Bind the HTTP port (and the gateway's) on host and start serving; all or nothing."""
        http_sockets = _bind(host, port, "--port")
        try:
            gateway_sockets = _bind(host, tcp_port, "--tcp-port") if tcp_port is not None else []
        except HubBindError:
            for sock in http_sockets:
                sock.close()
            raise
        server = GuardedHTTPServer(
            make_app(ctx),
            idle_connection_timeout=self.config.header_timeout,
            body_timeout=self.config.body_timeout,
            max_body_size=MAX_BODY_READ,
            max_per_ip=self.config.max_http_per_ip,
        )
        server.add_sockets(http_sockets)
        self._servers.append(server)
        self._host, self._port = host, int(http_sockets[0].getsockname()[1])
        if gateway_sockets:
            assert self._supervisor is not None
            gateway = Gateway(ctx, self._supervisor)
            gateway.add_sockets(gateway_sockets)
            self._gateways.append(gateway)
            self._tcp_port = int(gateway_sockets[0].getsockname()[1])

    @staticmethod
    async def _wait_sockets(ctx: HubContext, seconds: float) -> None:
        if not ctx.sockets:
            return
        try:
            async with asyncio.timeout(max(0.01, seconds)):
                await ctx.sockets_closed.wait()
        except TimeoutError:
            pass

    async def _checkpoints(self, history: History) -> None:
        seen = history.appended
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            if history.appended == seen:
                continue
            seen = history.appended
            try:
                await self._blocking(history.checkpoint)
            except sqlite3.Error as exc:
                log.error("checkpointing the chat history failed: %s", exc)

    async def _emit_states(self) -> None:
        assert self._on_state is not None
        last: HubState | None = None
        while True:
            state = self.state()
            if state != last:
                last = state
                try:
                    self._on_state(state)
                except Exception:
                    log.exception("the hub state listener failed")
            await asyncio.sleep(STATE_EVERY)


def _bind(host: str, port: int, option: str) -> list[socket.socket]:
    """Listening sockets for every address host resolves to, all on one port; all or nothing.

    WORKAROUND: tornado.netutil.bind_sockets (6.6.1) does not close the socket whose bind() fails, so a busy port
    left a ResourceWarning behind; this is the same algorithm with the failure path closed.
    """
    sockets: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        for family, kind, proto, _name, address in dict.fromkeys(infos):  # getaddrinfo may repeat itself
            if sockets and port == 0:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])  # one free port for all
            sock = socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # v4 gets its own socket
                sock.setblocking(False)
                sock.bind(address)
                sock.listen(socket.SOMAXCONN)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRNOTAVAIL and host == "localhost" and family == socket.AF_INET6:
                    continue  # "localhost" on a machine without IPv6 loopback
                raise
            sockets.append(sock)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        reason = exc.strerror or str(exc)
        raise HubBindError(
            f"cannot listen on {host} port {port}: {reason}; choose another {option} (0 picks a free one) "
            "or stop what is using it"
        ) from exc
    if not sockets:
        raise HubBindError(f"{host} has no address to listen on; give an IP address such as 127.0.0.1")
    return sockets


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
