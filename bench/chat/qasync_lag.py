"""Loop lag of a qasync (Qt) event loop that hosts a chat server while it is flooded, as in the GUI.

    python bench/chat/qasync_lag.py [--clients 100] [--rate 10] [--seconds 10] [--servers hub,naive]

The server runs inside this process on a qasync loop over a QApplication (offscreen), exactly like Squall's window
embeds its hub. Load worker processes (forked before Qt starts) connect --clients clients to one room; every client
sends --rate messages/s, so each client receives clients x rate messages/s (100 x 10 = 1,000/s each, 100,000
deliveries/s in all). A probe coroutine sleeps 5 ms again and again and records how late it wakes: that lateness is
what every click and repaint in the window would wait. Reference runs: the same loop idle, and the naive Tornado
room (write_message per recipient) under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.chat.run import Load, percentile, summarize
from bench.chat.wsload import raise_fd_limit

PROBE = 0.005


async def probe(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(PROBE)
        lags.append(loop.time() - start - PROBE)


async def start_server(kind: str) -> tuple[Any, int, str | None]:
    if kind == "hub":
        from core.chat.hub import Hub, HubConfig

        hub = Hub(
            HubConfig(
                data_dir=Path(tempfile.mkdtemp(prefix="bench-qasync-")),
                port=0,
                max_conns_per_ip=50_000,
                max_http_per_ip=50_000,
            )
        )
        await hub.start()
        return hub, hub.port, hub.issue_token("bench")
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application
    from tornado.websocket import WebSocketClosedError, WebSocketHandler

    clients: set[WebSocketHandler] = set()

    class Room(WebSocketHandler):
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

    server = HTTPServer(Application([(r"/ws", Room)]))
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1], None


async def stop_server(kind: str, server: Any) -> None:
    if kind == "hub":
        await server.stop(2.0)
    else:
        server.stop()
        await server.close_all_connections()


async def measure(kind: str, load: Load | None, args: argparse.Namespace, rate: float) -> dict[str, float]:
    samples: list[float] = []
    lags = samples
    stop = asyncio.Event()
    probing = asyncio.ensure_future(probe(samples, stop))
    result: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    if load is None:
        await asyncio.sleep(args.seconds)
    else:
        server, port, token = await start_server(kind)
        workers = len(load.pipes)
        per_worker = [args.clients // workers + (i < args.clients % workers) for i in range(workers)]
        firsts = [sum(per_worker[:i]) for i in range(workers)]
        senders = [list(range(f, f + n)) for f, n in zip(firsts, per_worker, strict=True)]  # everyone talks
        connect = [
            {
                "port": port,
                "count": n,
                "first": f,
                "kind": "hub" if kind == "hub" else "naive",
                "token": token,
                "room": "flood",
                "senders": s,
            }
            for n, f, s in zip(per_worker, firsts, senders, strict=True)
        ]
        await loop.run_in_executor(None, load.ask, "connect", connect)
        await asyncio.sleep(1.0)
        samples.clear()
        phase = {
            "kind": "hub" if kind == "hub" else "naive",
            "room": "flood",
            "rate": rate,
            "window": 10_000,
            "warmup": 0.0,
            "duration": args.seconds,
            "drain": 2.0,
        }
        started = time.monotonic()
        results = await loop.run_in_executor(None, load.ask, "phase", [phase] * workers)
        result = summarize(results, args.clients, args.seconds)
        result["wall"] = time.monotonic() - started
        lags = list(lags)  # the load (and its drain) is over: what stopping the server costs is not measured
        await stop_server(kind, server)
    stop.set()
    await probing
    result.update(
        {
            "lag_p50_ms": percentile(lags, 0.5) * 1000,
            "lag_p99_ms": percentile(lags, 0.99) * 1000,
            "lag_max_ms": max(lags) * 1000,
            "probes": len(lags),
        }
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="messages/s each client sends")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--servers", default="hub,naive")
    parser.add_argument(
        "--naive-rate",
        type=float,
        default=1.0,
        help="messages/s per client for the naive reference (at 10 it never finished here; at 2, lag p99 was 5 s)",
    )
    args = parser.parse_args()
    raise_fd_limit()
    # Workers fork before Qt exists in this process (forking a running Qt application is unsafe).
    loads = {kind: Load(args.workers) for kind in args.servers.split(",")}

    from PySide6.QtWidgets import QApplication

    from gui.loop import new_loop  # the window's own loop

    app = QApplication.instance() or QApplication(["chat-bench"])
    print(
        f"qasync lag bench: {args.clients} clients x {args.rate:g} msg/s each into one room, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    async def everything() -> None:
        idle = await measure("idle", None, args, 0)
        print(
            f"  idle loop: lag p50 {idle['lag_p50_ms']:.2f} ms, p99 {idle['lag_p99_ms']:.2f} ms, "
            f"max {idle['lag_max_ms']:.1f} ms",
            flush=True,
        )
        for kind, load in loads.items():
            rate = args.rate if kind == "hub" else args.naive_rate
            row = await measure(kind, load, args, rate)
            print(
                f"  {kind}: {row['deliveries_per_s']:,.0f} deliveries/s (of {args.clients**2 * rate:,.0f} "
                f"offered), lost {row['lost']}, latency p99 {row['p99_ms']:.0f} ms; loop lag p50 "
                f"{row['lag_p50_ms']:.2f} ms, p99 {row['lag_p99_ms']:.1f} ms, max {row['lag_max_ms']:.0f} ms",
                flush=True,
            )
            await asyncio.get_running_loop().run_in_executor(None, load.close)

    with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
        runner.run(everything())


if __name__ == "__main__":
    main()
