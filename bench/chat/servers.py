"""The three servers a chat benchmark compares, each run as its own process.

    python bench/chat/servers.py hub        Squall's hub: auth, persistence, limits and pings on (defaults),
                                            except the per-address cap (every load client is 127.0.0.1)
    python bench/chat/servers.py naive      a minimal Tornado room: write_message to every client in a loop
    python bench/chat/servers.py websockets the same room on the `websockets` library (its broadcast())

Each prints `READY PORT [TOKEN]` on stdout once listening, then serves until SIGTERM/SIGINT. The baselines relay
each incoming text frame unchanged to every connected client (the sender included) and check nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def run_hub(port: int, folder: str | None) -> None:
    from core.chat.hub import Hub, HubConfig

    data = Path(folder or tempfile.mkdtemp(prefix="bench-hub-"))
    hub = Hub(HubConfig(data_dir=data, port=port, max_conns_per_ip=50_000, max_http_per_ip=50_000))
    await hub.start()
    print(f"READY {hub.port} {hub.issue_token('bench')}", flush=True)
    await _until_signal()
    await hub.stop(2.0)


async def run_naive(port: int) -> None:
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application
    from tornado.websocket import WebSocketClosedError, WebSocketHandler

    clients: set[WebSocketHandler] = set()

    class Room(WebSocketHandler):
        """The chat demo's pattern: on each message, write_message to everyone."""

        def open(self) -> None:
            clients.add(self)

        def on_message(self, message: str | bytes) -> None:
            for client in list(clients):
                try:
                    client.write_message(message)
                except WebSocketClosedError:
                    clients.discard(client)

        def on_close(self) -> None:
            clients.discard(self)

    server = HTTPServer(Application([(r"/ws", Room)], websocket_max_message_size=65536))
    bound = bind_sockets(port, "127.0.0.1")
    server.add_sockets(bound)
    print(f"READY {bound[0].getsockname()[1]}", flush=True)
    await _until_signal()
    server.stop()


async def run_websockets(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()

    async def room(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                broadcast(clients, message)
        finally:
            clients.discard(ws)

    async with serve(room, "127.0.0.1", port, max_size=65536, compression=None) as server:
        sock = next(iter(server.sockets))
        print(f"READY {sock.getsockname()[1]}", flush=True)
        await _until_signal()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["hub", "naive", "websockets"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--folder", help="hub folder (default: a new temporary one)")
    args = parser.parse_args()
    if args.kind == "hub":
        asyncio.run(run_hub(args.port, args.folder))
    elif args.kind == "naive":
        asyncio.run(run_naive(args.port))
    else:
        asyncio.run(run_websockets(args.port))


if __name__ == "__main__":
    main()
